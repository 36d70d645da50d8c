"""The report (make report) opened from disk in headless Chromium, as a reader would.

The book is built afresh from docs/ and the committed notebooks into a temporary folder;
every page must load with no console error, no broken image and no request off the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from browser import open_page
from selenium.webdriver.common.by import By

from coursetools.chapters import ROOT, load_chapters
from coursetools.project import colab_url

CHAPTERS = load_chapters()
# Every page a reader can reach: the front page, each chapter, the papers, and Sphinx's own two.
PAGES = [
    "index.html",
    *(f"chapters/{c.notebook}.html" for c in CHAPTERS),
    "papers.html",
    "search.html",
    "genindex.html",
]


@pytest.fixture(scope="session")
def report(tmp_path_factory) -> Path:
    """The book, built as `make report` builds it (warnings are errors), into a temporary folder."""
    out = tmp_path_factory.mktemp("report")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-q",
            "-d",
            str(out / "doctrees"),
            str(ROOT / "docs"),
            str(out / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"the report does not build:\n{build.stderr}"
    return out / "html"


def page_of(url: str, report: Path) -> str:
    """The page a file:// address points at, relative to the report (anchor dropped)."""
    return Path(url2pathname(urlsplit(url).path)).relative_to(report).as_posix()


def outputs(notebook: Path) -> list[dict]:
    """The data of every rich output of the executed notebook (mime type to content)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [output["data"] for cell in cells for output in cell.get("outputs", []) if "data" in output]


def image_outputs(notebook: Path) -> int:
    """How many images the notebook shows."""
    return sum(any(kind.startswith("image/") for kind in data) for data in outputs(notebook))


def table_outputs(notebook: Path) -> int:
    """How many Markdown tables (the cost tables) the notebook shows."""
    return sum("|---" in "".join(data.get("text/markdown", "")) for data in outputs(notebook))


def test_the_book_has_exactly_the_expected_pages(report):
    built = {p.relative_to(report).as_posix() for p in report.rglob("*.html") if "_static" not in p.parts}
    assert built == set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_cleanly_offline(browser, report, page):
    loaded = open_page(browser, (report / page).as_uri())
    assert loaded.console_errors == [], f"{page}: console errors"
    assert loaded.broken_images == [], f"{page}: images that did not load"
    assert loaded.broken_links == [], f"{page}: links to files that do not exist"
    assert loaded.remote_requests == [], f"{page}: requests that leave the machine"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.notebook)
def test_each_chapter_shows_its_notebooks_figures_tables_and_a_colab_badge(browser, report, chapter):
    loaded = open_page(browser, (report / "chapters" / f"{chapter.notebook}.html").as_uri())
    assert loaded.broken_images == []
    figures = browser.find_elements(By.CSS_SELECTOR, ".cell_output img")
    assert len(figures) == image_outputs(chapter.path) > 0
    tables = browser.find_elements(By.CSS_SELECTOR, ".cell_output table")
    assert len(tables) == table_outputs(chapter.path)
    badge = browser.find_element(By.CSS_SELECTOR, f'a[href="{colab_url(chapter.notebook)}"] img')
    assert badge.get_attribute("alt") == "Open in Colab"
    assert badge.get_attribute("naturalWidth") != "0"


def test_the_readme_figures_appear_on_the_front_page(browser, report):
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert any(link.startswith("figures/") for link in linked)
    loaded = open_page(browser, (report / "index.html").as_uri())
    assert loaded.broken_images == []
    shown = [Path(img.get_attribute("src")).name for img in browser.find_elements(By.TAG_NAME, "img")]
    for link in linked:
        assert Path(link).name in shown, f"README image {link} is missing from the front page"


def walk(browser, report, link: str) -> list[str]:
    """The pages reached by clicking `link` (a CSS selector) until a page has none."""
    visited = []
    while links := browser.find_elements(By.CSS_SELECTOR, link):
        links[0].click()
        visited.append(page_of(browser.current_url, report))
    return visited


def test_next_and_previous_links_walk_the_chapters_in_registry_order(browser, report):
    order = ["index.html", *(f"chapters/{c.notebook}.html" for c in CHAPTERS), "papers.html"]
    browser.get((report / "index.html").as_uri())
    assert walk(browser, report, "a.right-next") == order[1:]
    assert walk(browser, report, "a.left-prev") == order[-2::-1]


def test_the_table_of_contents_lists_the_chapters_in_order(browser, report):
    browser.get((report / "index.html").as_uri())
    links = browser.find_elements(By.CSS_SELECTOR, ".toctree-wrapper a.reference.internal")
    targets = [page_of(link.get_attribute("href"), report) for link in links]
    assert targets == [f"chapters/{c.notebook}.html" for c in CHAPTERS] + ["papers.html"]


def test_the_papers_page_names_each_chapters_paper(browser, report):
    browser.get((report / "papers.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    with_paper = [c for c in CHAPTERS if c.paper]
    assert len(rows) == len(with_paper)
    for row, chapter in zip(rows, with_paper):
        link = row.find_element(By.TAG_NAME, "a").get_attribute("href")
        assert link.endswith(f"chapters/{chapter.notebook}.html")
        assert chapter.paper.split()[0] in row.text  # the first author, in either form


def test_display_math_is_rendered_as_mathml(browser, report):
    with_math = [c for c in CHAPTERS if "$$" in c.path.read_text(encoding="utf-8")]
    assert with_math, "no chapter has display math to check"
    for chapter in with_math:
        browser.get((report / "chapters" / f"{chapter.notebook}.html").as_uri())
        assert browser.find_elements(By.CSS_SELECTOR, 'div.math math[display="block"]')
        assert "$$" not in browser.find_element(By.TAG_NAME, "main").text


# The checks themselves must be able to fail: each on a page with exactly that defect.
@pytest.mark.parametrize(
    "body, defect",
    [
        ('<img src="missing.png" alt="">', "broken_images"),
        ('<a href="missing.html">a page that is not there</a>', "broken_links"),
        ("<script>console.error('boom')</script>", "console_errors"),
        ('<img src="https://example.invalid/figure.png" alt="">', "remote_requests"),
    ],
)
def test_the_page_checks_catch_each_defect(browser, tmp_path, body, defect):
    page = tmp_path / "page.html"
    page.write_text(f"<!doctype html><title>defect</title>{body}")
    assert getattr(open_page(browser, page.as_uri()), defect), f"{defect} missed {body}"


def test_a_clean_page_passes_every_check(browser, tmp_path):
    page = tmp_path / "page.html"
    pixel = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
    page.write_text(f'<!doctype html><title>clean</title><img src="{pixel}" alt=""><a href="page.html#top">here</a>')
    loaded = open_page(browser, page.as_uri())
    assert loaded.images == 1
    assert loaded.console_errors == loaded.broken_images == loaded.broken_links == loaded.remote_requests == []
