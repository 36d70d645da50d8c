#!/usr/bin/env python
"""Time every attribution method against its floor and against PAIR's usual pattern.

    make bench                                       # the full run (writes results.md/.json here)
    python benchmarks/run.py --quick                 # validation: 1 run each, short PAIR samples, no IG curve
    python benchmarks/run.py --methods smoothgrad,loo_grid_14

Every method runs at its defaults (`default_params`) on efficientnet_lite0 and
the "chelsea" photo, explaining the top-1 class, which is found once and
passed as an explicit target so that target selection is never timed. For
each method (and `loo_grid (14x14)`, the grid chapter 2 uses) it reports:

* passes and seconds: `AttributionResult.passes` and the median of
  `AttributionResult.seconds` over --runs runs, after one warm-up run that
  compiles the model calls.
* floor: what those passes would cost at the best per-image speed of one
  compiled call at a batch size no larger than the method's number of passes
  of that kind. Passes are priced by kind: a forward pass at the forward-only
  time (leave-one-out, and the completeness checks of IG and Blur IG), an
  input gradient at the forward+backward time (guided passes too: the floor
  is the plain model's), a Grad-CAM layer gradient at the layer-gradient time.
  A sweep at batch sizes 1..32 (and 64 when memory allows) finds each kind's
  best batch size; the method's own process then times that call right after
  each of its runs (`FloorProbe`), so machine load moves both alike.
* PAIR: the same method the way PAIR's examples run it: saliency.core with an
  eager `call_model_function` (`model(x)` under tf.GradientTape, no
  tf.function) and one image per call. A PAIR run that would take longer than
  --pair-budget seconds is stopped and scaled from the calls it made
  ("scaled from N of M calls"); PAIR has no guided backprop in saliency.core
  and no superpixel occlusion, so those rows have none.
* peak RSS: every method runs in a fresh child process, whose peak resident
  memory (getrusage) is read after its warm-up and first timed run, before
  the floor's calls and PAIR's run, so each row's peak is its own. A child
  that only loads the model and finds the target gives the baseline.

The parent process never loads the model: it starts the children, prints the
table, writes results.md and results.json and evaluates the goals of the
"fast by design" issue as PASS/MISS lines.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

# Importing the package imports TensorFlow (about 2 s) but loads no model.
from history_of_interpretation.methods import METHODS, default_params  # noqa: E402
from history_of_interpretation.methods.integrated_gradients import PATH_RULES  # noqa: E402

HERE = Path(__file__).resolve().parent
MODEL = "efficientnet_lite0"
IMAGE = "chelsea"
SIZE = 224

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
BATCH_64_MIN_FREE_GB = 6.0  # batch 64 forward+backward adds about 2 GB: measure it only with room to spare
FLOOR_MIN_REPEATS = 3  # full run: at least this many timed calls per (kind, batch size) ...
FLOOR_MIN_IMAGES = 64  # ... and at least this many images, so batch 1 is not one noisy call

PAIR_BUDGET_SECONDS = 60.0  # the spec: a PAIR run longer than a minute is timed in part and scaled
QUICK_PAIR_BUDGET_SECONDS = 4.0
PAIR_MIN_CALLS = 3  # a scaled PAIR time rests on at least this many calls

IG_CURVE_STEPS = (16, 32, 64, 128, 256, 512)
IG_ERROR_LEVELS = (0.01, 0.02)

# The goals of the issue.
FLOOR_RATIO_GOAL = 1.3
PAIR_SPEEDUP_GOAL = 10.0
BLUR_SHARE_GOAL = 0.25  # "the blurs must not dominate": a quarter of Blur IG's time at most
RSS_BOUND_MB = 3000.0  # stated bound on every method's peak at batch_size 32
GRADIENT_ROWS = ("vanilla_gradient", "guided_backprop", "grad_cam", "guided_grad_cam", "smoothgrad",
                 "integrated_gradients", "blur_ig")
LEAVE_ONE_OUT_ROWS = ("loo_grid", "loo_grid_14", "loo_superpixels")
PAIR_SPEEDUP_ROWS = ("smoothgrad", "integrated_gradients", "blur_ig")

# Kinds of pass, as counted by `CallLog`, and the per-image time each is priced at in the floor.
PASS_KINDS = ("forward", "gradient", "layer_gradient", "guided_gradient")
FLOOR_PRICE = {"forward": "forward", "gradient": "gradient", "layer_gradient": "layer_gradient",
               "guided_gradient": "gradient"}


# --- the rows ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table: a method with parameters over its defaults."""

    key: str  # what --methods selects
    method: str
    overrides: dict = field(default_factory=dict)
    label: str = ""  # the name in the table, by default the method's

    @property
    def name(self) -> str:
        return self.label or self.method

    @property
    def params(self) -> dict:
        return {**default_params(self.method), **self.overrides}


def _rows():
    for method in METHODS:
        yield Row(method, method)
        if method == "loo_grid":  # and the grid chapter 2 uses: the default 3x3 is trivially cheap
            yield Row("loo_grid_14", "loo_grid", {"grid": 14}, "loo_grid (14x14)")


ROWS = tuple(_rows())
ROWS_BY_KEY = {row.key: row for row in ROWS}


# --- child processes: each loads the model itself ----------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def load_setup():
    from history_of_interpretation import load_image, load_model

    return load_model(MODEL), load_image(IMAGE, SIZE)


def child_baseline(args) -> dict:
    """The model and photo loaded, the target found with one compiled forward pass: the memory floor."""
    import keras
    import numpy as np
    import tensorflow as tf
    from importlib.metadata import version

    from history_of_interpretation.methods import Context
    from history_of_interpretation.methods.model_calls import DEFAULT_BATCH_SIZE

    bundle, photo = load_setup()
    # The same cached compiled call that attribute() uses for its probabilities.
    target = Context(bundle, photo, None, DEFAULT_BATCH_SIZE).target
    return {
        "target": target, "label": bundle.labels[target], "peak_rss_mb": peak_rss_mb(),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__, "saliency": version("saliency")},
    }


def child_pass_times(args) -> dict:
    """Per-image seconds of one compiled call, per kind of pass and batch size.

    The calls are ModelCalls' own (tf.function, fixed signature), with a
    batch_size large enough that no call is split, so each timing is one
    compiled call including its numpy conversions: the cheapest a method
    built on these calls can do per pass.
    """
    import numpy as np
    import psutil

    from history_of_interpretation.methods.guided_relu import guided_model
    from history_of_interpretation.methods.model_calls import ModelCalls

    bundle, photo = load_setup()
    x, target = bundle.preprocess(photo), args.target
    sizes = [size for size in BATCH_SIZES
             if size <= 32 or psutil.virtual_memory().available / 2**30 >= BATCH_64_MIN_FREE_GB]
    plain = ModelCalls(bundle.model, bundle.gradcam_layer, batch_size=max(sizes))
    guided = ModelCalls(guided_model(bundle.model), None, batch_size=max(sizes))
    calls = {
        "forward": plain.logits,
        "gradient": lambda images: plain.input_gradients(images, target),
        "layer_gradient": lambda images: plain.layer_gradients(images, target),
        "guided_gradient": lambda images: guided.input_gradients(images, target),
    }
    per_image: dict[str, dict[int, float]] = {}
    for kind in PASS_KINDS:
        per_image[kind] = {}
        for size in sizes:
            images = np.repeat(x[None], size, axis=0)
            calls[kind](images)  # untimed: the first call at a new batch size sets up its kernels
            repeats = 1 if args.quick else max(FLOOR_MIN_REPEATS, math.ceil(FLOOR_MIN_IMAGES / size))
            seconds = []
            for _ in range(repeats):
                started = time.perf_counter()
                calls[kind](images)
                seconds.append(time.perf_counter() - started)
            per_image[kind][size] = statistics.median(seconds) / size
        print(f"  {kind:15s} " + "  ".join(f"b{size}: {t * 1e3:.1f}" for size, t in per_image[kind].items())
              + "  ms/image", file=sys.stderr, flush=True)
    return {"per_image_seconds": per_image, "batch_64_skipped": 64 not in sizes}


class CallLog:
    """Records every call into ModelCalls as (kind, images, compiled calls, seconds).

    The public calls are wrapped on the class, so every ModelCalls a method
    uses (the plain one and the guided clone's) is logged; a call on another
    model than the plain one is a guided pass.
    """

    METHOD_KINDS = {"logits": "forward", "input_gradients": "gradient", "layer_gradients": "layer_gradient"}

    def __init__(self, plain_model):
        from history_of_interpretation.methods.model_calls import ModelCalls

        self.plain_model = plain_model
        self.events: list[tuple[str, int, int, float]] = []
        for name, kind in self.METHOD_KINDS.items():
            setattr(ModelCalls, name, self._logged(getattr(ModelCalls, name), kind))

    def _logged(self, call, kind):
        @functools.wraps(call)
        def logged(calls, images, *args):
            started = time.perf_counter()
            output = call(calls, images, *args)
            seconds = time.perf_counter() - started
            this_kind = "guided_gradient" if kind == "gradient" and calls.model is not self.plain_model else kind
            self.events.append((this_kind, len(images), math.ceil(len(images) / calls.batch_size), seconds))
            return output

        return logged

    @staticmethod
    def totals(events) -> tuple[dict[str, int], dict[str, int]]:
        """Passes and compiled calls per kind."""
        passes: dict[str, int] = {}
        compiled_calls: dict[str, int] = {}
        for kind, images, calls, _ in events:
            passes[kind] = passes.get(kind, 0) + images
            compiled_calls[kind] = compiled_calls.get(kind, 0) + calls
        return passes, compiled_calls

    def method_events(self) -> list[tuple[str, int, int, float]]:
        """The events of one attribute() call less its first: the untimed probability pass."""
        first = self.events[0]
        if first[:2] != ("forward", 1):
            raise RuntimeError(f"expected attribute() to start with one forward pass, got {first}")
        return self.events[1:]


class FloorProbe:
    """Times a method's passes at their best batch size, in the method's own process, between its runs.

    Which batch size is best for each kind of pass comes from the sweep
    (`child_pass_times`); timing it again next to each run means a machine
    that speeds up or slows down (other load, clocks) moves the method and
    its floor alike, so their ratio holds. Guided passes are priced as plain
    ones; the guided pass itself is timed alongside to say what it costs.
    """

    def __init__(self, bundle, photo, target: int, passes_by_kind: dict[str, int], sweep: dict, quick: bool):
        import numpy as np

        from history_of_interpretation.methods import Context
        from history_of_interpretation.methods.model_calls import DEFAULT_BATCH_SIZE, ModelCalls

        largest = max(size for times in sweep.values() for size in times)
        calls = ModelCalls(bundle.model, bundle.gradcam_layer, batch_size=largest)  # no call is split
        functions = {
            "forward": calls.logits,
            "gradient": lambda images: calls.input_gradients(images, target),
            "layer_gradient": lambda images: calls.layer_gradients(images, target),
        }
        if "guided_gradient" in passes_by_kind:  # the method's own (cached) guided calls
            guided = Context(bundle, photo, target, DEFAULT_BATCH_SIZE).guided_calls
            functions["guided_gradient"] = lambda images: guided.input_gradients(images, target)
        x = bundle.preprocess(photo)
        self.plan = []
        for kind, passes in passes_by_kind.items():
            price = FLOOR_PRICE[kind]
            times = sweep[price]
            batch = min((size for size in times if size <= passes), key=times.get)
            repeats = max(math.ceil(passes / batch), 1 if quick else FLOOR_MIN_REPEATS)
            images = np.repeat(x[None], batch, axis=0)
            functions[price](images)  # untimed: compiles, and sets up this batch size
            self.plan.append((kind, passes, price, batch, repeats, images))
        self.functions = functions

    def per_image(self, kind: str, images, repeats: int) -> float:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            self.functions[kind](images)
            seconds.append(time.perf_counter() - started)
        return statistics.median(seconds) / len(images)

    def measure(self) -> tuple[float, dict]:
        """The floor in seconds, and per kind: passes, price, batch size, per-image ms."""
        total, detail = 0.0, {}
        for kind, passes, price, batch, repeats, images in self.plan:
            per_image = self.per_image(price, images, repeats)
            total += passes * per_image
            detail[kind] = {"passes": passes, "priced_as": price, "batch": batch, "per_image_ms": per_image * 1e3}
            if kind != price:
                detail[kind]["own_per_image_ms"] = self.per_image(kind, images, repeats) * 1e3
        return total, detail


def child_method(args) -> dict:
    """Time one row: our attribute() --runs times, each followed by its floor; then PAIR's pattern."""
    from history_of_interpretation.methods import attribute

    row = ROWS_BY_KEY[args.row]
    sweep = {kind: {int(size): t for size, t in times.items()}
             for kind, times in json.loads(args.pass_times.read_text()).items()}
    bundle, photo = load_setup()
    log = CallLog(bundle.model)
    attribute(row.method, bundle, photo, target=args.target, **row.overrides)  # warm-up: compiles the calls
    passes_by_kind, compiled_calls_by_kind = log.totals(log.method_events())
    results, model_call_seconds, floors, peak, probe = [], [], [], None, None
    for _ in range(args.runs):
        log.events.clear()
        result = attribute(row.method, bundle, photo, target=args.target, **row.overrides)
        events = log.method_events()
        if sum(images for _, images, _, _ in events) != result.passes:
            raise RuntimeError(f"{row.name}: logged {events} but result.passes = {result.passes}")
        results.append(result)
        model_call_seconds.append(sum(seconds for *_, seconds in events))
        if probe is None:
            # The method's own peak, read before the probe's calls (at up to 64 images) can raise it.
            peak = peak_rss_mb()
            probe = FloorProbe(bundle, photo, args.target, passes_by_kind, sweep, args.quick)
        floors.append(probe.measure())

    report = {
        "passes": results[0].passes,
        "seconds": statistics.median(result.seconds for result in results),
        "run_seconds": [result.seconds for result in results],
        "floor_seconds": statistics.median(floor for floor, _ in floors),
        "run_floor_seconds": [floor for floor, _ in floors],
        "floor_by_kind": floors[len(floors) // 2][1],
        "model_call_seconds": statistics.median(model_call_seconds),
        "passes_by_kind": passes_by_kind,
        "compiled_calls_by_kind": compiled_calls_by_kind,
        "peak_rss_mb": peak,
    }
    if "blur_seconds" in results[0].extras:
        report["blur_share"] = statistics.median(r.extras["blur_seconds"] / r.seconds for r in results)
    if "completeness_error" in results[0].extras:
        report["completeness_error"] = results[0].extras["completeness_error"]
    print(f"  ours: {report['passes']} passes, {report['seconds']:.3f} s, floor {report['floor_seconds']:.3f} s, "
          f"peak RSS {peak:.0f} MB", file=sys.stderr, flush=True)
    report["pair"] = time_pair(row, bundle, photo, args)
    return report


def child_ig_curve(args) -> dict:
    """Completeness error of integrated gradients against steps, for every path rule."""
    from history_of_interpretation.methods import attribute

    bundle, photo = load_setup()
    attribute("integrated_gradients", bundle, photo, target=args.target, steps=args.ig_steps[0])  # warm-up
    curve = {}
    for rule in PATH_RULES:
        curve[rule] = []
        for steps in args.ig_steps:
            result = attribute("integrated_gradients", bundle, photo, target=args.target, steps=steps, rule=rule)
            curve[rule].append({"steps": steps, "passes": result.passes, "seconds": result.seconds,
                                "completeness_error": result.extras["completeness_error"]})
        print(f"  {rule:12s} " + "  ".join(f"{p['steps']}: {p['completeness_error']:.2%}" for p in curve[rule]),
              file=sys.stderr, flush=True)
    return {"curve": curve}


# --- PAIR's usual pattern ------------------------------------------------------


def pair_call_model_function(bundle):
    """The call_model_function of PAIR's TF2 examples: an eager two-output model, one tape per call."""
    import keras
    import numpy as np
    import saliency.core as saliency
    import tensorflow as tf

    model = bundle.model
    conv_and_logits = keras.Model(model.inputs, [model.get_layer(bundle.gradcam_layer).output, model.outputs[0]])

    def call_model_function(images, call_model_args=None, expected_keys=None):
        target = call_model_args["target"]
        # GetSmoothedMask adds float64 noise; the model takes float32.
        images = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
        if expected_keys == [saliency.base.OUTPUT_LAYER_VALUES]:
            _, logits = conv_and_logits(images, training=False)
            return {saliency.base.OUTPUT_LAYER_VALUES: tf.nn.softmax(logits)[:, target].numpy()}
        with tf.GradientTape() as tape:
            if expected_keys == [saliency.base.INPUT_OUTPUT_GRADIENTS]:
                tape.watch(images)
                _, logits = conv_and_logits(images, training=False)
                gradients = np.array(tape.gradient(logits[:, target], images))
                return {saliency.base.INPUT_OUTPUT_GRADIENTS: gradients}
            conv, logits = conv_and_logits(images, training=False)
            gradients = np.array(tape.gradient(logits[:, target], conv))
            return {saliency.base.CONVOLUTION_LAYER_VALUES: np.array(conv),
                    saliency.base.CONVOLUTION_OUTPUT_GRADIENTS: gradients}

    return call_model_function


def pair_run(row: Row, bundle, photo):
    """(expected keys, model calls in one full run, run(call_model_function, call_model_args)),
    or None where saliency.core has no such method (guided backprop, guided Grad-CAM, superpixels)."""
    import numpy as np
    import saliency.core as saliency

    from history_of_interpretation.methods import Context
    from history_of_interpretation.methods.integrated_gradients import baseline_image

    params = row.params
    x = bundle.preprocess(photo)
    gradients = [saliency.base.INPUT_OUTPUT_GRADIENTS]
    if row.method == "vanilla_gradient":
        return gradients, 1, lambda f, a: saliency.GradientSaliency().GetMask(x, f, a)
    if row.method == "grad_cam":
        keys = [saliency.base.CONVOLUTION_LAYER_VALUES, saliency.base.CONVOLUTION_OUTPUT_GRADIENTS]
        return keys, 1, lambda f, a: saliency.GradCam().GetMask(x, f, a, should_resize=True, three_dims=False)
    if row.method == "smoothgrad" and params["base"] == "vanilla_gradient":
        return gradients, params["samples"], lambda f, a: saliency.GradientSaliency().GetSmoothedMask(
            x, f, a, stdev_spread=params["noise"], nsamples=params["samples"], magnitude=params["magnitude"])
    if row.method == "integrated_gradients":
        start = baseline_image(Context(bundle, photo, 0, 1), params["baseline"])
        return gradients, params["steps"], lambda f, a: saliency.IntegratedGradients().GetMask(
            x, f, a, x_baseline=start, x_steps=params["steps"], batch_size=1)
    if row.method == "blur_ig":
        return gradients, params["steps"], lambda f, a: saliency.BlurIG().GetMask(
            x, f, a, max_sigma=params["max_sigma"], steps=params["steps"], batch_size=1)
    if row.method == "loo_grid":
        # PAIR slides a window of the grid cell's size at stride 1: one call per position, plus the photo.
        size = round(SIZE / params["grid"])
        value = float(bundle.preprocess(np.float32(params["fill"])))
        total = 1 + (SIZE - size + 1) ** 2
        return [saliency.base.OUTPUT_LAYER_VALUES], total, lambda f, a: saliency.Occlusion().GetMask(
            x, f, a, size=size, value=value)
    return None


class BudgetSpent(Exception):
    """Raised inside a PAIR run to stop it once its time budget is spent."""


class BudgetedCalls:
    """Counts the calls of a PAIR run and stops it (before a call) once the budget is spent."""

    def __init__(self, function, budget_seconds: float, min_calls: int):
        self.function, self.budget, self.min_calls = function, budget_seconds, min_calls
        self.calls, self.started, self.last_return = 0, time.perf_counter(), None

    def __call__(self, images, call_model_args=None, expected_keys=None):
        if self.calls >= self.min_calls and time.perf_counter() - self.started > self.budget:
            raise BudgetSpent
        output = self.function(images, call_model_args=call_model_args, expected_keys=expected_keys)
        self.calls += 1
        self.last_return = time.perf_counter()
        return output


def time_pair(row: Row, bundle, photo, args) -> dict | None:
    """Seconds of PAIR's pattern for this row: the median of full runs within the budget, or one run scaled.

    A run stopped by the budget is priced as (time to the end of its last
    call) x (calls in a full run) / (calls made). That assumes calls cost
    alike; for Blur IG the later steps blur wider (scipy's cost grows with
    sigma), so a scaled Blur IG time is an underestimate.
    """
    import numpy as np

    plan = pair_run(row, bundle, photo)
    if plan is None:
        return None
    keys, total_calls, run = plan
    function = pair_call_model_function(bundle)
    call_model_args = {"target": args.target}
    x = bundle.preprocess(photo)
    function(x[None], call_model_args=call_model_args, expected_keys=keys)  # untimed: eager first-call setup
    np.random.seed(0)  # GetSmoothedMask draws from the global generator

    # The first run may be stopped by the budget and scaled; repeats (up to
    # --runs, for the cheap methods) only start when a whole run still fits.
    first = BudgetedCalls(function, args.pair_budget, min_calls=min(PAIR_MIN_CALLS, total_calls))
    try:
        run(first, call_model_args)
    except BudgetSpent:
        seconds = (first.last_return - first.started) * total_calls / first.calls
        print(f"  PAIR: {seconds:.1f} s scaled from {first.calls} of {total_calls} calls", file=sys.stderr, flush=True)
        return {"seconds": seconds, "calls_timed": first.calls, "calls_total": total_calls, "scaled": True, "runs": 1}
    full_runs = [time.perf_counter() - first.started]
    if first.calls != total_calls:
        raise RuntimeError(f"{row.name}: PAIR made {first.calls} calls, expected {total_calls}")
    while len(full_runs) < args.runs and sum(full_runs) + max(full_runs) <= args.pair_budget:
        started = time.perf_counter()
        run(function, call_model_args)
        full_runs.append(time.perf_counter() - started)
    seconds = statistics.median(full_runs)
    print(f"  PAIR: {seconds:.2f} s, {total_calls} calls, {len(full_runs)} full run(s)", file=sys.stderr, flush=True)
    return {"seconds": seconds, "calls_timed": total_calls, "calls_total": total_calls, "scaled": False,
            "runs": len(full_runs)}


CHILDREN = {"baseline": child_baseline, "pass_times": child_pass_times, "method": child_method,
            "ig_curve": child_ig_curve}


# --- the parent ------------------------------------------------------------------


def run_child(kind: str, args, *extra: str) -> dict:
    """Run one child process of this script and return its JSON report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--json-out", str(report),
                   "--runs", str(args.runs), "--pair-budget", str(args.pair_budget),
                   "--ig-steps", ",".join(map(str, args.ig_steps)), *extra]
        if args.quick:
            command.append("--quick")
        if args.target is not None:
            command += ["--target", str(args.target)]
        if args.pass_times is not None:
            command += ["--pass-times", str(args.pass_times)]
        completed = subprocess.run(command, stderr=subprocess.PIPE, text=True)
        # The children report progress on stderr among TensorFlow's start-up lines: show only theirs.
        for line in completed.stderr.splitlines():
            if line.startswith("  "):
                print(line, flush=True)
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.splitlines()[-25:])
            raise ChildFailed(f"child {kind} {' '.join(extra)} failed (exit {completed.returncode}):\n{tail}")
        return json.loads(report.read_text())


class ChildFailed(RuntimeError):
    pass


def sweep_floor(passes_by_kind: dict[str, int], per_image: dict[str, dict[int, float]]) -> float:
    """The floor priced from the sweep alone (kept for reference: the probe's floor is timed next to the runs)."""
    return sum(passes * min(t for size, t in per_image[FLOOR_PRICE[kind]].items() if size <= passes)
               for kind, passes in passes_by_kind.items())


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "platform": platform.platform(),
            "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None}


def build_rows(rows: list[Row], reports: dict, per_image) -> list[dict]:
    """The results.json entries: the spec's keys first, then what explains them."""
    entries = []
    for row in rows:
        report = reports.get(row.key)
        entry = {"method": row.name, "passes": None, "seconds": None, "floor_seconds": None,
                 "ratio_to_floor": None, "pair_seconds": None, "speedup_vs_pair": None, "peak_rss_mb": None,
                 "key": row.key, "params": row.params}
        if report is None or "error" in report:
            entry["error"] = (report or {}).get("error", "not run")
            entries.append(entry)
            continue
        floor, floor_detail, pair = report["floor_seconds"], report["floor_by_kind"], report["pair"]
        entry.update(
            passes=report["passes"], seconds=report["seconds"], floor_seconds=floor,
            ratio_to_floor=report["seconds"] / floor, peak_rss_mb=report["peak_rss_mb"],
            pair_seconds=pair and pair["seconds"],
            speedup_vs_pair=pair and pair["seconds"] / report["seconds"],
            run_seconds=report["run_seconds"], run_floor_seconds=report["run_floor_seconds"],
            floor_seconds_sweep=sweep_floor(report["passes_by_kind"], per_image),
            model_call_seconds=report["model_call_seconds"],
            passes_by_kind=report["passes_by_kind"], compiled_calls_by_kind=report["compiled_calls_by_kind"],
            floor_by_kind=floor_detail, pair=pair,
        )
        for extra in ("blur_share", "completeness_error"):
            if extra in report:
                entry[extra] = report[extra]
        if "guided_gradient" in floor_detail:  # the floor prices guided passes as plain ones: say what they cost
            guided = floor_detail["guided_gradient"]
            entry["guided_pass_vs_plain"] = guided["own_per_image_ms"] / guided["per_image_ms"]
        entries.append(entry)
    return entries


def fmt(value, pattern: str, none: str = "–") -> str:
    return none if value is None else format(value, pattern)


def pair_note(entry: dict) -> str:
    pair = entry.get("pair")
    if "error" in entry:
        return f"failed: {entry['error'].splitlines()[0]}"
    if pair is None:
        return "no PAIR method"
    if pair["scaled"]:
        return f"PAIR scaled from {pair['calls_timed']} of {pair['calls_total']} calls"
    return f"PAIR {pair['calls_total']} calls, median of {pair['runs']} run(s)"


def main_table(entries: list[dict]) -> str:
    lines = [
        "| method | passes | seconds | floor (s) | x floor | in model calls | PAIR (s) | speedup vs PAIR "
        "| peak RSS (MB) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in entries:
        notes = [pair_note(entry)]
        if "blur_share" in entry:
            notes.append(f"blurs {entry['blur_share']:.1%} of the time")
        if "completeness_error" in entry:
            notes.append(f"completeness error {entry['completeness_error']:.2%}")
        if "guided_pass_vs_plain" in entry:
            notes.append(f"a guided pass costs {entry['guided_pass_vs_plain']:.2f}x a plain one")
        in_calls = entry.get("model_call_seconds") and entry["model_call_seconds"] / entry["seconds"]
        lines.append(
            f"| {entry['method']} | {fmt(entry['passes'], 'd')} | {fmt(entry['seconds'], '.3f')} "
            f"| {fmt(entry['floor_seconds'], '.3f')} | {fmt(entry['ratio_to_floor'], '.2f')} "
            f"| {fmt(in_calls, '.0%')} | {fmt(entry['pair_seconds'], '.2f')} "
            f"| {fmt(entry['speedup_vs_pair'], '.1f')} | {fmt(entry['peak_rss_mb'], '.0f')} | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def pass_time_table(per_image: dict) -> str:
    sizes = sorted({size for times in per_image.values() for size in times})
    lines = ["| pass (ms per image) | " + " | ".join(f"batch {size}" for size in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for kind, times in per_image.items():
        best = min(times.values())
        cells = [(f"**{times[s] * 1e3:.1f}**" if times[s] == best else f"{times[s] * 1e3:.1f}") if s in times else "–"
                 for s in sizes]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ig_curve_table(curve: dict) -> str:
    steps = [point["steps"] for point in next(iter(curve.values()))]
    lines = ["| rule | " + " | ".join(f"{s} steps" for s in steps) + " | "
             + " | ".join(f"steps to {level:.0%}" for level in IG_ERROR_LEVELS) + " |",
             "|---|" + "---:|" * (len(steps) + len(IG_ERROR_LEVELS))]
    for rule, points in curve.items():
        reached = [next((p["steps"] for p in points if p["completeness_error"] <= level), None)
                   for level in IG_ERROR_LEVELS]
        lines.append(f"| {rule} | " + " | ".join(f"{p['completeness_error']:.2%}" for p in points) + " | "
                     + " | ".join(f"{r}" if r else f"> {steps[-1]}" for r in reached) + " |")
    return "\n".join(lines)


def goals(entries: list[dict], baseline_mb: float) -> list[str]:
    """PASS/MISS for each goal of the issue; SKIP where the row was not run."""
    by_key = {entry["key"]: entry for entry in entries}
    lines = []

    def check(key: str, value_key: str, passes, describe):
        entry = by_key.get(key)
        value = entry and entry.get(value_key)
        if value is None:
            lines.append(f"SKIP  {key}: {describe(None)}")
        else:
            lines.append(f"{'PASS' if passes(value) else 'MISS'}  {entry['method']}: {describe(value)}")

    for key in GRADIENT_ROWS:
        check(key, "ratio_to_floor", lambda r: r <= FLOOR_RATIO_GOAL,
              lambda r: f"within {FLOOR_RATIO_GOAL}x of its floor (fwd+bwd)" + (f": {r:.2f}x" if r else ""))
    for key in PAIR_SPEEDUP_ROWS:
        check(key, "speedup_vs_pair", lambda s: s >= PAIR_SPEEDUP_GOAL,
              lambda s: f"at least {PAIR_SPEEDUP_GOAL:.0f}x faster than PAIR" + (f": {s:.1f}x" if s else ""))
    for key in LEAVE_ONE_OUT_ROWS:
        check(key, "ratio_to_floor", lambda r: r <= FLOOR_RATIO_GOAL,
              lambda r: f"within {FLOOR_RATIO_GOAL}x of its forward-only floor" + (f": {r:.2f}x" if r else ""))
    check("blur_ig", "blur_share", lambda share: share <= BLUR_SHARE_GOAL,
          lambda share: f"blurs under {BLUR_SHARE_GOAL:.0%} of Blur IG's time" + (f": {share:.1%}" if share else ""))
    peaks = [entry["peak_rss_mb"] for entry in entries if entry["peak_rss_mb"] is not None]
    if peaks:
        lines.append(f"{'PASS' if max(peaks) < RSS_BOUND_MB else 'MISS'}  memory: every method's peak RSS under "
                     f"{RSS_BOUND_MB:.0f} MB at batch_size 32: highest {max(peaks):.0f} MB "
                     f"(baseline {baseline_mb:.0f} MB)")
    return lines


def write_markdown(path: Path, args, info: dict, baseline: dict, per_image: dict, skipped_64: bool,
                   entries: list[dict], curve: dict | None, goal_lines: list[str], elapsed: float) -> None:
    versions = baseline["versions"]
    load = info["load_average_at_start"]
    mode = ("--quick: validation only, 1 run per method, 1 call per pass time, short PAIR samples" if args.quick
            else f"full run, median of {args.runs} runs per method")
    parts = [
        "# Benchmark: attribution methods against their floor and PAIR",
        "",
        f"Written by `benchmarks/run.py` ({mode}) on {time.strftime('%Y-%m-%d %H:%M')}, in {elapsed / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores (os.cpu_count()), {info['usable_cores']} usable",
        f"- load average at start: {', '.join(f'{v:.2f}' for v in load) if load else 'unknown'} "
        "(timings from a busy machine are noisy)",
        f"- python {versions['python']}, tensorflow {versions['tensorflow']}, keras {versions['keras']}, "
        f"numpy {versions['numpy']}, saliency {versions['saliency']}",
        f"- {info['platform']}",
        "",
        "## Setup",
        "",
        f"{MODEL}, photo `load_image(\"{IMAGE}\", {SIZE})`, target class {baseline['target']} "
        f"({baseline['label']}, the top-1, passed explicitly), every method at its defaults with batch_size 32. "
        "Seconds are the median of `result.seconds` after one warm-up run; \"in model calls\" is the share of "
        "that time spent inside ModelCalls' compiled calls (the rest is Python and numpy around them). The floor "
        "prices each kind of pass at its best per-image time at a batch no larger than the method's passes "
        "of that kind: the sweep below picks that batch size, and the method's own process times it right "
        "after each of its runs, so the method and its floor see the same machine load. PAIR is saliency.core "
        "with an eager `call_model_function`, one image per call, as in PAIR's examples; a PAIR run over "
        f"{args.pair_budget:.0f} s is stopped and scaled from the calls it made (for Blur IG that "
        "underestimates PAIR, whose later blurs are wider).",
        "",
        main_table(entries),
        "",
        "## Per-image time of one compiled pass",
        "",
        pass_time_table(per_image),
        "",
        "forward: logits only (leave-one-out); gradient: forward+backward to the input (vanilla, SmoothGrad, IG, "
        "Blur IG); layer_gradient: forward+backward to the Grad-CAM layer; guided_gradient: forward+backward "
        "through the guided-ReLU clone (shown for reference; guided passes are priced at the plain gradient's "
        "time in the floor). The best of each row is in bold."
        + (" Batch 64 was skipped: not enough free memory." if skipped_64 else ""),
        "",
        "## Memory",
        "",
        f"Each method runs in a fresh process; the baseline process (model and photo loaded, target found with "
        f"one compiled forward pass) peaks at {baseline['peak_rss_mb']:.0f} MB.",
    ]
    peaks = [e["peak_rss_mb"] for e in entries if e["peak_rss_mb"] is not None]
    if peaks:
        parts.append(f"Every method measured stays under {RSS_BOUND_MB:.0f} MB at batch_size 32 "
                     f"(highest {max(peaks):.0f} MB)." if max(peaks) < RSS_BOUND_MB else
                     f"At least one method exceeds {RSS_BOUND_MB:.0f} MB at batch_size 32 "
                     f"(highest {max(peaks):.0f} MB).")
    blur = next((e for e in entries if "blur_share" in e), None)
    if blur:
        parts += ["", "## Blur IG", "",
                  f"The blurs (and their derivatives in sigma) take {blur['blur_share']:.1%} of Blur IG's time "
                  f"(`extras[\"blur_seconds\"] / seconds`, median over runs)."]
    if curve:
        parts += ["", "## Integrated gradients: completeness error against steps", "",
                  f"On the same photo and target; each step is one forward+backward pass (plus 2 forward passes "
                  f"for the check). The last columns give the fewest steps, of those tried, that reach each error.",
                  "", ig_curve_table(curve)]
    elif not args.quick:
        parts += ["", "The IG completeness curve was not run (--no-ig-curve)."]
    parts += ["", "## Goals", "", "```", *goal_lines, "```", ""]
    path.write_text("\n".join(parts))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="validation: 1 run per method, short PAIR samples, 1 call per pass time, no IG curve")
    parser.add_argument("--methods", help=f"comma-separated rows to run (default all): {', '.join(ROWS_BY_KEY)}")
    parser.add_argument("--runs", type=int, help="timed runs per method after the warm-up (default 3; --quick: 1)")
    parser.add_argument("--pair-budget", type=float,
                        help=f"seconds a PAIR run may take before it is scaled (default {PAIR_BUDGET_SECONDS:.0f}; "
                             f"--quick: {QUICK_PAIR_BUDGET_SECONDS:.0f})")
    parser.add_argument("--ig-curve", action=argparse.BooleanOptionalAction, default=None,
                        help="measure IG completeness error against steps (default: on, off with --quick)")
    parser.add_argument("--ig-steps", type=lambda text: [int(s) for s in text.split(",")],
                        default=list(IG_CURVE_STEPS),
                        help=f"steps for the IG curve (default {','.join(map(str, IG_CURVE_STEPS))})")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.md and results.json")
    # Internal: what a child process runs, where it writes, and the target found by the baseline child.
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pass-times", type=Path, help=argparse.SUPPRESS)  # the sweep, as JSON
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.pair_budget = args.pair_budget or (QUICK_PAIR_BUDGET_SECONDS if args.quick else PAIR_BUDGET_SECONDS)
    args.ig_curve = (not args.quick) if args.ig_curve is None else args.ig_curve
    if args.methods:
        keys = [key.strip() for key in args.methods.split(",") if key.strip()]
        unknown = [key for key in keys if key not in ROWS_BY_KEY]
        if unknown:
            parser.error(f"unknown method {', '.join(unknown)}; choose from {', '.join(ROWS_BY_KEY)}")
        args.rows = [ROWS_BY_KEY[key] for key in keys]
    else:
        args.rows = list(ROWS)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        args.json_out.write_text(json.dumps(CHILDREN[args.child](args)))
        return 0

    started = time.perf_counter()
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, load {info['load_average_at_start']}", flush=True)
    print("baseline (model loaded, target found)", flush=True)
    baseline = run_child("baseline", args)
    args.target = baseline["target"]
    print(f"  target {baseline['target']} ({baseline['label']}), peak RSS {baseline['peak_rss_mb']:.0f} MB", flush=True)
    print("per-image time of one compiled pass", flush=True)
    pass_times = run_child("pass_times", args)
    per_image = {kind: {int(size): t for size, t in times.items()}
                 for kind, times in pass_times["per_image_seconds"].items()}

    reports: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        # Each method's child reads the sweep to pick the batch sizes its floor is timed at.
        args.pass_times = Path(folder) / "pass_times.json"
        args.pass_times.write_text(json.dumps(per_image))
        for index, row in enumerate(args.rows, 1):
            print(f"[{index}/{len(args.rows)}] {row.name}", flush=True)
            try:
                reports[row.key] = run_child("method", args, "--row", row.key)
            except ChildFailed as error:
                print(error, flush=True)
                reports[row.key] = {"error": str(error)}
        args.pass_times = None

    curve = None
    if args.ig_curve:
        print(f"IG completeness error against steps {args.ig_steps}", flush=True)
        curve = run_child("ig_curve", args)["curve"]

    entries = build_rows(args.rows, reports, per_image)
    goal_lines = goals(entries, baseline["peak_rss_mb"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(entries, indent=2) + "\n")
    write_markdown(args.out / "results.md", args, info, baseline, per_image, pass_times["batch_64_skipped"],
                   entries, curve, goal_lines, time.perf_counter() - started)

    print()
    print(main_table(entries))
    if curve:
        print()
        print(ig_curve_table(curve))
    print()
    print("\n".join(goal_lines))
    print(f"\nwrote {args.out / 'results.md'} and {args.out / 'results.json'} "
          f"in {(time.perf_counter() - started) / 60:.1f} min")
    return 1 if any("error" in entry for entry in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
