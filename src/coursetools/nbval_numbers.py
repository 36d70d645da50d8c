"""nbval compares the numbers of checked cells within a tolerance, not as exact text.

A chapter's cell marked `# NBVAL_CHECK_OUTPUT` prints the numbers behind its
figure (a fingerprint of each map). Another CPU sums floats in another order
(TensorFlow's oneDNN kernels, another thread count), so the last digits move:
exact text would fail a reader's `make test` on figures nobody changed. Here
each printed line is compared token by token: words and whole numbers
exactly, decimal numbers within a relative tolerance (`DEFAULT_TOLERANCE`, set
from the spread measured under the proxies for another CPU; see README), or
the cell's own, stated on its marker line with the reason, e.g.

    # NBVAL_CHECK_OUTPUT numbers within 5%: Guided IG's walk is chaotic in float noise (chapter 11 measures it)

Loaded by the root conftest.py as a pytest plugin; nbval's own comparison
runs for every other cell.
"""

from __future__ import annotations

import re

MARKER = "# NBVAL_CHECK_OUTPUT"
DEFAULT_TOLERANCE = 0.01  # relative; from the spread measured under the proxies (README, "The same figures")
ABSOLUTE_FLOOR = 1e-3  # numbers this close to 0 differ by float noise alone, whatever their relative change
_OWN_TOLERANCE = re.compile(re.escape(MARKER) + r" numbers within (\d+(?:\.\d+)?)%")
_NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")  # split keeps the numbers


def cell_tolerance(source: str) -> float:
    """The relative tolerance a checked cell states on its marker line, or the default."""
    found = _OWN_TOLERANCE.search(source)
    return float(found.group(1)) / 100 if found else DEFAULT_TOLERANCE


def compare_numbers(reference: str, regenerated: str, tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    """What differs between two printouts: words and whole numbers exactly, decimals within `tolerance`.

    Returns one message per differing line (empty when they agree).
    """
    problems = []
    old_lines, new_lines = reference.splitlines(), regenerated.splitlines()
    if len(old_lines) != len(new_lines):
        return [f"{len(new_lines)} lines printed where the committed notebook has {len(old_lines)}"]
    for number, (old, new) in enumerate(zip(old_lines, new_lines), start=1):
        # re.split with a group alternates text and numbers: text at even positions, numbers at odd ones.
        old_parts, new_parts = _NUMBER.split(old), _NUMBER.split(new)
        same = len(old_parts) == len(new_parts) and all(
            a == b if index % 2 == 0 else _close(a, b, tolerance)
            for index, (a, b) in enumerate(zip(old_parts, new_parts))
        )
        if not same:
            problems.append(f"line {number}:\n  committed:   {old}\n  regenerated: {new}")
    return problems


def _close(old: str, new: str, tolerance: float) -> bool:
    """Whole numbers (classes, passes, cells) exactly; decimals (measurements) within the tolerance."""
    if not any(mark in token for token in (old, new) for mark in ".eE"):
        return old == new
    a, b = float(old), float(new)
    return abs(a - b) <= max(tolerance * max(abs(a), abs(b)), ABSOLUTE_FLOOR)


def _stream_text(outputs) -> str:
    return "".join(
        output.get("text", "") if isinstance(output.get("text", ""), str) else "".join(output["text"])
        for output in outputs
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def pytest_configure(config):
    """Replace nbval's comparison for checked cells by the numeric one (nbval itself stays in charge otherwise)."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval is not installed: nothing to compare
        return
    exact = IPyNbCell.compare_outputs
    if getattr(exact, "numeric", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        source = self.cell.source if isinstance(self.cell.source, str) else "".join(self.cell.source)
        if MARKER not in source:
            return exact(self, test, ref, skip_compare)
        problems = compare_numbers(_stream_text(ref), _stream_text(test), cell_tolerance(source))
        self.comparison_traceback = [
            f"numbers beyond {cell_tolerance(source):.1%} (words and whole numbers exactly):",
            *problems,
        ]
        return not problems

    compare_outputs.numeric = True
    IPyNbCell.compare_outputs = compare_outputs
