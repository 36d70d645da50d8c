"""Choices on float values survive 1e-6 relative noise where the values tie (methods/ordering.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from toy_models import conv_bundle, random_image

from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.model_calls import ModelCalls
from history_of_interpretation.methods.ordering import beyond_noise, descending, largest, snap_ties
from history_of_interpretation.methods.xrai import ranked_regions


def noisy(values: np.ndarray, seed: int, relative: float = 1e-6) -> np.ndarray:
    """The values with independent relative noise, as another CPU's summation order gives."""
    return values * (1 + relative * np.random.default_rng(seed).standard_normal(np.shape(values)))


def saturated_channel_means(seed: int = 0) -> np.ndarray:
    """A randomised model's head: channels at ReLU6's cap, dead ones, and the rest in between."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.concatenate([np.full(300, 6.0), np.zeros(800), rng.uniform(0.1, 5.9, 180)]))


def test_real_gaps_keep_their_order_and_ties_go_by_index():
    values = np.array([0.25, 1.0, -np.inf, 0.5, 1.0 + 1e-9, -np.inf])
    assert list(descending(values)) == [1, 4, 3, 0, 2, 5] and largest(values) == 1
    assert list(descending(np.zeros(3))) == [0, 1, 2]
    assert list(descending(np.array([1e-16, 0.0, 2e-16]), scale=1.0)) == [0, 1, 2]  # float residues of 0


@pytest.mark.parametrize("seed", range(5))
def test_score_cams_channel_choice_does_not_move_with_float_noise(seed):
    means = saturated_channel_means()
    for top_k in (32, 300, 400):
        assert set(descending(noisy(means, seed))[:top_k]) == set(descending(means)[:top_k])
    # Without snapping, the same noise reorders the tied channels: the choice would depend on the CPU.
    assert not np.array_equal(np.argsort(-noisy(means, seed), kind="stable")[:32], descending(means)[:32])


def regions_with_ties(size: int = 48) -> tuple[np.ndarray, list[np.ndarray]]:
    """An attribution map with dead (zero) and equally strong regions, and overlapping square segments."""
    attribution = np.zeros((size, size))
    attribution[:16, :16] = 1.0
    attribution[32:, 32:] = 1.0  # the same density as the first block
    attribution[16:32, :] = np.random.default_rng(3).uniform(0.2, 0.4, (16, size))
    segments = []
    for top in range(0, size, 8):
        for left in range(0, size, 8):
            mask = np.zeros((size, size), bool)
            mask[top : top + 16, left : left + 16] = True
            segments.append(mask)
    return attribution, segments


@pytest.mark.parametrize("seed", range(5))
def test_xrai_picks_the_same_regions_when_densities_tie(seed):
    attribution, segments = regions_with_ties()
    expected_map, expected_ranks = ranked_regions(attribution, segments, min_pixel_diff=8)
    noisy_map, noisy_ranks = ranked_regions(noisy(attribution, seed), segments, min_pixel_diff=8)
    np.testing.assert_array_equal(noisy_ranks, expected_ranks)
    np.testing.assert_allclose(noisy_map, expected_map, rtol=1e-5)


def test_score_cam_on_a_model_whose_channels_saturate_is_the_same_under_noise():
    # A toy whose Grad-CAM layer saturates: large weights drive most channels to ReLU's flat parts.
    toy = conv_bundle(size=16, classes=10, filters=8, seed=4)
    image = random_image(16, seed=1)
    first = attribute("score_cam", toy, image, target=2, top_k=3)
    again = attribute("score_cam", toy, image, target=2, top_k=3)
    np.testing.assert_array_equal(first.extras["channels"], again.extras["channels"])


def test_near_ties_snap_to_one_value_and_real_gaps_stay():
    values = np.array([0.5, 1.0, 0.5 + 1e-9, 0.2, 1.0 - 1e-9, np.nan])
    np.testing.assert_array_equal(snap_ties(values), [0.5 + 1e-9, 1.0, 0.5 + 1e-9, 0.2, 1.0, np.nan])
    finite = values[:-1]
    for seed in range(5):  # the ranks a test of difference sees do not move with the noise
        np.testing.assert_array_equal(rankdata(snap_ties(noisy(finite, seed))), rankdata(snap_ties(finite)))
    # Without snapping they would: the near-ties split each seed its own way.
    assert any(not np.array_equal(rankdata(noisy(finite, seed)), rankdata(finite)) for seed in range(5))


def test_differences_within_float_noise_of_their_quantities_count_as_zero():
    # A randomised model's class probability (1e-9) "raised" by float residue, and a trained model's real increase.
    differences, magnitudes = np.array([6e-15, -4e-15, 0.03]), np.array([4.3e-9, 4.3e-9, 0.4])
    np.testing.assert_array_equal(beyond_noise(differences, magnitudes), [0.0, 0.0, 0.03])


def test_score_cam_of_a_model_blind_to_the_photo_is_all_zero_whatever_the_residue(monkeypatch):
    # The randomised model's case: the class's probability is 1e-9 with or without a mask, up to float residue.
    toy = conv_bundle(size=16, classes=10, filters=8, seed=4)
    image = random_image(16, seed=1)
    for seed in range(3):
        draws = np.random.default_rng(seed)

        def residue_only(self, images, target, draws=draws):
            return noisy(np.full(len(images), 1e-9), draws.integers(99))

        monkeypatch.setattr(ModelCalls, "probabilities", residue_only)
        result = attribute("score_cam", toy, image, target=2, top_k=3)
        assert not result.extras["weights"].any() and not result.map.any()
