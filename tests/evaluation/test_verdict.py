"""`make verdict`: resumes after a kill, refuses bad input, and its committed tables are reproduced here.

The kill test runs the verdict on a toy colour classifier and a folder of
toy photos (tests/toy_models.py), so that it takes seconds; the committed
tables (data/verdict) are checked against a seeded sample of grid cases
computed again on the real model.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from toy_models import COLOURS, colour_bundle, solid

from history_of_interpretation.evaluation import verdict
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
from history_of_interpretation.evaluation.grid_cases import build_cases
from history_of_interpretation.evaluation.result_log import read
from history_of_interpretation.methods import SPECS

SIZE = 64
METHODS = ["vanilla_gradient", "loo_grid"]  # the toy's Grad-CAM layer is pooled: no CAM methods on it
TESTS = Path(__file__).resolve().parents[1]
CHILD = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from toy_models import colour_bundle
from history_of_interpretation.evaluation.verdict import run_verdict
run_verdict(colour_bundle({SIZE}), Path(sys.argv[1]), cases=int(sys.argv[3]), images=sys.argv[2],
            methods={METHODS!r}, progress=False)
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    photos = tmp_path_factory.mktemp("photos")
    for index, name in enumerate(COLOURS):
        Image.fromarray(solid(COLOURS[name], index)).save(photos / f"{name}.png")
    return photos


def rows(path: Path) -> list[tuple]:
    with open(path, newline="") as handle:
        return [tuple(row.values()) for row in csv.DictReader(handle)]


def run_child(out: Path, folder: Path, cases: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(folder), str(cases)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_killed_verdict_resumes_without_losing_or_repeating_a_row(folder, tmp_path):
    complete = tmp_path / "complete"
    verdict.run_verdict(colour_bundle(SIZE), complete, cases=6, images=str(folder), methods=METHODS, progress=False)
    killed = tmp_path / "killed"
    child = run_child(killed, folder, 6)
    grid_rows = killed / verdict.GRID / "evaluation.csv"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and child.poll() is None:
        if grid_rows.exists() and grid_rows.read_text().count("\n") > 3:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the verdict ended before it could be killed"
    assert run_child(killed, folder, 6).wait() == 0
    for part in (verdict.GRID, verdict.PHOTOS):
        resumed, whole = rows(killed / part / "evaluation.csv"), rows(complete / part / "evaluation.csv")
        assert len(resumed) == len(set(resumed)) and sorted(resumed) == sorted(whole), part
    scores = [float(row[3]) for row in rows(complete / verdict.GRID / "evaluation.csv")]
    # 6 cases x 5 maps: random, edge_detector, vanilla_gradient, loo_grid and its own random map
    assert len(scores) == 6 * 5 and all(0 <= score <= 1 for score in scores if np.isfinite(score))


def test_too_few_cases_or_classes_is_refused_clearly(folder, tmp_path, capsys):
    assert verdict.main(["--cases", "0", "--out", str(tmp_path / "out")]) == 2
    assert "CASES must be a whole number of at least 1" in capsys.readouterr().err
    few = tmp_path / "few"
    few.mkdir()
    for index, name in enumerate(list(COLOURS)[:2]):
        Image.fromarray(solid(COLOURS[name], index)).save(few / f"{name}.png")
    with pytest.raises(ValueError, match="classes"):
        verdict.run_verdict(colour_bundle(SIZE), tmp_path / "out", cases=2, images=str(few), methods=METHODS)


# --- the committed tables, against a seeded sample computed again ----------------------------------

SAMPLE = 2
TOLERANCE = 1e-3  # float noise from another CPU moves a share by far less (tests/methods/test_float_noise.py)


def test_the_committed_grid_table_is_reproduced_on_a_seeded_sample_of_cases(lite0):
    committed, _, settings = read(verdict.COMMITTED / verdict.GRID)
    cases = {case.name: case for case in build_cases(lite0, verdict.DEFAULT_CASES, seed=settings["seed"])}
    assert {row["image"] for row in committed} == set(cases), "the committed cases are not the ones drawn"
    sample = np.random.default_rng(2026).choice(sorted(cases), SAMPLE, replace=False)
    calm = [method for method in SPECS if not SPECS[method].chaotic]
    again = evaluate(
        lite0,
        {name: cases[name].image for name in sample},
        plan_units(calm, verdict.VERDICT_SETTINGS),
        Plan(verdict.GRID_METRICS, seed=settings["seed"]),
        cases={name: cases[name] for name in sample},
        progress=False,
    )
    expected = {(row["image"], row["method"]): row["value"] for row in committed}
    for row in again.rows:
        assert row["value"] == pytest.approx(expected[row["image"], row["method"]], abs=TOLERANCE), row


def test_the_verdict_runs_at_chapter_12s_settings():
    # Chapter 12 keeps its settings in its parameters cell (papermill may change them); the verdict, which
    # chapter 13 sets beside chapter 12, must run what chapter 12 runs by default.
    chapter = json.loads((verdict.ROOT / "notebooks" / "12_can_we_trust_them.ipynb").read_text())
    parameters = next(c for c in chapter["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assignments = {
        node.targets[0].id: node.value
        for node in ast.parse("".join(parameters["source"])).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert ast.literal_eval(assignments["SETTINGS"]) == verdict.VERDICT_SETTINGS
