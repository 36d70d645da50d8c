"""Sphinx configuration of the report: `make report` builds the book into build/report/.

The executed notebooks are shown as committed (never re-run). The chapter pages, the
table of contents and the papers page are generated from notebooks/chapters.toml by
`coursetools.book.stage` before Sphinx reads its sources.
"""

import sys
from pathlib import Path

from coursetools.book import stage
from coursetools.project import REPOSITORY

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
stage(DOCS)

project = "A visual history of interpretation for image recognition"
author = "the course's authors"
extensions = ["myst_nb", "mathml"]

# The notebooks are committed executed: show their outputs, run nothing.
nb_execution_mode = "off"
# Their stderr is TensorFlow's start-up chatter, not part of the lesson.
nb_output_stderr = "remove"
# Cost tables are Markdown outputs (pipe tables), which plain CommonMark would not render.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath"]

# Offline, from disk: math as MathML rendered at build time instead of MathJax from a CDN.
html_math_renderer = "mathml"
html_static_path = ["_static"]
html_css_files = ["mathml.css"]
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "repository_url": REPOSITORY,
    "use_repository_button": True,
}
# Without a default, a first visit logs "Got invalid theme mode" to the console.
html_context = {"default_mode": "light"}
