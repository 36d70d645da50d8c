"""Leave-one-out: hide a part of the image, see how much the class's probability drops.

PAIR's `saliency.core.Occlusion` calls the model once per window position at
stride 1 (tens of thousands of calls on one photo); here the occluded copies
of a grid or of SLIC superpixels go through the network in batches.
"""

from __future__ import annotations

import numpy as np
import saliency.core as saliency
from skimage.segmentation import slic

from ..models import softmax
from .rules import PIXEL_VALUE, count, number
from .spec import PairEquivalent, method


def grid_segments(height: int, width: int, grid: int) -> np.ndarray:
    """HxW labels 0..grid*grid-1 (row-major) of the cells of an NxN grid."""
    rows = np.minimum(np.arange(height) * grid // height, grid - 1)
    cols = np.minimum(np.arange(width) * grid // width, grid - 1)
    return rows[:, None] * grid + cols[None, :]


def superpixel_segments(image: np.ndarray, segments: int, compactness: float) -> np.ndarray:
    """HxW labels 0..K-1 of the SLIC superpixels of a uint8 RGB image."""
    labels = slic(image, n_segments=segments, compactness=compactness, start_label=0)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def leave_one_out(context, segments: np.ndarray, fill: float) -> tuple[np.ndarray, dict]:
    """Score each segment by the drop in the target's probability when it is filled.

    `segments` labels every pixel 0..K-1; `fill` is a pixel value (0..255). One
    forward pass per segment: the photo's own probability comes from the
    context's logits. Each pixel gets its segment's score.
    """
    fill_value = context.bundle.preprocess(np.float32(fill))
    probability = softmax(context.logits)[context.target]
    count = int(segments.max()) + 1
    masked_probabilities = []
    for start in range(0, count, context.calls.batch_size):
        hidden = (
            segments[None, :, :, None]
            == np.arange(start, min(start + context.calls.batch_size, count))[:, None, None, None]
        )
        occluded = np.where(hidden, fill_value, context.x[None]).astype(np.float32)
        masked_probabilities.append(context.calls.probabilities(occluded, context.target))
    masked_probabilities = np.concatenate(masked_probabilities)
    scores = probability - masked_probabilities
    return scores[segments].astype(np.float32), {
        "probability": float(probability),
        "masked_probabilities": masked_probabilities,
        "segments": segments,
    }


def _pair_window(context, settings) -> int:
    return round(context.x.shape[0] / settings["grid"])


# saliency.core.Occlusion slides a window of the grid cell's size at stride 1:
# one model call per position, plus one for the photo.
PAIR_OCCLUSION = PairEquivalent(
    "Occlusion",
    keys=(saliency.base.OUTPUT_LAYER_VALUES,),
    calls=lambda context, settings: 1 + (context.x.shape[0] - _pair_window(context, settings) + 1) ** 2,
    run=lambda context, function, settings: saliency.Occlusion().GetMask(
        context.x,
        function,
        context.call_args,
        size=_pair_window(context, settings),
        value=float(context.bundle.preprocess(np.float32(settings["fill"]))),
    ),
)


def _one_forward_pass_per_segment(settings, extras):
    return {"forward": len(extras["masked_probabilities"])}


@method(
    title="leave-one-out (grid)",
    authors="Zeiler & Fergus",
    year=2013,
    paper="Visualizing and Understanding Convolutional Networks",
    rules={"grid": count(64), "fill": PIXEL_VALUE},
    passes=_one_forward_pass_per_segment,
    rgb=False,
    signed=True,
    display="diverging",
    resolution="segment",
    quick={"grid": 2},
    pair=PAIR_OCCLUSION,
    in_article=True,
)
def loo_grid(context, grid: int = 3, fill: float = 128.0):
    """Hide each cell of a grid x grid grid in turn (filled with `fill`); score = drop in probability."""
    height, width = context.x.shape[:2]
    return leave_one_out(context, grid_segments(height, width, grid), fill)


@method(
    title="leave-one-out (superpixels)",
    authors="Zeiler & Fergus",
    year=2013,
    paper="Visualizing and Understanding Convolutional Networks",
    rules={"segments": count(1000), "compactness": number(0, 1000), "fill": PIXEL_VALUE},
    passes=_one_forward_pass_per_segment,
    rgb=False,
    signed=True,
    display="diverging",
    resolution="segment",
    quick={"segments": 8},
    in_article=True,
)
def loo_superpixels(context, segments: int = 50, compactness: float = 10.0, fill: float = 128.0):
    """Hide each of about `segments` SLIC superpixels in turn; score = drop in probability."""
    return leave_one_out(context, superpixel_segments(context.image, segments, compactness), fill)
