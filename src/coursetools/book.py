"""The report's generated Sphinx sources: the chapter list comes from the registry at build time.

`docs/conf.py` calls `stage(docs)` before Sphinx reads anything. It writes, into `docs/`
(and git ignores them):

- `chapters/<notebook>.ipynb`: a copy of each executed notebook, with the Colab badge
  refreshed to point at a local image (the book loads nothing from the internet);
- `index.md`: the README as the introduction, then the table of contents in registry order;
- `papers.md`: the paper behind each chapter.

Files are rewritten only when their content changes, so Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from coursetools.chapters import ROOT, Chapter, load_chapters
from coursetools.colab_cells import with_colab_badge

# The badge image of the book, relative to a chapter page (docs/chapters/).
LOCAL_BADGE_IMAGE = "../images/colab-badge.svg"
_PAPER = re.compile(r"\*\*Paper\.\*\*\s*(.+?)(?:\n\s*\n|\Z)", re.DOTALL)


def first_markdown(notebook: dict) -> str:
    """The source of the notebook's first markdown cell ("" when it has none)."""
    cell = next((cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"), None)
    return "".join(cell["source"]) if cell else ""


def paper_reference(chapter: Chapter) -> str:
    """The chapter's paper as its first markdown cell names it ("**Paper.** ..."), on one line.

    Falls back to the registry's short form (e.g. "Zeiler & Fergus 2013") for a chapter
    whose opening names its paper in prose instead.
    """
    notebook = json.loads(chapter.path.read_text(encoding="utf-8"))
    match = _PAPER.search(first_markdown(notebook))
    return " ".join(match.group(1).split()) if match else chapter.paper


def index_page(readme: Path, chapters: list[Chapter]) -> str:
    """The book's front page: the README, then the table of contents."""
    entries = "".join(f"chapters/{chapter.notebook}\n" for chapter in chapters)
    return (
        f"```{{include}} {readme.as_posix()}\n:relative-images:\n```\n\n"
        "## Contents\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{entries}papers\n```\n"
    )


def papers_page(chapters: list[Chapter]) -> str:
    """The list of papers, one row per chapter that the registry gives a paper."""
    rows = "".join(
        f"| {{doc}}`chapters/{chapter.notebook}` | {paper_reference(chapter).replace('|', '&#124;')} |\n"
        for chapter in chapters
        if chapter.paper
    )
    return (
        "# The papers\n\n"
        "The paper behind each chapter, in the order of the course.\n\n"
        f"| chapter | paper |\n|---|---|\n{rows}"
    )


def chapter_copy(chapter: Chapter) -> str:
    """The executed notebook as the book shows it: unchanged but for a local Colab badge."""
    notebook = json.loads(chapter.path.read_text(encoding="utf-8"))
    with_colab_badge(notebook["cells"], chapter.notebook, LOCAL_BADGE_IMAGE)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def stage(docs: Path, chapters: list[Chapter] | None = None) -> None:
    """Write the generated sources into `docs` for the registry's chapters (see the module doc)."""
    chapters = load_chapters() if chapters is None else chapters
    copies = docs / "chapters"
    wanted = {f"{chapter.notebook}.ipynb" for chapter in chapters}
    # A chapter dropped from the registry must drop out of the book too.
    for stale in copies.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for chapter in chapters:
        _write_if_changed(copies / f"{chapter.notebook}.ipynb", chapter_copy(chapter))
    readme = Path(os.path.relpath(ROOT / "README.md", docs))  # the include directive reads it relatively
    _write_if_changed(docs / "index.md", index_page(readme, chapters))
    _write_if_changed(docs / "papers.md", papers_page(chapters))
