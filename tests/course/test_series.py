"""Rerunning the series on another image: `make figures IMAGE=... MODEL=... OUT=...`."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from coursetools.series import FIGURE_DIR, NOTEBOOK_DIR, ROOT, drop_tensorflow_startup, main, run_notebook, run_series
from history_of_interpretation import load_image, sample_catalogue

UNPUBLISHED_SAMPLE = "flower"  # no published chapter uses it


def fingerprint_folder(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_rerun_sample_is_unpublished():
    assert UNPUBLISHED_SAMPLE in sample_catalogue()
    published_notebooks = " ".join(p.read_text() for p in NOTEBOOK_DIR.glob("0[1-8]_*.ipynb"))
    assert f'"{UNPUBLISHED_SAMPLE}"' not in published_notebooks


def test_rerun_on_another_image_writes_only_into_out(tmp_path):
    before = fingerprint_folder(FIGURE_DIR), fingerprint_folder(NOTEBOOK_DIR)
    out = tmp_path / "flower"
    seconds = run_series(UNPUBLISHED_SAMPLE, "efficientnet_lite0", str(out), ["02", "04"])
    assert set(seconds) == {"02_vanilla_gradients.ipynb", "04_grad_cam.ipynb"}
    assert (out / "04_vanilla_gradient.png").stat().st_size > 0
    assert (out / "05_loo_vs_gradient.png").exists() and (out / "07_class_discrimination.png").exists()
    executed = (out / "notebooks" / "02_vanilla_gradients.ipynb").read_text()
    assert UNPUBLISHED_SAMPLE in executed and "injected-parameters" in executed
    assert (fingerprint_folder(FIGURE_DIR), fingerprint_folder(NOTEBOOK_DIR)) == before


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--image", "chelsea", "--model", "resnet50"], "unknown model 'resnet50'"),
        (["--image", "no/such/photo.jpg"], "no image file at no/such/photo.jpg"),
        (["--image", "chelsea", "--chapters", "42"], "no chapter numbered 42"),
    ],
)
def test_bad_parameters_stop_before_any_notebook_runs(tmp_path, capsys, arguments, message):
    out = tmp_path / "rerun"
    assert main([*arguments, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_out_may_not_be_the_published_figures(capsys):
    assert main(["--image", "chelsea", "--out", str(FIGURE_DIR)]) == 2
    assert "would overwrite the published series" in capsys.readouterr().err


def test_make_reports_a_missing_image_before_running_notebooks(tmp_path):
    out = tmp_path / "rerun"
    result = subprocess.run(
        ["make", "--no-print-directory", "figures", "IMAGE=missing.jpg", f"OUT={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "no image file at missing.jpg" in result.stderr
    assert not out.exists()


def test_rerun_accepts_a_path_relative_to_where_it_starts(tmp_path):
    photo = tmp_path / "my photo.png"
    Image.fromarray(load_image("flower", 224)).save(photo)
    relative = os.path.relpath(photo)  # relative to the repository root, not to notebooks/
    out = tmp_path / "out"
    assert main(["--image", relative, "--out", str(out), "--chapters", "3"]) == 0  # "3" means chapter 03
    assert (out / "06_gradient_vs_guided_backprop.png").exists()


def tiny_notebook(path: Path, *sources: str) -> Path:
    """A notebook with a `parameters` cell declaring X, then `sources` as code cells."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("X = 1")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *map(nbformat.v4.new_code_cell, sources)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_a_chapter_gets_only_the_parameters_it_declares(tmp_path, caplog):
    notebook = tiny_notebook(tmp_path / "chapter.ipynb", "print(X)")
    run_notebook(notebook, tmp_path / "out.ipynb", {"X": 5, "IMAGE": "rocket"}, progress=False)
    assert "5" in (tmp_path / "out.ipynb").read_text()
    assert "unknown parameter" not in caplog.text


def test_an_error_in_a_chapter_surfaces_in_full(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    notebook = tiny_notebook(tmp_path / "chapter.ipynb", "raise RuntimeError('the weights are missing')")
    with pytest.raises(PapermillExecutionError, match="RuntimeError: the weights are missing"):
        run_notebook(notebook, tmp_path / "out.ipynb", progress=False)
    assert not (tmp_path / "out.ipynb").exists()


def test_tensorflow_startup_lines_are_dropped_and_nothing_else():
    import nbformat

    startup = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795700833.328442   15382 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results.\n"
    )
    cell = nbformat.v4.new_code_cell("import tensorflow")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=startup),
        nbformat.v4.new_output("stream", name="stderr", text=startup + "a real warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text=startup),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    drop_tensorflow_startup(notebook)
    assert [output["text"] for output in cell.outputs] == ["a real warning\n", startup]
