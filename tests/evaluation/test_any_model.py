"""Chapter 12's measurements on any model: InceptionV3's architecture (random weights, offline) and both Lite models.

Nothing in the evaluation knows a layer's name: the bundle declares its
layer groups, its Grad-CAM layer and its preprocessing, and the cascade, the
CAM methods and every metric take them from there.
"""

from __future__ import annotations

import numpy as np
import pytest

from history_of_interpretation import load_image
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
from history_of_interpretation.evaluation.metrics import METRIC_SPECS

# Every declared metric but the grid pointing game (it needs grid cases): what chapter 12 runs, and more.
METRICS = tuple(name for name, spec in METRIC_SPECS.items() if "grid_case" not in spec.needs)
METHODS = ["vanilla_gradient", "grad_cam", "loo_grid"]


@pytest.fixture(scope="module")
def inception():
    import keras

    from history_of_interpretation.models.inception import inception_bundle

    keras.utils.set_random_seed(0)  # its random weights, the same every run
    return inception_bundle(keras.applications.InceptionV3(weights=None, classifier_activation=None))


def chapter_12_on(bundle, photo: str = "coffee"):
    # Petsiuk's steps coarser than the paper's 224 pixels: the code path, not the numbers, is under test.
    plan = Plan(METRICS, depths=tuple(bundle.depths(3)), seed=0, options={"step": 12_000})
    photos = {photo: load_image(photo, bundle.input_size)}
    return evaluate(bundle, photos, plan_units(METHODS, {"loo_grid": {"grid": 2}}), plan, progress=False)


@pytest.mark.parametrize("model", ["inception", "lite0", "lite2"])
def test_chapter_12s_measurements_run_on_the_model(model, request):
    bundle = request.getfixturevalue(model)
    evaluation = chapter_12_on(bundle)
    scored = {(row["method"], row["metric"]) for row in evaluation.rows}
    for unit in ("vanilla_gradient", "grad_cam", "loo_grid[grid=2]"):
        for metric in METRICS:
            if METRIC_SPECS[metric].family == "faithfulness":
                assert (unit, metric) in scored, (model, unit, metric)
        assert (unit, "model_randomisation") in scored and (unit, "class_sensitivity") in scored, (model, unit)
    assert ("loo_grid[grid=2]:random", "road_srg") in scored  # its own-resolution random map is measured too
    # The cascade went down to the model's first layer group, and randomising it changed the gradient.
    gradient = evaluation.get("coffee", "vanilla_gradient").subject
    assert [depth for depth, _ in gradient.memo["cascade"]] == bundle.depths(3)
    assert bundle.depths(3)[-1] == bundle.group_names[-1]
    changed = next(
        row["value"]
        for row in evaluation.rows
        if row["method"] == "vanilla_gradient" and row["metric"] == "model_randomisation"
    )
    assert np.isfinite(changed) and changed > 0.1, (model, changed)
    grad_cam = evaluation.get("coffee", "grad_cam").subject.result
    assert grad_cam.extras["layer_values"].shape[:2] == bundle.layer_grid()  # the bundle's own Grad-CAM layer
