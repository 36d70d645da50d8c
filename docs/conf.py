"""Sphinx configuration of the report: `make report` builds the book into build/report/.

The executed notebooks are shown as committed (never re-run). The chapter pages, the
front page's chapter cards, the references and the "Reproduce" page are generated from
notebooks/chapters.toml and the README by `coursetools.book.stage` before Sphinx reads
its sources; `index.md`, the story of the course, is written by hand.
"""

import sys
from pathlib import Path

from coursetools.book import GENERATED, stage
from coursetools.project import REPOSITORY

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
stage(DOCS)

project = "A visual history of interpretation for image recognition"
author = "the course's authors"
extensions = [
    "myst_nb",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax's files, served from the book (its name has a hyphen)
    "sphinxcontrib.bibtex",
    "sphinx_design",
    "chapter_figures",
]
# The generated fragments are included by index.md, not pages of their own.
exclude_patterns = [GENERATED]

# The notebooks are committed executed: show their outputs, run nothing.
nb_execution_mode = "off"
# Their stderr is TensorFlow's start-up chatter, not part of the lesson.
nb_output_stderr = "remove"
# Cost tables are Markdown outputs (pipe tables), which plain CommonMark would not render.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "colon_fence"]

# Offline, from disk: MathJax 3 from sphinx-mathjax-offline (copied into _static/mathjax), never
# a CDN, so every browser draws the same glyphs with MathJax's own fonts.
mathjax_path = "mathjax/tex-chtml.js"

# Figures are numbered (by chapter: docs/_ext/chapter_figures.py) when they have a caption.
numfig = True
numfig_format = {"figure": "Figure %s"}

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "repository_url": REPOSITORY,
    "use_repository_button": True,
    # The front page gives its width to the chapter cards; the other pages keep their outline.
    "secondary_sidebar_items": {"**": ["page-toc"], "index": []},
}
# Without a default, a first visit logs "Got invalid theme mode" to the console.
html_context = {"default_mode": "light"}
