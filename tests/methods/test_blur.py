"""Blur IG's matrix blur against scipy, its sigma derivative, and Blur IG's completeness."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from toy_models import function_bundle, random_image

from history_of_interpretation import load_image
from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.blur import blur_matrices, gaussian_blur_with_derivative
from history_of_interpretation.methods.integrated_gradients import path_weights
from history_of_interpretation.methods.model_calls import ModelCalls

SIGMAS = [0.1, 0.5, 1.0, 2.3, 7.0, 30.0]  # 0.1: a kernel of radius 0, i.e. no blur
SHAPES = [(20, 20, 3), (20, 33, 3), (33, 20, 3)]


def _scipy_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(np.asarray(image, dtype=np.float64), [sigma, sigma, 0], mode="constant")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_blur_equals_scipy_gaussian_filter(shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    blurred, derivative = gaussian_blur_with_derivative(image, np.array(SIGMAS))
    assert blurred.shape == derivative.shape == (len(SIGMAS), *shape)
    assert blurred.dtype == np.float32
    for index, sigma in enumerate(SIGMAS):
        # Our kernel is not cut at 4 sigma (so the blur is smooth in sigma); what scipy
        # leaves out weighs under exp(-8) of the kernel's peak.
        np.testing.assert_allclose(blurred[index], _scipy_blur(image, sigma), atol=1e-4, err_msg=f"sigma {sigma}")
    np.testing.assert_array_equal(blurred[0], image)  # sigma 0: untouched


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_blur_derivative_matches_central_difference(shape):
    image = np.random.default_rng(1).random(shape).astype(np.float32)
    sigmas, h = np.array([0.6, 1.0, 2.3, 7.0]), 1e-2  # the blur runs in float32: a larger h
    _, derivative = gaussian_blur_with_derivative(image, sigmas)
    above, _ = gaussian_blur_with_derivative(image, sigmas + h)
    below, _ = gaussian_blur_with_derivative(image, sigmas - h)
    for index, sigma in enumerate(sigmas):
        central = (above[index].astype(np.float64) - below[index]) / (2 * h)
        scale = np.abs(central).max()
        assert scale > 1e-3
        np.testing.assert_allclose(derivative[index], central, atol=1e-3 * scale, err_msg=f"sigma {sigma}")


def test_blur_matrices_rows_are_normalised_kernels_away_from_the_border():
    matrices, derivatives = blur_matrices(40, np.array([1.5, 3.0]))
    # Rows far from the edges hold the whole kernel: they sum to 1, and the derivative to 0.
    np.testing.assert_allclose(matrices[:, 15:25].sum(axis=2), 1.0, atol=1e-6)
    np.testing.assert_allclose(derivatives[:, 15:25].sum(axis=2), 0.0, atol=1e-6)
    np.testing.assert_allclose(matrices, matrices.transpose(0, 2, 1))  # symmetric kernel


def _smooth_bundle(size: int):
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (1, size, size, 3)).astype(np.float32)
    b = rng.normal(0, 1, (1, size, size, 3)).astype(np.float32)

    def logit0(x):  # smooth and not linear in the pixels
        return keras.ops.sum(a * keras.ops.sin(3.0 * x) + b * x * x, axis=(1, 2, 3))

    return function_bundle(size, logit0, classes=2, name="toy_smooth")


@pytest.mark.parametrize("photo", ["chelsea", "noise"])
def test_blur_ig_is_complete_on_a_smooth_model(photo):
    # A pixel-sized image changes most at small sigma, where even steps in sigma are coarse:
    # 32 steps leave 30% error on white noise and ~5% on the 24-pixel photo; 128 steps ~1.6% and less.
    steps = 128
    toy = _smooth_bundle(24)
    image = load_image("chelsea", 24) if photo == "chelsea" else random_image(24, seed=3)
    result = attribute("blur_ig", toy, image, target=0, steps=steps, max_sigma=20.0)
    extras = result.extras
    print(
        f"\nblur IG on the smooth toy, {photo}, {steps} steps: sum {extras['attribution_sum']:.4f}, "
        f"logit difference {extras['logit_difference']:.4f}, error {extras['completeness_error']:.2%}"
    )
    # The logit difference is f(photo) - f(blurred at max_sigma), checked independently here.
    most_blurred = _scipy_blur(toy.preprocess(image), 20.0).astype(np.float32)[None]
    x = toy.preprocess(image)[None]
    expected = toy.model(x).numpy()[0, 0] - toy.model(most_blurred).numpy()[0, 0]
    np.testing.assert_allclose(extras["logit_difference"], expected, rtol=1e-4)
    assert abs(expected) > 1.0
    assert extras["completeness_error"] < 0.05
    np.testing.assert_allclose(result.map.sum(dtype=np.float64), extras["attribution_sum"], rtol=1e-5)
    assert result.passes == steps + 1  # the path, and the most blurred image
    assert result.map.shape == (24, 24, 3) and result.map.dtype == np.float32


def test_blur_igs_compiled_integral_is_the_sum_of_its_steps():
    """The blurs traced into the gradient call give what blurring, then calling the model, then summing gives."""
    toy = _smooth_bundle(24)
    image = random_image(24, seed=4)
    steps, max_sigma = 10, 6.0
    result = attribute("blur_ig", toy, image, target=0, steps=steps, max_sigma=max_sigma, batch_size=3)
    fractions, weights = path_weights(steps, "dense_start")
    blurred, derivative = gaussian_blur_with_derivative(toy.preprocess(image), fractions * max_sigma)
    calls = ModelCalls(toy.model)
    gradients = calls.input_gradients(blurred, 0)[0]
    expected = -np.tensordot(weights * max_sigma, gradients.astype(np.float64) * derivative, axes=1)
    np.testing.assert_allclose(result.map, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    assert result.pass_counts == {"gradient": steps, "forward": 1}
