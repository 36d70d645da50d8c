"""LIME (methods/lime_method.py): a known answer on a toy model, the package's own loop, determinism, bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from lime import lime_image
from toy_models import conv_bundle, function_bundle

from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.lime_method import COMPACTNESS, BatchedLimeImageExplainer
from history_of_interpretation.methods.occlusion import superpixel_segments

SIZE = 32
SEGMENTS = 16


@pytest.fixture(scope="module")
def photo():
    """4x4 blocks of random colours with noise inside: SLIC finds about one superpixel per block."""
    rng = np.random.default_rng(2)
    blocks = rng.integers(40, 216, (4, 4, 3))
    return (np.kron(blocks, np.ones((8, 8, 1))) + rng.integers(-30, 31, (SIZE, SIZE, 3))).astype(np.uint8)


@pytest.fixture(scope="module")
def superpixels(photo):
    return superpixel_segments(photo, SEGMENTS, COMPACTNESS)


def test_the_superpixel_the_model_looks_at_gets_the_largest_weight(photo, superpixels):
    # Class 0's logit is the contrast (mean squared distance from mid-grey) inside one superpixel.
    # LIME hides a superpixel by filling it with its mean colour, which lowers its contrast
    # (by its variance) and cannot change anything the model sees elsewhere.
    chosen = 3
    inside = keras.ops.convert_to_tensor((superpixels == chosen)[None, :, :, None].astype(np.float32))
    share = float(inside.numpy().sum() * 3)
    looker = function_bundle(SIZE, lambda x: 30 * keras.ops.sum(inside * (x - 0.5) ** 2, axis=(1, 2, 3)) / share - 2)
    result = attribute("lime", looker, photo, target=0, samples=300, segments=SEGMENTS)
    weights = result.extras["weights"]
    np.testing.assert_array_equal(result.extras["segments"], superpixels)
    assert len(weights) == superpixels.max() + 1 >= 10
    assert np.argmax(weights) == chosen and weights[chosen] > 0
    assert weights[chosen] > 10 * np.abs(np.delete(weights, chosen)).max(), weights
    np.testing.assert_array_equal(result.map, weights[superpixels].astype(np.float32))


def test_the_batched_perturbations_are_the_packages_own(photo, superpixels):
    # The same draws, the same perturbed photos in the same order, the same outputs, as lime's loop.
    fudged = np.zeros_like(photo)
    seen = {"package": [], "batched": []}

    def recorder(name):
        def classifier_fn(images):
            seen[name].append(images.copy())
            return images.reshape(len(images), -1)[:, :5].astype(np.float64)

        return classifier_fn

    package = lime_image.LimeImageExplainer(random_state=7).data_labels(
        photo, fudged, superpixels, recorder("package"), 45, batch_size=10
    )
    batched = BatchedLimeImageExplainer(random_state=7).data_labels(
        photo, fudged, superpixels, recorder("batched"), 45, batch_size=10
    )
    for ours, theirs in zip(batched, package):
        np.testing.assert_array_equal(ours, theirs)
    assert [len(b) for b in seen["batched"]] == [len(b) for b in seen["package"]] == [10, 10, 10, 10, 5]
    np.testing.assert_array_equal(np.concatenate(seen["batched"]), np.concatenate(seen["package"]))
    np.testing.assert_array_equal(seen["batched"][0][0], photo)  # the first sample is the photo itself


def test_same_seed_same_map_bit_for_bit_and_another_seed_another_map(photo):
    toy = conv_bundle(size=SIZE, classes=10)

    def run(seed):
        return attribute("lime", toy, photo, samples=64, segments=SEGMENTS, seed=seed).map

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"samples": 0}, "samples must be a whole number of at least 1, not 0"),
        ({"samples": -5}, "samples must be a whole number of at least 1, not -5"),
        ({"samples": 10.5}, "samples must be a whole number of at least 1, not 10.5"),
        ({"segments": 0}, "segments must be a whole number of at least 1, not 0"),
        ({"seed": -1}, "seed must be a whole number of at least 0, not -1"),
        ({"seed": 1.5}, "seed must be a whole number of at least 0, not 1.5"),
    ],
)
def test_bad_parameters_are_refused_with_a_helpful_message(photo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attribute("lime", conv_bundle(size=SIZE, classes=10), photo, **kwargs)
