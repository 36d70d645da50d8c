"""The app served from a thread of the test session (its jobs' threads are then visible to the tests)."""

from __future__ import annotations

import pytest
from browser import free_port

from history_of_interpretation.app import page as app


@pytest.fixture(scope="session")
def server(lite0):
    """The app's address on a free localhost port."""
    port = free_port()
    demo = app.launch(port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
