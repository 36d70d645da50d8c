"""Fingerprints: the rounded numbers behind each published figure, which nbval compares.

Figures are pictures; each figure cell of a chapter also prints one line per
map behind it, and `make test` (tests/nbval_numbers.py) compares those lines
with the committed notebook, numbers within a relative tolerance.
"""

from __future__ import annotations

import numpy as np


def _significant(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}g}"


def fingerprint(result) -> str:
    """One line: method, class, passes, and rounded statistics of |map|.

    The statistics are scale-free (ratios to the mean magnitude) so they depend
    on the map's shape, not on units: the 50th and 99th percentiles of |map|
    over its mean, the share of mass in the top 5% of pixels, and the 4x4 cell
    holding the most mass.
    """
    magnitude = np.abs(result.map)
    magnitude = magnitude.sum(axis=2) if magnitude.ndim == 3 else magnitude
    mean = float(magnitude.mean())
    if mean == 0:
        return f"{result.method}: class {result.target} ({result.label}), passes {result.passes}, all zero"
    flat = np.sort(magnitude.ravel())[::-1]
    top_share = flat[: max(1, flat.size // 20)].sum() / flat.sum()
    height, width = magnitude.shape
    cells = magnitude[: height // 4 * 4, : width // 4 * 4].reshape(4, height // 4, 4, width // 4).sum(axis=(1, 3))
    row, col = np.unravel_index(np.argmax(cells), cells.shape)
    return (
        f"{result.method}: class {result.target} ({result.label}), passes {result.passes}, "
        f"p50/mean {_significant(np.percentile(magnitude, 50) / mean)}, "
        f"p99/mean {_significant(np.percentile(magnitude, 99) / mean)}, "
        f"top5% share {_significant(top_share)}, peak cell ({row},{col})"
    )
