"""PIC: the softmax and accuracy information curves (SIC, AIC; Kapishnikov et al. 2019, XRAI), as PAIR computes them.

PAIR's `saliency.metrics.pic.compute_pic_metric` computes each curve; this
module only feeds it, with the settings of PAIR's example notebook
(`pic_metrics.ipynb`): its 13 thresholds, a random 1% of pixels kept in the
fully blurred image (`generate_random_mask`, drawn here from a seeded
generator), `min_pred_value=0.5` (images whose prediction on the photo is
lower are skipped, as PAIR advises; the function's own default is 0.8),
`keep_monotonous=True`, 1000 points. Over photos, PAIR aggregates the
curves, not the areas: `aggregate` is its `aggregate_individual_pic_results`
(the median curve) over the photos it did not skip.

The hidden pixels are filled by PAIR's linear interpolation
(`create_blurred_image`, scipy's `griddata`). That fill costs seconds per
image, so three things make it fast without changing a number:
`linear_fill` gives PAIR's image bit for bit (a test compares them) but
triangulates the kept pixels once for the three channels (PAIR's `griddata`
per channel triangulates them three times), with BLAS on one thread (its
threads made the triangulation's barycentric transforms 16x slower on two
busy cores); every image, its entropy (a lossless WebP, PAIR's
`estimate_image_entropy`) and its prediction is made once per photo and
shared by SIC and AIC, by all maps (the photo, the fully blurred image)
and by thresholds that reveal the same pixels; and the model sees all of
them in full batches through `context.calls` (counted) before PAIR's
function runs, which then looks them up. (PAIR's other fill, 'nearest', is
no faster here, its lossless WebP costs more, and ranks maps differently:
measured on 13 maps of chelsea, coffee and rocket, Spearman 0.65-0.76 with
the linear fill's SIC, 0.36-0.72 on AIC; so it is not offered.)

PAIR thresholds the map itself (`saliency_map >= quantile`); it is given
the map's `pixel_levels`, the same order with near-ties made exact ties, so
float noise cannot move a pixel across a threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import interpolate
from threadpoolctl import threadpool_limits

from ..models import softmax
from .pixel_order import checked_maps, pixel_levels

# PAIR's example notebook (pic_metrics.ipynb); also the example in compute_pic_metric's docstring.
THRESHOLDS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.10, 0.13, 0.21, 0.34, 0.5, 0.75)
MIN_PRED_VALUE = 0.5  # PAIR's notebook: skip photos the model scores below 0.5
NUM_DATA_POINTS = 1000  # PAIR's notebook
RANDOM_MASK_FRACTION = 0.01  # PAIR's notebook: generate_random_mask(..., fraction=0.01)


@dataclass(frozen=True)
class PicScores:
    """SIC and AIC of one map on one photo: PAIR's results (without their images), or why PAIR skipped the photo."""

    sic: Any  # saliency.metrics.pic.PicMetricResult (blurred_images dropped), or None where PAIR skipped
    aic: Any
    sic_skipped: str = ""  # PAIR's ComputePicMetricError message when it skipped the photo
    aic_skipped: str = ""

    @property
    def sic_auc(self) -> float:
        """Area under the softmax information curve, NaN where PAIR skipped the photo."""
        return float(self.sic.auc) if self.sic is not None else float("nan")

    @property
    def aic_auc(self) -> float:
        """Area under the accuracy information curve, NaN where PAIR skipped the photo."""
        return float(self.aic.auc) if self.aic is not None else float("nan")


def random_mask(shape: tuple[int, int], seed: int = 0, fraction: float = RANDOM_MASK_FRACTION) -> np.ndarray:
    """PAIR's `generate_random_mask` (int(size x fraction) pixels, without replacement) from a seeded generator."""
    size = shape[0] * shape[1]
    mask = np.zeros(size, dtype=bool)
    mask[np.random.default_rng(seed).choice(size, size=int(size * fraction), replace=False)] = True
    return mask.reshape(shape)


def linear_fill(full_img: np.ndarray, pixel_mask: np.ndarray) -> np.ndarray:
    """PAIR's `create_blurred_image(full_img, pixel_mask, 'linear')` for an HxWxC image, bit for bit, faster.

    PAIR's code, with one change: `griddata` per channel becomes one
    `LinearNDInterpolator` (what `griddata` calls) over the C channels, so
    the kept pixels are triangulated once; the triangulation, the simplex
    found for each hidden pixel and each channel's arithmetic stay PAIR's.
    """
    data_type = full_img.dtype
    pixel_mask = pixel_mask.copy()
    height, width = pixel_mask.shape
    pixel_mask[[0, 0, height - 1, height - 1], [0, width - 1, 0, width - 1]] = True  # PAIR: always keep the corners
    mean_color = np.mean(full_img, axis=(0, 1))
    if np.all(pixel_mask):
        return full_img
    blurred_img = full_img * np.expand_dims(pixel_mask, axis=2).astype(np.float32)
    data_points = np.argwhere(pixel_mask > 0)
    unknown_points = np.argwhere(pixel_mask == 0)
    with threadpool_limits(limits=1, user_api="blas"):
        interpolated = interpolate.LinearNDInterpolator(data_points, full_img[tuple(data_points.T)], fill_value=np.nan)(
            unknown_points
        )
    outside = np.isnan(interpolated)  # PAIR's fill_value: the channel's mean colour
    interpolated[outside] = np.broadcast_to(mean_color, interpolated.shape)[outside]
    blurred_img[tuple(unknown_points.T)] = interpolated
    if issubclass(data_type.type, np.integer):
        blurred_img = np.round(blurred_img)
    return blurred_img.astype(data_type)


def pic_scores(
    context,
    importance_maps: dict[str, np.ndarray],
    seed: int = 0,
    thresholds=THRESHOLDS,
    min_pred_value: float = MIN_PRED_VALUE,
) -> dict[str, PicScores]:
    """SIC and AIC (PAIR's `compute_pic_metric`) for each map of one photo: {map: PicScores}.

    `seed` draws the random 1% mask (shared by the photo's maps, as PAIR
    advises for a fair comparison). Every image PIC needs goes through the
    network once, counted in the context: the photo, the fully blurred
    image, and each map's distinct threshold images.
    """
    from saliency.metrics import pic

    thresholds = [float(t) for t in thresholds]
    if not thresholds or thresholds != sorted(thresholds) or not all(0 < t < 1 for t in thresholds):
        raise ValueError(f"thresholds must be ascending fractions between 0 and 1, not {thresholds}")
    photo = context.image
    maps = {
        name: pixel_levels(values).astype(np.float64)
        for name, values in checked_maps(importance_maps, photo.shape[:2]).items()
    }
    kept_at_random = random_mask(photo.shape[:2], seed)
    store = _ImageStore(context, pic)
    store.fill(kept_at_random)
    for levels in maps.values():  # the masks compute_pic_metric will ask for, made the same way
        for threshold in thresholds:
            store.fill((levels >= np.quantile(levels, 1 - threshold)) | kept_at_random)
    store.predict()
    scores = {}
    with store.serving():
        for name, levels in maps.items():
            results = {}
            for metric, predict in (("sic", store.probability), ("aic", store.correct)):
                try:
                    result = pic.compute_pic_metric(
                        photo,
                        levels,
                        kept_at_random,
                        predict,
                        thresholds,
                        min_pred_value=min_pred_value,
                        keep_monotonous=True,
                        num_data_points=NUM_DATA_POINTS,
                    )
                    results[metric] = result._replace(blurred_images=())
                except pic.ComputePicMetricError as error:
                    results[metric], results[f"{metric}_skipped"] = None, str(error)
            scores[name] = PicScores(**results)
    return scores


def aggregate(results: Iterable, method: str = "median"):
    """PAIR's `aggregate_individual_pic_results` (the median curve, and its area) over photos PAIR did not skip.

    `results`: one map's SIC (or AIC) results over photos (PicMetricResult
    or None). Returns PAIR's AggregateMetricResult, or None if every photo
    was skipped.
    """
    from saliency.metrics import pic

    kept = [result for result in results if result is not None]
    return pic.aggregate_individual_pic_results(kept, method=method) if kept else None


def _key(array: np.ndarray) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).digest() + repr(array.shape).encode()


class _ImageStore:
    """One photo's PIC images, each filled, scored by the model and entropy-coded once."""

    def __init__(self, context, pic):
        self.context, self.pic = context, pic
        self.pair_fill, self.pair_entropy = pic.create_blurred_image, pic.estimate_image_entropy
        self.images = {_key(context.image): context.image}  # image key -> uint8 image
        self.filled = {}  # mask key -> image key
        self.entropies, self.predictions = {}, {}  # image key -> entropy, (probability, correct)

    def fill(self, mask: np.ndarray) -> np.ndarray:
        mask_key = _key(mask)
        if mask_key not in self.filled:
            image = linear_fill(self.context.image, mask)
            image_key = _key(image)
            self.images.setdefault(image_key, image)
            self.filled[mask_key] = image_key
        return self.images[self.filled[mask_key]]

    def predict(self):
        """Every image not yet scored, through the network in full batches (counted)."""
        keys = [key for key in self.images if key not in self.predictions]
        size, target = self.context.calls.batch_size, self.context.target
        for first in range(0, len(keys), size):  # preprocessed one batch at a time: all at once are hundreds of MB
            chunk = keys[first : first + size]
            batch = self.context.bundle.preprocess(np.stack([self.images[key] for key in chunk]))
            logits = self.context.calls.logits(batch).astype(np.float64)
            correct = (np.argmax(logits, axis=1) == target).astype(np.float64)
            self.predictions.update(zip(chunk, zip(softmax(logits)[:, target], correct)))

    def _prediction(self, images: np.ndarray, which: int) -> np.ndarray:
        keys = [_key(image) for image in images]
        for key, image in zip(keys, images):
            self.images.setdefault(key, image)
        self.predict()  # only images PAIR made that were not foreseen (none, when the masks above match PAIR's)
        return np.array([self.predictions[key][which] for key in keys])

    def probability(self, images: np.ndarray) -> np.ndarray:
        """SIC's prediction function: the target's softmax probability."""
        return self._prediction(images, 0)

    def correct(self, images: np.ndarray) -> np.ndarray:
        """AIC's prediction function: 1 where the model's top class is the target, else 0."""
        return self._prediction(images, 1)

    def entropy(self, image: np.ndarray) -> float:
        """PAIR's `estimate_image_entropy`, once per image."""
        key = _key(image)
        if key not in self.entropies:
            self.entropies[key] = self.pair_entropy(image)
        return self.entropies[key]

    def served_fill(self, full_img: np.ndarray, pixel_mask: np.ndarray, method: str = "linear") -> np.ndarray:
        """PAIR's `create_blurred_image` from the store (the photo, linear), by PAIR's own code otherwise."""
        if full_img is self.context.image and method == "linear":
            return self.fill(pixel_mask)
        return self.pair_fill(full_img, pixel_mask, method)

    @contextmanager
    def serving(self):
        """PAIR's module filling and entropy-coding from this store while the block runs; restored after."""
        self.pic.create_blurred_image, self.pic.estimate_image_entropy = self.served_fill, self.entropy
        try:
            yield
        finally:
            self.pic.create_blurred_image, self.pic.estimate_image_entropy = self.pair_fill, self.pair_entropy
