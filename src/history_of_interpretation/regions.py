"""The most important regions of a map, and the photo shown through them (XRAI's way of reading a map)."""

from __future__ import annotations

import numpy as np


def top_fraction_mask(attribution: np.ndarray, fraction: float) -> np.ndarray:
    """The `fraction` of pixels with the highest values: a boolean HxW mask.

    An HxWx3 map is summed over colour first. For XRAI's map, whose pixels
    carry their region's score, this is the photo's most important regions
    taking up that share of the image. Ties at the threshold are kept, so
    the mask may cover a little more than `fraction`.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction is the share of the image to keep: above 0 and at most 1, not {fraction!r}")
    summed = np.sum(attribution, axis=2) if attribution.ndim == 3 else np.asarray(attribution)
    threshold = np.quantile(summed, 1.0 - fraction, method="higher")
    return summed >= threshold


def masked_photo(image: np.ndarray, mask: np.ndarray, background: int = 0) -> np.ndarray:
    """The photo where `mask` is True, `background` (a gray level, 0 black) elsewhere."""
    if mask.shape != image.shape[:2]:
        raise ValueError(f"the mask is {mask.shape} but the photo is {image.shape[:2]}; they must match")
    return np.where(mask[..., None], image, np.asarray(background, dtype=image.dtype))
