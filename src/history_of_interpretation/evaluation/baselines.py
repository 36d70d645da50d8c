"""The reference maps a method is measured against, declared once each.

Two kinds (`Baseline.reference`):

- *shared units*, measured once per photo like a method: `random` (one
  uniform value per pixel: the reference of pixel methods), `random_layer` (one
  per cell of the Grad-CAM layer, upsampled as Grad-CAM is: the reference of
  layer methods) and `edge_detector` (Sobel of the photo, which never looks at
  the model: the extreme case of the sanity checks);
- *references of each method unit*, named `<unit>:<name>`: `random`, one
  value per segment of the method's own segmentation (segment methods only).

So every map is compared with a random map at its own resolution: a coarse map
cannot win on shape alone without the reader seeing its own-resolution random
map beside it. (The map reversed needs no map of its own: ROAD's
least-relevant-first order is exactly that, and `road_srg` scores both.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.color import rgb2gray
from skimage.filters import sobel
from skimage.transform import resize

from ..methods import METHODS, SPECS


@dataclass(frozen=True)
class Baseline:
    """One kind of reference map."""

    name: str  # a unit's name ("random"), or a reference's suffix after "<unit>:" ("reversed")
    title: str
    reference: bool  # True: one per method unit; False: a unit of its own, measured once per photo
    for_method: Callable  # (MethodSpec) -> whether methods of this kind get it (shared units: need it)
    make: Callable  # (subject, rng) -> HxW importance map
    model_free: bool = False  # ignores the model: its map cannot change when the model does


BASELINES: dict[tuple[str, bool], Baseline] = {}


def baseline(name: str, title: str, reference: bool, for_method: Callable, model_free: bool = False) -> Callable:
    """Declare a baseline above the function that makes its map: `make(subject, rng) -> HxW array`."""

    def declare(make: Callable) -> Callable:
        BASELINES[name, reference] = Baseline(name, title, reference, for_method, make, model_free)
        return make

    return declare


def random_map(shape, rng: np.random.Generator, grid=None, segments: np.ndarray | None = None) -> np.ndarray:
    """Uniform random importance: per pixel, per cell of a grid (upsampled bilinearly) or per segment."""
    if segments is not None:
        return rng.random(int(segments.max()) + 1)[segments]
    if grid is not None:
        return resize(rng.random(grid), shape, order=1, mode="edge")
    return rng.random(shape)


def edge_map(image: np.ndarray) -> np.ndarray:
    """Sobel edge magnitude of the photo (scikit-image): a 'map' that ignores the model."""
    return sobel(rgb2gray(image)).astype(np.float64)


@baseline("random", "random per pixel", reference=False, for_method=lambda spec: spec.resolution == "pixel")
def random_per_pixel(subject, rng):
    """One uniform random value per pixel."""
    return random_map(subject.image.shape[:2], rng)


@baseline(
    "random_layer",
    "random per cell of the Grad-CAM layer",
    reference=False,
    for_method=lambda spec: spec.resolution == "layer",
)
def random_per_layer_cell(subject, rng):
    """One uniform random value per cell of the Grad-CAM layer's grid, upsampled bilinearly."""
    return random_map(subject.image.shape[:2], rng, grid=subject.bundle.layer_grid())


@baseline("edge_detector", "edge detector (Sobel)", reference=False, for_method=lambda spec: True, model_free=True)
def edges(subject, rng):
    """The photo's Sobel edges: what a map that never looks at the model would show."""
    return edge_map(subject.image)


@baseline("random", "random per own segment", reference=True, for_method=lambda spec: spec.resolution == "segment")
def random_per_own_segment(subject, rng):
    """One uniform random value per segment of the method's own segmentation (its extras["segments"])."""
    segments = np.asarray(subject.result.extras.get("segments"))
    shape = subject.image.shape[:2]
    if segments.shape != shape or not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(
            f"{subject.unit.method}'s extras['segments'] must be an integer label map of shape {shape}, "
            f"not {segments.dtype} {segments.shape}: a segment method must report the segments it scored"
        )
    return random_map(shape, rng, segments=segments)


def references(spec) -> list[Baseline]:
    """The references each unit of this method gets."""
    return [b for (name, reference), b in BASELINES.items() if reference and b.for_method(spec)]


def shared_units(methods) -> list[Baseline]:
    """The shared baseline units the given methods need, in declaration order."""
    specs = [SPECS[method] for method in methods]
    return [b for (name, reference), b in BASELINES.items() if not reference and any(map(b.for_method, specs))]


def shared_baseline(name: str) -> Baseline:
    """A shared baseline unit by name; a clear error otherwise."""
    if (name, False) not in BASELINES:
        shared = [name for name, reference in BASELINES if not reference]
        raise ValueError(f"unknown unit {name!r}: a method ({', '.join(METHODS)}) or a baseline ({', '.join(shared)})")
    return BASELINES[name, False]
