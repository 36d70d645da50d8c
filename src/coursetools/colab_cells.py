"""What each chapter carries for Colab: the "Open in Colab" badge and the set-up cell.

The badge is one markdown line at the top of the first markdown cell; the set-up cell is
the first code cell, `project.colab_setup_cell()`. Both come from `project.py`, so a fork
changes its address there and refreshes every notebook with
`python -m coursetools.colab_cells notebooks/*.ipynb`.
The report refreshes the badge in its copies of the notebooks, with a local image.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from coursetools.project import colab_setup_cell, colab_url

# Colab's own badge, for the notebooks (GitHub and Colab show it); the report passes a local one.
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# Any earlier badge line, whatever its image or address, so that a refresh replaces it.
_BADGE_LINE = re.compile(r"\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)\s*")


def colab_badge(notebook: str, image: str = COLAB_BADGE_IMAGE) -> str:
    """The badge's markdown, linking `notebooks/<notebook>` in Colab, e.g. for "04_grad_cam"."""
    return f"[![Open in Colab]({image})]({colab_url(notebook)})"


def with_colab_badge(cells: list[dict], notebook: str, image: str = COLAB_BADGE_IMAGE) -> bool:
    """Put the badge at the top of the first markdown cell in `cells` (nbformat 4 dicts), in place.

    Replaces an earlier badge rather than adding a second one. Returns whether the cells changed;
    a notebook without a markdown cell raises ValueError.
    """
    cell = next((cell for cell in cells if cell["cell_type"] == "markdown"), None)
    if cell is None:
        raise ValueError(f"{notebook}: no markdown cell to carry the Colab badge")
    source = "".join(cell["source"])
    new = colab_badge(notebook, image) + "\n\n" + _BADGE_LINE.sub("", source, count=1).lstrip("\n")
    if new == source:
        return False
    # Keep nbformat's list-of-lines form, as Jupyter writes it.
    cell["source"] = new.splitlines(keepends=True)
    return True


def with_colab_setup_cell(cells: list[dict], notebook: str) -> bool:
    """Make the first code cell in `cells` the Colab set-up cell, in place; returns whether it changed."""
    cell = next((cell for cell in cells if cell["cell_type"] == "code"), None)
    if cell is None:
        raise ValueError(f"{notebook}: no code cell to hold the Colab set-up")
    if "".join(cell["source"]) == colab_setup_cell():
        return False
    cell["source"] = colab_setup_cell().splitlines(keepends=True)
    cell["outputs"], cell["execution_count"] = [], None
    return True


def refresh_notebook(path: Path, image: str = COLAB_BADGE_IMAGE) -> bool:
    """Add or refresh the badge and the set-up cell in the notebook at `path`; rewrite it only if either changed."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    badge = with_colab_badge(notebook["cells"], path.stem, image)
    setup = with_colab_setup_cell(notebook["cells"], path.stem)
    if not (badge or setup):
        return False
    # Jupyter's layout (indent 1, non-ASCII kept, the file's own ending): the diff shows only the badge.
    ending = "\n" if text.endswith("\n") else ""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + ending, encoding="utf-8")
    return True


if __name__ == "__main__":
    if not sys.argv[1:]:
        sys.exit("usage: python -m coursetools.colab_cells NOTEBOOK.ipynb ...")
    for argument in sys.argv[1:]:
        changed = refresh_notebook(Path(argument))
        print(f"{argument}: {'refreshed' if changed else 'up to date'}")
