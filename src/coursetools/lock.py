"""The lock (requirements.txt), the platforms it serves, and environment.yml made from it.

`make lock` compiles requirements.txt from requirements.in with
`uv pip compile --universal`: one file, with environment markers where a
platform differs. This module reads it back and writes environment.yml:

    python src/coursetools/lock.py environment-yml > environment.yml

Standard library and `packaging` only: it runs before the course's own
dependencies matter.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.txt"
CONDA_PYTHON = "3.11"  # environment.yml's Python: the one the published figures were made with


@dataclass(frozen=True)
class Platform:
    """A platform the lock must install on: uv's target name and its PEP 508 marker values."""

    name: str
    uv_target: str  # for `uv pip compile --python-platform`
    sys_platform: str
    platform_machine: str
    pythons: tuple[str, ...]

    def markers(self, python: str) -> dict[str, str]:
        """The marker environment of this platform under CPython `python` (e.g. "3.13")."""
        system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[self.sys_platform]
        return {
            "sys_platform": self.sys_platform,
            "platform_machine": self.platform_machine,
            "platform_system": system,
            "os_name": "nt" if self.sys_platform == "win32" else "posix",
            "python_version": python,
            "python_full_version": f"{python}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }


# Google publishes no TensorFlow wheel for Intel Macs after 2.16.2 (Python 3.9 to 3.12).
PLATFORMS = (
    Platform("Linux x86-64", "x86_64-unknown-linux-gnu", "linux", "x86_64", ("3.11", "3.12", "3.13")),
    Platform("Linux aarch64", "aarch64-unknown-linux-gnu", "linux", "aarch64", ("3.11", "3.12", "3.13")),
    Platform("macOS arm64", "aarch64-apple-darwin", "darwin", "arm64", ("3.11", "3.12", "3.13")),
    Platform("macOS x86-64", "x86_64-apple-darwin", "darwin", "x86_64", ("3.11", "3.12")),
    Platform("Windows x86-64", "x86_64-pc-windows-msvc", "win32", "AMD64", ("3.11", "3.12", "3.13")),
)


def read_lock(path: Path = LOCK) -> list[Requirement]:
    """Every requirement line of the lock (comments dropped), in order; each must be pinned with ==."""
    requirements = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise ValueError(f"{path.name}: {line!r} is not pinned with ==; run make lock")
        requirements.append(requirement)
    return requirements


def pins_for(requirements: list[Requirement], environment: dict[str, str]) -> dict[str, str]:
    """{normalised name: version} of the requirements whose markers hold in `environment`."""
    pins: dict[str, str] = {}
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate(environment):
            name = canonicalize_name(requirement.name)
            if name in pins:
                raise ValueError(f"{requirement.name} is pinned twice for {environment}")
            pins[name] = next(iter(requirement.specifier)).version
    return pins


def environment_yml(requirements: list[Requirement]) -> str:
    """environment.yml with the lock's pins (markers included) in its pip section."""
    lines = [
        "# Made from requirements.txt by `make lock`; do not edit (tests/test_environment.py checks it).",
        "#   conda env create -f environment.yml && conda activate history-of-interpretation",
        "#   pip install --no-deps -e .",
        "name: history-of-interpretation",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={CONDA_PYTHON}",
        "  - pip",
        "  - make",
        "  - pip:",
    ]
    # Single quotes: the markers carry double ones.
    lines += [f"      - '{requirement}'" for requirement in requirements]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["environment-yml"]:
        sys.exit("usage: python lock.py environment-yml > environment.yml")
    sys.stdout.write(environment_yml(read_lock()))
