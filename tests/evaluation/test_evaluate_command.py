"""`make evaluate`: bad input fails clearly and writes nothing; runs resume after a kill; seeds reproduce."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from toy_models import conv_bundle, random_image

from history_of_interpretation.evaluation import command as evaluate_photos
from history_of_interpretation.evaluation.command import check_out, collect_images
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
from history_of_interpretation.evaluation.result_log import ResultLog

SIZE = 32
METHODS = ["vanilla_gradient", "grad_cam", "loo_grid"]
METRICS = ("model_randomisation", "class_sensitivity", "degenerate_maps")
TESTS = Path(__file__).resolve().parents[1]

# A child process that evaluates toy photos into argv[1]; the test kills it mid-run.
CHILD = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from toy_models import conv_bundle, random_image
from history_of_interpretation.evaluation.driver import Plan, evaluate, plan_units
toy = conv_bundle(size={SIZE})
photos = {{f"photo{{i}}": random_image({SIZE}, seed=i) for i in range(int(sys.argv[2]))}}
plan = Plan({METRICS!r}, depths=tuple(toy.group_names))
evaluate(toy, photos, plan_units({METHODS!r}), plan, out=Path(sys.argv[1]), progress=False)
"""


def run(toy, out: Path, photos: int = 3, seed: int = 0):
    photos = {f"photo{i}": random_image(SIZE, seed=i) for i in range(photos)}
    plan = Plan(METRICS, depths=tuple(toy.group_names), seed=seed)
    return evaluate(toy, photos, plan_units(METHODS), plan, out=out, progress=False)


def read(path: Path) -> list[tuple]:
    with open(path, newline="") as handle:
        return [tuple(row.values()) for row in csv.DictReader(handle)]


def run_child(out: Path, photos: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(photos)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def toy():
    return conv_bundle(size=SIZE)


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory, toy):
    out = tmp_path_factory.mktemp("complete")
    run(toy, out)
    return out


def test_a_run_writes_long_rows_for_every_photo_unit_and_metric(complete_run):
    rows = read(complete_run / "evaluation.csv")
    assert len(rows) == len(set(rows))
    costs = read(complete_run / "costs.csv")
    assert {(row[0], row[1]) for row in costs} == {
        (f"photo{i}", unit) for i in range(3) for unit in ("random", "random_layer", "edge_detector", *METHODS)
    }
    for photo in ("photo0", "photo1", "photo2"):
        for method in METHODS:
            for metric in METRICS:
                assert sum(r[0] == photo and r[1] == method and r[2] == metric for r in rows) == 1
        assert any(r[0] == photo and r[1] == "edge_detector" and r[2] == "model_randomisation" for r in rows)


def test_the_report_ranks_every_unit_and_draws_the_differences(complete_run, toy):
    evaluate_photos.write_report(complete_run, run(toy, complete_run))
    table = (complete_run / "evaluation.md").read_text()
    assert "| vanilla_gradient |" in table and "model_randomisation ↑" in table and "Friedman" in table
    assert (complete_run / "ranking.png").stat().st_size > 0


def test_same_seed_same_numbers_bit_for_bit(complete_run, toy, tmp_path):
    run(toy, tmp_path)
    assert (tmp_path / "evaluation.csv").read_bytes() == (complete_run / "evaluation.csv").read_bytes()


def test_a_killed_run_resumes_without_losing_or_repeating_a_row(complete_run, tmp_path):
    out = tmp_path / "killed"
    child = run_child(out, 3)
    csv_path = out / "evaluation.csv"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and child.poll() is None:
        if csv_path.exists() and csv_path.read_text().count("\n") > 1:  # the header and some rows
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    partial = read(csv_path)
    assert 0 < len(partial) < len(read(complete_run / "evaluation.csv"))
    assert run_child(out, 3).wait() == 0
    resumed = read(csv_path)
    assert len(resumed) == len(set(resumed))
    assert sorted(resumed) == sorted(read(complete_run / "evaluation.csv"))


def test_a_half_written_unit_is_dropped_and_computed_again(complete_run, toy, tmp_path):
    # The last unit's rows got in whole, then the kill came before its cost line (the commit mark) did:
    # the rows must go; and the cost file's own last line is cut mid-way.
    rows = (complete_run / "evaluation.csv").read_text()
    costs = (complete_run / "costs.csv").read_text().splitlines(keepends=True)
    (tmp_path / "evaluation.csv").write_text(rows)
    (tmp_path / "costs.csv").write_text("".join(costs[:-1]) + costs[-1][:9])
    (tmp_path / "evaluation_settings.json").write_text((complete_run / "evaluation_settings.json").read_text())
    settings = {"model": toy.name, "metrics": list(METRICS), "depths": toy.group_names, "seed": 0}
    log = ResultLog(tmp_path, settings)
    assert not log.done("photo2", "loo_grid") and log.done("photo2", "grad_cam")
    assert not any(row["image"] == "photo2" and row["method"].startswith("loo_grid") for row in log.rows())
    assert (tmp_path / "costs.csv").read_text().endswith("\n")
    run(toy, tmp_path)
    assert sorted(read(tmp_path / "evaluation.csv")) == sorted(read(complete_run / "evaluation.csv"))


def test_other_settings_in_out_are_refused(complete_run, toy):
    with pytest.raises(ValueError, match="other settings \\(seed\\)"):
        run(toy, complete_run, photos=1, seed=5)


def test_a_folder_skips_non_images_with_a_warning_naming_them(tmp_path):
    Image.fromarray(random_image(64, seed=1)).save(tmp_path / "cat.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    with pytest.warns(UserWarning, match="notes.txt"):
        photos = collect_images(str(tmp_path), SIZE)
    assert list(photos) == ["cat.png"] and photos["cat.png"].shape == (SIZE, SIZE, 3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--images", "{empty}", "--out", "{out}"], "holds no images"),
        (["--images", "chelsea", "--out", "{out}", "--methods", "vanilla_gradient,magic"], "unknown method 'magic'"),
        (["--images", "chelsea", "--out", "{out}", "--metrics", "accuracy"], "unknown metric 'accuracy'"),
        (["--images", "chelsea", "--out", "{figures}/mine"], "inside figures/"),
        (["--images", "no_such_photo.png", "--out", "{out}"], "no image file"),
    ],
)
def test_bad_input_gets_a_clear_error_and_nothing_is_written(tmp_path, capsys, arguments, message, lite0):
    (tmp_path / "empty").mkdir()
    places = {"empty": tmp_path / "empty", "out": tmp_path / "out", "figures": evaluate_photos.FIGURE_DIR}
    assert evaluate_photos.main([a.format(**places) for a in arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (evaluate_photos.FIGURE_DIR / "mine").exists()


def test_out_must_be_given():
    with pytest.raises(ValueError, match="give OUT="):
        check_out("")


def test_default_depths_run_from_the_logits_to_the_stem(lite0):
    names = lite0.group_names
    depths = lite0.depths(5)
    assert depths[0] == "logits" and depths[-1] == "stem" and len(depths) == 5
    assert np.all(np.diff([names.index(d) for d in depths]) > 0)


def interrupted() -> str:
    raise KeyboardInterrupt


def refused() -> str:
    raise ValueError("IMAGES names no photo")


@pytest.mark.parametrize(
    "work, status, says",
    [
        (lambda: "out/evaluation.csv", 0, "wrote out/evaluation.csv"),
        (refused, 2, "error: IMAGES names no photo"),
        (interrupted, 130, "interrupted: every finished (photo, unit) is saved; rerun the same command to resume"),
    ],
)
def test_make_evaluate_and_make_verdict_end_the_same_way(work, status, says, capsys):
    """Both commands run their work through run_resumable: what they say and their exit status."""
    assert evaluate_photos.run_resumable(work) == status
    printed = capsys.readouterr()
    assert says in printed.out + printed.err
