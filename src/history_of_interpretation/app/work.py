"""What the app computes, without the page: photos checked, classes picked, maps drawn, files to download.

Everything here raises ValueError (or the package's own subclasses) with a
plain message naming what the reader gave (an upload by its own file name,
never the server's temporary path); `endpoints.py` shows it. `attribute()`
runs under one lock: two CPU-bound runs at once would only slow each other
down, and where a method's passes are counted on counters that every context
on the same model shares, they would mix their counts. The top-5 of the
preview calls the model directly, outside those counters, so it needs no
lock and answers while a long explanation runs.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, UnidentifiedImageError

from .. import visualisation as vis
from ..files import atomic_output
from ..images import MIN_SIDE, ImageLoadError, load_image, side_by_side
from ..methods import SPECS, AttributionResult, attribute
from ..models import MODEL_NAMES, ModelBundle, load_model
from ..models.labels import class_index

MAX_PIXELS = 40_000_000  # refused before decoding: 12000x12000 RGB would take 430 MB, and more to resize
MAX_UPLOAD = "50mb"  # gradio refuses larger uploads before they reach the app
DISCRIMINATION_METHODS = ("grad_cam", "guided_grad_cam")  # chapter 4's class-discrimination figure
PANEL_INCHES = (3.4, 3.0)  # one map with its colour bar, or the photo: about square, so no cell is half blank
FIGURE_DPI = 120
READABLE = "use a PNG, JPEG, WebP, ... photo"
THUMBNAIL_SIZE = 96
KEPT_DOWNLOADS = 8  # requests whose files are kept here (gradio serves its own copies); older ones are deleted

MODEL_LOCK = threading.Lock()
_LOADING = threading.Lock()  # one model load at a time, apart from MODEL_LOCK: loading waits for no explanation

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Picture:
    """One drawn panel for the page, and the results behind it."""

    image: np.ndarray  # uint8 RGB
    png: bytes  # the same, encoded: for the page and the download
    title: str  # what it shows, in words (the image's alt text)
    caption: str  # what it cost
    results: tuple[AttributionResult, ...]


def picture(figure: Figure, title: str, caption: str, results: tuple[AttributionResult, ...] = ()) -> Picture:
    """A matplotlib figure drawn and encoded, on the thread that made it (not the server's event loop).

    No pyplot: a Figure of its own with the Agg canvas is safe in the server's threads.
    """
    figure.set_dpi(FIGURE_DPI)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return Picture(image, buffer.getvalue(), title, caption, results)


# --- models and photos -------------------------------------------------------------------------


@lru_cache(maxsize=len(MODEL_NAMES))
def _loaded(name: str) -> ModelBundle:
    return load_model(name)


def model(name: str) -> ModelBundle:
    """A loaded model (kept for the next request); ModelUnavailableError says what to do."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    with _LOADING:
        return _loaded(name)


def check_upload(path: str | Path) -> None:
    """Refuse a file that is not an image, is too small, or too large to decode safely.

    Only the header is read (Pillow decodes lazily), so a huge image is refused
    before its pixels take any memory. Messages name the file by its own name.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():  # Pillow's decompression-bomb warning: the size is checked below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except UnidentifiedImageError as error:
        raise ValueError(f"{path.name} is not an image that can be read: {READABLE}") from error
    except (OSError, Image.DecompressionBombError) as error:  # its message may hold the server's path: not shown
        raise ValueError(f"{path.name} cannot be read as an image: {READABLE}") from error
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"{path.name} is {width}x{height} pixels; use a photo at least {MIN_SIDE} pixels on each side")
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{path.name} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the app takes photos up to {MAX_PIXELS / 1e6:.0f} megapixels: downscale it first"
        )


def photo(sample: str | None, upload: str | Path | None, size: int) -> np.ndarray:
    """The photo as the model sees it (size x size): the upload if any, else the sample."""
    if upload:
        path = Path(upload)
        check_upload(path)
        stat = path.stat()
        return _decoded_upload(str(path), size, stat.st_mtime_ns, stat.st_size)
    if not sample:
        raise ValueError("choose a sample photo or upload one")
    return load_image(sample, size)


@lru_cache(maxsize=16)
def _decoded_upload(path: str, size: int, modified_ns: int, length: int) -> np.ndarray:
    """An upload decoded once per model size: every click after the first reuses it (a 40 MP JPEG takes seconds).

    Keyed by the file's path, time and length, so a file replaced at the same path is decoded afresh.
    """
    try:
        image = load_image(Path(path), size)
    except ImageLoadError as error:  # its message names the server's temporary path: name the reader's file
        reason = error.__cause__ or error  # Pillow's own words, from decoding bytes: no path in them
        raise ValueError(f"{Path(path).name} cannot be read as an image ({reason}): {READABLE}") from error
    image.flags.writeable = False  # shared by every request on this upload
    return image


def top_classes(image: np.ndarray, bundle: ModelBundle, k: int = 5) -> list[tuple[int, str, float]]:
    """The k most probable classes: (index, label, probability), best first."""
    return bundle.top_k(image, k)


def target(choice: int | None, name: str | None) -> int | None:
    """The class to explain: one typed (a name in any case, or an index) wins over the top-5 choice; None: top-1."""
    if name and name.strip():
        return class_index(name)
    return None if choice is None else class_index(int(choice))


# --- maps ------------------------------------------------------------------------------------------


def explain(
    image: np.ndarray,
    bundle: ModelBundle,
    target_class: int | None,
    settings: dict[str, dict],
    progress: Progress = lambda fraction, description: None,
    stop: threading.Event | None = None,
) -> Iterator[Picture]:
    """One picture per method (its map, titled with the class) for `settings` {method: checked settings}.

    A generator: each map is drawn as soon as its method is done. Once `stop`
    is set, the running method ends within one batch (`Stopped`; see jobs.py).
    """
    for done, (method, params) in enumerate(settings.items()):
        spec = SPECS[method]
        progress(done / len(settings), f"{spec.title} ({done + 1} of {len(settings)})")
        with MODEL_LOCK:
            result = attribute(method, bundle, image, target=target_class, stop=stop, **params)
        figure = Figure(figsize=PANEL_INCHES, layout="constrained")
        title = vis.class_title(result, spec.title)
        vis.show_result(figure.subplots(), result, image=image, title=title)
        yield picture(figure, title.replace("\n", ": "), cost_caption(result), (result,))
    progress(1.0, "done")


def photo_picture(image: np.ndarray, title: str = "the photo") -> Picture:
    """The photo itself, drawn at the size of a map panel (the first cell of the results)."""
    figure = Figure(figsize=PANEL_INCHES, layout="constrained")
    vis.show_image(figure.subplots(), image, title=title)
    return picture(figure, title, "as the model sees it")


def discriminate(
    left: str,
    right: str,
    bundle: ModelBundle,
    progress: Progress = lambda fraction, description: None,
    stop: threading.Event | None = None,
) -> Iterator[Picture]:
    """Chapter 4's test: on two photos side by side, explain each photo's own top class (one row each)."""
    composite = side_by_side(left, right, bundle.input_size)
    for done, name in enumerate((left, right)):
        progress(done / 2, f"explaining the class of {name}")
        own_class = bundle.top_k(load_image(name, bundle.input_size), 1)[0][0]
        with MODEL_LOCK:
            results = tuple(
                attribute(method, bundle, composite.image, target=own_class, stop=stop)
                for method in DISCRIMINATION_METHODS
            )
        width, height = PANEL_INCHES
        figure = Figure(figsize=(width * (1 + len(results)), height), layout="constrained")
        axes = figure.subplots(1, 1 + len(results))
        vis.show_image(axes[0], composite.image, title=f"{left} | {right}")
        for ax, result in zip(axes[1:], results):
            panel_title = vis.class_title(result, SPECS[result.method].title)
            vis.show_result(ax, result, image=composite.image, title=panel_title)
        side = "left" if done == 0 else "right"
        title = f"the class of {name} ({side} half), {results[0].label}: " + ", ".join(
            SPECS[result.method].title for result in results
        )
        caption = f"the class of {name} ({side} half): " + "; ".join(cost_caption(result) for result in results)
        yield picture(figure, title, caption, results)
    progress(1.0, "done")


def cost_caption(result: AttributionResult) -> str:
    """'Grad-CAM: 1 pass, 0.12 s'."""
    passes = f"{result.passes:,} pass" + ("es" if result.passes != 1 else "")
    return f"{SPECS[result.method].title}: {passes}, {result.seconds:.2f} s"


# --- downloads ---------------------------------------------------------------------------------


class AppFiles:
    """The files the app serves, in a folder of its own: the samples' thumbnails, and downloads.

    Downloads are each map raw (.npy) and each figure (.png). Each request's
    go in a subfolder; only the last `kept` stay, so a long-running app does
    not fill the disk. `close()` deletes them all.
    """

    def __init__(self, kept: int = KEPT_DOWNLOADS):
        self.root = Path(tempfile.mkdtemp(prefix="history-of-interpretation-app-"))
        self.kept = kept
        self._folders: list[Path] = []
        self._lock = threading.Lock()

    def thumbnails(self, names: list[str], size: int = THUMBNAIL_SIZE) -> list[Path]:
        """A small PNG of each sample photo (the thumbnails a reader picks a sample from)."""
        paths = [self.root / f"sample-{name}.png" for name in names]
        for name, path in zip(names, paths):
            Image.fromarray(load_image(name, size)).save(path)
        return paths

    def save(self, pictures: list[Picture], stem: str) -> list[Path]:
        """Write each picture's map(s) (.npy) and figure (.png); return the files' paths."""
        with self._lock:
            folder = Path(tempfile.mkdtemp(dir=self.root))
            self._folders.append(folder)
            while len(self._folders) > self.kept:
                shutil.rmtree(self._folders.pop(0), ignore_errors=True)
        files = []
        for picture in pictures:
            for result in picture.results:
                with atomic_output(folder / f"{stem}_{result.method}_map.npy", suffix=".npy") as path:
                    np.save(path, result.map)
                files.append(folder / f"{stem}_{result.method}_map.npy")
            name = "_".join(result.method for result in picture.results) or "photo"
            with atomic_output(folder / f"{stem}_{name}.png", suffix=".png") as path:
                path.write_bytes(picture.png)
            files.append(folder / f"{stem}_{name}.png")
        return files

    def close(self) -> None:
        """Delete every file written."""
        shutil.rmtree(self.root, ignore_errors=True)


def file_stem(sample: str | None, upload: str | Path | None) -> str:
    """A name for download files: the upload's own name or the sample's, safe in a file name."""
    name = Path(upload).stem if upload else (sample or "photo")
    return "".join(character if character.isalnum() or character in "-_" else "_" for character in name) or "photo"
