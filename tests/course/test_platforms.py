"""The lock installs on every supported platform and Python, proved without installing it.

For each platform and Python, `uv pip compile --python-platform ... --python-version ...`
resolves requirements.txt from PyPI's metadata alone (no wheel is downloaded) with
wheels only: a package without a wheel for that platform fails the resolution. The
exception is lime, which PyPI has only as a source distribution (pure Python, so
it builds the same everywhere). The resolution must be exactly the lock's pins for
that platform: nothing missing, nothing added, nothing moved. Needs PyPI.
"""

from __future__ import annotations

import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from uv import find_uv_bin

from coursetools.lock import LOCK, PLATFORMS, pins_for, read_lock

SOURCE_ONLY = ("lime",)  # no wheel on PyPI; pure Python
TARGETS = [(platform, python) for platform in PLATFORMS for python in platform.pythons]


def resolve(uv_target: str, python: str) -> subprocess.CompletedProcess:
    """uv's resolution of the lock for one platform and Python, wheels only but SOURCE_ONLY."""
    command = [
        find_uv_bin(),
        "pip",
        "compile",
        str(LOCK),
        "--python-platform",
        uv_target,
        "--python-version",
        python,
        "--only-binary",
        ":all:",
        *[argument for name in SOURCE_ONLY for argument in ("--no-binary", name)],
        "--no-header",
        "--no-annotate",
        "--quiet",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def resolutions() -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """Every target resolved. The first refreshes uv's cache of PyPI's index pages (the rest
    then reuse them while PyPI's cache headers allow), so the others run together."""
    (first, first_python), *rest = TARGETS
    results = {(first.name, first_python): resolve(first.uv_target, first_python)}
    with ThreadPoolExecutor(max_workers=len(rest)) as pool:
        futures = {
            (platform.name, python): pool.submit(resolve, platform.uv_target, python) for platform, python in rest
        }
    return results | {target: future.result() for target, future in futures.items()}


@pytest.mark.parametrize("platform, python", TARGETS, ids=[f"{p.name}-py{v}" for p, v in TARGETS])
def test_the_lock_resolves_with_wheels(resolutions, platform, python):
    result = resolutions[platform.name, python]
    assert result.returncode == 0, f"the lock does not install on {platform.name}, Python {python}:\n{result.stderr}"
    resolved = pins_for(read_lock_text(result.stdout), platform.markers(python))
    assert resolved == pins_for(read_lock(), platform.markers(python))


def read_lock_text(text: str):
    """The requirements of uv's output, read like the lock."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resolved.txt"
        path.write_text(text)
        return read_lock(path)


def test_a_platform_without_wheels_fails(tmp_path):
    """The check can fail: tensorflow-cpu 2.21.0 has no wheel for macOS arm64."""
    lock = tmp_path / "requirements.txt"
    lock.write_text("tensorflow-cpu==2.21.0\n")
    result = subprocess.run(
        [
            find_uv_bin(),
            "pip",
            "compile",
            str(lock),
            "--python-platform",
            "aarch64-apple-darwin",
            "--python-version",
            "3.12",
            "--only-binary",
            ":all:",
            "--no-deps",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode != 0 and "tensorflow-cpu" in result.stderr
