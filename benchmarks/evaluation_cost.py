#!/usr/bin/env python
"""The verdict's cost per case against its floor: every pass a unit makes, priced as `make bench` prices a method.

    .venv/bin/python benchmarks/evaluation_cost.py [--photos chelsea,coffee] [--cases 4] [--photo-methods a,b]

The goal (issue 20): a case costs at most 1.3x its methods' own floors plus
its metrics' forward passes. A verdict-like workload (efficientnet_lite0,
`VERDICT_SETTINGS`) runs job by job through the engines' `Measurer`: the
grid pointing game on seeded grid cases with every method (`--methods`), the
verdict's photo metrics on sample photos with a few methods of every kind of
pass (`--photo-methods`; a photo unit takes half a minute to two). Every
pass a job makes is counted by kind: the method's own run, the images its
metrics send through the network, and the maps they remake on randomised
models, for another class or with another seed (`Subject.rerun_passes`).
Right after each job a `floor.FloorProbe` times those passes at their best
batch size (picked by a sweep at the start, as `make bench` does) in this
process, so that a machine that slows down moves the job and its floor
alike. The first photo and the first grid case also compile the methods'
calls and the randomised model's: they are measured but left out of the
ratios. It prints, per unit and per metric, the seconds, the floor and their
ratio; `--quick` (one timed call per price) is for checking the script.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from history_of_interpretation import load_image, load_model  # noqa: E402
from history_of_interpretation.evaluation.driver import Plan, plan_units  # noqa: E402
from history_of_interpretation.evaluation.engines import Job, Measurer  # noqa: E402
from history_of_interpretation.evaluation.grid_cases import build_cases  # noqa: E402
from history_of_interpretation.evaluation.verdict import (  # noqa: E402
    DEFAULT_DEPTHS,
    GRID_METRICS,
    PHOTO_METRICS,
    VERDICT_SETTINGS,
)
from history_of_interpretation.methods import METHODS  # noqa: E402

from .children import pass_times  # noqa: E402
from .floor import FloorProbe  # noqa: E402
from .goals import FLOOR_RATIO_GOAL as GOAL  # noqa: E402

MODEL = "efficientnet_lite0"
PHOTOS = "chelsea,coffee"
PHOTO_METHODS = "vanilla_gradient,grad_cam,guided_backprop,smoothgrad,integrated_gradients,rise,xrai"
CASES = 4
SEED = 0
HALVES = ("grid", "photos")


@dataclass
class JobCost:
    """One job's seconds and its floor, in parts: the method's run, and each metric's."""

    half: str  # "grid" or "photos"
    unit: str
    warm_up: bool  # the half's first photo or case: compiles, left out of the ratios
    seconds: float = 0.0
    floor: float = 0.0
    parts: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # part -> (seconds, floor, passes)


def price(passes: dict[str, int], per_image: dict[str, float]) -> float:
    """Seconds that `passes` (by kind) cost at the probe's per-image prices."""
    return sum(count * per_image[kind] for kind, count in passes.items())


def measure_job(measurer: Measurer, job: Job, image: np.ndarray, sweep: dict, half: str, warm_up: bool, quick: bool):
    """Run one job, then time its passes' floor right after it."""
    started = time.perf_counter()
    measurement, _ = measurer.measure(job, image, keep_subject=True)
    seconds = time.perf_counter() - started
    subject, cost = measurement.subject, measurement.cost
    method_passes = subject.result.pass_counts if subject.result is not None else {}
    total = dict(method_passes)
    for _, spent in cost.by_metric.values():
        for kind, count in spent.items():
            total[kind] = total.get(kind, 0) + count
    floor, detail = FloorProbe(subject.context, total, sweep, quick).measure() if total else (0.0, {})
    per_image = {kind: detail[kind]["per_image_ms"] / 1e3 for kind in detail}
    record = JobCost(half, job.unit.name, warm_up, seconds, floor)
    record.parts["method"] = (cost.seconds, price(method_passes, per_image), sum(method_passes.values()))
    for metric, (metric_seconds, spent) in cost.by_metric.items():
        record.parts[metric] = (metric_seconds, price(spent, per_image), sum(spent.values()))
    return record


def ratio(seconds: float, floor: float) -> str:
    """seconds / floor to two places, or a dash where nothing was priced."""
    return f"{seconds / floor:.2f}" if floor > 0 else "–"


def totals(records: list[JobCost]) -> tuple[float, float]:
    """Summed seconds and floor of the records."""
    return sum(r.seconds for r in records), sum(r.floor for r in records)


def unit_table(records: list[JobCost]) -> list[str]:
    """Per unit and half: mean seconds and floor per photo or case, and their ratio (warm-ups left out)."""
    measured = [r for r in records if not r.warm_up]
    lines = ["| unit | grid s/case | floor | x floor | photo s/photo | floor | x floor |", "|---" * 7 + "|"]
    for unit in dict.fromkeys(r.unit for r in records):
        cells = []
        for half in HALVES:
            mine = [r for r in measured if r.unit == unit and r.half == half]
            seconds, floor = totals(mine)
            n = len(mine) or 1
            cells += [f"{seconds / n:.2f}", f"{floor / n:.2f}", ratio(seconds, floor)] if mine else ["–"] * 3
        lines.append(f"| {unit} | " + " | ".join(cells) + " |")
    for half in HALVES:
        seconds, floor = totals([r for r in measured if r.half == half])
        if floor:
            verdict = "PASS" if seconds <= GOAL * floor else "MISS"
            lines.append(f"\n{half}: {seconds:.1f} s against a floor of {floor:.1f} s: {ratio(seconds, floor)}x")
            lines[-1] += f" ({verdict}, goal {GOAL}x)"
    return lines


def part_table(records: list[JobCost]) -> list[str]:
    """Per part (the method's run, each metric) over the photos after the first: passes, seconds, floor, ratio."""
    lines = ["| part | passes per unit | seconds per unit | floor | x floor |", "|---|---:|---:|---:|---:|"]
    photo_records = [r for r in records if r.half == "photos" and not r.warm_up]
    for part in dict.fromkeys(part for r in photo_records for part in r.parts):
        rows = [r.parts[part] for r in photo_records if part in r.parts]
        seconds, floor, passes = (sum(values) / len(rows) for values in zip(*rows))
        lines.append(f"| {part} | {passes:.0f} | {seconds:.2f} | {floor:.2f} | {ratio(seconds, floor)} |")
    return lines


def main() -> None:
    """Measure the workload and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos", default=PHOTOS, help=f'sample names, the first a warm-up; "" for none (default {PHOTOS})'
    )
    parser.add_argument("--cases", type=int, default=CASES, help=f"grid cases, the first a warm-up (default {CASES})")
    parser.add_argument("--methods", default=",".join(METHODS), help="the grid cases' methods (default: every one)")
    parser.add_argument("--photo-methods", default=PHOTO_METHODS, help=f"the photos' methods (default {PHOTO_METHODS})")
    parser.add_argument("--quick", action="store_true", help="one timed call per price: for checking the script")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    bundle = load_model(MODEL)
    target = int(np.argmax(bundle.logits(load_image("chelsea", bundle.input_size))[0]))
    sweep = pass_times(argparse.Namespace(target=target, quick=args.quick))["per_image_seconds"]
    records = []
    cases = build_cases(bundle, args.cases, seed=SEED)
    grid = Measurer(bundle, Plan(GRID_METRICS, seed=SEED))
    for index, case in enumerate(cases):
        for unit in plan_units(args.methods.split(","), VERDICT_SETTINGS):
            job = Job(case.name, unit, case.target_class, case)
            records.append(measure_job(grid, job, case.image, sweep, "grid", index == 0, args.quick))
    photos = Measurer(bundle, Plan(PHOTO_METRICS, depths=tuple(bundle.depths(DEFAULT_DEPTHS)), seed=SEED))
    photo_names = [name for name in args.photos.split(",") if name]  # --photos "": the grid cases alone
    for index, name in enumerate(photo_names):
        image = load_image(name, bundle.input_size)
        for unit in plan_units(args.photo_methods.split(","), VERDICT_SETTINGS):
            records.append(measure_job(photos, Job(name, unit), image, sweep, "photos", index == 0, args.quick))
            last = records[-1]
            print(f"  {name} {unit.name}: {last.seconds:.1f} s, floor {last.floor:.1f} s", file=sys.stderr)
    print(f"{MODEL}, {os.cpu_count()} cores, load average {load:.1f} before and {os.getloadavg()[0]:.1f} after")
    print(f"grid: {len(cases) - 1} cases after the warm-up; {args.methods}")
    print(f"photos: {max(len(photo_names) - 1, 0)} after the warm-up; {args.photo_methods}\n")
    print("\n".join(unit_table(records)))
    print("\nWhere a photo unit's time goes (its parts, per unit):\n")
    print("\n".join(part_table(records)))


if __name__ == "__main__":
    main()
