"""Honest rankings: labelled intervals, Friedman and Nemenyi (Demšar 2006), paired bootstrap with Holm."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest

from history_of_interpretation.evaluation import difference_figures, statistics
from history_of_interpretation.tables import MarkdownTable

RESAMPLES = 2000  # enough for decisions far from the threshold, and quick


def long_rows(values: np.ndarray, units, metric: str = "score") -> list[dict]:
    """Long rows from a cases x units matrix."""
    return [
        {"image": f"case{case}", "method": unit, "metric": metric, "value": float(values[case, column])}
        for case in range(values.shape[0])
        for column, unit in enumerate(units)
    ]


def one_clearly_best(cases: int = 30, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit "best" scores 2 above three look-alikes on every case (noise 0.3): a large effect."""
    rng = np.random.default_rng(seed)
    case_effect = rng.normal(size=(cases, 1))
    shifts = np.array([2.0, 0.0, 0.05, 0.1])
    return case_effect + shifts + 0.3 * rng.normal(size=(cases, 4)), ["best", "b", "c", "d"]


def test_a_clearly_best_unit_stands_alone():
    values, units = one_clearly_best()
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    assert comparison.friedman_p < 0.01
    assert comparison.best == "best" and comparison.units[0] == "best"
    assert comparison.average_ranks["best"] == 1.0
    assert ("best",) in comparison.groups
    assert all("best" not in group for group in comparison.groups if len(group) > 1)
    assert comparison.best_group == ("best",)
    assert {comparison.verdict(u) for u in "bcd"} == {"worse than the best"}
    # The three look-alikes (shifts 0 to 0.1 against noise 0.3) differ by less than the CD.
    assert set("bcd") in [set(group) for group in comparison.groups]


def test_identical_units_are_tied_in_one_group():
    values = np.repeat(np.random.default_rng(1).normal(size=(25, 1)), 4, axis=1)
    units = ["w", "x", "y", "z"]
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    assert comparison.friedman_statistic == 0.0 and comparison.friedman_p == 1.0
    assert all(rank == 2.5 for rank in comparison.average_ranks.values())
    assert comparison.groups == (tuple(comparison.units),)
    assert set(comparison.best_group) == set(units)
    assert all(d.p_holm == 1.0 and not d.worse for d in comparison.differences.values())


def test_float_noise_cannot_reorder_units_whose_values_tie():
    # Two units equal on every case, as two maps a metric cannot tell apart; another CPU adds 1e-6 relative noise.
    values, units = one_clearly_best(cases=12)
    values[:, 2] = values[:, 1]
    noise = 1 + 1e-6 * np.random.default_rng(5).standard_normal(values.shape)
    exact, noisy = (
        statistics.compare(long_rows(v, units), "score", higher_is_better=True, resamples=RESAMPLES)
        for v in (values, values * noise)
    )
    assert exact.average_ranks == noisy.average_ranks and exact.groups == noisy.groups
    assert exact.average_ranks["b"] == exact.average_ranks["c"]
    assert exact.friedman_p == pytest.approx(noisy.friedman_p, rel=1e-12)


def test_the_critical_difference_follows_demsar_table():
    # Demšar (2006), Table 5a: q_0.05 = 2.569 for k = 4 and 3.164 for k = 10; CD = q sqrt(k (k + 1) / (6 N)).
    assert statistics.critical_difference(4, 30) == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * 30)), rel=2e-4)
    assert statistics.critical_difference(10, 50) == pytest.approx(3.164 * np.sqrt(10 * 11 / (6 * 50)), rel=2e-4)
    # Table 5b, alpha = 0.10: q = 2.291 for k = 4.
    assert statistics.critical_difference(4, 30, alpha=0.10) == pytest.approx(2.291 * np.sqrt(20 / 180), rel=2e-4)


def test_holm_against_a_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # Sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> max(0.06, 0.04) = 0.06.
    adjusted, rejected, levels = statistics.holm(p, alpha=0.05)
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert rejected.tolist() == [True, False, False, True]
    np.testing.assert_allclose(levels, [0.05 / 3, 0.05 / 1, 0.05 / 2, 0.05 / 4])


def test_the_paired_verdicts_are_holm_on_the_bootstrap_p_values():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(40, 1)) + np.array([0.0, 0.0, -0.3, -0.6, -1.0]) + 0.3 * rng.normal(size=(40, 5))
    units = ["u0", "u1", "u2", "u3", "u4"]
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    others = list(comparison.differences.values())
    adjusted, rejected, levels = statistics.holm([d.p_value for d in others], comparison.alpha)
    assert [d.p_holm for d in others] == pytest.approx(adjusted.tolist())
    assert [d.worse for d in others] == rejected.tolist()
    assert [d.level for d in others] == pytest.approx((1 - levels).tolist())
    assert comparison.differences["u4"].worse and not comparison.differences["u1"].worse
    for d in others:  # each mean difference is the paired one, unit - best, inside its interval
        column = units.index(d.unit)
        best = units.index(comparison.best)
        assert d.mean == pytest.approx(np.mean(values[:, column] - values[:, best]))
        assert d.low <= d.mean <= d.high


def test_intervals_are_min_max_below_20_cases_and_bootstrap_from_20():
    values = [0.3, 0.1, 0.7, np.nan, 0.5]
    few = statistics.summary("m", values)
    assert (few.interval, few.low, few.high, few.finite, few.missing) == (statistics.MIN_MAX, 0.1, 0.7, 4, 1)
    assert few.mean == pytest.approx(0.4)
    rng = np.random.default_rng(3)
    nineteen, twenty = rng.normal(size=19), rng.normal(size=20)
    assert statistics.summary("m", nineteen).interval == statistics.MIN_MAX
    enough = statistics.summary("m", twenty)
    assert enough.interval == statistics.BOOTSTRAP_BCA
    # The bootstrap interval of a mean is much narrower than the range of the values.
    assert twenty.min() < enough.low < twenty.mean() < enough.high < twenty.max()
    assert enough.high - enough.low < 0.5 * np.ptp(twenty)
    constant = statistics.summary("m", np.full(25, 0.25))
    assert (constant.low, constant.high, constant.interval) == (0.25, 0.25, statistics.BOOTSTRAP_PERCENTILE)
    nothing = statistics.summary("m", [np.nan, np.nan])
    assert (nothing.interval, nothing.finite, nothing.missing, str(nothing)) == (statistics.NO_VALUE, 0, 2, "n/a")


def test_cases_with_a_nan_are_dropped_from_the_comparison_and_counted():
    values, units = one_clearly_best(cases=22)
    values[[3, 7], 2] = np.nan
    rows = long_rows(values, units)
    rows = [row for row in rows if not (row["image"] == "case5" and row["method"] == "d")]  # a missing row
    comparison = statistics.compare(rows, "score", higher_is_better=True, resamples=RESAMPLES)
    assert comparison.dropped == ("case3", "case5", "case7")
    assert len(comparison.cases) == 19 and comparison.values.shape == (19, 4)
    assert np.isfinite(comparison.values).all()
    # The summaries keep every finite value of each unit, and count its NaN.
    assert (comparison.summaries["c"].finite, comparison.summaries["c"].missing) == (20, 2)
    assert comparison.summaries["best"].finite == 22
    assert comparison.summaries["best"].interval == statistics.BOOTSTRAP_BCA
    assert comparison.summaries["c"].interval == statistics.BOOTSTRAP_BCA


def test_too_few_cases_or_units_is_a_clear_error():
    values, units = one_clearly_best(cases=3)
    values[:2, 1] = np.nan
    with pytest.raises(ValueError, match="1 case.* at least 2"):
        statistics.compare(long_rows(values, units), "score", higher_is_better=True)
    with pytest.raises(ValueError, match="1 unit.* at least 2"):
        statistics.compare(long_rows(values, units), "score", higher_is_better=True, units=["best"])
    with pytest.raises(ValueError, match="no rows of metric 'score' for unit"):
        statistics.compare(long_rows(values, units), "score", higher_is_better=True, units=["best", "e"])
    rows = long_rows(values, units)
    with pytest.raises(ValueError, match="two rows for case 'case0', unit 'best'"):
        statistics.compare([*rows, rows[0]], "score", higher_is_better=True)


def test_lower_is_better_flips_the_ranks():
    values, units = one_clearly_best()
    rows = long_rows(values, units)
    higher = statistics.compare(rows, "score", higher_is_better=True, resamples=RESAMPLES)
    lower = statistics.compare(rows, "score", higher_is_better=False, resamples=RESAMPLES)
    for unit in units:
        assert lower.average_ranks[unit] == pytest.approx(len(units) + 1 - higher.average_ranks[unit])
    assert lower.units == higher.units[::-1]
    assert lower.best != "best" and lower.differences["best"].worse
    assert lower.differences["best"].mean > 1.5  # unit - best, in the metric's own units
    assert lower.friedman_p == pytest.approx(higher.friedman_p)


def test_two_units_compare_without_friedman():
    values, units = one_clearly_best()
    comparison = statistics.compare(long_rows(values[:, :2], units[:2]), "score", True, resamples=RESAMPLES)
    assert np.isnan(comparison.friedman_p)
    assert comparison.best_group == ("best",)


def test_the_bootstrap_is_seeded():
    values, units = one_clearly_best()
    values[:, 0] -= 1.9  # close enough that the draw matters
    rows = long_rows(values, units)
    first = statistics.compare(rows, "score", True, seed=5, resamples=RESAMPLES)
    again = statistics.compare(rows, "score", True, seed=5, resamples=RESAMPLES)
    other = statistics.compare(rows, "score", True, seed=6, resamples=RESAMPLES)
    assert first.differences == again.differences and first.summaries == again.summaries
    assert first.differences != other.differences and first.summaries != other.summaries


def test_the_groups_are_the_bars_scikit_posthocs_draws():
    rng = np.random.default_rng(4)
    values = 0.15 * np.arange(8) + rng.normal(size=(30, 8))  # steady steps: overlapping groups
    units = [f"u{i}" for i in range(8)]
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    assert len(comparison.groups) > 1
    bars = [group for group in comparison.groups if len(group) > 1]
    figure = difference_figures.critical_difference_figure(comparison)
    drawn = [line for line in figure.axes[0].lines if len(set(line.get_ydata())) == 1 and line.get_ydata()[0] < 0]
    assert sorted(sorted(line.get_xdata()) for line in drawn) == sorted(
        sorted(comparison.average_ranks[u] for u in group) for group in bars
    )
    ranks = comparison.average_ranks
    for group in comparison.groups:  # within a group, less than the CD apart; one more unit would break it
        assert max(ranks[u] for u in group) - min(ranks[u] for u in group) <= comparison.critical_difference
        outside = [u for u in comparison.units if u not in group]
        assert all(max(abs(ranks[u] - ranks[v]) for v in group) > comparison.critical_difference for u in outside)
    letters = comparison.letters()
    assert letters[comparison.units[0]].startswith("a")


def test_the_cheapest_unit_of_the_best_group():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(30, 1)) + np.array([1.0, 1.0, 1.0, 0.0]) + 0.1 * rng.normal(size=(30, 4))
    units = ["slow", "fast", "random", "poor"]
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    assert set(comparison.best_group) == {"slow", "fast", "random"}
    costs = {"slow": (1000, 10.0), "fast": (2, 0.1), "random": (0, 0.0), "poor": (1, 0.01)}
    assert statistics.cheapest(comparison, costs) == "random"
    assert statistics.cheapest(comparison, costs, exclude={"random"}) == "fast"
    with pytest.raises(ValueError, match="no cost for \\['fast'\\]"):
        statistics.cheapest(comparison, {"slow": (1, 1.0)}, exclude={"random"})


def test_the_table_labels_its_intervals_and_verdicts():
    values, units = one_clearly_best(cases=12)
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    table = statistics.comparison_table(comparison, costs={"best": (5, 0.5)})
    assert isinstance(table, MarkdownTable) and table._repr_markdown_() == str(table)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines() if line.startswith("| ")}
    assert list(rows)[1:] == list(comparison.units)
    assert "| min-max |" in rows["best"] and "| best | 5 | 0.50 |" in rows["best"]
    assert "worse than the best (p = " in rows["b"]
    assert f"{len(comparison.cases)} cases" in table and "Holm" in table and "Friedman" in table


def test_the_figures_draw_units_and_grey_baselines_without_pyplot():
    values, units = one_clearly_best()
    comparison = statistics.compare(long_rows(values, units), "score", higher_is_better=True, resamples=RESAMPLES)
    before = plt.get_fignums()
    diagram = difference_figures.critical_difference_figure(comparison, baselines={"d"}, colours={"best": "red"})
    differences = difference_figures.difference_figure(comparison, baselines={"d"})
    assert plt.get_fignums() == before
    texts = {text.get_text(): text for text in diagram.axes[0].texts}
    label = next(text for name, text in texts.items() if name.startswith("d ") or name.endswith(" d"))
    assert matplotlib.colors.same_color(label.get_color(), difference_figures.BASELINE_COLOUR)
    assert any(name.startswith("best (1.00)") for name in texts)
    assert any(name.startswith("CD = ") for name in texts)
    assert "Friedman" in diagram.axes[0].get_title()
    ticks = [tick.get_text() for tick in differences.axes[0].get_yticklabels()]
    assert sorted(ticks) == sorted(["best (best)", "b", "c", "d"])
    assert hollow_markers(differences) == 0  # every unit is worse than the best
    tied = np.repeat(values[:, :1], 4, axis=1)
    tied = statistics.compare(long_rows(tied, units), "score", higher_is_better=True, resamples=RESAMPLES)
    assert hollow_markers(difference_figures.difference_figure(tied)) == 3


def hollow_markers(figure) -> int:
    lines = figure.axes[0].lines
    return sum(
        1
        for line in lines
        if line.get_marker() == "o" and matplotlib.colors.same_color(line.get_markerfacecolor(), "white")
    )


def test_the_randomisation_grid_marks_only_a_chaotic_methods_maps_volatile():
    from history_of_interpretation import visualisation as vis
    from history_of_interpretation.evaluation.figures import randomisation_grid

    maps = {unit: [np.arange(16.0).reshape(4, 4)] * 3 for unit in ("grad_cam", "guided_ig[steps=16]", "edge_detector")}
    styles = dict.fromkeys(maps, "grayscale")
    figure = randomisation_grid(np.zeros((4, 4, 3), np.uint8), maps, ["logits", "stem"], styles)
    volatile = [ax.images[0].get_gid() == vis.VOLATILE for ax in figure.axes]  # row by row
    assert volatile == [False] * 3 + [True] * 3 + [False] * 3
    plt.close(figure)
