"""Grad-CAM's successors: Grad-CAM++ (Chattopadhay et al., 2018) and Score-CAM (Wang et al., 2020).

Both weight the channels of Grad-CAM's layer differently and finish their map
as Grad-CAM does (`grad_cam.layer_map_to_image`: positive part, max 1,
bilinear upsampling).

Written here rather than taken from a library: PAIR `saliency` has neither;
tf-keras-vis has both but wraps the model its own way (it rebuilds the Keras
model around a layer it seeks itself and calls `model.predict`, outside the
counted `ModelCalls`), and its variants differ from the papers' equations
(Grad-CAM++ renormalises the alphas per channel; Score-CAM weights by the raw
probability, with no baseline, after scipy zoom upsampling); Xplique 2.x needs
TensorFlow <= 2.20 with CUDA and scikit-image <= 0.25.2, Quantus TensorFlow
< 2.16 and Keras 2: neither fits the pinned stack.
"""

from __future__ import annotations

import numpy as np

from .grad_cam import layer_map_to_image, upsample
from .ordering import beyond_noise, descending
from .rules import count, optional
from .spec import method


@method(
    title="Grad-CAM++",
    authors="Chattopadhay et al.",
    year=2018,
    paper="Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks",
    rules={},
    passes=lambda settings, extras: {"layer_gradient": 1},
    rgb=False,
    signed=False,
    display="heat",
    resolution="layer",
    pair=None,
)
def grad_cam_plus_plus(context):
    """Grad-CAM with pixel-wise weights: each channel's positive gradients, weighted by alpha.

    The paper's closed form for a class score Y = exp(logit): with g the
    logit's gradient at the layer and A its values, alpha = g^2 / (2 g^2 +
    sum(A) g^3) (0 where g is 0), channel weight w_k = sum(alpha * relu(g))
    (exp(logit) is a common positive factor and drops out of the scaled map),
    map = relu(sum_k w_k A_k). One layer-gradient pass.

    Behind a global-average-pooled head (EfficientNet's, InceptionV3's) the
    gradient g is the same at every position of a channel and tiny, so alpha
    is about 1/2 everywhere and w_k about relu(g) times a constant: Grad-CAM
    with its negative channel weights dropped, which is why it is the least
    class-discriminative of the three on such models (chapter 10 measures it).
    """
    values, gradients = (
        array[0].astype(np.float64) for array in context.calls.layer_gradients(context.x[None], context.target)
    )
    # Products rather than powers: numpy's float power takes 20 times as long, more than the map's other work.
    squared = gradients * gradients
    denominator = squared * (2 + values.sum(axis=(0, 1)) * gradients)
    alpha = np.divide(squared, denominator, out=np.zeros_like(squared), where=denominator != 0)
    weights = np.einsum("hwc,hwc->c", alpha, np.maximum(gradients, 0))
    cam = values @ weights
    return layer_map_to_image(cam, context.x.shape[:2]), {
        "weights": weights.astype(np.float32),
        "alpha": alpha[gradients != 0].astype(np.float32),  # where defined (about 1/2 on a pooled head)
    }


def _channel_count(context) -> int:
    return int(context.bundle.model.get_layer(context.bundle.gradcam_layer).output.shape[-1])


def _kept_channels_and_baseline(settings, extras):
    return {"forward": len(extras["channels"]) + 1, "layer_gradient": 1}


@method(
    title="Score-CAM",
    authors="Wang et al.",
    year=2020,
    paper="Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
    rules={"top_k": optional(count(4096))},
    passes=_kept_channels_and_baseline,
    rgb=False,
    signed=False,
    display="heat",
    resolution="layer",
    quick={"top_k": 2},
    pair=None,
)
def score_cam(context, top_k: int | None = None):
    """Weight each channel by how much the photo, masked by that channel, raises the class's probability.

    Each channel A_k of Grad-CAM's layer is upsampled (bilinear) and min-max
    scaled to [0, 1] into a mask H_k; the masked photo is x * H_k in model
    input space (so the baseline x * 0 is the zero input: grey for
    EfficientNet's (x - 127) / 128, black for a 0..1 model). Weight w_k =
    p(x * H_k) - p(baseline), the paper's channel-wise increase of confidence
    with the softmax probability as the class score (as the authors' code
    scores it). No further softmax across channels, as some implementations
    apply: it would make the baseline irrelevant and, the increases lying
    within [-1, 1], 1280 weights nearly equal. Map = relu(sum_k w_k A_k).
    `top_k` keeps only the k channels of highest mean activation (None: all),
    ties (channels saturated alike on a randomised model) by channel index,
    whatever float noise says (`ordering.py`). An increase within float
    noise of the probabilities (1e-5 of them, `ordering.beyond_noise`) weighs
    0: on a randomised model every increase is such residue, and the map is
    all zero (a degenerate map) rather than a CPU's rounding pattern.
    One layer pass, then one forward pass per kept channel and one for the
    baseline, in batches.
    """
    channels = _channel_count(context)
    if top_k is not None and top_k > channels:
        raise ValueError(
            f"top_k must be at most {channels}, the number of channels of layer "
            f"{context.bundle.gradcam_layer!r}, not {top_k}; use None for all channels"
        )
    values = context.calls.layer_gradients(context.x[None], context.target)[0][0]
    # Busiest first (top_k None: all); saturated channels tie exactly, and float noise must not reorder them.
    kept = descending(values.mean(axis=(0, 1)))[:top_k]
    size = context.x.shape[:2]
    baseline = context.calls.probabilities(np.zeros_like(context.x)[None], context.target)[0]
    channel_maps = np.moveaxis(values, -1, 0)  # (channels, h, w)
    scores = []
    for start in range(0, len(kept), context.calls.batch_size):
        masks = upsample(channel_maps[kept[start : start + context.calls.batch_size]], size)
        low, high = masks.min(axis=(1, 2), keepdims=True), masks.max(axis=(1, 2), keepdims=True)
        # A flat channel gives a zero mask (the baseline itself): weight 0, not a division by zero.
        masks = np.divide(masks - low, high - low, out=np.zeros_like(masks), where=high > low)
        masked = context.x[None] * masks[..., None]
        scores.append(context.calls.probabilities(masked, context.target))
    probabilities = np.concatenate(scores)
    # On a randomised model the class's probability is ~1e-9 with or without any mask; its "increases" of
    # 1e-15 are float residue whose sign another CPU flips (and the map with it): they weigh 0.
    weights = beyond_noise(probabilities - baseline, np.maximum(probabilities, baseline))
    cam = np.einsum("hwc,c->hw", values[..., kept].astype(np.float64), weights)
    return layer_map_to_image(cam, size), {
        "channels": kept,
        "weights": weights.astype(np.float32),
        "baseline_probability": float(baseline),
    }
