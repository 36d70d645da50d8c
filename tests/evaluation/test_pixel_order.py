"""What the removal metrics share (the pixel order, checked maps, batched calls), and random maps."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from skimage.filters import gaussian
from skimage.transform import resize
from toy_models import random_image, region_bundle

from history_of_interpretation.evaluation.baselines import random_map, random_per_own_segment
from history_of_interpretation.evaluation.pixel_order import (
    TIE_SPAN,
    batched_probabilities,
    checked_maps,
    pixel_levels,
    pixel_order,
    pixel_ranks,
)
from history_of_interpretation.evaluation.units import importance
from history_of_interpretation.methods import Context

SIZE = 224
NOISE = 1e-6  # relative: the size of the float noise another CPU brings (issue 17)


def realistic_maps() -> dict[str, np.ndarray]:
    """Maps shaped like the course's: smooth (RISE), noisy gradient, 3x3 grid (leave-one-out), Grad-CAM-like."""
    rng = np.random.default_rng(0)
    grid = resize(rng.random((3, 3)), (SIZE, SIZE), order=0)
    return {
        "smooth": gaussian(rng.random((SIZE, SIZE)), 12),
        "noisy_gradient": np.abs(rng.normal(size=(SIZE, SIZE))) * gaussian(rng.random((SIZE, SIZE)), 20),
        "grid_3x3": grid,
        "grid_with_zero_plateau": np.maximum(grid - 0.5, 0.0),
        "relu_bilinear_7x7": np.maximum(resize(rng.normal(size=(7, 7)), (SIZE, SIZE), order=1), 0.0),
    }


def noisy(values: np.ndarray, seed: int) -> np.ndarray:
    return values * (1 + NOISE * np.random.default_rng(seed).standard_normal(values.shape))


@pytest.mark.parametrize("name", ["grid_3x3", "grid_with_zero_plateau"])
def test_float_noise_cannot_reorder_a_map_whose_near_ties_are_ties(name):
    values = realistic_maps()[name]
    order = pixel_order(values, seed=3)
    for noise_seed in range(3):
        assert np.array_equal(pixel_order(noisy(values, noise_seed), seed=3), order)


@pytest.mark.parametrize("name", ["smooth", "noisy_gradient", "relu_bilinear_7x7"])
def test_on_a_continuous_map_noise_only_swaps_pixels_of_near_equal_value(name):
    # A continuous map's order cannot be noise-proof: 1e-6 noise swaps values closer than 1e-6. What the order
    # guarantees: a pixel moves only among pixels within TIE_SPAN (+ the noise) of its value, and almost no
    # pixel leaves its 224-pixel step of Petsiuk's curves.
    values = realistic_maps()[name]
    ranks = pixel_ranks(values).ravel()
    moved = pixel_ranks(noisy(values, 0)).ravel()
    margin = (TIE_SPAN + 1e-5) * np.abs(values).max()
    ordered = np.sort(values.ravel())
    above = ordered.size - np.searchsorted(ordered, values.ravel() + margin, side="right")
    at_least = ordered.size - np.searchsorted(ordered, values.ravel() - margin, side="left")
    assert np.all((moved >= above) & (moved < at_least))
    assert np.mean(moved // 224 != ranks // 224) < 0.01


def test_ties_are_broken_by_a_seeded_permutation_not_row_by_row():
    flat = np.zeros((8, 8))
    first, again, other = pixel_order(flat, 0), pixel_order(flat, 0), pixel_order(flat, 1)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(64))
    ordered = np.arange(64.0).reshape(8, 8)
    assert pixel_order(ordered)[0] == 63 and pixel_order(ordered)[-1] == 0
    assert np.array_equal(pixel_ranks(ordered).ravel(), 63 - np.arange(64))


def test_levels_tie_near_equal_values_and_keep_distinct_ones_apart():
    values = np.array([[1.0, 1.0 + 1e-9, 2.0, 3.0], [0.0, 0.0, -1.0, 3.0 - 1e-9]])
    levels = pixel_levels(values)
    assert levels[0, 0] == levels[0, 1] and levels[1, 0] == levels[1, 1] and levels[0, 3] == levels[1, 3]
    assert levels[1, 2] < levels[1, 0] < levels[0, 0] < levels[0, 2] < levels[0, 3]
    assert np.all(pixel_levels(np.zeros((3, 3))) == 0)
    # A dense run wider than TIE_SPAN is not one tie: each value keeps its place.
    dense = np.linspace(0.0, 1.0, 10**6)[None, :]
    assert len(np.unique(pixel_levels(dense))) == dense.size


def test_maps_are_checked_with_a_clear_message():
    with pytest.raises(ValueError, match=r"'a' has shape \(3, 4\); the photo needs one value per pixel, \(4, 4\)"):
        checked_maps({"a": np.zeros((3, 4))}, (4, 4))
    with pytest.raises(ValueError, match="'b' has 1 NaN or inf"):
        checked_maps({"b": np.array([[0.0, np.nan], [1.0, 2.0]])}, (2, 2))
    with pytest.raises(ValueError, match="no importance maps given"):
        checked_maps({}, (2, 2))
    assert checked_maps({"c": np.ones((2, 2), np.float32)}, (2, 2))["c"].dtype == np.float64


def test_batched_probabilities_fill_full_batches_and_are_counted():
    bundle = region_bundle(8)
    context = Context(bundle, random_image(8), 0, 4)
    before = context.passes()
    images = [np.full((8, 8, 3), level, np.float32) for level in np.linspace(0, 1, 10)]
    probabilities = batched_probabilities(context, (lambda image=image: image for image in images), len(images))
    assert context.passes() - before == 10
    assert context.counts()["forward"].calls == 3  # 4 + 4 + 2
    expected = context.calls.probabilities(np.stack(images), 0)
    assert np.allclose(probabilities, expected, atol=1e-7)


def test_importance_reads_grayscale_maps_as_magnitude_and_others_signed():
    rgb = np.array([[[1.0, -2.0, 0.0]]])
    assert importance(rgb, "grayscale")[0, 0] == 3.0
    assert importance(rgb, "diverging")[0, 0] == -1.0


def test_random_maps_at_each_resolution():
    rng = np.random.default_rng(0)
    assert len(np.unique(random_map((16, 16), rng))) == 16 * 16
    assert random_map((4, 4), rng, grid=(2, 2)).shape == (4, 4)
    segments = np.repeat(np.arange(4), 4).reshape(4, 4)
    assert len(np.unique(random_map((4, 4), rng, segments=segments))) == 4


def test_a_segment_method_whose_segments_are_not_a_label_map_is_refused():
    subject = SimpleNamespace(
        image=np.zeros((4, 4, 3), np.uint8),
        unit=SimpleNamespace(method="xrai"),
        result=SimpleNamespace(extras={"segments": 12}),
    )
    with pytest.raises(ValueError, match=r"xrai's extras\['segments'\] must be an integer label map of shape \(4, 4\)"):
        random_per_own_segment(subject, np.random.default_rng(0))
