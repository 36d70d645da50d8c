"""attribute() and the methods behind it: known answers on toy models, checks on the real one."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import saliency.core as saliency
import tensorflow as tf
from skimage.transform import resize
from threadpoolctl import threadpool_info
from toy_models import conv_bundle, input_gradient, polynomial_bundle, random_image, region_bundle

from history_of_interpretation import load_image, side_by_side
from history_of_interpretation.evaluation.map_statistics import positive_mass_fraction
from history_of_interpretation.methods import METHODS, SPECS, attribute, default_params
from history_of_interpretation.methods.integrated_gradients import PATH_RULES, path_weights
from history_of_interpretation.methods.model_calls import ModelCalls

SIZE = 16


@pytest.fixture(scope="module")
def toy():
    """A 16x16 conv net with 1000 ImageNet-named classes (so targets by name work)."""
    return conv_bundle(size=SIZE, classes=1000)


@pytest.fixture(scope="module")
def toy_image():
    return random_image(SIZE, seed=1)


# --- results and passes -------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_a_float32_map_at_input_size(toy, toy_image, method):
    params = dict(SPECS[method].quick)
    result = attribute(method, toy, toy_image, **params)
    assert result.map.shape == ((SIZE, SIZE, 3) if SPECS[method].rgb else (SIZE, SIZE))
    assert result.map.dtype == np.float32
    assert np.isfinite(result.map).all()
    assert result.method == method
    assert result.params == {**default_params(method), **params}
    assert result.passes >= 1 and result.seconds >= 0
    assert ("completeness_error" in result.extras) == SPECS[method].completeness
    if "segments" in result.extras:  # a segment method's regions, as a label map (the evaluation reads it)
        segments = np.asarray(result.extras["segments"])
        assert segments.shape == (SIZE, SIZE) and np.issubdtype(segments.dtype, np.integer)
    if not SPECS[method].signed:
        assert result.map.min() >= 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch_size", [2, 32])
def test_every_method_spends_the_passes_it_declares(toy, toy_image, method, batch_size):
    result = attribute(method, toy, toy_image, batch_size=batch_size, **SPECS[method].quick)
    assert result.pass_counts == SPECS[method].passes(result.params, result.extras)
    assert result.passes == sum(result.pass_counts.values())


def test_target_defaults_to_the_top_class(toy, toy_image):
    probabilities = toy.probabilities(toy_image)[0]
    result = attribute("vanilla_gradient", toy, toy_image)
    assert result.target == int(np.argmax(probabilities))
    assert result.label == toy.labels[result.target]
    np.testing.assert_allclose(result.probability, probabilities.max(), rtol=1e-5)


def test_target_by_name_and_by_index(toy, toy_image):
    by_name = attribute("vanilla_gradient", toy, toy_image, target="espresso")
    assert by_name.target == 967 and by_name.label == "espresso"
    by_index = attribute("vanilla_gradient", toy, toy_image, target=967)
    np.testing.assert_array_equal(by_name.map, by_index.map)
    np.testing.assert_allclose(by_name.probability, toy.probabilities(toy_image)[0, 967], rtol=1e-5)


def test_vanilla_gradient_is_the_input_gradient_in_one_pass(toy, toy_image):
    result = attribute("vanilla_gradient", toy, toy_image, target=3)
    assert result.passes == 1
    expected = input_gradient(toy.model, toy.preprocess(toy_image)[None], 3)[0]
    np.testing.assert_allclose(result.map, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    "method, params, passes",
    [
        ("vanilla_gradient", {}, 1),
        ("guided_backprop", {}, 1),
        ("grad_cam", {}, 1),
        ("smoothgrad", {"samples": 5}, 5),
        ("smoothgrad", {"samples": 5, "base": "guided_backprop"}, 5),
        ("integrated_gradients", {"steps": 5}, 5 + 1),
        ("integrated_gradients", {"steps": 5, "rule": "trapezoid"}, 5 + 1),
        ("integrated_gradients", {"steps": 5, "rule": "pair"}, 5 + 1),
        ("blur_ig", {"steps": 5}, 5 + 1),
        ("loo_grid", {"grid": 3}, 9),
    ],
)
def test_passes_count_images_through_the_network(toy, toy_image, method, params, passes):
    # batch_size 2 splits every call into several batches: passes count images, not calls.
    assert attribute(method, toy, toy_image, batch_size=2, **params).passes == passes


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "method, kwargs, message",
    [
        ("saliency", {}, "unknown method 'saliency'; choose one of loo_grid"),
        ("vanilla_gradient", {"target": 1000}, "class index 1000 is outside 0..999"),
        ("vanilla_gradient", {"target": -1}, "class index -1 is outside 0..999"),
        ("vanilla_gradient", {"target": "kitty"}, "unknown ImageNet class name 'kitty'"),
        ("integrated_gradients", {"steps": 0}, "steps must be a whole number from 1 to 4096, not 0"),
        ("integrated_gradients", {"steps": 2.5}, "steps must be a whole number"),
        ("smoothgrad", {"samples": 0}, "samples must be a whole number from 1 to 2000"),
        ("loo_grid", {"grid": 0}, "grid must be a whole number from 1 to 64"),
        ("smoothgrad", {"noise": -0.1}, "noise must be a number from 0 to 10, not -0.1"),
        ("vanilla_gradient", {"batch_size": 0}, "batch_size must be a whole number from 1 to 4096"),
        ("integrated_gradients", {"stepz": 8}, "integrated_gradients has no parameter stepz; its parameters: steps"),
        (
            "smoothgrad",
            {"base": "grad_cam"},
            "base must be one of 'vanilla_gradient', 'guided_backprop', not 'grad_cam'",
        ),
        ("smoothgrad", {"magnitude": 1}, "magnitude must be True or False, not 1"),
        (
            "smoothgrad",
            {"seed": -1},
            "seed must be a whole number from 0 to 4294967295 (the random generator's seed), not -1",
        ),
        ("integrated_gradients", {"rule": "simpson"}, "rule must be one of 'dense_start', 'midpoint'"),
        ("integrated_gradients", {"baseline": "purple"}, "unknown baseline 'purple'"),
        ("integrated_gradients", {"steps": "8"}, "steps must be a finite number, not '8'"),
        ("smoothgrad", {"noise": float("nan")}, "noise must be a finite number"),
        ("loo_grid", {"fill": "white"}, "fill must be a finite number, not 'white'"),
        ("loo_grid", {"fill": 300}, "fill must be a number from 0 to 255, not 300"),
    ],
)
def test_bad_parameters_are_refused_with_a_helpful_message(toy, toy_image, method, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        attribute(method, toy, toy_image, **kwargs)


def test_image_of_the_wrong_shape_is_refused(toy):
    with pytest.raises(
        ValueError,
        match=r"shape \(100, 100, 3\); this model takes \(16, 16, 3\) RGB images.*"
        r"load_image\(source, size=16\)",
    ):
        attribute("vanilla_gradient", toy, np.zeros((100, 100, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(16, 16\)"):
        attribute("vanilla_gradient", toy, np.zeros((16, 16), dtype=np.uint8))


def test_image_of_the_wrong_dtype_is_refused(toy, toy_image):
    with pytest.raises(ValueError, match="dtype float64; expected uint8 RGB values 0..255"):
        attribute("vanilla_gradient", toy, toy_image.astype(np.float64))


def test_baseline_image_of_the_wrong_shape_is_refused(toy, toy_image):
    with pytest.raises(ValueError, match="baseline image has shape"):
        attribute("integrated_gradients", toy, toy_image, baseline=np.zeros((8, 8, 3), np.uint8))


# --- SmoothGrad ----------------------------------------------------------------


def test_smoothgrad_is_reproducible_and_independent_of_the_batch_size(toy, toy_image):
    def run(**kwargs):
        return attribute("smoothgrad", toy, toy_image, target=5, samples=10, **kwargs).map

    first, again = run(seed=7), run(seed=7)
    assert np.array_equal(first, again)
    assert not np.allclose(first, run(seed=8), rtol=1e-3, atol=0)
    small_batches, one_batch = run(seed=7, batch_size=4), run(seed=7, batch_size=32)
    np.testing.assert_allclose(small_batches, one_batch, rtol=1e-5, atol=1e-6 * np.abs(one_batch).max())
    # Noise matters: the average differs from the plain gradient.
    assert not np.allclose(first, attribute("vanilla_gradient", toy, toy_image, target=5).map, rtol=1e-3, atol=0)


def test_smoothgrad_without_noise_is_the_gradient(toy, toy_image):
    plain = attribute("vanilla_gradient", toy, toy_image, target=5).map
    smoothed = attribute("smoothgrad", toy, toy_image, target=5, samples=3, noise=0.0)
    np.testing.assert_allclose(smoothed.map, plain, rtol=1e-5, atol=1e-7)
    squared = attribute("smoothgrad", toy, toy_image, target=5, samples=3, noise=0.0, magnitude=True)
    np.testing.assert_allclose(squared.map, plain**2, rtol=1e-4, atol=1e-9)


# --- leave-one-out -------------------------------------------------------------

LOO_SIZE = 32


@pytest.fixture(scope="module")
def region_toy():
    """logit 0 = 2 * mean of the top-left 16x16 quadrant: no other pixel matters."""
    return region_bundle(size=LOO_SIZE, k=2.0)


@pytest.fixture(scope="module")
def quadrant_image():
    """Four flat-coloured quadrants with a little texture; top-left is bright (far from the gray fill)."""
    rng = np.random.default_rng(4)
    image = np.zeros((LOO_SIZE, LOO_SIZE, 3), dtype=np.float64)
    half = LOO_SIZE // 2
    image[:half, :half] = (240, 230, 200)
    image[:half, half:] = (30, 120, 40)
    image[half:, :half] = (40, 40, 160)
    image[half:, half:] = (150, 60, 20)
    image += rng.normal(0, 4, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _top_left(size: int = LOO_SIZE) -> np.ndarray:
    region = np.zeros((size, size), dtype=bool)
    region[: size // 2, : size // 2] = True
    return region


def test_loo_grid_scores_only_the_cell_the_model_looks_at(region_toy, quadrant_image):
    result = attribute("loo_grid", region_toy, quadrant_image, target=0, grid=2)
    assert result.passes == 4  # the photo's own probability comes from the target pass
    region = _top_left()
    assert np.all(result.map[region] > 0.01)
    assert np.all(result.map[region] == result.map[0, 0])  # one score for the whole cell
    np.testing.assert_array_equal(result.map[~region], 0.0)
    assert len(result.extras["masked_probabilities"]) == 4


def test_loo_superpixels_scores_only_superpixels_the_model_looks_at(region_toy, quadrant_image):
    result = attribute("loo_superpixels", region_toy, quadrant_image, target=0, segments=16)
    segments = result.extras["segments"]
    masks = segments[None] == np.arange(segments.max() + 1)[:, None, None]
    assert masks.any(axis=(1, 2)).all()  # every label 0..K-1 is a superpixel
    assert result.passes == len(masks)
    region = _top_left()
    inside = [mask for mask in masks if (mask & region).any()]
    outside = [mask for mask in masks if not (mask & region).any()]
    assert inside and outside
    for mask in outside:
        np.testing.assert_array_equal(result.map[mask], 0.0)
    for mask in inside:  # the top-left is brighter than the gray fill everywhere: hiding it lowers logit 0
        assert np.all(result.map[mask] > 0)


# --- integrated gradients: known answers --------------------------------------

IG_SIZE = 8


@pytest.fixture(scope="module")
def ig_image():
    return random_image(IG_SIZE, seed=2)


def _gray() -> float:
    return 128.0 / 255.0


# Rules whose weights are an ordinary quadrature in alpha: exact for gradients linear in alpha.
EVEN_RULES = ("midpoint", "trapezoid", "pair")


@pytest.mark.parametrize("rule", PATH_RULES)
@pytest.mark.parametrize("baseline", ["black", "gray"])
def test_integrated_gradients_of_a_linear_model_is_exact(ig_image, rule, baseline):
    """A constant gradient: any rule whose weights sum to 1 gives a * (x - baseline) exactly."""
    a = np.random.default_rng(0).normal(0, 1, (IG_SIZE, IG_SIZE, 3))
    toy = polynomial_bundle(IG_SIZE, {1: a})
    result = attribute("integrated_gradients", toy, ig_image, target=0, steps=5, rule=rule, baseline=baseline)
    start = 0.0 if baseline == "black" else _gray()
    np.testing.assert_allclose(result.map, a * (ig_image / 255.0 - start), rtol=1e-4, atol=1e-6)
    assert result.extras["completeness_error"] < 1e-5
    assert result.passes == 5 + 1  # the path, and the baseline's logit


@pytest.mark.parametrize("rule", EVEN_RULES)
def test_integrated_gradients_of_pairs_quadratic_is_exact(ig_image, rule):
    # PAIR's test function, per pixel: 5 * x0 + x1^2 (channel 2 ignored). The gradient is linear
    # in alpha, so a rule with weights summing to 1 and centred on alpha = 1/2 is exact.
    five_x0 = np.zeros((IG_SIZE, IG_SIZE, 3))
    five_x0[..., 0] = 5
    x1_squared = np.zeros((IG_SIZE, IG_SIZE, 3))
    x1_squared[..., 1] = 1
    toy = polynomial_bundle(IG_SIZE, {1: five_x0, 2: x1_squared})
    baseline = random_image(IG_SIZE, seed=9)
    result = attribute("integrated_gradients", toy, ig_image, target=0, steps=3, rule=rule, baseline=baseline)
    x, b = ig_image / 255.0, baseline / 255.0
    np.testing.assert_allclose(result.map[..., 0], 5 * (x[..., 0] - b[..., 0]), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.map[..., 1], x[..., 1] ** 2 - b[..., 1] ** 2, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(result.map[..., 2], 0.0)
    assert result.extras["completeness_error"] < 1e-5


def _cubic_quadrature(rule: str, n: int, b, d):
    """The rule's estimate of the integral of (b + alpha d)^2 over alpha in [0, 1].

    Exactly, b^2 + b d + d^2 / 3. The even rules keep b^2 + b d and change 1/3 into
    1/3 - 1/(12 n^2) (midpoint), 1/3 + 1/(6 (n-1)^2) (trapezoid) or (2n - 1) / (6 (n - 1))
    (PAIR: n points of linspace(0, 1), weight 1/n each). Other rules (dense_start) are summed
    from their path_weights: the method must follow its own points and weights.
    """
    if rule not in EVEN_RULES:
        points, weights = path_weights(n, rule)
        return sum(w * (b + alpha * d) ** 2 for alpha, w in zip(points, weights))
    q = {
        "midpoint": 1 / 3 - 1 / (12 * n**2),
        "trapezoid": 1 / 3 + 1 / (6 * (n - 1) ** 2),
        "pair": (2 * n - 1) / (6 * (n - 1)),
    }[rule]
    return b**2 + b * d + d**2 * q


@pytest.mark.parametrize("rule", PATH_RULES)
def test_integrated_gradients_of_a_cubic_follows_its_rule(ig_image, rule):
    """f = sum(c x^3): IG = 3 c d * (the rule's estimate of the integral of (b + alpha d)^2)."""
    n = 4
    c = np.random.default_rng(1).normal(0, 1, (IG_SIZE, IG_SIZE, 3))
    toy = polynomial_bundle(IG_SIZE, {3: c})
    result = attribute("integrated_gradients", toy, ig_image, target=0, steps=n, rule=rule, baseline="gray")
    x = ig_image / 255.0
    b, d = _gray(), x - _gray()
    np.testing.assert_allclose(result.map, 3 * c * d * _cubic_quadrature(rule, n, b, d), rtol=1e-4, atol=1e-6)
    exact = c * (x**3 - b**3)
    assert not np.allclose(result.map, exact, rtol=1e-4, atol=1e-6)  # a cubic shows the rule's error
    assert result.extras["completeness_error"] > 1e-4
    # ... which vanishes as the steps grow.
    fine = attribute("integrated_gradients", toy, ig_image, target=0, steps=200, rule=rule, baseline="gray")
    np.testing.assert_allclose(fine.map, exact, rtol=1e-2, atol=1e-3)


def test_path_weights():
    for steps in (1, 2, 7, 32):
        for rule in EVEN_RULES:
            points, weights = path_weights(steps, rule)
            assert len(points) == len(weights) == steps
            assert np.all((points >= 0) & (points <= 1))
            np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-12, err_msg=f"{rule}, {steps} steps")
        np.testing.assert_allclose(path_weights(steps, "midpoint")[0], (np.arange(steps) + 0.5) / steps)
    points, weights = path_weights(5, "trapezoid")
    np.testing.assert_allclose(points, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(weights, [0.125, 0.25, 0.25, 0.25, 0.125])
    with pytest.raises(ValueError, match="unknown path rule 'simpson'; choose one of"):
        path_weights(4, "simpson")


def test_dense_start_points_crowd_near_the_baseline():
    points, weights = path_weights(16, "dense_start")
    assert np.all(np.diff(points) > 0) and 0 < points[0] and points[-1] < 1
    assert np.sum(points < 0.1) > 16 * 0.1 * 3  # several times more points near alpha = 0 than even spacing
    assert np.all(weights > 0)


def test_methods_run_with_blas_on_one_thread_and_the_setting_is_restored(toy, toy_image, monkeypatch):
    # numpy's BLAS threads, left spinning after a product, would take the cores TensorFlow's next call needs.
    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    seen = []

    def probe(context):
        seen.extend(blas_threads())
        return np.zeros((SIZE, SIZE), np.float32), {}

    before = blas_threads()
    monkeypatch.setitem(SPECS, "grad_cam", dataclasses.replace(SPECS["grad_cam"], function=probe))
    attribute("grad_cam", toy, toy_image)
    assert seen and set(seen) == {1}
    assert blas_threads() == before


# --- the real model -------------------------------------------------------------


def test_grad_cam_agrees_with_an_independent_computation(lite0):
    image = load_image("chelsea", lite0.input_size)
    result = attribute("grad_cam", lite0, image)
    assert result.passes == 1 and result.map.shape == (lite0.input_size, lite0.input_size)

    split = keras.Model(lite0.model.inputs, [lite0.model.get_layer(lite0.gradcam_layer).output, lite0.model.output])
    x = tf.constant(lite0.preprocess(image)[None])
    with tf.GradientTape() as tape:
        activations, logits = split(x, training=False)
        score = logits[0, result.target]
    gradients = tape.gradient(score, activations)[0].numpy()
    activations = activations[0].numpy()
    weights = gradients.mean(axis=(0, 1))
    cam = np.maximum(np.einsum("hwc,c->hw", activations, weights), 0)
    cam = resize(cam / cam.max(), (lite0.input_size, lite0.input_size))

    np.testing.assert_allclose(result.map, cam, atol=1e-4)
    assert np.corrcoef(result.map.ravel(), cam.ravel())[0, 1] > 0.999
    assert 0.9 < result.map.max() <= 1.0  # scaled to max 1 before bilinear upsampling
    # and what saliency.core's GradCam returns, to float rounding (the sum over channels in another order)
    calls = ModelCalls(lite0.model, lite0.gradcam_layer)
    pair = saliency.GradCam().GetMask(
        x[0].numpy(), calls.call_model_function, {"target": result.target}, should_resize=True, three_dims=False
    )
    np.testing.assert_allclose(result.map, pair, atol=1e-6)


@pytest.fixture(scope="module")
def composite(lite0):
    return side_by_side("chelsea", "coffee", lite0.input_size)


@pytest.mark.parametrize("subject", ["cat", "espresso"])
def test_grad_cam_finds_each_class_in_its_half_of_the_composite(lite0, composite, subject):
    if subject == "cat":
        cats = np.arange(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
        target, side = int(cats[np.argmax(lite0.probabilities(composite.image)[0, cats])]), "left"
    else:
        target, side = 967, "right"
    result = attribute("grad_cam", lite0, composite.image, target=target)
    fraction = positive_mass_fraction(result.map, composite.half_mask(side))
    print(
        f"\ncomposite chelsea|coffee, Grad-CAM for {result.label} ({target}, p={result.probability:.3f}): "
        f"{fraction:.1%} of the positive mass in the {side} half"
    )
    assert fraction > 0.70


def _ig_default(bundle, photo):
    return attribute("integrated_gradients", bundle, load_image(photo, bundle.input_size))


def test_integrated_gradients_reports_its_completeness_consistently(lite0):
    image = load_image("chelsea", lite0.input_size)
    result = attribute("integrated_gradients", lite0, image, steps=8)
    extras = result.extras
    logits = lite0.logits(np.stack([image, np.zeros_like(image)]))[:, result.target]
    np.testing.assert_allclose(extras["logit_difference"], logits[0] - logits[1], rtol=1e-4, atol=1e-4)
    total = float(result.map.sum(dtype=np.float64))
    np.testing.assert_allclose(extras["attribution_sum"], total, rtol=1e-4, atol=1e-4)
    expected_error = abs(total - extras["logit_difference"]) / abs(extras["logit_difference"])
    np.testing.assert_allclose(extras["completeness_error"], expected_error, rtol=1e-3, atol=1e-6)
    assert result.passes == 8 + 1


@pytest.mark.parametrize("photo", ["chelsea", "coffee"])
def test_integrated_gradients_is_complete_at_the_default_steps(lite0, photo):
    """The chapter's claim: at its default settings the attributions add up to within 2%."""
    result = _ig_default(lite0, photo)
    extras = result.extras
    print(
        f"\nIG {photo} ({result.label}), defaults {result.params}: sum {extras['attribution_sum']:.4f}, "
        f"logit difference {extras['logit_difference']:.4f}, completeness error {extras['completeness_error']:.2%}"
    )
    assert extras["completeness_error"] < 0.02


def test_model_calls_count_images_and_compiled_calls_per_kind(toy, toy_image):
    calls = ModelCalls(toy.model, toy.gradcam_layer, batch_size=2, kind_prefix="toy_")
    images = np.repeat(toy.preprocess(toy_image)[None], 5, axis=0)
    calls.logits(images)
    calls.input_gradients(images[:3], 0)
    calls.layer_gradients(images[:1], 0)
    counted = {kind: (count.images, count.calls) for kind, count in calls.counts.items()}
    assert counted == {"toy_forward": (5, 3), "toy_gradient": (3, 2), "toy_layer_gradient": (1, 1)}
    assert calls.passes == 9


def test_explanations_from_several_threads_on_one_model_count_their_own_passes(toy, toy_image):
    # Each thread explains the same model at once, with its own number of passes; no lock anywhere.
    from concurrent.futures import ThreadPoolExecutor

    requests = [("smoothgrad", {"samples": n}) for n in (3, 5, 7, 9)] + [("vanilla_gradient", {})] * 4
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        results = list(pool.map(lambda request: attribute(request[0], toy, toy_image, **request[1]), requests))
    assert [result.passes for result in results] == [3, 5, 7, 9, 1, 1, 1, 1]
    assert [result.counts["gradient"].images for result in results] == [3, 5, 7, 9, 1, 1, 1, 1]


def test_a_context_counts_neither_its_photo_pass_nor_other_contexts(toy, toy_image):
    from history_of_interpretation.methods import Context

    first, second = (Context(toy, toy_image, None, batch_size=4) for _ in range(2))
    assert first.passes() == 0  # the photo's own pass, made on creation, is not the method's
    first.calls.logits(np.repeat(first.x[None], 6, axis=0))
    second.calls.input_gradients(second.x[None], 0)
    assert first.pass_counts() == {"forward": 6} and first.counts()["forward"].calls == 2
    assert second.pass_counts() == {"gradient": 1}


def scaled_copies(image, factors):
    """TensorFlow ops: the image times the first factor of each row (the other columns are ignored)."""
    return image[None] * factors[:, :1, None, None]


def test_perturbed_logits_are_the_logits_of_the_images_built_in_the_call(toy, toy_image):
    calls = ModelCalls(toy.model, batch_size=2)
    x = toy.preprocess(toy_image)
    factors = np.array([0.0, 0.5, 1.0, 2.0, -1.0], np.float32)
    expected = calls.logits(factors[:, None, None, None] * x[None])
    # Rows of one width, then of another (LIME's superpixel count varies from photo to photo).
    for width in (1, 3):
        rows = np.repeat(factors[:, None], width, axis=1)
        np.testing.assert_allclose(calls.perturbed_logits(scaled_copies, (x,), (rows,)), expected, rtol=1e-5, atol=1e-5)
    assert (calls.counts["forward"].images, calls.counts["forward"].calls) == (15, 9)


# PAIR's occlusion asks for output values, which ModelCalls' PAIR contract does not serve
# (the benchmark's eager one does).
GRADIENT_PAIR_METHODS = [name for name in METHODS if SPECS[name].pair is not None and name != "loo_grid"]


@pytest.mark.parametrize("method", GRADIENT_PAIR_METHODS)
def test_pairs_equivalent_makes_the_calls_it_declares(toy, toy_image, method):
    from history_of_interpretation.methods import Context

    spec = SPECS[method]
    settings = spec.checked(spec.quick)
    context = Context(toy, toy_image, 3, batch_size=32)
    calls_made = []

    def counting(images, call_model_args=None, expected_keys=None):
        calls_made.append(len(images))
        assert set(expected_keys) <= set(spec.pair.keys)
        return context.calls.call_model_function(images, call_model_args, expected_keys)

    pair_map = spec.pair.run(context, counting, settings)
    assert len(calls_made) == spec.pair.calls(context, settings)
    assert pair_map.shape[:2] == (SIZE, SIZE)
    if method in ("vanilla_gradient", "grad_cam"):  # one pass: PAIR's map and ours must agree
        ours = attribute(method, toy, toy_image, target=3, **settings).map
        np.testing.assert_allclose(ours, pair_map, rtol=1e-4, atol=1e-6)
