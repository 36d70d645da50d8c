"""How a metric is declared: `@metric(...)` above its function (see `metrics.py` for the registry).

A metric module decorates its function with `@metric(...)`: its title, which
way is better, its family (faithfulness, randomisation, localisation), what it
needs (a map, the model, the method itself, a grid case), its paper, and for
which units it applies. The function takes a `Subject` (one photo or grid
case and one unit: a method at its settings, or a baseline; `units.py`) and
returns a value per map name it scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FAMILIES = ("faithfulness", "randomisation", "localisation")
DIRECTIONS = ("higher", "lower", "none")  # which is better; "none": a reported count, never ranked
NEEDS = ("map", "model", "method", "grid_case")  # "method": it reruns the method (not only its map)


@dataclass(frozen=True)
class MetricSpec:
    """Everything the evaluation states about one metric."""

    name: str  # the CSV's name for it: the function's name
    function: Callable  # (subject) -> {map name: value}
    title: str  # how tables and figures name it
    direction: str  # one of DIRECTIONS: which way is better
    family: str  # one of FAMILIES
    needs: tuple[str, ...]  # from NEEDS
    authors: str
    year: int
    paper: str
    applies: Callable = lambda unit: True  # (Unit) -> whether the metric scores this unit
    variant_of: str | None = None  # a named variant of another metric (e.g. a different fill)
    chance: float | None = None  # the score of a map that carries no information, where one is known

    @property
    def ranked(self) -> bool:
        """Whether rankings order units by it (counts of degenerate maps are only reported)."""
        return self.direction != "none"

    @property
    def higher_is_better(self) -> bool:
        """True when a higher value is better."""
        return self.direction == "higher"

    @property
    def citation(self) -> str:
        """Authors and year, e.g. "Petsiuk et al. 2018"."""
        return f"{self.authors} {self.year}"


def metric(**facts) -> Callable:
    """Declare a metric: `@metric(title=..., direction=..., ...)` above its function (see MetricSpec)."""

    def declare(function: Callable) -> Callable:
        spec = MetricSpec(name=function.__name__, function=function, **facts)
        _validate(spec)
        setattr(function, "spec", spec)  # noqa: B010  (an attribute mypy does not know functions have)
        return function

    return declare


def _validate(spec: MetricSpec) -> None:
    # A declaration that cannot be read fails at import, not in a reader's chapter.
    if spec.direction not in DIRECTIONS or spec.family not in FAMILIES:
        raise TypeError(f"{spec.name}: direction must be one of {DIRECTIONS}, family one of {FAMILIES}")
    if not set(spec.needs) <= set(NEEDS):
        raise TypeError(f"{spec.name}: needs must come from {NEEDS}, not {spec.needs}")
    if not spec.function.__doc__:
        raise TypeError(f"{spec.name}: a registered metric needs a docstring")
