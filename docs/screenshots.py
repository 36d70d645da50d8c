"""The README's screenshots of the book, taken in headless Chromium: `make screenshots` runs this.

`python docs/screenshots.py build/report docs/screenshots` writes, from the built book:
report.png (the front page as it opens), book_chapters.png (its chapter cards),
book_chapter_06.png (chapter 6's equation), book_chapter_06_figure.png (a numbered, captioned,
full-width figure) and book_chapter_12.png (chapter 12's long table). Each page must load
cleanly (tests/browser.py); MathJax has typeset the page before the picture is taken.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import chromium, open_page  # noqa: E402  (tests/browser.py drives Debian's Chromium)

WIDTH, HEIGHT = 1280, 900
# Each screenshot: its file, the page, and what to scroll to the top of the window (None: the top).
SHOTS = [
    ("report.png", "index.html", None),
    ("book_chapters.png", "index.html", "#the-chapters"),
    ("book_chapter_06.png", "chapters/06_integrated_gradients.html", None),
    ("book_chapter_06_figure.png", "chapters/06_integrated_gradients.html", "#figure-06-1"),
    ("book_chapter_12.png", "chapters/12_can_we_trust_them.html", "#what-three-photos-can-say"),
]
_TYPESET = """
const done = arguments[arguments.length - 1];
(window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve()).then(() => done(true));
"""


def take(book: Path, out: Path) -> None:
    """Save every screenshot of SHOTS from the built `book` into the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with chromium(WIDTH, HEIGHT) as driver:
        for name, page, anchor in SHOTS:
            loaded = open_page(driver, (book / page).resolve().as_uri())
            if loaded.console_errors or loaded.broken_images or loaded.broken_links or loaded.remote_requests:
                raise RuntimeError(f"{page} does not load cleanly: {loaded}")
            driver.execute_async_script(_TYPESET)
            if anchor:
                # Just below the theme's top bar, which stays over the page as it scrolls.
                driver.execute_script(
                    "const target = document.querySelector(arguments[0]);"
                    "if (!target) throw new Error('no ' + arguments[0]);"
                    "window.scrollTo(0, target.getBoundingClientRect().top + window.scrollY - 70);",
                    anchor,
                )
                # The theme hides its outline when full-width content scrolls into view, after a fade.
                time.sleep(1.5)
            if not driver.save_screenshot(str(out / name)):
                raise RuntimeError(f"could not write {out / name}")
            print(out / name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python docs/screenshots.py BUILT_BOOK_FOLDER OUT_FOLDER")
    take(Path(sys.argv[1]), Path(sys.argv[2]))
