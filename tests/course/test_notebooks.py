"""The committed notebooks: no stderr noise in their outputs, no control characters in their prose."""

from __future__ import annotations

import io
import json
import re
import tokenize

import pytest

from coursetools.chapters import load_chapters

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and newlines are text


def logical_lines(code: str) -> int:
    """Lines of code as Python counts them: a statement the formatter wraps counts once, as does a magic."""
    python = "\n".join(
        line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
        for line in code.splitlines()
    )
    tokens = tokenize.generate_tokens(io.StringIO(python + "\n").readline)
    return sum(token.type == tokenize.NEWLINE for token in tokens)


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_no_stderr_in_the_outputs(chapter):
    cells = json.loads(chapter.path.read_text())["cells"]
    noisy = [
        index
        for index, cell in enumerate(cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    ]
    assert not noisy, f"{chapter.path.name}: stderr output in cells {noisy}; rerun it with make figures"


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_no_control_characters_in_the_prose(chapter):
    cells = json.loads(chapter.path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found = CONTROL.search("".join(cell["source"]))
            assert not found, f"{chapter.path.name}, cell {index}: control character {found.group()!r}"


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_each_chapter_declares_its_parameters_in_one_tagged_cell_that_sets_the_model(chapter):
    """papermill injects a run's settings after the cell tagged `parameters`; the book folds that cell away."""
    cells = json.loads(chapter.path.read_text(encoding="utf-8"))["cells"]
    tagged = [cell for cell in cells if "parameters" in cell["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{chapter.notebook}: {len(tagged)} cells tagged parameters, not one"
    assert re.search(r"^MODEL = ", "".join(tagged[0]["source"]), re.MULTILINE), chapter.notebook


def test_no_code_cell_longer_than_five_lines_is_repeated_across_chapters():
    """Shared code lives in the package: a cell of more than five lines of code appears in one chapter only."""
    seen: dict[str, str] = {}
    for chapter in load_chapters():
        for cell in json.loads(chapter.path.read_text(encoding="utf-8"))["cells"]:
            code = "".join(cell["source"]).strip()
            if cell["cell_type"] != "code" or logical_lines(code) <= 5:
                continue
            assert code not in seen, f"{chapter.notebook} repeats a cell of {seen[code]}: move it into the package"
            seen[code] = chapter.notebook
