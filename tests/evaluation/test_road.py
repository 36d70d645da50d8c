"""ROAD's noisy linear imputation, MoRF, LeRF and SRG: analytic checks, the authors' system, a real photo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.linalg import spsolve
from toy_models import random_image, region_bundle

from history_of_interpretation import load_image
from history_of_interpretation.evaluation.pixel_order import pixel_order
from history_of_interpretation.evaluation.road import (
    ORDERS,
    PERCENTAGES,
    linear_imputation,
    noise_field,
    road_curves,
)
from history_of_interpretation.evaluation.units import importance
from history_of_interpretation.methods import Context, attribute
from history_of_interpretation.models import softmax

# The authors' neighbors_weights, (row, column) offset -> weight, written out again.
WEIGHTS = {(1, 1): 1 / 12, (0, 1): 1 / 6, (-1, 1): 1 / 12, (1, -1): 1 / 12, (0, -1): 1 / 6}
WEIGHTS |= {(-1, -1): 1 / 12, (1, 0): 1 / 6, (-1, 0): 1 / 6}


def authors_imputation(image: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """ROAD's NoisyLinearImputer without noise, as its paper states it: one equation per missing pixel."""
    height, width = missing.shape
    unknown = [(r, c) for r in range(height) for c in range(width) if missing[r, c]]
    index = {pixel: i for i, pixel in enumerate(unknown)}
    entries = []  # (equation, unknown, weight); repeated entries add up
    right_side = np.zeros((len(unknown), image.shape[2]))
    for i, (r, c) in enumerate(unknown):
        for (dr, dc), weight in WEIGHTS.items():
            neighbour = (r + dr, c + dc)
            if not (0 <= neighbour[0] < height and 0 <= neighbour[1] < width):
                continue
            entries.append((i, i, -weight))
            if neighbour in index:
                entries.append((i, index[neighbour], weight))
            else:
                right_side[i] -= weight * image[neighbour]
    rows, columns, weights = zip(*entries)
    system = coo_matrix((weights, (rows, columns)), shape=(len(unknown), len(unknown)))
    filled = image.astype(np.float64).copy()
    filled[missing] = spsolve(csc_matrix(system), right_side).reshape(len(unknown), -1)
    return filled


def test_the_imputation_solves_the_authors_system():
    rng = np.random.default_rng(0)
    image = rng.random((12, 10, 3))
    missing = rng.random((12, 10)) < 0.6  # border pixels included
    assert np.allclose(linear_imputation(image, missing), authors_imputation(image, missing), atol=1e-12)
    assert np.array_equal(linear_imputation(image, np.zeros((12, 10), bool)), image)


def test_a_hole_in_a_linear_ramp_is_filled_exactly():
    # The symmetric neighbour weights average a linear function to itself: away from the border, the fill is exact.
    rows, columns = np.mgrid[0:20, 0:20]
    ramp = np.stack([0.01 * rows + 0.02 * columns, 0.5 - 0.01 * columns, np.full((20, 20), 0.3)], axis=-1)
    missing = np.zeros((20, 20), bool)
    missing[5:15, 4:13] = True
    assert np.allclose(linear_imputation(ramp, missing), ramp, atol=1e-12)
    with pytest.raises(ValueError, match="every pixel is missing"):
        linear_imputation(ramp, np.ones((20, 20), bool))


@pytest.fixture(scope="module")
def region():
    """Only the top-left quadrant counts; it is bright on a dark background, so imputing it from outside dims it."""
    size = 16
    bundle = region_bundle(size, k=8.0)
    image = (random_image(size, seed=4) // 4).astype(np.uint8)
    image[: size // 2, : size // 2] = 230
    inside = np.zeros((size, size))
    inside[: size // 2, : size // 2] = 1.0
    inside += 0.01 * np.random.default_rng(1).random((size, size))
    maps = {"right": inside, "random": np.random.default_rng(0).random((size, size)), "reversed": -inside}
    return Context(bundle, image, 0, 32), maps


def test_the_right_map_gains_most_and_its_reverse_least(region):
    context, maps = region
    curves = road_curves(context, maps)
    assert curves["right"].srg > curves["random"].srg > curves["reversed"].srg
    assert curves["right"].morf_area < curves["reversed"].morf_area
    assert curves["right"].lerf_area > curves["reversed"].lerf_area
    photo = softmax(context.logits.astype(np.float64))[0]
    assert curves["right"].morf[0] == curves["right"].lerf[0] == pytest.approx(photo)
    assert np.allclose(curves["right"].fractions, [0.0, *PERCENTAGES])


def test_on_a_plain_photo_no_map_can_gain():
    # Imputing a constant image gives the constant back: every curve is flat, MoRF = LeRF and SRG = 0 for any map.
    context = Context(region_bundle(16), np.full((16, 16, 3), 120, np.uint8), 0, 32)
    maps = {"any": np.random.default_rng(0).random((16, 16)), "other": np.random.default_rng(1).random((16, 16))}
    for curves in road_curves(context, maps, noise=0.0).values():
        assert np.allclose(curves.morf, curves.morf[0], atol=1e-7) and np.allclose(curves.lerf, curves.morf, atol=1e-7)
        assert curves.srg == pytest.approx(0.0, abs=1e-7)


def test_every_point_is_a_counted_pass_and_the_noise_is_seeded(region):
    context, maps = region
    before = context.passes()
    first = road_curves(context, maps, percentages=(0.2, 0.6), seed=3)
    assert context.passes() - before == 3 * 2 * 2  # maps x orders x percentages
    again = road_curves(context, maps, percentages=(0.2, 0.6), seed=3)
    other = road_curves(context, maps, percentages=(0.2, 0.6), seed=4)
    assert np.array_equal(first["right"].morf, again["right"].morf)
    assert not np.array_equal(first["right"].morf, other["right"].morf)
    assert np.array_equal(noise_field((4, 4, 3), 3, "lerf", 1), noise_field((4, 4, 3), 3, "lerf", 1))


def test_bad_input_is_refused_with_a_clear_message(region):
    context, maps = region
    for percentages in ((0.5, 0.2), (0.1, 1.0), (), (0.0, 0.5)):
        with pytest.raises(ValueError, match="percentages must be ascending shares removed"):
            road_curves(context, maps, percentages=percentages)
    with pytest.raises(ValueError, match="noise must be a standard deviation"):
        road_curves(context, maps, noise=-0.1)
    with pytest.raises(ValueError, match=r"'small' has shape \(3, 3\)"):
        road_curves(context, {"small": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="'bad' has 256 NaN or inf"):
        road_curves(context, {"bad": np.full((16, 16), np.nan)})


def test_on_a_real_photo_the_curves_equal_an_independent_float64_computation(lite0):
    photo = load_image("chelsea", size=lite0.input_size)
    result = attribute("integrated_gradients", lite0, photo, steps=16)
    maps = {"integrated_gradients": importance(result.map, result.display)}
    maps["random"] = np.random.default_rng(0).random(photo.shape[:2])
    context = Context(lite0, photo, None, 32)
    pixels, image = photo.shape[0] * photo.shape[1], photo.astype(np.float64) / 255
    photo_probability = softmax(lite0.model(context.x[None], training=False).numpy().astype(np.float64))[0]
    # The authors' percentages for the real map; two of them for the random map (the arithmetic is the same).
    for name, percentages in (("integrated_gradients", PERCENTAGES), ("random", (0.1, 0.5))):
        ours = road_curves(context, {name: maps[name]}, percentages=percentages, seed=2)[name]
        order = pixel_order(maps[name], seed=2)  # the shared order, tested in test_pixel_order.py
        curves = {}
        for o, removal_order in enumerate(ORDERS):
            curve = [photo_probability[context.target]]
            for i, share in enumerate(percentages):
                removed = np.zeros(pixels, bool)
                count = int(pixels * share)
                removed[order[:count] if removal_order == "morf" else order[pixels - count :]] = True
                removed = removed.reshape(photo.shape[:2])
                filled = authors_imputation(image, removed)
                noise = np.random.default_rng([2, o, i]).standard_normal(image.shape)  # the documented draw
                filled[removed] += 0.01 * noise[removed]
                x = ((filled * 255 - 127) / 128).astype(np.float32)  # EfficientNet-Lite's preprocessing
                logits = lite0.model(x[None], training=False).numpy().astype(np.float64)
                curve.append(softmax(logits)[0, context.target])
            curves[removal_order] = np.array(curve)
        fractions = np.array([0.0, *percentages])
        assert np.allclose(ours.morf, curves["morf"], atol=1e-6)
        assert np.allclose(ours.lerf, curves["lerf"], atol=1e-6)
        srg = np.trapezoid(curves["lerf"], fractions) - np.trapezoid(curves["morf"], fractions)
        assert ours.srg == pytest.approx(srg, abs=1e-6)
