"""The report's generated Sphinx sources: the chapter list comes from the registry at build time.

`docs/conf.py` calls `stage(docs)` before Sphinx reads anything. It writes, into `docs/`
(and git ignores them):

- `chapters/<notebook>.ipynb`: each executed notebook as readers see it (`book_cells`: the
  plumbing hidden, the figures captioned, chapters linked), with the Colab badge pointing at
  a local image (the book loads nothing from the internet) and its references at the end;
- `_generated/chapters.md`: the front page's chapter cards and the book's table of contents,
  which `index.md` (written by hand: the story of the course) includes;
- `_generated/thumbnails/`: the cards' pictures, made small from the chapters' figures;
- `papers.md`: the references, chapter by chapter and in full (docs/references.bib);
- `reproduce.md`: the README's sections on building, testing and extending the course.

Files are rewritten only when their content changes, so Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from PIL import Image

from coursetools.book_cells import reader_cells
from coursetools.chapters import ROOT, Chapter, load_chapters
from coursetools.colab_cells import with_colab_badge
from coursetools.reader_notes import ImageNote, ReaderNotes, load_reader_notes

# The badge image of the book, relative to a chapter page (docs/chapters/).
LOCAL_BADGE_IMAGE = "../images/colab-badge.svg"
GENERATED = "_generated"
THUMBNAIL_WIDTH = 480  # pixels: a card is at most about 300 CSS pixels wide, so sharp on a 1.5x screen
# README sections that the front page tells readers itself; the rest make the "Reproduce" page.
READER_SECTIONS = ("The chapters", "Play with it")
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)
_RELATIVE_TARGET = re.compile(r"(!?\[[^\]]*\]\()(?!https?:|#|/|mailto:)([^)\s]+\))")


def chapter_title(chapter: Chapter) -> str:
    """The chapter's title, its first markdown heading (e.g. "6 · Integrated gradients (2017)")."""
    notebook = json.loads(chapter.path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        match = _TITLE.search("".join(cell["source"])) if cell["cell_type"] == "markdown" else None
        if match:
            return match.group(1).strip()
    raise ValueError(f"{chapter.notebook}: no '# ' title in its markdown")


def references_cell(chapter: Chapter, keys: tuple[str, ...]) -> dict:
    """A markdown cell listing the works the chapter cites, from docs/references.bib."""
    # sphinxcontrib-bibtex lowercases keys in filters; the prefix keeps each page's entries apart.
    wanted = ", ".join(json.dumps(key.lower()) for key in keys)
    source = (
        "## References\n\n"
        f"```{{bibliography}}\n:filter: key in {{{wanted}}}\n:keyprefix: {chapter.number}-\n:list: bullet\n```\n"
    )
    return {"cell_type": "markdown", "id": "references", "metadata": {}, "source": source.splitlines(keepends=True)}


def chapter_copy(chapter: Chapter, notes: ReaderNotes, chapters: list[Chapter]) -> tuple[str, dict[str, ImageNote]]:
    """The executed notebook as the book shows it (see the module doc), and the notes of its saved figures."""
    notebook = json.loads(chapter.path.read_text(encoding="utf-8"))
    figures = reader_cells(notebook["cells"], chapter, notes, chapters)
    with_colab_badge(notebook["cells"], chapter.notebook, LOCAL_BADGE_IMAGE)
    notebook["cells"].append(references_cell(chapter, notes.references))
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", figures


def thumbnail(figure: Path) -> bytes:
    """A small JPEG of a figure for the front page's cards."""
    image = Image.open(figure).convert("RGB")
    image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def chapters_page(chapters: list[Chapter], notes: dict[str, ReaderNotes], thumbnail_alt: dict[str, str]) -> str:
    """The front page's chapter cards (title, thumbnail, one line) and the book's table of contents.

    `thumbnail_alt` is the alt text of each chapter's thumbnail, by notebook.
    """
    cards = "".join(
        f":::{{grid-item-card}} {chapter_title(chapter)}\n"
        f":link: chapters/{chapter.notebook}\n:link-type: doc\n"
        f":img-top: {GENERATED}/thumbnails/{chapter.notebook}.jpg\n"
        f":img-alt: {thumbnail_alt[chapter.notebook]}\n:class-card: chapter-card\n\n"
        f"{notes[chapter.notebook].summary}\n:::\n\n"
        for chapter in chapters
    )
    entries = "".join(f"chapters/{chapter.notebook}\n" for chapter in chapters)
    return (
        f"::::{{grid}} 1 2 2 3\n:gutter: 3\n\n{cards}::::\n\n"
        f"```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{entries}reproduce\npapers\n```\n"
    )


def papers_page(chapters: list[Chapter], notes: dict[str, ReaderNotes]) -> str:
    """The references: the works each chapter cites, then every entry of docs/references.bib."""
    rows = "".join(
        f"| {{doc}}`chapters/{chapter.notebook}` | "
        f"{'; '.join(f'{{cite:t}}`{key}`' for key in notes[chapter.notebook].references)} |\n"
        for chapter in chapters
    )
    return (
        "# References\n\n"
        "The works each chapter cites, and below them the full list with each paper's venue and its\n"
        "DOI or arXiv link.\n\n"
        f"| chapter | cites |\n|---|---|\n{rows}\n"
        "## Every work cited\n\n```{bibliography}\n:all:\n```\n"
    )


def readme_sections(readme: str, skipped: tuple[str, ...] = READER_SECTIONS) -> dict[str, str]:
    """The README's `## ` sections by title (each with its heading), but for `skipped` ones."""
    pieces = re.split(r"^(?=## )", readme, flags=re.MULTILINE)[1:]
    sections = {piece.splitlines()[0][3:].strip(): piece for piece in pieces}
    missing = [title for title in skipped if title not in sections]
    if missing:
        raise ValueError(f"README.md has no section {', '.join(missing)}: update READER_SECTIONS in book.py")
    return {title: text for title, text in sections.items() if title not in skipped}


def reproduce_page(readme: str) -> str:
    """The README's build, platform, lock and test notes as a page of the book (see READER_SECTIONS)."""
    body = "".join(readme_sections(readme).values())
    # The README's relative links and images start at the repository's root; this page sits in docs/.
    body = _RELATIVE_TARGET.sub(r"\1../\2", body)
    return (
        "# Reproduce, test and extend\n\n"
        "How to rebuild every figure and run the checks on your machine, the platforms the lock covers,\n"
        "and how to run the course on your own photos and models. (From the repository's README.)\n\n"
        f"{body.rstrip()}\n"
    )


def _write_if_changed(path: Path, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _drop_stale(folder: Path, pattern: str, wanted: set[str]) -> None:
    """A chapter dropped from the registry must drop out of the book too."""
    for stale in folder.glob(pattern):
        if stale.name not in wanted:
            stale.unlink()


def stage(docs: Path, chapters: list[Chapter] | None = None) -> None:
    """Write the generated sources into `docs` for the registry's chapters (see the module doc)."""
    chapters = load_chapters() if chapters is None else chapters
    notes = load_reader_notes()
    copies, thumbnails = docs / "chapters", docs / GENERATED / "thumbnails"
    _drop_stale(copies, "*.ipynb", {f"{chapter.notebook}.ipynb" for chapter in chapters})
    _drop_stale(thumbnails, "*.jpg", {f"{chapter.notebook}.jpg" for chapter in chapters})
    thumbnail_alt = {}
    for chapter in chapters:
        page, figures = chapter_copy(chapter, notes[chapter.notebook], chapters)
        _write_if_changed(copies / f"{chapter.notebook}.ipynb", page)
        chosen = notes[chapter.notebook].thumbnail
        if chosen not in figures:
            raise ValueError(f"{chapter.notebook}: no cell shows its thumbnail {chosen} (notebooks/chapters.toml)")
        thumbnail_alt[chapter.notebook] = figures[chosen].alt
        _write_if_changed(thumbnails / f"{chapter.notebook}.jpg", thumbnail(ROOT / "figures" / chosen))
    _write_if_changed(docs / GENERATED / "chapters.md", chapters_page(chapters, notes, thumbnail_alt))
    _write_if_changed(docs / "papers.md", papers_page(chapters, notes))
    _write_if_changed(docs / "reproduce.md", reproduce_page((ROOT / "README.md").read_text(encoding="utf-8")))
