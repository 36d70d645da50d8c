"""The evaluation driver: units and their references, metrics read from their declarations, degenerate maps."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from toy_models import conv_bundle, random_image

from history_of_interpretation.evaluation import metrics
from history_of_interpretation.evaluation.driver import Plan, evaluate, measure, plan_units
from history_of_interpretation.evaluation.metric_spec import metric
from history_of_interpretation.evaluation.ranking import comparisons
from history_of_interpretation.evaluation.units import Unit, method_of, split_map_name
from history_of_interpretation.methods import SPECS
from history_of_interpretation.methods.spec import method

SIZE = 32


@pytest.fixture(scope="module")
def toy():
    return conv_bundle(size=SIZE, classes=10, strides=4)


def test_units_name_their_light_settings_and_bring_the_baselines_they_need():
    units = plan_units(["vanilla_gradient", "grad_cam", "lime"], {"lime": {"samples": 100}})
    assert [unit.name for unit in units] == [
        "random",
        "random_layer",
        "edge_detector",
        "vanilla_gradient",
        "grad_cam",
        "lime[samples=100]",
    ]
    assert Unit.of_method("lime", {"samples": 1000}).name == "lime"  # the default keeps the bare name
    assert split_map_name("lime[samples=100]:random") == ("lime[samples=100]", "random")
    assert method_of("lime[samples=100]") == "lime" and method_of("random_layer") is None
    with pytest.raises(ValueError, match="samples must be a whole number"):
        Unit.of_method("lime", {"samples": 0})
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        plan_units(["nope"])


def test_segment_methods_bring_a_random_map_of_their_own_segments(toy):
    plan = Plan(("seed_ceiling",))
    image = random_image(SIZE, seed=1)
    gradient = measure(toy, "photo", image, Unit.of_method("vanilla_gradient"), plan)
    grid = measure(toy, "photo", image, Unit.of_method("loo_grid", {"grid": 2}), plan)
    assert set(gradient.subject.maps) == {"vanilla_gradient"}  # its random reference is the shared `random` unit
    assert set(grid.subject.maps) == {"loo_grid[grid=2]", "loo_grid[grid=2]:random"}
    own_random = grid.subject.maps["loo_grid[grid=2]:random"]
    assert len(np.unique(own_random)) == 4  # one value per cell of its own 2x2 grid


@pytest.fixture
def toy_metric_module(monkeypatch):
    """A metric added as its own module and registry row, as a contributor would; removed after the test."""
    module = types.ModuleType("history_of_interpretation.evaluation.toy_metric")
    module.__package__ = "history_of_interpretation.evaluation"

    @metric(
        title="share of positive importance",
        direction="higher",
        family="localisation",
        needs=("map",),
        authors="Nobody",
        year=2026,
        paper="A toy",
    )
    def positive_share(subject):
        """The share of each map's pixels with positive importance."""
        return {name: float((values > 0).mean()) for name, values in subject.maps.items()}

    positive_share.__module__ = module.__name__
    module.positive_share = positive_share
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(metrics, "REGISTRY", (*metrics.REGISTRY, "toy_metric"))
    specs = metrics.collect(metrics.REGISTRY)
    monkeypatch.setattr(metrics, "METRIC_SPECS", specs)
    for module_name in ("driver", "ranking"):
        monkeypatch.setattr(sys.modules[f"history_of_interpretation.evaluation.{module_name}"], "METRIC_SPECS", specs)
    return positive_share


def test_a_metric_is_one_function_and_one_declaration(toy, toy_metric_module):
    evaluation = evaluate(
        toy,
        {f"photo{i}": random_image(SIZE, seed=i) for i in range(3)},
        plan_units(["vanilla_gradient"]),
        Plan(("positive_share",)),
        progress=False,
    )
    rows = evaluation.rows
    assert {row["metric"] for row in rows} == {"positive_share"}
    assert {row["method"] for row in rows} == {"random", "edge_detector", "vanilla_gradient"}
    edges = [row["value"] for row in rows if row["method"] == "edge_detector"]
    assert all(value > 0.9 for value in edges)  # Sobel magnitudes are positive almost everywhere
    assert set(comparisons(rows)) == {"positive_share"}  # the ranking reads its direction from the declaration


def test_an_unknown_metric_or_a_declaration_that_cannot_be_read_is_refused():
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        Plan(("nope",))
    with pytest.raises(ValueError, match="need the cascade's depths"):
        Plan(("model_randomisation",))

    def undocumented(subject):
        return {}

    with pytest.raises(TypeError, match="direction must be one of"):
        metric(title="t", direction="up", family="faithfulness", needs=(), authors="A", year=1, paper="P")(undocumented)
    with pytest.raises(TypeError, match="needs a docstring"):
        metric(title="t", direction="higher", family="faithfulness", needs=(), authors="A", year=1, paper="P")(
            undocumented
        )


@pytest.fixture
def constant_method(monkeypatch):
    """A registered method whose map is constant: it explains nothing, on any model."""

    @method(
        title="constant",
        authors="Nobody",
        year=2026,
        paper="A toy",
        rules={},
        passes=lambda settings, extras: {},
        rgb=False,
        signed=False,
        display="heat",
        resolution="pixel",
    )
    def constant(context):
        """The same value at every pixel."""
        return np.ones(context.x.shape[:2], np.float32), {}

    monkeypatch.setitem(SPECS, "constant", constant.spec)
    return "constant"


def test_a_constant_map_is_degenerate_and_never_ranked_best(toy, constant_method):
    plan = Plan(("model_randomisation", "degenerate_maps", "class_sensitivity"), depths=tuple(toy.group_names))
    photos = {f"photo{i}": random_image(SIZE, seed=i) for i in range(4)}
    evaluation = evaluate(toy, photos, plan_units(["constant", "vanilla_gradient"]), plan, progress=False)
    scores = {(row["image"], row["method"], row["metric"]): row["value"] for row in evaluation.rows}
    for photo in photos:
        assert scores[photo, "constant", "degenerate_maps"] == 1 + len(toy.group_names) + 1
        assert scores[photo, "constant", "model_randomisation"] == pytest.approx(0.0)  # never "changed"
        assert scores[photo, "constant", "class_sensitivity"] == pytest.approx(0.0)
    for name, comparison in comparisons(evaluation.rows).items():
        assert comparison.best != "constant", name


def test_every_removal_metric_scores_every_map_and_counts_its_passes(toy):
    plan = Plan(("deletion", "insertion", "deletion_black", "road_srg", "road_morf"), options={"step": 128})
    measurement = measure(toy, "photo", random_image(SIZE, seed=2), Unit.of_method("loo_grid", {"grid": 2}), plan)
    scored = {(row["method"], row["metric"]) for row in measurement.rows}
    assert scored == {(name, metric) for name in measurement.subject.maps for metric in plan.metrics}
    # Petsiuk's three variants share their batches: 3 curves x (32 x 32 / 128 + 1) points for each of the 2 maps;
    # ROAD: 2 orders x 7 percentages per map.
    assert measurement.cost.metric_passes == 2 * 3 * 9 + 2 * 2 * 7


def test_the_maps_the_metrics_remake_count_their_passes_by_kind(toy):
    # Each cascade depth and the other class remake the vanilla gradient's map: one gradient pass each.
    plan = Plan(("model_randomisation", "class_sensitivity"), depths=tuple(toy.group_names))
    evaluation = evaluate(
        toy, {"photo": random_image(SIZE, seed=3)}, plan_units(["vanilla_gradient"]), plan, progress=False
    )
    measurement = evaluation.get("photo", "vanilla_gradient")
    assert measurement.subject.result.pass_counts == {"gradient": 1}
    assert measurement.subject.rerun_passes == {"gradient": len(toy.group_names) + 1}
    passes = {name: spent for name, (_, spent) in measurement.cost.by_metric.items()}
    assert passes == {"model_randomisation": {"gradient": len(toy.group_names)}, "class_sensitivity": {"gradient": 1}}
