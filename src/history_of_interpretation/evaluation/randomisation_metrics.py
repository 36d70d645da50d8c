"""Does the map depend on the model and on the class? Model randomisation and the random-logit test.

Model randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps"): randomise the weights from the logits down (a cascade over
`subject.depths`) and compare each map with the trained model's map. The
random-logit test (Sixt, Granz & Landgraf 2020, "When Explanations Lie: Why
Many Modified BP Attributions Fail"): compare the map of the photo's class
with the map of a class drawn at random.

What the course adds, so that a number means what it says:

- *a ceiling from the seed*: a method that draws at random (SmoothGrad's
  noise, LIME's samples, RISE's masks) does not reproduce its own map under
  another seed; its similarity to the trained map after randomisation means
  something only next to the similarity of two trained maps drawn with two
  seeds (`seed_ceiling`; 1 for methods without a seed). Every map compared is
  drawn with a fresh seed, so no two share their draws.
- *scores that reward change beyond noise*: each metric is the ceiling minus
  the mean similarity over the steps (higher is better: the map changed more
  than its own noise). A map of pure noise scores about 0 (its ceiling is
  about 0 too), not best.
- *degenerate maps never count as changed*: a constant (all-zero, say) map
  ranks no pixel, so its similarity is undefined; such a step counts as
  unchanged (similarity 1), and `degenerate_maps` reports how many there were.

The similarities are Spearman's rank correlation of |map| (every method), of
the signed map (signed methods only) and SSIM of |map| scaled to [0, 1],
as in Adebayo et al.
"""

from __future__ import annotations

import numpy as np

from ..methods import SPECS
from .baselines import shared_baseline
from .map_statistics import is_degenerate, magnitude_ssim, rank_correlation
from .metric_spec import metric
from .randomisation import cascade

SIMILARITIES = {
    "spearman": lambda a, b: rank_correlation(a, b, absolute=True),
    "signed": lambda a, b: rank_correlation(a, b),
    "ssim": magnitude_ssim,
}
FRESH_SEEDS = 1000  # each map's seed: the unit's own plus an offset that no other map of the subject uses
ADEBAYO = dict(authors="Adebayo et al.", year=2018, paper="Sanity Checks for Saliency Maps")
RERUNS = dict(direction="higher", family="randomisation", needs=("model", "method"))  # scores of change


def _reruns(unit) -> bool:
    """Randomisation applies to methods and to baselines that ignore the model (the edge detector)."""
    return unit.is_method or shared_baseline(unit.name).model_free


def _signed(unit) -> bool:
    return unit.is_method and SPECS[unit.method].signed


def _seeded(subject) -> bool:
    return subject.unit.is_method and "seed" in SPECS[subject.unit.method].defaults


def _fresh_seed(subject, index: int) -> int | None:
    return subject.unit.kwargs.get("seed", SPECS[subject.unit.method].defaults["seed"]) + FRESH_SEEDS + index


def _trained_map(subject) -> np.ndarray:
    return subject.result.map if subject.result is not None else subject.maps[subject.unit.name]


def _similarity(key: str, trained: np.ndarray, other: np.ndarray) -> float:
    """The similarity, 1 (unchanged) where either map is degenerate: a constant map never counts as changed."""
    value = SIMILARITIES[key](trained, other)
    return 1.0 if np.isnan(value) else value


def seed_ceilings(subject) -> dict[str, float]:
    """Similarity of two trained-model maps drawn with two seeds, per similarity (1 for methods without a seed)."""
    if "ceilings" not in subject.memo:
        if _seeded(subject):
            again = subject.explain(seed=_fresh_seed(subject, 0))
            subject.memo["ceilings"] = {key: _similarity(key, _trained_map(subject), again) for key in SIMILARITIES}
            subject.memo["ceiling_map"] = again
        else:
            subject.memo["ceilings"] = dict.fromkeys(SIMILARITIES, 1.0)
    return subject.memo["ceilings"]


def cascade_maps(subject) -> list[tuple[str, np.ndarray]]:
    """(depth, map) after randomising every layer group from the output down to each depth, fresh seeds each."""
    if "cascade" not in subject.memo:
        randomiser, maps = subject.randomiser, []
        for index, (depth, groups) in enumerate(cascade(randomiser.group_names, list(subject.depths)), start=1):
            randomiser.randomise(groups)
            seed = _fresh_seed(subject, index) if _seeded(subject) else None
            maps.append((depth, subject.explain(randomiser.bundle, seed=seed)))
        randomiser.randomise(())
        subject.memo["cascade"] = maps
    return subject.memo["cascade"]


def class_map(subject) -> np.ndarray:
    """The map for a class drawn at random (seeded, never the target), on the trained model."""
    if "class_map" not in subject.memo:
        classes = len(subject.bundle.labels)
        other = int(subject.rng("random logit").integers(classes - 1))
        other += other >= subject.target  # any class but the target
        seed = _fresh_seed(subject, len(subject.depths) + 1) if _seeded(subject) else None
        subject.memo["random_class"] = other
        subject.memo["class_map"] = subject.explain(target=other, seed=seed)
    return subject.memo["class_map"]


def step_similarities(subject, key: str) -> list[float]:
    """The similarity of each cascade step's map to the trained map (NaN where either is degenerate)."""
    trained = _trained_map(subject)
    return [SIMILARITIES[key](trained, other) for _, other in cascade_maps(subject)]


def _change(subject, key: str) -> dict[str, float]:
    similarities = np.nan_to_num(step_similarities(subject, key), nan=1.0)  # degenerate: never "changed"
    return {subject.unit.name: seed_ceilings(subject)[key] - float(np.mean(similarities))}


@metric(title="model randomisation, Spearman |map| (change beyond the seed's)", applies=_reruns, **RERUNS, **ADEBAYO)
def model_randomisation(subject) -> dict[str, float]:
    """The seed ceiling minus the mean Spearman correlation of |map| with the trained map over the cascade."""
    return _change(subject, "spearman")


@metric(
    title="model randomisation, SSIM |map| (change beyond the seed's)",
    applies=_reruns,
    variant_of="model_randomisation",
    **RERUNS,
    **ADEBAYO,
)
def model_randomisation_ssim(subject) -> dict[str, float]:
    """The seed ceiling minus the mean SSIM of |map| with the trained map over the cascade."""
    return _change(subject, "ssim")


@metric(
    title="model randomisation, Spearman of the signed map (change beyond the seed's)",
    applies=_signed,
    variant_of="model_randomisation",
    **RERUNS,
    **ADEBAYO,
)
def model_randomisation_signed(subject) -> dict[str, float]:
    """As `model_randomisation`, on the signed maps: only for methods whose sign carries meaning."""
    return _change(subject, "signed")


@metric(
    title="random-logit test, Spearman |map| (change beyond the seed's)",
    applies=lambda unit: unit.is_method,
    **RERUNS,
    authors="Sixt et al.",
    year=2020,
    paper="When Explanations Lie: Why Many Modified BP Attributions Fail",
)
def class_sensitivity(subject) -> dict[str, float]:
    """The seed ceiling minus the Spearman correlation of |map| for the photo's class and for a random class."""
    similarity = _similarity("spearman", _trained_map(subject), class_map(subject))
    return {subject.unit.name: seed_ceilings(subject)["spearman"] - similarity}


@metric(
    title="seed ceiling: Spearman |map| of two seeds on the trained model",
    direction="none",
    family="randomisation",
    needs=("method",),
    applies=lambda unit: unit.is_method,
    **ADEBAYO,
)
def seed_ceiling(subject) -> dict[str, float]:
    """How well the method reproduces its own map under another seed (1 for methods without a seed)."""
    return {subject.unit.name: seed_ceilings(subject)["spearman"]}


@metric(
    title="degenerate maps (constant, e.g. all zero) among the trained, randomised and random-class maps",
    direction="none",
    family="randomisation",
    needs=("model", "method"),
    applies=_reruns,
    **ADEBAYO,
)
def degenerate_maps(subject) -> dict[str, float]:
    """How many of the maps the randomisation metrics compared rank no pixel at all."""
    maps = [_trained_map(subject), *(other for _, other in cascade_maps(subject))]
    if subject.unit.is_method:
        maps.append(class_map(subject))
    return {subject.unit.name: float(sum(map(is_degenerate, maps)))}
