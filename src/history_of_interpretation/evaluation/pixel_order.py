"""What the removal metrics share: checked maps, one pixel order, images sent through the model in full batches.

Every removal metric (Petsiuk's deletion and insertion, PAIR's PIC, ROAD)
switches pixels from the most to the least important. Float noise must not
decide that order: a map computed on another CPU differs by about 1e-7
relative (issue 17), and coarse maps (a 3x3 grid, superpixels, Grad-CAM's
zeros) tie on thousands of pixels. So the order is made from *levels*
(`pixel_levels`): sorted values closer to their neighbour than 1e-5 of the
map's largest magnitude form one tie group, as long as the group spans less
than 1e-4 of it; every other value keeps its own place. Ties are broken by
a seeded random permutation (a row-by-row order would remove a grid cell
from its top edge down and bias the curves).

Why not round to a fixed grid, say 1e-4 of the maximum: a fixed grid has
edges, and a tie group that happens to sit on one is split by noise (one
3x3 map in five, measured); near-equal values of a continuous map cross the
edges too, each jumping a whole grid step. Grouping by gaps keeps every tie
group whole and leaves a continuous map's order as its values give it: 1e-6
relative noise then only swaps pixels whose values differ by about the
noise, which no order can prevent. Measured on 224 px maps under 1e-6
relative noise (share of pixels that change their 224-pixel step of
Petsiuk's curves, mean of 5 draws; ranking the raw values instead in
brackets): a 3x3 grid map 0% (96%), the same with a zero plateau 0% (64%),
a ReLU'd bilinear 7x7 map (Grad-CAM's shape) 0.009% (0.054%), a smooth map
0.39% (0.34%), a noisy gradient map 0.022% (0.014%).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..models import softmax

TIE_GAP = 1e-5  # neighbours (in sorted order) closer than this, relative to max |value|, may tie: 10x the noise
TIE_SPAN = 1e-4  # ... as long as their group spans less than this, relative to max |value|


def checked_maps(importance_maps: dict[str, np.ndarray], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The maps as float64 HxW arrays; a clear error for a map of another shape or with NaN or infinity."""
    if not importance_maps:
        raise ValueError("no importance maps given: pass {name: HxW importance map}")
    checked = {}
    for name, importance_map in importance_maps.items():
        values = np.asarray(importance_map, dtype=np.float64)
        if values.shape != tuple(shape):
            raise ValueError(
                f"importance map {name!r} has shape {values.shape}; the photo needs one value per pixel, {tuple(shape)}"
                " (sum a HxWx3 attribution over colour first: removal.importance)"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"importance map {name!r} has {np.size(values) - np.isfinite(values).sum()} NaN or inf")
        checked[name] = values
    return checked


def pixel_levels(importance_map: np.ndarray) -> np.ndarray:
    """Integer levels (HxW, higher = more important) in which near-ties are exact ties (see the module's docstring).

    Two pixels share a level when a chain of sorted values, each within
    TIE_GAP x max|value| of the next, joins them and the whole chain spans
    less than TIE_SPAN x max|value|. An all-zero map is one level.
    """
    values = np.asarray(importance_map, dtype=np.float64).ravel()
    scale = np.abs(values).max(initial=0.0)
    if scale == 0:
        return np.zeros(np.shape(importance_map), dtype=np.int64)
    sorter = np.argsort(values, kind="stable")
    ordered = values[sorter]
    breaks = np.diff(ordered) > TIE_GAP * scale
    chain = np.concatenate([[0], np.cumsum(breaks)])
    starts = np.flatnonzero(np.concatenate([[True], breaks]))
    spans = np.maximum.reduceat(ordered, starts) - ordered[starts]
    tie_group = spans[chain] < TIE_SPAN * scale
    # A tie group is one level; in a wide chain (a continuous map's dense values) each value is its own level.
    new_level = np.concatenate([[True], breaks | (~tie_group[1:] & (ordered[1:] != ordered[:-1]))])
    levels = np.empty(values.size, dtype=np.int64)
    levels[sorter] = np.cumsum(new_level) - 1
    return levels.reshape(np.shape(importance_map))


def pixel_order(importance_map: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices from the most to the least important: by `pixel_levels`, ties by a seeded permutation."""
    levels = pixel_levels(importance_map).ravel()
    tie_breaker = np.random.default_rng(seed).permutation(levels.size)
    return np.lexsort((tie_breaker, -levels))


def pixel_ranks(importance_map: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each pixel's place in `pixel_order` (0 = the most important), as an HxW array."""
    order = pixel_order(importance_map, seed)
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(order.size)
    return ranks.reshape(np.shape(importance_map))


def batched_probabilities(context, images: Iterable[Callable[[], np.ndarray]], count: int) -> np.ndarray:
    """The target's probability for `count` images, each made by a callable, sent in full batches.

    The images are built one batch at a time (all curve points of a photo
    at once would be gigabytes) and go through `context.calls`, so every
    one is counted in the context's passes. Images of several maps and
    curves share batches.
    """
    batch_size, shape = context.calls.batch_size, context.x.shape
    makers, probabilities = iter(images), []
    for first in range(0, count, batch_size):
        batch = np.empty((min(batch_size, count - first), *shape), dtype=np.float32)
        for slot in batch:
            slot[...] = next(makers)()
        probabilities.append(context.calls.probabilities(batch, context.target))
    return np.concatenate(probabilities) if probabilities else np.zeros(0)


def photo_probability(context) -> float:
    """The target's probability on the photo itself, from the forward pass that made the context (no new pass)."""
    return float(softmax(context.logits.astype(np.float64))[context.target])
