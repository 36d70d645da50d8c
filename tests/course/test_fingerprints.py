"""Fingerprints of maps, and nbval's comparison of them within a tolerance (coursetools.nbval_numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import conv_bundle, random_image, toy_result

from coursetools.fingerprints import fingerprint
from coursetools.nbval_numbers import DEFAULT_TOLERANCE, cell_tolerance, compare_numbers
from history_of_interpretation.methods import attribute


def _peaked_map(peak_row: float, peak_col: float, size: int = 32, seed: int = 0) -> np.ndarray:
    """Noise plus a bump centred at (peak_row, peak_col), as fractions of the size."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    bump = np.exp(-((rows - peak_row * size) ** 2 + (cols - peak_col * size) ** 2) / (2 * 3.0**2))
    return rng.random((size, size, 3)) * 0.1 + bump[..., None]


def test_a_fingerprint_is_one_line_of_scale_free_numbers():
    attribution = _peaked_map(0.3, 0.6)
    line = fingerprint(toy_result(attribution))
    assert "\n" not in line and line.startswith("vanilla_gradient: class 281 (tabby), passes 1, ")
    assert fingerprint(toy_result(attribution * 1000.0)) == line  # units do not matter, shape does
    # The centre of mass sits near the bump, above the middle and right of it.
    row, col = (float(value) for value in line.split("centre (")[1].rstrip(")").split(", "))
    assert 0.3 < row < 0.5 and 0.5 < col < 0.62


def test_float_noise_stays_within_the_tolerance_and_a_changed_map_does_not():
    attribution = _peaked_map(0.3, 0.6)
    line = fingerprint(toy_result(attribution))
    noise = 1 + 1e-6 * np.random.default_rng(1).standard_normal(attribution.shape)
    assert compare_numbers(line, fingerprint(toy_result(attribution * noise))) == []
    assert compare_numbers(line, fingerprint(toy_result(_peaked_map(0.7, 0.2))))  # the bump moved
    assert compare_numbers(line, fingerprint(toy_result(attribution + 1.0)))  # the same bump on a raised floor
    assert compare_numbers(line, fingerprint(toy_result(attribution, passes=2)))  # whole numbers exactly


def test_fingerprint_of_a_two_dimensional_and_of_a_zero_map():
    attribution = _peaked_map(0.1, 0.9)
    # A 2-D map is read like the channel sum of a 3-D one.
    assert fingerprint(toy_result(attribution.sum(axis=2))) == fingerprint(toy_result(attribution))
    assert fingerprint(toy_result(np.zeros((8, 8)))).endswith("all zero")


LINE = "chelsea grad_cam: class 285 (Egyptian cat), passes 1, p50/mean 1.002, p99/mean 1.713, centre (0.5, 0.4)"


@pytest.mark.parametrize("moved", [1e-4, -1e-4, 5e-3])
def test_a_number_moved_within_the_tolerance_passes(moved):
    assert compare_numbers(LINE, LINE.replace("1.713", f"{1.713 * (1 + moved):.6g}")) == []


@pytest.mark.parametrize("moved", [0.05, -0.05, 0.02])
def test_a_number_moved_by_more_fails_and_says_where(moved):
    problems = compare_numbers(LINE, LINE.replace("1.713", f"{1.713 * (1 + moved):.6g}"))
    assert len(problems) == 1 and problems[0].startswith("line 1:") and "1.713" in problems[0]


def test_words_whole_numbers_and_line_counts_compare_exactly():
    assert compare_numbers(LINE, LINE.replace("285", "286"))  # the class
    assert compare_numbers(LINE, LINE.replace("grad_cam", "gradcam"))
    assert compare_numbers(LINE, LINE + "\n" + LINE) == ["2 lines printed where the committed notebook has 1"]
    assert compare_numbers("error 0.0004", "error 0.0009") == []  # near 0, float noise is absolute


def test_a_cell_states_its_own_tolerance_with_its_reason():
    assert cell_tolerance("# NBVAL_CHECK_OUTPUT\nprint(x)") == DEFAULT_TOLERANCE
    stated = "# NBVAL_CHECK_OUTPUT numbers within 5%: Guided IG's walk is chaotic in float noise\nprint(x)"
    assert cell_tolerance(stated) == 0.05
    assert compare_numbers(LINE, LINE.replace("1.713", "1.78"), cell_tolerance(stated)) == []


def test_fingerprint_of_a_method_run_is_reproducible():
    toy = conv_bundle(size=16, classes=1000)
    image = random_image(16, seed=2)
    first = fingerprint(attribute("smoothgrad", toy, image, samples=4, seed=3))
    assert first == fingerprint(attribute("smoothgrad", toy, image, samples=4, seed=3))
    assert first.startswith("smoothgrad: class ") and "passes 4," in first
