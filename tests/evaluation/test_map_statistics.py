"""Where a map's mass lies, and the fingerprints that nbval compares."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import conv_bundle, random_image

from coursetools.fingerprints import fingerprint
from history_of_interpretation.evaluation.map_statistics import half_shares, positive_mass_fraction
from history_of_interpretation.images import Composite
from history_of_interpretation.methods import AttributionResult, attribute


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


# --- fingerprint -------------------------------------------------------------------


def test_fingerprint_is_a_stable_line():
    attribution = _peaked_map(1, 2)
    line = fingerprint(_result(attribution))
    assert line == fingerprint(_result(attribution.copy()))
    assert "\n" not in line
    assert line.startswith("vanilla_gradient: class 281 (tabby), passes 1, ")
    assert "peak cell (1,2)" in line
    # Float noise far below the rounding does not change it, and neither does the map's scale.
    noise = 1 + 1e-6 * np.random.default_rng(1).standard_normal(attribution.shape)
    assert fingerprint(_result(attribution * noise)) == line
    assert fingerprint(_result(attribution * 1000.0)) == line


def test_fingerprint_changes_when_the_map_does():
    attribution = _peaked_map(1, 2)
    line = fingerprint(_result(attribution))
    assert fingerprint(_result(_peaked_map(3, 0))) != line  # the peak moved
    spread = attribution + 1.0  # the same peak on a raised floor: the statistics of the shape change
    assert "peak cell (1,2)" in fingerprint(_result(spread)) and fingerprint(_result(spread)) != line
    assert fingerprint(_result(attribution, passes=2)) != line
    assert fingerprint(_result(attribution, method="smoothgrad")) != line


def test_fingerprint_of_a_two_dimensional_and_of_a_zero_map():
    attribution = _peaked_map(0, 3)
    # A 2-D map is read like the channel sum of a 3-D one.
    assert fingerprint(_result(attribution.sum(axis=2))) == fingerprint(_result(attribution))
    assert fingerprint(_result(np.zeros((8, 8)))).endswith("all zero")


def test_fingerprint_of_a_method_run_is_reproducible():
    toy = conv_bundle(size=16, classes=1000)
    image = random_image(16, seed=2)
    first = fingerprint(attribute("smoothgrad", toy, image, samples=4, seed=3))
    assert first == fingerprint(attribute("smoothgrad", toy, image, samples=4, seed=3))
    assert first.startswith("smoothgrad: class ") and "passes 4," in first


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
