"""Every measurement of one (photo, method), as the chapter and `make evaluate` take it.

A *unit* is a photo and one of: a registered method (with its reversed map
and, for segment methods, its own random baseline), `random` (per-pixel
random map), `random_layer` (random at the Grad-CAM layer's grid) or
`edge_detector` (Sobel of the photo). `measure_unit` returns the unit's long
rows (image, method, metric, value) and the details behind them (curves,
maps, similarities per randomisation step) for figures.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..methods import METHODS, SPECS, Context, attribute
from ..models.labels import class_index
from .randomisation import cascade, edge_map, randomisation_similarities
from .ranking import METRICS
from .removal import area, deletion_insertion, importance, pic_metrics, random_baseline, random_map

BASELINE_UNITS = ("random", "random_layer", "edge_detector")
DELETION_METRICS = {"black": "deletion_auc", "blurred": "deletion_blurred_auc"}  # removal -> metric
CURVE_METRICS = {
    "deletion_black": "deletion_auc",
    "deletion_blurred": "deletion_blurred_auc",
    "insertion": "insertion_auc",
}


@dataclass
class Measurement:
    """One unit's rows and what lies behind them."""

    rows: list[dict]
    curves: dict = field(default_factory=dict)  # map name -> {"deletion_black", "deletion_blurred", "insertion"}
    similarities: list[dict] = field(default_factory=list)  # per randomisation step (see sanity.py)
    result: object = None  # the AttributionResult on the trained model (registered methods)
    importance_maps: dict = field(default_factory=dict)
    curve_passes: int = 0
    curve_seconds: float = 0.0


def units(methods) -> list[str]:
    """The units to evaluate per photo for these methods: the baselines that apply, then the methods."""
    needed = ["random"]
    if any(SPECS[m].resolution == "layer" for m in methods):
        needed.append("random_layer")
    return [*needed, "edge_detector", *methods]


def check_methods(methods) -> list[str]:
    """The methods, each a registered one; a clear error otherwise."""
    methods = list(methods)
    unknown = [m for m in methods if m not in SPECS]
    if unknown:
        raise ValueError(f"unknown method {', '.join(map(repr, unknown))}; choose from {', '.join(METHODS)}")
    if not methods:
        raise ValueError(f"give at least one method; choose from {', '.join(METHODS)}")
    return methods


def check_metrics(metrics) -> list[str]:
    """The metrics, each one the evaluation knows; a clear error otherwise."""
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"unknown metric {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(METRICS)}"
        )
    return metrics


def _faithfulness_rows(image_name, context, maps, metrics, steps, seed, measurement):
    rows = []
    removals = [removal for removal, metric in DELETION_METRICS.items() if metric in metrics]
    if removals or "insertion_auc" in metrics:
        started, passes = time.perf_counter(), context.passes()
        curves = deletion_insertion(context, maps, steps, removals=removals, seed=seed)
        measurement.curve_seconds += time.perf_counter() - started
        measurement.curve_passes += context.passes() - passes
        measurement.curves.update(curves)
        for name, named_curves in curves.items():
            for kind, metric in CURVE_METRICS.items():
                if metric in metrics and kind in named_curves:
                    rows.append(_row(image_name, name, metric, area(named_curves[kind])))
    if "sic_auc" in metrics or "aic_auc" in metrics:
        for name, scores in pic_metrics(context, maps, seed).items():
            rows += [
                _row(image_name, name, f"{kind}_auc", value)
                for kind, value in scores.items()
                if f"{kind}_auc" in metrics
            ]
    return rows


def _randomisation_rows(image_name, name, randomiser, depths, explain, trained_map, metrics, measurement):
    wanted = {f"randomization_{key}": key for key in ("spearman_abs", "spearman_signed", "ssim")}
    if randomiser is None or not set(wanted) & set(metrics):
        return []
    measurement.similarities = randomisation_similarities(
        randomiser, cascade(randomiser.group_names, depths), explain, trained_map
    )
    return [
        _row(image_name, name, metric, float(np.mean([s[key] for s in measurement.similarities])))
        for metric, key in wanted.items()
        if metric in metrics
    ]


def _row(image: str, method: str, metric: str, value: float) -> dict:
    return {"image": image, "method": method, "metric": metric, "value": float(value)}


def explainer(unit: str, image: np.ndarray, target=None, settings: dict | None = None, batch_size: int = 32):
    """`explain(bundle) -> map` of one unit on one photo, for randomisation (edge_detector ignores the bundle)."""
    if unit == "edge_detector":
        return lambda bundle: edge_map(image)
    return lambda bundle: attribute(unit, bundle, image, target=target, batch_size=batch_size, **(settings or {})).map


def forward_seconds_per_image(bundle, image: np.ndarray, repeats: int = 5, batch_size: int = 32) -> float:
    """The forward floor: best time per image of a batch of `batch_size` through the compiled calls."""
    calls = Context(bundle, image, None, batch_size).calls
    batch = np.repeat(bundle.preprocess(image)[None], batch_size, axis=0)
    calls.logits(batch)  # compiled and warm
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        calls.logits(batch)
        best = min(best, time.perf_counter() - started)
    return best / batch_size


def measure_unit(
    bundle,
    image_name: str,
    image: np.ndarray,
    unit: str,
    metrics,
    *,
    randomiser=None,
    depths=(),
    settings: dict | None = None,
    steps: int = 32,
    seed: int = 0,
    target=None,
    batch_size: int = 32,
) -> Measurement:
    """All rows of one unit on one photo (see the module's docstring).

    Randomisation rows (registered methods and the edge detector) are the
    mean similarity over the cascade down to each of `depths` (layer groups
    of `randomiser`); faithfulness rows come from `deletion_insertion` (with
    `steps` points) and PIC. Random draws depend only on `seed`, the photo's
    name and the unit. `target`: the class to explain (default: top-1).
    """
    measurement = Measurement(rows=[])
    rng = np.random.default_rng([seed, zlib.crc32(image_name.encode()), zlib.crc32(unit.encode())])
    context = None
    if unit in SPECS:
        spec = SPECS[unit]
        result = attribute(unit, bundle, image, target=target, batch_size=batch_size, **(settings or {}))
        measurement.result = result
        context = Context(bundle, image, result.target, batch_size)
        own = importance(result.map, spec.display)
        maps = {unit: own, f"{unit}_reversed": -own}
        random_name, random_importance = random_baseline(spec, result, bundle, rng)
        if random_name == f"{unit}_random":  # shared random baselines are units of their own
            maps[random_name] = random_importance
        rows = _faithfulness_rows(image_name, context, maps, metrics, steps, seed, measurement)
        rows += _randomisation_rows(
            image_name,
            unit,
            randomiser,
            depths,
            explainer(unit, image, result.target, settings, batch_size),
            result.map,
            metrics,
            measurement,
        )
    else:
        if unit not in BASELINE_UNITS:
            raise ValueError(f"unknown unit {unit!r}: a method ({', '.join(METHODS)}) or one of {BASELINE_UNITS}")
        context = Context(bundle, image, None if target is None else class_index(target), batch_size)
        shape = image.shape[:2]
        maps = {
            "random": lambda: random_map(shape, rng),
            "random_layer": lambda: random_map(shape, rng, grid=bundle.layer_grid()),
            "edge_detector": lambda: edge_map(image).astype(np.float64),
        }
        maps = {unit: maps[unit]()}
        rows = _faithfulness_rows(image_name, context, maps, metrics, steps, seed, measurement)
        if unit == "edge_detector":
            rows += _randomisation_rows(
                image_name, unit, randomiser, depths, explainer(unit, image), maps[unit], metrics, measurement
            )
    measurement.importance_maps = maps
    measurement.rows = rows
    return measurement
