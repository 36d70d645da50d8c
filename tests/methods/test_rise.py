"""RISE (methods/rise.py): known answers on toy models, its masks, determinism, bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from skimage.transform import resize
from toy_models import function_bundle, random_image, region_bundle

from history_of_interpretation.evaluation.convergence import convergence
from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.rise import rise_masks

SIZE = 16


@pytest.fixture(scope="module")
def region():
    """Class 0's logit is 8 x the mean brightness of the top-left quadrant."""
    return region_bundle(SIZE)


@pytest.fixture(scope="module")
def photo():
    return random_image(SIZE, seed=3)


def quadrant_means(attribution: np.ndarray) -> np.ndarray:
    half = SIZE // 2
    return attribution.reshape(2, half, 2, half).mean(axis=(1, 3))


def test_the_region_the_model_looks_at_gets_the_highest_attribution(region, photo):
    result = attribute("rise", region, photo, target=0, masks=1000, cells=4)
    means = quadrant_means(result.map)
    others = np.delete(means.ravel(), 0)
    assert means[0, 0] > others.max() + 0.02, means
    assert np.unravel_index(np.argmax(result.map), result.map.shape) < (SIZE // 2, SIZE // 2)


def test_a_model_that_ignores_the_photo_gets_a_flat_map_at_its_probability():
    # With P constant the self-normalised estimate sum(P x mask) / sum(mask) is P exactly, at any number
    # of masks; the paper's sum(P x mask) / (masks x keep) = P x (coverage / expected coverage) is P
    # only on average: at few masks it draws the masks' own coverage.
    flat = function_bundle(SIZE, lambda x: 0.0 * x[:, 0, 0, 0])
    image = random_image(SIZE, seed=4)
    for masks in (20, 2000):
        result = attribute("rise", flat, image, target=0, masks=masks, cells=4, keep=0.3)
        np.testing.assert_allclose(result.map, 0.5, rtol=1e-6)
    paper = attribute("rise", flat, image, target=0, masks=2000, cells=4, keep=0.3, estimator="paper")
    np.testing.assert_allclose(paper.map, 0.5, atol=0.03)
    few = attribute("rise", flat, image, target=0, masks=20, cells=4, keep=0.3, estimator="paper")
    coverage = few.extras["coverage"]
    np.testing.assert_allclose(few.map, 0.5 * coverage / (20 * 0.3), rtol=1e-5)  # the map is the coverage


def test_the_self_normalised_map_agrees_with_itself_across_seeds_more_than_the_papers(region, photo):
    from history_of_interpretation.evaluation.map_statistics import rank_correlation

    def agreement(estimator):
        first, second = (
            attribute("rise", region, photo, target=0, masks=200, cells=4, seed=seed, estimator=estimator).map
            for seed in (0, 1)
        )
        return rank_correlation(first, second)

    assert agreement("self_normalised") > agreement("paper") + 0.1


def test_the_map_settles_as_the_masks_grow():
    # Class 0's logit grows with a brightness weighted by a diagonal ramp: on a grey photo the
    # converged map is a smooth ramp, so its rank correlation with a reference can approach 1.
    ramp = np.add.outer(np.arange(SIZE), np.arange(SIZE)).astype(np.float32)
    weights = keras.ops.convert_to_tensor(ramp[None, :, :, None] / (3 * ramp.sum()))
    graded = function_bundle(SIZE, lambda x: 8 * keras.ops.sum(weights * x, axis=(1, 2, 3)) - 2)
    grey = np.full((SIZE, SIZE, 3), 200, np.uint8)
    curve = convergence("rise", graded, grey, "masks", [30, 300, 3000], reference_count=10000, target=0, cells=4)
    correlations = [curve.correlations[count] for count in (30, 300, 3000)]
    assert correlations == sorted(correlations) and correlations[-1] > 0.85, correlations
    assert curve.reference.passes == 10000 and curve.reference.params["seed"] == 1


def test_masks_are_scikit_images_bilinear_upsampling_cropped_at_the_shifts():
    rng = np.random.default_rng(0)
    grid = rng.random((6, 5, 5)) < 0.5
    shifts = rng.integers(0, 4, (6, 2))  # cell size ceil(17 / 5) = 4
    expected = np.stack(
        [
            resize(g.astype(np.float32), (24, 24), order=1, mode="reflect", anti_aliasing=False)[
                row : row + 17, col : col + 17
            ]
            for g, (row, col) in zip(grid, shifts)
        ]
    )
    np.testing.assert_allclose(rise_masks(grid, shifts, 17, 17), expected, atol=1e-6)


def test_same_seed_same_map_bit_for_bit_and_another_seed_another_map(region, photo):
    def run(**kwargs):
        return attribute("rise", region, photo, target=0, masks=40, cells=3, **kwargs).map

    np.testing.assert_array_equal(run(seed=5), run(seed=5))
    assert not np.array_equal(run(seed=5), run(seed=6))
    np.testing.assert_allclose(run(seed=5, batch_size=7), run(seed=5), rtol=1e-5)  # the draw ignores batches


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"masks": 0}, "masks must be a whole number from 1 to 20000, not 0"),
        ({"masks": -10}, "masks must be a whole number from 1 to 20000, not -10"),
        ({"masks": 2.5}, "masks must be a whole number from 1 to 20000, not 2.5"),
        ({"keep": 0}, "keep must be a number strictly between 0 and 1, not 0"),
        ({"keep": 1.0}, "keep must be a number strictly between 0 and 1, not 1.0"),
        ({"keep": 1.5}, "keep must be a number strictly between 0 and 1, not 1.5"),
        ({"cells": 0}, "cells must be a whole number from 1 to 64, not 0"),
        ({"cells": 17}, r"cells must be at most the photo's side \(16 pixels\), not 17"),
        ({"seed": -1}, "seed must be a whole number from 0 to 4294967295 \\(the random generator's seed\\), not -1"),
    ],
)
def test_bad_parameters_are_refused_with_a_helpful_message(region, photo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attribute("rise", region, photo, target=0, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"parameter": "samples"},
            "rise has no parameter 'samples' or no seed; its parameters: masks, cells, keep, seed",
        ),
        ({"counts": []}, "counts must list at least one value of masks"),
        ({"counts": [0]}, "masks must be a whole number from 1 to 20000, not 0"),
        ({"reference_seed": 0}, r"reference_seed must differ from the maps' seed \(0\)"),
        (
            {"reference_seed": -1},
            "reference_seed must be a whole number from 0 to 4294967295 \\(the random generator's seed\\), not -1",
        ),
    ],
)
def test_a_convergence_curve_refuses_bad_settings(region, photo, kwargs, message):
    settings = {"parameter": "masks", "counts": [4], "reference_count": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        convergence("rise", region, photo, target=0, **settings)


def test_the_papers_estimate_comes_from_the_self_normalised_result_of_the_same_draw(region, photo):
    from history_of_interpretation.methods.rise import paper_estimate

    settings = dict(target=0, masks=60, cells=4, keep=0.4, seed=5)
    paper = attribute("rise", region, photo, estimator="paper", **settings)
    normalised = attribute("rise", region, photo, **settings)
    np.testing.assert_allclose(paper_estimate(normalised), paper.map, rtol=1e-5, atol=1e-7)
    assert paper_estimate(paper) is paper.map
