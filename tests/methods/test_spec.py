"""Method declarations (methods/spec.py): the rules, and declarations that contradict their function."""

from __future__ import annotations

import numpy as np
import pytest

from history_of_interpretation.methods import METHODS, REGISTRY, SPECS
from history_of_interpretation.methods.spec import (
    COUNT,
    FLAG,
    NOT_NEGATIVE,
    OPEN_FRACTION,
    PIXEL_VALUE,
    SEED,
    checked_by_method,
    method,
    one_of,
)


@pytest.mark.parametrize(
    "rule, value, expected",
    [
        (COUNT, 3.0, 3),
        (COUNT, np.int64(7), 7),
        (SEED, 0, 0),
        (NOT_NEGATIVE, 0.0, 0.0),
        (PIXEL_VALUE, 255, 255),
        (OPEN_FRACTION, 0.5, 0.5),
        (FLAG, np.bool_(True), True),
        (one_of("a", "b"), "b", "b"),
    ],
)
def test_rules_accept_and_normalise(rule, value, expected):
    assert rule("x", value) == expected and type(rule("x", value)) is type(expected)


@pytest.mark.parametrize(
    "rule, value, message",
    [
        (COUNT, 0, "x must be a whole number of at least 1, not 0"),
        (COUNT, 1.5, "x must be a whole number of at least 1, not 1.5"),
        (COUNT, True, "x must be a finite number, not True"),
        (COUNT, float("inf"), "x must be a finite number, not inf"),
        (SEED, -2, "x must be a whole number of at least 0, not -2"),
        (NOT_NEGATIVE, -0.5, "x must not be negative, not -0.5"),
        (PIXEL_VALUE, 256, "x is a pixel value from 0 to 255, not 256"),
        (OPEN_FRACTION, 1.0, "x must lie strictly between 0 and 1, not 1.0"),
        (OPEN_FRACTION, 0, "x must lie strictly between 0 and 1, not 0"),
        (FLAG, "yes", "x must be True or False, not 'yes'"),
        (one_of("a", "b"), "c", "x must be one of 'a', 'b', not 'c'"),
    ],
)
def test_rules_refuse_with_the_reason(rule, value, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        rule("x", value)


def test_a_parameter_checked_by_its_method_passes_through():
    array = np.zeros(3)
    assert checked_by_method("an image")("baseline", array) is array


FACTS = dict(
    title="toy",
    authors="A",
    year=2000,
    paper="P",
    passes=lambda settings, extras: {},
    rgb=False,
    signed=False,
    display="heat",
    resolution="pixel",
)


def test_a_declaration_must_give_a_rule_for_each_parameter():
    def toy(context, steps: int = 3):
        """A toy method."""

    with pytest.raises(TypeError, match=r"rules given for \[\], parameters are \['steps'\]"):
        method(rules={}, **FACTS)(toy)


def test_a_declaration_must_name_a_known_display_and_have_a_docstring():
    def toy(context):
        pass

    with pytest.raises(TypeError, match="display must be one of"):
        method(rules={}, **{**FACTS, "display": "rainbow"})(toy)
    with pytest.raises(TypeError, match="needs a docstring"):
        method(rules={}, **FACTS)(toy)


def test_quick_settings_must_obey_the_rules():
    def toy(context, steps: int = 3):
        """A toy method."""

    with pytest.raises(ValueError, match="steps must be a whole number of at least 1, not 0"):
        method(rules={"steps": COUNT}, quick={"steps": 0}, **FACTS)(toy)


def test_methods_come_from_the_registry_in_the_order_they_were_invented():
    assert set(SPECS) == set(METHODS) and len(REGISTRY) == len(set(REGISTRY))
    years = [SPECS[name].year for name in METHODS]
    assert years == sorted(years)
    assert METHODS[:3] == ("loo_grid", "loo_superpixels", "vanilla_gradient")


@pytest.mark.parametrize("name", METHODS)
def test_every_declaration_is_complete(name):
    spec = SPECS[name]
    assert spec.name == spec.function.__name__ == name
    assert spec.function.__doc__ and spec.title and spec.paper and 2010 <= spec.year <= 2030
    assert set(spec.checked({})) == set(spec.defaults)
