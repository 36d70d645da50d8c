"""What the course knows about each method, declared once beside its function.

A method module decorates its function with `@method(...)`: the paper, how the
map looks and is drawn, the rule each parameter must obey (its default stays
in the function's signature), how many passes of each kind it spends, and
PAIR `saliency`'s equivalent. `attribute()`, the notebooks, the tests, the
benchmark, the evaluation and the app all read these facts from the
`MethodSpec`, so adding a method means one module and one registry row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..visualisation import STYLES as DISPLAYS  # how a map can be drawn: visualisation.show_map's styles

RESOLUTIONS = ("pixel", "layer", "segment")  # the scale at which a method's evidence varies


# --- parameter rules -----------------------------------------------------------
# Each rule checks one parameter value and returns it normalised (counts as int);
# its `description` says in words what it accepts (error messages, the app's help).


@dataclass(frozen=True)
class Rule:
    """A check for one parameter: `rule(name, value)` returns the value or raises ValueError."""

    description: str
    check: Callable[[str, object], object]

    def __call__(self, name: str, value):
        """Check `value` for the parameter `name`; return it normalised."""
        return self.check(name, value)


def _finite(name: str, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return value


def _count(name: str, value) -> int:
    if not float(_finite(name, value)).is_integer() or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _seed(name: str, value) -> int:
    if not float(_finite(name, value)).is_integer() or value < 0:
        raise ValueError(f"{name} must be a whole number of at least 0, not {value!r}")
    return int(value)


def _not_negative(name: str, value):
    if _finite(name, value) < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    return value


def _pixel_value(name: str, value):
    if not 0 <= _finite(name, value) <= 255:
        raise ValueError(f"{name} is a pixel value from 0 to 255, not {value!r}")
    return value


def _open_fraction(name: str, value):
    if not 0 < _finite(name, value) < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, not {value!r}")
    return value


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return bool(value)


COUNT = Rule("a whole number of at least 1", _count)
SEED = Rule("a whole number of at least 0 (the random generator's seed)", _seed)
NOT_NEGATIVE = Rule("a number of at least 0", _not_negative)
PIXEL_VALUE = Rule("a pixel value from 0 to 255", _pixel_value)
OPEN_FRACTION = Rule("a number strictly between 0 and 1", _open_fraction)
FLAG = Rule("True or False", _flag)


def one_of(*choices: str) -> Rule:
    """A rule that accepts only the given names."""
    listed = ", ".join(repr(choice) for choice in choices)

    def check(name: str, value):
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name} must be one of {listed}, not {value!r}")
        return value

    return Rule(f"one of {listed}", check)


def optional(rule: Rule) -> Rule:
    """A rule that also accepts None (meaning: the method's own choice, say all channels)."""
    return Rule(f"None or {rule.description}", lambda name, value: None if value is None else rule(name, value))


def checked_by_method(description: str) -> Rule:
    """A parameter that the method itself checks (say, a name or an image array)."""
    return Rule(description, lambda name, value: value)


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
    quick: Mapping[str, object] = field(default_factory=dict)  # cheap settings: toy tests, warm-ups
    pair: PairEquivalent | None = None  # saliency.core's version of the method, where it has one
    completeness: bool = False  # reports extras["completeness_error"] (path methods)
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
        function.spec = spec
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
