"""Numbers about one map, or two maps of one photo: where the positive mass lies, how speckled, how alike.

Maps with colour channels (HxWx3) are collapsed to one value per pixel by
`per_pixel` first, the one place that decides how. A map whose values are all
equal (all zero, say) is *degenerate*: it ranks no pixel above another, so any
similarity with it is undefined (NaN), never 0 or 1.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity


def per_pixel(attribution: np.ndarray, absolute: bool = False) -> np.ndarray:
    """One float64 value per pixel: the map (or |map|) summed over its colour channels, if it has them."""
    values = np.abs(attribution) if absolute else np.asarray(attribution)
    return (values.sum(axis=2) if values.ndim == 3 else values).astype(np.float64)


def positive_mass_fraction(attribution: np.ndarray, region: np.ndarray) -> float:
    """Share of the map's positive mass that lies inside a boolean HxW region."""
    summed = per_pixel(attribution)
    if summed.shape != region.shape:
        raise ValueError(f"the region is {region.shape} but the map is {summed.shape}; they must match")
    positive = np.maximum(summed, 0.0)
    total = positive.sum()
    if total == 0:
        raise ValueError("the map has no positive mass to locate")
    return float(positive[region].sum() / total)


def half_shares(attribution: np.ndarray, composite) -> dict[str, float]:
    """Share of the map's positive mass on each half of a side-by-side composite: {"left": .., "right": ..}.

    With two instances of one class (say coffee | coffee), it says whether a
    map covers both or settles on one.
    """
    return {side: positive_mass_fraction(attribution, composite.half_mask(side)) for side in ("left", "right")}


def total_variation(attribution: np.ndarray) -> float:
    """How speckled a map is: the mean jump of |map| between neighbouring pixels, over its mean.

    |map| is summed over colour. Scale-free: 0 for a constant magnitude, 2 for
    a checkerboard of 0s and 1s, small for a map that varies smoothly.
    Noise that is scattered pixel by pixel (what Guided IG set out to remove
    from integrated gradients) raises it.
    """
    magnitude = per_pixel(attribution, absolute=True)
    mean = magnitude.mean()
    if mean == 0:
        raise ValueError("the map is all zero: its variation is undefined")
    jumps = np.concatenate([np.abs(np.diff(magnitude, axis=0)).ravel(), np.abs(np.diff(magnitude, axis=1)).ravel()])
    return float(jumps.mean() / mean)


def is_degenerate(attribution: np.ndarray) -> bool:
    """Whether a map ranks nothing: constant (all zero included) or not finite, summed over colour."""
    values = per_pixel(attribution)
    return not np.all(np.isfinite(values)) or np.ptp(values) == 0


def rank_correlation(first: np.ndarray, second: np.ndarray, absolute: bool = False) -> float:
    """Spearman rank correlation of two maps of one photo (summed over colour; of |map| with `absolute`).

    NaN when either map is degenerate: a constant map shares no ranking, which
    is not the same as an unrelated one (0).
    """
    first, second = per_pixel(first, absolute), per_pixel(second, absolute)
    if first.shape != second.shape:
        raise ValueError(f"the maps have shapes {first.shape} and {second.shape}; they must match")
    if is_degenerate(first) or is_degenerate(second):
        return float("nan")
    return float(spearmanr(first.ravel(), second.ravel()).statistic)


def magnitude_ssim(first: np.ndarray, second: np.ndarray) -> float:
    """SSIM of two maps' |map| (summed over colour), each scaled to [0, 1] (Adebayo et al. 2018); NaN if degenerate."""
    first, second = per_pixel(first, True), per_pixel(second, True)
    if is_degenerate(first) or is_degenerate(second):
        return float("nan")
    scaled = [(values - values.min()) / np.ptp(values) for values in (first, second)]
    return float(structural_similarity(*scaled, data_range=1.0))
