"""Every metric the evaluation knows, declared once beside its function (as methods are).

Each module of `REGISTRY` declares its metrics with `@metric(...)`
(`metric_spec.py`). The driver, the result log, the ranking, the figures and
chapter 12 read these declarations, so a new metric is one function plus its
declaration, in a module of this registry.
"""

from __future__ import annotations

import importlib

from .metric_spec import MetricSpec

# The modules that declare metrics, one row each, in the order tables list their families.
REGISTRY = ("removal_metrics", "randomisation_metrics", "localisation")


def _declared(module_name: str) -> list[MetricSpec]:
    module = importlib.import_module(f"{__package__}.{module_name}")
    return [
        value.spec for value in vars(module).values() if hasattr(value, "spec") and value.__module__ == module.__name__
    ]


def collect(registry) -> dict[str, MetricSpec]:
    """The metrics the registry's modules declare, by name, in registry order."""
    specs: dict[str, MetricSpec] = {}
    for module in registry:
        for spec in _declared(module):
            if spec.name in specs:
                raise TypeError(f"metric {spec.name!r} is declared twice (in {module} and before)")
            specs[spec.name] = spec
    return specs


METRIC_SPECS: dict[str, MetricSpec] = collect(REGISTRY)
METRICS = tuple(METRIC_SPECS)


def metric_spec(name: str) -> MetricSpec:
    """The declaration of a metric; a clear error for an unknown name."""
    if name not in METRIC_SPECS:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return METRIC_SPECS[name]


def check_metrics(names) -> list[str]:
    """The metrics, each a declared one; a clear error otherwise (none given included)."""
    names = list(names)
    unknown = [name for name in names if name not in METRIC_SPECS]
    if unknown or not names:
        raise ValueError(
            f"unknown metric {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(METRICS)}"
        )
    return names
