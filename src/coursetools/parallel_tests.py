"""`make test` as two pytest runs side by side: the two longest chapters, and everything else.

One pytest run leaves much of a machine's two cores idle (in a profile its
notebook kernels used 1.1 to 1.3 cores): a kernel and most unit tests run one
thread of Python between TensorFlow's calls. So `make test` starts two runs.
The first runs the two chapters whose committed runs took longest (papermill
records each cell's seconds) and the comparisons of the figures they write;
the second runs every other chapter, figure comparison and test (pytest's own
selection, less the first run's). A chapter and the comparison of its figures
stay in one run, which writes them into its own fresh folder (conftest.py).
The second run prints as it goes; the first run's output follows once both
are done. Either failing fails `make test`.

    python -m coursetools.parallel_tests [PYTEST ARGUMENTS...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .chapters import ROOT, Chapter, load_chapters

ALONE = 2  # chapters in the first run: on 2 cores the two longest take about as long as all the rest
FIGURE_TEST = "tests/course/test_figures.py::test_figure_regenerates[{}]"


def chapter_seconds(notebook: Path) -> float:
    """How long the committed run of a notebook took: the sum of papermill's per-cell durations (0 if none)."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for cell in cells)


def split(chapters: list[Chapter], alone: int = ALONE) -> list[str]:
    """The node ids of the first run: the `alone` longest chapters and their figures' comparisons."""
    longest = sorted(chapters, key=lambda chapter: -chapter_seconds(chapter.path))[:alone]
    return [
        *(str(chapter.path.relative_to(ROOT)) for chapter in longest),
        *(FIGURE_TEST.format(figure) for chapter in longest for figure in chapter.figures),
    ]


def commands(first: list[str], arguments: list[str]) -> tuple[list[str], list[str]]:
    """The two pytest command lines: `first`'s node ids, and the default selection without them."""
    pytest = [sys.executable, "-m", "pytest", *arguments]
    return [*pytest, *first], [*pytest, *(f"--deselect={node}" for node in first)]


def main(arguments: list[str]) -> int:
    """Both runs, the second in the foreground; the exit status of the first that failed, else 0."""
    nodes = split(load_chapters())
    first, rest = commands(nodes, arguments)
    with tempfile.TemporaryFile("w+") as log:
        beside = subprocess.Popen(first, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        rest_code = subprocess.call(rest, cwd=ROOT)
        first_code = beside.wait()
        log.seek(0)
        print(f"\n===== the first run: {', '.join(nodes)} =====\n{log.read()}", flush=True)
    if first_code or rest_code:
        print(f"make test failed: first run exit {first_code}, second run exit {rest_code}", file=sys.stderr)
    return first_code or rest_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
