"""The one evaluation driver: every unit on every photo, every declared metric, for chapter 12 and `make evaluate`.

`evaluate(bundle, photos, units, plan)` measures each (photo, unit): the
unit's map on the trained model (a method's `attribute()`, or a baseline's
map), its references (`baselines.py`), then each metric of the plan that
applies to the unit (`metrics.py`), and returns the long rows (image, method,
metric, value) with what each unit cost. With `out`, every finished unit is
appended to the crash-safe CSV there (`result_log.py`) and a rerun resumes;
without it, everything stays in memory, details included (curves, randomised
maps), for a chapter's figures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..methods import SPECS, attribute, method_spec
from ..methods.model_calls import DEFAULT_BATCH_SIZE
from ..models.labels import class_index
from .baselines import references, shared_baseline, shared_units
from .metrics import METRIC_SPECS, check_metrics
from .units import Subject, Unit, importance


@dataclass(frozen=True)
class Plan:
    """How an evaluation measures: which metrics, the randomisation cascade's depths, the seed, the batch size."""

    metrics: tuple[str, ...]
    depths: tuple[str, ...] = ()  # layer groups from the output down; needed by randomisation metrics
    seed: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    options: dict = field(default_factory=dict)  # settings of metrics: "step" (Petsiuk's pixels per step)

    def __post_init__(self):
        check_metrics(self.metrics)
        if self.needs_randomiser and not self.depths:
            raise ValueError("randomisation metrics need the cascade's depths (layer groups, from the output down)")

    @property
    def needs_randomiser(self) -> bool:
        """Whether a metric of the plan reruns the method on randomised models."""
        return any(
            METRIC_SPECS[name].family == "randomisation" and "model" in METRIC_SPECS[name].needs
            for name in self.metrics
        )

    def applicable(self, unit: Unit) -> list[str]:
        """The plan's metrics that score this unit, in the plan's order."""
        return [name for name in self.metrics if METRIC_SPECS[name].applies(unit)]


@dataclass
class Cost:
    """What one (photo, unit) cost: the method's passes and seconds, and its metrics' seconds."""

    passes: int = 0
    seconds: float = 0.0
    metric_passes: int = 0  # images the removal metrics sent through the network for this unit's maps
    metric_seconds: float = 0.0
    # Per metric: its seconds and passes by kind, the maps it remade included (not logged; the cost benchmark reads it).
    by_metric: dict[str, tuple[float, dict[str, int]]] = field(default_factory=dict)


@dataclass
class Measurement:
    """One unit on one photo: its rows, its cost, and the subject behind them (maps, curves, memo)."""

    image: str
    unit: Unit
    rows: list[dict]
    cost: Cost
    subject: Subject | None = None


@dataclass
class Evaluation:
    """Every measurement of an evaluation, and their rows."""

    measurements: list[Measurement] = field(default_factory=list)

    @property
    def rows(self) -> list[dict]:
        """The long rows: image, method (a map's name), metric, value."""
        return [row for measurement in self.measurements for row in measurement.rows]

    def costs(self) -> dict[str, tuple[float, float]]:
        """Per unit: mean passes and seconds per photo."""
        by_unit: dict[str, list[Cost]] = {}
        for measurement in self.measurements:
            by_unit.setdefault(measurement.unit.name, []).append(measurement.cost)
        return {
            name: (float(np.mean([c.passes for c in costs])), float(np.mean([c.seconds for c in costs])))
            for name, costs in by_unit.items()
        }

    def get(self, image: str, unit: str) -> Measurement:
        """The measurement of one unit on one photo."""
        for measurement in self.measurements:
            if measurement.image == image and measurement.unit.name == unit:
                return measurement
        raise KeyError(f"no measurement of {unit!r} on {image!r}")


def plan_units(methods: Iterable[str], settings: dict[str, dict] | None = None) -> list[Unit]:
    """The units that evaluate these methods: the shared baselines they need, then each method at its settings."""
    methods = check_methods(methods)
    settings = settings or {}
    baselines = [Unit(baseline.name) for baseline in shared_units(methods)]
    return [*baselines, *(Unit.of_method(method, settings.get(method)) for method in methods)]


def check_methods(methods) -> list[str]:
    """The methods, each a registered one; a clear error otherwise."""
    methods = list(methods)
    for method in methods:
        method_spec(method)
    if not methods:
        raise ValueError(f"give at least one method; choose from {', '.join(SPECS)}")
    return methods


def measure(
    bundle, image_name: str, image: np.ndarray, unit: Unit, plan: Plan, randomiser=None, target=None, case=None
) -> Measurement:
    """Every metric of the plan that applies to `unit` on one photo (or grid case: `case`)."""
    cost = Cost()
    if unit.method is not None:
        result = attribute(unit.method, bundle, image, target=target, batch_size=plan.batch_size, **unit.kwargs)
        cost.passes, cost.seconds = result.passes, result.seconds
        maps = {unit.name: importance(result.map, SPECS[unit.method].display)}
        target, unit_references = result.target, references(SPECS[unit.method])
    else:
        result, unit_references = None, []
        target = int(np.argmax(bundle.logits(image)[0])) if target is None else class_index(target)
        maps = {}
    subject = Subject(
        bundle,
        image_name,
        image,
        unit,
        target,
        maps,
        result,
        randomiser,
        plan.depths,
        case,
        plan.seed,
        plan.batch_size,
        tuple(plan.applicable(unit)),
        dict(plan.options),
    )
    if not unit.is_method:
        maps[unit.name] = np.asarray(shared_baseline(unit.name).make(subject, subject.rng("map")), dtype=np.float64)
    for reference in unit_references:
        maps[f"{unit.name}:{reference.name}"] = np.asarray(reference.make(subject, subject.rng(reference.name)))
    rows = []
    for name in plan.applicable(unit):
        started, passes, spent = time.perf_counter(), subject.context.passes(), subject.passes_by_kind()
        values = METRIC_SPECS[name].function(subject)
        seconds = time.perf_counter() - started
        cost.metric_seconds += seconds
        cost.metric_passes += subject.context.passes() - passes
        now = subject.passes_by_kind()
        cost.by_metric[name] = (
            seconds,
            {kind: now[kind] - spent.get(kind, 0) for kind in now if now[kind] > spent.get(kind, 0)},
        )
        rows += [_row(image_name, map_name, name, value) for map_name, value in values.items()]
    return Measurement(image_name, unit, rows, cost, subject)


def _row(image: str, map_name: str, metric: str, value: float) -> dict:
    return {"image": image, "method": map_name, "metric": metric, "value": float(value)}


def warm_up(bundle, image: np.ndarray, units: Iterable[Unit]) -> None:
    """Run each method once at its quick settings: its first call compiles TensorFlow functions (seconds)."""
    for method in dict.fromkeys(unit.method for unit in units if unit.method is not None):
        attribute(method, bundle, image, **SPECS[method].quick)


def evaluate(
    bundle,
    photos: dict[str, np.ndarray],
    units: list[Unit],
    plan: Plan,
    *,
    targets: dict[str, int] | None = None,
    cases: dict | None = None,
    out: Path | None = None,
    keep_details: bool | None = None,
    progress: bool = True,
    engine=None,
    maps: Path | None = None,
) -> Evaluation:
    """Measure every unit on every photo (see the module's docstring); `targets`: a class per photo (default top-1).

    `cases`: the grid case (`grid_cases.GridCase`) behind each photo that is one;
    its target class is explained, and localisation metrics read it.

    With `out`, units already in OUT's log are skipped (resuming) and each new
    one is appended as it finishes; details (subjects) are kept only without `out`
    unless `keep_details` says otherwise (a Ray worker keeps them). `engine` runs the jobs (`engines.py`:
    in this process by default, or on Ray); this process alone writes the log.
    With `maps`, each method's map is kept there too (`map_cache.py`).
    """
    from tqdm.auto import tqdm

    from .engines import Job, SerialEngine
    from .map_cache import MapCache
    from .result_log import ResultLog

    engine = engine or SerialEngine()
    keep_details = (out is None and engine.keeps_details) if keep_details is None else keep_details
    settings = {"model": bundle.name, "metrics": list(plan.metrics), "depths": list(plan.depths), "seed": plan.seed}
    log = ResultLog(out, settings) if out is not None else None
    cache = MapCache(maps) if maps is not None else None
    cases = cases or {}
    todo = [
        Job(name, unit, cases[name].target_class if name in cases else (targets or {}).get(name), cases.get(name))
        for name in photos
        for unit in units
        if log is None or not log.done(name, unit.name)
    ]
    evaluation = Evaluation()
    total = len(photos) * len(units)
    with tqdm(
        total=total, initial=total - len(todo), desc="evaluating", unit="unit", disable=not progress, file=sys.stderr
    ) as bar:
        for measurement, record in engine.run(bundle, photos, todo, plan, keep_details, cache is not None):
            if log is not None and log.done(measurement.image, measurement.unit.name):
                continue  # a unit is written once, whatever an engine delivers
            if record is not None and cache is not None:
                cache.save(record)  # before the log commits the unit, so a committed unit has its map
            if log is not None:
                log.append(measurement)
            evaluation.measurements.append(measurement)
            bar.set_postfix_str(f"{measurement.image} · {measurement.unit.name}")
            bar.update()
    if log is not None:
        evaluation.measurements = log.measurements()
    return evaluation
