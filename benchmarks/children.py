"""What runs in the benchmark's child processes, each of which loads the model itself.

A fresh process per method makes each peak memory (getrusage) the method's
own. Every child gets the parsed command line (`run.parse_args`) and returns a
JSON-ready dict: `baseline` (model loaded, target found), `pass_times` (the
sweep of per-image times), `method` (one row: our runs, their floor, PAIR's
pattern) and `ig_curve` (IG's completeness error against steps).
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import sys

from .floor import (
    BATCH_64_MIN_FREE_GB,
    BATCH_SIZES,
    GUIDED,
    SWEEP_KINDS,
    FloorProbe,
    pass_call,
    per_image_seconds,
    sweep_repeats,
)
from .pair import time_pair
from .rows import ROWS_BY_KEY, Row

MODEL = "efficientnet_lite0"
IMAGE = "chelsea"
SIZE = 224


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def load_setup():
    """Load the model and photo the benchmark measures, and find the target once."""
    from history_of_interpretation import load_image, load_model

    return load_model(MODEL), load_image(IMAGE, SIZE)


def baseline(args) -> dict:
    """The model and photo loaded, the target found with one compiled forward pass: the memory floor."""
    from importlib.metadata import version

    import keras
    import numpy as np
    import tensorflow as tf

    from history_of_interpretation.methods import Context
    from history_of_interpretation.methods.model_calls import DEFAULT_BATCH_SIZE

    bundle, photo = load_setup()
    # The same cached compiled call that attribute() uses for its probabilities.
    target = Context(bundle, photo, None, DEFAULT_BATCH_SIZE).target
    return {
        "target": target,
        "label": bundle.labels[target],
        "peak_rss_mb": peak_rss_mb(),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "saliency": version("saliency"),
        },
    }


def pass_times(args) -> dict:
    """Per-image seconds of one compiled call, per kind of pass and batch size.

    The calls are ModelCalls' own (compiled, fixed signature), with a
    batch_size large enough that no call is split, so each timing is one
    compiled call including its numpy conversions: the cheapest a method
    built on these calls can do per pass.
    """
    import numpy as np
    import psutil

    from history_of_interpretation.methods.guided_relu import guided_model
    from history_of_interpretation.methods.model_calls import ModelCalls

    bundle, photo = load_setup()
    x = bundle.preprocess(photo)
    sizes = [
        size for size in BATCH_SIZES if size <= 32 or psutil.virtual_memory().available / 2**30 >= BATCH_64_MIN_FREE_GB
    ]
    plain = ModelCalls(bundle.model, bundle.gradcam_layer, batch_size=max(sizes))
    guided = ModelCalls(guided_model(bundle.model), None, batch_size=max(sizes), kind_prefix=GUIDED)
    per_image: dict[str, dict[int, float]] = {}
    for kind in SWEEP_KINDS:
        call = pass_call(kind, plain, guided, args.target)
        per_image[kind] = {}
        for size in sizes:
            images = np.repeat(x[None], size, axis=0)
            call(images)  # untimed: the first call at a new batch size sets up its kernels
            per_image[kind][size] = per_image_seconds(call, images, sweep_repeats(size, args.quick))
        print(
            f"  {kind:15s} "
            + "  ".join(f"b{size}: {t * 1e3:.1f}" for size, t in per_image[kind].items())
            + "  ms/image",
            file=sys.stderr,
            flush=True,
        )
    return {"per_image_seconds": per_image, "batch_64_skipped": 64 not in sizes}


def measure_method(
    row: Row, bundle, photo, target: int, sweep: dict, runs: int, quick: bool, pair_budget: float
) -> dict:
    """Our attribute() `runs` times after a warm-up, each followed by its floor; then PAIR's pattern."""
    from history_of_interpretation.methods import Context, attribute
    from history_of_interpretation.methods.model_calls import DEFAULT_BATCH_SIZE

    attribute(row.method, bundle, photo, target=target, **row.overrides)  # compiles the calls
    context = Context(bundle, photo, target, DEFAULT_BATCH_SIZE)  # the floor probe's own calls
    results, spent, floors, peak, probe = [], [], [], None, None
    for _ in range(runs):
        result = attribute(row.method, bundle, photo, target=target, **row.overrides)
        # What this run spent, per kind of pass: its context's own counters (the photo's first pass is not counted).
        counts = {kind: (count.images, count.calls, count.seconds) for kind, count in result.counts.items()}
        results.append(result)
        spent.append(counts)
        if probe is None:
            # The method's own peak, read before the probe's calls (at up to 64 images) can raise it.
            peak = peak_rss_mb()
            probe = FloorProbe(context, result.pass_counts, sweep, quick)
        floors.append(probe.measure())

    report = {
        "passes": results[0].passes,
        "seconds": statistics.median(result.seconds for result in results),
        "run_seconds": [result.seconds for result in results],
        "floor_seconds": statistics.median(floor for floor, _ in floors),
        "run_floor_seconds": [floor for floor, _ in floors],
        "floor_by_kind": floors[len(floors) // 2][1],
        "model_call_seconds": statistics.median(sum(s for _, _, s in counts.values()) for counts in spent),
        "passes_by_kind": results[0].pass_counts,
        "compiled_calls_by_kind": {kind: calls for kind, (_, calls, _) in spent[0].items()},
        "peak_rss_mb": peak,
    }
    if "completeness_error" in results[0].extras:
        report["completeness_error"] = results[0].extras["completeness_error"]
    print(
        f"  ours: {report['passes']} passes, {report['seconds']:.3f} s, floor {report['floor_seconds']:.3f} s, "
        f"peak RSS {peak:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    report["pair"] = time_pair(row.spec, row.spec.checked(row.overrides), context, runs, pair_budget)
    return report


def method(args) -> dict:
    """Time one row (--row) on the real model and photo, its floor priced from the sweep (--pass-times)."""
    sweep = {
        kind: {int(size): t for size, t in times.items()}
        for kind, times in json.loads(args.pass_times.read_text()).items()
    }
    bundle, photo = load_setup()
    return measure_method(
        ROWS_BY_KEY[args.row], bundle, photo, args.target, sweep, args.runs, args.quick, args.pair_budget
    )


def ig_curve(args) -> dict:
    """Completeness error of integrated gradients against steps, for every path rule."""
    from history_of_interpretation.methods import attribute
    from history_of_interpretation.methods.integrated_gradients import PATH_RULES

    bundle, photo = load_setup()
    attribute("integrated_gradients", bundle, photo, target=args.target, steps=args.ig_steps[0])  # warm-up
    curve = {}
    for rule in PATH_RULES:
        curve[rule] = []
        for steps in args.ig_steps:
            result = attribute("integrated_gradients", bundle, photo, target=args.target, steps=steps, rule=rule)
            curve[rule].append(
                {
                    "steps": steps,
                    "passes": result.passes,
                    "seconds": result.seconds,
                    "completeness_error": result.extras["completeness_error"],
                }
            )
        print(
            f"  {rule:12s} " + "  ".join(f"{p['steps']}: {p['completeness_error']:.2%}" for p in curve[rule]),
            file=sys.stderr,
            flush=True,
        )
    return {"curve": curve}


CHILDREN = {"baseline": baseline, "pass_times": pass_times, "method": method, "ig_curve": ig_curve}
