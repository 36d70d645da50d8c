"""One call for every attribution method: `attribute(method, bundle, image, ...)`.

Each method is a function `(context, **params) -> (map, extras)` in a small
module of its own, declared with `@method(...)` (see `spec.py`); `REGISTRY`
names those modules. This module checks the input, picks the class to
explain, times the method and counts its passes through the network.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from ..models import softmax
from ..models.labels import class_index
from .guided_relu import guided_model
from .model_calls import DEFAULT_BATCH_SIZE, ModelCalls, PassCount
from .rules import BATCH_SIZE
from .spec import MethodSpec

# The modules that declare methods, one row each. METHODS lists their methods in
# the order they were invented (by year; within a year, in the order given here).
REGISTRY = (
    "occlusion",
    "gradients",
    "grad_cam",
    "integrated_gradients",
    "cam_family",
    "lime_method",
    "rise",
    "xrai",
    "guided_ig",
)


def _declared(module_name: str) -> list[MethodSpec]:
    module = importlib.import_module(f"{__name__}.{module_name}")
    return [
        value.spec for value in vars(module).values() if hasattr(value, "spec") and value.__module__ == module.__name__
    ]


SPECS: dict[str, MethodSpec] = {
    spec.name: spec for spec in sorted((s for m in REGISTRY for s in _declared(m)), key=lambda s: s.year)
}
METHODS = tuple(SPECS)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded by the first attribution (numpy's, scipy's, any the model brought).

    During a compiled call TensorFlow's threads use every core. numpy's BLAS
    (OpenBLAS) starts threads of its own for a large product and leaves them
    spinning for a while afterwards, taking those cores from the next
    compiled call: RISE's forward calls ran 25% slower after each batch's
    tensordot. So methods run with BLAS on one thread (their products are small).
    """
    return ThreadpoolController()


@dataclass
class AttributionResult:
    """A map explaining one class of one image, and what it cost."""

    map: np.ndarray  # float32, HxW or HxWx3, at the model's input size
    target: int
    label: str
    probability: float  # the model's probability of `target` on the image
    method: str
    display: str  # how its method's maps are drawn (spec.display: one of visualisation.STYLES)
    params: dict
    passes: int  # images the method ran through the network (forward, or forward+backward),
    # beyond the one forward pass of the photo that picks the target (see Context)
    seconds: float
    extras: dict = field(default_factory=dict)
    pass_counts: dict = field(default_factory=dict)  # passes by kind: "forward", "gradient", ...
    counts: dict = field(default_factory=dict)  # by kind: PassCount (images, compiled calls, seconds in them)
    chaotic: bool = False  # its method's maps move with float noise (spec.chaotic): figures compare fingerprints


def method_spec(method: str) -> MethodSpec:
    """The declaration of a method (see spec.py); a clear error for an unknown name."""
    if method not in SPECS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return SPECS[method]


def default_params(method: str) -> dict:
    """A method's parameters and their defaults."""
    return method_spec(method).defaults


@lru_cache(maxsize=4)
def guided_clone(model):
    """The guided-ReLU clone of `model`, made once per model and shared (its compiled calls too)."""
    return guided_model(model)


class Context:
    """What a method works on: the photo as model input, the target, the model calls.

    Making a context runs the photo through the network once: `logits` are the
    photo's own, and the target defaults to the top-1 class. Methods reuse
    these logits instead of passing the photo through again. The context's
    model calls count what runs after that first pass, and only its own: two
    explanations at once on one model (two threads) each get their own counts.
    """

    def __init__(self, bundle, image: np.ndarray, target: int | None, batch_size: int, stop=None):
        self.bundle, self.image, self.batch_size, self.stop = bundle, image, batch_size, stop
        self.x = bundle.preprocess(image)
        self.logits = ModelCalls(bundle.model, batch_size=batch_size).logits(self.x[None])[0]  # not counted
        self.target = int(np.argmax(self.logits)) if target is None else target
        self.call_args = {"target": self.target}
        self._used: list[ModelCalls] = []

    @cached_property
    def calls(self) -> ModelCalls:
        """The model's compiled, batched calls, counted for this context."""
        return self._counted(ModelCalls(self.bundle.model, self.bundle.gradcam_layer, self.batch_size, stop=self.stop))

    @cached_property
    def guided_calls(self) -> ModelCalls:
        """The same calls on the guided-ReLU clone of the model."""
        return self._counted(
            ModelCalls(guided_clone(self.bundle.model), None, self.batch_size, "guided_", stop=self.stop)
        )

    def _counted(self, calls: ModelCalls) -> ModelCalls:
        self._used.append(calls)
        return calls

    def counts(self) -> dict[str, PassCount]:
        """Images, compiled calls and seconds by kind of pass, since this context was made."""
        return {kind: count for calls in self._used for kind, count in calls.counts.items() if count.images}

    def pass_counts(self) -> dict[str, int]:
        """Images through the network since this context was made, by kind of pass."""
        return {kind: count.images for kind, count in self.counts().items()}

    def passes(self) -> int:
        """Images through the network since this context was made, all kinds together."""
        return sum(self.pass_counts().values())


def attribute(
    method: str, bundle, image: np.ndarray, target=None, batch_size: int = DEFAULT_BATCH_SIZE, stop=None, **params
) -> AttributionResult:
    """Explain `target` (index or class name; default: the top-1 class) for a uint8 RGB image.

    `params` are the method's settings (see `default_params(method)`);
    `batch_size` caps how many images go through the network at once;
    `stop`, a threading.Event: once set, the method ends at its next batch
    with `Stopped` (the app's Stop button).
    """
    declared = method_spec(method)
    settings = declared.checked(params)
    batch_size = BATCH_SIZE("batch_size", batch_size)
    image = _checked_image(image, bundle.input_size)
    context = Context(bundle, image, None if target is None else class_index(target), batch_size, stop)
    blas = _blas()
    started = time.perf_counter()
    with blas.limit(limits=1, user_api="blas"):
        attribution, extras = declared.function(context, **settings)
    seconds = time.perf_counter() - started
    return AttributionResult(
        map=np.asarray(attribution, dtype=np.float32),
        target=context.target,
        label=bundle.labels[context.target],
        probability=float(softmax(context.logits)[context.target]),
        method=method,
        display=declared.display,
        chaotic=declared.chaotic,
        params=settings,
        passes=context.passes(),
        seconds=seconds,
        extras=extras,
        pass_counts=context.pass_counts(),
        counts=context.counts(),
    )


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
