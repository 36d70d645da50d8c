"""`make evaluate`: chapter 12's measurements on anyone's photos, resumable.

    python -m history_of_interpretation.evaluation --images photos/ --out out/eval
    python -m history_of_interpretation.evaluation --images chelsea,coffee --out out/eval --methods grad_cam

Writes OUT/evaluation.csv in long form (image, method, metric, value), one
row per (photo, method, metric); OUT/evaluation.md, the ranking (mean over
photos, bootstrap 95% interval, cost); OUT/ranking.png. Method names beside
the registered ones: `random` (a per-pixel random map, the baseline of
pixel methods), `random_layer` (random at the Grad-CAM layer's grid, the
baseline of layer methods), `<method>_random` (random per segment of a
segment method's own segmentation), `<method>_reversed` (the map reversed)
and `edge_detector` (Sobel of the photo: ignores the model).

Each finished (photo, method) is appended at once, whole rows, flushed and
fsynced (`ResultLog`); a rerun of the same command skips what is done, and
drops a unit that an interruption left half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from ..files import atomic_output
from ..images import ImageLoadError, load_image, sample_catalogue
from ..methods import SPECS, attribute
from .driver import check_methods, check_metrics, measure_unit, units
from .randomisation import Randomiser
from .ranking import METRICS, estimates, ranking_table
from .result_log import ResultLog

ROOT = Path(__file__).resolve().parents[3]
FIGURE_DIR = ROOT / "figures"
DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_STEPS = 32
DEFAULT_DEPTH_COUNT = 5
SETTINGS_FILE = "evaluation_settings.json"


def collect_images(images: str, size: int) -> dict[str, np.ndarray]:
    """Photos from a folder (non-images skipped with a warning) or a comma-separated list of samples/paths."""
    if not images or not images.strip():
        raise ValueError(
            f"give IMAGES=<folder, or comma-separated sample names or paths>; samples: {', '.join(sample_catalogue())}"
        )
    folder = Path(images)
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        photos, skipped = {}, []
        for path in files:
            try:
                photos[path.name] = load_image(path, size)
            except ImageLoadError:
                skipped.append(path.name)
        if skipped:
            warnings.warn(
                f"skipped {len(skipped)} file(s) in {folder} that are not images: {', '.join(skipped)}", stacklevel=2
            )
        if not photos:
            raise ValueError(f"IMAGES={images} holds no images (PNG, JPEG, ...); put photos in it or name samples")
        return photos
    names = [name.strip() for name in images.split(",") if name.strip()]
    return {name: load_image(name, size) for name in names}


def check_out(out: str) -> Path:
    """OUT as a path; a clear error for none, or for a folder in the published figures."""
    if not out or not out.strip():
        raise ValueError("give OUT=<folder> for evaluation.csv, evaluation.md and the plots")
    path = Path(out).resolve()
    if path == FIGURE_DIR or FIGURE_DIR in path.parents:
        raise ValueError(f"OUT={out} lies inside figures/, the published figures; choose another folder")
    return path


def _check_settings(out: Path, settings: dict) -> None:
    stored = out / SETTINGS_FILE
    if stored.is_file() and (out / ResultLog.NAME).is_file():
        previous = json.loads(stored.read_text())
        if previous != settings:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            raise ValueError(
                f"OUT={out} holds an evaluation with other settings ({', '.join(changed)}); "
                "rerun with the same settings to resume, or choose another OUT"
            )


def evaluate(
    bundle,
    photos: dict[str, np.ndarray],
    out: Path,
    methods,
    metrics=METRICS,
    *,
    steps=DEFAULT_STEPS,
    depths=None,
    seed=0,
    progress=True,
) -> Path:
    """Measure every unit on every photo into OUT (resuming), then write the ranking; returns the CSV path."""
    methods, metrics = check_methods(methods), check_metrics(metrics)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"steps (points per deletion/insertion curve) must be a whole number of at least 1, not {steps!r}"
        )
    depths = list(depths or bundle.depths(DEFAULT_DEPTH_COUNT))
    settings = {"model": bundle.name, "metrics": metrics, "steps": steps, "depths": depths, "seed": seed}
    _check_settings(out, settings)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / SETTINGS_FILE) as temporary:
        temporary.write_text(json.dumps(settings, indent=1) + "\n")
    log = ResultLog(out, metrics)
    todo = [(name, unit) for name in photos for unit in units(methods) if not log.done(name, unit)]
    randomiser = Randomiser(bundle, seed) if any(m.startswith("randomization") for m in metrics) else None
    # The first call of a method compiles its TensorFlow functions: warm each up, so its seconds are steady-state.
    for method in dict.fromkeys(unit for _, unit in todo if unit in SPECS):
        attribute(method, bundle, next(iter(photos.values())), **SPECS[method].quick)
    from tqdm.auto import tqdm

    with tqdm(
        total=len(photos) * len(units(methods)),
        initial=len(photos) * len(units(methods)) - len(todo),
        desc="evaluating",
        unit="unit",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for name, unit in todo:
            bar.set_postfix_str(f"{name} · {unit}")
            measurement = measure_unit(
                bundle, name, photos[name], unit, metrics, randomiser=randomiser, depths=depths, steps=steps, seed=seed
            )
            log.append(name, unit, measurement)
            bar.update()
    write_ranking(out, log, seed)
    return log.path


def write_ranking(out: Path, log: ResultLog, seed: int = 0) -> None:
    """OUT/evaluation.md (the ranking table with costs) and OUT/ranking.png, from the CSV."""
    from . import figures as trust_figures

    table = estimates(log.rows(), seed)
    text = (
        "# Evaluation\n\nMean over photos with a bootstrap 95% interval (rank in brackets, #1 best; "
        "↓ lower is better). Cost: passes through the network and seconds per photo.\n\n"
        + ranking_table(table, log.costs())
        + "\n"
    )
    with atomic_output(out / "evaluation.md") as temporary:
        temporary.write_text(text)
    trust_figures.save_ranking_figure(table, out / "ranking.png")


def main(argv=None) -> int:
    """The command line of `make evaluate`; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", required=True, help="a folder, or comma-separated sample names or paths")
    parser.add_argument("--out", required=True, help="the folder for evaluation.csv, evaluation.md, ranking.png")
    parser.add_argument("--model", default="", help=f"default {DEFAULT_MODEL}")
    parser.add_argument("--methods", default="", help="comma-separated (default: every method)")
    parser.add_argument("--metrics", default="", help=f"comma-separated, from {', '.join(METRICS)} (default: all)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="points per deletion/insertion curve")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from ..methods import METHODS
    from ..models import load_model

    try:
        methods = check_methods([m.strip() for m in args.methods.split(",") if m.strip()] or METHODS)
        metrics = check_metrics([m.strip() for m in args.metrics.split(",") if m.strip()] or METRICS)
        out = check_out(args.out)
        bundle = load_model(args.model or DEFAULT_MODEL)
        photos = collect_images(args.images, bundle.input_size)
        path = evaluate(bundle, photos, out, methods, metrics, steps=args.steps, seed=args.seed)
    except (ValueError, ImageLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished (photo, method) is saved; rerun the same command to resume", file=sys.stderr
        )
        return 130
    print(f"wrote {path}, {path.parent / 'evaluation.md'} and {path.parent / 'ranking.png'}")
    return 0
