"""Fingerprints: the numbers behind each published figure, which nbval compares.

Figures are pictures; each figure cell of a chapter also prints one line per
map behind it, and `make test` compares those lines with the committed
notebook, numbers within a relative tolerance (`nbval_numbers.py`).
"""

from __future__ import annotations

import numpy as np

from history_of_interpretation.evaluation.map_statistics import per_pixel


def _significant(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def fingerprint(result) -> str:
    """One line: method, class, passes, and scale-free statistics of |map| to four significant digits.

    The statistics depend on the map's shape, not on its units: the 50th and
    99th percentiles of |map| over its mean, the share of |map| in the top 5%
    of pixels, and the centre of mass of |map| (row, column, as fractions of
    the height and width). All vary smoothly with the map, so float noise
    moves them by about as much as it moves the map (nbval_numbers compares
    them within a tolerance), and a changed method moves them by more.
    """
    magnitude = per_pixel(result.map, absolute=True)
    mean = float(magnitude.mean())
    head = f"{result.method}: class {result.target} ({result.label}), passes {result.passes}"
    if mean == 0:
        return f"{head}, all zero"
    flat = np.sort(magnitude.ravel())[::-1]
    top_share = flat[: max(1, flat.size // 20)].sum() / flat.sum()
    rows, cols = (np.arange(n) / max(n - 1, 1) for n in magnitude.shape)
    centre = (magnitude.sum(axis=1) @ rows / flat.sum(), magnitude.sum(axis=0) @ cols / flat.sum())
    return (
        f"{head}, p50/mean {_significant(np.percentile(magnitude, 50) / mean)}, "
        f"p99/mean {_significant(np.percentile(magnitude, 99) / mean)}, top5% share {_significant(top_share)}, "
        f"centre ({_significant(centre[0])}, {_significant(centre[1])})"
    )
