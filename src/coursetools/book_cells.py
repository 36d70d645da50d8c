"""A chapter as the book shows it: the executed notebook with its plumbing hidden and its figures captioned.

The committed notebooks carry cells that are for machines: the Colab set-up, papermill's
`parameters`, `%config`, the fingerprint cells nbval compares and the cells that check the
numbers the prose quotes. nbval must still run and check every one of them, so the
notebooks keep them; only the book's copy tags them for MyST-NB (`remove-cell`,
`hide-input`), the same tags Jupyter Book documents. The copy also gives every image its
caption, alt text and figure number from the registry, makes wide figures full width (and
a click away from full size), and turns "chapter 7" in the prose into a link.
"""

from __future__ import annotations

import base64
import io
import re

from PIL import Image

from coursetools.chapters import Chapter
from coursetools.nbval_numbers import MARKER as CHECKED_OUTPUT_MARKER  # nbval compares these cells' numbers
from coursetools.project import colab_setup_cell
from coursetools.prose import MARKER as PROSE_CHECK_MARKER  # the first line of cells asserting the prose's numbers
from coursetools.reader_notes import ImageNote, ReaderNotes

# Lines of a shown cell that only serve the machinery: notebook display settings, fingerprint helpers.
_PLUMBING_LINE = re.compile(r"\s*(%config\b|from coursetools\.fingerprints import\b)")
# Figures at least this wide (pixels of the image output) span the page, margin included.
WIDE_FIGURE_PIXELS = 1400
# Figures wider than the text column are drawn at its width, linked to the image at full size.
COLUMN_PIXELS = 700
# Tables with at least this many columns (chapter 12's ranking) span the page too.
WIDE_TABLE_COLUMNS = 6
SETTINGS_PROMPT = "Show the chapter's settings"
_CHAPTER_MENTION = re.compile(r"(?<![\[\w/])([Cc]hapters?) (\d{1,2})(?:( to | and |–)(\d{1,2}))?\b(?!\]|\.ipynb)")


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def is_hidden_plumbing(cell: dict) -> bool:
    """Whether a code cell is only for machines: the Colab set-up, a fingerprint cell or a prose check."""
    source = _source(cell)
    return (
        source == colab_setup_cell()
        or CHECKED_OUTPUT_MARKER in source
        or source.lstrip().startswith(PROSE_CHECK_MARKER)
    )


def _without_plumbing_lines(cell: dict) -> None:
    kept = [line for line in cell["source"] if not _PLUMBING_LINE.match(line)]
    cell["source"] = kept
    if kept:
        kept[-1] = kept[-1].rstrip("\n")


def _image_outputs(cell: dict) -> list[dict]:
    return [output for output in cell.get("outputs", []) if any(k.startswith("image/") for k in output.get("data", {}))]


def _table_columns(cell: dict) -> int:
    """The most columns of any Markdown (pipe) table the cell outputs, counted on its header row."""
    most = 0
    for output in cell.get("outputs", []):
        text = "".join(output.get("data", {}).get("text/markdown", ""))
        header = next((line for line in text.splitlines() if line.startswith("|")), None)
        most = max(most, header.strip().strip("|").count("|") + 1 if header else 0)
    return most


def _pixel_width(output: dict) -> int:
    kind = next(k for k in output["data"] if k.startswith("image/"))
    return Image.open(io.BytesIO(base64.b64decode(output["data"][kind]))).width


def _caption(cell: dict, chapter: Chapter, number: int, note: ImageNote, width: int) -> None:
    mystnb = cell["metadata"].setdefault("mystnb", {})
    mystnb["figure"] = {"caption": note.caption, "name": f"figure-{chapter.number}-{number}"}
    mystnb["image"] = {"alt": note.alt}
    if width > COLUMN_PIXELS:
        # A width makes Sphinx link the image to itself at full size (html_scaled_image_link).
        mystnb["image"]["width"] = "100%"
    if width >= WIDE_FIGURE_PIXELS:
        _tags(cell).append("full-width")


def link_chapter_mentions(text: str, chapters: list[Chapter], own: Chapter) -> str:
    """Markdown with each "chapter N" (and "chapters N to M") linked to that chapter's page.

    A chapter's own number, a number no chapter has and a mention already inside a link stay plain.
    """
    pages = {int(chapter.number): f"{chapter.notebook}.ipynb" for chapter in chapters if chapter != own}

    def linked(number: str) -> str:
        page = pages.get(int(number))
        return f"[{number}]({page})" if page else number

    def replace(match: re.Match) -> str:
        word, first, joint, second = match.groups()
        if second is None:
            page = pages.get(int(first))
            return f"[{word} {first}]({page})" if page else match.group(0)
        return f"{word} {linked(first)}{joint}{linked(second)}"

    # Code spans keep their text as it is.
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else _CHAPTER_MENTION.sub(replace, part) for part in parts)


def reader_cells(
    cells: list[dict], chapter: Chapter, notes: ReaderNotes, chapters: list[Chapter]
) -> dict[str, ImageNote]:
    """Prepare a copy of the notebook's cells (nbformat 4 dicts) for readers, in place (see the module doc).

    Returns the note of each figure file of the chapter whose cell shows it (the cell names the
    file it saves). Raises ValueError when the registry's images do not match the images shown.
    """
    shown = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            cell["source"] = link_chapter_mentions(_source(cell), chapters, chapter).splitlines(keepends=True)
            continue
        if cell["cell_type"] != "code":
            continue
        if is_hidden_plumbing(cell):
            _tags(cell).append("remove-cell")
            continue
        if "parameters" in _tags(cell):
            _tags(cell).append("hide-input")
            cell["metadata"].setdefault("mystnb", {})["code_prompt_show"] = SETTINGS_PROMPT
            continue
        _without_plumbing_lines(cell)
        if not _source(cell).strip():
            _tags(cell).append("remove-cell")
            continue
        if _table_columns(cell) >= WIDE_TABLE_COLUMNS:
            _tags(cell).append("full-width")
        images = _image_outputs(cell)
        if len(images) > 1:
            raise ValueError(f"{chapter.notebook}: a cell shows {len(images)} images; the book captions one per cell")
        shown += [(cell, images[0])] if images else []
    if len(shown) != len(notes.images):
        raise ValueError(
            f"notebooks/chapters.toml: chapter {chapter.notebook} shows {len(shown)} images but describes "
            f"{len(notes.images)}: give each image, in order, a [[chapter.image]] with its caption and alt text"
        )
    saved: dict[str, ImageNote] = {}
    for number, ((cell, output), note) in enumerate(zip(shown, notes.images), start=1):
        _caption(cell, chapter, number, note, _pixel_width(output))
        saved |= {figure: note for figure in chapter.figures if figure in _source(cell)}
    return saved
