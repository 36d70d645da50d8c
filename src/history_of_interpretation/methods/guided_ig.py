"""Guided integrated gradients (Kapishnikov et al., 2021).

Integrated gradients walks a straight line from the baseline to the photo;
where that line crosses regions of large, noisy gradients the attributions
pick up noise that has nothing to do with the object. Guided IG walks an
adaptive path instead: at each step it moves only the `fraction` of pixels
whose gradient is smallest, and no pixel may run ahead of or lag behind the
straight line by more than `max_dist` of the way.

saliency.core.GuidedIG picks each step from the gradient at the point it has
reached, so it calls the model one image at a time: its steps cannot be
batched, and each costs one forward and backward pass at batch size one.
"""

from __future__ import annotations

import warnings

import numpy as np
import saliency.core as saliency

from .integrated_gradients import baseline_image, completeness
from .spec import COUNT, PairEquivalent, Rule, _finite, checked_by_method, method


def _share_of_the_path(name: str, value):
    if not 0 <= _finite(name, value) <= 1:
        raise ValueError(
            f"{name} is a share of the path from 0 (the straight line: plain IG) to 1 (unbounded), not {value!r}"
        )
    return value


def _share_of_the_pixels(name: str, value):
    if not 0 < _finite(name, value) <= 1:
        raise ValueError(f"{name} is the share of pixels moved at a time: above 0 and at most 1, not {value!r}")
    return value


SHARE_OF_THE_PATH = Rule("a number from 0 to 1", _share_of_the_path)
SHARE_OF_THE_PIXELS = Rule("a number above 0 and at most 1", _share_of_the_pixels)


def pair_guided_ig(context, call_model_function, steps, fraction, max_dist, baseline) -> np.ndarray:
    """saliency.core.GuidedIG's map for the photo of `context`, calling the model through `call_model_function`."""
    with warnings.catch_warnings():
        # saliency 0.2.1 calls np.quantile(interpolation=...): deprecated since numpy 2.0, gone in 2.4
        # (requirements.txt pins numpy below 2.4; tests/test_environment.py checks it).
        warnings.filterwarnings("ignore", message=".*interpolation=.*", category=DeprecationWarning)
        return saliency.GuidedIG().GetMask(
            context.x,
            call_model_function,
            context.call_args,
            x_baseline=baseline_image(context, baseline),
            x_steps=steps,
            fraction=fraction,
            max_dist=max_dist,
        )


PAIR_GUIDED_IG = PairEquivalent(
    "GuidedIG",
    keys=(saliency.base.INPUT_OUTPUT_GRADIENTS,),
    calls=lambda context, settings: settings["steps"],
    run=lambda context, function, settings: pair_guided_ig(context, function, **settings),
)


@method(
    title="Guided IG",
    authors="Kapishnikov et al.",
    year=2021,
    paper="Guided Integrated Gradients: An Adaptive Path Method for Removing Noise",
    rules={
        "steps": COUNT,
        "fraction": SHARE_OF_THE_PIXELS,
        "max_dist": SHARE_OF_THE_PATH,
        "baseline": checked_by_method("'black', 'gray', 'white' or an RGB uint8 image"),
    },
    passes=lambda settings, extras: {"gradient": settings["steps"], "forward": 1},
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    quick={"steps": 4},
    pair=PAIR_GUIDED_IG,
    completeness=True,
)
def guided_ig(context, steps: int = 200, fraction: float = 0.25, max_dist: float = 0.02, baseline="black"):
    """Integrate the gradient along an adaptive path that moves the least important pixels first.

    One model call per step, one image each (see the module's docstring),
    plus one forward pass for the baseline's logit (completeness). The
    defaults are saliency.core's. On EfficientNet-Lite0 the completeness
    error is large at them (about 40% on chelsea, 150% on coffee) and no
    setting tried (200 to 1000 steps, max_dist 0.005 to 1, fraction 0.25 to
    0.9) closed it on both photos: chapter 11 says why.
    """
    attribution = pair_guided_ig(context, context.calls.call_model_function, steps, fraction, max_dist, baseline)
    start_logit = context.calls.logits(baseline_image(context, baseline)[None])[0, context.target]
    return attribution.astype(np.float32), completeness(attribution, context.logits[context.target] - start_logit)
