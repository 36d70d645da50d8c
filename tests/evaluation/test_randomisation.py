"""Model randomisation on toy models: gradients must change, an edge detector must not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from toy_models import bundle as toy_bundle, conv_bundle, random_image

from history_of_interpretation.evaluation.randomisation import (
    Randomiser,
    cascade,
    edge_map,
    independent,
    map_similarity,
    randomisation_similarities,
)
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


def test_randomising_the_weights_decorrelates_the_gradient_and_not_the_edge_map(dense):
    image = random_image(SIZE, seed=2)
    trained = attribute("vanilla_gradient", dense, image, target=3).map
    randomiser = Randomiser(dense, seed=0)
    steps = cascade(randomiser.group_names, randomiser.group_names)
    gradient = randomisation_similarities(
        randomiser, steps, lambda b: attribute("vanilla_gradient", b, image, target=3).map, trained
    )
    edges = randomisation_similarities(randomiser, steps, lambda b: edge_map(image), edge_map(image))
    fully_random = gradient[-1]
    assert abs(fully_random["spearman_abs"]) < 0.1 and abs(fully_random["spearman_signed"]) < 0.1
    assert all(row["spearman_abs"] == pytest.approx(1.0) and row["ssim"] == pytest.approx(1.0) for row in edges)


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


def test_similarity_of_a_map_with_itself_and_with_its_negative():
    attribution = np.random.default_rng(0).normal(size=(SIZE, SIZE, 3))
    same = map_similarity(attribution, attribution)
    assert same == pytest.approx({"spearman_abs": 1.0, "spearman_signed": 1.0, "ssim": 1.0})
    negative = map_similarity(attribution, -attribution)
    assert negative["spearman_abs"] == pytest.approx(1.0) and negative["spearman_signed"] == pytest.approx(-1.0)
    assert map_similarity(attribution, np.zeros_like(attribution))["spearman_abs"] == 0.0
