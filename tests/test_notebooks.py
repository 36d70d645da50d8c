"""The committed notebooks: no stderr noise in their outputs, no control characters in their prose."""

from __future__ import annotations

import json
import re

import pytest

from history_of_interpretation.chapters import load_chapters

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and newlines are text


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_no_stderr_in_the_outputs(chapter):
    cells = json.loads(chapter.path.read_text())["cells"]
    noisy = [index for index, cell in enumerate(cells) for output in cell.get("outputs", [])
             if output.get("output_type") == "stream" and output.get("name") == "stderr"]
    assert not noisy, f"{chapter.path.name}: stderr output in cells {noisy}; rerun it with make figures"


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_no_control_characters_in_the_prose(chapter):
    cells = json.loads(chapter.path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found = CONTROL.search("".join(cell["source"]))
            assert not found, f"{chapter.path.name}, cell {index}: control character {found.group()!r}"
