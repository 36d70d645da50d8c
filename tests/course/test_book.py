"""The report's generated sources (coursetools.book): chapters from the registry."""

from __future__ import annotations

import json
import os

from coursetools.book import LOCAL_BADGE_IMAGE, chapter_copy, paper_reference, stage
from coursetools.chapters import ROOT, load_chapters

CHAPTERS = {chapter.notebook: chapter for chapter in load_chapters()}


def test_the_book_follows_the_chapter_list_it_is_given(tmp_path):
    chosen = [CHAPTERS["02_vanilla_gradients"], CHAPTERS["01_leave_one_out"]]
    stale = tmp_path / "chapters" / "99_dropped.ipynb"
    stale.parent.mkdir()
    stale.write_text("{}")
    stage(tmp_path, chosen)
    assert sorted(p.name for p in (tmp_path / "chapters").iterdir()) == [
        "01_leave_one_out.ipynb",
        "02_vanilla_gradients.ipynb",
    ]
    index = (tmp_path / "index.md").read_text()
    assert "chapters/02_vanilla_gradients\nchapters/01_leave_one_out\npapers\n" in index
    assert f"{{include}} {os.path.relpath(ROOT / 'README.md', tmp_path)}" in index
    papers = (tmp_path / "papers.md").read_text()
    assert papers.index("{doc}`chapters/02_vanilla_gradients`") < papers.index("{doc}`chapters/01_leave_one_out`")


def test_staging_twice_rewrites_nothing(tmp_path):
    stage(tmp_path, [CHAPTERS["00_model_and_images"]])
    written = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    for path in written:
        os.utime(path, ns=(1, 1))
    stage(tmp_path, [CHAPTERS["00_model_and_images"]])
    assert all(path.stat().st_mtime_ns == 1 for path in written)


def test_the_papers_page_lists_only_chapters_with_a_paper(tmp_path):
    stage(tmp_path, [CHAPTERS["00_model_and_images"], CHAPTERS["04_grad_cam"]])
    rows = [line for line in (tmp_path / "papers.md").read_text().splitlines() if line.startswith("| {doc}")]
    assert rows == [f"| {{doc}}`chapters/04_grad_cam` | {paper_reference(CHAPTERS['04_grad_cam'])} |"]


def test_a_paper_comes_from_the_chapters_opening_or_else_the_registry():
    assert paper_reference(CHAPTERS["02_vanilla_gradients"]) == (
        "Simonyan, Vedaldi & Zisserman, *Deep Inside Convolutional Networks: Visualising Image "
        "Classification Models and Saliency Maps* (2013)."
    )
    # Chapter 1 names Zeiler & Fergus in its prose, with no "**Paper.**" line.
    assert paper_reference(CHAPTERS["01_leave_one_out"]) == "Zeiler & Fergus 2013"


def test_a_chapter_page_is_the_notebook_with_a_local_badge():
    chapter = CHAPTERS["06_integrated_gradients"]
    original = json.loads(chapter.path.read_text(encoding="utf-8"))
    copy = json.loads(chapter_copy(chapter))
    assert copy["cells"][1:] == original["cells"][1:]
    first = "".join(copy["cells"][0]["source"])
    assert first.startswith(f"[![Open in Colab]({LOCAL_BADGE_IMAGE})](https://colab.research.google.com/")
