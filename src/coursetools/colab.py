"""The Colab set-up, in one place: what the first cell of every notebook runs.

    python colab.py install               # on Colab (the first cell %runs it)
    python colab.py find-python           # make test-colab: the Python nearest to Colab's
    python colab.py runtime-requirements  # make test-colab: Colab's runtime as pins for Linux

`install` adds requirements-colab.txt with pip while holding every package
that Colab's runtime ships (colab-runtime.txt) at its installed version, so
Colab's TensorFlow, Keras and numpy are never replaced, then installs the
course itself; in the Colab kernel that %runs it, it also makes the course
importable and moves into notebooks/. The one exception is the figures'
renderer (REPLACED): it is installed at the lock's version, and a Colab kernel
that had already loaded another one restarts once. Standard library only: it
runs before anything is installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "colab-runtime.txt"
REQUIREMENTS = ROOT / "requirements-colab.txt"
# Colab's TensorFlow is the GPU build; on Linux without a GPU its CPU-only twin stands in.
CPU_TWINS = {"tensorflow": "tensorflow-cpu"}
# Runtime packages requirements-colab.txt replaces with the lock's version. Matplotlib draws the figures: Colab's
# 3.10 lays their axes out a pixel or two away from the lock's 3.11 (measured on 15 figures: 5 a pixel shorter, the
# others 4.6-21% of pixels moved), so the figures could not regenerate within a tolerance that catches a changed map.
REPLACED = {"matplotlib"}


def read_pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of a file of `name==version` lines (comments dropped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalize(name)] = version
    return pins


def normalize(name: str) -> str:
    """A package name in its canonical form (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_pins() -> dict[str, str]:
    """The packages Colab's runtime ships, with their versions (without Python itself)."""
    return {name: version for name, version in read_pins(RUNTIME).items() if name != "python"}


def runtime_pins_python() -> str:
    """The Python version Colab runs, e.g. "3.13"."""
    return read_pins(RUNTIME)["python"]


def held_packages() -> list[str]:
    """`name==version` for each runtime package installed here: pip may not change them."""
    held = []
    for name in [name for name in runtime_pins() if name not in REPLACED]:
        for installed_name in (name, CPU_TWINS.get(name)):
            if installed_name is None:
                continue
            try:
                held.append(f"{installed_name}=={importlib.metadata.version(installed_name)}")
            except importlib.metadata.PackageNotFoundError:
                pass
    return held


def install() -> None:
    """Install what Colab lacks (requirements-colab.txt) and the course, never touching the runtime's packages."""
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "runtime.txt"
        constraints.write_text("\n".join(held_packages()) + "\n")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS), "-c", str(constraints)], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    if "google.colab" in sys.modules:  # %run from the notebook's first cell: this is the reader's kernel
        sys.path.insert(0, str(ROOT / "src"))  # a running kernel does not see the new editable install
        os.chdir(ROOT / "notebooks")  # the chapters read data and write figures relative to it
        stale = stale_imports()
        if stale:
            restart_kernel(stale)


def stale_imports() -> list[str]:
    """The replaced packages this process imported at another version than the one just installed."""
    wanted = read_pins(REQUIREMENTS)
    return [
        f"{name} {sys.modules[name].__version__} (the course draws with {wanted[name]})"
        for name in sorted(REPLACED)
        if name in sys.modules and getattr(sys.modules[name], "__version__", None) != wanted[name]
    ]


def restart_kernel(stale: list[str]) -> None:
    """Restart the reader's Colab kernel, which cannot unload a module, so that it imports the new versions."""
    print(f"This session had loaded {', '.join(stale)}. Restarting it once: when it reconnects, run this cell again.")
    from IPython import get_ipython  # only in the reader's kernel, which always has IPython

    get_ipython().kernel.do_shutdown(True)  # restart=True; the call condacolab and Google's Colab notebooks make


def runtime_requirements() -> str:
    """Colab's runtime as pip requirements for a Linux CPU machine (make test-colab)."""
    return "".join(f"{CPU_TWINS.get(name, name)}=={version}\n" for name, version in runtime_pins().items())


def python_candidates(version: str) -> list[Path]:
    """Interpreters that may be CPython `version`: on PATH, then under pyenv."""
    candidates = [Path(found) for found in [shutil.which(f"python{version}")] if found]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
    return candidates


def find_python(wanted: str) -> tuple[Path, str]:
    """The working interpreter nearest to Python `wanted` (e.g. "3.13") going down, and its version."""
    major, minor = map(int, wanted.split("."))
    for candidate_minor in range(minor, 10, -1):
        for candidate in python_candidates(f"{major}.{candidate_minor}"):
            result = subprocess.run(
                [str(candidate), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
            )
            if result.returncode == 0:  # a pyenv shim for a version not selected fails here
                return candidate, result.stdout.strip()
    raise SystemExit(
        f"error: no Python {major}.11 to {wanted} found; install Python {wanted} (for example `pyenv install {wanted}`)"
    )


def main(argv: list[str]) -> None:
    """The command line: install, find-python or runtime-requirements."""
    if argv == ["install"]:
        install()
    elif argv == ["find-python"]:
        wanted = runtime_pins_python()
        path, version = find_python(wanted)
        note = "" if version.startswith(f"{wanted}.") else f" (Colab runs {wanted}; none found)"
        print(f"Colab's environment uses Python {version} at {path}{note}", file=sys.stderr)
        print(path)
    elif argv == ["runtime-requirements"]:
        sys.stdout.write(runtime_requirements())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
