"""What every method and metric needs to know about a classifier, beside the Keras model itself.

A `ModelBundle` declares the model's input size and labels, the layer that
Grad-CAM and its family read, how photos become model input and back
(`Preprocessing`), and the model's layer groups from the output down to the
input: the units that the model-randomisation test (Adebayo et al. 2018)
randomises one after another. Nothing downstream knows a layer's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for large logits."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Preprocessing:
    """RGB pixel values (0..255) to model input, and back: `forward` and its exact `inverse`.

    Any pair of functions will do (a user's model may normalise per channel,
    or not be affine at all); `affine` builds the usual per-channel
    `(pixel - mean) / std` kind.
    """

    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    description: str

    @classmethod
    def affine(cls, mean: float | Iterable[float], std: float | Iterable[float]) -> Preprocessing:
        """`(pixel - mean) / std`, with one value for all channels or one per channel."""
        mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        if np.any(std == 0):
            raise ValueError(f"std must not be 0, not {std.tolist()}")
        return cls(
            forward=lambda pixels: (pixels - mean) / std,
            inverse=lambda inputs: inputs * std + mean,
            description=f"(pixel - {mean.tolist()}) / {std.tolist()}",
        )


@dataclass(frozen=True)
class LayerGroup:
    """Layers with weights that randomisation treats as one unit (a block, the stem, the logits)."""

    name: str
    layers: tuple[str, ...]


def groups_by_prefix(model, pattern: str | None = None) -> tuple[LayerGroup, ...]:
    """Groups from layer names: a weighted layer whose name matches `pattern` joins the group named by
    the pattern's first group; any other weighted layer (the logits, say) is a group of its own, as
    every one is without a pattern. Ordered from the output down."""
    expression, groups = re.compile(pattern or "(?!)"), dict[str, list[str]]()
    for layer in model.layers:
        if layer.weights:
            match = expression.match(layer.name)
            groups.setdefault(match.group(1) if match else layer.name, []).append(layer.name)
    return tuple(LayerGroup(name, tuple(layers)) for name, layers in reversed(groups.items()))


def groups_by_boundaries(model, boundaries: Iterable[tuple[str, str]]) -> tuple[LayerGroup, ...]:
    """Groups cut at boundary layers: `boundaries` lists (layer name, group name) from the input up.

    Keras lists a functional model's layers in a topological order, so the
    weighted layers between two boundaries (the later one included) are one
    block, however many branches it has (InceptionV3's `mixed` blocks).
    Weighted layers after the last boundary (the classifier) are groups of
    their own. Ordered from the output down.
    """
    closing = dict(boundaries)
    groups, pending = [], []
    for layer in model.layers:
        if layer.weights:
            pending.append(layer.name)
        if layer.name in closing:
            groups.append(LayerGroup(closing[layer.name], tuple(pending)))
            pending = []
    missing = set(closing) - {layer.name for layer in model.layers}
    if missing:
        raise ValueError(f"the model has no layer {', '.join(sorted(missing))} to close a layer group")
    groups += [LayerGroup(name, (name,)) for name in pending]
    return tuple(reversed([group for group in groups if group.layers]))


@dataclass
class ModelBundle:
    """A classifier that outputs logits, and what attribution methods and metrics need to know about it."""

    name: str
    model: Any  # a keras.Model (keras is imported lazily: drawing a map needs no TensorFlow)
    input_size: int
    labels: tuple[str, ...]
    gradcam_layer: str  # the last convolutional feature map: Grad-CAM and its family read it
    preprocessing: Preprocessing
    layer_groups: tuple[LayerGroup, ...]  # from the output down to the input

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """RGB pixel values (N, H, W, 3) or (H, W, 3), uint8 or float, -> float32 model input."""
        return np.asarray(self.preprocessing.forward(np.asarray(images, dtype=np.float32)), dtype=np.float32)

    def deprocess(self, inputs: np.ndarray) -> np.ndarray:
        """Model input -> RGB pixel values (float32, 0..255 where the input came from a photo)."""
        return np.asarray(self.preprocessing.inverse(np.asarray(inputs, dtype=np.float32)), dtype=np.float32)

    def black(self, like: np.ndarray) -> np.ndarray:
        """A black photo as model input, shaped like the model input `like`."""
        return np.broadcast_to(self.preprocess(np.zeros(3, np.float32)), like.shape).astype(np.float32)

    @property
    def group_names(self) -> list[str]:
        """The layer groups' names, from the output down."""
        return [group.name for group in self.layer_groups]

    def depths(self, count: int) -> list[str]:
        """`count` evenly spaced layer groups from the output (first) to the input (last), both included."""
        names = self.group_names
        positions = np.unique(np.round(np.linspace(0, len(names) - 1, count)).astype(int))
        return [names[i] for i in positions]

    def layer_grid(self) -> tuple[int, int]:
        """The height and width of the Grad-CAM layer (7x7 for EfficientNet-Lite0)."""
        height, width = self.model.get_layer(self.gradcam_layer).output.shape[1:3]
        return int(height), int(width)

    def logits(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Logits for uint8 RGB images of the model's input size, (N, classes)."""
        batch = self.preprocess(np.asarray(images)[None] if np.ndim(images) == 3 else images)
        return np.concatenate(
            [self.model(batch[i : i + batch_size], training=False).numpy() for i in range(0, len(batch), batch_size)]
        )

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for uint8 RGB images, (N, classes)."""
        return softmax(self.logits(images))

    def top_k(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The k most probable classes of one image: (index, name, probability)."""
        probabilities = self.probabilities(image)[0]
        best = np.argsort(probabilities)[::-1][:k]
        return [(int(i), self.labels[i], float(probabilities[i])) for i in best]
