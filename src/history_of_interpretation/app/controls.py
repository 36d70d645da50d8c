"""The app's settings controls, derived from each method's declaration (no gradio here).

Every method's parameters, defaults and rules live in its `MethodSpec`; this
module turns them into plain descriptions of controls (a whole-number field,
a number field, a dropdown, a checkbox) and turns what the page sends back
into checked settings. So a method added to the registry gets its controls
without any change to the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..methods import METHODS, SPECS
from ..methods.spec import MethodSpec


@dataclass(frozen=True)
class Control:
    """One settings field of one method, as the page shows it."""

    method: str
    parameter: str
    kind: str  # "integer", "number", "choice" or "flag" (rules.KINDS but "given")
    default: Any  # bool, int, float, str or None, as in the method's signature
    description: str  # the rule's words, shown as the field's help
    choices: tuple = ()  # for "choice"
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False  # an empty field means None (the method's own choice)

    @property
    def label(self) -> str:
        """The control's label on the page."""
        return self.parameter.replace("_", " ")

    @property
    def name(self) -> str:
        """The control's name in the app's HTTP API: 'smoothgrad_samples'."""
        return f"{self.method}_{self.parameter}"


def control_for(spec: MethodSpec, parameter: str) -> Control | None:
    """The control of one parameter, or None for a parameter the method checks itself.

    Its kind, bounds, choices and whether it may be empty come from the
    parameter's rule (methods/rules.py). Parameters the method checks itself
    (an image baseline, say) have no generic field and stay at their default.
    """
    rule, default = spec.rules[parameter], spec.defaults[parameter]
    if rule.kind == "given":
        return None
    return Control(
        spec.name,
        parameter,
        rule.kind,
        default,
        rule.description,
        rule.choices,
        rule.minimum,
        rule.maximum,
        rule.optional,
    )


def controls_for(spec: MethodSpec) -> list[Control]:
    """The controls of one method's parameters, in its signature's order."""
    return [control for parameter in spec.defaults if (control := control_for(spec, parameter)) is not None]


def all_controls(methods=METHODS) -> list[Control]:
    """Every method's controls, method by method (the order the page lists them in)."""
    return [control for name in methods for control in controls_for(SPECS[name])]


def settings_from_values(spec: MethodSpec, controls: list[Control], values: list) -> dict:
    """The checked settings of `spec`'s method from the values of `controls` (all methods'), as sent by the page.

    Number fields send floats (or None, or "" from an HTTP client, when
    empty): whole numbers become int, an empty optional field becomes None,
    an empty required one is an error. Raises ValueError naming the method,
    the parameter, the value and what is allowed.
    """
    if len(controls) != len(values):
        raise ValueError(f"expected {len(controls)} settings values, got {len(values)}")
    params = {}
    for control, value in zip(controls, values):
        if control.method != spec.name:
            continue
        if value is None or value == "":
            if not control.optional:
                raise ValueError(f"{spec.title}: {control.parameter} is empty; it must be {control.description}")
            value = None
        elif control.kind == "integer" and isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        params[control.parameter] = value
    try:
        return spec.checked(params)
    except ValueError as error:
        raise ValueError(f"{spec.title}: {error}") from error
