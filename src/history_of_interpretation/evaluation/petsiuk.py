"""Deletion and insertion (Petsiuk, Das & Saenko 2018, RISE), as the authors' code computes them.

Their `evaluation.py` (github.com/eclique/RISE, `CausalMetric`): switch the
pixels from the most to the least important, `step` pixels at a time (224,
one row's worth at 224 px), and record the class probability before each
switch, n_steps + 1 points with n_steps = ceil(H W / step). Deletion starts
from the model input and switches pixels to the model input's zero (their
`torch.zeros_like`: the normalised mean colour, grey 127 for
EfficientNet-Lite's (x - 127) / 128); insertion starts from the model input
blurred by their `gkern(11, 5)` (a Gaussian of sigma 5 on an 11x11 kernel,
a zero-padded convolution of the normalised input) and switches pixels to
the photo's. The area is their `auc()`: the trapezoid rule on the points,
(sum - first / 2 - last / 2) / (n - 1), not normalised by the photo's own
probability; `Curve.auc_normalised` divides it by that probability and says
so in its name.

Departures, each stated: the class is the context's target (theirs: the
top-1 class, the context's default); the pixel order is the shared
`pixel_order` (ties broken by a seeded permutation; theirs: numpy's
argsort); the curve points are built inside the compiled forward call
(`ModelCalls.perturbed_logits`) in full batches shared by all maps. Named variants beside the paper's two:
`deletion_black` (removed pixels become black, the model input of a black
photo) and `deletion_blurred` (they become the blurred photo's, as in
insertion's start).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import tensorflow as tf
from scipy.ndimage import correlate, gaussian_filter

from ..models import softmax
from .pixel_order import checked_maps, photo_probability, pixel_ranks

STEP = 224  # pixels switched per step (their HW // 224 rows at 224 px)
BLUR_KERNEL = 11  # their gkern(klen=11, nsig=5)
BLUR_SIGMA = 5.0
# Each variant: (what the curve starts from, what the switched pixels become).
VARIANTS = {
    "deletion": ("photo", "zero"),  # Petsiuk: to the model input's zero, the mean colour
    "insertion": ("blurred", "photo"),  # Petsiuk: from the blurred model input to the photo
    "deletion_black": ("photo", "black"),  # named variant: to black pixels
    "deletion_blurred": ("photo", "blurred"),  # named variant: to the blurred photo
}
PAPER_VARIANTS = ("deletion", "insertion")


@dataclass(frozen=True)
class Curve:
    """One deletion or insertion curve of one map: the target's probability after each step."""

    fractions: np.ndarray  # share of the pixels switched at each point, 0 .. 1
    probabilities: np.ndarray  # the target's probability there
    photo_probability: float  # the target's probability on the photo itself

    @property
    def auc(self) -> float:
        """Petsiuk's `auc()`: trapezoid rule over equally spaced points, (sum - ends / 2) / (n - 1)."""
        return causal_auc(self.probabilities)

    @property
    def auc_normalised(self) -> float:
        """`auc` divided by the photo's own probability (not in the paper: comparable across photos)."""
        return self.auc / self.photo_probability


def causal_auc(probabilities: np.ndarray) -> float:
    """The area under a curve of equally spaced points on [0, 1], as RISE's `auc()` computes it."""
    curve = np.asarray(probabilities, dtype=np.float64)
    if curve.size < 2:
        raise ValueError(f"a curve needs at least 2 points, not {curve.size}")
    return float((curve.sum() - curve[0] / 2 - curve[-1] / 2) / (curve.size - 1))


@lru_cache(maxsize=4)
def blur_kernel(size: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """RISE's `gkern`: a unit impulse in a size x size square, smoothed by scipy's gaussian_filter (as theirs)."""
    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1.0
    return gaussian_filter(impulse, sigma)


def blurred_input(x: np.ndarray, size: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """The model input blurred as RISE's insertion starts: each channel convolved, zero padding (the mean colour)."""
    kernel = blur_kernel(size, sigma)
    channels = [correlate(x[..., c].astype(np.float64), kernel, mode="constant", cval=0.0) for c in range(x.shape[-1])]
    return np.stack(channels, axis=-1).astype(np.float32)


def step_counts(pixels: int, step: int) -> np.ndarray:
    """Pixels switched before each curve point: 0, step, 2 step, ..., all (n_steps + 1 points)."""
    steps = -(-pixels // step)
    return np.minimum(np.arange(steps + 1) * step, pixels)


def deletion_insertion(
    context, importance_maps: dict[str, np.ndarray], variants=PAPER_VARIANTS, step: int = STEP, seed: int = 0
) -> dict[str, dict[str, Curve]]:
    """Petsiuk's curves (`variants`, see VARIANTS) for several maps of one photo: {map: {variant: Curve}}.

    `step`: pixels switched per point (theirs: 224). `seed`: the
    tie-breaker of the pixel order. Costs len(maps) x len(variants) x
    (ceil(H W / step) + 1) forward passes, counted in the context.
    """
    unknown = [variant for variant in variants if variant not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"unknown variant {', '.join(map(repr, unknown))}; choose from {', '.join(VARIANTS)}")
    if int(step) != step or step < 1:
        raise ValueError(f"step must be a whole number of pixels, at least 1, not {step}")
    x = context.x
    maps = checked_maps(importance_maps, x.shape[:2])
    images = {"photo": x, "zero": np.zeros_like(x), "black": context.bundle.black(x)}
    if any("blurred" in VARIANTS[variant] for variant in variants):
        images["blurred"] = blurred_input(x)
    counts = step_counts(x.shape[0] * x.shape[1], int(step))
    ranks = np.stack([pixel_ranks(values, seed) for values in maps.values()])
    starts, ends = (np.stack([images[VARIANTS[variant][end]] for variant in variants]) for end in (0, 1))
    # One row per curve point: (map, variant) and the pixels switched; the images are built inside the
    # compiled forward call from these rows, so only they cross into TensorFlow, not 450 photos per map.
    which = np.array([(m, v) for m in range(len(maps)) for v in range(len(variants)) for _ in counts], np.int32)
    switched = np.tile(counts, len(maps) * len(variants)).astype(np.int32)
    logits = context.calls.perturbed_logits(switched_pixels, (starts, ends, ranks), (which, switched))
    probabilities = softmax(logits.astype(np.float64))[:, context.target].reshape(len(maps), len(variants), -1)
    fractions, photo = counts / counts[-1], photo_probability(context)
    return {
        name: {variant: Curve(fractions, curve, photo) for variant, curve in zip(variants, by_variant)}
        for name, by_variant in zip(maps, probabilities)
    }


def switched_pixels(starts, ends, ranks, which, counts):
    """TensorFlow ops: for each row (map, variant) of `which`, the variant's start image with the map's first
    `counts` pixels (by rank) taken from its end image. Traced into `ModelCalls.perturbed_logits`."""
    switched = tf.gather(ranks, which[:, 0]) < counts[:, None, None]
    return tf.where(switched[..., None], tf.gather(ends, which[:, 1]), tf.gather(starts, which[:, 1]))
