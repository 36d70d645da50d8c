"""Does the map point at what the model uses? Removal metrics, each as its paper defines it.

- Petsiuk et al. 2018 (RISE): `deletion` (pixels to the model input's zero,
  the mean colour, 224 per step) and `insertion` (from the input blurred by a
  Gaussian of sigma 5 on 11x11); the named variants `deletion_black` and
  `deletion_blurred` remove to black and to the blurred photo (`petsiuk.py`).
- Kapishnikov et al. 2019 (XRAI): PAIR's performance information curves,
  `sic` and `aic`, as saliency.metrics computes them (`pic.py`); a photo the
  model scores below PAIR's 0.5 is skipped (NaN), as PAIR advises.
- Rong et al. 2022 (ROAD): removal by noisy linear imputation, most relevant
  first (`road_morf`) and least relevant first (`road_lerf`), and their
  difference, the symmetric relevance gain of Blücher et al. 2024
  (`road_srg`), which a map's shape alone cannot win: a coarse map that
  happens to remove a good region first removes it last in the other order.

Each scores every map of the subject (the unit's own and its references).
The curves behind the metrics of one family are computed once per subject,
for every metric of the family the evaluation asked for (`subject.metrics`).
"""

from __future__ import annotations

from .metric_spec import metric
from .petsiuk import VARIANTS, deletion_insertion
from .pic import pic_scores
from .road import road_curves

PETSIUK = dict(
    authors="Petsiuk et al.", year=2018, paper="RISE: Randomized Input Sampling for Explanation of Black-box Models"
)
PIC = dict(authors="Kapishnikov et al.", year=2019, paper="XRAI: Better Attributions Through Regions")
ROAD = dict(
    authors="Rong et al.", year=2022, paper="A Consistent and Efficient Evaluation Strategy for Attribution Methods"
)
FAITHFULNESS = dict(family="faithfulness", needs=("map", "model"))


def _petsiuk(subject, variant: str) -> dict[str, float]:
    if "petsiuk" not in subject.memo:
        variants = [name for name in VARIANTS if name in subject.metrics]  # computed together: shared batches
        subject.memo["petsiuk"] = deletion_insertion(
            subject.context, subject.maps, variants=variants, step=subject.options.get("step", 224), seed=subject.seed
        )
    return {name: curves[variant].auc for name, curves in subject.memo["petsiuk"].items()}


def _pic(subject, kind: str) -> dict[str, float]:
    if "pic" not in subject.memo:
        subject.memo["pic"] = pic_scores(subject.context, subject.maps, seed=subject.seed)
    results = {name: getattr(scores, kind) for name, scores in subject.memo["pic"].items()}
    return {name: float("nan") if result is None else float(result.auc) for name, result in results.items()}


def _road(subject, score: str) -> dict[str, float]:
    if "road" not in subject.memo:
        subject.memo["road"] = road_curves(subject.context, subject.maps, seed=subject.seed)
    return {name: getattr(curves, score) for name, curves in subject.memo["road"].items()}


@metric(title="deletion (Petsiuk: to the mean colour)", direction="lower", **FAITHFULNESS, **PETSIUK)
def deletion(subject) -> dict[str, float]:
    """Area under the class probability as the map's top pixels become the model input's zero, 224 at a time."""
    return _petsiuk(subject, "deletion")


@metric(title="insertion (Petsiuk: from the blurred photo)", direction="higher", **FAITHFULNESS, **PETSIUK)
def insertion(subject) -> dict[str, float]:
    """Area under the class probability as the map's top pixels return to a blurred photo, 224 at a time."""
    return _petsiuk(subject, "insertion")


@metric(title="deletion to black (variant)", direction="lower", variant_of="deletion", **FAITHFULNESS, **PETSIUK)
def deletion_black(subject) -> dict[str, float]:
    """Petsiuk's deletion with removed pixels black: images far from any the model saw."""
    return _petsiuk(subject, "deletion_black")


@metric(
    title="deletion to the blurred photo (variant)", direction="lower", variant_of="deletion", **FAITHFULNESS, **PETSIUK
)
def deletion_blurred(subject) -> dict[str, float]:
    """Petsiuk's deletion with removed pixels taken from the blurred photo (insertion's start)."""
    return _petsiuk(subject, "deletion_blurred")


@metric(title="SIC (PAIR's PIC, softmax)", direction="higher", **FAITHFULNESS, **PIC)
def sic(subject) -> dict[str, float]:
    """Area under PAIR's softmax information curve; NaN where PAIR skips the photo."""
    return _pic(subject, "sic")


@metric(title="AIC (PAIR's PIC, accuracy)", direction="higher", **FAITHFULNESS, **PIC)
def aic(subject) -> dict[str, float]:
    """Area under PAIR's accuracy information curve; NaN where PAIR skips the photo."""
    return _pic(subject, "aic")


@metric(title="ROAD, most relevant first", direction="lower", **FAITHFULNESS, **ROAD)
def road_morf(subject) -> dict[str, float]:
    """Area under the class probability as the most relevant pixels are imputed away (noisy linear)."""
    return _road(subject, "morf_area")


@metric(title="ROAD, least relevant first", direction="higher", **FAITHFULNESS, **ROAD)
def road_lerf(subject) -> dict[str, float]:
    """Area under the class probability as the least relevant pixels are imputed away."""
    return _road(subject, "lerf_area")


@metric(
    title="ROAD's symmetric relevance gain (LeRF - MoRF)",
    direction="higher",
    **FAITHFULNESS,
    authors="Blücher et al.",
    year=2024,
    paper="Decoupling Pixel Flipping and Occlusion Strategy for Consistent XAI Benchmarks",
)
def road_srg(subject) -> dict[str, float]:
    """ROAD's LeRF area minus its MoRF area: high only if the map's most and least relevant pixels both are."""
    return _road(subject, "srg")
