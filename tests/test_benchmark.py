"""The benchmark's pure parts (floor arithmetic, counters, tables, goals) and one child measurement on a toy.

No timings are asserted: the numbers are made up by hand and the toy run is
checked for what it counted, not for how long it took.
"""

from __future__ import annotations

import argparse

import pytest
from toy_models import conv_bundle, random_image

from benchmarks import evaluation_cost, floor, goals, report
from benchmarks.children import measure_method
from benchmarks.pair import BudgetedCalls, BudgetSpent, scaled_seconds
from benchmarks.rows import EXTRA_ROWS, ROWS, ROWS_BY_KEY, Row, all_rows
from history_of_interpretation.evaluation.baselines import references
from history_of_interpretation.evaluation.driver import Plan
from history_of_interpretation.evaluation.engines import Job, Measurer
from history_of_interpretation.evaluation.units import Unit
from history_of_interpretation.methods import METHODS, SPECS

# --- rows ----------------------------------------------------------------------


def test_every_declared_method_has_a_row_at_its_defaults_and_extra_rows_follow_their_method():
    assert [row.key for row in ROWS if not row.overrides] == list(METHODS)
    assert [row.key for row in all_rows(("loo_grid", "vanilla_gradient"))] == [
        "loo_grid",
        "loo_grid_14",
        "vanilla_gradient",
    ]
    grid_14 = next(row for row in EXTRA_ROWS if row.key == "loo_grid_14")
    assert grid_14.name == "loo_grid (14x14)"
    assert grid_14.params == {**SPECS["loo_grid"].defaults, "grid": 14}


# --- floor arithmetic ----------------------------------------------------------------

SWEEP = {  # seconds per image by batch size, made up
    "forward": {1: 0.020, 8: 0.010, 32: 0.008},
    "gradient": {1: 0.040, 8: 0.025, 32: 0.030},
}


def test_guided_passes_are_priced_as_plain_ones_and_an_unknown_kind_is_named():
    assert floor.priced_as("guided_gradient") == "gradient"
    assert floor.priced_as("forward") == "forward"
    with pytest.raises(ValueError, match=r"kind 'layer_values'.*PASS_CALLS"):
        floor.priced_as("layer_values")


def test_the_best_batch_is_the_cheapest_per_image_among_those_the_passes_can_fill():
    assert floor.best_batch(SWEEP["forward"], 9) == 8  # 32 is cheaper but 9 passes cannot fill it
    assert floor.best_batch(SWEEP["forward"], 32) == 32
    assert floor.best_batch(SWEEP["gradient"], 256) == 8  # cheapest per image, though 32 fits
    assert floor.best_batch(SWEEP["gradient"], 7) == 1
    with pytest.raises(ValueError, match="no batch size of at most 0"):
        floor.best_batch(SWEEP["forward"], 0)


def test_the_sweep_floor_prices_each_kind_at_its_best_batch():
    # forward: 9 x 0.010 (batch 8); gradient: 1 x 0.040 (batch 1); guided: 2 x 0.040 (batch 1, plain price)
    passes = {"forward": 9, "gradient": 1, "guided_gradient": 2}
    assert floor.sweep_floor(passes, SWEEP) == pytest.approx(0.09 + 0.04 + 0.08)
    assert floor.sweep_floor({"gradient": 256}, SWEEP) == pytest.approx(256 * 0.025)


def test_repeats_cover_the_method_passes_and_a_minimum():
    assert floor.probe_repeats(passes=9, batch=8, quick=False) == 3  # 2 calls hold 9 passes; at least 3
    assert floor.probe_repeats(passes=100, batch=8, quick=False) == 13
    assert floor.probe_repeats(passes=1, batch=1, quick=True) == 1
    assert floor.sweep_repeats(1, quick=False) == 64  # 64 images at least
    assert floor.sweep_repeats(32, quick=False) == 3
    assert floor.sweep_repeats(8, quick=True) == 1


# --- PAIR's budget ----------------------------------------------------------------------


def test_a_pair_run_is_stopped_once_its_budget_is_spent_and_scaled_from_its_calls():
    ticks = iter(range(100))
    calls = BudgetedCalls(
        lambda images, call_model_args, expected_keys: {}, budget_seconds=2.5, min_calls=1, clock=lambda: next(ticks)
    )  # starts at 0; every clock read is one second later
    with pytest.raises(BudgetSpent):
        for _ in range(10):
            calls([0])
    # call 1: not checked (fewer than min_calls made), returns at 1; call 2: checked at 2 (within 2.5 s),
    # returns at 3; call 3: checked at 4, over budget: stopped before it calls the model
    assert (calls.calls, calls.last_return - calls.started) == (2, 3)
    assert scaled_seconds(2.0, calls_made=4, calls_total=10) == 5.0


# --- tables ---------------------------------------------------------------------------


def _report(seconds=(0.5, 0.7, 0.6), floors=(0.5, 0.5, 0.5), pair=None, **extra):
    return {
        "passes": 10,
        "seconds": sorted(seconds)[1],
        "run_seconds": list(seconds),
        "floor_seconds": 0.5,
        "run_floor_seconds": list(floors),
        "floor_by_kind": {"gradient": {"passes": 10, "priced_as": "gradient", "batch": 8, "per_image_ms": 50.0}},
        "model_call_seconds": 0.45,
        "passes_by_kind": {"gradient": 10},
        "compiled_calls_by_kind": {"gradient": 1},
        "peak_rss_mb": 900.0,
        "pair": pair,
        **extra,
    }


PAIR_10_CALLS = {"seconds": 7.2, "calls_timed": 10, "calls_total": 10, "scaled": False, "runs": 2}


def test_entries_and_the_main_table_from_a_report():
    rows = [Row("smoothgrad", "smoothgrad"), Row("blur_ig", "blur_ig")]
    entries = report.build_entries(rows, {"smoothgrad": _report(pair=PAIR_10_CALLS)}, SWEEP)
    smooth, blur = entries
    assert smooth["ratio_to_floor"] == pytest.approx(1.2)
    assert smooth["speedup_vs_pair"] == pytest.approx(12.0)
    assert smooth["floor_seconds_sweep"] == pytest.approx(10 * 0.025)
    assert blur["error"] == "not run" and blur["seconds"] is None
    assert report.main_table(entries).splitlines()[2:] == [
        "| smoothgrad | 10 | 0.600 | 0.500 | 1.20 | 75% | 7.20 | 12.0 | 900 | PAIR 10 calls, median of 2 run(s) |",
        "| blur_ig | – | – | – | – | – | – | – | – | failed: not run |",
    ]


def test_the_pair_note_tells_a_method_without_pair_from_settings_pair_has_no_equivalent_for():
    assert report.pair_note({"key": "lime", "pair": None}) == "no PAIR method"
    assert report.pair_note({"key": "guided_ig", "pair": None}) == "PAIR has no equivalent at these settings"
    pair_row = next(row for row in EXTRA_ROWS if row.key == "guided_ig_pair")
    assert SPECS["guided_ig"].pair.applies(pair_row.params) and not SPECS["guided_ig"].pair.applies(
        ROWS_BY_KEY["guided_ig"].params
    )


def test_the_pass_time_table_marks_each_kinds_best_batch():
    assert report.pass_time_table({"forward": {1: 0.020, 8: 0.010}, "gradient": {1: 0.040}}).splitlines() == [
        "| pass (ms per image) | batch 1 | batch 8 |",
        "|---|---:|---:|",
        "| forward | 20.0 | **10.0** |",
        "| gradient | **40.0** | – |",
    ]


def test_the_ig_curve_table_gives_the_fewest_steps_to_each_error():
    curve = {"midpoint": [{"steps": 16, "completeness_error": 0.05}, {"steps": 32, "completeness_error": 0.015}]}
    assert report.ig_curve_table(curve).splitlines()[2] == "| midpoint | 5.00% | 1.50% | > 32 | 32 |"


# --- goals --------------------------------------------------------------------------------


def _entries(**reports):
    rows = [Row(key, key) for key in reports]
    return report.build_entries(rows, reports, SWEEP)


def test_goals_pass_within_the_floor_and_the_pair_speedup():
    lines = goals.goals(_entries(smoothgrad=_report(pair=PAIR_10_CALLS)), baseline_mb=700)
    assert lines == [
        "PASS  smoothgrad: within 1.3x of its floor (gradient): 1.20x",
        "PASS  smoothgrad: at least 10x faster than PAIR (10 calls): 12.0x",
        "PASS  memory: every method's peak RSS under 3000 MB at batch_size 32: highest 900 MB (baseline 700 MB)",
    ]


def test_goals_miss_a_slow_method_and_blur_ig_when_any_run_passes_1_2x():
    single_call = {**PAIR_10_CALLS, "calls_total": 1, "calls_timed": 1, "seconds": 4.0}
    entries = _entries(
        vanilla_gradient=_report(seconds=(0.7, 0.7, 0.7), pair=single_call),  # 1.4x; 5.7x a one-call PAIR
        blur_ig=_report(seconds=(0.55, 0.62, 0.58), pair=PAIR_10_CALLS),  # median 1.16x, worst 1.24x
        loo_grid={"error": "child method --row loo_grid failed (exit 1):\nTraceback"},
    )
    assert goals.goals(entries, baseline_mb=700)[:-1] == [
        "MISS  vanilla_gradient: within 1.3x of its floor (gradient): 1.40x",
        "PASS  vanilla_gradient: no slower than PAIR (one call, nothing to batch): 5.7x",
        "PASS  blur_ig: within 1.3x of its floor (gradient): 1.16x",
        "MISS  blur_ig: every run within 1.2x of its floor: worst 1.24x of 3 run(s)",
        "PASS  blur_ig: at least 10x faster than PAIR (10 calls): 12.4x",
        "SKIP  loo_grid: not measured (child method --row loo_grid failed (exit 1):)",
    ]


def test_a_reference_row_is_noted_and_held_to_no_goal():
    row = ROWS_BY_KEY["guided_ig_pair"]
    slow = _report(seconds=(1.5, 1.5, 1.5), pair=PAIR_10_CALLS)  # 3x its floor, slower than PAIR's 10 calls
    entries = report.build_entries([row], {row.key: slow}, SWEEP)
    assert goals.goals(entries, baseline_mb=700)[0] == (
        "NOTE  guided_ig (PAIR's sum): for comparison, held to no goal (saliency.core's walk alone: "
        "one image per call by design, so neither batching goal applies)"
    )


# --- one child measurement, on a toy --------------------------------------------------


@pytest.mark.parametrize(
    "row",
    [Row("smoothgrad", "smoothgrad", {"samples": 3}), Row("guided_grad_cam", "guided_grad_cam")],
    ids=lambda row: row.key,
)
def test_a_method_measurement_counts_its_declared_passes_and_prices_them(row):
    toy, image = conv_bundle(size=16), random_image(16, seed=1)
    sweep = {kind: {1: 0.004, 2: 0.003, 4: 0.002} for kind in ("forward", "gradient", "layer_gradient")}
    measured = measure_method(row, toy, image, target=3, sweep=sweep, runs=2, quick=True, pair_budget=60.0)
    declared = row.spec.passes(row.spec.checked(row.overrides), {})
    assert measured["passes_by_kind"] == declared
    assert measured["passes"] == sum(declared.values())
    assert measured["compiled_calls_by_kind"] == {kind: 1 for kind in declared}  # all fit one batch of 32
    assert len(measured["run_seconds"]) == len(measured["run_floor_seconds"]) == 2
    assert measured["model_call_seconds"] > 0  # ModelCalls' counters saw the method's calls
    for kind, passes in declared.items():
        detail = measured["floor_by_kind"][kind]
        assert (detail["passes"], detail["priced_as"]) == (passes, floor.priced_as(kind))
        assert detail["batch"] == floor.best_batch(sweep[floor.priced_as(kind)], passes)
        assert ("own_per_image_ms" in detail) == kind.startswith(floor.GUIDED)
    if row.spec.pair is None:
        assert measured["pair"] is None
    else:
        assert measured["pair"]["calls_total"] == 3 and not measured["pair"]["scaled"]


def test_the_markdown_report_holds_the_tables_and_the_goals():
    entries = _entries(blur_ig=_report(pair=PAIR_10_CALLS))
    args = argparse.Namespace(quick=True, runs=1, pair_budget=4.0)
    info = {
        "cpu": "a CPU",
        "cores": 2,
        "usable_cores": 2,
        "platform": "Linux",
        "load_average_at_start": (1.0, 1.0, 1.0),
    }
    baseline = {
        "target": 285,
        "label": "Egyptian cat",
        "peak_rss_mb": 700.0,
        "versions": dict.fromkeys(("python", "tensorflow", "keras", "numpy", "saliency"), "1"),
    }
    text = report.markdown(args, info, baseline, SWEEP, False, entries, None, ["PASS  x: y"], 60.0)
    assert report.main_table(entries) in text and report.pass_time_table(SWEEP) in text
    assert "gradient (blur_ig): forward+backward to the input" in text
    assert text.endswith("## Goals\n\n```\nPASS  x: y\n```\n")


# --- the evaluation's cost against its floor ---------------------------------------------


def test_a_job_is_priced_in_parts_that_cover_every_pass_it_made():
    toy = conv_bundle(size=32, classes=10, strides=4)
    plan = Plan(
        ("deletion", "model_randomisation", "class_sensitivity"),
        depths=tuple(toy.group_names),
        options={"step": 128},
    )
    sweep = {kind: {1: 0.004, 8: 0.002} for kind in ("forward", "gradient", "layer_gradient")}
    job = Job("photo", Unit.of_method("vanilla_gradient"))
    record = evaluation_cost.measure_job(
        Measurer(toy, plan), job, random_image(32, seed=1), sweep, "photos", False, True
    )
    maps = 1 + len(references(SPECS["vanilla_gradient"]))
    passes = {part: count for part, (_, _, count) in record.parts.items()}
    # Deletion: 32 x 32 / 128 + 1 points per map; each cascade depth and the other class remake the map once.
    assert passes == {
        "method": 1,
        "deletion": 9 * maps,
        "model_randomisation": len(toy.group_names),
        "class_sensitivity": 1,
    }
    assert record.floor == pytest.approx(sum(part_floor for _, part_floor, _ in record.parts.values()))
    assert record.floor > 0 and record.seconds > 0


def _job(half, unit, seconds, floor, warm_up=False):
    return evaluation_cost.JobCost(half, unit, warm_up, seconds, floor)


def test_the_cost_table_leaves_the_warm_ups_out_and_holds_each_half_to_the_goal():
    records = [
        _job("grid", "grad_cam", 50.0, 1.0, warm_up=True),  # compiling: would fail the goal if counted
        _job("grid", "grad_cam", 1.2, 1.0),
        _job("grid", "grad_cam", 1.0, 1.0),
        _job("photos", "grad_cam", 30.0, 10.0),
    ]
    table = "\n".join(evaluation_cost.unit_table(records))
    assert "| grad_cam | 1.10 | 1.00 | 1.10 | 30.00 | 10.00 | 3.00 |" in table
    assert "grid: 2.2 s against a floor of 2.0 s: 1.10x (PASS, goal 1.3x)" in table
    assert "photos: 30.0 s against a floor of 10.0 s: 3.00x (MISS, goal 1.3x)" in table
