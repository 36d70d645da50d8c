"""Photos as RGB uint8 arrays: offline samples, files and URLs.

The offline catalogue (`data/samples.json`) names photos that installed
packages ship, with the package they come from and the ImageNet classes a
good model should see in them.
"""

from __future__ import annotations

import importlib
import io
import json
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage.transform import resize

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
CATALOGUE = DATA_DIR / "samples.json"
MIN_SIDE = 32  # below this an upsampled photo is a flat smear with nothing to explain
URL_TIMEOUT_SECONDS = 15
URL_MAX_BYTES = 30 * 1024 * 1024


class ImageLoadError(ValueError):
    """The image source cannot be read; the message says what to do."""


@lru_cache(maxsize=1)
def sample_catalogue() -> dict[str, dict]:
    """Offline sample photos by name: source package, loader, expected classes."""
    return {entry["name"]: entry for entry in json.loads(CATALOGUE.read_text())["samples"]}


def load_image(source: str | Path | np.ndarray, size: int | None = None) -> np.ndarray:
    """An RGB uint8 array from a sample name, a file path, an http(s) URL or an array.

    With `size`, the largest centred square is cropped and resized to
    size x size, which is how the models see a photo.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
        raise ImageLoadError(f"size must be a positive whole number of pixels, not {size!r}")
    if isinstance(source, np.ndarray):
        if (
            source.dtype != np.uint8
            or source.ndim not in (2, 3)
            or (source.ndim == 3 and source.shape[2] not in (3, 4))
        ):
            raise ImageLoadError(
                f"an image array must be uint8, HxW or HxWx3 (or x4), not {source.dtype} of shape {source.shape}"
            )
        image = _to_rgb_uint8(Image.fromarray(source))
    elif str(source) in sample_catalogue():
        image = load_catalogued(sample_catalogue()[str(source)])
    elif str(source).startswith(("http://", "https://")):
        image = _decode(_download(str(source)), str(source))
    else:
        image = _load_path(Path(source))
    if min(image.shape[:2]) < MIN_SIDE:
        raise ImageLoadError(
            f"image {_describe(source)} is {image.shape[1]}x{image.shape[0]} pixels; "
            f"use a photo at least {MIN_SIDE} pixels on each side"
        )
    return center_crop_resize(image, size) if size is not None else image


def load_folder(folder: str | Path, size: int | None = None) -> dict[str, np.ndarray]:
    """The photos in a folder by file name (as load_image gives them); other files are skipped with a warning.

    Raises ImageLoadError if the folder does not exist or holds no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageLoadError(f"{folder} is not a folder of photos")
    photos, skipped = {}, []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            photos[path.name] = load_image(path, size)
        except ImageLoadError:
            skipped.append(path.name)
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} file(s) in {folder} that are not images: {', '.join(skipped)}", stacklevel=3
        )
    if not photos:
        raise ImageLoadError(f"{folder} holds no images (PNG, JPEG, ...): put photos in it")
    return photos


def center_crop_resize(image: np.ndarray, size: int, aspect: float = 1.0) -> np.ndarray:
    """Crop the largest centred region of width/height `aspect`, resize to height `size`."""
    height, width = image.shape[:2]
    crop_h = min(height, int(round(width / aspect)))
    crop_w = min(width, int(round(crop_h * aspect)))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = image[top : top + crop_h, left : left + crop_w]
    out_shape = (size, int(round(size * aspect)))
    resized = resize(crop, out_shape, order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Composite:
    """Two photos side by side: a known answer to "where is each class?"."""

    image: np.ndarray
    left: str
    right: str

    def half_mask(self, side: str) -> np.ndarray:
        """Boolean HxW mask of the 'left' or 'right' half."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', not {side!r}")
        mask = np.zeros(self.image.shape[:2], dtype=bool)
        middle = self.image.shape[1] // 2
        mask[:, :middle] = side == "left"
        mask[:, middle:] = side == "right"
        return mask


def side_by_side(left: str, right: str, size: int) -> Composite:
    """A size x size composite: each photo's centre, half as wide as tall."""
    widths = (size // 2, size - size // 2)  # odd sizes (InceptionV3's 299) still make a square
    halves = [
        center_crop_resize(load_image(name), size, aspect=width / size) for name, width in zip((left, right), widths)
    ]
    return Composite(image=np.concatenate(halves, axis=1), left=str(left), right=str(right))


@dataclass(frozen=True)
class Instances:
    """One photo twice on a plain grey canvas, at two sizes and two places: does a map find both?

    `boxes` are (top, left, side) of the large and the small copy; `mask(name)`
    is the boolean HxW mask of one.
    """

    image: np.ndarray
    photo: str
    boxes: dict[str, tuple[int, int, int]]

    def mask(self, name: str) -> np.ndarray:
        """Boolean HxW mask of the 'large' or the 'small' copy."""
        if name not in self.boxes:
            raise ValueError(f"the copies are {', '.join(self.boxes)}, not {name!r}")
        top, left, side = self.boxes[name]
        mask = np.zeros(self.image.shape[:2], dtype=bool)
        mask[top : top + side, left : left + side] = True
        return mask


def two_instances(photo: str, size: int, large: float = 0.6, small: float = 0.35, grey: int = 127) -> Instances:
    """A size x size canvas of `grey` (the model's mean colour) with the photo's centre twice:
    `large` of the side at the top left and `small` of it at the bottom right (no overlap)."""
    if not 0 < small <= large or large + small > 1:
        raise ValueError(
            f"the copies must fit side by side: 0 < small <= large and large + small <= 1, not {small}, {large}"
        )
    image = np.full((size, size, 3), grey, dtype=np.uint8)
    full = load_image(photo)
    boxes = {}
    for name, share, corner in (("large", large, 0), ("small", small, 1)):
        side = int(round(share * size))
        start = (size - side) * corner
        image[start : start + side, start : start + side] = center_crop_resize(full, side)
        boxes[name] = (start, start, side)
    return Instances(image=image, photo=str(photo), boxes=boxes)


def load_catalogued(entry: dict) -> np.ndarray:
    """The full-size RGB photo of a catalogue entry (data/samples.json's format): a package's loader, its arguments."""
    module_name, function_name = entry["loader"].rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ImageLoadError(
            f"sample {entry['name']!r} comes from the package {entry['package']}: pip install {entry['package']}"
        ) from error
    loaded = getattr(module, function_name)(*entry.get("args", []), **entry.get("kwargs", {}))
    if isinstance(loaded, np.ndarray):
        return _to_rgb_uint8(Image.fromarray(loaded))
    return _load_path(Path(loaded))


def _load_path(path: Path) -> np.ndarray:
    if not path.is_file():
        names = ", ".join(sample_catalogue())
        raise ImageLoadError(
            f"no image file at {path}; give an existing path, an http(s) URL or a sample name ({names})"
        )
    return _decode(path.read_bytes(), str(path))


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_SECONDS) as response:
            data = response.read(URL_MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ImageLoadError(
            f"could not download {url} ({getattr(error, 'reason', error)}); check the address and the "
            "connection, or save the photo and pass its path"
        ) from error
    if len(data) > URL_MAX_BYTES:
        raise ImageLoadError(f"{url} is larger than {URL_MAX_BYTES // 2**20} MB; download a smaller photo")
    return data


def _decode(data: bytes, origin: str) -> np.ndarray:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        # Phones store a photo as the sensor saw it and say in its EXIF how to turn it upright.
        ImageOps.exif_transpose(image, in_place=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ImageLoadError(f"{origin} is not an image that Pillow can read (PNG, JPEG, ...): {error}") from error
    return _to_rgb_uint8(image)


def _to_rgb_uint8(image: Image.Image) -> np.ndarray:
    """Grayscale, palette, RGBA and 16-bit images become 8-bit RGB."""
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit integer or float grayscale
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(values / peak * 255.0, 0, 255).round().astype(np.uint8)).convert("RGB")
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def _describe(source) -> str:
    return "array" if isinstance(source, np.ndarray) else repr(str(source))
