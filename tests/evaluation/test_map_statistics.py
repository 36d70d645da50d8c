"""Where a map's mass lies, and the fingerprints that nbval compares."""

from __future__ import annotations

import numpy as np
import pytest

from history_of_interpretation.evaluation.map_statistics import half_shares, positive_mass_fraction
from history_of_interpretation.images import Composite
from history_of_interpretation.methods import AttributionResult


def _result(attribution: np.ndarray, method: str = "vanilla_gradient", passes: int = 1) -> AttributionResult:
    return AttributionResult(
        map=np.asarray(attribution, dtype=np.float32),
        target=281,
        label="tabby",
        probability=0.5,
        method=method,
        display="grayscale",
        params={},
        passes=passes,
        seconds=0.0,
    )


def _peaked_map(peak_row: int, peak_col: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Noise plus a bump centred in one cell of the 4x4 grid."""
    rng = np.random.default_rng(seed)
    attribution = rng.random((size, size, 3)) * 0.1
    cell = size // 4
    rows, cols = np.mgrid[:size, :size]
    centre = (peak_row * cell + cell / 2, peak_col * cell + cell / 2)
    attribution += np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * 3.0**2))[..., None]
    return attribution


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


def test_cost_table_per_result_and_averaged_per_method():
    from dataclasses import replace

    from history_of_interpretation.tables import cost_table

    one = replace(_result(np.ones((4, 4)), "grad_cam", passes=1), seconds=0.5)
    other = replace(_result(np.ones((4, 4)), "grad_cam", passes=3), seconds=1.5)
    costly = replace(_result(np.ones((4, 4)), "loo_grid", passes=9), seconds=2.0)
    assert cost_table([one]).splitlines()[2] == f"| grad_cam | {one.label} | 1 | 0.50 |"
    assert cost_table([one, other, costly], by_method=True).splitlines()[2:] == [
        "| grad_cam | 2 | 1.00 |",
        "| loo_grid | 9 | 2.00 |",
    ]


def test_cost_table_renders_as_markdown_in_jupyter():
    from history_of_interpretation.tables import cost_table

    table = cost_table([_result(np.ones((4, 4)))])
    assert table._repr_markdown_() == str(table) and str(table).startswith("| method | class |")


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
