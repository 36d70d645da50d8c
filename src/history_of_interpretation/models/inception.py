"""InceptionV3 (Szegedy et al. 2016), the article's model, from `keras.applications`.

Its ImageNet weights come from the internet once (Keras caches them); offline,
`load_inception` says which file to place where. `inception_bundle` wraps any
InceptionV3 Keras model, so that the tests run the evaluation on its
architecture with random weights (`weights=None` builds offline).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from .bundle import ModelBundle, Preprocessing, groups_by_boundaries
from .errors import ModelUnavailableError
from .labels import imagenet_labels

INCEPTION_PREPROCESSING = Preprocessing.affine(127.5, 127.5)  # keras.applications.inception_v3: x / 127.5 - 1
INCEPTION_BLOCKS = 11  # mixed0 ... mixed10

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS


def _internet_reachable(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_inception(checkpoint: str | Path | None = None) -> ModelBundle:
    """InceptionV3 with its ImageNet weights (downloaded once, or `checkpoint`); a clear error offline."""
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
    return inception_bundle(model)


def inception_bundle(model) -> ModelBundle:
    """A bundle around a `keras.applications.InceptionV3` model (any weights, logits out).

    Its layer groups: the stem (every weighted layer up to the second max
    pooling, the input of the first block), the blocks mixed0 ... mixed10 and
    the classifier ("predictions"). Grad-CAM reads mixed10 (8x8x2048).
    """
    import keras

    pools = [layer.name for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    blocks = [(f"mixed{index}", f"mixed{index}") for index in range(INCEPTION_BLOCKS)]
    return ModelBundle(
        name="inception_v3",
        model=model,
        input_size=299,
        labels=imagenet_labels(),
        gradcam_layer="mixed10",
        preprocessing=INCEPTION_PREPROCESSING,
        layer_groups=groups_by_boundaries(model, [(pools[1], "stem"), *blocks]),
    )
