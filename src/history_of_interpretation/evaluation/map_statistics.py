"""Numbers that judge a map: where its mass lies, and a stable fingerprint.

The fingerprint is what nbval compares in the executed notebooks: figures
are pictures, so each figure cell also prints a few rounded statistics of
the maps behind it, coarse enough to survive float noise across CPUs and
fine enough to change when a method does.
"""

from __future__ import annotations

import numpy as np


def positive_mass_fraction(attribution: np.ndarray, region: np.ndarray) -> float:
    """Share of the map's positive mass that lies inside a boolean HxW region."""
    summed = np.sum(attribution, axis=2) if attribution.ndim == 3 else attribution
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


class MarkdownTable(str):
    """A markdown table that Jupyter shows rendered when it ends a cell."""

    def _repr_markdown_(self) -> str:
        return str(self)


def cost_table(results, by_method: bool = False) -> MarkdownTable:
    """A markdown table of what each result cost: passes through the network and seconds.

    With `by_method`, one row per method: its passes and seconds averaged over
    its results (say, one per photo).
    """
    results = list(results)
    if not by_method:
        lines = ["| method | class | passes | seconds |", "|---|---|---:|---:|"]
        lines += [f"| {r.method} | {r.label} | {r.passes} | {r.seconds:.2f} |" for r in results]
        return MarkdownTable("\n".join(lines))
    runs: dict[str, list] = {}
    for result in results:
        runs.setdefault(result.method, []).append(result)
    lines = ["| method | passes (mean) | seconds (mean) |", "|---|---:|---:|"]
    lines += [
        f"| {method} | {np.mean([r.passes for r in group]):g} | {np.mean([r.seconds for r in group]):.2f} |"
        for method, group in runs.items()
    ]
    return MarkdownTable("\n".join(lines))


def total_variation(attribution: np.ndarray) -> float:
    """How speckled a map is: the mean jump of |map| between neighbouring pixels, over its mean.

    |map| is summed over colour. Scale-free: 0 for a constant magnitude, 2 for
    a checkerboard of 0s and 1s, small for a map that varies smoothly.
    Noise that is scattered pixel by pixel (what Guided IG set out to remove
    from integrated gradients) raises it.
    """
    magnitude = np.abs(np.asarray(attribution, dtype=np.float64))
    magnitude = magnitude.sum(axis=2) if magnitude.ndim == 3 else magnitude
    mean = magnitude.mean()
    if mean == 0:
        raise ValueError("the map is all zero: its variation is undefined")
    jumps = np.concatenate([np.abs(np.diff(magnitude, axis=0)).ravel(), np.abs(np.diff(magnitude, axis=1)).ravel()])
    return float(jumps.mean() / mean)
