#!/usr/bin/env python
"""Time every attribution method against its floor and against PAIR's usual pattern.

    make bench                                         # the full run (writes results.md/.json here)
    python -m benchmarks.run --quick                   # validation: 1 run each, short PAIR samples, no IG curve
    python -m benchmarks.run --methods smoothgrad,loo_grid_14

Every declared method (`METHODS`) runs at its defaults, plus the extra rows of
`rows.py`, on efficientnet_lite0 and the "chelsea" photo, explaining the top-1
class, which is found once and passed as an explicit target so that target
selection is never timed. For each row it reports:

* passes and seconds: `AttributionResult.passes` and the median of
  `AttributionResult.seconds` over --runs runs, after one warm-up run that
  compiles the model calls; the share of that time inside ModelCalls'
  compiled calls, from its counters (`ModelCalls.counts`).
* floor (floor.py): those passes, each kind priced at the best per-image time
  of one compiled call at a batch size no larger than the method's passes of
  that kind; guided passes at the plain model's price. The method's own
  process times those calls right after each run, so load moves both alike.
* PAIR (pair.py): the method's `spec.pair` run the way PAIR's examples do,
  with an eager `call_model_function` and one image per call; a run longer
  than --pair-budget seconds is stopped and scaled from the calls it made.
  Methods whose spec has no PAIR equivalent have none.
* peak RSS: every row runs in a fresh child process (children.py), whose peak
  is read after its warm-up and first timed run; a child that only loads the
  model and finds the target gives the baseline.

This parent process never loads the model: it starts the children, prints the
tables, writes results.md and results.json (report.py) and checks the goals
(goals.py) as PASS/MISS lines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python benchmarks/run.py): import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from .children import CHILDREN  # noqa: E402
from .goals import goals  # noqa: E402
from .report import build_entries, ig_curve_table, machine, main_table, markdown  # noqa: E402
from .rows import ROWS, ROWS_BY_KEY  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAIR_BUDGET_SECONDS = 60.0  # a PAIR run longer than a minute is timed in part and scaled
QUICK_PAIR_BUDGET_SECONDS = 4.0
IG_CURVE_STEPS = (16, 32, 64, 128, 256, 512)


def parse_args(argv=None):
    """The command line options of `make bench`."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="validation: 1 run per method, short PAIR samples, 1 call per pass time, no IG curve",
    )
    parser.add_argument("--methods", help=f"comma-separated rows to run (default all): {', '.join(ROWS_BY_KEY)}")
    parser.add_argument("--runs", type=int, help="timed runs per method after the warm-up (default 3; --quick: 1)")
    parser.add_argument(
        "--pair-budget",
        type=float,
        help=f"seconds a PAIR run may take before it is scaled (default {PAIR_BUDGET_SECONDS:.0f}; "
        f"--quick: {QUICK_PAIR_BUDGET_SECONDS:.0f})",
    )
    parser.add_argument(
        "--ig-curve",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure IG completeness error against steps (default: on, off with --quick)",
    )
    parser.add_argument(
        "--ig-steps",
        type=lambda text: [int(s) for s in text.split(",")],
        default=list(IG_CURVE_STEPS),
        help=f"steps for the IG curve (default {','.join(map(str, IG_CURVE_STEPS))})",
    )
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


class ChildFailed(RuntimeError):
    """A child process that measured a row exited with an error."""

    pass


def run_child(kind: str, args, *extra: str) -> dict:
    """Run one child process of this benchmark and return its JSON report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--child",
            kind,
            "--json-out",
            str(report),
            "--runs",
            str(args.runs),
            "--pair-budget",
            str(args.pair_budget),
            "--ig-steps",
            ",".join(map(str, args.ig_steps)),
            *extra,
        ]
        if args.quick:
            command.append("--quick")
        if args.target is not None:
            command += ["--target", str(args.target)]
        if args.pass_times is not None:
            command += ["--pass-times", str(args.pass_times)]
        completed = subprocess.run(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        # The children report progress on stderr among TensorFlow's start-up lines: show only theirs.
        for line in completed.stderr.splitlines():
            if line.startswith("  "):
                print(line, flush=True)
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.splitlines()[-25:])
            raise ChildFailed(f"child {kind} {' '.join(extra)} failed (exit {completed.returncode}):\n{tail}")
        return json.loads(report.read_text())


def main(argv=None) -> int:
    """Run every row in its own child process and write results.json and results.md."""
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
    per_image = {
        kind: {int(size): t for size, t in times.items()} for kind, times in pass_times["per_image_seconds"].items()
    }

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

    entries = build_entries(args.rows, reports, per_image)
    goal_lines = goals(entries, baseline["peak_rss_mb"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(entries, indent=2) + "\n")
    (args.out / "results.md").write_text(
        markdown(
            args,
            info,
            baseline,
            per_image,
            pass_times["batch_64_skipped"],
            entries,
            curve,
            goal_lines,
            time.perf_counter() - started,
        )
    )
    print()
    print(main_table(entries))
    if curve:
        print()
        print(ig_curve_table(curve))
    print()
    print("\n".join(goal_lines))
    print(
        f"\nwrote {args.out / 'results.md'} and {args.out / 'results.json'} "
        f"in {(time.perf_counter() - started) / 60:.1f} min"
    )
    return 1 if any("error" in entry for entry in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
