"""RISE (Petsiuk, Das & Saenko, 2018): weigh random masks by the class probability they leave.

No maintained library fits the pinned stack, so the method is written here,
following the paper and its authors' code (eclique/RISE): Xplique 2.x, which
has RISE, requires `tensorflow[and-cuda]<=2.20` on Linux and
`scikit-image<=0.25.2`; Quantus 0.6 requires TensorFlow < 2.16 and Keras 2;
PAIR `saliency` has no RISE. The upsampling is scikit-image's `resize`.
"""

from __future__ import annotations

import numpy as np
from skimage.transform import resize

from .rules import OPEN_FRACTION, SEED, count, one_of
from .spec import method

ESTIMATORS = ("self_normalised", "paper")  # E[p | pixel seen] over each pixel's own coverage, or over masks x keep


def upsampling_weights(cells: int, size: int) -> np.ndarray:
    """(size, cells): row i holds the weights of the cells in pixel i of a bilinear upsampling.

    scikit-image's bilinear `resize` is linear and separable, so resizing the
    identity along one axis gives its weights, and a grid G upsamples to
    weights @ G @ weights.T: a few small matrix products per batch of masks
    instead of one interpolation per mask (which costs as much as the forward pass).
    """
    return resize(np.eye(cells, dtype=np.float32), (size, cells), order=1, mode="reflect", anti_aliasing=False)


def rise_masks(grid: np.ndarray, shifts: np.ndarray, height: int, width: int) -> np.ndarray:
    """Soft masks (N, height, width) in 0..1 from binary cells (N, cells, cells) and shifts (N, 2).

    As in the paper: each cells x cells grid is upsampled bilinearly to
    (cells + 1) x cell size, with cell size = ceil(size / cells), and cropped
    to the photo at a random shift below one cell, so that the masks' edges
    fall anywhere, not only on a fixed grid.
    """
    cells = grid.shape[1]
    cell_size = np.ceil(np.array([height, width]) / cells).astype(int)
    rows, cols = (upsampling_weights(cells, (cells + 1) * size) for size in cell_size)
    row_windows = np.stack([rows[row : row + height] for row in shifts[:, 0]])
    col_windows = np.stack([cols[col : col + width] for col in shifts[:, 1]])
    return row_windows @ grid.astype(np.float32) @ col_windows.transpose(0, 2, 1)


@method(
    title="RISE",
    authors="Petsiuk et al.",
    year=2018,
    paper="RISE: Randomized Input Sampling for Explanation of Black-box Models",
    rules={
        "masks": count(20_000),
        "cells": count(64),
        "keep": OPEN_FRACTION,
        "seed": SEED,
        "estimator": one_of(*ESTIMATORS),
    },
    passes=lambda settings, extras: {"forward": settings["masks"]},
    rgb=False,
    signed=False,
    display="relative_heat",
    resolution="layer",
    quick={"masks": 8, "cells": 2},
    pair=None,
)
def rise(
    context, masks: int = 2000, cells: int = 7, keep: float = 0.5, seed: int = 0, estimator: str = "self_normalised"
):
    """Average `masks` random masks, each weighted by the class probability of the photo it hides.

    Each mask keeps each of `cells` x `cells` cells with probability `keep`
    (see `rise_masks`). The map estimates E[p | pixel seen], the expected
    probability given that a pixel is kept. The paper (and the authors' code)
    divides the sum of probability x mask by its expected coverage, masks x
    keep (`estimator="paper"`); but a draw covers each pixel a little more or
    less than that, and at a few hundred masks the map is then mostly the
    draw's own coverage. The default divides by each pixel's actual coverage,
    the sum of the masks (the self-normalised estimate of the same
    expectation; chapter 9 measures both estimators' seed-to-seed agreement).
    Masking multiplies the
    model's input by the mask, x * mask, as the authors' code does: their input
    is normalised, so a hidden pixel becomes the normalisation's zero (for
    EfficientNet's (pixel - 127) / 128, mid-grey), a milder intrusion than the
    black of multiplying the raw photo (two 300-mask maps of the cat photo
    agree with rank correlation 0.26 with grey, 0.01 with black). The cells and shifts are drawn once from a
    seeded generator, so the map does not depend on the batch size.
    """
    height, width = context.x.shape[:2]
    if cells > min(height, width):
        raise ValueError(f"cells must be at most the photo's side ({min(height, width)} pixels), not {cells}")
    rng = np.random.default_rng(seed)
    grid = rng.random((masks, cells, cells)) < keep
    cell_size = np.ceil(np.array([height, width]) / cells).astype(int)
    shifts = rng.integers(0, cell_size, size=(masks, 2))
    saliency, coverage = np.zeros((height, width), dtype=np.float64), np.zeros((height, width), dtype=np.float64)
    probabilities = []
    for start in range(0, masks, context.batch_size):
        stop = min(start + context.batch_size, masks)
        soft = rise_masks(grid[start:stop], shifts[start:stop], height, width)
        batch_probabilities = context.calls.probabilities(soft[..., None] * context.x[None], context.target)
        saliency += np.tensordot(batch_probabilities.astype(np.float32), soft, axes=1)
        coverage += soft.sum(axis=0)
        probabilities.append(batch_probabilities)
    extras = {"probabilities": np.concatenate(probabilities), "coverage": coverage.astype(np.float32)}
    if estimator == "paper":
        return (saliency / (masks * keep)).astype(np.float32), extras
    # A pixel no mask kept has no estimate: give it the masks' mean probability, the map's neutral value.
    seen = coverage > 0
    mean = float(extras["probabilities"].mean())
    return np.where(seen, saliency / np.where(seen, coverage, 1.0), mean).astype(np.float32), extras


def paper_estimate(result) -> np.ndarray:
    """The paper's map, sum of probability x mask over masks x keep, from a RISE result of either estimator.

    The sum is the self-normalised map times each pixel's coverage (its
    extras), so both estimators come from one draw of masks (chapter 9).
    """
    if result.params["estimator"] == "paper":
        return result.map
    coverage = result.extras["coverage"]
    return (result.map * coverage / (result.params["masks"] * result.params["keep"])).astype(np.float32)
