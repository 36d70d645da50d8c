"""Gradient maps: vanilla gradients (Simonyan et al., 2013), guided backprop
(Springenberg et al., 2014) and SmoothGrad (Smilkov et al., 2017)."""

from __future__ import annotations

import numpy as np
import saliency.core as saliency

from .rules import FLAG, SEED, count, number, one_of
from .spec import PairEquivalent, method

INPUT_GRADIENTS = (saliency.base.INPUT_OUTPUT_GRADIENTS,)

PAIR_GRADIENT = PairEquivalent(
    "GradientSaliency",
    keys=INPUT_GRADIENTS,
    calls=lambda context, settings: 1,
    run=lambda context, function, settings: saliency.GradientSaliency().GetMask(context.x, function, context.call_args),
)

PAIR_SMOOTHGRAD = PairEquivalent(
    "GradientSaliency.GetSmoothedMask",
    keys=INPUT_GRADIENTS,
    calls=lambda context, settings: settings["samples"],
    run=lambda context, function, settings: saliency.GradientSaliency().GetSmoothedMask(
        context.x,
        function,
        context.call_args,
        stdev_spread=settings["noise"],
        nsamples=settings["samples"],
        magnitude=settings["magnitude"],
    ),
    applies=lambda settings: settings["base"] == "vanilla_gradient",  # saliency.core has no guided backprop
)


@method(
    title="vanilla gradient",
    authors="Simonyan et al.",
    year=2013,
    paper="Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps",
    rules={},
    passes=lambda settings, extras: {"gradient": 1},
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    pair=PAIR_GRADIENT,
    in_article=True,
)
def vanilla_gradient(context):
    """The gradient of the class logit with respect to the input pixels."""
    calls = context.calls
    return saliency.GradientSaliency().GetMask(context.x, calls.call_model_function, context.call_args), {}


@method(
    title="guided backprop",
    authors="Springenberg et al.",
    year=2014,
    paper="Striving for Simplicity: The All Convolutional Net",
    rules={},
    passes=lambda settings, extras: {"guided_gradient": 1},
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    in_article=True,
)
def guided_backprop(context):
    """The input gradient through ReLUs that pass only positive signal both ways (guided_relu.py)."""
    calls = context.guided_calls
    return saliency.GradientSaliency().GetMask(context.x, calls.call_model_function, context.call_args), {}


@method(
    title="SmoothGrad",
    authors="Smilkov et al.",
    year=2017,
    paper="SmoothGrad: removing noise by adding noise",
    rules={
        "base": one_of("vanilla_gradient", "guided_backprop"),
        "samples": count(2000),
        "noise": number(0, 10),  # the noise's spread, as a share of the input's range
        "magnitude": FLAG,
        "seed": SEED,
    },
    passes=lambda settings, extras: {
        {"vanilla_gradient": "gradient", "guided_backprop": "guided_gradient"}[settings["base"]]: settings["samples"]
    },
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    quick={"samples": 3},
    pair=PAIR_SMOOTHGRAD,
    in_article=True,
)
def smoothgrad(
    context,
    base: str = "vanilla_gradient",
    samples: int = 25,
    noise: float = 0.15,
    magnitude: bool = False,
    seed: int = 0,
):
    """Average the base method's gradient over noisy copies of the image.

    PAIR's `GetSmoothedMask` runs one sample per model call and draws from the
    global `np.random`; here the samples run in batches and the noise comes
    from a seeded generator (the draw does not depend on the batch size).
    `noise` is the standard deviation as a fraction of the input's range.
    """
    calls = {"vanilla_gradient": context.calls, "guided_backprop": context.guided_calls}[base]
    rng = np.random.default_rng(seed)
    stdev = noise * float(context.x.max() - context.x.min())
    total = np.zeros_like(context.x, dtype=np.float64)
    for start in range(0, samples, calls.batch_size):
        count = min(calls.batch_size, samples - start)
        noisy = context.x[None] + stdev * rng.standard_normal((count, *context.x.shape), dtype=np.float32)
        gradients = calls.input_gradients(noisy, context.target)[0]
        total += (gradients * gradients if magnitude else gradients).sum(axis=0)
    return (total / samples).astype(np.float32), {"stdev": stdev}
