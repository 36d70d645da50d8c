"""The benchmark's goals and their check: PASS, MISS or SKIP lines from the results.json entries.

Every goal applies to whichever rows have the fact it is about, so a newly
declared method is held to them without an edit here.
"""

from __future__ import annotations

from .rows import ROWS_BY_KEY

FLOOR_RATIO_GOAL = 1.3  # every method's median time within this of its floor
# Stricter floor goals, met by every timed run, not only the median.
STRICT_FLOOR_GOALS = {"blur_ig": 1.2}
PAIR_SPEEDUP_GOAL = 10.0  # where PAIR calls the model more than once: batching is what saves the time
SINGLE_CALL_SPEEDUP_GOAL = 1.0  # where PAIR calls it once there is nothing to batch: only not slower
RSS_BOUND_MB = 3000.0  # stated bound on every method's peak at batch_size 32


def _line(met: bool, subject: str, text: str) -> str:
    return f"{'PASS' if met else 'MISS'}  {subject}: {text}"


def worst_run_ratio(entry: dict) -> float:
    """The highest ratio of a run's seconds to the floor timed right after it."""
    return max(seconds / floor for seconds, floor in zip(entry["run_seconds"], entry["run_floor_seconds"]))


def method_goals(entry: dict) -> list[str]:
    """The lines for one measured row: its floor, any stricter floor goal, PAIR."""
    name, lines = entry["method"], []
    ratio, kinds = entry["ratio_to_floor"], ", ".join(entry["passes_by_kind"])
    lines.append(
        _line(ratio <= FLOOR_RATIO_GOAL, name, f"within {FLOOR_RATIO_GOAL}x of its floor ({kinds}): {ratio:.2f}x")
    )
    strict = STRICT_FLOOR_GOALS.get(entry["key"])
    if strict is not None:
        worst = worst_run_ratio(entry)
        lines.append(
            _line(
                worst <= strict,
                name,
                f"every run within {strict}x of its floor: worst {worst:.2f}x of {len(entry['run_seconds'])} run(s)",
            )
        )
    pair = entry.get("pair")
    if pair is not None:
        speedup = entry["speedup_vs_pair"]
        if pair["calls_total"] > 1:
            goal, text = (
                PAIR_SPEEDUP_GOAL,
                f"at least {PAIR_SPEEDUP_GOAL:.0f}x faster than PAIR ({pair['calls_total']} calls)",
            )
        else:
            goal, text = SINGLE_CALL_SPEEDUP_GOAL, "no slower than PAIR (one call, nothing to batch)"
        lines.append(_line(speedup >= goal, name, f"{text}: {speedup:.1f}x"))
    return lines


def goals(entries: list[dict], baseline_mb: float) -> list[str]:
    """PASS/MISS for each goal, row by row, then memory; SKIP for a row that was not measured."""
    lines = []
    for entry in entries:
        reference = ROWS_BY_KEY[entry["key"]].reference
        if entry["seconds"] is None:
            lines.append(f"SKIP  {entry['method']}: not measured ({entry.get('error', 'not run').splitlines()[0]})")
        elif reference:
            lines.append(f"NOTE  {entry['method']}: for comparison, held to no goal ({reference})")
        else:
            lines += method_goals(entry)
    peaks = [entry["peak_rss_mb"] for entry in entries if entry["peak_rss_mb"] is not None]
    if peaks:
        lines.append(
            _line(
                max(peaks) < RSS_BOUND_MB,
                "memory",
                f"every method's peak RSS under {RSS_BOUND_MB:.0f} MB at batch_size 32: "
                f"highest {max(peaks):.0f} MB (baseline {baseline_mb:.0f} MB)",
            )
        )
    return lines
