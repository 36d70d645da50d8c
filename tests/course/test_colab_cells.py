"""The Colab badge line and set-up cell, tried on copies of the real notebooks (never on notebooks/)."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursetools.chapters import load_chapters
from coursetools.colab_cells import (
    _BADGE_LINE,
    COLAB_BADGE_IMAGE,
    colab_badge,
    refresh_notebook,
    with_colab_badge,
    with_colab_setup_cell,
)
from coursetools.project import colab_setup_cell, colab_url

CHAPTER = load_chapters()[4]


@pytest.fixture
def copy(tmp_path):
    """A copy of a committed chapter notebook, under its own name, without its badge line."""
    path = Path(shutil.copy(CHAPTER.path, tmp_path / CHAPTER.path.name))
    notebook = json.loads(path.read_text(encoding="utf-8"))
    first = next(cell for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    first["source"] = _BADGE_LINE.sub("", "".join(first["source"]), count=1).splitlines(keepends=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def markdown_cells(path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def test_the_badge_links_the_notebook_in_colab():
    assert colab_badge(CHAPTER.notebook) == f"[![Open in Colab]({COLAB_BADGE_IMAGE})]({colab_url(CHAPTER.notebook)})"


def test_the_badge_tops_the_first_markdown_cell_and_nothing_else_changes(copy):
    before = copy.read_text(encoding="utf-8")
    first = markdown_cells(copy)[0]
    assert refresh_notebook(copy) is True
    after = copy.read_text(encoding="utf-8")
    assert markdown_cells(copy)[0] == colab_badge(CHAPTER.notebook) + "\n\n" + first
    # Only the first markdown cell's source changed, in Jupyter's own file layout.
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert len(diff) == 2 and diff[0].startswith('+     "[![Open in Colab]') and diff[1] == '+     "\\n",'


def test_refreshing_is_idempotent(copy):
    refresh_notebook(copy)
    once = copy.read_bytes()
    assert refresh_notebook(copy) is False
    assert copy.read_bytes() == once


def test_a_refresh_replaces_an_older_badge_instead_of_adding_one(copy):
    refresh_notebook(copy, image="old.svg")
    assert refresh_notebook(copy) is True
    first = markdown_cells(copy)[0]
    assert first.count("Open in Colab") == 1
    assert first.startswith(colab_badge(CHAPTER.notebook) + "\n\n# ")


def test_a_notebook_without_markdown_is_refused():
    with pytest.raises(ValueError, match="no markdown cell"):
        with_colab_badge([{"cell_type": "code", "source": []}], "99_empty")


def test_the_command_line_refreshes_each_notebook_named(copy):
    run = [sys.executable, "-m", "coursetools.colab_cells", str(copy)]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert first.stdout.strip().endswith(": refreshed")
    assert again.stdout.strip().endswith("up to date")


def test_the_set_up_cell_is_rendered_into_the_first_code_cell():
    cells = [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["old set-up"], "outputs": [{"name": "stderr"}], "execution_count": 3},
        {"cell_type": "code", "source": ["x = 1"], "outputs": [], "execution_count": 4},
    ]
    assert with_colab_setup_cell(cells, "toy") is True
    assert "".join(cells[1]["source"]) == colab_setup_cell() and cells[1]["outputs"] == []
    assert cells[2]["source"] == ["x = 1"]
    assert with_colab_setup_cell(cells, "toy") is False
