"""The Colab set-up: one first cell everywhere, pins that agree with the lock, Colab's runtime held."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursetools import colab
from coursetools.chapters import load_chapters
from coursetools.lock import PLATFORMS, pins_for, read_lock
from coursetools.project import REPOSITORY, colab_setup_cell

LINUX = next(platform for platform in PLATFORMS if platform.name == "Linux x86-64")


def first_code_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "".join(next(cell for cell in cells if cell["cell_type"] == "code")["source"])


@pytest.mark.parametrize("chapter", load_chapters(), ids=lambda chapter: chapter.notebook)
def test_every_notebook_opens_with_the_rendered_colab_cell(chapter):
    assert first_code_cell(chapter.path) == colab_setup_cell(), (
        f"the first code cell of {chapter.path.name} is not project.colab_setup_cell(); paste its output there"
    )
    assert f" {REPOSITORY} /content/course" in colab_setup_cell()


def test_colab_pins_are_the_lock_pins_under_colab_python():
    wanted = colab.read_pins(colab.REQUIREMENTS)
    locked = pins_for(read_lock(), LINUX.markers(colab.runtime_pins_python()))
    assert {name: locked.get(name) for name in wanted} == wanted


def test_the_colab_cell_replaces_nothing_the_runtime_ships_but_the_renderer():
    shipped = set(colab.runtime_pins()) | set(colab.CPU_TWINS.values())
    assert shipped & set(colab.read_pins(colab.REQUIREMENTS)) == colab.REPLACED == {"matplotlib"}
    assert {"tensorflow", "keras", "numpy"} <= set(colab.runtime_pins()) - colab.REPLACED


def test_install_holds_every_installed_runtime_package(monkeypatch):
    installed = {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3", "matplotlib": "3.10.0"}

    def version(name):
        if name not in installed:
            raise colab.importlib.metadata.PackageNotFoundError(name)
        return installed[name]

    calls = []

    def run(command, check):
        constraint = command[command.index("-c") + 1] if "-c" in command else None
        calls.append((command, Path(constraint).read_text().split() if constraint else None))

    monkeypatch.setattr(colab.importlib.metadata, "version", version)
    monkeypatch.setattr(colab.subprocess, "run", run)
    colab.install()
    (requirements, held), (course, _) = calls
    assert requirements[:4] == [sys.executable, "-m", "pip", "install"]
    assert str(colab.REQUIREMENTS) in requirements
    assert sorted(held) == ["keras==3.13.2", "numpy==2.1.3", "tensorflow==2.20.0"]  # not matplotlib: replaced
    assert course[-3:] == ["--no-deps", "-e", str(colab.ROOT)]


def loaded_matplotlib(monkeypatch, version: str) -> None:
    """This process, as if it had imported matplotlib `version` (Colab's kernel may have, at start-up)."""
    monkeypatch.setitem(sys.modules, "matplotlib", SimpleNamespace(__version__=version))


def test_only_a_replaced_package_loaded_at_another_version_is_stale(monkeypatch):
    pinned = colab.read_pins(colab.REQUIREMENTS)["matplotlib"]
    loaded_matplotlib(monkeypatch, pinned)
    assert colab.stale_imports() == []
    loaded_matplotlib(monkeypatch, "3.10.0")
    assert colab.stale_imports() == [f"matplotlib 3.10.0 (the course draws with {pinned})"]


@pytest.mark.parametrize(("loaded", "restarts"), [("3.10.0", 1), (None, 0)])
def test_install_in_a_colab_kernel_restarts_it_once_if_an_old_renderer_is_loaded(monkeypatch, loaded, restarts):
    shutdowns = []
    kernel = SimpleNamespace(kernel=SimpleNamespace(do_shutdown=lambda restart: shutdowns.append(restart)))
    monkeypatch.setitem(sys.modules, "google.colab", SimpleNamespace())
    if loaded:
        loaded_matplotlib(monkeypatch, loaded)
    else:
        monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    monkeypatch.setattr(colab.subprocess, "run", lambda command, check: None)
    monkeypatch.setattr(colab.os, "chdir", lambda folder: None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr("IPython.get_ipython", lambda: kernel)
    colab.install()
    assert shutdowns == [True] * restarts


def test_runtime_requirements_take_the_cpu_build_of_tensorflow():
    lines = colab.runtime_requirements().splitlines()
    assert "tensorflow-cpu==2.20.0" in lines and "numpy==2.1.3" in lines
    assert not any(line.startswith(("tensorflow==", "python==")) for line in lines)


def test_find_python_names_a_working_interpreter():
    path, version = colab.find_python(colab.runtime_pins_python())
    reported = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    assert reported == version and version.startswith("3.1")
