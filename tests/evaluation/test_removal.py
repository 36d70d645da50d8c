"""Deletion, insertion, PIC and their baselines on toy models with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import conv_bundle, random_image, region_bundle

from history_of_interpretation.evaluation.ranking import bootstrap_interval, estimates, ranking_table, ranks
from history_of_interpretation.evaluation.removal import (
    area,
    curve_fractions,
    deletion_insertion,
    importance,
    pic_metrics,
    pixel_order,
    random_baseline,
    random_map,
)
from history_of_interpretation.methods import SPECS, Context, attribute

SIZE = 16


@pytest.fixture(scope="module")
def region():
    """Only the top-left quadrant counts: a map on it is right, its reverse is as wrong as can be."""
    bundle = region_bundle(SIZE, k=8.0)
    quadrant = np.zeros((SIZE, SIZE))
    quadrant[: SIZE // 2, : SIZE // 2] = 1.0
    image = np.repeat(quadrant[..., None] * 255, 3, axis=2).astype(np.uint8)  # bright where it counts: blur dims it
    context = Context(bundle, image, 0, 32)
    right = quadrant + 0.01 * np.random.default_rng(1).random((SIZE, SIZE))  # an order within the quadrant too
    maps = {"right": right, "random": random_map((SIZE, SIZE), np.random.default_rng(0)), "reversed": -right}
    return context, maps


def test_on_the_region_model_the_right_map_beats_random_which_beats_reversed(region):
    context, maps = region
    curves = deletion_insertion(context, maps, steps=16)
    deletion = {name: area(c["deletion_black"]) for name, c in curves.items()}
    blurred = {name: area(c["deletion_blurred"]) for name, c in curves.items()}
    insertion = {name: area(c["insertion"]) for name, c in curves.items()}
    assert deletion["right"] < deletion["random"] < deletion["reversed"]
    assert blurred["right"] < blurred["random"] < blurred["reversed"]
    assert insertion["right"] > insertion["random"] > insertion["reversed"]


def test_curves_start_at_the_photo_and_end_at_the_fill(region):
    context, maps = region
    curves = deletion_insertion(context, {"right": maps["right"]}, steps=4)["right"]
    photo = context.calls.probabilities(context.x[None], 0)[0]
    black = context.calls.probabilities(np.zeros_like(context.x)[None], 0)[0]
    assert curves["deletion_black"][0] == pytest.approx(photo, abs=1e-6)
    assert curves["deletion_black"][-1] == pytest.approx(black, abs=1e-6)
    assert curves["insertion"][-1] == pytest.approx(photo, abs=1e-6)
    assert len(curves["insertion"]) == len(curve_fractions(4)) == 5


def test_the_curves_are_counted_forward_passes_in_full_batches(region):
    context, maps = region
    before = context.passes()
    calls_before = context.calls.counts["forward"].calls
    deletion_insertion(context, maps, steps=7)  # 3 maps x 3 curves x 8 points = 72 images
    assert context.passes() - before == 72
    assert context.calls.counts["forward"].calls - calls_before == 3  # 32 + 32 + 8


def test_the_area_of_a_constant_curve_is_its_value():
    assert area(np.full(9, 0.25)) == pytest.approx(0.25)
    assert area(np.linspace(1, 0, 11)) == pytest.approx(0.5)


def test_ties_are_broken_at_random_but_reproducibly():
    flat = np.zeros((4, 4))
    first, again, other = pixel_order(flat, 0), pixel_order(flat, 0), pixel_order(flat, 1)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(16))  # not row by row
    ordered = np.arange(16.0).reshape(4, 4)
    assert pixel_order(ordered)[0] == 15 and pixel_order(ordered)[-1] == 0


def test_importance_reads_grayscale_maps_as_magnitude_and_others_signed():
    rgb = np.array([[[1.0, -2.0, 0.0]]])
    assert importance(rgb, "grayscale")[0, 0] == 3.0
    assert importance(rgb, "diverging")[0, 0] == -1.0


def test_random_baselines_follow_each_methods_resolution():
    bundle = conv_bundle(size=SIZE)
    image = random_image(SIZE)
    rng = np.random.default_rng(0)
    seen = {}
    for method in ("vanilla_gradient", "grad_cam", "loo_grid"):
        result = attribute(method, bundle, image, **SPECS[method].quick)
        seen[method] = random_baseline(SPECS[method], result, bundle, rng)
    assert seen["vanilla_gradient"][0] == "random" and len(np.unique(seen["vanilla_gradient"][1])) == SIZE * SIZE
    assert seen["grad_cam"][0] == "random_layer"
    name, segment_map = seen["loo_grid"]
    assert name == "loo_grid_random" and len(np.unique(segment_map)) == 4  # the 2x2 grid's own cells


def test_pic_ranks_the_right_map_above_its_reverse():
    bundle = region_bundle(32, k=20.0)
    image = random_image(32, seed=3)
    context = Context(bundle, image, 0, 32)
    quadrant = np.zeros((32, 32))
    quadrant[:16, :16] = 1.0
    quadrant += 0.01 * np.random.default_rng(0).random((32, 32))
    scores = pic_metrics(context, {"right": quadrant, "reversed": -quadrant})
    assert scores["right"]["sic"] > scores["reversed"]["sic"]


def test_bootstrap_intervals_are_seeded_and_cover_the_mean():
    values = np.random.default_rng(0).normal(size=20)
    first, again = bootstrap_interval(values, seed=3), bootstrap_interval(values, seed=3)
    assert first == again
    assert first.low < first.mean < first.high
    assert bootstrap_interval([np.nan]).count == 0


def test_ranking_knows_which_way_is_better():
    rows = [
        {"image": "a", "method": m, "metric": metric, "value": v}
        for m, d, r in (("good", 0.1, 0.05), ("bad", 0.5, -0.9))
        for metric, v in (("deletion_auc", d), ("randomization_spearman_signed", r))
    ]
    table = estimates(rows)
    assert ranks(table["deletion_auc"], "deletion_auc") == {"good": 1, "bad": 2}
    assert ranks(table["randomization_spearman_signed"], "randomization_spearman_signed") == {"good": 1, "bad": 2}
    assert "| good | 0.10 [0.10, 0.10] (#1)" in ranking_table(table)


def test_a_segment_method_whose_segments_are_not_a_label_map_is_refused():
    from types import SimpleNamespace

    from history_of_interpretation.evaluation.removal import random_baseline
    from history_of_interpretation.methods import SPECS

    result = SimpleNamespace(map=np.zeros((4, 4), np.float32), extras={"segments": 12})
    with pytest.raises(ValueError, match=r"xrai's extras\['segments'\] must be an integer label map of shape \(4, 4\)"):
        random_baseline(SPECS["xrai"], result, None, np.random.default_rng(0))
