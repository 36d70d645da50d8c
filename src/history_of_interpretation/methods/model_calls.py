"""Compiled, batched calls into a Keras classifier, counted in passes.

Every method goes through one of these calls, so its cost in passes through
the network is counted in one place. Each call is a `tf.function` with a
fixed signature (any batch size, no retracing) and splits its input into
batches of at most `batch_size` images.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache

import keras
import numpy as np
import saliency.core as saliency
import tensorflow as tf

from ..models import softmax

DEFAULT_BATCH_SIZE = 32
_TARGET = tf.TensorSpec([], tf.int32)


@dataclass
class PassCount:
    """Images sent through the network by one kind of call, in how many compiled calls, in how many seconds."""

    images: int = 0
    calls: int = 0
    seconds: float = 0.0  # inside the compiled calls, with their numpy conversions (the benchmark's share)


class Stopped(Exception):
    """A method's model calls were stopped by their caller (`attribute(..., stop=event)`)."""


class CompiledCalls:
    """The compiled calls of one model (and Grad-CAM layer), shared by every `ModelCalls` on it.

    Tracing a call costs seconds, so each is traced once per model, on first
    use, into a concrete function (calling that skips tf.function's per-call
    dispatch, a few ms that a one-pass method feels). Counting is not done
    here but in each `ModelCalls`, so that explanations running at once on
    one model (the app's visitors, say) each count their own passes.
    """

    def __init__(self, model, conv_layer: str | None = None):
        self.model = model
        self.conv_layer = conv_layer
        self.images = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        self._traced: dict = {}  # (kind, TensorFlow function) -> its compiled call
        self._tracing = threading.Lock()  # two threads may ask for the same call first

    @cached_property
    def logits(self):
        """images -> (logits,)."""
        return self.traced("logits", lambda images: (self.model(images, training=False),), (self.images,))

    @cached_property
    def gradients(self):
        """images, target -> (d logit[target] / d images, logits)."""
        return self.traced("gradients", self.input_gradients, (self.images, _TARGET))

    @cached_property
    def layer_gradients(self):
        """images, target -> (the conv layer's values, d logit[target] / d values)."""
        if self.conv_layer is None:
            raise ValueError("these model calls were made without a layer for Grad-CAM")
        layer_output = self.model.get_layer(self.conv_layer).output
        split_model = keras.Model(self.model.inputs, [layer_output, self.model.outputs[0]])

        def conv_gradients(images, target):
            with tf.GradientTape() as tape:
                layer_values, logits = split_model(images, training=False)
                score = tf.reduce_sum(logits[:, target])
            return layer_values, tape.gradient(score, layer_values)

        return self.traced("layer_gradients", conv_gradients, (self.images, _TARGET))

    def input_gradients(self, images, target):
        """TensorFlow ops: d logit[target] / d images and the logits (traced into the calls above)."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self.model(images, training=False)
            score = tf.reduce_sum(logits[:, target])
        return tape.gradient(score, images), logits

    def traced(self, key, body, specs):
        """`body` traced once per key into a concrete function for these input specs."""
        with self._tracing:
            if key not in self._traced:
                self._traced[key] = tf.function(body).get_concrete_function(*specs)
            return self._traced[key]


@lru_cache(maxsize=16)
def compiled_calls(model, conv_layer: str | None = None) -> CompiledCalls:
    """The shared compiled calls of a model (kept for the 16 models used last)."""
    return CompiledCalls(model, conv_layer)


class ModelCalls:
    """Logits, input gradients and layer gradients of one model, batched, compiled and counted.

    `counts` keeps, per kind of pass ("forward", "gradient", "layer_gradient",
    each prefixed by `kind_prefix`, e.g. "guided_" for the guided-ReLU clone),
    how many images went through, in how many compiled calls and seconds:
    methods' costs, their declared pass counts and the benchmark all read it.
    Each ModelCalls counts only its own calls (every explanation makes its
    own); the compiled functions behind them are shared (`compiled_calls`).
    """

    def __init__(
        self,
        model,
        conv_layer: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        kind_prefix: str = "",
        stop: threading.Event | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.compiled = compiled_calls(model, conv_layer)
        self.model = model
        self.batch_size = batch_size
        self.kind_prefix = kind_prefix
        self.stop = stop  # once set, the next batch raises Stopped: how a caller ends a long method
        self.counts: dict[str, PassCount] = {}
        self._counting = threading.Lock()  # a method may call from two threads (Guided IG, XRAI)

    @property
    def passes(self) -> int:
        """Images through the network so far, all kinds together."""
        return sum(count.images for count in self.counts.values())

    def _batched(self, kind, function, images, *args):
        images = np.asarray(images, dtype=np.float32)
        outputs = []
        for start in range(0, len(images), self.batch_size):
            self._check_stop()
            batch = images[start : start + self.batch_size]
            started = time.perf_counter()
            outputs.append([t.numpy() for t in function(tf.constant(batch), *args)])
            self._count(kind, len(batch), time.perf_counter() - started)
        return [np.concatenate(parts) for parts in zip(*outputs)]

    def _check_stop(self):
        if self.stop is not None and self.stop.is_set():
            raise Stopped("the explanation was stopped")

    def _count(self, kind: str, images: int, seconds: float):
        with self._counting:
            count = self.counts.setdefault(self.kind_prefix + kind, PassCount())
            count.images += images
            count.calls += 1
            count.seconds += seconds

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Forward passes only: (N, classes) logits."""
        return self._batched("forward", self.compiled.logits, images)[0]

    def probabilities(self, images: np.ndarray, target: int) -> np.ndarray:
        """Softmax probability of `target` for each image, (N,)."""
        logits = self.logits(images)
        return softmax(logits)[:, target]

    def input_gradients(self, images: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        """d logit[target] / d input for each image, and the logits."""
        return tuple(self._batched("gradient", self.compiled.gradients, images, tf.constant(target, tf.int32)))

    def layer_gradients(self, images: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        """The conv layer's values and d logit[target] / d values."""
        calls = self.compiled.layer_gradients
        return tuple(self._batched("layer_gradient", calls, images, tf.constant(target, tf.int32)))

    def path_integral(self, path, shared, per_point, weights: np.ndarray, target: int) -> np.ndarray:
        """Sum over a path's points of weight * d logit[target] / d input at the point * the path's direction there.

        `path(*shared, *per_point)` is TensorFlow code returning the points
        (N, H, W, C) and the directions (N, H, W, C); `per_point` arrays have
        one row per point, `shared` ones are the same for all. The path is
        traced into the compiled gradient call, so the points never leave
        TensorFlow: no copy out and back per batch, no numpy product after.
        Counted as gradient passes, one per point.
        """

        def integral(*arguments):
            *path_arguments, weights, target = arguments
            points, directions = path(*path_arguments)
            gradients, _ = self.compiled.input_gradients(points, target)
            return tf.tensordot(weights, gradients * directions, axes=1)

        shared, per_point = _inputs(shared), _inputs((*per_point, weights))
        specs = (*_fixed(shared), *(tf.TensorSpec([None, *a.shape[1:]], a.dtype) for a in per_point), _TARGET)
        function = self.compiled.traced(("integral", path), integral, specs)
        parts = self._over_batches("gradient", function, shared, per_point, tf.constant(target, tf.int32))
        return sum(parts, np.zeros(parts[0].shape, dtype=np.float64))

    def perturbed_logits(self, perturb, shared, per_image) -> np.ndarray:
        """Logits (N, classes) of the images that `perturb(*shared, *per_image)` builds inside the compiled call.

        For methods that send many variants of one photo through the network
        (LIME): each batch sends into TensorFlow only what varies per image
        (a row of on/off switches, say), not a batch of photos built in numpy
        and copied in. `perturb` is TensorFlow code returning the images
        (N, H, W, C) in model input space; `per_image` arrays have one row per
        image, and their other sizes may change from call to call (no
        retracing); `shared` ones are the same for all. Integer arrays go in
        as int32 (indices), the others as float32. Counted as forward passes.
        """

        def logits(*arguments):
            return self.model(perturb(*arguments), training=False)

        shared, per_image = _inputs(shared), _inputs(per_image)
        specs = (*_fixed(shared), *(tf.TensorSpec([None] * a.ndim, a.dtype) for a in per_image))
        function = self.compiled.traced(("perturbed", perturb), logits, specs)
        return np.concatenate(self._over_batches("forward", function, shared, per_image))

    def _over_batches(self, kind, function, shared, per_item, *extra) -> list[np.ndarray]:
        """`function(*shared, *batch of each per_item array, *extra)` per batch, counted; the outputs as numpy."""
        shared = [tf.constant(a) for a in shared]
        outputs = []
        for start in range(0, len(per_item[0]), self.batch_size):
            self._check_stop()
            started = time.perf_counter()
            batch = [tf.constant(a[start : start + self.batch_size]) for a in per_item]
            outputs.append(function(*shared, *batch, *extra).numpy())
            self._count(kind, len(batch[0]), time.perf_counter() - started)
        return outputs

    def call_model_function(self, images, call_model_args=None, expected_keys=None):
        """PAIR saliency's model-call contract, on the compiled batched calls."""
        target = call_model_args["target"]
        output = {}
        if saliency.base.INPUT_OUTPUT_GRADIENTS in expected_keys:
            output[saliency.base.INPUT_OUTPUT_GRADIENTS] = self.input_gradients(images, target)[0]
        if saliency.base.CONVOLUTION_LAYER_VALUES in expected_keys:
            values, gradients = self.layer_gradients(images, target)
            output[saliency.base.CONVOLUTION_LAYER_VALUES] = values
            output[saliency.base.CONVOLUTION_OUTPUT_GRADIENTS] = gradients
        return output


def _inputs(arrays) -> list[np.ndarray]:
    """Arrays as a compiled call takes them: integers as int32 (indices), everything else as float32."""
    arrays = [np.asarray(a) for a in arrays]
    return [a.astype(np.int32 if np.issubdtype(a.dtype, np.integer) else np.float32, copy=False) for a in arrays]


def _fixed(arrays) -> list[tf.TensorSpec]:
    """Specs of arrays whose shapes the trace may rely on (the photo's, say)."""
    return [tf.TensorSpec(a.shape, a.dtype) for a in arrays]
