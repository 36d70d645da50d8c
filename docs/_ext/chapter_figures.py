"""Figures numbered by chapter: "Figure 6.1" is the first figure of chapter 6.

Sphinx numbers figures across the whole book ("Figure 14") unless the table of contents
is numbered, and a numbered one would renumber the chapters from 1 (the course starts at
chapter 0, and each title already carries its number). So after Sphinx has assigned its
numbers, each chapter page's figures are renumbered (chapter, position), keeping their order.
"""

from __future__ import annotations

import re

_CHAPTER_PAGE = re.compile(r"chapters/(\d+)_")


def number_by_chapter(app, env) -> list[str]:
    """Renumber the figures of each chapter page as (chapter, 1), (chapter, 2), ... in page order."""
    for docname, numbers in env.toc_fignumbers.items():
        match = _CHAPTER_PAGE.match(docname)
        figures = numbers.get("figure", {})
        if not match:
            continue
        for position, figure in enumerate(sorted(figures, key=figures.get), start=1):
            figures[figure] = (int(match.group(1)), position)
    return []


def setup(app):
    """Register the renumbering after Sphinx's own (its TocTreeCollector runs at the default priority 500)."""
    app.connect("env-get-updated", number_by_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
