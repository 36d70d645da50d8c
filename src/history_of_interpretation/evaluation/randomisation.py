"""Model randomisation tests (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

Randomise the model's weights, from the logits down to the stem, and ask
whether each method's map changes. A map that survives randomisation
describes the photo, not the model; an edge detector (`baselines.edge_map`),
which never looks at the model, is the extreme case. The metrics built on it
are in `randomisation_metrics.py`.

`Randomiser` keeps ONE clone of the model and re-assigns its variables for
each randomisation step, so the model calls compiled for the clone (which
capture its variables) are traced once and reused at every step.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# A tag for the weights' random stream: default_rng([0, 0]) would replay default_rng(0),
# the very stream a model's own weights may have been drawn from.
_STREAM = 2018


def cascade(groups: list[str], depths: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Cascading steps: at depth g, every group from the top down to g is random."""
    steps = []
    for depth in depths:
        if depth not in groups:
            raise ValueError(f"unknown layer group {depth!r}; the model's groups are {', '.join(groups)}")
        steps.append((depth, tuple(groups[: groups.index(depth) + 1])))
    return steps


def independent(groups: list[str], depths: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """One group at a time: only g is random, every other layer keeps its trained weights."""
    cascade(groups, depths)  # the same check of the names
    return [(depth, (depth,)) for depth in depths]


class Randomiser:
    """A copy of a bundle's model whose weights can be randomised group by group.

    Weights are re-drawn from a normal distribution with each tensor's own
    trained mean and standard deviation (so activations keep their scale);
    batch-norm moving statistics (not trainable) keep their trained values.
    The draw for each tensor depends only on `seed` and the tensor's position,
    so a group's random weights are the same in a cascade and on their own.
    The trained model is never modified.
    """

    def __init__(self, bundle, seed: int = 0):
        import keras

        self.trained = bundle
        self.seed = seed
        self.clone = keras.models.clone_model(bundle.model)
        self.trained_weights = bundle.model.get_weights()
        self.clone.set_weights(self.trained_weights)
        self.bundle = dataclasses.replace(bundle, model=self.clone)
        self.groups = [(group.name, group.layers) for group in bundle.layer_groups]
        self.group_names = bundle.group_names
        self._positions = self._weight_positions()
        self._guided = None
        self.randomised: tuple[str, ...] = ()

    def _weight_positions(self) -> dict[str, list[tuple[int, bool]]]:
        # get_weights() follows model.weights: note each tensor's index there, its group, its trainability.
        index_of = {id(weight): index for index, weight in enumerate(self.trained.model.weights)}
        positions: dict[str, list[tuple[int, bool]]] = {}
        for group, layers in self.groups:
            for layer in map(self.trained.model.get_layer, layers):
                trainable = {id(weight) for weight in layer.trainable_weights}
                positions[group] = positions.get(group, []) + [
                    (index_of[id(weight)], id(weight) in trainable) for weight in layer.weights
                ]
        return positions

    def _random_tensor(self, index: int) -> np.ndarray:
        trained = self.trained_weights[index]
        rng = np.random.default_rng([_STREAM, self.seed, index])
        return rng.normal(float(trained.mean()), float(trained.std()) or 1.0, trained.shape).astype(trained.dtype)

    def randomise(self, groups: tuple[str, ...]) -> None:
        """Give the clone random weights in `groups` and trained weights everywhere else."""
        unknown = sorted(set(groups) - set(self.group_names))
        if unknown:
            raise ValueError(
                f"unknown layer group {', '.join(unknown)}; the model's groups are {', '.join(self.group_names)}"
            )
        weights = list(self.trained_weights)
        for group in groups:
            for index, trainable in self._positions.get(group, []):
                if trainable:
                    weights[index] = self._random_tensor(index)
        self.clone.set_weights(weights)
        guided = self._guided_clone()
        if guided is not None:
            guided.set_weights(weights)  # the guided clone's layers mirror the clone's, weight for weight
        self.randomised = tuple(groups)

    def _guided_clone(self):
        # attribute() makes the guided-ReLU clone of a model once and caches it (methods.guided_clone);
        # it copies weights when made, so it must follow each re-assignment here.
        if self._guided is None:
            from ..methods import guided_clone

            try:
                self._guided = guided_clone(self.clone)
            except ValueError:  # no ReLU layers: no guided methods on this model
                self._guided = False
        return self._guided or None
