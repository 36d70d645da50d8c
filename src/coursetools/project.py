"""Where the course lives: the one place its public address is written.

The Colab set-up cell of every chapter, the "Open in Colab" badges and the
report read it from here (tests check the notebooks agree). A fork changes
this line (tests then name every notebook cell to update).
"""

REPOSITORY = "https://github.com/history-of-interpretation/history-of-interpretation"
BRANCH = "main"


def colab_url(notebook: str) -> str:
    """The address that opens `notebooks/<notebook>` of the repository in Google Colab."""
    path = REPOSITORY.removeprefix("https://github.com/")
    name = notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb"
    return f"https://colab.research.google.com/github/{path}/blob/{BRANCH}/notebooks/{name}"


def colab_setup_cell() -> str:
    """The first code cell of every notebook: on Colab, clone the course and run its set-up (colab.py)."""
    return f"""\
# On Colab only: fetch the course, install what Colab lacks (never its TensorFlow, Keras or numpy), cd notebooks/.
import sys

if "google.colab" in sys.modules:
    !git clone --depth 1 -b {BRANCH} {REPOSITORY} /content/course
    %run /content/course/src/coursetools/colab.py install"""
