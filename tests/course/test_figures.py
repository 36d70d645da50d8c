"""The published figures regenerate: each PNG in figures/ against a fresh run.

In `make test`, nbval has just executed every notebook with the figure folder
pointed at a temporary directory (see the root conftest.py); run on its own,
this test runs the chapter that writes each figure with papermill. Each figure must match its
committed PNG within a tolerance that float noise across CPUs passes and a
changed method fails; a failure names the figure and writes a diff image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from coursetools.chapters import load_chapters
from coursetools.series import FIGURE_DIR, run_notebook
from history_of_interpretation.visualisation import VOLATILE_KEY

REGENERATED_PREFIX = "regenerated-figures-"  # the root conftest.py's fresh folder

PUBLISHED = sorted(FIGURE_DIR.glob("*.png"))
CHANGED_PIXEL = 0.1  # a pixel differs if a channel moved by more than 10% of its range
MAX_CHANGED_SHARE = 0.005  # a figure differs if more than 0.5% of its pixels did
# Figures that another float summation order alone moves by more than that: measured (share of changed pixels)
# against the committed PNG under the proxies for another CPU (tests/methods/test_float_noise.py: oneDNN off, one
# intra-op thread) and in Colab's environment (make test-colab's: TensorFlow 2.20, Python 3.13) on 2026-11-30, with
# what moves. Each may change by twice its largest measured share.
FLOAT_ORDER_SPREAD = {
    "19_randomisation_grid.png": (
        {"oneDNN off": 0.0105, "one thread": 0.0088, "Colab": 0.0096},
        "maps on models randomised down to block03 and the stem, whose output hardly depends on the photo: "
        "their gradients and Score-CAM's increases are float noise",
    ),
    "20_randomisation_curves.png": (
        {"oneDNN off": 0.0135, "one thread": 0.0034, "Colab": 0.0082},
        "similarities (means over 3 photos) of those noise maps move by about 0.005, a line's width",
    ),
    "21_deletion_insertion.png": (
        {"oneDNN off": 0.0126, "one thread": 0.0003, "Colab": 0.0},
        "ROAD and insertion curves that a few near-tied pixels reorder, and Guided IG's (chaotic) curves",
    ),
    "22_ranking.png": (
        {"oneDNN off": 0.0180, "one thread": 0.0066, "Colab": 0.0076},
        "SIC's ranks: on 2 photos PIC's stepped curves leave many units within float noise of each other",
    ),
}


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0


def volatile_mask(shape, *paths: Path, margin: int = 2) -> np.ndarray:
    """True where either PNG says volatile text (seconds) was drawn (visualisation.save_figure)."""
    mask = np.zeros(shape[:2], dtype=bool)
    for path in paths:
        for left, top, right, bottom in json.loads(Image.open(path).text.get(VOLATILE_KEY, "[]")):
            mask[max(top - margin, 0) : bottom + margin, max(left - margin, 0) : right + margin] = True
    return mask


def tolerance(figure_name: str) -> float:
    """The share of pixels a regenerated figure may change: twice its measured float-order spread, or 0.5%."""
    spread, _ = FLOAT_ORDER_SPREAD.get(figure_name, ({}, ""))
    return max(MAX_CHANGED_SHARE, 2 * max(spread.values(), default=0.0))


def compare_png(published: Path, regenerated: Path) -> tuple[float, Path | None]:
    """Share of changed pixels, volatile text left out; beyond the figure's tolerance also writes <name>.diff.png."""
    old, new = load_rgb(published), load_rgb(regenerated)
    if old.shape != new.shape:
        return 1.0, None
    changed = (np.abs(old - new).max(axis=2) > CHANGED_PIXEL) & ~volatile_mask(old.shape, published, regenerated)
    share = float(changed.mean())
    if share <= tolerance(published.name):
        return share, None
    diff = (new * 0.3 * 255).astype(np.uint8)
    diff[changed] = (255, 0, 255)
    diff_path = regenerated.with_suffix(".diff.png")
    Image.fromarray(diff).save(diff_path)
    return share, diff_path


def chapter_writing(figure_name: str) -> Path:
    """The notebook that the chapter registry says writes this figure."""
    writers = [chapter.path for chapter in load_chapters() if figure_name in chapter.figures]
    assert len(writers) == 1, f"expected one chapter of notebooks/chapters.toml to write {figure_name}, found {writers}"
    return writers[0]


@pytest.fixture(scope="session")
def regenerated() -> Path:
    """This session's own folder (conftest.py makes a new one): never figures/, never an earlier run's."""
    folder = Path(os.environ["HISTORY_OF_INTERPRETATION_FIGURES"]).resolve()
    if folder == FIGURE_DIR.resolve() or not folder.name.startswith(REGENERATED_PREFIX):
        pytest.fail(f"the figures must regenerate into a fresh folder of this session, not {folder}")
    return folder


def regenerate(folder: Path, figure_name: str) -> Path:
    """The fresh figure: nbval's, if it ran in this session; else run its chapter now."""
    fresh = folder / figure_name
    if not fresh.exists():
        notebook = chapter_writing(figure_name)
        run_notebook(notebook, folder / "notebooks" / notebook.name, {"OUT": str(folder)})
    return fresh


def test_the_registry_lists_exactly_the_published_figures():
    registered = sorted(name for chapter in load_chapters() for name in chapter.figures)
    assert registered == [p.name for p in PUBLISHED], "figures/ and notebooks/chapters.toml disagree"


def test_each_registered_chapter_saves_its_figures():
    for chapter in load_chapters():
        text = chapter.path.read_text()
        for name in chapter.figures:
            assert f"/{name}" in text, f"{chapter.notebook} is registered to write {name} but never saves it"


@pytest.mark.parametrize("published", PUBLISHED, ids=[p.name for p in PUBLISHED])
def test_figure_regenerates(published: Path, regenerated: Path):
    fresh = regenerate(regenerated, published.name)
    assert fresh.exists(), f"{published.name}: its chapter did not write it (expected in {regenerated})"
    share, diff_path = compare_png(published, fresh)
    assert share <= tolerance(published.name), (
        f"{published.name} differs from its regenerated version in {share:.1%} of pixels "
        f"(tolerance {tolerance(published.name):.1%}); diff image: {diff_path}. If the change is intended, "
        "run `make figures` and commit figures/ with the notebooks."
    )


def corrupt(published: Path, folder: Path, rows: slice, columns: slice) -> Path:
    """A copy of the figure with one block of pixels inverted."""
    pixels = (load_rgb(published) * 255).astype(np.uint8)
    pixels[rows, columns] = 255 - pixels[rows, columns]
    corrupted = folder / published.name
    Image.fromarray(pixels).save(corrupted)
    return corrupted


def test_comparison_detects_a_changed_figure(tmp_path):
    published = PUBLISHED[0]
    height, width = load_rgb(published).shape[:2]
    share, diff_path = compare_png(published, corrupt(published, tmp_path, slice(height // 4), slice(width // 4)))
    assert share > MAX_CHANGED_SHARE and diff_path is not None and diff_path.exists()


@pytest.mark.parametrize("name", sorted(FLOAT_ORDER_SPREAD))
def test_a_figure_with_a_measured_spread_still_fails_when_one_method_s_row_changes(tmp_path, name):
    published = FIGURE_DIR / name
    assert published in PUBLISHED
    height = load_rgb(published).shape[0]
    # Figure 19 draws a method per row, 16 rows: a sixteenth of the height across the whole width.
    share, _ = compare_png(
        published, corrupt(published, tmp_path, slice(height // 2, height // 2 + height // 16), slice(None))
    )
    assert share > tolerance(name)


def test_comparison_ignores_volatile_text_and_nothing_else(tmp_path):
    import matplotlib.pyplot as plt

    from history_of_interpretation import visualisation as vis

    def drawn(seconds: str, dot: float) -> Path:
        figure, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, dot])
        vis.volatile(ax.set_xlabel(seconds, fontsize=40))
        path = vis.save_figure(figure, tmp_path / f"{seconds}-{dot}.png", dpi=60)
        plt.close(figure)
        return path

    assert compare_png(drawn("1.23 s", 1), drawn("98.70 s", 1))[0] == 0  # other seconds: no change
    assert compare_png(drawn("1.23 s", 1), drawn("1.23 s", 0.2))[0] > 0  # another line: a change
