"""Petsiuk's deletion and insertion: analytic toy curves, an independent float64 computation on a real photo."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.signal import correlate2d
from toy_models import function_bundle, random_image

from history_of_interpretation import load_image
from history_of_interpretation.evaluation.petsiuk import (
    VARIANTS,
    blurred_input,
    causal_auc,
    deletion_insertion,
    step_counts,
)
from history_of_interpretation.evaluation.pixel_order import pixel_order
from history_of_interpretation.evaluation.units import importance
from history_of_interpretation.methods import Context, attribute
from history_of_interpretation.models import softmax

SIZE, EPS = 16, 1e-3


def share_bundle():
    """A model whose class-0 probability is EPS + (1 - 2 EPS) x the top-left quadrant's mean (0..1 input)."""

    def logit0(x):
        share = EPS + (1 - 2 * EPS) * keras.ops.mean(x[:, : SIZE // 2, : SIZE // 2, :], axis=(1, 2, 3))
        return keras.ops.log(share) - keras.ops.log(1 - share)  # softmax([logit0, 0]) = share

    return function_bundle(SIZE, logit0, classes=2, name="toy_share")


@pytest.fixture(scope="module")
def quadrant():
    """A white quadrant (all that counts) on a random background; maps that rank it first, last, at random."""
    image = random_image(SIZE, seed=2)
    image[: SIZE // 2, : SIZE // 2] = 255
    context = Context(share_bundle(), image, 0, 32)
    inside = np.zeros((SIZE, SIZE))
    inside[: SIZE // 2, : SIZE // 2] = 1.0
    maps = {"first": inside, "last": -inside, "random": np.random.default_rng(0).random((SIZE, SIZE))}
    return context, maps


def test_deletion_of_a_quadrant_first_or_last_has_the_area_of_a_triangle(quadrant):
    # The quadrant is 64 of 256 pixels: 4 of 16 steps of 16 pixels. Removed first, the share falls linearly over
    # the first quarter (area 1/8); removed last, over the last quarter (area 3/4 + 1/8). Zero input is black here.
    context, maps = quadrant
    curves = deletion_insertion(context, maps, variants=("deletion", "deletion_black"), step=16)
    for variant in ("deletion", "deletion_black"):
        assert curves["first"][variant].auc == pytest.approx(EPS + (1 - 2 * EPS) / 8, abs=1e-6)
        assert curves["last"][variant].auc == pytest.approx(EPS + (1 - 2 * EPS) * 7 / 8, abs=1e-6)
        assert curves["first"][variant].auc < curves["random"][variant].auc < curves["last"][variant].auc
    first = curves["first"]["deletion"]
    assert np.allclose(first.probabilities[:6], EPS + (1 - 2 * EPS) * np.array([1, 0.75, 0.5, 0.25, 0, 0]), atol=1e-6)
    assert np.allclose(first.fractions, np.linspace(0, 1, 17))
    assert first.auc_normalised == pytest.approx(first.auc / (1 - EPS), rel=1e-6)


def test_insertion_starts_from_the_blur_and_ends_at_the_photo(quadrant):
    context, maps = quadrant
    curve = deletion_insertion(context, {"first": maps["first"]}, variants=("insertion",), step=64)["first"][
        "insertion"
    ]
    photo, blurred = context.calls.probabilities(np.stack([context.x, blurred_input(context.x)]), 0)
    assert curve.probabilities[0] == pytest.approx(blurred, abs=1e-6)
    assert curve.probabilities[-1] == pytest.approx(photo, abs=1e-6)
    assert photo == pytest.approx(1 - EPS, abs=1e-6)
    assert len(curve.probabilities) == 5  # 256 pixels, 64 a step


def test_every_curve_point_is_a_counted_forward_pass_in_full_batches(quadrant):
    context, maps = quadrant
    before = context.counts().get("forward")
    images_before, calls_before = (before.images, before.calls) if before else (0, 0)
    deletion_insertion(context, {"first": maps["first"], "last": maps["last"]}, step=16)  # 2 maps x 2 curves x 17
    after = context.counts()["forward"]
    assert after.images - images_before == 68
    assert after.calls - calls_before == 3  # 32 + 32 + 4


def test_the_area_is_rises_trapezoid_rule():
    assert causal_auc(np.full(9, 0.25)) == pytest.approx(0.25)
    assert causal_auc(np.linspace(1, 0, 11)) == pytest.approx(0.5)
    curve = np.random.default_rng(0).random(7)
    assert causal_auc(curve) == pytest.approx(np.trapezoid(curve, np.linspace(0, 1, 7)))
    assert list(step_counts(10, 4)) == [0, 4, 8, 10]
    assert len(step_counts(224 * 224, 224)) == 225


def test_the_blur_is_rises_zero_padded_convolution_with_gkern_11_5():
    x = np.random.default_rng(0).normal(size=(20, 20, 3)).astype(np.float32)
    impulse = np.zeros((11, 11))
    impulse[5, 5] = 1.0
    kernel = gaussian_filter(impulse, 5)  # their gkern(11, 5)
    expected = np.stack([correlate2d(x[..., c], kernel, mode="same", boundary="fill") for c in range(3)], axis=-1)
    assert np.allclose(blurred_input(x), expected, atol=1e-6)


def test_bad_input_is_refused_with_a_clear_message(quadrant):
    context, maps = quadrant
    with pytest.raises(ValueError, match="unknown variant 'erosion'; choose from " + ", ".join(VARIANTS)):
        deletion_insertion(context, maps, variants=("deletion", "erosion"))
    with pytest.raises(ValueError, match="step must be a whole number of pixels, at least 1, not 0"):
        deletion_insertion(context, maps, step=0)
    with pytest.raises(ValueError, match=r"'small' has shape \(4, 4\)"):
        deletion_insertion(context, {"small": np.zeros((4, 4))})
    bad = np.ones((SIZE, SIZE))
    bad[0, 5] = np.nan
    with pytest.raises(ValueError, match="'bad' has 1 NaN or inf"):
        deletion_insertion(context, {"bad": bad})


def independent_curve(bundle, x, order, start, end, step, target):
    """Petsiuk's curve from the definition: step by step, each image built alone, the model called directly."""
    flat_start, flat_end = start.reshape(-1, 3).astype(np.float64), end.reshape(-1, 3).astype(np.float64)
    steps = int(np.ceil(order.size / step))
    images = []
    for i in range(steps + 1):
        image = flat_start.copy()
        switched = order[: min(i * step, order.size)]
        image[switched] = flat_end[switched]
        images.append(image.reshape(x.shape))
    probabilities = []
    for first in range(0, len(images), 32):
        logits = bundle.model(np.stack(images[first : first + 32]).astype(np.float32), training=False).numpy()
        probabilities.append(softmax(logits.astype(np.float64))[:, target])
    return np.concatenate(probabilities)


def test_on_a_real_photo_the_areas_equal_an_independent_float64_computation(lite0):
    photo = load_image("chelsea", size=lite0.input_size)
    result = attribute("integrated_gradients", lite0, photo, steps=16)
    maps = {"integrated_gradients": importance(result.map, result.display)}
    maps["random"] = np.random.default_rng(0).random(photo.shape[:2])
    context = Context(lite0, photo, None, 32)
    impulse = np.zeros((11, 11))
    impulse[5, 5] = 1.0
    kernel = gaussian_filter(impulse, 5)
    blurred = np.stack([correlate2d(context.x[..., c], kernel, mode="same") for c in range(3)], axis=-1)
    ends = {"deletion": (context.x, np.zeros_like(context.x)), "insertion": (blurred, context.x)}
    # The paper's step (224 pixels, 225 points) for the real map; a coarser one for the random map.
    for name, step in (("integrated_gradients", 224), ("random", 224 * 8)):
        ours = deletion_insertion(context, {name: maps[name]}, step=step, seed=5)[name]
        order = pixel_order(maps[name], seed=5)  # the shared order, tested in test_pixel_order.py
        for variant, (start, end) in ends.items():
            probabilities = independent_curve(lite0, context.x, order, start, end, step, context.target)
            area = np.trapezoid(probabilities, np.linspace(0.0, 1.0, len(probabilities)))
            assert np.allclose(ours[variant].probabilities, probabilities, atol=1e-6)
            assert ours[variant].auc == pytest.approx(area, abs=1e-6)
