"""`make evaluate`: chapter 12's measurements on anyone's photos, resumable.

    python -m history_of_interpretation.evaluation --images photos/ --out out/eval
    python -m history_of_interpretation.evaluation --images chelsea,coffee --out out/eval --methods grad_cam

Runs the one evaluation driver (`driver.py`) that chapter 12 runs, and writes
OUT/evaluation.csv in long form (image, method, metric, value), one row per
(photo, map, metric), with OUT/costs.csv and OUT/evaluation_settings.json (what
produced them); OUT/evaluation.md, the ranking (per metric: mean and labelled
interval, Friedman's test, the groups Nemenyi cannot tell apart, each unit
against the best, cost); OUT/ranking.png, the critical-difference diagrams.
Map names beside the methods: the baselines of `baselines.py` (`random`,
`random_layer`, `edge_detector`) and each method's references
(`<method>:reversed`, `<method>:random` for segment methods).

Each finished (photo, unit) is appended at once, whole rows, flushed and
fsynced (`ResultLog`); a rerun of the same command skips what is done, and
drops a unit that an interruption left half-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..files import atomic_output
from ..images import ImageLoadError, load_folder, load_image, sample_catalogue
from ..methods import METHODS
from .baselines import BASELINES
from .driver import Evaluation, Plan, evaluate, plan_units
from .engines import make_engine
from .metrics import METRICS, check_metrics
from .ranking import comparisons, overview_table
from .statistics import comparison_table

ROOT = Path(__file__).resolve().parents[3]
FIGURE_DIR = ROOT / "figures"
DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_DEPTH_COUNT = 5


def collect_images(images: str, size: int) -> dict[str, np.ndarray]:
    """Photos from a folder (non-images skipped with a warning) or a comma-separated list of samples/paths."""
    if not images or not images.strip():
        raise ValueError(
            f"give IMAGES=<folder, or comma-separated sample names or paths>; samples: {', '.join(sample_catalogue())}"
        )
    if Path(images).is_dir():
        return load_folder(images, size)
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


def write_report(out: Path, evaluation: Evaluation, seed: int = 0) -> None:
    """OUT/evaluation.md (the overview, then one table per metric, with costs) and OUT/ranking.png."""

    compared = comparisons(evaluation.rows, seed=seed)
    costs = evaluation.costs()
    text = "\n\n".join(
        [
            "# Evaluation",
            "Per metric: the mean over photos, each unit's average rank (1 best) and its Nemenyi group "
            "(units sharing a letter cannot be told apart); then each metric in full. Cost: passes through "
            "the network and seconds per photo.",
            overview_table(compared, costs),
            *(comparison_table(comparison, costs) for comparison in compared.values()),
        ]
    )
    with atomic_output(out / "evaluation.md") as temporary:
        temporary.write_text(text + "\n")
    save_ranking_figure(compared, out / "ranking.png")


def save_ranking_figure(compared: dict, path: Path) -> None:
    """The critical-difference diagram of every ranked metric, one panel each, baselines in grey (chapter 12's)."""
    import matplotlib.pyplot as plt

    from .. import visualisation as vis
    from .figures import ranking_figure

    baselines = {unit for c in compared.values() for unit in c.units if is_baseline(unit)}
    figure = ranking_figure(compared, baselines=baselines)
    try:
        vis.save_figure(figure, path)
    finally:
        plt.close(figure)


def is_baseline(map_name: str) -> bool:
    """Whether a map's name is a baseline's (shared, or a method's reference)."""
    from .units import split_map_name

    unit, reference = split_map_name(map_name)
    return reference is not None or (unit, False) in BASELINES


def main(argv=None) -> int:
    """The command line of `make evaluate`; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", required=True, help="a folder, or comma-separated sample names or paths")
    parser.add_argument("--out", required=True, help="the folder for evaluation.csv, evaluation.md, ranking.png")
    parser.add_argument("--model", default="", help=f"default {DEFAULT_MODEL}")
    parser.add_argument("--methods", default="", help="comma-separated (default: every method)")
    parser.add_argument("--metrics", default="", help=f"comma-separated, from {', '.join(METRICS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--engine", default="serial", help="serial (this process) or ray (every core, or the cluster at RAY_ADDRESS)"
    )
    args = parser.parse_args(argv)

    def work() -> str:
        from ..models import load_model

        methods = [m.strip() for m in args.methods.split(",") if m.strip()] or list(METHODS)
        metrics = check_metrics([m.strip() for m in args.metrics.split(",") if m.strip()] or METRICS)
        units = plan_units(methods)
        engine = make_engine(args.engine or "serial", args.model or DEFAULT_MODEL)
        out = check_out(args.out)
        bundle = load_model(args.model or DEFAULT_MODEL)
        photos = collect_images(args.images, bundle.input_size)
        plan = Plan(tuple(metrics), tuple(bundle.depths(DEFAULT_DEPTH_COUNT)), seed=args.seed)
        evaluation = evaluate(bundle, photos, units, plan, out=out, engine=engine)
        write_report(out, evaluation, args.seed)
        return f"{out / 'evaluation.csv'}, {out / 'evaluation.md'} and {out / 'ranking.png'}"

    return run_resumable(work)


def run_resumable(work) -> int:
    """Run a resumable command's `work` (it returns what it wrote) and give its exit status.

    0 when done; 2 on bad input, with `error: ...`; 130 on Ctrl-C, saying that
    what finished is saved and the same command resumes (the log keeps whole units).
    """
    try:
        wrote = work()
    except (ValueError, ImageLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: every finished (photo, unit) is saved; rerun the same command to resume", file=sys.stderr)
        return 130
    print(f"wrote {wrote}")
    return 0
