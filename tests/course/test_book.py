"""The report's generated sources (coursetools.book, book_cells, reader_notes): what readers get."""

from __future__ import annotations

import json
import os
import re

import pytest
from pybtex.database import parse_file

from coursetools.book import (
    LOCAL_BADGE_IMAGE,
    READER_SECTIONS,
    chapter_copy,
    readme_sections,
    reproduce_page,
    stage,
)
from coursetools.book_cells import (
    CHECKED_OUTPUT_MARKER,
    PROSE_CHECK_MARKER,
    SETTINGS_PROMPT,
    link_chapter_mentions,
    reader_cells,
)
from coursetools.chapters import ROOT, load_chapters
from coursetools.project import colab_setup_cell
from coursetools.reader_notes import ReaderNotes, load_reader_notes

CHAPTER_LIST = load_chapters()
CHAPTERS = {chapter.notebook: chapter for chapter in CHAPTER_LIST}
NOTES = load_reader_notes()
BIBLIOGRAPHY = parse_file(ROOT / "docs" / "references.bib")


def notebook(name: str) -> dict:
    return json.loads(CHAPTERS[name].path.read_text(encoding="utf-8"))


def staged(name: str) -> dict:
    return json.loads(chapter_copy(CHAPTERS[name], NOTES[name], CHAPTER_LIST)[0])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def shown_code(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "remove-cell" not in tags(cell) and "hide-input" not in tags(cell)


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
    cards = (tmp_path / "_generated" / "chapters.md").read_text()
    assert "chapters/02_vanilla_gradients\nchapters/01_leave_one_out\nreproduce\npapers\n" in cards
    assert cards.index(":link: chapters/02_vanilla_gradients") < cards.index(":link: chapters/01_leave_one_out")
    assert sorted(p.name for p in (tmp_path / "_generated" / "thumbnails").iterdir()) == [
        "01_leave_one_out.jpg",
        "02_vanilla_gradients.jpg",
    ]
    papers = (tmp_path / "papers.md").read_text()
    assert papers.index("{doc}`chapters/02_vanilla_gradients`") < papers.index("{doc}`chapters/01_leave_one_out`")


def test_staging_twice_rewrites_nothing(tmp_path):
    stage(tmp_path, [CHAPTERS["00_model_and_images"]])
    written = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    for path in written:
        os.utime(path, ns=(1, 1))
    stage(tmp_path, [CHAPTERS["00_model_and_images"]])
    assert all(path.stat().st_mtime_ns == 1 for path in written)


def test_a_card_shows_the_chapters_title_summary_and_its_thumbnails_alt_text(tmp_path):
    stage(tmp_path, [CHAPTERS["06_integrated_gradients"]])
    cards = (tmp_path / "_generated" / "chapters.md").read_text()
    note = NOTES["06_integrated_gradients"]
    assert ":::{grid-item-card} 6 · Integrated gradients (2017)\n" in cards
    assert f":img-alt: {note.images[0].alt}\n" in cards  # figure 09 is the chapter's first image
    assert f"\n{note.summary}\n" in cards


@pytest.mark.parametrize("name", CHAPTERS)
def test_readers_never_see_the_plumbing_yet_every_other_cell_stays(name):
    original, copy = notebook(name)["cells"], staged(name)["cells"]
    assert len(copy) == len(original) + 1  # the references, appended
    for before, after in zip(original, copy):
        source = "".join(before["source"])
        if before["cell_type"] != "code":
            continue
        machine_only = (
            source == colab_setup_cell()
            or CHECKED_OUTPUT_MARKER in source
            or source.lstrip().startswith(PROSE_CHECK_MARKER)
        )
        assert ("remove-cell" in tags(after)) == machine_only
        if "parameters" in tags(before):
            assert "hide-input" in tags(after)
            assert after["metadata"]["mystnb"]["code_prompt_show"] == SETTINGS_PROMPT
        if shown_code(after):
            plumbing = ("%config", "from coursetools.fingerprints import")
            kept = [line for line in source.splitlines() if not line.lstrip().startswith(plumbing)]
            assert "".join(after["source"]).splitlines() == kept
            assert after["outputs"] == before["outputs"]


def test_a_prose_check_cell_is_removed_and_config_lines_go_but_the_rest_of_their_cell_stays():
    cells = notebook("03_guided_backprop")["cells"]
    config = next(i for i, cell in enumerate(cells) if "%config" in "".join(cell["source"]))
    check = {"cell_type": "code", "metadata": {}, "outputs": [], "source": [f"{PROSE_CHECK_MARKER}\n", "assert 1\n"]}
    cells.insert(config + 1, check)
    reader_cells(cells, CHAPTERS["03_guided_backprop"], NOTES["03_guided_backprop"], CHAPTER_LIST)
    assert "remove-cell" in tags(cells[config + 1])
    kept = "".join(cells[config]["source"])
    assert (
        "%config" not in kept and "import matplotlib.pyplot as plt" in kept and "remove-cell" not in tags(cells[config])
    )


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_image_gets_its_caption_alt_text_and_number_from_the_registry(name):
    figures = [cell for cell in staged(name)["cells"] if "figure" in cell.get("metadata", {}).get("mystnb", {})]
    assert len(figures) == len(NOTES[name].images) > 0
    for number, (cell, note) in enumerate(zip(figures, NOTES[name].images), start=1):
        mystnb = cell["metadata"]["mystnb"]
        assert mystnb["figure"] == {"caption": note.caption, "name": f"figure-{CHAPTERS[name].number}-{number}"}
        assert mystnb["image"]["alt"] == note.alt


def test_wide_figures_span_the_page_and_link_to_their_full_size():
    cells = staged("08_comparison")["cells"]
    every_method = next(cell for cell in cells if "18_all_methods.png" in "".join(cell["source"]))
    assert "full-width" in tags(every_method)  # 2875 pixels wide
    assert every_method["metadata"]["mystnb"]["image"]["width"] == "100%"
    small = next(c for c in staged("09_black_box")["cells"] if "13_black_box_convergence" in "".join(c["source"]))
    # The convergence plot, 435 pixels wide, stays at its own size.
    assert "full-width" not in tags(small) and "width" not in small["metadata"]["mystnb"]["image"]


def test_chapter_twelves_wide_table_spans_the_page():
    cells = staged("12_can_we_trust_them")["cells"]
    ranking = next(cell for cell in cells if "road_srg" in json.dumps(cell.get("outputs", [])))
    assert "full-width" in tags(ranking)
    costs = next(cell for cell in reversed(cells) if "cost_table" in "".join(cell["source"]))
    assert "full-width" not in tags(costs)  # four columns fit the text


def test_an_image_the_registry_does_not_describe_stops_the_build_naming_the_chapter():
    notes = NOTES["04_grad_cam"]
    fewer = ReaderNotes(notes.summary, notes.thumbnail, notes.references, notes.images[:1])
    with pytest.raises(ValueError, match=r"04_grad_cam shows 2 images but describes 1"):
        reader_cells(notebook("04_grad_cam")["cells"], CHAPTERS["04_grad_cam"], fewer, CHAPTER_LIST)


def test_a_registry_without_the_books_fields_names_what_is_missing(tmp_path):
    registry = tmp_path / "chapters.toml"
    registry.write_text('[[chapter]]\nnotebook = "01_a"\nsummary = "x"\nthumbnail = "a.png"\nreferences = ["k"]\n')
    with pytest.raises(ValueError, match="chapter 01_a lacks image"):
        load_reader_notes(registry)
    registry.write_text(registry.read_text() + '[[chapter.image]]\ncaption = "a figure"\n')
    with pytest.raises(ValueError, match="01_a, image 1 needs a caption and alt text"):
        load_reader_notes(registry)


@pytest.mark.parametrize(
    "text, linked",
    [
        ("(chapter 7 swaps the baseline)", "([chapter 7](07_blur_ig.ipynb) swaps the baseline)"),
        ("Chapters 9 to 11 add", "Chapters [9](09_black_box.ipynb) to [11](11_regions_and_paths.ipynb) add"),
        ("as in chapter 6, the sigmas", "as in chapter 6, the sigmas"),  # the chapter's own number
        ("see `chapter 4` and chapter 14", "see `chapter 4` and chapter 14"),  # code, and no such chapter
        ("[chapter 4](04_grad_cam.ipynb)", "[chapter 4](04_grad_cam.ipynb)"),  # already a link
        ("chapter 12's evaluation", "[chapter 12](12_can_we_trust_them.ipynb)'s evaluation"),
    ],
)
def test_chapter_mentions_become_links(text, linked):
    assert link_chapter_mentions(text, CHAPTER_LIST, CHAPTERS["06_integrated_gradients"]) == linked


def test_a_chapter_page_ends_with_its_references_and_carries_a_local_badge():
    cells = staged("12_can_we_trust_them")["cells"]
    first = "".join(cells[0]["source"])
    assert first.startswith(f"[![Open in Colab]({LOCAL_BADGE_IMAGE})](https://colab.research.google.com/")
    references = "".join(cells[-1]["source"])
    assert references.startswith("## References\n\n```{bibliography}\n")
    keys = ", ".join(f'"{key}"' for key in NOTES["12_can_we_trust_them"].references)
    assert f":filter: key in {{{keys}}}" in references


def test_every_reference_exists_and_every_entry_is_cited_with_a_venue_year_and_link():
    cited = {key for note in NOTES.values() for key in note.references}
    assert cited <= set(BIBLIOGRAPHY.entries), "chapters.toml cites keys missing from docs/references.bib"
    assert set(BIBLIOGRAPHY.entries) <= cited, "docs/references.bib has entries no chapter cites"
    for key, entry in BIBLIOGRAPHY.entries.items():
        fields = entry.fields
        assert {"title", "year"} <= set(fields), key
        assert {"booktitle", "journal", "howpublished"} & set(fields), f"{key}: no venue"
        assert {"doi", "eprint", "url"} & set(fields), f"{key}: no DOI, arXiv number or address"


def test_the_original_article_is_linked_from_the_front_page_and_chapter_8():
    article = BIBLIOGRAPHY.entries["abdalla2021visual"].fields["url"]
    assert f"]({article})" in (ROOT / "docs" / "index.md").read_text()
    assert article in "".join(cell for cell in notebook("08_comparison")["cells"][0]["source"])
    assert "abdalla2021visual" in NOTES["08_comparison"].references


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_shows_its_methods_equation_or_none_is_due(name):
    markdown = "".join("".join(c["source"]) for c in notebook(name)["cells"] if c["cell_type"] == "markdown")
    # The prologue and the comparison introduce no method of their own.
    assert ("$$" in markdown) == (name not in {"00_model_and_images", "08_comparison"})


@pytest.mark.parametrize("name", CHAPTERS)
def test_shown_code_lines_fit_88_characters(name):
    wide = [
        f"cell {index}: {len(line)} characters"
        for index, cell in enumerate(staged(name)["cells"])
        if shown_code(cell)
        for line in "".join(cell["source"]).splitlines()
        if len(line) > 88
    ]
    assert wide == [], f"{name}: code lines wider than the book's column"


def test_the_reproduce_page_is_the_readme_but_its_reader_sections():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = readme_sections(readme)
    assert "Two commands" in sections and "Platforms and Python versions" in sections
    assert not set(READER_SECTIONS) & set(sections)
    page = reproduce_page(readme)
    assert page.startswith("# Reproduce, test and extend\n")
    # Relative images start at the repository's root in the README, at docs/ on the page.
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page):
        assert target.startswith("../") and (ROOT / "docs" / target).resolve().is_file(), target


def test_a_readme_without_a_reader_section_says_which():
    with pytest.raises(ValueError, match="README.md has no section Play with it"):
        readme_sections("## The chapters\n\ntext\n")
