"""Grid cases: geometry, seeded draws, four confident classes per grid, photos from a folder.

Most tests use a toy colour classifier (the class whose colour is nearest the
image's mean colour), so every answer is known; one test checks the packaged
catalogue with the real EfficientNet-Lite0.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from PIL import Image
from toy_models import COLOURS, colour_bundle, solid

from history_of_interpretation.evaluation.grid_cases import (
    CONFIDENCE,
    VERDICT_PHOTOS,
    Photo,
    TooFewClassesError,
    build_cases,
    catalogue_photos,
    cell_boxes,
    cell_masks,
    check_cells,
    photos_from_folder,
)
from history_of_interpretation.images import center_crop_resize
from history_of_interpretation.models.labels import imagenet_labels


def colour_photos(names=("tabby", "cheetah", "lion", "espresso", "tripod"), catalogued: bool = True) -> list[Photo]:
    return [Photo(name, solid(COLOURS[name], i), (name,) if catalogued else (), "toy") for i, name in enumerate(names)]


@pytest.fixture(scope="module")
def toy64():
    return colour_bundle(64)


@pytest.fixture(scope="module")
def catalogue():
    return catalogue_photos()


def cells_alone(case, size: int) -> np.ndarray:
    """Each cell of a case's image, cut out and resized to the model's input size."""
    return np.stack(
        [center_crop_resize(case.image[t : t + h, l : l + w], size) for t, l, h, w in cell_boxes(size)]  # noqa: E741
    )


# --- geometry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 64, 224, 260, 299])
def test_the_cells_tile_the_image_exactly(size):
    masks = cell_masks(size)
    assert masks.shape == (4, size, size)
    assert np.array_equal(masks.sum(axis=0), np.ones((size, size)))
    heights = {height for _, _, height, _ in cell_boxes(size)}
    assert heights == {size // 2, size - size // 2}


def test_odd_sizes_make_the_top_row_and_left_column_one_pixel_narrower():
    assert cell_boxes(299) == ((0, 0, 149, 149), (0, 149, 149, 150), (149, 0, 150, 149), (149, 149, 150, 150))


@pytest.mark.parametrize("size", [1, 0, -4, 2.5, True, "224"])
def test_a_size_that_cannot_hold_a_grid_is_refused(size):
    with pytest.raises(ValueError, match="a 2x2 grid needs a whole number of pixels"):
        cell_boxes(size)


# --- the cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, 63])
def test_cases_hold_four_confident_cells_of_four_classes_and_their_target(size):
    bundle = colour_bundle(size)
    cases = build_cases(bundle, 12, seed=5, photos=colour_photos(), candidates=3)
    assert len({case.name for case in cases}) == 12
    for case in cases:
        assert case.image.shape == (size, size, 3) and case.image.dtype == np.uint8
        assert len(set(case.cell_classes)) == 4
        assert case.target_class == case.cell_classes[case.target_cell]
        assert np.array_equal(case.target_mask, cell_masks(size)[case.target_cell])
        probabilities = bundle.probabilities(cells_alone(case, size))
        assert list(probabilities.argmax(axis=1)) == list(case.cell_classes)
        assert probabilities.max(axis=1).min() >= CONFIDENCE
        assert [cell.label for cell in case.cells] == [bundle.labels[i] for i in case.cell_classes]
        assert case.name.endswith(f"-t{case.target_cell}")
        assert json.loads(json.dumps(case.provenance()))["target"] == case.target_label


def test_the_same_seed_draws_the_same_cases_and_a_longer_run_extends_a_shorter(toy64):
    photos = colour_photos()
    first = build_cases(toy64, 10, seed=3, photos=photos, candidates=3)
    again = build_cases(toy64, 4, seed=3, photos=photos, candidates=3)
    assert [case.name for case in again] == [case.name for case in first[:4]]
    assert all(np.array_equal(a.image, b.image) and a.cells == b.cells for a, b in zip(again, first))
    other = build_cases(toy64, 10, seed=4, photos=photos, candidates=3)
    assert [case.cells for case in other] != [case.cells for case in first]


def test_photos_whose_classes_overlap_never_share_a_grid(toy64):
    photos = [*colour_photos(), Photo("tabby_again", solid(COLOURS["tabby"], 9), ("tabby", "tiger cat"), "toy")]
    pool = check_cells(toy64, photos, seed=0, candidates=2)
    assert len(pool.groups) == 5
    for case in pool.cases(60):
        assert len({cell.photo for cell in case.cells} & {"tabby", "tabby_again"}) <= 1
    assert {cell.photo for case in pool.cases(60) for cell in case.cells} >= {"tabby", "tabby_again"}


def test_the_count_of_distinct_cases_matches_an_enumeration_and_every_one_can_be_drawn(toy64):
    pool = check_cells(toy64, colour_photos(), seed=0, candidates=2)
    cells = [(group, cell) for group, photos in enumerate(pool.groups) for cells in photos for cell in cells]
    enumerated = sum(len({g for g, _ in four}) == 4 for four in itertools.permutations(cells, 4)) * 4
    assert pool.distinct_cases == enumerated == 5 * 2**4 * 24 * 4
    small = check_cells(toy64, colour_photos()[:4], seed=0, candidates=1)
    assert small.distinct_cases == 96
    assert len({(case.cells, case.target_cell) for case in small.cases(96)}) == 96
    with pytest.raises(ValueError, match="only 96 distinct cases"):
        small.cases(97)


def test_a_cell_that_is_not_confident_is_left_out():
    # A grey photo sits as far from every colour as from the others: about 1/6 each.
    bundle = colour_bundle(64)
    grey = Photo("grey", solid((128, 128, 128), 0), ("tabby",), "toy")
    pool = check_cells(bundle, [*colour_photos(), grey], seed=0, candidates=4)
    report = {report.photo: report for report in pool.reports}["grey"]
    assert report.qualified == 0 and report.centre_probability < CONFIDENCE
    assert all(cell.photo != "grey" for case in pool.cases(30) for cell in case.cells)


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([Photo("a", solid(COLOURS["tabby"], 0), ("tabbby",))], "names classes that toy_colour lacks: tabbby"),
        (colour_photos(("tabby", "tabby")), "photo names must be unique; repeated: tabby"),
        ([], "no photos given"),
    ],
)
def test_bad_photos_are_refused_clearly(toy64, photos, message):
    with pytest.raises(ValueError, match=message):
        build_cases(toy64, 1, photos=photos)


@pytest.mark.parametrize(("count", "seed"), [(0, 0), (2.5, 0), (1, -1), (1, 1.5)])
def test_a_bad_count_or_seed_is_refused(toy64, count, seed):
    with pytest.raises(ValueError, match="count must be|seed must be"):
        build_cases(toy64, count, seed=seed, photos=colour_photos())


# --- a user's folder ------------------------------------------------------------------------------


def _save(folder, name, pixels):
    Image.fromarray(pixels).save(folder / name)


def test_a_folder_gives_its_photos_named_by_file_and_skips_other_files(tmp_path, toy64):
    for i, name in enumerate(("tabby", "cheetah", "lion", "espresso")):
        _save(tmp_path, f"{name}.png", solid(COLOURS[name], i))
    (tmp_path / "notes.txt").write_text("not a photo")
    with pytest.warns(UserWarning, match="skipped 1 file.*notes.txt"):
        photos = photos_from_folder(tmp_path)
    assert [photo.name for photo in photos] == ["cheetah.png", "espresso.png", "lion.png", "tabby.png"]
    assert all(photo.classes == () and photo.source == str(tmp_path / photo.name) for photo in photos)
    case = build_cases(toy64, 1, photos=photos, candidates=2)[0]
    assert {cell.label for cell in case.cells} == {"tabby", "cheetah", "lion", "espresso"}


def test_a_folder_with_too_few_classes_says_which_photos_qualified_and_why_others_did_not(tmp_path, toy64):
    _save(tmp_path, "red.png", solid(COLOURS["tabby"], 0))
    _save(tmp_path, "red_too.png", solid(COLOURS["tabby"], 1))
    _save(tmp_path, "green.png", solid(COLOURS["cheetah"], 2))
    _save(tmp_path, "grey.png", solid((128, 128, 128), 3))
    with pytest.raises(TooFewClassesError) as error:
        build_cases(toy64, 5, photos=photos_from_folder(tmp_path), candidates=2)
    message = str(error.value)
    assert "at least 4 different classes" in message and "found 2 class group(s) among 4 photo(s)" in message
    assert "red.png: centre 'tabby'" in message and "red_too.png: centre 'tabby'" in message
    assert message.count("class group 1") + message.count("class group 2") == 3
    assert "grey.png: centre" in message and "0 of 2 cells confident" in message and "not used" in message
    assert "Add photos of 2 or more other ImageNet classes" in message


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_missing_or_empty_folder_is_refused(tmp_path, make):
    folder = tmp_path / "photos"
    if make == "empty":
        folder.mkdir()
    with pytest.raises(ValueError, match="is not a folder" if make == "missing" else "holds no images"):
        photos_from_folder(folder)


# --- the packaged catalogue with the real model ---------------------------------------------------


def test_the_catalogue_lists_loadable_photos_with_known_classes(catalogue):
    entries = json.loads(VERDICT_PHOTOS.read_text())["samples"]
    assert [photo.name for photo in catalogue] == [entry["name"] for entry in entries]
    labels = set(imagenet_labels())
    for photo in catalogue:
        assert photo.image.dtype == np.uint8 and photo.image.ndim == 3 and min(photo.image.shape[:2]) >= 224
        assert photo.classes and set(photo.classes) <= labels


def test_every_catalogue_photo_gives_confident_cells_to_lite0_and_cases_check_out(lite0, catalogue):
    pool = check_cells(lite0, catalogue, seed=0, candidates=6)
    assert all(report.qualified >= 1 for report in pool.reports), [r.describe() for r in pool.reports]
    assert len(pool.groups) == 6  # two cheetahs share a group
    for case in pool.cases(3):
        probabilities = lite0.probabilities(cells_alone(case, lite0.input_size))
        assert list(probabilities.argmax(axis=1)) == list(case.cell_classes)
        alone = probabilities[np.arange(4), list(case.cell_classes)]
        assert alone == pytest.approx([cell.probability for cell in case.cells], abs=1e-3)
        assert alone.min() >= CONFIDENCE
        assert len(set(case.cell_classes)) == 4
