"""Test cases with a known answer and no annotation: the grid pointing game's 2x2 grids of photos.

Böhle, Fritz & Schiele (CVPR 2021, "Convolutional Dynamic Alignment Networks
for Interpretable Classifications") put photos of four different classes in a
2x2 grid: explaining the class of one cell, a map should put its positive
attribution inside that cell. Rao, Böhle & Schiele (CVPR 2022, "Towards Better
Understanding Attribution Methods"; their code, sukrutrao/Attribution-Evaluation,
`scripts/generate_grid_dataset.py`) use it at scale as GridPG: photos that
every model classifies correctly with probability >= 0.99, four different
classes per grid, placed by a seeded draw. `localisation.py` scores the maps.

Where the course departs from them, and why:

- *the photos*: no installed package ships ImageNet's validation photos, so
  cells are cut from the few real photos that the lock's packages ship
  (`data/verdict_photos.json`) or from a user's folder (`photos_from_folder`),
  through seeded square crops (each 25% to 100% of the area of the photo's largest square,
  anywhere in the photo; square, so nothing is stretched) and horizontal flips
  (probability 0.5): hundreds of distinct grids from a handful of photos.
- *one model input*: a cell is half the model's input size, so the grid is
  one input (Rao et al. tile full-size photos into an input twice as large).
- *the check*: a cell counts only when the model, shown that cell's own
  pixels alone (resized to its input size), gives its top-1 class probability
  >= `CONFIDENCE` (0.5: at 0.99 almost no packaged crop qualifies), and that
  class fits the photo (its catalogue classes; for a folder's photo, the class
  the model sees in the photo's centre).
- *class groups*: photos whose classes overlap (two cheetahs; a cat that is
  'tabby' or 'Egyptian cat') never share a grid, so a grid's four cells have
  four different top-1 classes that are not near-synonyms the catalogue knows.

Each photo's candidate cells are checked once, in batches (`check_cells`), and
every case is drawn from those checked cells, so a few hundred cases cost a
few hundred forward passes however many are drawn. Case i depends only on
the seed, the photos and the cases before it: a shorter run's cases are the
first of a longer one's.

Rao et al.'s DiFull (each cell through the network on its own, so other cells
provably cannot matter) is not built: it needs a model that classifies one
cell inside a full-size input, and the course's CAM methods upsample the
Grad-CAM layer to the whole input, which such a model would mislocate.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import connected_components
from skimage.data import stereo_motorcycle

from ..images import DATA_DIR, center_crop_resize, load_catalogued, load_folder
from ..methods.model_calls import ModelCalls
from ..models import softmax

VERDICT_PHOTOS = DATA_DIR / "verdict_photos.json"
CONFIDENCE = 0.5  # the least top-1 probability of a cell shown alone
CROP_AREA = (0.25, 1.0)  # a crop's share of its photo's largest square, drawn uniformly
FLIP_PROBABILITY = 0.5
CANDIDATES = 32  # cells checked per photo; the first is the photo's largest centred square, unflipped
CELLS = 4  # a 2x2 grid
MAX_DRAWS = 1000  # draws of one case before giving up on finding one not drawn before


class TooFewClassesError(ValueError):
    """The photos do not give four different confidently classified classes; the message says which did what."""


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo that grid cells are cut from."""

    name: str
    image: np.ndarray  # RGB uint8, full size
    classes: tuple[str, ...] = ()  # ImageNet classes that fit it; () means the class the model sees in its centre
    source: str = ""  # where it comes from (a package's loader, a file), for provenance


@dataclass(frozen=True)
class CellSource:
    """Where one cell comes from, and what the model says of it shown alone."""

    photo: str
    crop: tuple[int, int, int]  # top, left and side of the square crop, in the photo's pixels
    flipped: bool
    class_index: int
    label: str
    probability: float  # the model's top-1 probability for the cell alone, resized to its input size


@dataclass(frozen=True)
class PhotoReport:
    """What the model said of one photo's checked cells: a row of the survey behind the cases."""

    photo: str
    classes: tuple[str, ...]  # the classes its cells may have
    centre_label: str  # the model's top-1 class for the photo's largest centred square, as a cell
    centre_probability: float
    qualified: int  # checked cells that are confident in one of `classes`
    checked: int

    def describe(self) -> str:
        """One line: the centre's class, and how many of its cells qualified."""
        return (
            f"{self.photo}: centre {self.centre_label!r} at {self.centre_probability:.2f}; "
            f"{self.qualified} of {self.checked} cells confident in {', '.join(map(repr, self.classes))}"
        )


@dataclass(frozen=True, eq=False)
class GridCase:
    """A 2x2 grid of cells of four different classes, and the cell whose class is explained."""

    name: str
    image: np.ndarray  # RGB uint8, the model's input size
    cells: tuple[CellSource, ...]  # row by row: top left, top right, bottom left, bottom right
    target_cell: int
    seed: int
    model: str

    @property
    def cell_classes(self) -> tuple[int, ...]:
        """Each cell's top-1 class (index) when shown alone."""
        return tuple(cell.class_index for cell in self.cells)

    @property
    def target_class(self) -> int:
        """The class to explain: the target cell's."""
        return self.cells[self.target_cell].class_index

    @property
    def target_label(self) -> str:
        """The name of the class to explain."""
        return self.cells[self.target_cell].label

    @property
    def cell_masks(self) -> np.ndarray:
        """(4, H, W) boolean masks of the cells, row by row; they tile the image."""
        return cell_masks(self.image.shape[0])

    @property
    def target_mask(self) -> np.ndarray:
        """The target cell's boolean HxW mask."""
        return self.cell_masks[self.target_cell]

    def provenance(self) -> dict:
        """How the case was made, as plain JSON values: model, seed, the draw's settings, each cell's source."""
        return {
            "case": self.name,
            "model": self.model,
            "seed": self.seed,
            "confidence": CONFIDENCE,
            "crop_area": list(CROP_AREA),
            "flip_probability": FLIP_PROBABILITY,
            "target_cell": self.target_cell,
            "target": self.target_label,
            "cells": [
                {
                    "photo": cell.photo,
                    "crop_top_left_side": list(cell.crop),
                    "flipped": cell.flipped,
                    "class": cell.label,
                    "probability_alone": round(cell.probability, 4),
                }
                for cell in self.cells
            ],
        }


@dataclass(frozen=True, eq=False)
class _Cell:
    source: CellSource
    pixels: np.ndarray  # the checked cell, square; an odd-sized grid's narrower cells drop its last row or column


@dataclass(frozen=True, eq=False)
class CellPool:
    """Every photo's checked cells, the qualified ones by class group: what the cases are drawn from."""

    model: str
    size: int
    seed: int
    reports: tuple[PhotoReport, ...]
    groups: tuple[tuple[tuple[_Cell, ...], ...], ...] = field(repr=False)  # group -> its photos -> qualified cells
    passes: int = 0  # forward passes that checking the cells cost

    @property
    def distinct_cases(self) -> int:
        """How many different cases the pool holds: four groups' cells in four positions, times four targets."""
        # The sum over every 4 groups of the product of their cell counts: the elementary symmetric
        # polynomial of degree 4, built group by group (exact integers, however many groups).
        sums = [1, 0, 0, 0, 0]
        for group in self.groups:
            cells = sum(len(photo_cells) for photo_cells in group)
            for degree in range(CELLS, 0, -1):
                sums[degree] += sums[degree - 1] * cells
        return sums[CELLS] * 24 * CELLS  # 24 = 4! orders of the four cells

    def cases(self, count: int) -> list[GridCase]:
        """`count` distinct cases, drawn with the pool's seed; case i depends only on the cases before it."""
        if len(self.groups) < CELLS:
            raise TooFewClassesError(self._too_few())
        if count > self.distinct_cases:
            raise ValueError(f"these photos make only {self.distinct_cases} distinct cases; ask for at most that many")
        drawn, cases = set(), []
        for index in range(count):
            for attempt in range(MAX_DRAWS):
                rng = np.random.default_rng([self.seed, index, attempt])
                picks = [self._pick(group, rng) for group in rng.choice(len(self.groups), CELLS, replace=False)]
                target = int(rng.integers(CELLS))
                key = (tuple(cell.source for cell in picks), target)
                if key not in drawn:
                    break
            else:
                raise ValueError(f"found no new case in {MAX_DRAWS} draws; ask for fewer than {count} cases")
            drawn.add(key)
            cases.append(self._case(index, picks, target))
        return cases

    def _pick(self, group: int, rng: np.random.Generator) -> _Cell:
        # A photo first, then one of its cells: a photo with more qualified cells is drawn no more often.
        photos = self.groups[group]
        cells = photos[rng.integers(len(photos))]
        return cells[rng.integers(len(cells))]

    def _case(self, index: int, picks: list[_Cell], target: int) -> GridCase:
        image = np.empty((self.size, self.size, 3), np.uint8)
        for (top, left, height, width), cell in zip(cell_boxes(self.size), picks):
            image[top : top + height, left : left + width] = cell.pixels[:height, :width]
        photos = "+".join(cell.source.photo for cell in picks)
        return GridCase(
            name=f"grid{self.seed}-{index:04d}-{photos}-t{target}",
            image=image,
            cells=tuple(cell.source for cell in picks),
            target_cell=target,
            seed=self.seed,
            model=self.model,
        )

    def _too_few(self) -> str:
        group_of = {cells[0].source.photo: number for number, group in enumerate(self.groups) for cells in group}
        lines = [
            f"  {report.describe()}: "
            + (f"class group {group_of[report.photo] + 1}" if report.photo in group_of else "not used")
            for report in self.reports
        ]
        return (
            f"the grid pointing game needs photos of at least {CELLS} different classes, each classified with "
            f"top-1 probability >= {CONFIDENCE} when a cell of it is shown alone; {self.model} found "
            f"{len(self.groups)} class group(s) among {len(self.reports)} photo(s):\n" + "\n".join(lines) + "\n"
            f"Add photos of {CELLS - len(self.groups)} or more other ImageNet classes, one clear subject each "
            "(photos whose classes overlap count as one group)."
        )


def stereo_motorcycle_left() -> np.ndarray:
    """The left view of scikit-image's stereo pair (its loader returns both views and their disparity)."""
    return stereo_motorcycle()[0]


def catalogue_photos(path: str | Path = VERDICT_PHOTOS) -> list[Photo]:
    """The photos of a catalogue in data/samples.json's format (default: data/verdict_photos.json)."""
    photos = []
    for entry in json.loads(Path(path).read_text())["samples"]:
        arguments = ", ".join(map(repr, [*entry.get("args", []), *entry.get("kwargs", {}).values()]))
        source = f"{entry['package']}: {entry['loader']}({arguments})"
        photos.append(Photo(entry["name"], load_catalogued(entry), tuple(entry["expected"]), source))
    return photos


def photos_from_folder(path: str | Path) -> list[Photo]:
    """The photos in a folder, each named by its file's name; other files are skipped with a warning."""
    return [Photo(name, image, (), str(Path(path) / name)) for name, image in load_folder(path).items()]


def cell_boxes(size: int) -> tuple[tuple[int, int, int, int], ...]:
    """(top, left, height, width) of the cells of a size x size grid, row by row; they tile it exactly.

    With an odd size (InceptionV3's 299) the top row and the left column are
    one pixel narrower (149 and 150 pixels).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"a 2x2 grid needs a whole number of pixels, at least 2, not {size!r}")
    cuts = (0, size // 2, size)
    return tuple(
        (cuts[row], cuts[column], cuts[row + 1] - cuts[row], cuts[column + 1] - cuts[column])
        for row in range(2)
        for column in range(2)
    )


def cell_masks(size: int) -> np.ndarray:
    """(4, size, size) boolean masks of the grid's cells, row by row."""
    masks = np.zeros((CELLS, size, size), dtype=bool)
    for mask, (top, left, height, width) in zip(masks, cell_boxes(size)):
        mask[top : top + height, left : left + width] = True
    return masks


def check_cells(bundle, photos: Sequence[Photo] | None = None, seed: int = 0, candidates: int = CANDIDATES) -> CellPool:
    """Cut `candidates` seeded cells from each photo (default: the catalogue's), and keep the confident ones.

    Each cell is shown to the model alone, resized to its input size, in
    batches; it qualifies when its top-1 class fits the photo with probability
    >= CONFIDENCE. Photos whose classes overlap form one class group.
    """
    photos = catalogue_photos() if photos is None else list(photos)
    _check_request(bundle, photos, seed, candidates)
    size, side = bundle.input_size, bundle.input_size - bundle.input_size // 2
    calls, reports, qualified = ModelCalls(bundle.model), [], []
    for photo in photos:
        rng = np.random.default_rng([seed, zlib.crc32(photo.name.encode())])
        crops = [_centre_crop(photo.image), *(_draw_crop(photo.image, rng) for _ in range(candidates - 1))]
        pixels = [_cut(photo.image, crop, flipped, side) for crop, flipped in crops]
        shown_alone = np.stack([center_crop_resize(cell, size) for cell in pixels])
        probabilities = softmax(calls.logits(bundle.preprocess(shown_alone)))
        tops = probabilities.argmax(axis=1)
        classes = photo.classes or (bundle.labels[tops[0]],)
        cells = tuple(
            _Cell(CellSource(photo.name, crop, flipped, int(top), bundle.labels[top], float(row[top])), cell)
            for (crop, flipped), cell, top, row in zip(crops, pixels, tops, probabilities)
            if bundle.labels[top] in classes and row[top] >= CONFIDENCE
        )
        reports.append(
            PhotoReport(
                photo.name, classes, bundle.labels[tops[0]], float(probabilities[0, tops[0]]), len(cells), candidates
            )
        )
        if cells:
            qualified.append((set(classes), cells))
    return CellPool(bundle.name, size, seed, tuple(reports), _class_groups(qualified), calls.passes)


def build_cases(
    bundle, count: int, seed: int = 0, photos: Sequence[Photo] | None = None, candidates: int = CANDIDATES
) -> list[GridCase]:
    """`count` distinct grid cases for `bundle` from the photos (default: the catalogue's), drawn with `seed`."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive whole number of cases, not {count!r}")
    return check_cells(bundle, photos, seed, candidates).cases(count)


def _check_request(bundle, photos: list[Photo], seed: int, candidates: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
    if isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer)) or candidates < 1:
        raise ValueError(f"candidates must be a positive whole number of cells per photo, not {candidates!r}")
    if not photos:
        raise TooFewClassesError(f"no photos given; the grid pointing game needs photos of at least {CELLS} classes")
    names = [photo.name for photo in photos]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"photo names must be unique; repeated: {', '.join(repeated)}")
    labels = set(bundle.labels)
    for photo in photos:
        unknown = [name for name in photo.classes if name not in labels]
        if unknown:
            raise ValueError(f"photo {photo.name!r} names classes that {bundle.name} lacks: {', '.join(unknown)}")
    cell_boxes(bundle.input_size)


def _class_groups(qualified: list[tuple[set[str], tuple[_Cell, ...]]]) -> tuple:
    """Photos whose classes overlap, directly or through others, as one group (scipy's connected components)."""
    if not qualified:
        return ()
    overlaps = np.array([[bool(a & b) for b, _ in qualified] for a, _ in qualified])
    count, labels = connected_components(overlaps, directed=False)
    return tuple(
        tuple(cells for (_, cells), label in zip(qualified, labels) if label == group) for group in range(count)
    )


def _centre_crop(image: np.ndarray) -> tuple[tuple[int, int, int], bool]:
    height, width = image.shape[:2]
    side = min(height, width)
    return ((height - side) // 2, (width - side) // 2, side), False


def _draw_crop(image: np.ndarray, rng: np.random.Generator) -> tuple[tuple[int, int, int], bool]:
    # A square crop whose area is a uniform share of the largest square (torchvision's RandomResizedCrop
    # draws the same way, with aspect jitter; it is not in the lock, and a square crop stretches nothing).
    height, width = image.shape[:2]
    side = max(1, int(round(min(height, width) * np.sqrt(rng.uniform(*CROP_AREA)))))
    top, left = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
    return (top, left, side), bool(rng.random() < FLIP_PROBABILITY)


def _cut(image: np.ndarray, crop: tuple[int, int, int], flipped: bool, side: int) -> np.ndarray:
    top, left, crop_side = crop
    pixels = image[top : top + crop_side, left : left + crop_side]
    return center_crop_resize(pixels[:, ::-1] if flipped else pixels, side)
