"""Rankings from the long rows, each metric's direction read from its declaration.

`comparisons` runs `statistics.compare` (Friedman, Nemenyi groups, paired
differences to the best with Holm's correction) for every ranked metric in the
rows; `overview_table` puts them side by side, one row per unit, sorted by the
metric the reader trusts most (`sort_by`), ties shown as shared group letters.
"""

from __future__ import annotations

import numpy as np

from ..tables import MarkdownTable, markdown_table
from .metrics import METRIC_SPECS
from .statistics import Comparison, compare, cost_cells, paired_matrix

TRUSTED_ORDER = "road_srg"  # the default order of the overview table


def comparisons(rows, metrics=None, **settings) -> dict[str, Comparison]:
    """A `statistics.Comparison` per ranked metric that has rows (or per metric of `metrics`), in declaration order.

    A metric with fewer than two cases where every unit has a value (PIC on
    photos the model is unsure of, say) cannot be compared and is left out;
    `comparable` says which. `settings` go to `statistics.compare` (alpha, seed, resamples).
    """
    rows = list(rows)
    return {
        name: compare(rows, name, METRIC_SPECS[name].higher_is_better, **settings) for name in comparable(rows, metrics)
    }


def comparable(rows, metrics=None) -> list[str]:
    """The ranked metrics (of `metrics`, default all) with at least two cases where every unit has a value."""
    rows = list(rows)
    present = {row["metric"] for row in rows}
    wanted = [name for name in (metrics or METRIC_SPECS) if name in present and METRIC_SPECS[name].ranked]
    return [name for name in wanted if len(paired_matrix(rows, name)[0]) >= 2]


def overview_table(
    compared: dict[str, Comparison], costs: dict[str, tuple[float, float]] | None = None, sort_by: str | None = None
) -> MarkdownTable:
    """One row per unit: per metric its mean, average rank and Nemenyi group; then its cost per photo.

    Rows follow the average rank on `sort_by` (default: ROAD's relevance gain
    where ranked, the removal score a map's shape alone cannot win; else the
    first metric); units it does not score come last. An arrow says which way
    is better.
    """
    if not compared:
        raise ValueError("no ranked metric to show: the rows hold none")
    metrics = list(compared)
    sort_by = sort_by or (TRUSTED_ORDER if TRUSTED_ORDER in compared else metrics[0])
    if sort_by not in compared:
        raise ValueError(f"cannot sort by {sort_by!r}: the table shows {', '.join(metrics)}")
    units = {unit for comparison in compared.values() for unit in comparison.units}
    order = sorted(units, key=lambda u: (compared[sort_by].average_ranks.get(u, np.inf), u))
    letters = {metric: comparison.letters() for metric, comparison in compared.items()}
    arrows = {metric: "↑" if METRIC_SPECS[metric].higher_is_better else "↓" for metric in metrics}
    header = ["unit", *(f"{metric} {arrows[metric]}" for metric in metrics)]
    if costs is not None:
        header += ["passes", "seconds"]
    rows = []
    for unit in order:
        cells = [unit]
        for metric, comparison in compared.items():
            if unit not in comparison.units:
                cells.append("")
                continue
            mean = comparison.summaries[unit].mean
            cells.append(f"{mean:.3g} (rank {comparison.average_ranks[unit]:.1f}, {letters[metric][unit]})")
        rows.append([*cells, *cost_cells(costs, unit)])
    return markdown_table(header, "l" + "r" * (len(header) - 1), rows)


def costs_per_unit(cost_rows) -> dict[str, tuple[float, float]]:
    """Per unit: the mean passes and seconds per photo of its method, from cost rows (result_log.read)."""
    by_unit: dict[str, list[tuple[float, float]]] = {}
    for row in cost_rows:
        by_unit.setdefault(row["unit"], []).append((float(row["passes"]), float(row["seconds"])))
    return {unit: tuple(np.mean(costs, axis=0).tolist()) for unit, costs in by_unit.items()}
