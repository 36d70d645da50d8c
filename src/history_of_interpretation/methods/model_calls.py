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
from functools import cached_property

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


class ModelCalls:
    """Logits, input gradients and layer gradients of one model, batched and compiled.

    `counts` keeps, per kind of pass ("forward", "gradient", "layer_gradient",
    each prefixed by `kind_prefix`, e.g. "guided_" for the guided-ReLU clone),
    how many images went through, in how many compiled calls and seconds:
    methods' costs, their declared pass counts and the benchmark all read it.
    """

    def __init__(
        self, model, conv_layer: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE, kind_prefix: str = ""
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.model = model
        self.conv_layer = conv_layer
        self.batch_size = batch_size
        self.kind_prefix = kind_prefix
        self.counts: dict[str, PassCount] = {}
        self._images = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        self._traced: dict = {}  # (kind, TensorFlow function) -> its compiled call
        self._counting = threading.Lock()  # a method may call from two threads (Guided IG)

    # Each call is traced once, on first use, into a concrete function: calling that
    # skips tf.function's per-call dispatch (a few ms, which a one-pass method feels).

    @cached_property
    def _logits(self):
        return tf.function(lambda images: (self.model(images, training=False),)).get_concrete_function(self._images)

    @cached_property
    def _gradients(self):
        return tf.function(self._input_gradients).get_concrete_function(self._images, _TARGET)

    @cached_property
    def _layer_gradients(self):
        if self.conv_layer is None:
            raise ValueError("these model calls were made without a layer for Grad-CAM")
        layer_output = self.model.get_layer(self.conv_layer).output
        split_model = keras.Model(self.model.inputs, [layer_output, self.model.outputs[0]])

        def conv_gradients(images, target):
            with tf.GradientTape() as tape:
                layer_values, logits = split_model(images, training=False)
                score = tf.reduce_sum(logits[:, target])
            return layer_values, tape.gradient(score, layer_values)

        return tf.function(conv_gradients).get_concrete_function(self._images, _TARGET)

    def _input_gradients(self, images, target):
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self.model(images, training=False)
            score = tf.reduce_sum(logits[:, target])
        return tape.gradient(score, images), logits

    @property
    def passes(self) -> int:
        """Images through the network so far, all kinds together."""
        return sum(count.images for count in self.counts.values())

    def _batched(self, kind, function, images, *args):
        images = np.asarray(images, dtype=np.float32)
        outputs = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            started = time.perf_counter()
            outputs.append([t.numpy() for t in function(tf.constant(batch), *args)])
            self._count(kind, len(batch), time.perf_counter() - started)
        return [np.concatenate(parts) for parts in zip(*outputs)]

    def _count(self, kind: str, images: int, seconds: float):
        with self._counting:
            count = self.counts.setdefault(self.kind_prefix + kind, PassCount())
            count.images += images
            count.calls += 1
            count.seconds += seconds

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Forward passes only: (N, classes) logits."""
        return self._batched("forward", self._logits, images)[0]

    def probabilities(self, images: np.ndarray, target: int) -> np.ndarray:
        """Softmax probability of `target` for each image, (N,)."""
        logits = self.logits(images)
        return softmax(logits)[:, target]

    def input_gradients(self, images: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        """d logit[target] / d input for each image, and the logits."""
        return tuple(self._batched("gradient", self._gradients, images, tf.constant(target, tf.int32)))

    def layer_gradients(self, images: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        """The conv layer's values and d logit[target] / d values."""
        return tuple(self._batched("layer_gradient", self._layer_gradients, images, tf.constant(target, tf.int32)))

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
            gradients, _ = self._input_gradients(points, target)
            return tf.tensordot(weights, gradients * directions, axes=1)

        shared, per_point = _inputs(shared), _inputs((*per_point, weights))
        specs = (*_fixed(shared), *(tf.TensorSpec([None, *a.shape[1:]], a.dtype) for a in per_point), _TARGET)
        function = self._compiled(("integral", path), integral, specs)
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
        function = self._compiled(("perturbed", perturb), logits, specs)
        return np.concatenate(self._over_batches("forward", function, shared, per_image))

    def _compiled(self, key, body, specs):
        # Traced once per (kind, TensorFlow function) into a concrete function, as the calls above.
        if key not in self._traced:
            self._traced[key] = tf.function(body).get_concrete_function(*specs)
        return self._traced[key]

    def _over_batches(self, kind, function, shared, per_item, *extra) -> list[np.ndarray]:
        """`function(*shared, *batch of each per_item array, *extra)` per batch, counted; the outputs as numpy."""
        shared = [tf.constant(a) for a in shared]
        outputs = []
        for start in range(0, len(per_item[0]), self.batch_size):
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
