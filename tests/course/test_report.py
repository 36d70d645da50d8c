"""The report (make report) opened from disk in headless Chromium, as a reader would.

The book is built afresh from docs/ and the committed notebooks into a temporary folder;
every page must load with no console error, no broken image and no request off the machine,
and read as a book: captioned figures with alt text, rendered equations, no test plumbing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from browser import open_page, requests_made
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from coursetools.book_cells import CHECKED_OUTPUT_MARKER, PROSE_CHECK_MARKER
from coursetools.chapters import ROOT, load_chapters
from coursetools.project import colab_url
from coursetools.reader_notes import load_reader_notes

CHAPTERS = load_chapters()
NOTES = load_reader_notes()
ARTICLE = "https://thegradient.pub/a-visual-history-of-interpretation-for-image-recognition/"
# Every page a reader can reach: the front page, each chapter, the build notes, the references,
# and Sphinx's own two.
PAGES = [
    "index.html",
    *(f"chapters/{c.notebook}.html" for c in CHAPTERS),
    "reproduce.html",
    "papers.html",
    "search.html",
    "genindex.html",
]
# Text that only the machinery needs: nbval's and the prose checks' markers, the Colab set-up,
# notebook settings, the figure folder's variable and the fingerprint lines.
PLUMBING = [
    CHECKED_OUTPUT_MARKER,
    PROSE_CHECK_MARKER,
    "google.colab",
    "%config",
    "HISTORY_OF_INTERPRETATION_FIGURES",
    "fingerprint(",
    "p50/mean",
]
# Where a reference may point: a DOI, arXiv, the article, or JMLR's own page (JMLR assigns no DOIs).
PERMANENT_LINKS = ("https://doi.org/", "https://arxiv.org/abs/", ARTICLE, "https://jmlr.org/papers/")
# Resolves when MathJax has typeset the page (at once on a page without math).
_TYPESET = """
const done = arguments[arguments.length - 1];
(window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve()).then(() => done(true));
"""


@pytest.fixture(scope="session")
def report(tmp_path_factory) -> Path:
    """The book, built as `make report` builds it (warnings are errors), into a temporary folder."""
    out = tmp_path_factory.mktemp("report")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
        + ["-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"the report does not build:\n{build.stderr}"
    return out / "html"


def typeset(text: str) -> str:
    """Text as Sphinx prints it: straight apostrophes become typographic ones (smartquotes)."""
    return text.replace("'", "\u2019")


def page_of(url: str, report: Path) -> str:
    """The page a file:// address points at, relative to the report (anchor dropped)."""
    return Path(url2pathname(urlsplit(url).path)).relative_to(report).as_posix()


def open_chapter(browser, report: Path, notebook: str) -> None:
    """Load a chapter page and wait for its equations."""
    open_page(browser, (report / "chapters" / f"{notebook}.html").as_uri())
    browser.execute_async_script(_TYPESET)


def shown_cells(notebook: Path) -> list[dict]:
    """The code cells the book shows (those not removed for readers), from the staged copy."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "remove-cell" not in c["metadata"].get("tags", [])]


def count_outputs(cells: list[dict], predicate) -> int:
    """How many outputs of the cells satisfy `predicate` (on their mime-type-to-content data)."""
    return sum(predicate(output["data"]) for cell in cells for output in cell.get("outputs", []) if "data" in output)


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


def test_every_file_the_equations_need_comes_from_the_book(browser, report):
    requests_made(browser)
    browser.get((report / "chapters" / "06_integrated_gradients.html").as_uri())
    browser.execute_async_script(_TYPESET)
    files = [url for url in requests_made(browser) if not url.startswith(("chrome:", "data:"))]
    assert files and all(url.startswith(report.as_uri()) for url in files), "a file from outside the book"
    assert any(url.split("?")[0].endswith("/_static/mathjax/tex-chtml.js") for url in files)
    fonts = browser.execute_script(
        "return Array.from(document.fonts).filter(f => f.family.includes('MJX')).map(f => f.status)"
    )
    # MathJax declares a font per style and loads those the page uses; none may fail.
    assert "loaded" in fonts and "error" not in fonts, "MathJax's own fonts did not load"
    assert any("/_static/mathjax/output/chtml/fonts/" in url for url in files)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.notebook)
def test_each_chapter_shows_its_figures_with_number_caption_and_alt_text(browser, report, chapter):
    open_chapter(browser, report, chapter.notebook)
    cells = shown_cells(ROOT / "docs" / "chapters" / f"{chapter.notebook}.ipynb")
    figures = browser.find_elements(By.CSS_SELECTOR, ".cell_output figure")
    assert len(figures) == count_outputs(cells, lambda d: any(k.startswith("image/") for k in d)) > 0
    assert len(browser.find_elements(By.CSS_SELECTOR, ".cell_output img")) == len(figures)
    for number, (figure, note) in enumerate(zip(figures, NOTES[chapter.notebook].images), start=1):
        caption = figure.find_element(By.TAG_NAME, "figcaption").text
        assert caption.startswith(f"Figure {int(chapter.number)}.{number}"), caption
        assert typeset(note.caption) in caption
        assert figure.find_element(By.TAG_NAME, "img").get_attribute("alt") == note.alt
    tables = browser.find_elements(By.CSS_SELECTOR, ".cell_output table")
    assert len(tables) == count_outputs(cells, lambda d: "|---" in "".join(d.get("text/markdown", "")))
    badge = browser.find_element(By.CSS_SELECTOR, f'a[href="{colab_url(chapter.notebook)}"] img')
    assert badge.get_attribute("alt") == "Open in Colab"
    assert badge.get_attribute("naturalWidth") != "0"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.notebook)
def test_no_plumbing_is_visible_to_readers(browser, report, chapter):
    open_chapter(browser, report, chapter.notebook)
    shown = browser.find_element(By.TAG_NAME, "main").text  # what is displayed, not what is in the page
    assert [text for text in PLUMBING if text in shown] == []
    settings = browser.find_elements(By.CSS_SELECTOR, "details.above-input")  # MyST-NB's hide-input
    assert len(settings) == 1 and settings[0].get_attribute("open") is None  # closed until asked


def test_a_wide_figure_spans_the_page_and_opens_at_full_size(browser, report):
    open_chapter(browser, report, "08_comparison")
    text_width = browser.find_element(By.CSS_SELECTOR, "main p").size["width"]
    link = browser.find_elements(By.CSS_SELECTOR, ".cell_output figure a.image-reference")[-1]
    image = link.find_element(By.TAG_NAME, "img")
    assert image.size["width"] > 1.2 * text_width  # chapter 8's every-method figure, into the margin
    target = Path(url2pathname(urlsplit(link.get_attribute("href")).path))
    assert target.is_file() and target.parent.name == "_images"
    assert int(image.get_attribute("naturalWidth")) > 2 * image.size["width"]  # more to see at full size
    # In view, nothing covers it: the theme fades its outline (the right sidebar) out over full-width content.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", image)
    uncovered = """const box = arguments[0].getBoundingClientRect();
                   const right = box.left + 0.95 * box.width, middle = box.top + box.height / 2;
                   return document.elementFromPoint(right, middle) === arguments[0];"""
    WebDriverWait(browser, 5).until(lambda driver: driver.execute_script(uncovered, image))


def test_chapter_twelves_long_table_scrolls_in_its_own_frame_with_its_header_in_view(browser, report):
    open_chapter(browser, report, "12_can_we_trust_them")
    table = next(t for t in browser.find_elements(By.CSS_SELECTOR, ".cell_output table") if "road_srg" in t.text)
    frame = table.find_element(By.XPATH, "..")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) > 20  # every method and baseline, one row each
    heights = [row.size["height"] for row in rows]
    assert max(heights) < 1.5 * min(heights)  # one line per row
    assert frame.size["height"] < browser.get_window_size()["height"]
    browser.execute_script("arguments[0].scrollTop = 600", frame)
    header = table.find_element(By.CSS_SELECTOR, "thead th")
    assert abs(header.location["y"] - frame.location["y"]) < 2  # stuck to the frame's top


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.notebook)
def test_code_of_88_characters_fits_without_scrolling(browser, report, chapter):
    open_chapter(browser, report, chapter.notebook)
    blocks = browser.execute_script(
        """return Array.from(document.querySelectorAll('div.cell_input pre')).filter(p => p.offsetParent)
             .map(p => [Math.max(...p.textContent.split('\\n').map(l => l.length)), p.scrollWidth, p.clientWidth]);"""
    )
    assert blocks
    assert [block for block in blocks if block[0] <= 88 and block[1] > block[2]] == []


def test_equations_render_with_a_large_integral_and_primes_beside_their_letter(browser, report):
    open_chapter(browser, report, "06_integrated_gradients")
    assert "$$" not in browser.find_element(By.TAG_NAME, "main").text
    sizes = browser.execute_script(
        """const equation = document.querySelector('mjx-container[display="true"]');
           const box = c => { const r = c.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
           const letter = equation.querySelector('mjx-c.mjx-c1D465');
           return {
             integral: box(equation.querySelector('mjx-c.mjx-c222B')),
             letter: box(letter),
             primes: Array.from(equation.querySelectorAll('mjx-c.mjx-c2032'), prime => [
               box(prime), box(prime.closest('mjx-msup, mjx-msubsup').firstElementChild.querySelector('mjx-c'))]),
           };"""
    )
    height = sizes["letter"]["bottom"] - sizes["letter"]["top"]
    assert sizes["integral"]["bottom"] - sizes["integral"]["top"] > 3 * height  # the display-size integral
    assert len(sizes["primes"]) == 3  # x' in (x_i - x'_i), and twice inside the integral
    for prime, base in sizes["primes"]:  # each sits at its letter's top right, as TeX sets it, not above it
        assert base["top"] - 0.2 * height <= prime["bottom"] <= base["bottom"]


def test_every_method_chapter_renders_its_equation(browser, report):
    with_math = [c for c in CHAPTERS if "$$" in c.path.read_text(encoding="utf-8")]
    assert len(with_math) >= 7
    for chapter in with_math:
        open_chapter(browser, report, chapter.notebook)
        assert browser.find_elements(By.CSS_SELECTOR, 'mjx-container[display="true"]'), chapter.notebook


def test_the_front_page_tells_the_story_and_links_every_chapter_the_article_and_the_app(browser, report):
    open_page(browser, (report / "index.html").as_uri())
    cards = browser.find_elements(By.CSS_SELECTOR, ".chapter-card")
    assert [page_of(card.find_element(By.TAG_NAME, "a").get_attribute("href"), report) for card in cards] == [
        f"chapters/{c.notebook}.html" for c in CHAPTERS
    ]
    for card, chapter in zip(cards, CHAPTERS):
        assert typeset(NOTES[chapter.notebook].summary) in card.text
        thumbnail = card.find_element(By.TAG_NAME, "img")
        assert thumbnail.get_attribute("alt") and thumbnail.get_attribute("naturalWidth") != "0"
    assert browser.find_elements(By.CSS_SELECTOR, f'a[href="{ARTICLE}"]')
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "make app" in text and "The story" in text
    assert "make lock" not in text and "nbval" not in text  # the developer's notes are on "Reproduce"


def walk(browser, report, link: str) -> list[str]:
    """The pages reached by clicking `link` (a CSS selector) until a page has none."""
    visited = []
    while links := browser.find_elements(By.CSS_SELECTOR, link):
        links[0].click()
        visited.append(page_of(browser.current_url, report))
    return visited


def test_next_and_previous_links_walk_the_chapters_in_registry_order(browser, report):
    order = ["index.html", *(f"chapters/{c.notebook}.html" for c in CHAPTERS), "reproduce.html", "papers.html"]
    browser.get((report / "index.html").as_uri())
    assert walk(browser, report, "a.right-next") == order[1:]
    assert walk(browser, report, "a.left-prev") == order[-2::-1]


def test_chapter_mentions_are_links_to_the_chapter(browser, report):
    open_chapter(browser, report, "06_integrated_gradients")
    link = browser.find_element(By.LINK_TEXT, "chapter 7")
    assert page_of(link.get_attribute("href"), report) == "chapters/07_blur_ig.html"


def test_the_references_give_each_chapters_papers_with_a_doi_or_arxiv_link(browser, report):
    open_page(browser, (report / "papers.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert [page_of(row.find_element(By.TAG_NAME, "a").get_attribute("href"), report) for row in rows] == [
        f"chapters/{c.notebook}.html" for c in CHAPTERS
    ]
    entries = browser.find_elements(By.CSS_SELECTOR, "div.citation")
    assert len(entries) == len({key for note in NOTES.values() for key in note.references})
    for entry in entries:
        links = [a.get_attribute("href") for a in entry.find_elements(By.CSS_SELECTOR, "a.reference.external")]
        assert any(link.startswith(PERMANENT_LINKS) for link in links), entry.text


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
