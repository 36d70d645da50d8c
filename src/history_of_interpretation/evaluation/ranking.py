"""Rank methods on each metric: mean over photos with a seeded bootstrap 95% interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tables import MarkdownTable

# Which way is better for each metric the evaluation writes.
HIGHER_IS_BETTER = {
    "deletion_auc": False,  # the probability should fall fast when the top pixels go
    "deletion_blurred_auc": False,
    "insertion_auc": True,  # ... and rise fast when they come back
    "sic_auc": True,
    "aic_auc": True,
    "randomization_spearman_abs": False,  # a map should change when the model does (|value| ranks)
    "randomization_spearman_signed": False,
    "randomization_ssim": False,
}
METRICS = tuple(HIGHER_IS_BETTER)


@dataclass(frozen=True)
class Estimate:
    """A mean over photos and its bootstrap 95% interval."""

    mean: float
    low: float
    high: float
    count: int

    def __str__(self) -> str:
        if self.count == 0:
            return "n/a"
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap_interval(values, seed: int = 0, resamples: int = 2000, level: float = 0.95) -> Estimate:
    """Mean of the finite values and the percentile bootstrap interval of the mean (seeded)."""
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if values.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(values.mean()), float(low), float(high), int(values.size))


def estimates(rows, seed: int = 0) -> dict[str, dict[str, Estimate]]:
    """{metric: {method: Estimate}} from long rows (image, method, metric, value)."""
    grouped: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        grouped.setdefault((row["metric"], row["method"]), []).append(float(row["value"]))
    table: dict[str, dict[str, Estimate]] = {}
    for (metric, method), values in grouped.items():
        table.setdefault(metric, {})[method] = bootstrap_interval(values, seed)
    return table


def ranks(by_method: dict[str, Estimate], metric: str) -> dict[str, int]:
    """1 = best on `metric`; methods without a finite value are left out.

    Randomisation similarities rank by their distance from 0: a correlation of
    -0.9 with the trained map says as plainly as +0.9 that the map ignored the change.
    """
    finite = [
        (method, abs(e.mean) if metric.startswith("randomization") else e.mean)
        for method, e in by_method.items()
        if e.count
    ]
    ordered = sorted(finite, key=lambda item: -item[1] if HIGHER_IS_BETTER.get(metric, True) else item[1])
    return {method: position for position, (method, _) in enumerate(ordered, start=1)}


def ranking_table(
    table: dict[str, dict[str, Estimate]], costs: dict[str, tuple[float, float]] | None = None
) -> MarkdownTable:
    """A markdown table: one row per method, per metric its mean [95% interval] and rank; then its cost.

    `costs` maps a method to (passes, seconds) per photo. Rows follow the
    first metric's ranking.
    """
    metrics = [metric for metric in METRICS if metric in table] + sorted(set(table) - set(METRICS))
    rank = {metric: ranks(table[metric], metric) for metric in metrics}
    methods = sorted(
        {m for metric in metrics for m in table[metric]}, key=lambda m: (rank[metrics[0]].get(m, 10**6), m)
    )
    arrows = {metric: "↑" if HIGHER_IS_BETTER.get(metric, True) else "↓" for metric in metrics}
    header = ["method", *(f"{metric} {arrows[metric]}" for metric in metrics)]
    if costs is not None:
        header += ["passes", "seconds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        cells = [method]
        for metric in metrics:
            estimate = table[metric].get(method)
            cells.append(
                "" if estimate is None else f"{estimate} (#{rank[metric][method]})" if estimate.count else "n/a"
            )
        if costs is not None:
            passes, seconds = costs.get(method, (float("nan"), float("nan")))
            cells += [f"{passes:.0f}" if np.isfinite(passes) else "", f"{seconds:.2f}" if np.isfinite(seconds) else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return MarkdownTable("\n".join(lines))
