"""Model randomisation on toy models: gradients must change, an edge detector must not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from toy_models import bundle as toy_bundle, conv_bundle, random_image

from history_of_interpretation.evaluation.driver import Plan, measure
from history_of_interpretation.evaluation.randomisation import Randomiser, cascade, independent
from history_of_interpretation.evaluation.units import Unit
from history_of_interpretation.methods import attribute

SIZE = 32


def dense_bundle(seed: int = 0):
    """Pixels -> Dense(32) -> ReLU -> Dense logits.

    Every pixel's gradient is a weight, so random weights decorrelate it.
    """
    rng = np.random.default_rng(seed)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    hidden = keras.layers.Dense(32, name="hidden")
    out = keras.layers.Dense(10, name="logits")
    x = keras.layers.ReLU(name="hidden_relu")(hidden(keras.layers.Flatten(name="flat")(inputs)))
    model = keras.Model(inputs, out(x), name="toy_dense")
    hidden.set_weights([rng.normal(0, 0.05, (SIZE * SIZE * 3, 32)).astype("float32"), np.zeros(32, "float32")])
    out.set_weights([rng.normal(0, 1, (32, 10)).astype("float32"), np.zeros(10, "float32")])
    return toy_bundle(model, SIZE, "hidden_relu", 10, name="toy_dense")


@pytest.fixture(scope="module")
def dense():
    return dense_bundle()


def test_groups_run_from_the_logits_down_and_lite_blocks_are_grouped(lite0):
    assert conv_bundle().group_names == ["logits", "conv"]
    names = lite0.group_names
    assert names[:3] == ["logits", "head", "block15"] and names[-2:] == ["block00", "stem"]
    assert len(names) == 19


def test_cascade_and_independent_steps():
    groups = ["logits", "head", "block1", "stem"]
    assert cascade(groups, ["logits", "block1"]) == [("logits", ("logits",)), ("block1", ("logits", "head", "block1"))]
    assert independent(groups, ["head"]) == [("head", ("head",))]
    with pytest.raises(ValueError, match="unknown layer group 'nope'"):
        cascade(groups, ["nope"])


RANDOMISATION = ("model_randomisation", "model_randomisation_ssim", "model_randomisation_signed", "degenerate_maps")


def test_the_gradient_changes_with_the_model_and_the_edge_map_does_not(dense):
    image = random_image(SIZE, seed=2)
    plan = Plan(RANDOMISATION, depths=tuple(dense.group_names), seed=0)
    randomiser = Randomiser(dense, seed=0)
    gradient = measure(dense, "photo", image, Unit.of_method("vanilla_gradient"), plan, randomiser, target=3)
    edges = measure(dense, "photo", image, Unit("edge_detector"), plan, randomiser, target=3)
    scores = {(row["method"], row["metric"]): row["value"] for row in gradient.rows + edges.rows}
    # The fully random step decorrelates the gradient; its ceiling is 1 (no seed), so the change is large.
    assert scores["vanilla_gradient", "model_randomisation"] > 0.5
    assert scores["vanilla_gradient", "model_randomisation_signed"] > 0.5
    assert scores["edge_detector", "model_randomisation"] == pytest.approx(0.0)
    assert scores["edge_detector", "model_randomisation_ssim"] == pytest.approx(0.0)
    assert scores["vanilla_gradient", "degenerate_maps"] == 0
    assert ("edge_detector", "model_randomisation_signed") not in scores  # the edge map has no sign to compare


def test_the_trained_model_is_untouched_and_the_clone_can_return(dense):
    image = random_image(SIZE, seed=4)
    before = dense.logits(image)
    randomiser = Randomiser(dense, seed=0)
    randomiser.randomise(tuple(randomiser.group_names))
    assert not np.allclose(randomiser.bundle.logits(image), before)
    np.testing.assert_array_equal(dense.logits(image), before)  # would fail if weights were randomised in place
    randomiser.randomise(())
    np.testing.assert_allclose(randomiser.bundle.logits(image), before, rtol=1e-5, atol=1e-6)


def test_the_guided_clone_follows_the_randomised_weights():
    toy = conv_bundle(size=SIZE, classes=10)
    image = random_image(SIZE, seed=5)
    randomiser = Randomiser(toy, seed=0)
    trained = attribute("guided_backprop", randomiser.bundle, image, target=1).map
    randomiser.randomise(("conv",))
    changed = attribute("guided_backprop", randomiser.bundle, image, target=1).map
    assert not np.allclose(trained, changed)
    randomiser.randomise(())
    np.testing.assert_allclose(
        attribute("guided_backprop", randomiser.bundle, image, target=1).map, trained, rtol=1e-5, atol=1e-7
    )


def test_same_seed_same_random_weights_bit_for_bit(dense):
    image = random_image(SIZE, seed=6)
    logits = []
    for seed in (7, 7, 8):
        randomiser = Randomiser(dense, seed=seed)
        randomiser.randomise(("hidden",))
        logits.append(randomiser.bundle.logits(image))
    assert np.array_equal(logits[0], logits[1]) and not np.array_equal(logits[0], logits[2])
