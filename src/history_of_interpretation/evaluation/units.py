"""What the evaluation measures: units (a method at its settings, or a baseline) on a photo, as subjects.

A *unit* is a registered method at given settings (named after the method,
with the settings that differ from its defaults in brackets, e.g.
`lime[samples=100]`, so that a light setting is never reported under the
default's name) or a shared baseline of `baselines.py` (`random`,
`random_layer`, `edge_detector`). A method unit also brings *references*:
maps of its own kind that it must beat (its map reversed, its own segments at
random), named `<unit>:<reference>`. `split_map_name` is the one place that
reads these names back.

A *subject* is one unit on one photo (or grid case): what every metric
function receives (`metric_spec.py`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..methods import SPECS, AttributionResult, Context, attribute, method_spec
from ..methods.model_calls import DEFAULT_BATCH_SIZE
from .map_statistics import per_pixel

REFERENCE_SEPARATOR = ":"


@dataclass(frozen=True)
class Unit:
    """A method at its settings, or a shared baseline (method None)."""

    name: str
    method: str | None = None
    settings: tuple[tuple[str, object], ...] = ()  # the settings that differ from the method's defaults

    @classmethod
    def of_method(cls, method: str, settings: dict | None = None) -> Unit:
        """The unit of a method at `settings` (checked by the method's rules), named with its non-default ones."""
        spec = method_spec(method)
        checked = spec.checked(settings or {})
        changed = tuple((name, value) for name, value in checked.items() if value != spec.defaults[name])
        shown = ",".join(f"{name}={value}" for name, value in changed)
        return cls(f"{method}[{shown}]" if shown else method, method, changed)

    @property
    def is_method(self) -> bool:
        """Whether the unit runs a registered method (rather than being a shared baseline)."""
        return self.method is not None

    @property
    def kwargs(self) -> dict:
        """The method's settings as keyword arguments for attribute()."""
        return dict(self.settings)


def split_map_name(name: str) -> tuple[str, str | None]:
    """(unit name, reference name or None) of a map's name in the rows: "lime[samples=100]:reversed"."""
    unit, separator, reference = name.partition(REFERENCE_SEPARATOR)
    return unit, (reference if separator else None)


def method_of(unit_name: str) -> str | None:
    """The registered method a unit name runs ("lime[samples=100]" -> "lime"), None for a baseline."""
    method = unit_name.partition("[")[0]
    return method if method in SPECS else None


def importance(attribution: np.ndarray, display: str) -> np.ndarray:
    """A method's map as one importance per pixel, the way the course draws it.

    'grayscale' maps (gradients) are read as magnitude: |map| summed over
    colour; signed 'diverging' and 'heat' maps keep their sign, so evidence
    against the class comes last.
    """
    return per_pixel(attribution, absolute=display == "grayscale")


@dataclass
class Subject:
    """One unit on one photo or grid case, and what its metrics need: what a metric function receives.

    `maps` are the importance maps the map-scoring metrics score (the unit's
    own and its references); `result` is the method's result on the trained
    model (None for a baseline); `memo` holds computations that several
    metrics share (curves, PIC's blurred images), keyed by the metric module.
    """

    bundle: object
    image_name: str
    image: np.ndarray  # uint8 RGB at the model's input size
    unit: Unit
    target: int
    maps: dict[str, np.ndarray]
    result: AttributionResult | None = None
    randomiser: object = None  # randomisation.Randomiser, where randomisation metrics run
    depths: tuple[str, ...] = ()  # the cascade's layer groups (from the output down)
    case: object = None  # a grid case (localisation metrics)
    seed: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    metrics: tuple[str, ...] = ()  # the evaluation's metrics that score this subject
    options: dict = field(default_factory=dict)  # the evaluation's settings for metrics (Plan.options)
    memo: dict = field(default_factory=dict)
    rerun_passes: dict[str, int] = field(default_factory=dict)  # by kind: what the maps `explain` remade cost

    @cached_property
    def context(self) -> Context:
        """The photo, target and counted model calls that metrics send their images through."""
        return Context(self.bundle, self.image, self.target, self.batch_size)

    def passes_by_kind(self) -> dict[str, int]:
        """Images its metrics have sent through a network so far, by kind: their own and the maps they remade."""
        spent = dict(self.context.pass_counts())
        for kind, passes in self.rerun_passes.items():
            spent[kind] = spent.get(kind, 0) + passes
        return spent

    def rng(self, *tags: str) -> np.random.Generator:
        """A generator that depends only on the seed, the photo's name, the unit and `tags`."""
        keys = [zlib.crc32(text.encode()) for text in (self.image_name, self.unit.name, *tags)]
        return np.random.default_rng([self.seed, *keys])

    def explain(self, bundle=None, target: int | None = None, seed: int | None = None) -> np.ndarray:
        """The unit's map for this photo on `bundle` (default: the trained model), for `target` and `seed`.

        A method with a seed runs with `seed` where given (a fresh draw);
        a baseline's map does not depend on the model (the edge detector) and is returned as measured.
        Its passes add to `rerun_passes` (the cost benchmark prices them).
        """
        method = self.unit.method
        if method is None:
            return self.maps[self.unit.name]
        settings = self.unit.kwargs
        if seed is not None and "seed" in SPECS[method].defaults:
            settings["seed"] = seed
        target = self.target if target is None else target
        result = attribute(
            method, bundle or self.bundle, self.image, target=target, batch_size=self.batch_size, **settings
        )
        for kind, passes in result.pass_counts.items():
            self.rerun_passes[kind] = self.rerun_passes.get(kind, 0) + passes
        return result.map
