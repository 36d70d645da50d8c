"""Honest rankings from long rows: labelled intervals, paired tests of difference, groups that cannot be told apart.

Rows are dicts {"image": case, "method": unit, "metric": name, "value": float}, methods and
baselines alike ("units"). For one metric:

- `summarise`: each unit's mean over its finite values and an interval labelled by what it is:
  [min, max] below `MIN_CASES_FOR_BOOTSTRAP` cases (a percentile bootstrap over three photos is
  [min, max] anyway, with poor coverage), from there on scipy's seeded BCa bootstrap 95% interval
  of the mean (Efron 1987).
- `compare`: the cases x units matrix of the cases where every unit is finite, then Demšar (2006):
  average ranks (1 = best, ties averaged), Friedman's test, Nemenyi's post-hoc test
  (scikit-posthocs) with its critical difference, and the groups of units whose average ranks
  differ by less than it; beside it, each unit's paired bootstrap difference of means to the best
  unit, with Holm's correction (statsmodels) over those comparisons.
- `cheapest`: the cheapest unit of the best group, `comparison_table`: the verdict as Markdown.

`difference_figures.py` draws them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..methods.ordering import snap_ties
from ..tables import MarkdownTable, markdown_table

MIN_CASES_FOR_BOOTSTRAP = 20
MIN_MAX = "min-max"
BOOTSTRAP_BCA = "bootstrap 95% (BCa)"
BOOTSTRAP_PERCENTILE = "bootstrap 95% (percentile)"  # a constant sample, where BCa is undefined
NO_VALUE = "no finite value"
RESAMPLES = 9999  # scipy.stats.bootstrap's default
BOOTSTRAP_ELEMENTS = 10_000_000  # resampled values held at once (80 MB), by scipy's `batch`
RANK_TOLERANCE = 1e-3  # of a metric's scale: a gap below it is a tie (far above float noise, below any reported digit)


@dataclass(frozen=True)
class Summary:
    """One unit on one metric: mean of its finite values and an interval labelled by its kind."""

    unit: str
    mean: float
    low: float
    high: float
    interval: str  # MIN_MAX, BOOTSTRAP_BCA, BOOTSTRAP_PERCENTILE or NO_VALUE
    finite: int
    missing: int  # NaN (or infinite) values

    def __str__(self) -> str:
        if not self.finite:
            return "n/a"
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"


@dataclass(frozen=True)
class Difference:
    """One unit against the best: the mean over cases of (unit - best), in the metric's own units.

    The interval is the percentile bootstrap interval at `level`, Holm's level for this comparison:
    the comparison with the j-th smallest of m p-values is judged at alpha / (m - j + 1), so its
    interval excludes 0 exactly when its own step of Holm's procedure rejects.
    """

    unit: str
    mean: float
    low: float
    high: float
    level: float
    p_value: float  # two-sided, from the bootstrap distribution
    p_holm: float
    worse: bool  # significantly worse than the best after Holm's correction


@dataclass(frozen=True)
class Comparison:
    """Units compared on one metric over the cases where all of them are finite."""

    metric: str
    higher_is_better: bool
    alpha: float
    units: tuple[str, ...]  # by average rank, best first
    cases: tuple[str, ...]
    dropped: tuple[str, ...]  # cases where some unit had no finite value
    values: np.ndarray = field(repr=False)  # cases x units, columns in `units` order
    average_ranks: dict[str, float]
    friedman_statistic: float  # NaN with 2 units (scipy's Friedman test needs 3)
    friedman_p: float
    critical_difference: float
    nemenyi_p: pd.DataFrame = field(repr=False)  # units x units
    groups: tuple[tuple[str, ...], ...]  # maximal sets of units that Nemenyi cannot tell apart
    best: str  # the best mean over the kept cases
    differences: dict[str, Difference]  # every unit but the best
    summaries: dict[str, Summary]  # over every finite value of each unit, dropped cases included

    @property
    def best_group(self) -> tuple[str, ...]:
        """The best unit and every unit not significantly worse than it (paired bootstrap, Holm)."""
        return tuple(u for u in self.units if u == self.best or not self.differences[u].worse)

    def letters(self) -> dict[str, str]:
        """A letter per Nemenyi group ("a" holds the best average rank): units sharing one cannot be told apart."""
        return {
            unit: "".join(group_label(g) for g, group in enumerate(self.groups) if unit in group) for unit in self.units
        }

    def verdict(self, unit: str) -> str:
        """Where `unit` stands against the best: "best", "tied with the best" or "worse than the best"."""
        if unit == self.best:
            return "best"
        return "worse than the best" if self.differences[unit].worse else "tied with the best"


def group_label(index: int) -> str:
    """a to z, then A to Z, then [53], [54], ..."""
    return string.ascii_letters[index] if index < len(string.ascii_letters) else f"[{index + 1}]"


def summarise(
    rows, metric: str, seed: int = 0, resamples: int = RESAMPLES, min_cases: int = MIN_CASES_FOR_BOOTSTRAP
) -> dict[str, Summary]:
    """{unit: Summary} over each unit's values of `metric`, NaN counted apart."""
    values: dict[str, list[float]] = {}
    for row in rows:
        if row["metric"] == metric:
            values.setdefault(row["method"], []).append(float(row["value"]))
    return {unit: summary(unit, unit_values, seed, resamples, min_cases) for unit, unit_values in values.items()}


def summary(unit: str, values, seed: int = 0, resamples: int = RESAMPLES, min_cases: int = MIN_CASES_FOR_BOOTSTRAP):
    """The mean of the finite `values` and its interval: min-max below `min_cases`, else BCa bootstrap 95%."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    missing = int(values.size - finite.size)
    if finite.size == 0:
        return Summary(unit, np.nan, np.nan, np.nan, NO_VALUE, 0, missing)
    mean = float(finite.mean())
    if finite.size < min_cases:
        return Summary(unit, mean, float(finite.min()), float(finite.max()), MIN_MAX, int(finite.size), missing)
    if np.ptp(finite) == 0:  # every resample has the same mean; BCa's acceleration would be 0 / 0
        return Summary(unit, mean, mean, mean, BOOTSTRAP_PERCENTILE, int(finite.size), missing)
    result = stats.bootstrap(
        (finite,), np.mean, n_resamples=resamples, method="BCa", rng=np.random.default_rng(seed)
    ).confidence_interval
    return Summary(unit, mean, float(result.low), float(result.high), BOOTSTRAP_BCA, int(finite.size), missing)


def paired_matrix(rows, metric: str, units=None) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    """(cases, units, cases x units values, dropped cases) for `metric`.

    A case is kept when every unit has a finite value on it; `units` (default: every unit with a
    row of `metric`) keeps their order. Two rows for one (case, unit, metric) are an error.
    """
    table: dict[tuple[str, str], float] = {}
    seen_cases: dict[str, None] = {}  # in the rows' order
    seen_units: dict[str, None] = {}
    for row in rows:
        if row["metric"] != metric:
            continue
        key = (row["image"], row["method"])
        if key in table:
            raise ValueError(f"two rows for case {key[0]!r}, unit {key[1]!r}, metric {metric!r}: keep one")
        table[key] = float(row["value"])
        seen_cases[key[0]] = None
        seen_units[key[1]] = None
    units = list(seen_units) if units is None else list(units)
    if unknown := [u for u in units if u not in seen_units]:
        raise ValueError(f"no rows of metric {metric!r} for unit(s) {unknown}; units with rows: {list(seen_units)}")
    cases: list[str] = []
    dropped: list[str] = []
    for case in seen_cases:
        complete = all(np.isfinite(table.get((case, u), np.nan)) for u in units)
        (cases if complete else dropped).append(case)
    values = np.array([[table[case, u] for u in units] for case in cases], dtype=np.float64).reshape(-1, len(units))
    return cases, units, values, dropped


def critical_difference(units: int, cases: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks: q_alpha * sqrt(k (k + 1) / (6 N)) (Demšar 2006, eq. 3).

    q_alpha is the studentized range quantile for k groups and infinite degrees of freedom over
    sqrt(2), Demšar's Table 5a (2.569 for k = 4 at alpha = 0.05).
    """
    q_alpha = stats.studentized_range.ppf(1 - alpha, units, np.inf) / np.sqrt(2)
    return float(q_alpha * np.sqrt(units * (units + 1) / (6 * cases)))


def holm(p_values, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holm's step-down correction: (adjusted p-values, rejected, the level each comparison is judged at).

    statsmodels adjusts; the levels alpha / (m - j + 1) for the j-th smallest p-value are what the
    intervals of `compare` are drawn at.
    """
    p_values = np.asarray(p_values, dtype=np.float64)
    rejected, adjusted, _, _ = multipletests(p_values, alpha=alpha, method="holm")
    levels = np.empty_like(p_values)
    levels[np.argsort(p_values, kind="stable")] = alpha / np.arange(p_values.size, 0, -1)
    return adjusted, rejected, levels


def nemenyi_groups(units, average_ranks: dict[str, float], p_values: pd.DataFrame, alpha: float):
    """The maximal sets of units that no pair of which Nemenyi's test tells apart (Demšar's bars).

    scikit-posthocs finds these cliques only inside its drawing (a private function). Nemenyi's p
    falls as the gap in average rank grows, so "cannot be told apart" links runs of neighbours on
    the rank axis and the maximal cliques are the maximal such runs: found here in one pass.
    """
    ordered = sorted(units, key=lambda u: average_ranks[u])
    groups: list[tuple[str, ...]] = []
    for start, first in enumerate(ordered):
        end = start + 1
        while end < len(ordered) and p_values.loc[first, ordered[end]] >= alpha:
            end += 1
        run = tuple(ordered[start:end])
        if not groups or not set(run) <= set(groups[-1]):
            groups.append(run)
    return tuple(groups)


def compare(
    rows,
    metric: str,
    higher_is_better: bool,
    units=None,
    alpha: float = 0.05,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Comparison:
    """Compare units on `metric` over the cases where all are finite (Demšar 2006; paired bootstrap + Holm).

    Raises ValueError when fewer than 2 units or 2 complete cases remain.
    """
    rows = list(rows)
    cases, units, values, dropped = paired_matrix(rows, metric, units)
    if len(units) < 2:
        raise ValueError(f"metric {metric!r}: {len(units)} unit(s) {units}; a comparison needs at least 2")
    if len(cases) < 2:
        finite = {
            u: sum(1 for r in rows if r["metric"] == metric and r["method"] == u and np.isfinite(float(r["value"])))
            for u in units
        }
        raise ValueError(
            f"metric {metric!r}: {len(cases)} case(s) where all {len(units)} units are finite "
            f"({len(dropped)} dropped); a comparison needs at least 2. Finite values per unit: {finite}; "
            "leave out the units that are NaN on most cases (units=...)"
        )
    # Costs: lower is better for every metric, so that rank 1 is the best. Values closer than
    # RANK_TOLERANCE of the metric's scale tie before ranking: another CPU's float noise must not
    # split them, each machine its own way (a tie shares its average rank).
    signed = -values if higher_is_better else values
    scale = float(np.abs(signed).max()) if signed.size else 0.0
    costs = np.array([snap_ties(case, RANK_TOLERANCE, scale) for case in signed]).reshape(signed.shape)
    ranks = stats.rankdata(costs, axis=1, method="average").mean(axis=0)
    average_ranks = dict(zip(units, ranks.tolist()))
    if len(units) >= 3 and np.ptp(stats.rankdata(costs, axis=1), axis=1).any():
        friedman = stats.friedmanchisquare(*costs.T)
        friedman_statistic, friedman_p = float(friedman.statistic), float(friedman.pvalue)
    elif len(units) >= 3:  # every case a tie across all units: no evidence of any difference (scipy gives 0 / 0)
        friedman_statistic, friedman_p = 0.0, 1.0
    else:  # Friedman's test of 2 units is a sign test; the paired bootstrap below decides instead
        friedman_statistic = friedman_p = np.nan
    nemenyi_p = scikit_posthocs.posthoc_nemenyi_friedman(pd.DataFrame(costs, columns=units))
    order = sorted(units, key=lambda u: (average_ranks[u], u))
    means = signed.mean(axis=0)
    best_index = min(range(len(units)), key=lambda i: (means[i], ranks[i], units[i]))
    best = units[best_index]
    summaries = summarise(rows, metric, seed, resamples)
    return Comparison(
        metric=metric,
        higher_is_better=higher_is_better,
        alpha=alpha,
        units=tuple(order),
        cases=tuple(cases),
        dropped=tuple(dropped),
        values=values[:, [units.index(u) for u in order]],
        average_ranks=average_ranks,
        friedman_statistic=friedman_statistic,
        friedman_p=friedman_p,
        critical_difference=critical_difference(len(units), len(cases), alpha),
        nemenyi_p=nemenyi_p.loc[order, order],
        groups=nemenyi_groups(order, average_ranks, nemenyi_p, alpha),
        best=best,
        differences=differences_to_best(values, units, best_index, higher_is_better, alpha, seed, resamples),
        summaries={u: summaries[u] for u in order},
    )


def differences_to_best(values, units, best_index, higher_is_better, alpha, seed, resamples) -> dict[str, Difference]:
    """Each unit's paired bootstrap difference of means to the best, Holm-corrected (one seeded draw of cases).

    The p-value inverts the percentile interval: twice the smaller share of resampled mean
    differences on either side of 0, counted with the observed sample (+1) so it is never 0.
    """
    others = [i for i in range(len(units)) if i != best_index]
    differences = values[:, others] - values[:, [best_index]]  # cases x (units - 1)
    elements = differences.size
    distribution = stats.bootstrap(
        (differences,),
        np.mean,
        n_resamples=resamples,
        batch=max(1, BOOTSTRAP_ELEMENTS // elements),
        method="percentile",
        rng=np.random.default_rng(seed),
    ).bootstrap_distribution.reshape(len(others), resamples)
    below = (distribution <= 0).sum(axis=1)
    above = (distribution >= 0).sum(axis=1)
    p_values = np.minimum(1.0, 2 * (np.minimum(below, above) + 1) / (resamples + 1))
    adjusted, rejected, levels = holm(p_values, alpha)
    mean = differences.mean(axis=0)
    worse_side = mean < 0 if higher_is_better else mean > 0
    result = {}
    for j, i in enumerate(others):
        low, high = np.percentile(distribution[j], [50 * levels[j], 100 - 50 * levels[j]])
        result[units[i]] = Difference(
            unit=units[i],
            mean=float(mean[j]),
            low=float(low),
            high=float(high),
            level=float(1 - levels[j]),
            p_value=float(p_values[j]),
            p_holm=float(adjusted[j]),
            worse=bool(rejected[j] and worse_side[j]),
        )
    return result


def compare_all(rows, higher_is_better: dict[str, bool], **settings) -> dict[str, Comparison]:
    """`compare` for each metric of `higher_is_better` that has rows, with the same settings."""
    rows = list(rows)
    present = {row["metric"] for row in rows}
    return {
        metric: compare(rows, metric, direction, **settings)
        for metric, direction in higher_is_better.items()
        if metric in present
    }


def cheapest(comparison: Comparison, costs: dict[str, tuple[float, float]], exclude=()) -> str | None:
    """The unit of the best group with the fewest passes per case (then seconds), `exclude` left out.

    `costs` maps a unit to (passes, seconds) per case. None when no unit is left.
    """
    candidates = [u for u in comparison.best_group if u not in set(exclude)]
    if without := [u for u in candidates if u not in costs]:
        raise ValueError(f"no cost for {without} of the best group on {comparison.metric!r}; pass them or exclude=")
    return min(candidates, key=lambda u: (costs[u][0], costs[u][1], u), default=None)


def comparison_table(comparison: Comparison, costs: dict[str, tuple[float, float]] | None = None) -> MarkdownTable:
    """One metric as Markdown: a line on the tests, then a row per unit by average rank.

    Columns: mean and interval over each unit's finite values (labelled), finite values (NaN),
    average rank over the kept cases, Nemenyi group letters, the paired verdict against the best
    (Holm-adjusted p), and the cost per case (passes, seconds) when `costs` is given.
    """
    c = comparison
    direction = "higher" if c.higher_is_better else "lower"
    friedman = (
        f"Friedman χ² = {c.friedman_statistic:.1f}, p = {c.friedman_p:.2g}"
        if np.isfinite(c.friedman_p)
        else "Friedman's test needs 3 units"
    )
    caption = (
        f"**{c.metric}** ({direction} is better): {len(c.units)} units over {len(c.cases)} cases "
        f"({len(c.dropped)} dropped where a unit had no finite value). {friedman}; Nemenyi CD = "
        f"{c.critical_difference:.2f} at α = {c.alpha:g}: units sharing a letter cannot be told apart. "
        f"Against the best ({c.best}): paired bootstrap of the mean difference, Holm-corrected."
    )
    header = ["unit", "mean [interval]", "interval", "finite (NaN)", "average rank", "group", "against the best"]
    if costs is not None:
        header += ["passes", "seconds"]
    letters = c.letters()
    rows = []
    for unit in c.units:
        s = c.summaries[unit]
        against = c.verdict(unit)
        if unit != c.best:
            against += f" (p = {c.differences[unit].p_holm:.2g})"
        cells = [unit, str(s), s.interval, f"{s.finite} ({s.missing})", f"{c.average_ranks[unit]:.2f}", letters[unit]]
        rows.append([*cells, against, *cost_cells(costs, unit)])
    return MarkdownTable(caption + "\n\n" + markdown_table(header, "lrlrrll" + "r" * (len(header) - 7), rows))


def cost_cells(costs: dict[str, tuple[float, float]] | None, unit: str) -> list[str]:
    """A unit's passes and seconds per case as table cells (none without `costs`, blank where unknown)."""
    if costs is None:
        return []
    passes, seconds = costs.get(unit, (np.nan, np.nan))
    return [f"{passes:.0f}" if np.isfinite(passes) else "", f"{seconds:.2f}" if np.isfinite(seconds) else ""]
