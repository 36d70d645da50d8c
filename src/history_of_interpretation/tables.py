"""Markdown tables of what results cost, shown rendered in Jupyter and in the app."""

from __future__ import annotations

import numpy as np


class MarkdownTable(str):
    """A markdown table that Jupyter shows rendered when it ends a cell."""

    def _repr_markdown_(self) -> str:
        return str(self)


def cost_table(results, by_method: bool = False) -> MarkdownTable:
    """A markdown table of what each result cost: passes through the network and seconds.

    With `by_method`, one row per method: its passes and seconds averaged over
    its results (say, one per photo).
    """
    results = list(results)
    if not by_method:
        lines = ["| method | class | passes | seconds |", "|---|---|---:|---:|"]
        lines += [f"| {r.method} | {r.label} | {r.passes} | {r.seconds:.2f} |" for r in results]
        return MarkdownTable("\n".join(lines))
    runs: dict[str, list] = {}
    for result in results:
        runs.setdefault(result.method, []).append(result)
    lines = ["| method | passes (mean) | seconds (mean) |", "|---|---:|---:|"]
    lines += [
        f"| {method} | {np.mean([r.passes for r in group]):g} | {np.mean([r.seconds for r in group]):.2f} |"
        for method, group in runs.items()
    ]
    return MarkdownTable("\n".join(lines))
