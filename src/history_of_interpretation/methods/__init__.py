"""One call for every attribution method: `attribute(method, bundle, image, ...)`.

Each method is a function `(context, **params) -> (map, extras)` in a small
module of its own; this module checks the input, picks the class to explain,
times the method and counts its passes through the network.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from ..labels import class_index
from ..models import softmax
from .gradients import guided_backprop, smoothgrad, vanilla_gradient
from .grad_cam import grad_cam, guided_grad_cam
from .guided_relu import guided_model
from .integrated_gradients import blur_ig, integrated_gradients
from .model_calls import DEFAULT_BATCH_SIZE, ModelCalls
from .occlusion import loo_grid, loo_superpixels

_FUNCTIONS = {
    "loo_grid": loo_grid,
    "loo_superpixels": loo_superpixels,
    "vanilla_gradient": vanilla_gradient,
    "guided_backprop": guided_backprop,
    "grad_cam": grad_cam,
    "guided_grad_cam": guided_grad_cam,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "blur_ig": blur_ig,
}
METHODS = tuple(_FUNCTIONS)

# Parameters that count something and must be at least 1, and those that must not be negative.
_AT_LEAST_ONE = ("grid", "segments", "samples", "steps", "batch_size")
_NOT_NEGATIVE = ("noise", "max_sigma", "compactness")


@dataclass
class AttributionResult:
    """A map explaining one class of one image, and what it cost."""

    map: np.ndarray  # float32, HxW or HxWx3, at the model's input size
    target: int
    label: str
    probability: float  # the model's probability of `target` on the image
    method: str
    params: dict
    passes: int  # images the method ran through the network (forward, or forward+backward),
    # beyond the one forward pass of the photo that picks the target (see Context)
    seconds: float
    extras: dict = field(default_factory=dict)


def default_params(method: str) -> dict:
    """A method's parameters and their defaults."""
    signature = inspect.signature(_function(method))
    return {name: p.default for name, p in list(signature.parameters.items())[1:]}


@lru_cache(maxsize=8)
def _calls(model, conv_layer, batch_size):
    return ModelCalls(model, conv_layer, batch_size)


@lru_cache(maxsize=4)
def _guided(model):
    return guided_model(model)


class Context:
    """What a method works on: the photo as model input, the target, the model calls.

    Making a context runs the photo through the network once: `logits` are the
    photo's own, and the target defaults to the top-1 class. Methods reuse
    these logits instead of passing the photo through again, and `passes()`
    counts only what runs after this first pass.
    """

    def __init__(self, bundle, image: np.ndarray, target: int | None, batch_size: int):
        self.bundle, self.image, self.batch_size = bundle, image, batch_size
        self.x = bundle.preprocess(image)
        self._passes_at_start: dict[int, int] = {}
        self._used: list[ModelCalls] = []
        self.logits = self.calls.logits(self.x[None])[0]
        self.target = int(np.argmax(self.logits)) if target is None else target
        self.call_args = {"target": self.target}
        self._passes_at_start = {id(calls): calls.passes for calls in self._used}

    @cached_property
    def calls(self) -> ModelCalls:
        return self._counted(_calls(self.bundle.model, self.bundle.gradcam_layer, self.batch_size))

    @cached_property
    def guided_calls(self) -> ModelCalls:
        return self._counted(_calls(_guided(self.bundle.model), None, self.batch_size))

    def _counted(self, calls: ModelCalls) -> ModelCalls:
        # The calls are shared between contexts (compiling them costs seconds): count from here.
        self._passes_at_start[id(calls)] = calls.passes
        self._used.append(calls)
        return calls

    def passes(self) -> int:
        return sum(calls.passes - self._passes_at_start[id(calls)] for calls in self._used)


def attribute(method: str, bundle, image: np.ndarray, target=None, batch_size: int = DEFAULT_BATCH_SIZE,
              **params) -> AttributionResult:
    """Explain `target` (index or class name; default: the top-1 class) for a uint8 RGB image.

    `params` are the method's settings (see `default_params(method)`);
    `batch_size` caps how many images go through the network at once.
    """
    function = _function(method)
    settings = {**default_params(method), **_checked(method, params)}
    _check_number("batch_size", batch_size)
    image = _checked_image(image, bundle.input_size)
    context = Context(bundle, image, None if target is None else class_index(target), int(batch_size))
    started = time.perf_counter()
    attribution, extras = function(context, **settings)
    seconds = time.perf_counter() - started
    return AttributionResult(
        map=np.asarray(attribution, dtype=np.float32), target=context.target, label=bundle.labels[context.target],
        probability=float(softmax(context.logits)[context.target]), method=method, params=settings,
        passes=context.passes(), seconds=seconds, extras=extras,
    )


def _function(method: str):
    if method not in _FUNCTIONS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return _FUNCTIONS[method]


def _checked(method: str, params: dict) -> dict:
    known = default_params(method)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"{method} has no parameter {', '.join(unknown)}; its parameters: {', '.join(known) or 'none'}")
    for name, value in params.items():
        _check_number(name, value)
    params = {name: int(value) if name in _AT_LEAST_ONE else value for name, value in params.items()}
    if params.get("base", "vanilla_gradient") not in ("vanilla_gradient", "guided_backprop"):
        raise ValueError(f"smoothgrad's base must be 'vanilla_gradient' or 'guided_backprop', not {params['base']!r}")
    return params


def _check_number(name: str, value) -> None:
    if name not in _AT_LEAST_ONE + _NOT_NEGATIVE + ("fill",):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if name in _AT_LEAST_ONE and (not float(value).is_integer() or value < 1):
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    if name in _NOT_NEGATIVE and value < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    if name == "fill" and not 0 <= value <= 255:
        raise ValueError(f"fill is a pixel value from 0 to 255, not {value!r}")


def _checked_image(image, size: int) -> np.ndarray:
    image = np.asarray(image)
    if image.shape != (size, size, 3):
        raise ValueError(
            f"the image has shape {image.shape}; this model takes ({size}, {size}, 3) RGB images: "
            f"load it with load_image(source, size={size})"
        )
    if image.dtype != np.uint8:
        raise ValueError(f"the image has dtype {image.dtype}; expected uint8 RGB values 0..255 (use load_image)")
    return image
