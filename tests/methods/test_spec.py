"""Method declarations (methods/spec.py): the rules, and declarations that contradict their function."""

from __future__ import annotations

import numpy as np
import pytest

from history_of_interpretation.methods import METHODS, SPECS
from history_of_interpretation.methods.rules import (
    FLAG,
    OPEN_FRACTION,
    PIXEL_VALUE,
    SEED,
    Rule,
    checked_by_method,
    count,
    number,
    one_of,
    optional,
)
from history_of_interpretation.methods.spec import method

COUNT = count(100)
NOT_NEGATIVE = number(0)


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
        (optional(COUNT), None, None),
    ],
)
def test_rules_accept_and_normalise(rule, value, expected):
    assert rule("x", value) == expected and type(rule("x", value)) is type(expected)


@pytest.mark.parametrize(
    "rule, value, message",
    [
        (COUNT, 0, "x must be a whole number from 1 to 100, not 0"),
        (COUNT, 101, "x must be a whole number from 1 to 100, not 101"),
        (COUNT, 1.5, "x must be a whole number from 1 to 100, not 1.5"),
        (COUNT, None, "x must be a finite number, not None"),
        (COUNT, True, "x must be a finite number, not True"),
        (COUNT, float("inf"), "x must be a finite number, not inf"),
        (SEED, -2, "x must be a whole number from 0 to 4294967295 (the random generator's seed), not -2"),
        (NOT_NEGATIVE, -0.5, "x must be a number of at least 0, not -0.5"),
        (PIXEL_VALUE, 256, "x must be a number from 0 to 255, not 256"),
        (OPEN_FRACTION, 1.0, "x must be a number strictly between 0 and 1, not 1.0"),
        (OPEN_FRACTION, 0, "x must be a number strictly between 0 and 1, not 0"),
        (number(0, 1, above=True), 0, "x must be a number above 0 and at most 1, not 0"),
        (FLAG, "yes", "x must be True or False, not 'yes'"),
        (one_of("a", "b"), "c", "x must be one of 'a', 'b', not 'c'"),
    ],
)
def test_rules_refuse_with_the_reason(rule, value, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        rule("x", value)


def test_a_parameter_checked_by_its_method_passes_through():
    array = np.zeros(3)
    assert checked_by_method("an image")("baseline", array) is array


def test_a_count_without_a_maximum_is_refused():
    with pytest.raises(ValueError, match="needs a maximum"):
        Rule("integer", minimum=1)


@pytest.mark.parametrize("name", METHODS)
def test_every_count_of_every_method_is_bounded(name):
    for parameter, rule in SPECS[name].rules.items():
        if rule.kind == "integer" and rule is not SEED:  # a seed is a name for a draw, not an amount of work
            assert rule.maximum is not None and rule.maximum < 10**6, (name, parameter)
            with pytest.raises(ValueError):
                SPECS[name].checked({parameter: int(rule.maximum) + 1})


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

    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 100, not 0"):
        method(rules={"steps": COUNT}, quick={"steps": 0}, **FACTS)(toy)


def test_methods_run_in_the_order_they_were_invented():
    # METHODS sorts the registry by year, so check it against dates written here, not read from the specs.
    invented = {
        "loo_grid": 2013,
        "vanilla_gradient": 2013,
        "guided_backprop": 2014,
        "grad_cam": 2016,
        "lime": 2016,
        "smoothgrad": 2017,
        "integrated_gradients": 2017,
        "rise": 2018,
        "grad_cam_plus_plus": 2018,
        "xrai": 2019,
        "blur_ig": 2020,
        "score_cam": 2020,
        "guided_ig": 2021,
    }
    positions = {name: METHODS.index(name) for name in invented}
    for earlier, later in zip(sorted(invented, key=invented.get), sorted(invented, key=invented.get)[1:]):
        if invented[earlier] < invented[later]:
            assert positions[earlier] < positions[later], (earlier, later)
    assert METHODS[:3] == ("loo_grid", "loo_superpixels", "vanilla_gradient")
