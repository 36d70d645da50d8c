"""Integrated gradients (Sundararajan et al., 2017) and Blur IG (Xu et al., 2020).

Both integrate the gradient along a path of images that ends at the photo;
the attributions add up to the change in the class logit along the path
(completeness), which each result reports as a relative error.
"""

from __future__ import annotations

import numpy as np
import saliency.core as saliency

from .blur import blur_operands, blurred_with_derivative, gaussian_blur_with_derivative
from .rules import checked_by_method, count, number, one_of
from .spec import PairEquivalent, method

PATH_RULES = ("dense_start", "midpoint", "trapezoid", "pair")
BASELINE = checked_by_method("'black', 'gray', 'white' or an RGB uint8 image")


def path_weights(steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] along the path and the weight of each in the integral.

    "pair" is saliency.core's rule: `linspace(0, 1, steps)` with weight
    1/steps each, which over-weights the end of the path. "dense_start" is the
    midpoint rule after the change of variables alpha = t**3: points crowd
    near the baseline, where an ImageNet model's logit climbs steeply (on
    EfficientNet-Lite0 most of the change happens before alpha = 0.1), so it
    reaches a given completeness error in fewer steps (chapter 6 plots it).
    """
    if rule == "dense_start":
        t = (np.arange(steps) + 0.5) / steps
        edges = np.arange(steps + 1) / steps
        return t**3, np.diff(edges**3)  # each point weighs its cell's exact length in alpha
    if rule == "midpoint":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "trapezoid":
        if steps == 1:
            return np.array([1.0]), np.array([1.0])
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), weights
    if rule == "pair":
        return np.linspace(0.0, 1.0, steps), np.full(steps, 1.0 / steps)
    raise ValueError(f"unknown path rule {rule!r}; choose one of {', '.join(PATH_RULES)}")


def baseline_image(context, baseline) -> np.ndarray:
    """'black', 'white', 'gray' or an RGB uint8 array, as model input."""
    named = {"black": 0.0, "gray": 128.0, "white": 255.0}
    if isinstance(baseline, str):
        if baseline not in named:
            raise ValueError(f"unknown baseline {baseline!r}; use {', '.join(named)} or an image array")
        return np.full_like(context.x, context.bundle.preprocess(np.float32(named[baseline])))
    baseline = np.asarray(baseline)
    if baseline.shape != context.image.shape:
        raise ValueError(f"baseline image has shape {baseline.shape}; it must match the image, {context.image.shape}")
    return context.bundle.preprocess(baseline)


PAIR_INTEGRATED_GRADIENTS = PairEquivalent(
    "IntegratedGradients",
    keys=(saliency.base.INPUT_OUTPUT_GRADIENTS,),
    calls=lambda context, settings: settings["steps"],
    run=lambda context, function, settings: saliency.IntegratedGradients().GetMask(
        context.x,
        function,
        context.call_args,
        x_baseline=baseline_image(context, settings["baseline"]),
        x_steps=settings["steps"],
        batch_size=1,
    ),
)

PAIR_BLUR_IG = PairEquivalent(
    "BlurIG",
    keys=(saliency.base.INPUT_OUTPUT_GRADIENTS,),
    calls=lambda context, settings: settings["steps"],
    run=lambda context, function, settings: saliency.BlurIG().GetMask(
        context.x, function, context.call_args, max_sigma=settings["max_sigma"], steps=settings["steps"], batch_size=1
    ),
)


def _steps_and_the_path_start(settings, extras):
    return {"gradient": settings["steps"], "forward": 1}


@method(
    title="integrated gradients",
    authors="Sundararajan et al.",
    year=2017,
    paper="Axiomatic Attribution for Deep Networks",
    rules={
        "steps": count(4096),
        "baseline": BASELINE,
        "rule": one_of(*PATH_RULES),
    },
    passes=_steps_and_the_path_start,
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    quick={"steps": 4},
    pair=PAIR_INTEGRATED_GRADIENTS,
    completeness=True,
    in_article=True,
)
def integrated_gradients(context, steps: int = 256, baseline="black", rule: str = "dense_start"):
    """Average the gradient along the straight path from `baseline` to the photo, times the difference."""
    start = baseline_image(context, baseline)
    calls, target = context.calls, context.target
    if rule == "pair":
        attribution = saliency.IntegratedGradients().GetMask(
            context.x,
            calls.call_model_function,
            context.call_args,
            x_baseline=start,
            x_steps=steps,
            batch_size=calls.batch_size,
        )
    else:
        alphas, weights = path_weights(steps, rule)
        difference = context.x - start
        total = np.zeros_like(context.x, dtype=np.float64)
        for first in range(0, steps, calls.batch_size):
            chunk = slice(first, first + calls.batch_size)
            points = start[None] + alphas[chunk, None, None, None].astype(np.float32) * difference[None]
            gradients = calls.input_gradients(points, target)[0]
            total += np.tensordot(weights[chunk], gradients, axes=1)
        attribution = total * difference
    start_logit = calls.logits(start[None])[0, target]
    return attribution.astype(np.float32), completeness(attribution, context.logits[target] - start_logit)


@method(
    title="Blur IG",
    authors="Xu et al.",
    year=2020,
    paper="Attribution in Scale and Space",
    rules={"steps": count(1024), "max_sigma": number(0, 1000), "rule": one_of(*PATH_RULES)},
    passes=_steps_and_the_path_start,
    rgb=True,
    signed=True,
    display="grayscale",
    resolution="pixel",
    quick={"steps": 4},
    pair=PAIR_BLUR_IG,
    completeness=True,
    in_article=True,
)
def blur_ig(context, steps: int = 64, max_sigma: float = 50.0, rule: str = "dense_start"):
    """Integrate from a blurred photo (sigma = max_sigma) back to the photo.

    saliency.core.BlurIG blurs with scipy twice per step and estimates the
    derivative in sigma by a finite difference, which costs more than the
    network; here the blur and its exact derivative in sigma are two small
    matrix products per axis (see `blur.py`), traced into the same compiled
    call as the gradients. The sigmas follow a path rule as in
    `integrated_gradients`: the logit changes fastest at small sigma, where
    fine detail appears, so "dense_start" crowds the sigmas there.
    """
    calls, target = context.calls, context.target
    fractions, weights = path_weights(steps, rule)
    planes, matrices = blur_operands(context.x, fractions * max_sigma)
    # The path runs from blurred (large sigma) to sharp (sigma 0): against the direction of d/dsigma.
    attribution = -calls.path_integral(blurred_with_derivative, (planes,), matrices, weights * max_sigma, target)
    most_blurred, _ = gaussian_blur_with_derivative(context.x, np.array([max_sigma]))
    start_logit = calls.logits(most_blurred)[0, target]
    return attribution.astype(np.float32), completeness(attribution, context.logits[target] - start_logit)


def completeness(attribution: np.ndarray, logit_difference: float) -> dict:
    """How far the attributions' sum is from f(photo) - f(path start), relatively."""
    total = float(np.sum(attribution, dtype=np.float64))
    logit_difference = float(logit_difference)
    return {
        "attribution_sum": total,
        "logit_difference": float(logit_difference),
        "completeness_error": float(abs(total - logit_difference) / max(abs(logit_difference), 1e-12)),
    }
