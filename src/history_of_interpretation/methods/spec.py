"""What the course knows about each method, declared once beside its function.

A method module decorates its function with `@method(...)`: the paper, how the
map looks and is drawn, the rule each parameter must obey (`rules.py`; its
default stays in the function's signature), how many passes of each kind it spends, and
PAIR `saliency`'s equivalent. `attribute()`, the notebooks, the tests, the
benchmark, the evaluation and the app all read these facts from the
`MethodSpec`, so adding a method means one module and one registry row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..visualisation import STYLES as DISPLAYS  # how a map can be drawn: visualisation.show_map's styles
from .rules import Rule

RESOLUTIONS = ("pixel", "layer", "segment")  # the scale at which a method's evidence varies


# --- the declaration -------------------------------------------------------------


@dataclass(frozen=True)
class PairEquivalent:
    """saliency.core's own version of a method, to compare with and to time its usual pattern.

    `run(context, call_model_function, settings)` returns PAIR's map for the
    photo of `context` at these settings, calling the model only through
    `call_model_function` (PAIR's contract) with `context.call_args`;
    `calls(context, settings)` is how many times one such run calls it at
    PAIR's default batch size of one image; `keys` are the outputs it asks for.
    `applies(settings)` is False where PAIR has no equivalent (e.g. SmoothGrad
    over guided backprop).
    """

    name: str  # the saliency.core class, e.g. "IntegratedGradients"
    run: Callable
    calls: Callable
    keys: tuple[str, ...]
    applies: Callable[[dict], bool] = lambda settings: True


@dataclass(frozen=True)
class MethodSpec:
    """Everything the course states about one attribution method."""

    name: str  # the name `attribute()` takes: the function's name
    function: Callable  # (context, **params) -> (map, extras)
    title: str  # how figures and tables name it, e.g. "Grad-CAM"
    authors: str  # e.g. "Selvaraju et al."
    year: int
    paper: str  # the paper's title
    rules: Mapping[str, Rule]  # one rule per parameter of `function`
    passes: Callable[[dict, dict], dict[str, int]]  # (settings, extras) -> images per kind of pass (ModelCalls.counts)
    rgb: bool  # the map has a value per colour channel (HxWx3) rather than per pixel (HxW)
    signed: bool  # negative values carry meaning (evidence against the class)
    display: str  # how it is drawn: one of DISPLAYS
    resolution: str  # where its evidence varies: one of RESOLUTIONS (random baselines follow it)
    quick: Mapping[str, Any] = field(default_factory=dict)  # cheap settings: toy tests, warm-ups
    pair: PairEquivalent | None = None  # saliency.core's version of the method, where it has one
    completeness: bool = False  # reports extras["completeness_error"] (path methods)
    # Its map is chaotic in float noise: another CPU's summation order gives another map (chapter 11
    # measures it), so its figures are compared through their fingerprints, never pixel by pixel.
    chaotic: bool = False
    in_article: bool = False  # one of the article's methods (chapter 8's comparison figure)

    @property
    def defaults(self) -> dict:
        """The parameters and their defaults, from the function's signature."""
        parameters = list(inspect.signature(self.function).parameters.values())[1:]
        return {p.name: p.default for p in parameters}

    @property
    def citation(self) -> str:
        """Authors and year, e.g. "Selvaraju et al. 2016"."""
        return f"{self.authors} {self.year}"

    def checked(self, params: Mapping) -> dict:
        """The full settings (defaults overridden by `params`), each checked by its rule."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.name} has no parameter {', '.join(unknown)}; "
                f"its parameters: {', '.join(self.defaults) or 'none'}"
            )
        return {name: self.rules[name](name, value) for name, value in {**self.defaults, **params}.items()}


def method(**facts) -> Callable:
    """Declare a method: `@method(title=..., authors=..., ...)` above its function (see MethodSpec)."""

    def declare(function: Callable) -> Callable:
        spec = MethodSpec(name=function.__name__, function=function, **facts)
        _validate(spec)
        setattr(function, "spec", spec)  # noqa: B010  (an attribute mypy does not know functions have)
        return function

    return declare


def _validate(spec: MethodSpec) -> None:
    # A declaration that contradicts its function fails at import, not in a reader's notebook.
    if set(spec.rules) != set(spec.defaults):
        raise TypeError(f"{spec.name}: rules given for {sorted(spec.rules)}, parameters are {sorted(spec.defaults)}")
    if spec.display not in DISPLAYS or spec.resolution not in RESOLUTIONS:
        raise TypeError(f"{spec.name}: display must be one of {DISPLAYS}, resolution one of {RESOLUTIONS}")
    if not spec.function.__doc__:
        raise TypeError(f"{spec.name}: a registered method needs a docstring")
    spec.checked(spec.quick)
