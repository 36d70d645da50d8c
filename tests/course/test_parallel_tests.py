"""make test's two runs: the longest chapters with their figures' comparisons, and everything else without them."""

from __future__ import annotations

import json

from coursetools import parallel_tests
from coursetools.chapters import ROOT, Chapter, load_chapters


def test_the_first_run_takes_the_longest_chapters_and_their_figures(tmp_path, monkeypatch):
    notebooks = ROOT / "notebooks"
    monkeypatch.setattr(Chapter, "path", property(lambda chapter: notebooks / f"{chapter.notebook}.ipynb"))
    monkeypatch.setattr(
        parallel_tests, "chapter_seconds", lambda path: {"01": 3.0, "08": 400.0, "12": 1000.0}[path.name[:2]]
    )
    chapters = [Chapter(name, "", "", (f"{name}.png",)) for name in ("01_short", "08_long", "12_longest")]
    assert parallel_tests.split(chapters, alone=2) == [
        "notebooks/12_longest.ipynb",
        "notebooks/08_long.ipynb",
        "tests/course/test_figures.py::test_figure_regenerates[12_longest.png]",
        "tests/course/test_figures.py::test_figure_regenerates[08_long.png]",
    ]


def test_a_chapters_seconds_are_its_cells_recorded_durations(tmp_path):
    cells = [{"cell_type": "code", "metadata": {"papermill": {"duration": s}}, "source": ""} for s in (100.0, 5.5)]
    cells.append({"cell_type": "markdown", "metadata": {}, "source": ""})  # no duration: counts 0
    (tmp_path / "12_x.ipynb").write_text(json.dumps({"cells": cells}))
    assert parallel_tests.chapter_seconds(tmp_path / "12_x.ipynb") == 105.5


def test_the_second_run_deselects_exactly_what_the_first_runs():
    first = parallel_tests.split(load_chapters())
    one, two = parallel_tests.commands(first, ["-q"])
    assert one[-len(first) :] == first and one[:4] == two[:4] and two[3] == "-q"
    assert two[4:] == [f"--deselect={node}" for node in first]
    assert all((ROOT / node.split("::")[0]).exists() for node in first)
