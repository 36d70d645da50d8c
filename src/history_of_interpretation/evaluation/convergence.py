"""How a sampling method's map settles as it draws more samples (LIME's samples, RISE's masks).

A map drawn from N random samples is itself random. Its distance to the
converged map is measured here as the Spearman rank correlation with a
reference map drawn from many more samples under ANOTHER seed: with the same
seed the two would share their first draws and agree for that reason alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..methods import AttributionResult, attribute, method_spec
from ..methods.rules import SEED
from .map_statistics import rank_correlation


@dataclass
class Convergence:
    """The maps at each count, the reference, and each map's rank correlation with the reference."""

    parameter: str  # the count that grows, e.g. "masks"
    results: dict[int, AttributionResult]  # count -> the map drawn with that many samples
    reference: AttributionResult
    correlations: dict[int, float]  # count -> rank correlation with the reference


def convergence(
    method: str,
    bundle,
    image: np.ndarray,
    parameter: str,
    counts,
    reference_count: int,
    reference_seed: int = 1,
    target=None,
    **params,
) -> Convergence:
    """Run `method` at each of `counts` values of `parameter`, and once at `reference_count` as the reference.

    `params` are the method's other settings (its `seed` among them, for the
    counts); the reference uses `reference_seed`, which must differ from it.
    """
    spec = method_spec(method)
    if "seed" not in spec.defaults or parameter not in spec.defaults:
        raise ValueError(
            f"{method} has no parameter {parameter!r} or no seed; its parameters: {', '.join(spec.defaults) or 'none'}"
        )
    counts = [spec.rules[parameter](parameter, count) for count in counts]
    if not counts:
        raise ValueError(f"counts must list at least one value of {parameter}")
    reference_count = spec.rules[parameter]("reference_count", reference_count)
    seed = spec.checked(params)["seed"]
    reference_seed = SEED("reference_seed", reference_seed)
    if reference_seed == seed:
        raise ValueError(
            f"reference_seed must differ from the maps' seed ({seed}): the reference would share their random draws"
        )
    reference = attribute(
        method, bundle, image, target=target, **{**params, parameter: reference_count, "seed": reference_seed}
    )
    results = {
        count: attribute(method, bundle, image, target=reference.target, **{**params, parameter: count})
        for count in counts
    }
    return Convergence(
        parameter,
        results,
        reference,
        {count: rank_correlation(result.map, reference.map) for count, result in results.items()},
    )
