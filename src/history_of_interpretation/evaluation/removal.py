"""Does a map point at what the model uses? Deletion, insertion and PIC, against baselines.

Deletion and insertion (Petsiuk et al. 2018): remove (or add) pixels from
most to least important and track the class probability; the area under
the curve summarises it (deletion: lower is better, insertion: higher).
Removed pixels become black (Petsiuk's deletion) or the blurred photo's
pixels (the fix for black pixels the model never saw: PIC's and ROAD's
point); insertion starts from the blurred photo. Every curve runs through
the context's `ModelCalls`, batched, so its passes are counted.

PIC (Kapishnikov et al. 2019): SIC and AIC from `saliency.metrics`.

Baselines of each method's own kind: a random map at its resolution
(`random_map`) and the method's map reversed.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from skimage.filters import gaussian
from skimage.transform import resize

REMOVALS = ("black", "blurred")
BLUR_SIGMA = 10.0  # pixels at 224 px: objects become blobs, colours stay in distribution
# Fractions of pixels revealed: fewer than PAIR's example (13), since each costs a lossless WebP
# encoding (the entropy estimate, 0.1-0.3 s) per map.
PIC_THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.6)
COARSE_GRID = 8  # random scores per cell for a segment method whose extras lack its segments


def importance(attribution: np.ndarray, display: str) -> np.ndarray:
    """A method's map as one importance per pixel, the way the course draws it.

    'grayscale' maps (gradients) are read as magnitude: |map| summed over
    colour; signed 'diverging' and 'heat' maps keep their sign, so evidence
    against the class comes last.
    """
    if display == "grayscale":
        values = np.abs(attribution)
        return (values.sum(axis=2) if values.ndim == 3 else values).astype(np.float64)
    return (attribution.sum(axis=2) if attribution.ndim == 3 else attribution).astype(np.float64)


def pixel_order(importance_map: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices from most to least important; ties are broken at random (seeded).

    Coarse maps (a 3x3 grid, superpixels) tie on thousands of pixels: a fixed
    tie order (say row by row) would remove a cell from the top down and bias the curve.
    """
    tie_breaker = np.random.default_rng(seed).random(importance_map.size)
    return np.lexsort((tie_breaker, -importance_map.ravel()))


def blurred_photo(x: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """The preprocessed photo blurred (Gaussian, scikit-image): insertion's start, blurred removal."""
    return gaussian(x, sigma=sigma, channel_axis=-1, preserve_range=True).astype(np.float32)


def curve_fractions(steps: int) -> np.ndarray:
    """The fractions of pixels removed (or inserted) at each point: 0, 1/steps, ..., 1."""
    return np.linspace(0.0, 1.0, steps + 1)


def _ranks(order: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Each pixel's position in `order` (0 = first to switch), as an HxW array."""
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank.reshape(shape)


def area(curve: np.ndarray) -> float:
    """Area under a curve sampled at `curve_fractions`, by the trapezoid rule."""
    return float(np.trapezoid(curve, curve_fractions(len(curve) - 1)))


def deletion_insertion(
    context, importance_maps: dict[str, np.ndarray], steps: int = 32, removals=REMOVALS, seed: int = 0
) -> dict[str, dict]:
    """Deletion (for each removal) and insertion curves of several maps of one photo.

    All curves go through the network through `context.calls`, in full
    batches of its batch size (curves share batches). Returns, per map name, {"deletion_<removal>": curve,
    "insertion": curve} with each curve the target's probability at
    `curve_fractions(steps)`.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    unknown = sorted(set(removals) - set(REMOVALS))
    if unknown:
        raise ValueError(f"unknown removal {', '.join(unknown)}; choose from {', '.join(REMOVALS)}")
    x, blurred = context.x, blurred_photo(context.x)
    fills = {"black": context.bundle.black(x), "blurred": blurred}
    counts = np.round(curve_fractions(steps) * x.shape[0] * x.shape[1]).astype(np.int64)
    keys, images = [], []  # one image per curve point: (start, end, rank map, pixels switched)
    for name, importance_map in importance_maps.items():
        rank = _ranks(pixel_order(importance_map, seed), importance_map.shape)
        ends = [(f"deletion_{removal}", x, fills[removal]) for removal in removals] + [("insertion", blurred, x)]
        for kind, start, end in ends:
            keys.append((name, kind))
            images += [(start, end, rank, count) for count in counts]
    # The images are built one batch at a time: all of them at once would be hundreds of MB to write and read.
    batch_size, probabilities = context.calls.batch_size, []
    for first in range(0, len(images), batch_size):
        chunk = images[first : first + batch_size]
        batch = np.empty((len(chunk), *x.shape), dtype=np.float32)
        for slot, (start, end, rank, count) in zip(batch, chunk):
            slot[...] = start
            np.copyto(slot, end, where=(rank < count)[..., None])
        probabilities.append(context.calls.probabilities(batch, context.target))
    probabilities = np.concatenate(probabilities).reshape(len(keys), len(counts))
    curves: dict[str, dict] = {}
    for (name, kind), curve in zip(keys, probabilities):
        curves.setdefault(name, {})[kind] = curve
    return curves


# --- random baselines ---------------------------------------------------------


def random_map(
    shape: tuple[int, int],
    rng: np.random.Generator,
    grid: tuple[int, int] | None = None,
    segments: np.ndarray | None = None,
) -> np.ndarray:
    """Uniform random importance: per pixel, per cell of a grid (upsampled bilinearly) or per segment."""
    if segments is not None:
        return rng.random(int(segments.max()) + 1)[segments]
    if grid is not None:
        return resize(rng.random(grid), shape, order=1, mode="edge")
    return rng.random(shape)


def random_baseline(spec, result, bundle, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """The random map at a method's own resolution, and its name in the evaluation.

    "pixel" methods: `random` (per pixel). "layer" methods: `random_layer`
    (one value per cell of the Grad-CAM layer's grid, upsampled like
    Grad-CAM). "segment" methods: `<method>_random`, one value per segment of
    the method's own segmentation (its result's extras["segments"]) or, where
    the extras lack it, per cell of a COARSE_GRID x COARSE_GRID grid.
    """
    shape = result.map.shape[:2]
    if spec.resolution == "pixel":
        return "random", random_map(shape, rng)
    if spec.resolution == "layer":
        return "random_layer", random_map(shape, rng, grid=bundle.layer_grid())
    segments = result.extras.get("segments")
    if segments is not None:
        segments = np.asarray(segments)
        if segments.shape != shape or not np.issubdtype(segments.dtype, np.integer):
            raise ValueError(
                f"{spec.name}'s extras['segments'] must be an integer label map of shape {shape}, "
                f"not {segments.dtype} {segments.shape}"
            )
        return f"{spec.name}_random", random_map(shape, rng, segments=segments)
    return f"{spec.name}_random", random_map(shape, rng, grid=(COARSE_GRID, COARSE_GRID))


# --- PIC (saliency.metrics) -----------------------------------------------------


@contextmanager
def _fast_pic():
    """saliency.metrics.pic with nearest-neighbour filling and each image's work done once.

    PAIR's compute_pic_metric fills the hidden pixels by linear `griddata`
    (1.5 to 6 s per image on 2 cores, a dozen images per curve); its own
    'nearest' option takes 0.03 s. SIC and AIC of one map blur the same
    images and estimate the same entropies, so both are memoised while the
    block runs; the module is restored afterwards.
    """
    from saliency.metrics import pic

    original_blur, original_entropy = pic.create_blurred_image, pic.estimate_image_entropy

    @lru_cache(maxsize=64)
    def blur(image_key, mask_key):
        return original_blur(images[image_key], masks[mask_key], method="nearest")

    @lru_cache(maxsize=128)
    def entropy(key):
        return original_entropy(images[key])

    images, masks = {}, {}

    def keyed(store, array):
        key = (array.shape, array.tobytes())
        store.setdefault(key, array)
        return key

    pic.create_blurred_image = lambda full_img, pixel_mask, method="linear": blur(
        keyed(images, full_img), keyed(masks, pixel_mask)
    )
    pic.estimate_image_entropy = lambda image: entropy(keyed(images, image))
    try:
        yield pic
    finally:
        pic.create_blurred_image, pic.estimate_image_entropy = original_blur, original_entropy


def pic_metrics(
    context, importance_maps: dict[str, np.ndarray], seed: int = 0, thresholds=PIC_THRESHOLDS
) -> dict[str, dict[str, float]]:
    """SIC and AIC areas (saliency.metrics.compute_pic_metric) for each map of one photo.

    The model sees each PIC image through `context.calls` (counted). An image
    where PIC does not apply (the blurred photo already scores as high as the
    photo) gets NaN, as PAIR advises skipping it.
    """
    mask_rng = np.random.default_rng(seed)
    random_mask = mask_rng.random(context.image.shape[:2]) < 0.01  # PIC's 1% of pixels kept when fully blurred
    seen: dict[bytes, np.ndarray] = {}

    def logits(images: np.ndarray) -> np.ndarray:
        key = images.tobytes()
        if key not in seen:
            seen[key] = context.calls.logits(context.bundle.preprocess(images))
        return seen[key]

    def softmax_score(images):
        from ..models import softmax

        return softmax(logits(images))[:, context.target]

    def accuracy(images):
        return (np.argmax(logits(images), axis=1) == context.target).astype(float)

    results = {}
    with _fast_pic() as pic:
        for name, importance_map in importance_maps.items():
            scores = {}
            for metric, predict in (("sic", softmax_score), ("aic", accuracy)):
                try:
                    scores[metric] = float(
                        pic.compute_pic_metric(
                            context.image,
                            importance_map,
                            random_mask,
                            predict,
                            list(thresholds),
                            min_pred_value=0.0,
                            keep_monotonous=True,
                            num_data_points=100,
                        ).auc
                    )
                except pic.ComputePicMetricError:
                    scores[metric] = float("nan")
            results[name] = scores
    return results
