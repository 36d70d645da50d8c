"""LIME (methods/lime_method.py): a known answer on a toy model, the package's own loop, determinism, bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from lime import lime_image
from toy_models import conv_bundle, function_bundle

from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.lime_method import COMPACTNESS, BatchedLimeImageExplainer, switched_superpixels
from history_of_interpretation.methods.model_calls import ModelCalls
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


def test_the_draw_and_the_photos_built_in_the_compiled_call_are_the_packages_own(photo, superpixels):
    # lime's own loop builds each perturbed photo and hands it to the classifier. Here the
    # same draw goes to the model calls as switches, and a model whose logits are its input
    # pixels shows the photos built inside the compiled call.
    fudged = np.random.default_rng(3).integers(0, 256, photo.shape).astype(np.uint8)
    built_by_package = []

    def recorder(images):
        built_by_package.append(images.copy())
        return np.zeros((len(images), 2))

    package_switches, _ = lime_image.LimeImageExplainer(random_state=7).data_labels(
        photo, fudged, superpixels, recorder, 45, batch_size=10
    )
    pixels = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Flatten()])
    calls = ModelCalls(pixels, batch_size=10)

    def classifier_fn(image, fudged_image, segments, switches):
        shared = (image.astype(np.float32), fudged_image.astype(np.float32), segments)
        return calls.perturbed_logits(switched_superpixels, shared, (switches,))

    switches, built = BatchedLimeImageExplainer(random_state=7).data_labels(
        photo, fudged, superpixels, classifier_fn, 45
    )
    np.testing.assert_array_equal(switches, package_switches)
    np.testing.assert_array_equal(built.reshape(-1, SIZE, SIZE, 3), np.concatenate(built_by_package))
    np.testing.assert_array_equal(built[0].reshape(photo.shape), photo)  # the first sample is the photo itself
    assert (calls.counts["forward"].images, calls.counts["forward"].calls) == (45, 5)


def test_same_seed_same_map_bit_for_bit_and_another_seed_another_map(photo):
    toy = conv_bundle(size=SIZE, classes=10)

    def run(seed):
        return attribute("lime", toy, photo, samples=64, segments=SEGMENTS, seed=seed).map

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"samples": 0}, "samples must be a whole number from 1 to 20000, not 0"),
        ({"samples": -5}, "samples must be a whole number from 1 to 20000, not -5"),
        ({"samples": 10.5}, "samples must be a whole number from 1 to 20000, not 10.5"),
        ({"segments": 0}, "segments must be a whole number from 1 to 1000, not 0"),
        ({"seed": -1}, "seed must be a whole number from 0 to 4294967295 \\(the random generator's seed\\), not -1"),
        ({"seed": 1.5}, "seed must be a whole number from 0 to 4294967295 \\(the random generator's seed\\), not 1.5"),
    ],
)
def test_bad_parameters_are_refused_with_a_helpful_message(photo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attribute("lime", conv_bundle(size=SIZE, classes=10), photo, **kwargs)
