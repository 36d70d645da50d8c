"""Where a map's mass lies, and the fingerprints that nbval compares."""

from __future__ import annotations

import numpy as np
import pytest

from history_of_interpretation.evaluation.map_statistics import half_shares, positive_mass_fraction
from history_of_interpretation.images import Composite

# --- positive_mass_fraction ------------------------------------------------------


def test_positive_mass_fraction_on_a_hand_made_map():
    attribution = np.array([[1.0, -1.0], [3.0, 0.0]])
    top_row = np.array([[True, True], [False, False]])
    assert positive_mass_fraction(attribution, top_row) == pytest.approx(0.25)  # 1 of 1 + 3; the -1 is ignored
    assert positive_mass_fraction(attribution, ~top_row) == pytest.approx(0.75)
    assert positive_mass_fraction(attribution, np.ones((2, 2), bool)) == pytest.approx(1.0)
    assert positive_mass_fraction(attribution, np.zeros((2, 2), bool)) == 0.0


def test_positive_mass_fraction_sums_channels_before_clipping():
    # Left pixel: channels 2 - 3 + 0 = -1, no positive mass; right pixel: 1 + 1 = 2.
    attribution = np.array([[[2.0, -3.0, 0.0], [1.0, 1.0, 0.0]]])
    left = np.array([[True, False]])
    assert positive_mass_fraction(attribution, left) == 0.0
    assert positive_mass_fraction(attribution, ~left) == 1.0


def test_half_shares_split_the_positive_mass_between_the_halves():
    composite = Composite(image=np.zeros((2, 4, 3), np.uint8), left="coffee", right="coffee")
    attribution = np.array([[1.0, 0.0, 2.0, -5.0], [0.0, 1.0, 0.0, 4.0]])
    assert half_shares(attribution, composite) == pytest.approx({"left": 2 / 8, "right": 6 / 8})


@pytest.mark.parametrize(
    "attribution", [np.zeros((4, 4)), -np.ones((4, 4)), np.zeros((4, 4, 3))], ids=["zero", "negative", "zero_rgb"]
)
def test_positive_mass_fraction_of_a_map_without_positive_mass_is_an_error(attribution):
    with pytest.raises(ValueError, match="no positive mass"):
        positive_mass_fraction(attribution, np.ones((4, 4), bool))


def test_similarity_of_a_map_with_itself_with_its_negative_and_with_a_constant_map():
    from history_of_interpretation.evaluation.map_statistics import is_degenerate, magnitude_ssim, rank_correlation

    attribution = np.random.default_rng(0).normal(size=(16, 16, 3))
    assert rank_correlation(attribution, attribution) == pytest.approx(1.0)
    assert magnitude_ssim(attribution, attribution) == pytest.approx(1.0)
    assert rank_correlation(attribution, -attribution, absolute=True) == pytest.approx(1.0)
    assert rank_correlation(attribution, -attribution) == pytest.approx(-1.0)
    # A constant map ranks nothing: its similarity is undefined, neither "unrelated" (0) nor "the same" (1).
    constant = np.zeros_like(attribution)
    assert is_degenerate(constant) and is_degenerate(np.full((4, 4), np.nan)) and not is_degenerate(attribution)
    assert np.isnan(rank_correlation(attribution, constant)) and np.isnan(magnitude_ssim(constant, attribution))
