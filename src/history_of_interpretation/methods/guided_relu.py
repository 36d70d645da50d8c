"""Guided backpropagation (Springenberg et al., 2014) for TF2 Keras models.

`saliency.core` has no guided backprop (only its TF1 module does), so the
model is cloned with each ReLU/ReLU6 replaced by a layer whose forward pass
is the same but whose backward pass lets gradient through only where both
the layer's input and the incoming gradient are positive.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="history_of_interpretation")
class GuidedReLU(keras.layers.Layer):
    """ReLU (or ReLU6 with max_value=6) whose gradient is guided."""

    def __init__(self, max_value: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.max_value = max_value

    def call(self, inputs):
        """ReLU (or ReLU6) forward; guided gradient backward."""
        max_value = self.max_value

        @tf.custom_gradient
        def guided(x):
            y = (
                tf.nn.relu(x)
                if max_value is None
                else tf.nn.relu6(x)
                if max_value == 6.0
                else tf.clip_by_value(x, 0.0, max_value)
            )

            def backward(upstream):
                # The ordinary ReLU gate (x > 0, and x < max for a capped ReLU) and the
                # "guide": only positive gradient flows back.
                inside = x > 0 if max_value is None else (x > 0) & (x < max_value)
                return tf.nn.relu(upstream) * tf.cast(inside, upstream.dtype)

            return y, backward

        return guided(inputs)

    def get_config(self):
        """The layer's configuration, so that Keras can clone it."""
        return {**super().get_config(), "max_value": self.max_value}


def _relu_max_value(layer) -> tuple[bool, float | None]:
    """(is a plain ReLU or ReLU6 activation layer, its cap)."""
    if isinstance(layer, keras.layers.ReLU):
        if float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
            return False, None
        return True, None if layer.max_value is None else float(layer.max_value)
    if isinstance(layer, keras.layers.Activation):
        name = getattr(layer.activation, "__name__", "")
        if name in ("relu", "relu6"):
            return True, 6.0 if name == "relu6" else None
    return False, None


def guided_model(model: keras.Model) -> keras.Model:
    """A clone of `model` with guided activations and the same weights and logits."""

    def replace_relu(layer):
        is_relu, max_value = _relu_max_value(layer)
        if is_relu:
            return GuidedReLU(max_value=max_value, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=replace_relu)
    clone.set_weights(model.get_weights())
    replaced = sum(isinstance(layer, GuidedReLU) for layer in clone.layers)
    if replaced == 0:
        raise ValueError(
            f"model {model.name!r} has no ReLU or ReLU6 activation layers to guide; guided backprop "
            "needs activations as separate layers (keras.layers.ReLU or Activation('relu'))"
        )
    return clone
