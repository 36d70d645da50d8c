"""Every number a chapter's prose quotes is checked by the cell after it (coursetools.prose)."""

from __future__ import annotations

import ast
import json
import re

import pytest

from coursetools.chapters import load_chapters
from coursetools.prose import MARKER, check_quoted, quoted_range, quoted_value

CHECKED_CHAPTERS = ("09", "10", "11", "12", "13")
MEASURED = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])|\d+(?:\.\d+)?\s?%")  # 0.93, 5.1%, 37 %: measurements


def cells(chapter):
    return json.loads(chapter.path.read_text())["cells"]


def quoted_keys(source: str) -> list[str]:
    """The string keys of the check_quoted({...}) calls in a cell."""
    keys = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_quoted" and node.args:
            keys += [key.value for key in node.args[0].keys if isinstance(key, ast.Constant)]
    return keys


def test_a_quoted_number_must_round_to_its_measurement():
    assert quoted_value("0.93") == (0.93, 0.005) and quoted_value("12th") == (12.0, 0.5)
    check_quoted({"0.93": 0.934, "5.1%": 5.06, "1282 passes": 1282})
    check_quoted({"0.93": 0.9395})  # within one unit of the last digit: the rounding may tip
    with pytest.raises(AssertionError, match="the text says '0.93', the measurement is 0.95"):
        check_quoted({"0.93": 0.95})
    with pytest.raises(AssertionError, match="'1281'"):
        check_quoted({"1281": 1282.6})
    check_quoted({"0.93": 0.96}, tolerance=0.05)


def test_a_quoted_range_holds_every_measurement_inside_it():
    assert quoted_range("11% to 42%") == (11.0, 42.0, 0.5) and quoted_range("0.3 to 2.5%") == (0.3, 2.5, 0.05)
    assert quoted_range("0.94 from 500") == (0.94, 0.94, 0.005)  # one number, said in context
    check_quoted({"11% to 42%": 11.2, "from 0.3% to 2.5%": 2.54})
    with pytest.raises(AssertionError, match="'11% to 42%', the measurement is 43.2"):
        check_quoted({"11% to 42%": 43.2})
    check_quoted({"11% to 42%": 47}, tolerance=5)


@pytest.mark.parametrize(
    "chapter", [c for c in load_chapters() if c.number in CHECKED_CHAPTERS], ids=lambda chapter: chapter.notebook
)
def test_every_check_quotes_its_paragraph_and_every_measured_paragraph_is_checked(chapter):
    text = None  # the markdown cell the next check belongs to
    unchecked = []
    for index, cell in enumerate(cells(chapter)):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if text is not None and MEASURED.search(text):
                unchecked.append(text[:80])
            text = source
        elif source.startswith(MARKER):
            keys = quoted_keys(source)
            assert keys, f"{chapter.notebook} cell {index}: a prose check that quotes nothing"
            missing = [key for key in keys if key not in (text or "")]
            assert not missing, f"{chapter.notebook} cell {index}: the paragraph above no longer says {missing}"
            text = None
    if text is not None and MEASURED.search(text):
        unchecked.append(text[:80])
    assert not unchecked, f"{chapter.notebook}: paragraphs quoting measurements without a {MARKER} cell: {unchecked}"
