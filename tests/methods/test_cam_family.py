"""Grad-CAM++ and Score-CAM against the papers' equations, computed here independently.

The toy is a strided conv net (16x16 photo, 4x4x8 Grad-CAM layer), so both
methods must upsample, as on EfficientNet. The reference computations use a
plain GradientTape, the Keras model itself (not the counted ModelCalls),
float64 numpy and scipy's map_coordinates for the bilinear upsampling.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import saliency.core as saliency
import tensorflow as tf
from scipy.ndimage import map_coordinates
from skimage.transform import resize
from toy_models import conv_bundle, random_image

from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.grad_cam import layer_map_to_image, upsample
from history_of_interpretation.methods.model_calls import ModelCalls

SIZE, FILTERS, STRIDES = 16, 8, 4


@pytest.fixture(scope="module")
def toy():
    return conv_bundle(size=SIZE, classes=1000, filters=FILTERS, seed=3, strides=STRIDES)


@pytest.fixture(scope="module")
def toy_image():
    return random_image(SIZE, seed=2)


def layer_values_and_logit_gradients(bundle, image, target):
    """The Grad-CAM layer's values A (h, w, K) and d logit[target] / dA, float64."""
    split = keras.Model(bundle.model.inputs, [bundle.model.get_layer(bundle.gradcam_layer).output, bundle.model.output])
    with tf.GradientTape() as tape:
        values, logits = split(tf.constant(bundle.preprocess(image)[None]), training=False)
        score = logits[0, target]
    return values[0].numpy().astype(np.float64), tape.gradient(score, values)[0].numpy().astype(np.float64)


def bilinear(values, size):
    """Pixel-centred bilinear upsampling of an hxw map to size x size, mirrored at the edges (PAIR's)."""
    centres = (np.arange(size) + 0.5) * values.shape[0] / size - 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    return map_coordinates(values, [rows, cols], order=1, mode="mirror")


def finish(cam, size):
    cam = np.maximum(cam, 0)
    return bilinear(cam / cam.max(), size)


def test_the_toy_layer_is_coarser_than_the_photo(toy, toy_image):
    values, gradients = layer_values_and_logit_gradients(toy, toy_image, 0)
    assert values.shape == (SIZE // STRIDES, SIZE // STRIDES, FILTERS) and np.abs(gradients).max() > 0


def test_upsample_is_skimages_bilinear_resize_channel_by_channel():
    stack = np.random.default_rng(0).random((3, 7, 5)).astype(np.float32)
    upsampled = upsample(stack, (224, 160))
    assert upsampled.shape == (3, 224, 160) and upsampled.dtype == np.float32
    for channel, layer_map in zip(upsampled, stack):
        np.testing.assert_allclose(channel, resize(layer_map, (224, 160)), atol=1e-6)
    np.testing.assert_allclose(
        upsample(stack[0].astype(np.float64), (224, 160)), resize(stack[0], (224, 160)), atol=1e-12
    )


def test_cams_finish_their_maps_as_pairs_grad_cam_does(toy, toy_image):
    calls = ModelCalls(toy.model, toy.gradcam_layer)
    x, args = toy.preprocess(toy_image), {"target": 5}
    coarse = saliency.GradCam().GetMask(x, calls.call_model_function, args, should_resize=False, three_dims=False)
    resized = saliency.GradCam().GetMask(x, calls.call_model_function, args, should_resize=True, three_dims=False)
    np.testing.assert_allclose(layer_map_to_image(coarse, (SIZE, SIZE)), resized, atol=1e-6)


@pytest.mark.parametrize("target", [0, 7, 967])
def test_grad_cam_plus_plus_follows_the_papers_equations(toy, toy_image, target):
    values, gradients = layer_values_and_logit_gradients(toy, toy_image, target)
    logit = float(toy.model(toy.preprocess(toy_image)[None])[0, target])
    # Y = exp(logit); the toy's logit is linear in A, so dY/dA = Y g, d2Y/dA2 = Y g^2, d3Y/dA3 = Y g^3 (eq. 17-18).
    first, second, third = (np.exp(logit) * gradients**power for power in (1, 2, 3))
    denominator = 2 * second + values.sum(axis=(0, 1), keepdims=True) * third
    alpha = np.where(denominator != 0, second / np.where(denominator != 0, denominator, 1), 0)
    weights = (alpha * np.maximum(first, 0)).sum(axis=(0, 1))  # eq. 19 with relu(dY/dA)
    expected = finish((values * weights).sum(axis=2), SIZE)

    result = attribute("grad_cam_plus_plus", toy, toy_image, target=target)
    assert result.pass_counts == {"layer_gradient": 1}
    assert 0 < expected.max() and np.abs(expected - np.maximum(expected, 0)).max() == 0
    np.testing.assert_allclose(result.map, expected, atol=2e-6)


def score_cam_reference(bundle, image, target, channels):
    """The paper's Score-CAM over `channels`: masks, increase of probability over x * 0, weighted sum."""
    values, _ = layer_values_and_logit_gradients(bundle, image, target)
    x = bundle.preprocess(image).astype(np.float64)
    weights = []
    baseline = float(keras.ops.softmax(bundle.model(np.zeros((1, SIZE, SIZE, 3), np.float32)))[0, target])
    for k in channels:
        upsampled = bilinear(values[..., k], SIZE)
        spread = upsampled.max() - upsampled.min()
        mask = (upsampled - upsampled.min()) / spread if spread > 0 else np.zeros_like(upsampled)
        masked = (x * mask[..., None])[None].astype(np.float32)
        weights.append(float(keras.ops.softmax(bundle.model(masked))[0, target]) - baseline)
    return finish((values[..., channels] * np.array(weights)).sum(axis=2), SIZE), np.array(weights)


@pytest.mark.parametrize("target, top_k", [(746, None), (7, None), (746, 3)])  # 746: the toy's top class
def test_score_cam_follows_the_papers_equations(toy, toy_image, target, top_k):
    values, _ = layer_values_and_logit_gradients(toy, toy_image, target)
    by_mean = np.argsort(-values.mean(axis=(0, 1)))
    channels = by_mean[:top_k] if top_k else np.arange(FILTERS)
    expected, weights = score_cam_reference(toy, toy_image, target, list(channels))

    result = attribute("score_cam", toy, toy_image, target=target, batch_size=3, top_k=top_k)
    assert sorted(result.extras["channels"]) == sorted(channels)
    assert result.pass_counts == {"forward": len(channels) + 1, "layer_gradient": 1}
    order = np.argsort(result.extras["channels"])
    # The reference calls the model one image at a time, the method in batches of 3: their float32 sums differ in
    # the last places (2.2e-7 on probabilities near 0.45 with oneDNN off), far below the weights themselves.
    np.testing.assert_allclose(result.extras["weights"][order], weights[np.argsort(channels)], atol=1e-6)
    assert np.ptp(weights) > 0 and expected.max() > 0  # the channels score differently; the map is not empty
    np.testing.assert_allclose(result.map, expected, atol=2e-6)


def test_score_cam_does_not_depend_on_the_batch_size(toy, toy_image):
    one = attribute("score_cam", toy, toy_image, batch_size=1)
    many = attribute("score_cam", toy, toy_image, batch_size=32)
    np.testing.assert_allclose(one.map, many.map, atol=1e-6)


@pytest.mark.parametrize(
    "top_k, message",
    [
        (0, "top_k must be None or a whole number from 1 to 4096, not 0"),
        (2.5, "top_k must be None or a whole number from 1 to 4096, not 2.5"),
        ("3", "top_k must be a finite number, not '3'"),
        (
            FILTERS + 1,
            f"top_k must be at most {FILTERS}, the number of channels of layer 'conv_act', not {FILTERS + 1}; "
            "use None for all channels",
        ),
    ],
)
def test_score_cam_refuses_a_bad_top_k(toy, toy_image, top_k, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        attribute("score_cam", toy, toy_image, top_k=top_k)
