#!/usr/bin/env python
"""The evaluation's throughput, serial and on Ray with the same cores: units per hour, and Ray's overhead.

    .venv/bin/python benchmarks/evaluation_throughput.py [--photos chelsea,coffee] [--threads 1,2]

A fixed workload (efficientnet_lite0; the vanilla gradient, Grad-CAM and
SmoothGrad with the shared baselines, on sample photos; the randomisation
metrics over five depths) runs through `evaluate()` into a fresh OUT, once on
the serial engine and once on Ray per --threads (workers x TensorFlow threads
= the machine's cores). Each line gives the wall-clock time of the whole run
(Ray's included: starting Ray, its workers, a model in each), the units per
hour it makes, and the steady rate: that of the second half of the units,
when every worker has compiled its methods (the rate a long run such as `make
verdict` settles at), each with its overhead: the serial rate's excess over
it. On a shared machine wall times measure the neighbours too, so the CPU
seconds per unit of every process involved (this one, and Ray's: its own
processes and its workers) come beside them. The last column compares the
rows with the serial run's.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import os
import tempfile
import time
from pathlib import Path

import psutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from history_of_interpretation import load_image, load_model  # noqa: E402
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units  # noqa: E402
from history_of_interpretation.evaluation.engines import RayEngine, SerialEngine  # noqa: E402

MODEL = "efficientnet_lite0"
METHODS = ("vanilla_gradient", "grad_cam", "smoothgrad")
METRICS = ("model_randomisation", "class_sensitivity", "degenerate_maps")
DEPTHS = 5
PHOTOS = "chelsea,coffee,rocket,flower,china,grace_hopper"
COLUMNS = "engine|units|wall s|first unit s|units/h|steady units/h|CPU s/unit|steady CPU s/unit|rows".split("|")


def cpu_seconds() -> float:
    """CPU seconds of this process and of every process it started that still runs (Ray's, workers included)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(child.cpu_times()[:2])
    return total


class Timed:
    """An engine whose finished units are stamped, as the driver receives them, with wall and CPU seconds."""

    def __init__(self, engine):
        self.engine, self.keeps_details, self.finished = engine, engine.keeps_details, []

    def run(self, *args):
        """The engine's results, unchanged, each stamped (before Ray, if it runs, shuts down)."""
        for result in self.engine.run(*args):
            self.finished.append((time.perf_counter(), cpu_seconds()))
            yield result


def measure(name: str, engine, bundle, photos, plan, units, out: Path) -> dict:
    """One run of the workload into `out`: units per hour and CPU seconds per unit, overall and steady."""
    timed = Timed(engine)
    started, cpu = time.perf_counter(), cpu_seconds()
    evaluate(bundle, photos, units, plan, out=out, progress=False, engine=timed)
    wall = time.perf_counter() - started
    count, half = len(timed.finished), len(timed.finished) // 2
    (first, _), (middle, middle_cpu), (last, last_cpu) = timed.finished[0], timed.finished[half - 1], timed.finished[-1]
    return {
        "engine": name,
        "units": count,
        "wall": wall,
        "first": first - started,
        "per_hour": 3600 * count / wall,
        "steady_per_hour": 3600 * (count - half) / (last - middle),
        "cpu_per_unit": (last_cpu - cpu) / count,
        "steady_cpu_per_unit": (last_cpu - middle_cpu) / (count - half),
        "rows": read_rows(out / "evaluation.csv"),
    }


def read_rows(path: Path) -> dict[tuple, float]:
    """{(image, map, metric): value} of an evaluation's CSV."""
    with open(path, newline="") as handle:
        return {(r["image"], r["method"], r["metric"]): float(r["value"]) for r in csv.DictReader(handle)}


def agreement(rows: dict, reference: dict) -> str:
    """How a run's rows compare with the serial run's: identical, or the largest difference."""
    if rows.keys() != reference.keys():
        return "other rows"
    largest = max(abs(rows[key] - reference[key]) for key in rows)
    return "identical" if largest == 0 else f"max |difference| {largest:.2g}"


def main() -> None:
    """Run the workload on each engine and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", default=PHOTOS, help=f"comma-separated sample names (default {PHOTOS})")
    parser.add_argument("--threads", default="1", help="TensorFlow threads per Ray worker, comma-separated")
    args = parser.parse_args()
    cores, load = os.cpu_count(), os.getloadavg()[0]
    bundle = load_model(MODEL)
    photos = {name: load_image(name, bundle.input_size) for name in args.photos.split(",")}
    plan = Plan(METRICS, tuple(bundle.depths(DEPTHS)))
    units = plan_units(METHODS)
    with tempfile.TemporaryDirectory() as folder:
        runs = [measure("serial", SerialEngine(), bundle, photos, plan, units, Path(folder) / "serial")]
        for threads in map(int, args.threads.split(",")):
            engine = RayEngine(functools.partial(load_model, MODEL), threads=threads)
            name = f"ray, {cores // threads} x {threads} thread(s)"
            runs.append(measure(name, engine, bundle, photos, plan, units, Path(folder) / f"ray{threads}"))
    serial = runs[0]
    print(f"{len(photos)} photos x {len(units)} units on {MODEL}, {cores} cores: {', '.join(METHODS)}")
    print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after (other work here moves wall times)")
    print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
    for run in runs:
        overhead = serial["per_hour"] / run["per_hour"] - 1
        steady = serial["steady_per_hour"] / run["steady_per_hour"] - 1
        print(
            f"| {run['engine']} | {run['units']} | {run['wall']:.1f} | {run['first']:.1f} "
            f"| {run['per_hour']:.0f} ({overhead:+.0%}) | {run['steady_per_hour']:.0f} ({steady:+.0%}) "
            f"| {run['cpu_per_unit']:.2f} | {run['steady_cpu_per_unit']:.2f} "
            f"| {agreement(run['rows'], serial['rows'])} |"
        )


if __name__ == "__main__":
    main()
