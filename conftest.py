"""Run the notebooks under nbval without touching the published figures.

Every chapter writes its figures to $HISTORY_OF_INTERPRETATION_FIGURES when it
is set; the test session points it at a fresh folder, so nbval's run of the
notebooks regenerates the figures there and tests/test_figures.py compares
them with the committed ones.
"""

import os
import shutil
import tempfile

FIGURES_ENV = "HISTORY_OF_INTERPRETATION_FIGURES"


def pytest_configure(config):
    # Always a fresh folder, whatever the shell exports: comparing figures/ (or an earlier run's folder)
    # with itself would pass without regenerating anything.
    os.environ[FIGURES_ENV] = tempfile.mkdtemp(prefix="regenerated-figures-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_sessionfinish(session, exitstatus):
    # After a pass nothing in the folder is needed; after a failure it holds the diff images to look at.
    if exitstatus == 0:
        shutil.rmtree(os.environ[FIGURES_ENV], ignore_errors=True)


# Checked cells compare their numbers within a tolerance (src/coursetools/nbval_numbers.py).
pytest_plugins = ["coursetools.nbval_numbers"]
