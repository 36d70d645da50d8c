"""Numbers in a chapter's prose, checked against the measurements that produced them.

A chapter states numbers in its text ("0.93 of the mass lies in the cat's
half"). The cell after such a paragraph starts with `MARKER` and calls
`check_quoted({"0.93": share, ...})`: each key is a number exactly as the
paragraph writes it, each value the measurement behind it. A rerun that
moves a measurement beyond what the text says fails the cell (and nbval with
it), and tests/course/test_prose.py fails when the paragraph no longer
contains the quoted text, so the prose cannot silently go stale either way.
The book hides these cells from readers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MARKER = "# PROSE_CHECK"
_NUMBER = re.compile(r"[-−]?\d+(?:[.,]\d+)*(?:\.\d+)?")
_RANGE = re.compile(rf"({_NUMBER.pattern})\s?%?\s+to\s+({_NUMBER.pattern})")  # "11% to 42%", "0.3 to 2.5"


def quoted_value(text: str) -> tuple[float, float]:
    """The first number of a quoted text and half a unit of its last digit: "0.93" -> (0.93, 0.005)."""
    found = _NUMBER.search(text)
    if not found:
        raise ValueError(f"{text!r} quotes no number")
    digits = found.group().replace("−", "-").replace(",", "")
    decimals = len(digits.partition(".")[2])
    return float(digits), 0.5 * 10.0**-decimals


def quoted_range(text: str) -> tuple[float, float, float]:
    """(low, high, half a unit of the last digit) of what a text quotes: a range "A to B" ("11% to 42%":
    (11, 42, 0.5)), else its first number ("0.93 from 500": (0.93, 0.93, 0.005))."""
    found = _RANGE.search(text)
    if not found:
        value, half_unit = quoted_value(text)
        return value, value, half_unit
    (low, low_half), (high, high_half) = quoted_value(found.group(1)), quoted_value(found.group(2))
    return min(low, high), max(low, high), max(low_half, high_half)


def check_quoted(quoted: Mapping[str, float], tolerance: float | None = None, describes: bool = True) -> None:
    """Raise AssertionError naming every quoted number that its measurement no longer rounds to.

    By default a measurement matches its text when it lies within one unit of
    the text's last digit (the text rounds it, and float noise from another
    CPU may tip a rounding); `tolerance` (absolute, in the text's units) says
    otherwise, for numbers whose spread was measured to be wider. A text that
    quotes a range ("11% to 42%": what several float orders gave) holds every
    measurement inside it, with the same margin at either end.
    `describes`: whether this run is the one the text describes (the
    chapter's own photo and model); a rerun on your own photo is not checked.
    """
    if not describes:
        print("the text describes the chapter's own photo and model: this run's numbers are not checked against it")
        return
    wrong = []
    for text, measured in quoted.items():
        low, high, half_unit = quoted_range(text)
        allowed = 2 * half_unit if tolerance is None else tolerance
        if not low - allowed <= float(measured) <= high + allowed:
            wrong.append(f"the text says {text!r}, the measurement is {float(measured):.6g} (allowed ±{allowed:g})")
    if wrong:
        raise AssertionError("the prose quotes numbers the measurements no longer give:\n" + "\n".join(wrong))
