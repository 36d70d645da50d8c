"""The "Open in Colab" badge: one markdown line at the top of a chapter's first markdown cell.

The address comes from `project.colab_url`, so a fork changes it in one place and
refreshes every notebook with `python -m history_of_interpretation.badges notebooks/*.ipynb`.
The report refreshes the same line in its copies of the notebooks, with a local image.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from history_of_interpretation.project import colab_url

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


def refresh_notebook(path: Path, image: str = COLAB_BADGE_IMAGE) -> bool:
    """Add or refresh the badge in the notebook file at `path`; rewrite it only if it changed."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    if not with_colab_badge(notebook["cells"], path.stem, image):
        return False
    # Jupyter's layout (indent 1, non-ASCII kept, the file's own ending): the diff shows only the badge.
    ending = "\n" if text.endswith("\n") else ""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + ending, encoding="utf-8")
    return True


if __name__ == "__main__":
    if not sys.argv[1:]:
        sys.exit("usage: python -m history_of_interpretation.badges NOTEBOOK.ipynb ...")
    for argument in sys.argv[1:]:
        changed = refresh_notebook(Path(argument))
        print(f"{argument}: {'badge refreshed' if changed else 'up to date'}")
