"""Guided backprop's model clone: same forward pass, guided backward pass."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from toy_models import conv_bundle, dense_relu_model, input_gradient, random_image

from history_of_interpretation import load_image
from history_of_interpretation.methods import attribute
from history_of_interpretation.methods.guided_relu import GuidedReLU, guided_model

# One hidden layer, set by hand. x = [1, -2, 3, 0] gives hidden pre-activations
# h = x @ W1 = [1, -2, 3]; output 0 reads them with weights [2, 5, -1].
W1 = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32)
B1 = np.zeros(3, dtype=np.float32)
W2 = np.array([[2, 0.5], [5, 0.5], [-1, 0.5]], dtype=np.float32)
B2 = np.zeros(2, dtype=np.float32)
X = np.array([[1, -2, 3, 0]], dtype=np.float32)


def test_guided_gradient_matches_hand_computation():
    model = dense_relu_model(W1, B1, W2, B2)
    guided = guided_model(model)
    # Plain: upstream [2, 5, -1] gated by h > 0 ([1, 0, 1]) -> [2, 0, -1]; W1 @ that = [2, 0, -1, 1].
    plain = input_gradient(model, X, 0)
    np.testing.assert_allclose(plain, [[2, 0, -1, 1]], atol=1e-6)
    # Guided: also gated by upstream > 0 ([1, 1, 0]) -> [2, 0, 0]; W1 @ that = [2, 0, 0, 2].
    guided_gradient = input_gradient(guided, X, 0)
    np.testing.assert_allclose(guided_gradient, [[2, 0, 0, 2]], atol=1e-6)
    # The negative gradient into the third hidden unit is what guided backprop blocks.
    assert not np.allclose(plain, guided_gradient)
    # Output 1 has only positive weights: nothing to block, guided equals plain.
    np.testing.assert_allclose(input_gradient(guided, X, 1), input_gradient(model, X, 1), atol=1e-6)


def _numpy_guided_gradient(x, layers, output):
    """Guided backprop by hand through Dense -> ReLU -> ... -> Dense."""
    pre_activations, value = [], x
    for w, b in layers[:-1]:
        pre = value @ w + b
        pre_activations.append(pre)
        value = np.maximum(pre, 0)
    upstream = np.broadcast_to(layers[-1][0][:, output], value.shape)
    for (w, _), pre in zip(reversed(layers[:-1]), reversed(pre_activations)):
        upstream = upstream * (pre > 0) * (upstream > 0)
        upstream = upstream @ w.T
    return upstream


def test_guided_gradient_matches_numpy_on_a_deeper_random_network():
    rng = np.random.default_rng(3)
    sizes = [6, 8, 8, 3]
    layers = [
        (rng.normal(size=(a, b)).astype(np.float32), rng.normal(0, 0.3, b).astype(np.float32))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    inputs = keras.Input((sizes[0],))
    x = inputs
    dense_layers = []
    for index, (w, _) in enumerate(layers):
        dense_layers.append(keras.layers.Dense(w.shape[1], name=f"dense{index}"))
        x = dense_layers[-1](x)
        if index < len(layers) - 1:
            x = keras.layers.ReLU(name=f"relu{index}")(x)
    model = keras.Model(inputs, x)
    for layer, weights in zip(dense_layers, layers):
        layer.set_weights(list(weights))
    guided = guided_model(model)
    x_values = rng.normal(size=(5, sizes[0])).astype(np.float32)
    for output in range(sizes[-1]):
        expected = _numpy_guided_gradient(
            x_values.astype(np.float64), [(w.astype(np.float64), b) for w, b in layers], output
        )
        np.testing.assert_allclose(input_gradient(guided, x_values, output), expected, rtol=1e-4, atol=1e-5)
    # Somewhere a negative gradient was blocked, so guided differs from plain.
    assert not np.allclose(input_gradient(guided, x_values, 0), input_gradient(model, x_values, 0), atol=1e-4)


@pytest.mark.parametrize("activation", ["layer", "activation"])
def test_relu6_cap_blocks_gradient_above_six(activation):
    # h = x @ I = [7, 3, -1]: the first unit is capped, the third is off; output weights all positive.
    act = (
        keras.layers.ReLU(max_value=6.0, name="relu6")
        if activation == "layer"
        else keras.layers.Activation("relu6", name="relu6")
    )
    model = dense_relu_model(np.eye(3), np.zeros(3), np.ones((3, 1)), np.zeros(1), activation=act)
    guided = guided_model(model)
    layer = guided.get_layer("relu6")
    assert isinstance(layer, GuidedReLU) and layer.max_value == 6.0
    x = np.array([[7.0, 3.0, -1.0]], dtype=np.float32)
    np.testing.assert_allclose(guided(x).numpy(), [[6.0 + 3.0]], atol=1e-6)
    np.testing.assert_allclose(input_gradient(guided, x, 0), [[0.0, 1.0, 0.0]], atol=1e-7)


def test_guided_model_keeps_the_toy_logits_and_leaves_the_original_alone():
    toy = conv_bundle(size=16, classes=10)
    images = toy.preprocess(np.stack([random_image(16, seed) for seed in range(3)]))
    before = toy.model(images).numpy()
    guided = guided_model(toy.model)
    assert guided is not toy.model
    assert sum(isinstance(layer, GuidedReLU) for layer in guided.layers) == 1
    np.testing.assert_allclose(guided(images).numpy(), before, atol=1e-5)
    assert not any(isinstance(layer, GuidedReLU) for layer in toy.model.layers)
    np.testing.assert_array_equal(toy.model(images).numpy(), before)


def test_guided_model_keeps_the_real_logits(lite0):
    image = lite0.preprocess(load_image("chelsea", lite0.input_size))[None]
    guided = guided_model(lite0.model)
    replaced = [layer.name for layer in guided.layers if isinstance(layer, GuidedReLU)]
    assert "head_activation" in replaced and len(replaced) > 30
    np.testing.assert_allclose(
        guided(image, training=False).numpy(), lite0.model(image, training=False).numpy(), atol=1e-5
    )


def test_guided_backprop_method_uses_the_guided_gradient():
    # Through attribute(), guided backprop's map is the guided clone's input gradient.
    toy = conv_bundle(size=16, classes=1000)
    image = random_image(16, seed=5)
    result = attribute("guided_backprop", toy, image, target=7)
    expected = input_gradient(guided_model(toy.model), toy.preprocess(image)[None], 7)[0]
    np.testing.assert_allclose(result.map, expected, rtol=1e-5, atol=1e-7)
    assert result.passes == 1


@pytest.mark.parametrize("activation", [None, "dense_relu", "leaky"])
def test_model_without_relu_layers_is_refused(activation):
    inputs = keras.Input((4,))
    if activation is None:
        x = keras.layers.Dense(3, activation="tanh")(inputs)
    elif activation == "dense_relu":  # ReLU fused into Dense: nothing separate to replace
        x = keras.layers.Dense(3, activation="relu")(inputs)
    else:  # a leaky ReLU is not a ReLU
        x = keras.layers.ReLU(negative_slope=0.1)(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(x), name="no_relu")
    with pytest.raises(ValueError, match="no ReLU or ReLU6 activation layers"):
        guided_model(model)
