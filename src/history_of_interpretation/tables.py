"""Markdown tables of what results cost, shown rendered in Jupyter and in the app."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class MarkdownTable(str):
    """A markdown table that Jupyter shows rendered when it ends a cell."""

    def _repr_markdown_(self) -> str:
        return str(self)


def markdown_table(header: list[str], align: str, rows: list[list[str]]) -> MarkdownTable:
    """A markdown table: `align` has one letter per column, l (left) or r (right)."""
    rule = "|" + "|".join("---:" if side == "r" else "---" for side in align) + "|"
    # A | inside a cell would end it: Markdown's escape keeps it text.
    lines = ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in [header, *rows]]
    return MarkdownTable("\n".join([lines[0], rule, *lines[1:]]))


def cost_table(results, by_method: bool = False) -> MarkdownTable:
    """A markdown table of what each result cost: passes through the network and seconds.

    `results` is a list of results, or a mapping from the name of the image
    each group explains (a photo, a composite) to its results; then a first
    column says which image each row is about.
    With `by_method`, one row per method: its passes and seconds averaged over
    its results (say, one per photo), and with a mapping, over how many images.
    """
    named = isinstance(results, Mapping)
    groups = results.items() if named else [("", results)]
    rows = [(image, result) for image, group in groups for result in group]
    first = (lambda cell: [cell]) if named else (lambda cell: [])  # the image column, when there is one
    if not by_method:
        return markdown_table(
            [*first("image"), "method", "class", "passes", "seconds"],
            "l" * named + "llrr",
            [[*first(name), r.method, r.label, str(r.passes), f"{r.seconds:.2f}"] for name, r in rows],
        )
    runs: dict[str, list] = {}
    for name, result in rows:
        runs.setdefault(result.method, []).append((name, result))
    return markdown_table(
        ["method", *first("images"), "passes (mean)", "seconds (mean)"],
        "l" + "r" * named + "rr",
        [
            [
                method,
                *first(str(len({name for name, _ in group}))),
                f"{np.mean([r.passes for _, r in group]):g}",
                f"{np.mean([r.seconds for _, r in group]):.2f}",
            ]
            for method, group in runs.items()
        ],
    )
