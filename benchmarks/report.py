"""results.json entries and the tables of results.md, from the children's reports."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from .floor import GUIDED, sweep_floor
from .goals import RSS_BOUND_MB
from .rows import ROWS_BY_KEY, Row

IG_ERROR_LEVELS = (0.01, 0.02)  # the IG curve's last columns: fewest steps to reach each completeness error

# What each kind of pass is, for the note under the pass-time table.
PASS_KIND_MEANINGS = {
    "forward": "logits only",
    "gradient": "forward+backward to the input",
    "layer_gradient": "forward+backward to the Grad-CAM layer",
    GUIDED + "gradient": "forward+backward through the guided-ReLU clone (priced at the plain gradient's time)",
}


def build_entries(rows: list[Row], reports: dict, per_image: dict) -> list[dict]:
    """The results.json entries: the headline keys first, then what explains them."""
    entries = []
    for row in rows:
        report = reports.get(row.key)
        entry = {
            "method": row.name,
            "passes": None,
            "seconds": None,
            "floor_seconds": None,
            "ratio_to_floor": None,
            "pair_seconds": None,
            "speedup_vs_pair": None,
            "peak_rss_mb": None,
            "key": row.key,
            "params": row.params,
        }
        if report is None or "error" in report:
            entry["error"] = (report or {}).get("error", "not run")
            entries.append(entry)
            continue
        floor, floor_detail, pair = report["floor_seconds"], report["floor_by_kind"], report["pair"]
        entry.update(
            passes=report["passes"],
            seconds=report["seconds"],
            floor_seconds=floor,
            ratio_to_floor=report["seconds"] / floor,
            peak_rss_mb=report["peak_rss_mb"],
            pair_seconds=pair and pair["seconds"],
            speedup_vs_pair=pair and pair["seconds"] / report["seconds"],
            run_seconds=report["run_seconds"],
            run_floor_seconds=report["run_floor_seconds"],
            floor_seconds_sweep=sweep_floor(report["passes_by_kind"], per_image),
            model_call_seconds=report["model_call_seconds"],
            passes_by_kind=report["passes_by_kind"],
            compiled_calls_by_kind=report["compiled_calls_by_kind"],
            floor_by_kind=floor_detail,
            pair=pair,
        )
        if "completeness_error" in report:
            entry["completeness_error"] = report["completeness_error"]
        guided = next((detail for detail in floor_detail.values() if "own_per_image_ms" in detail), None)
        if guided:  # the floor prices guided passes as plain ones: say what they cost
            entry["guided_pass_vs_plain"] = guided["own_per_image_ms"] / guided["per_image_ms"]
        entries.append(entry)
    return entries


def fmt(value, pattern: str, none: str = "–") -> str:
    """A number in `pattern`, or `none` where there is no value."""
    return none if value is None else format(value, pattern)


def pair_note(entry: dict) -> str:
    """The notes column for PAIR's timing of one row."""
    pair = entry.get("pair")
    if "error" in entry:
        return f"failed: {entry['error'].splitlines()[0]}"
    if pair is None:
        return (
            "no PAIR method"
            if ROWS_BY_KEY[entry["key"]].spec.pair is None
            else "PAIR has no equivalent at these settings"
        )
    if pair["scaled"]:
        return f"PAIR scaled from {pair['calls_timed']} of {pair['calls_total']} calls"
    return f"PAIR {pair['calls_total']} calls, median of {pair['runs']} run(s)"


def main_table(entries: list[dict]) -> str:
    """The main results table: passes, seconds, floor, ratio and PAIR speedup per row."""
    lines = [
        "| method | passes | seconds | floor (s) | x floor | in model calls | PAIR (s) | speedup vs PAIR "
        "| peak RSS (MB) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in entries:
        notes = [pair_note(entry)]
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
    """Milliseconds per image by kind of pass and batch size, the best of each kind in bold."""
    sizes = sorted({size for times in per_image.values() for size in times})
    lines = [
        "| pass (ms per image) | " + " | ".join(f"batch {size}" for size in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for kind, times in per_image.items():
        best = min(times.values())
        cells = [
            (f"**{times[s] * 1e3:.1f}**" if times[s] == best else f"{times[s] * 1e3:.1f}") if s in times else "–"
            for s in sizes
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pass_kinds_note(per_image: dict, entries: list[dict]) -> str:
    """Which rows spend each kind of pass in the sweep, and what it is."""
    notes = []
    for kind in per_image:
        users = [entry["method"] for entry in entries if kind in (entry.get("passes_by_kind") or {})]
        notes.append(
            f"{kind}" + (f" ({', '.join(users)})" if users else "") + f": {PASS_KIND_MEANINGS.get(kind, kind)}"
        )
    return "; ".join(notes) + ". The best of each row is in bold."


def ig_curve_table(curve: dict) -> str:
    """Completeness error by path rule and steps, and the fewest steps that reach each IG_ERROR_LEVELS."""
    steps = [point["steps"] for point in next(iter(curve.values()))]
    lines = [
        "| rule | "
        + " | ".join(f"{s} steps" for s in steps)
        + " | "
        + " | ".join(f"steps to {level:.0%}" for level in IG_ERROR_LEVELS)
        + " |",
        "|---|" + "---:|" * (len(steps) + len(IG_ERROR_LEVELS)),
    ]
    for rule, points in curve.items():
        reached = [
            next((p["steps"] for p in points if p["completeness_error"] <= level), None) for level in IG_ERROR_LEVELS
        ]
        lines.append(
            f"| {rule} | "
            + " | ".join(f"{p['completeness_error']:.2%}" for p in points)
            + " | "
            + " | ".join(f"{r}" if r else f"> {steps[-1]}" for r in reached)
            + " |"
        )
    return "\n".join(lines)


def machine() -> dict:
    """The CPU, cores and load this run had."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def markdown(
    args,
    info: dict,
    baseline: dict,
    per_image: dict,
    skipped_64: bool,
    entries: list[dict],
    curve: dict | None,
    goal_lines: list[str],
    elapsed: float,
) -> str:
    """The whole of results.md."""
    from .children import IMAGE, MODEL, SIZE

    versions = baseline["versions"]
    load = info["load_average_at_start"]
    mode = (
        "--quick: validation only, 1 run per method, 1 call per pass time, short PAIR samples"
        if args.quick
        else f"full run, median of {args.runs} runs per method"
    )
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
        f'{MODEL}, photo `load_image("{IMAGE}", {SIZE})`, target class {baseline["target"]} '
        f"({baseline['label']}, the top-1, passed explicitly), every method at its defaults with batch_size 32. "
        'Seconds are the median of `result.seconds` after one warm-up run; "in model calls" is the share of '
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
        pass_kinds_note(per_image, entries) + (" Batch 64 was skipped: not enough free memory." if skipped_64 else ""),
        "",
        "## Memory",
        "",
        f"Each method runs in a fresh process; the baseline process (model and photo loaded, target found with "
        f"one compiled forward pass) peaks at {baseline['peak_rss_mb']:.0f} MB.",
    ]
    peaks = [e["peak_rss_mb"] for e in entries if e["peak_rss_mb"] is not None]
    if peaks:
        parts.append(
            f"Every method measured stays under {RSS_BOUND_MB:.0f} MB at batch_size 32 (highest {max(peaks):.0f} MB)."
            if max(peaks) < RSS_BOUND_MB
            else f"At least one method exceeds {RSS_BOUND_MB:.0f} MB at batch_size 32 (highest {max(peaks):.0f} MB)."
        )
    if curve:
        parts += [
            "",
            "## Integrated gradients: completeness error against steps",
            "",
            "On the same photo and target; each step is one forward+backward pass (plus 2 forward passes "
            "for the check). The last columns give the fewest steps, of those tried, that reach each error.",
            "",
            ig_curve_table(curve),
        ]
    elif not args.quick:
        parts += ["", "The IG completeness curve was not run (--no-ig-curve)."]
    parts += ["", "## Goals", "", "```", *goal_lines, "```", ""]
    return "\n".join(parts)
