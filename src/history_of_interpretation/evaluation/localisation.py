"""Does the map point at the right cell? The grid pointing game on 2x2 grid cases (`grid_cases.py`).

Böhle, Fritz & Schiele (CVPR 2021) proposed it; Rao, Böhle & Schiele (CVPR
2022, "Towards Better Understanding Attribution Methods") use it at scale as
GridPG, and the score follows their code (sukrutrao/Attribution-Evaluation,
`evaluation/localization.py` and `evaluation/utils.py`): the map is summed
over colour, signed (their `attrs.sum(dim=1)`), then its negative values are
set to zero, and the score is the positive attribution inside the target
cell over all positive attribution, at the full image's resolution (they
upsample a layer's map bilinearly first; every map of this course is already
at the model's input size, so a map of another size is refused). A perfect
map scores 1; a uniform one scores the cell's share of the image, 0.25 (for
an odd size such as 299, 149x149/299² to 150x150/299²).

Where the course departs: Rao et al. score a map whose positive total is at
most 1e-7 as 0; here a map with no positive value at all is left unscored
(NaN, with its reason), which the statistics count apart (a blank map is no
evidence either way, and an absolute threshold would misjudge maps of small
scale). The maps scored are the evaluation's importance maps
(`units.importance`): magnitude for gradient-type maps, as Rao et al. take
|gradient| for the gradient and guided backprop, signed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .map_statistics import per_pixel, positive_mass_fraction
from .metric_spec import metric

NO_POSITIVE_MASS = "the map has no positive value to locate (all zero or negative)"
NOT_FINITE = "the map holds NaN or infinite values"


@dataclass(frozen=True)
class PointingScore:
    """The share of positive attribution in the target cell, or NaN and why."""

    value: float
    reason: str | None = None  # why the value is NaN; None when it is a share


def grid_pointing_score(attribution: np.ndarray, region: np.ndarray) -> PointingScore:
    """Share of the map's positive attribution (summed over colour) inside the boolean HxW `region`.

    1.0 when all of it lies inside; a uniform map scores the region's share of
    the image; NaN with a reason when the map has nothing positive or is not finite.
    """
    summed = per_pixel(attribution)
    if summed.shape != np.shape(region):
        raise ValueError(
            f"the map is {summed.shape[0]}x{summed.shape[1]} but the grid is {region.shape[0]}x{region.shape[1]}; "
            "upsample a layer's map to the image first (bilinear, as Rao et al. do)"
        )
    if not np.all(np.isfinite(summed)):
        return PointingScore(float("nan"), NOT_FINITE)
    if not np.any(summed > 0):
        return PointingScore(float("nan"), NO_POSITIVE_MASS)
    return PointingScore(positive_mass_fraction(summed, region))


@metric(
    title="grid pointing game: share of positive attribution in the explained cell",
    direction="higher",
    family="localisation",
    needs=("map", "grid_case"),
    authors="Rao et al.",
    year=2022,
    paper="Towards Better Understanding Attribution Methods",
    chance=0.25,
)
def grid_pointing_game(subject) -> dict[str, float]:
    """Each map's share of positive attribution inside the grid case's target cell (NaN: nothing positive)."""
    case = subject.case
    if case is None:
        raise ValueError(
            f"grid_pointing_game scores grid cases only, and {subject.image_name!r} is a photo; "
            "build cases with grid_cases.build_cases"
        )
    if subject.target != case.target_class:
        raise ValueError(
            f"{case.name} explains class {case.target_class} ({case.target_label}), "
            f"but the maps explain class {subject.target}"
        )
    return {name: grid_pointing_score(importance, case.target_mask).value for name, importance in subject.maps.items()}
