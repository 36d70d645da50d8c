"""`make verdict`: every method on hundreds of controlled test cases and on every packaged photo.

    python -m history_of_interpretation.evaluation.verdict --out data/verdict
    python -m history_of_interpretation.evaluation.verdict --images photos/ --cases 40 --out out/mine

Two evaluations, one driver (`driver.py`), each into a folder of its own
under OUT, each a resumable long CSV with its settings and versions:

- OUT/grid: the grid pointing game (Böhle et al. 2021; Rao et al. 2022) on
  `--cases` 2x2 grids drawn from the photos the lock's packages ship
  (`grid_cases.py`: four confidently classified photos of four classes, seeded
  crops and flips), or from the photos of `--images`;
- OUT/photos: chapter 12's faithfulness and randomisation metrics on every
  packaged photo the model classifies (data/samples.json and
  data/verdict_photos.json), or on `--images`.

The methods run at chapter 12's light settings (each row's name says which);
`VERDICT_SETTINGS` are the settings, and the README says what the full run
costs. Chapter 13 reads the committed tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..images import load_image, sample_catalogue
from ..methods import METHODS
from .command import run_resumable
from .driver import Plan, evaluate, plan_units
from .grid_cases import build_cases, catalogue_photos, photos_from_folder

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "data" / "verdict"
GRID, PHOTOS = "grid", "photos"
DEFAULT_CASES = 200
DEFAULT_DEPTHS = 5
# Chapter 12's light settings: every method runs 1 + depths + 2 times per photo in seconds.
VERDICT_SETTINGS: dict[str, dict] = {
    "integrated_gradients": {"steps": 64},
    "blur_ig": {"steps": 32},
    "smoothgrad": {"samples": 16},
    "lime": {"samples": 100},
    "rise": {"masks": 200},
    "score_cam": {"top_k": 32},
    "xrai": {"steps": 8, "algorithm": "fast"},
    "guided_ig": {"steps": 16},
}
GRID_METRICS = ("grid_pointing_game",)
PHOTO_METRICS = (
    "deletion",
    "insertion",
    "sic",
    "aic",
    "road_morf",
    "road_lerf",
    "road_srg",
    "model_randomisation",
    "model_randomisation_ssim",
    "model_randomisation_signed",
    "class_sensitivity",
    "seed_ceiling",
    "degenerate_maps",
)


def packaged_photos(size: int) -> dict[str, np.ndarray]:
    """Every photo the catalogues list with an ImageNet class (samples and the verdict's), at the model's size."""
    photos = {}
    for name, entry in sample_catalogue().items():
        if entry["expected"]:
            photos[name] = load_image(name, size)
    for photo in catalogue_photos():
        photos.setdefault(photo.name, photo.image if photo.image.shape[:2] == (size, size) else _fit(photo, size))
    return photos


def _fit(photo, size: int) -> np.ndarray:
    from ..images import center_crop_resize

    return center_crop_resize(photo.image, size)


def run_verdict(
    bundle,
    out: Path,
    cases: int = DEFAULT_CASES,
    images: str | None = None,
    seed: int = 0,
    methods=METHODS,
    **options,
):
    """Both evaluations into OUT/grid and OUT/photos (resuming); returns their Evaluations.

    `images`: a folder of the user's photos, used for both the grids and the
    photos instead of the packaged ones. `options` go to `driver.evaluate`
    (engine, progress).
    """
    units = plan_units(methods, VERDICT_SETTINGS)
    photos_source = photos_from_folder(images) if images else None
    grid_cases = build_cases(bundle, cases, seed=seed, photos=photos_source)
    grid = evaluate(
        bundle,
        {case.name: case.image for case in grid_cases},
        units,
        Plan(GRID_METRICS, seed=seed),
        cases={case.name: case for case in grid_cases},
        out=out / GRID,
        **options,
    )
    if photos_source:
        photos = {photo.name: _fit(photo, bundle.input_size) for photo in photos_source}
    else:
        photos = packaged_photos(bundle.input_size)
    plan = Plan(PHOTO_METRICS, depths=tuple(bundle.depths(DEFAULT_DEPTHS)), seed=seed)
    single = evaluate(bundle, photos, units, plan, out=out / PHOTOS, **options)
    return grid, single


def main(argv=None) -> int:
    """The command line of `make verdict`; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(COMMITTED), help=f"default {COMMITTED.relative_to(ROOT)} (committed)")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="grid cases to draw")
    parser.add_argument("--images", default="", help="a folder of your photos instead of the packaged ones")
    parser.add_argument("--engine", default="serial", help="serial, or ray (a local Ray, or RAY_ADDRESS's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def work() -> str:
        from ..models import load_model
        from .engines import make_engine

        if args.cases < 1:
            raise ValueError(f"CASES must be a whole number of at least 1, not {args.cases}")
        bundle = load_model("efficientnet_lite0")
        engine = make_engine(args.engine, bundle.name)
        run_verdict(bundle, Path(args.out), args.cases, args.images or None, args.seed, engine=engine)
        return f"{Path(args.out) / GRID} and {Path(args.out) / PHOTOS}"

    return run_resumable(work)


if __name__ == "__main__":
    sys.exit(main())
