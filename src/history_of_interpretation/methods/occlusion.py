"""Leave-one-out: hide a part of the image, see how much the class's probability drops.

PAIR's `saliency.core.Occlusion` calls the model once per window position at
stride 1 (tens of thousands of calls on one photo); here the occluded copies
of a grid or of SLIC superpixels go through the network in batches.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import slic

from ..models import softmax


def grid_masks(height: int, width: int, grid: int) -> np.ndarray:
    """grid*grid boolean masks (row-major) that tile the image."""
    rows = np.minimum(np.arange(height) * grid // height, grid - 1)
    cols = np.minimum(np.arange(width) * grid // width, grid - 1)
    cell_of_pixel = rows[:, None] * grid + cols[None, :]
    return cell_of_pixel[None] == np.arange(grid * grid)[:, None, None]


def superpixel_masks(image: np.ndarray, segments: int, compactness: float) -> np.ndarray:
    """One boolean mask per SLIC superpixel of a uint8 RGB image."""
    labels = slic(image, n_segments=segments, compactness=compactness, start_label=0)
    return labels[None] == np.unique(labels)[:, None, None]


def leave_one_out(context, masks: np.ndarray, fill: float) -> tuple[np.ndarray, dict]:
    """Score each mask by the drop in the target's probability when it is filled.

    `fill` is a pixel value (0..255); the map gives every pixel its mask's score
    (masks tile the image, so each pixel has one). One forward pass per mask:
    the photo's own probability comes from the context's logits.
    """
    fill_value = context.bundle.preprocess(np.float32(fill))
    probability = softmax(context.logits)[context.target]
    masked_probabilities = []
    for start in range(0, len(masks), context.calls.batch_size):
        chunk = masks[start : start + context.calls.batch_size, :, :, None]
        occluded = np.where(chunk, fill_value, context.x[None]).astype(np.float32)
        masked_probabilities.append(context.calls.probabilities(occluded, context.target))
    masked_probabilities = np.concatenate(masked_probabilities)
    scores = probability - masked_probabilities
    attribution = np.tensordot(scores, masks.astype(np.float32), axes=1)
    return attribution.astype(np.float32), {
        "probability": float(probability),
        "masked_probabilities": masked_probabilities,
        "masks": masks,
    }


def loo_grid(context, grid: int = 3, fill: float = 128.0):
    height, width = context.x.shape[:2]
    return leave_one_out(context, grid_masks(height, width, grid), fill)


def loo_superpixels(context, segments: int = 50, compactness: float = 10.0, fill: float = 128.0):
    return leave_one_out(context, superpixel_masks(context.image, segments, compactness), fill)
