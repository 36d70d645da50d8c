"""PAIR's PIC (SIC, AIC): our fill against PAIR's, counted passes, skips, the aggregate, a real photo from scratch."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from saliency.metrics import pic as pair
from scipy import interpolate
from skimage.filters import gaussian
from threadpoolctl import threadpool_limits
from toy_models import random_image, region_bundle

from history_of_interpretation import load_image
from history_of_interpretation.evaluation.pic import THRESHOLDS, aggregate, linear_fill, pic_scores, random_mask
from history_of_interpretation.evaluation.pixel_order import pixel_levels
from history_of_interpretation.evaluation.units import importance
from history_of_interpretation.methods import Context, attribute
from history_of_interpretation.models import softmax

pytestmark = pytest.mark.filterwarnings("ignore:`trapz` is deprecated:DeprecationWarning")  # saliency 0.2.1's np.trapz


def test_our_linear_fill_is_pairs_bit_for_bit():
    photo = load_image("chelsea", size=224)
    kept = random_mask((224, 224), seed=1)
    smooth = gaussian(np.random.default_rng(0).random((224, 224)), 12)
    with threadpool_limits(limits=1, user_api="blas"):
        for mask in (kept, kept | (smooth >= np.quantile(smooth, 0.79))):
            ours, theirs = linear_fill(photo, mask), pair.create_blurred_image(photo, mask)
            assert ours.dtype == theirs.dtype == np.uint8 and np.array_equal(ours, theirs)
    assert linear_fill(photo, np.ones((224, 224), bool)) is photo  # PAIR returns the photo itself


def test_the_random_mask_keeps_pairs_share_of_pixels_and_is_seeded():
    mask = random_mask((224, 224), seed=3)
    assert mask.sum() == int(224 * 224 * 0.01)
    assert np.array_equal(mask, random_mask((224, 224), seed=3))
    assert not np.array_equal(mask, random_mask((224, 224), seed=4))


@pytest.fixture(scope="module")
def region():
    """Only the top-left quadrant counts; it is bright on a dark photo, so the fully blurred image scores lower."""
    image = (random_image(32, seed=3) // 4).astype(np.uint8)
    image[:16, :16] = 230
    context = Context(region_bundle(32, k=4.0), image, 0, 32)
    quadrant = np.zeros((32, 32))
    quadrant[:16, :16] = 1.0
    quadrant += 0.01 * np.random.default_rng(0).random((32, 32))
    return context, {"right": quadrant, "reversed": -quadrant}


def test_the_right_map_beats_its_reverse(region):
    context, maps = region
    scores = pic_scores(context, maps, thresholds=(0.05, 0.1, 0.25, 0.5), min_pred_value=0.0)
    assert scores["right"].sic_auc > scores["reversed"].sic_auc
    curve = scores["right"].sic
    assert curve.curve_x[-1] == 1.0 and len(curve.curve_x) == 1001 and np.all(np.diff(curve.curve_y) >= -1e-12)
    assert curve.blurred_images == ()  # dropped: a photo's results would otherwise hold hundreds of MB


def test_each_distinct_image_is_one_counted_pass(region):
    context, maps = region
    before = context.passes()
    pic_scores(context, maps, thresholds=(0.1, 0.3, 0.6), min_pred_value=0.0)
    assert context.passes() - before == 2 + 2 * 3  # the photo, the fully blurred image, 3 images per map
    grid = np.kron(np.array([[3.0, 2.0], [1.0, 0.0]]), np.ones((16, 16)))  # 4 cells of 25%: 0.1 and 0.2 reveal one
    before = context.passes()
    pic_scores(context, {"grid": grid}, thresholds=(0.1, 0.2), min_pred_value=0.0)
    assert context.passes() - before == 2 + 1


def test_photos_pair_would_skip_are_skipped_with_pairs_reason(lite0):
    photo = load_image("chelsea", size=lite0.input_size)  # the model gives it 0.40, under PAIR's 0.5
    context = Context(lite0, photo, None, 32)
    scores = pic_scores(context, {"random": np.random.default_rng(0).random((224, 224))}, thresholds=(0.1,))
    assert scores["random"].sic is None and np.isnan(scores["random"].sic_auc)
    assert "lower than `min_pred_value`" in scores["random"].sic_skipped


def test_the_aggregate_is_pairs_median_curve_over_the_photos_it_kept():
    x = np.linspace(0, 1, 5)
    results = [pair.PicMetricResult(x, y, (), (), (), 0.0) for y in ([0, 0.2, 0.4, 0.6, 1], [0, 0.4, 0.4, 0.4, 1])]
    results.append(pair.PicMetricResult(x, np.array([0, 0.9, 0.9, 0.9, 1.0]), (), (), (), 0.0))
    median = aggregate([results[0], None, results[1], results[2]])
    assert np.allclose(median.curve_y, [0, 0.4, 0.4, 0.6, 1])
    assert median.auc == pytest.approx(np.trapezoid([0, 0.4, 0.4, 0.6, 1], x))
    assert aggregate([None, None]) is None


def test_bad_input_is_refused_with_a_clear_message(region):
    context, maps = region
    for thresholds in ((0.5, 0.1), (0.1, 1.0), ()):
        with pytest.raises(ValueError, match="thresholds must be ascending fractions between 0 and 1"):
            pic_scores(context, maps, thresholds=thresholds)
    with pytest.raises(ValueError, match=r"'small' has shape \(4, 4\)"):
        pic_scores(context, {"small": np.zeros((4, 4))})
    with pytest.raises(ValueError, match="'bad' has 1024 NaN or inf"):
        pic_scores(context, {"bad": np.full((32, 32), np.inf)})


def independent_pic(lite0, calls, photo, saliency, kept, target):
    """SIC and AIC from Kapishnikov et al.'s definition (as PAIR's notebook sets it), float64, step by step;
    the model's logits from `calls`, one photo at a time."""

    def fill(mask):  # hidden pixels linearly interpolated from the kept ones, channel by channel
        mask = mask.copy()
        mask[[0, 0, -1, -1], [0, -1, 0, -1]] = True
        image = photo.astype(np.float64) * mask[..., None]
        known, hidden = np.argwhere(mask), np.argwhere(~mask)
        for c in range(3):
            values = interpolate.griddata(known, photo[..., c][mask], hidden, method="linear")
            image[..., c][~mask] = np.where(np.isnan(values), photo[..., c].mean(), values)
        return np.round(image.astype(np.float32)).astype(np.uint8)

    def entropy(image):  # bytes of a lossless WebP
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="webp", lossless=True, quality=100)
        return len(buffer.getvalue())

    def scores(image):
        logits = calls.logits(((image.astype(np.float32) - 127) / 128)[None])[0]
        return softmax(logits.astype(np.float64))[target], float(np.argmax(logits) == target)

    blurred = fill(kept)
    images = [fill((saliency >= np.quantile(saliency, 1 - t)) | kept) for t in THRESHOLDS]
    ends = [(entropy(image), *scores(image)) for image in (photo, blurred)]
    points = [(entropy(image), *scores(image)) for image in images]
    areas = []
    (full_entropy, *full), (blurred_entropy, *empty) = ends
    for which in (1, 2):  # SIC (probability), AIC (correct or not)
        if empty[which - 1] >= full[which - 1]:  # the curve is undefined: PAIR skips the photo
            areas.append(float("nan"))
            continue
        x, y, best = [], [], 0.0
        for point in points:
            x.append(np.clip((point[0] - blurred_entropy) / (full_entropy - blurred_entropy), 0, 1))
            best = max(best, np.clip((point[which] - empty[which - 1]) / (full[which - 1] - empty[which - 1]), 0, 1))
            y.append(best)
        x, y = x + [0.0, 1.0], y + [0.0, 1.0]  # the curve's ends, after the thresholds' points (as PAIR)
        curve_x = np.append(np.linspace(0, 1, 1000, endpoint=False), 1.0)
        curve_y = np.append(interpolate.interp1d(x, y)(curve_x[:-1]), 1.0)
        areas.append(np.trapezoid(curve_y, curve_x))
    return areas


def test_on_a_real_photo_the_areas_equal_an_independent_float64_computation(lite0):
    photo = load_image("chelsea", size=lite0.input_size)
    result = attribute("integrated_gradients", lite0, photo, steps=16)
    maps = {"integrated_gradients": importance(result.map, result.display)}
    maps["random"] = np.random.default_rng(0).random(photo.shape[:2])
    # One photo per model call on both sides: the same float32 logits for the same image, whatever the
    # summation order (differently composed batches moved the SIC by 1.5e-6 under one intra-op thread).
    context = Context(lite0, photo, None, 1)
    ours = pic_scores(context, maps, seed=4, min_pred_value=0.0)  # chelsea's 0.40 is under PAIR's 0.5
    kept = random_mask(photo.shape[:2], seed=4)
    calls = Context(lite0, photo, None, 1).calls
    with threadpool_limits(limits=1, user_api="blas"):
        for name, values in maps.items():
            # PAIR is given the map's levels (the same order, near-ties made ties; tested in test_pixel_order.py).
            sic, aic = independent_pic(lite0, calls, photo, pixel_levels(values).astype(float), kept, context.target)
            assert ours[name].sic_auc == pytest.approx(sic, abs=1e-6, nan_ok=True)
            assert ours[name].aic_auc == pytest.approx(aic, abs=1e-6, nan_ok=True)
            assert np.isfinite(ours[name].sic_auc)
