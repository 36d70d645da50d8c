"""The grid pointing game's score on maps whose answer is known, and on a toy model that looks at one cell only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from toy_models import random_image, region_bundle

from history_of_interpretation.evaluation.grid_cases import CellSource, GridCase, cell_masks
from history_of_interpretation.evaluation.localisation import (
    NO_POSITIVE_MASS,
    NOT_FINITE,
    grid_pointing_game,
    grid_pointing_score,
)
from history_of_interpretation.evaluation.units import importance
from history_of_interpretation.methods import SPECS, attribute


@pytest.mark.parametrize("target", range(4))
@pytest.mark.parametrize("colour", [False, True])
def test_all_mass_in_the_target_cell_scores_one_and_elsewhere_zero(target, colour):
    masks = cell_masks(224)
    attribution = np.where(masks[target], 2.0, 0.0)
    attribution = np.repeat(attribution[..., None], 3, axis=2) if colour else attribution
    for cell in range(4):
        assert grid_pointing_score(attribution, masks[cell]).value == (1.0 if cell == target else 0.0)


@pytest.mark.parametrize("size", [224, 260, 299])
def test_a_uniform_map_scores_each_cells_share_of_the_image(size):
    masks = cell_masks(size)
    shares = [grid_pointing_score(np.ones((size, size, 3)), mask).value for mask in masks]
    assert shares == pytest.approx([mask.mean() for mask in masks], abs=1e-12)
    assert sum(shares) == pytest.approx(1.0)
    if size % 2 == 0:
        assert shares == pytest.approx([0.25] * 4)
    else:  # 149 and 150 pixel cells: 0.2483 to 0.2517
        assert min(shares) == pytest.approx((149 / 299) ** 2) and max(shares) == pytest.approx((150 / 299) ** 2)


def test_negative_attribution_is_ignored_and_colours_are_summed_before_the_sign():
    masks = cell_masks(64)
    attribution = np.zeros((64, 64, 3))
    attribution[masks[0]] = (2.0, -1.0, 0.0)  # sums to +1: counts
    attribution[masks[1]] = (1.0, -2.0, 0.0)  # sums to -1: no positive attribution here (Rao et al.'s order)
    attribution[masks[2]] = -5.0
    assert grid_pointing_score(attribution, masks[0]).value == 1.0
    # Keeping each channel's positive part first would have given cell 0 only 2/3 of the mass.
    attribution[masks[3]] = (0.0, 0.0, 1.0)
    assert grid_pointing_score(attribution, masks[0]).value == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("attribution", "reason"),
    [
        (-np.ones((32, 32, 3)), NO_POSITIVE_MASS),
        (np.zeros((32, 32)), NO_POSITIVE_MASS),
        (np.full((32, 32), np.nan), NOT_FINITE),
        (np.where(cell_masks(32)[0], np.inf, 1.0), NOT_FINITE),
    ],
)
def test_maps_that_cannot_be_scored_give_nan_and_the_reason(attribution, reason):
    score = grid_pointing_score(attribution, cell_masks(32)[0])
    assert np.isnan(score.value)
    assert score.reason == reason


def test_a_share_has_no_reason():
    assert grid_pointing_score(np.ones((32, 32)), cell_masks(32)[3]).reason is None


def test_a_map_of_another_size_is_refused():
    with pytest.raises(ValueError, match="7x7 but the grid is 224x224; upsample"):
        grid_pointing_score(np.ones((7, 7)), cell_masks(224)[0])


def _case(size: int = 32, target_cell: int = 2) -> GridCase:
    cells = tuple(CellSource(f"photo{i}", (0, 0, 10), False, 10 + i, f"class {i}", 0.9) for i in range(4))
    return GridCase("grid0-0000-toy-t2", np.zeros((size, size, 3), np.uint8), cells, target_cell, 0, "toy")


def _subject(case, target, maps):
    return SimpleNamespace(case=case, target=target, maps=maps, image_name=case.name if case else "chelsea")


def test_the_metric_scores_every_map_of_the_subject_in_the_target_cell():
    case = _case()
    masks = cell_masks(32)
    maps = {"unit": masks[2].astype(float), "unit:reversed": np.ones((32, 32)), "blank": np.zeros((32, 32))}
    values = grid_pointing_game(_subject(case, 12, maps))
    assert values["unit"] == 1.0
    assert values["unit:reversed"] == 0.25
    assert np.isnan(values["blank"])
    spec = grid_pointing_game.spec
    assert (spec.family, spec.direction, spec.chance) == ("localisation", "higher", 0.25)
    assert "grid_case" in spec.needs


def test_the_metric_refuses_a_photo_and_a_map_of_another_class():
    with pytest.raises(ValueError, match="scores grid cases only"):
        grid_pointing_game(_subject(None, 281, {"unit": np.ones((32, 32))}))
    with pytest.raises(ValueError, match=r"explains class 12 \(class 2\), but the maps explain class 13"):
        grid_pointing_game(_subject(_case(), 13, {"unit": np.ones((32, 32))}))


def test_the_gradient_of_a_model_that_sees_only_the_top_left_cell_points_there():
    # region_bundle's logit is the mean of the top-left quadrant: no other cell can matter.
    bundle = region_bundle(size=16)
    result = attribute("vanilla_gradient", bundle, random_image(16, seed=3), target=0)
    scores = [
        grid_pointing_score(importance(result.map, SPECS["vanilla_gradient"].display), mask) for mask in cell_masks(16)
    ]
    assert [score.value for score in scores] == [1.0, 0.0, 0.0, 0.0]
