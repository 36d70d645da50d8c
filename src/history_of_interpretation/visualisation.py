"""Turn attribution maps into the article's pictures, and save figures safely.

Three looks: grayscale magnitude (the gradient papers), diverging red/blue
for signed maps (leave-one-out, integrated gradients) and a heat overlay on
the photo (Grad-CAM). Each panel gets a colour bar and a title naming the
class and its probability.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import saliency.core as saliency

from .files import atomic_output

STYLES = ("grayscale", "diverging", "heat", "relative_heat")
PNG_METADATA = {"Software": None}  # no version stamp: a rerun writes the same bytes
# Text that changes from run to run (seconds) carries this gid; save_figure records where it landed
# (PNG text chunk VOLATILE_KEY: pixel boxes), so that comparing a regenerated figure ignores it.
VOLATILE = "volatile"
VOLATILE_KEY = "Volatile regions"


def as_grayscale(attribution: np.ndarray, percentile: float = 99) -> np.ndarray:
    """Magnitude in [0, 1]: |map| summed over colour, clipped at a percentile (PAIR's look)."""
    return saliency.VisualizeImageGrayscale(_three_d(attribution), percentile=percentile)


def as_diverging(attribution: np.ndarray, percentile: float = 99) -> np.ndarray:
    """Signed map in [-1, 1]: summed over colour, scaled by a percentile of |map|."""
    summed = np.sum(_three_d(attribution), axis=2)
    span = np.percentile(np.abs(summed), percentile)
    return np.clip(summed / span, -1.0, 1.0) if span > 0 else np.zeros_like(summed)


def as_heat(attribution: np.ndarray, from_minimum: bool = False) -> np.ndarray:
    """Positive part in [0, 1], scaled by its maximum (for Grad-CAM-like maps, where 0 means no evidence).

    `from_minimum` stretches the range from the map's minimum instead: for maps
    that sit on a floor, such as RISE's expected score, whose variation is small.
    """
    summed = np.sum(_three_d(attribution), axis=2)
    positive = np.maximum(summed, 0.0)
    if from_minimum:
        positive = positive - positive.min()
    peak = positive.max()
    return positive / peak if peak > 0 else positive


def _three_d(attribution: np.ndarray) -> np.ndarray:
    attribution = np.asarray(attribution, dtype=np.float32)
    return attribution[..., None] if attribution.ndim == 2 else attribution


def show_map(
    ax,
    attribution: np.ndarray,
    style: str = "grayscale",
    image: np.ndarray | None = None,
    title: str | None = None,
    colorbar: bool = True,
    chaotic: bool = False,
):
    """Draw one map on `ax` in one of STYLES; 'heat' lays it over `image`.

    A `chaotic` map (its method's `chaotic` declaration) is marked volatile,
    title included: another CPU draws another map, compared by its fingerprint.
    """
    if style == "grayscale":
        artist = ax.imshow(as_grayscale(attribution), cmap="gray", vmin=0, vmax=1)
    elif style == "diverging":
        artist = ax.imshow(as_diverging(attribution), cmap="RdBu_r", vmin=-1, vmax=1)
    elif style in ("heat", "relative_heat"):
        if image is None:
            raise ValueError(f"the {style!r} style lays the map over the photo: pass image=")
        ax.imshow(image)
        heat = as_heat(attribution, from_minimum=style == "relative_heat")
        artist = ax.imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=1)
    else:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    _tidy(ax, title)
    if chaotic:
        volatile(artist)
        volatile(ax.title)
    if colorbar:
        ax.figure.colorbar(artist, ax=ax, fraction=0.046, pad=0.03)
    return artist


def show_result(ax, result, image: np.ndarray | None = None, title: str | None = None, colorbar: bool = True):
    """Draw an AttributionResult the way its method's declaration says (its `display`)."""
    return show_map(ax, result.map, result.display, image=image, title=title, colorbar=colorbar, chaotic=result.chaotic)


def show_image(ax, image: np.ndarray, title: str | None = None):
    """Draw a photo on `ax`, without ticks."""
    ax.imshow(image)
    _tidy(ax, title)


def _tidy(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def class_title(result, prefix: str | None = None) -> str:
    """'Grad-CAM · tabby (87%)' from a result."""
    head = f"{prefix}\n" if prefix else ""
    return f"{head}{result.label} ({result.probability:.0%})"


def comparison_figure(photos: dict, results: dict, methods, panel_size: float = 2.2):
    """A grid: one row per photo (the photo, then each method's map), each map with its seconds below it.

    `photos` maps names to images; `results` maps (photo name, method) to an
    AttributionResult. The first row also names the methods. The seconds are
    this run's: they are marked volatile (see `save_figure`).
    """
    figure, axes = figure_grid(len(photos), len(methods) + 1, panel_size=panel_size)
    for row, (name, photo) in enumerate(photos.items()):
        first = results[name, methods[0]]
        show_image(axes[row, 0], photo, title=f"{first.label} ({first.probability:.0%})")
        for column, method in enumerate(methods, start=1):
            result = results[name, method]
            title = method.replace("_", " ") if row == 0 else None
            show_result(axes[row, column], result, image=photo, title=title, colorbar=False)
            volatile(axes[row, column].set_xlabel(f"{result.seconds:.2f} s", fontsize=9))
    return figure


def volatile(artist):
    """Mark an artist (a text of seconds, say) as changing from run to run; returns it."""
    artist.set_gid(VOLATILE)
    return artist


def path_figure(images, titles, caption: str, panels: int = 3):
    """A figure of a path of images (top row, pixel values) above `panels` axes for maps.

    Chapters 6 and 7 draw their paths (from a baseline, from a blur) this way;
    returns the figure and the row of axes below the path.
    """
    figure = plt.figure(figsize=(15, 6.4), layout="constrained")
    top, bottom = np.asarray(figure.subfigures(2, 1, height_ratios=[1, 1.25])).ravel()
    for ax, image, title in zip(top.subplots(1, len(images)), images, titles):
        show_image(ax, np.clip(image, 0, 255).astype(np.uint8), title=title)
    top.suptitle(caption)
    return figure, bottom.subplots(1, panels)


def figure_grid(rows: int, columns: int, panel_size: float = 2.8):
    """A figure of rows x columns panels, always as a 2-D array of axes."""
    figure, axes = plt.subplots(
        rows, columns, figsize=(panel_size * columns, panel_size * rows + 0.3), squeeze=False, layout="constrained"
    )
    return figure, axes


def save_figure(figure, path: str | Path, dpi: int = 110) -> Path:
    """Write a PNG atomically: a failed save leaves any earlier file untouched.

    The pixel boxes of the figure's volatile text (`volatile()`) go into the
    PNG's text chunk VOLATILE_KEY, as JSON [[left, top, right, bottom], ...].
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"figures are saved as PNG; {path} does not end in .png")
    metadata = {**PNG_METADATA, VOLATILE_KEY: json.dumps(volatile_boxes(figure, dpi))}
    with atomic_output(path, suffix=".png") as temporary:
        figure.savefig(temporary, dpi=dpi, format="png", metadata=metadata, facecolor="white")
    return path


def volatile_boxes(figure, dpi: int) -> list[list[int]]:
    """Where the volatile artists land in the figure saved at `dpi`: pixel boxes, origin top left."""
    figure.set_dpi(dpi)
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)  # constrained layout settles where the text goes
    height = figure.bbox.height
    boxes = []
    for artist in figure.findobj(lambda candidate: candidate.get_gid() == VOLATILE):
        box = artist.get_window_extent(renderer)
        boxes.append([int(box.x0), int(height - box.y1), int(np.ceil(box.x1)), int(np.ceil(height - box.y0))])
    return boxes


# --- reading a map by its top regions (XRAI's way) ------------------------------


def top_fraction_mask(attribution: np.ndarray, fraction: float) -> np.ndarray:
    """The `fraction` of pixels with the highest values: a boolean HxW mask.

    An HxWx3 map is summed over colour first. For XRAI's map, whose pixels
    carry their region's score, this is the photo's most important regions
    taking up that share of the image. Ties at the threshold are kept, so
    the mask may cover a little more than `fraction`.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction is the share of the image to keep: above 0 and at most 1, not {fraction!r}")
    summed = np.sum(attribution, axis=2) if np.ndim(attribution) == 3 else np.asarray(attribution)
    threshold = np.quantile(summed, 1.0 - fraction, method="higher")
    return summed >= threshold


def masked_photo(image: np.ndarray, mask: np.ndarray, background: int = 0) -> np.ndarray:
    """The photo where `mask` is True, `background` (a gray level, 0 black) elsewhere."""
    if mask.shape != image.shape[:2]:
        raise ValueError(f"the mask is {mask.shape} but the photo is {image.shape[:2]}; they must match")
    return np.where(mask[..., None], image, np.asarray(background, dtype=image.dtype))
