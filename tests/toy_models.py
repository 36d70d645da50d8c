"""Tiny Keras models with known answers, wrapped as ModelBundles for attribute().

Every builder is cheap (no training, a few layers) and deterministic: weights
are either set by hand or drawn from a seeded generator.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from history_of_interpretation.methods import SPECS, AttributionResult  # noqa: E402
from history_of_interpretation.models import ModelBundle, Preprocessing  # noqa: E402
from history_of_interpretation.models.bundle import groups_by_prefix  # noqa: E402
from history_of_interpretation.models.labels import imagenet_labels  # noqa: E402

# Toy preprocessing: uint8 0..255 -> 0..1, so black (0) stays 0.
SCALE_255 = Preprocessing.affine(0.0, 255.0)


def toy_labels(classes: int) -> tuple[str, ...]:
    """ImageNet names when there are 1000 classes (targets by name work), else placeholders."""
    return imagenet_labels() if classes == 1000 else tuple(f"toy class {i}" for i in range(classes))


def bundle(model, size: int, gradcam_layer: str, classes: int, name: str = "toy") -> ModelBundle:
    return ModelBundle(
        name=name,
        model=model,
        input_size=size,
        labels=toy_labels(classes),
        gradcam_layer=gradcam_layer,
        preprocessing=SCALE_255,
        layer_groups=groups_by_prefix(model),
    )


def random_image(size: int, seed: int = 0, height: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height or size, size, 3), dtype=np.uint8)


def conv_bundle(size: int = 16, classes: int = 1000, filters: int = 4, seed: int = 0, strides: int = 1) -> ModelBundle:
    """image -> Conv2D -> ReLU ('conv_act', the Grad-CAM layer) -> global average -> Dense logits.

    With `strides` > 1 the Grad-CAM layer is coarser than the image (size / strides), so CAM
    methods must upsample it, as on a real network.
    """
    rng = np.random.default_rng(seed)
    inputs = keras.Input((size, size, 3), name="image")
    conv = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", name="conv")
    x = keras.layers.ReLU(name="conv_act")(conv(inputs))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    dense = keras.layers.Dense(classes, name="logits")
    model = keras.Model(inputs, dense(x), name="toy_conv")
    conv.set_weights(
        [rng.normal(0, 0.5, (3, 3, 3, filters)).astype("float32"), rng.normal(0, 0.1, filters).astype("float32")]
    )
    dense.set_weights(
        [rng.normal(0, 1.0, (filters, classes)).astype("float32"), rng.normal(0, 0.1, classes).astype("float32")]
    )
    return bundle(model, size, "conv_act", classes, name="toy_conv")


def conv_bundle_on_ray(ready_folder: str, **options) -> ModelBundle:
    """conv_bundle, built in a Ray worker that then leaves a file named after its node in `ready_folder`.

    The node-kill test waits for its victim's file: from then on the driver keeps jobs in flight there.
    """
    import ray

    built = conv_bundle(**options)
    (Path(ready_folder) / ray.get_runtime_context().get_node_id()).touch()
    return built


def function_bundle(size: int, logit0, classes: int = 2, name: str = "toy_function") -> ModelBundle:
    """A model whose class-0 logit is logit0(x) (x: (N, H, W, 3) in 0..1, keras ops) and all others 0."""

    def logits(x):
        first = logit0(x)[:, None]
        return keras.ops.concatenate([first] + [keras.ops.zeros_like(first)] * (classes - 1), axis=1)

    inputs = keras.Input((size, size, 3), name="image")
    features = keras.layers.Lambda(lambda x: x, name="features")(inputs)
    outputs = keras.layers.Lambda(logits, name="logits")(features)
    return bundle(keras.Model(inputs, outputs, name=name), size, "features", classes, name=name)


def polynomial_bundle(size: int, terms: dict[int, np.ndarray], classes: int = 2) -> ModelBundle:
    """logit0 = sum over (power p, coefficients c (H, W, 3)) of sum(c * x**p)."""
    constants = {power: tf.constant(np.asarray(c, dtype=np.float32)[None]) for power, c in terms.items()}

    def logit0(x):
        return sum(keras.ops.sum(c * x**power, axis=(1, 2, 3)) for power, c in constants.items())

    return function_bundle(size, logit0, classes, name="toy_polynomial")


def region_bundle(size: int = 16, k: float = 8.0, classes: int = 2) -> ModelBundle:
    """logit0 = k * mean of the top-left quadrant's pixels: nothing else can matter."""
    half = size // 2

    def logit0(x):
        return k * keras.ops.mean(x[:, :half, :half, :], axis=(1, 2, 3))

    return function_bundle(size, logit0, classes, name="toy_region")


def dense_relu_model(w1, b1, w2, b2, activation=None, name: str = "toy_mlp") -> keras.Model:
    """x -> Dense(w1, b1) -> activation layer (default ReLU()) -> Dense(w2, b2)."""
    w1, b1, w2, b2 = (np.asarray(a, dtype=np.float32) for a in (w1, b1, w2, b2))
    inputs = keras.Input((w1.shape[0],), name="x")
    first = keras.layers.Dense(w1.shape[1], name="hidden")
    second = keras.layers.Dense(w2.shape[1], name="out")
    act = activation if activation is not None else keras.layers.ReLU(name="relu")
    model = keras.Model(inputs, second(act(first(inputs))), name=name)
    first.set_weights([w1, b1])
    second.set_weights([w2, b2])
    return model


def input_gradient(model, x: np.ndarray, output: int) -> np.ndarray:
    """d model(x)[:, output] / dx for a batch x, with a plain GradientTape."""
    x = tf.constant(np.asarray(x, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(model(x, training=False)[:, output])
    return tape.gradient(score, x).numpy()


# ImageNet classes that the toy model gives to an image whose mean colour is nearest each of these.
COLOURS = {
    "tabby": (230, 30, 30),
    "cheetah": (30, 230, 30),
    "lion": (30, 30, 230),
    "espresso": (230, 230, 30),
    "tripod": (230, 30, 230),
    "moped": (30, 230, 230),
}
SHARPNESS = 30.0  # logit = -SHARPNESS * squared distance to the colour (0..1 per channel), up to a shared term


def colour_bundle(size: int):
    """logits = 2k p.m - k|p|^2 for each colour p and mean colour m: softmax over -k|m - p|^2."""
    labels = imagenet_labels()
    inputs = keras.Input((size, size, 3), name="image")
    mean = keras.layers.GlobalAveragePooling2D(name="mean_colour")(inputs)
    dense = keras.layers.Dense(len(labels), name="logits")
    model = keras.Model(inputs, dense(mean), name="toy_colour")
    weights, biases = np.zeros((3, len(labels)), np.float32), np.full(len(labels), -1e3, np.float32)
    for name, rgb in COLOURS.items():
        prototype = np.asarray(rgb, np.float32) / 255
        weights[:, labels.index(name)] = 2 * SHARPNESS * prototype
        biases[labels.index(name)] = -SHARPNESS * prototype @ prototype
    dense.set_weights([weights, biases])
    return bundle(model, size, "mean_colour", len(labels), name="toy_colour")


def solid(rgb, seed: int, shape=(80, 100)) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(-12, 13, (*shape, 3))
    return np.clip(np.asarray(rgb) + noise, 0, 255).astype(np.uint8)


def toy_result(attribution, method: str = "vanilla_gradient", passes: int = 1, seconds: float = 0.0):
    """An AttributionResult for a given map, as `method` would report it (class 281, tabby, at 50%)."""
    return AttributionResult(
        map=np.asarray(attribution, dtype=np.float32),
        target=281,
        label="tabby",
        probability=0.5,
        method=method,
        display=SPECS[method].display,
        params={},
        passes=passes,
        seconds=seconds,
    )
