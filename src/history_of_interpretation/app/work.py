"""What the app computes, without the page: photos checked, classes picked, maps drawn.

Everything here raises ValueError (or the package's own subclasses) with a
plain message; `app.py` shows it in the page. Model work runs under one lock:
`attribute()` counts passes as differences of counters that every context on
the same model shares, so two explanations at once would mix their counts
(and two CPU-bound runs at once would only slow each other down).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, UnidentifiedImageError

from .. import visualisation as vis
from ..images import MIN_SIDE, load_image, side_by_side
from ..methods import SPECS, AttributionResult, attribute
from ..models import MODEL_NAMES, ModelBundle, load_model
from ..models.labels import class_index

MAX_PIXELS = 40_000_000  # refused before decoding: 12000x12000 RGB would take 430 MB, and more to resize
MAX_UPLOAD = "50mb"  # gradio refuses larger uploads before they reach the app
DISCRIMINATION_METHODS = ("grad_cam", "guided_grad_cam")  # chapter 4's class-discrimination figure

MODEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class Picture:
    """One drawn panel row for the page, and the results behind it."""

    image: np.ndarray  # uint8 RGB
    caption: str
    results: tuple[AttributionResult, ...]


@lru_cache(maxsize=len(MODEL_NAMES))
def _loaded(name: str) -> ModelBundle:
    return load_model(name)


def model(name: str) -> ModelBundle:
    """A loaded model (kept for the next request); ModelUnavailableError says what to do."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    with MODEL_LOCK:
        return _loaded(name)


def check_upload(path: str | Path, shown_name: str | None = None) -> None:
    """Refuse a file that is not an image, is too small, or too large to decode safely.

    Only the header is read (Pillow decodes lazily), so a huge image is refused
    before its pixels take any memory.
    """
    path = Path(path)
    name = shown_name or path.name
    try:
        with warnings.catch_warnings():  # Pillow's decompression-bomb warning: the size is checked below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except UnidentifiedImageError as error:
        raise ValueError(f"{name} is not an image that can be read: use a PNG, JPEG, WebP, ... photo") from error
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name} cannot be read as an image ({error}): use a PNG, JPEG, WebP, ... photo") from error
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"{name} is {width}x{height} pixels; use a photo at least {MIN_SIDE} pixels on each side")
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the app takes photos up to {MAX_PIXELS / 1e6:.0f} megapixels: downscale it first"
        )


def photo(sample: str | None, upload: str | Path | None, size: int) -> np.ndarray:
    """The photo as the model sees it (size x size): the upload if any, else the sample."""
    if upload:
        check_upload(upload)
        return load_image(Path(upload), size)
    if not sample:
        raise ValueError("choose a sample photo or upload one")
    return load_image(sample, size)


def top_classes(image: np.ndarray, bundle: ModelBundle, k: int = 5) -> list[tuple[str, int]]:
    """The k most probable classes as (text shown, class index): 'tabby (45.1%)'."""
    with MODEL_LOCK:
        best = bundle.top_k(image, k)
    return [(f"{label} ({probability:.1%})", index) for index, label, probability in best]


def target(choice: int | None, name: str | None) -> int | None:
    """The class to explain: a class typed by name wins over the top-5 choice; None means top-1."""
    if name and name.strip():
        return class_index(name.strip())
    return None if choice is None else class_index(int(choice))


def explain(
    image: np.ndarray,
    bundle: ModelBundle,
    target_class: int | None,
    settings: dict[str, dict],
    progress=lambda fraction, description: None,
) -> list[Picture]:
    """One picture per method (the photo, the map) for `settings` {method: checked settings}."""
    pictures = []
    for done, (method, params) in enumerate(settings.items()):
        spec = SPECS[method]
        progress(done / len(settings), f"{spec.title} ({done + 1} of {len(settings)})")
        with MODEL_LOCK:
            result = attribute(method, bundle, image, target=target_class, **params)
        figure = Figure(figsize=(6.4, 3.2), layout="constrained")
        photo_axes, map_axes = figure.subplots(1, 2)
        vis.show_image(photo_axes, image, title="the photo")
        vis.show_map(map_axes, result.map, spec.display, image=image, title=vis.class_title(result, spec.title))
        pictures.append(Picture(rendered(figure), cost_caption(result), (result,)))
    progress(1.0, "done")
    return pictures


def discriminate(
    left: str, right: str, bundle: ModelBundle, progress=lambda fraction, description: None
) -> list[Picture]:
    """Chapter 4's test: on two photos side by side, explain each photo's own top class."""
    composite = side_by_side(left, right, bundle.input_size)
    pictures = []
    for done, name in enumerate((left, right)):
        progress(done / 2, f"explaining the class of {name}")
        with MODEL_LOCK:
            own_class = bundle.top_k(load_image(name, bundle.input_size), 1)[0][0]
            results = tuple(
                attribute(method, bundle, composite.image, target=own_class) for method in DISCRIMINATION_METHODS
            )
        figure = Figure(figsize=(9.6, 3.2), layout="constrained")
        axes = figure.subplots(1, 1 + len(results))
        vis.show_image(axes[0], composite.image, title=f"{left} | {right}")
        for ax, result in zip(axes[1:], results):
            spec = SPECS[result.method]
            vis.show_map(ax, result.map, spec.display, image=composite.image, title=vis.class_title(result, spec.title))
        caption = f"the class of {name} ({'left' if done == 0 else 'right'} half): " + "; ".join(
            cost_caption(result) for result in results
        )
        pictures.append(Picture(rendered(figure), caption, results))
    progress(1.0, "done")
    return pictures


def cost_caption(result: AttributionResult) -> str:
    """'Grad-CAM: 1 pass, 0.12 s'."""
    passes = f"{result.passes} pass" + ("es" if result.passes != 1 else "")
    return f"{SPECS[result.method].title}: {passes}, {result.seconds:.2f} s"


def rendered(figure: Figure) -> np.ndarray:
    """A matplotlib figure as a uint8 RGB array (no pyplot: safe in the server's threads)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
