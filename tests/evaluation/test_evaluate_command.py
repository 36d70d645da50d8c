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
from history_of_interpretation.evaluation.command import check_out, collect_images, evaluate
from history_of_interpretation.evaluation.result_log import ResultLog

SIZE = 32
METHODS = ["vanilla_gradient", "grad_cam", "loo_grid"]
TESTS = Path(__file__).resolve().parents[1]

# A child process that evaluates toy photos into argv[1]; the test kills it mid-run.
CHILD = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from toy_models import conv_bundle, random_image
from history_of_interpretation.evaluation.command import evaluate
photos = {{f"photo{{i}}": random_image({SIZE}, seed=i) for i in range(int(sys.argv[2]))}}
evaluate(conv_bundle(size={SIZE}), photos, Path(sys.argv[1]), {METHODS!r}, steps=4, progress=False)
"""


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
    photos = {f"photo{i}": random_image(SIZE, seed=i) for i in range(3)}
    evaluate(toy, photos, out, METHODS, steps=4, progress=False)
    return out


def test_a_run_writes_long_rows_for_every_photo_method_and_metric(complete_run):
    rows = read(complete_run / "evaluation.csv")
    assert len(rows) == len(set(rows))
    names = {row[1] for row in rows}
    assert {"random", "random_layer", "edge_detector", "loo_grid_random", "grad_cam_reversed", *METHODS} <= names
    for photo in ("photo0", "photo1", "photo2"):
        for metric in (
            "deletion_auc",
            "insertion_auc",
            "sic_auc",
            "aic_auc",
            "randomization_spearman_abs",
            "randomization_ssim",
        ):
            assert any(r[0] == photo and r[1] == "vanilla_gradient" and r[2] == metric for r in rows)
    table = (complete_run / "evaluation.md").read_text()
    assert "| vanilla_gradient |" in table and "deletion_auc ↓" in table
    assert (complete_run / "ranking.png").stat().st_size > 0


def test_same_seed_same_numbers_bit_for_bit(complete_run, toy, tmp_path):
    photos = {f"photo{i}": random_image(SIZE, seed=i) for i in range(3)}
    evaluate(toy, photos, tmp_path, METHODS, steps=4, progress=False)
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
    text = (complete_run / "evaluation.csv").read_text()
    lines = text.splitlines(keepends=True)
    (tmp_path / "evaluation.csv").write_text("".join(lines[:-3]) + lines[-3][:7])  # cut mid-row, mid-unit
    (tmp_path / "evaluation_settings.json").write_text((complete_run / "evaluation_settings.json").read_text())
    log = ResultLog(tmp_path, evaluate_photos.METRICS)
    assert not log.done("photo2", "loo_grid") and log.done("photo2", "grad_cam")
    assert (tmp_path / "evaluation.csv").read_text().endswith("\n")
    photos = {f"photo{i}": random_image(SIZE, seed=i) for i in range(3)}
    evaluate(toy, photos, tmp_path, METHODS, steps=4, progress=False)
    assert sorted(read(tmp_path / "evaluation.csv")) == sorted(read(complete_run / "evaluation.csv"))


def test_other_settings_in_out_are_refused(complete_run, toy):
    with pytest.raises(ValueError, match="other settings \\(steps\\)"):
        evaluate(toy, {"photo0": random_image(SIZE)}, complete_run, METHODS, steps=5, progress=False)


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
