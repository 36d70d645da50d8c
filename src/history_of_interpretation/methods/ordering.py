"""Choices made on float values that float noise cannot flip where the values tie.

Some methods choose by ranking floats: Score-CAM keeps the channels of
highest mean activation, XRAI takes the segment of highest attribution
density. On a randomised model many of those values tie exactly (channels
saturated at ReLU6's cap of 6, or dead at 0; regions of zero attribution),
and another CPU's summation order splits the ties by 1e-7, each CPU its own
way: the choice, and the whole map after it, then differs between machines.
Values closer than a tolerance a little coarser than float noise
(`TOLERANCE` of the values' scale) are taken as ties, decided by index.
Values that differ by more are ordered as before; true near-ties (about as
close as the tolerance, not equal) remain a matter of chance, which no rule
that keeps the method can remove. The same ties, snapped to one value
(`snap_ties`), let a ranking of metric values give tied units one average
rank; `beyond_noise` zeroes differences within float noise of their terms.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-5  # relative to the values' scale: 10x the noise of another CPU (1e-6), far below real gaps


def descending(values: np.ndarray, tolerance: float = TOLERANCE, scale: float | None = None) -> np.ndarray:
    """Indices from the largest value to the smallest; values within `tolerance` x `scale` of the next one
    form a tie, ordered by index.

    `scale` is the size of the values' differences that matter, by default
    their largest finite magnitude; pass the size of the quantities they are
    made of when the values themselves can all be tiny (XRAI's densities once
    the strong regions are taken: float residues of 1e-16 where 0 is meant).
    Ties are found from the gaps between neighbours in sorted order, not by
    rounding to a grid, so no grid line can split two equal values that float
    noise moved apart.
    """
    order, ties = _tie_groups(values, tolerance, scale)
    return order[np.lexsort((order, ties))]


def snap_ties(values: np.ndarray, tolerance: float = TOLERANCE, scale: float | None = None) -> np.ndarray:
    """The values with each tie (as `descending` finds them) set to its largest member, so that a ranking
    of the result (scipy's `rankdata`, Friedman's test) sees exact ties where float noise split them."""
    values = np.asarray(values, dtype=np.float64)
    order, ties = _tie_groups(values, tolerance, scale)
    firsts = np.flatnonzero(np.r_[True, np.diff(ties) > 0])  # each tie's largest value, in sorted order
    snapped = np.empty_like(values)
    snapped[order] = values[order][firsts[ties]]
    return snapped


def beyond_noise(differences: np.ndarray, magnitudes: np.ndarray, tolerance: float = TOLERANCE) -> np.ndarray:
    """The differences, 0 where smaller than `tolerance` x the magnitude of the quantities they are of.

    A difference of two float32 results within their rounding noise is no
    evidence, and its sign is another CPU's coin toss: Score-CAM's increase of
    a probability of 1e-9 (a randomised model's) by 1e-15.
    """
    differences = np.asarray(differences, dtype=np.float64)
    return np.where(np.abs(differences) > tolerance * np.abs(magnitudes), differences, 0.0)


def _tie_groups(values, tolerance, scale) -> tuple[np.ndarray, np.ndarray]:
    """(indices from the largest value down, the tie group of each in that order: 0, 0, 1, 2, 2, ...)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if scale is None:
        scale = np.abs(values[finite]).max() if finite.any() else 0.0
    order = np.argsort(-values, kind="stable")  # NaN last
    ordered = values[order]
    with np.errstate(invalid="ignore"):  # equal infinities tie; NaN ties nothing
        tied = (ordered[1:] == ordered[:-1]) | (ordered[:-1] - ordered[1:] <= tolerance * scale)
    return order, np.concatenate([[0], np.cumsum(~tied)])  # a new group after each real gap


def largest(values: np.ndarray, tolerance: float = TOLERANCE, scale: float | None = None) -> int:
    """The index of the largest value; on a tie (see `descending`) the first such index."""
    return int(descending(values, tolerance, scale)[0])
