"""The legacy PyTorch reader (checkpoint.py) and the EfficientNet-Lite port.

Hand-made checkpoints are written opcode by opcode, so these tests need
neither torch nor any fake torch module.
"""

from __future__ import annotations

import os
import pickle
import shutil
import struct

import numpy as np
import pytest

from history_of_interpretation import load_model
from history_of_interpretation.models import efficientnet_lite
from history_of_interpretation.models.checkpoint import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    CheckpointError,
    expected_hash_prefix,
    read_state_dict,
    sha256_of,
)

LITE_NAMES = ("efficientnet_lite0", "efficientnet_lite2")


def packaged_checkpoint(name: str):
    return efficientnet_lite.packaged_checkpoint(efficientnet_lite.LITE_VARIANTS[name], name)


SYS_INFO = {
    "protocol_version": PROTOCOL_VERSION,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}
STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.float16): "HalfStorage",
}


# --- writing legacy checkpoints by hand ---------------------------------------


def _value(obj) -> bytes:
    """Opcodes that push one plain value (no PROTO header, no STOP)."""
    return pickle.dumps(obj, protocol=2)[2:-1]


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def _pickle_state_dict(tensors: dict) -> bytes:
    """tensors: name -> (storage key, storage dtype, storage numel, offset, shape, stride)."""
    out = b"\x80\x02" + _global("collections", "OrderedDict") + b")R"
    for name, (key, dtype, numel, offset, shape, stride) in tensors.items():
        persistent_id = (
            b"("
            + _value("storage")
            + _global("torch", STORAGE_NAMES[np.dtype(dtype)])
            + _value(key)
            + _value("cpu")
            + _value(numel)
            + b"Nt"
        )
        rebuild_args = (
            b"(" + persistent_id + b"Q" + _value(offset) + _value(tuple(shape)) + _value(tuple(stride)) + b"\x89}t"
        )
        out += _value(name) + _global("torch._utils", "_rebuild_tensor_v2") + rebuild_args + b"Rs"
    return out + b"."


def legacy_checkpoint(
    tensors: dict,
    storages: dict[str, np.ndarray],
    *,
    state_pickle: bytes | None = None,
    header: tuple | None = None,
    keys_pickle: bytes | None = None,
) -> bytes:
    """Bytes of a legacy PyTorch file; any of its pickles can be replaced."""
    magic, protocol, sys_info = header or (MAGIC_NUMBER, PROTOCOL_VERSION, SYS_INFO)
    parts = [
        part if isinstance(part, bytes) else pickle.dumps(part, protocol=2) for part in (magic, protocol, sys_info)
    ]
    parts.append(state_pickle if state_pickle is not None else _pickle_state_dict(tensors))
    parts.append(keys_pickle if keys_pickle is not None else pickle.dumps(list(storages), protocol=2))
    for array in storages.values():
        flat = np.ascontiguousarray(array).reshape(-1)
        parts.append(struct.pack("<q", flat.size) + flat.astype(flat.dtype.newbyteorder("<")).tobytes())
    return b"".join(parts)


def _small_checkpoint() -> tuple[dict, dict, dict]:
    """Tensors that share storages, start at offsets and have non-contiguous strides."""
    floats = np.arange(12, dtype=np.float32) * 0.5 - 2.0
    longs = np.array([7, -3, 42, 2**40, 0, 1], dtype=np.int64)
    halves = np.array([0.25, -1.5, 3.0], dtype=np.float16)
    storages = {"100": floats, "200": longs, "300": halves}
    tensors = {
        "block.weight": ("100", np.float32, 12, 0, (3, 4), (4, 1)),
        "block.weight_t": ("100", np.float32, 12, 0, (4, 3), (1, 4)),  # a transposed view
        "block.tail": ("100", np.float32, 12, 8, (2, 2), (2, 1)),  # starts at an offset
        "counts": ("200", np.int64, 6, 2, (4,), (1,)),
        "half": ("300", np.float16, 3, 0, (3,), (1,)),
        "scalar": ("200", np.int64, 6, 1, (), ()),
    }
    expected = {
        "block.weight": floats.reshape(3, 4),
        "block.weight_t": floats.reshape(3, 4).T,
        "block.tail": floats[8:12].reshape(2, 2),
        "counts": longs[2:6],
        "half": halves,
        "scalar": np.array(longs[1]),
    }
    return tensors, storages, expected


# --- reading ------------------------------------------------------------------


def test_hand_made_checkpoint_reads_exactly(tmp_path):
    tensors, storages, expected = _small_checkpoint()
    path = tmp_path / "small.pth"
    path.write_bytes(legacy_checkpoint(tensors, storages))
    state = read_state_dict(path)
    assert list(state) == list(tensors)  # order kept
    for name, array in expected.items():
        assert state[name].dtype == array.dtype, name
        assert state[name].shape == array.shape, name
        np.testing.assert_array_equal(state[name], array, err_msg=name)
    state["block.weight"][0, 0] = 99.0  # each tensor is its own writable copy
    assert state["block.weight_t"][0, 0] == expected["block.weight_t"][0, 0]


def test_real_checkpoint_reads_with_expected_layout(lite0_state):
    assert len(lite0_state) > 200
    assert lite0_state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert lite0_state["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert lite0_state["_fc.weight"].shape == (1000, 1280)
    assert lite0_state["_fc.bias"].shape == (1000,)
    assert lite0_state["_blocks.1._depthwise_conv.weight"].shape == (96, 1, 3, 3)
    weights = [v for k, v in lite0_state.items() if not k.endswith("num_batches_tracked")]
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in weights)
    assert np.all(lite0_state["_bn1.running_var"] > 0)
    assert 4.6e6 < sum(v.size for v in weights) < 4.8e6  # about 4.69 M parameters


@pytest.mark.parametrize(
    "name, prefix",
    [
        ("efficientnet-lite0-57934424.pth", "57934424"),
        ("/some/dir/model-deadbeef.pth", "deadbeef"),
        ("lite0-20240101.pth", "20240101"),  # 8 digits look like a hash: pass hash_prefix="" to skip
        ("model-deadbeefcafe.pth", None),  # not PyTorch's 8-digit convention: no check
        ("model.pth", None),
        ("lite0-truncated.pth", None),
        ("model-1234567.pth", None),  # under 8 digits: not a hash
    ],
)
def test_expected_hash_prefix(name, prefix):
    assert expected_hash_prefix(name) == prefix


@pytest.mark.parametrize("name", LITE_NAMES)
def test_packaged_checkpoints_match_their_published_hash(name):
    path = packaged_checkpoint(name)
    assert sha256_of(path).startswith(expected_hash_prefix(path))


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nowhere-57934424.pth")


def test_wrong_hash_in_file_name_is_refused(tmp_path):
    path = tmp_path / "x-deadbeef.pth"
    tensors, storages, _ = _small_checkpoint()
    path.write_bytes(legacy_checkpoint(tensors, storages))  # readable, but not the named file
    with pytest.raises(CheckpointError, match="sha256") as error:
        read_state_dict(path)
    assert "deadbeef" in str(error.value)


def test_wrong_hash_argument_is_refused(tmp_path, lite0_checkpoint):
    copy = tmp_path / "lite0.pth"
    shutil.copyfile(lite0_checkpoint, copy)
    assert read_state_dict(copy, hash_prefix=sha256_of(copy)[:8])  # the right one passes
    with pytest.raises(CheckpointError, match="sha256"):
        read_state_dict(copy, hash_prefix="00000000")


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.001, 0.0])
def test_truncated_checkpoint_is_refused(tmp_path, lite0_checkpoint, fraction):
    data = lite0_checkpoint.read_bytes()
    path = tmp_path / "lite0-truncated.pth"  # no hash in the name: the parser has to notice
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match="truncated"):
        read_state_dict(path)


def test_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights\n" * 100)
    with pytest.raises(CheckpointError):
        read_state_dict(path)


def test_wrong_magic_number_is_refused(tmp_path):
    tensors, storages, _ = _small_checkpoint()
    path = tmp_path / "other.pth"
    path.write_bytes(legacy_checkpoint(tensors, storages, header=(12345, PROTOCOL_VERSION, SYS_INFO)))
    with pytest.raises(CheckpointError, match="magic number"):
        read_state_dict(path)


def test_big_endian_checkpoint_is_refused(tmp_path):
    tensors, storages, _ = _small_checkpoint()
    path = tmp_path / "big.pth"
    sys_info = dict(SYS_INFO, little_endian=False)
    path.write_bytes(legacy_checkpoint(tensors, storages, header=(MAGIC_NUMBER, PROTOCOL_VERSION, sys_info)))
    with pytest.raises(CheckpointError, match="big-endian"):
        read_state_dict(path)


def test_tensor_past_the_end_of_its_storage_is_refused(tmp_path):
    storages = {"1": np.zeros(5, dtype=np.float32)}
    tensors = {"too_long": ("1", np.float32, 5, 2, (4,), (1,))}
    path = tmp_path / "overrun.pth"
    path.write_bytes(legacy_checkpoint(tensors, storages))
    with pytest.raises(CheckpointError, match="past the end"):
        read_state_dict(path)


def test_entry_that_is_not_a_tensor_is_refused(tmp_path):
    path = tmp_path / "odd.pth"
    state = pickle.dumps({"weight": [1.0, 2.0]}, protocol=2)
    path.write_bytes(legacy_checkpoint({}, {}, state_pickle=state))
    with pytest.raises(CheckpointError, match="not a tensor"):
        read_state_dict(path)


def test_unexpected_persistent_id_is_refused(tmp_path):
    state = (
        b"\x80\x02"
        + _global("collections", "OrderedDict")
        + b")R"
        + _value("w")
        + b"("
        + _value("module")
        + _value("x")
        + _value("1")
        + _value("cpu")
        + _value(1)
        + b"tQs."
    )
    path = tmp_path / "pid.pth"
    path.write_bytes(legacy_checkpoint({}, {}, state_pickle=state))
    with pytest.raises(CheckpointError, match="persistent id"):
        read_state_dict(path)


# --- refusing code in pickles -------------------------------------------------


class _Exec:
    """Unpickling this would run `exec`, which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


class _System:
    """Unpickling this would run a shell command that creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class _Eval:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return eval, (f"open({self.marker!r}, 'w').close()",)


def _malicious_file(tmp_path, payload_class, where: str):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(payload_class(marker), protocol=2)
    tensors, storages, _ = _small_checkpoint()
    if where == "state dict":
        state = pickle.dumps({"block.weight": payload_class(marker)}, protocol=2)
        data = legacy_checkpoint(tensors, storages, state_pickle=state)
    elif where == "state dict (whole)":
        data = legacy_checkpoint(tensors, storages, state_pickle=payload)
    elif where == "magic number":
        data = legacy_checkpoint(tensors, storages, header=(payload, PROTOCOL_VERSION, SYS_INFO))
    elif where == "system info":
        data = legacy_checkpoint(tensors, storages, header=(MAGIC_NUMBER, PROTOCOL_VERSION, payload))
    elif where == "storage keys":
        data = legacy_checkpoint(tensors, storages, keys_pickle=payload)
    else:
        raise AssertionError(where)
    path = tmp_path / "weights.pth"  # no hash in the name: the hash check cannot stop it first
    path.write_bytes(data)
    return path, marker


def test_payloads_do_create_the_marker_when_unpickled_unsafely(tmp_path):
    """Guards the tests below: their payloads are real, so a silent marker proves the refusal."""
    for payload_class in (_Exec, _Eval):
        marker = tmp_path / f"{payload_class.__name__}-marker"
        pickle.loads(pickle.dumps(payload_class(marker), protocol=2))
        assert marker.exists()


@pytest.mark.parametrize(
    "payload_class, refused_global",
    [
        (_Exec, ".exec"),
        (_Eval, ".eval"),
        (_System, ".system"),  # module: builtins, __builtin__ or posix
    ],
)
@pytest.mark.parametrize("where", ["state dict", "state dict (whole)", "magic number", "system info", "storage keys"])
def test_code_in_a_pickle_is_refused_before_it_runs(tmp_path, payload_class, refused_global, where):
    path, marker = _malicious_file(tmp_path, payload_class, where)
    for hash_prefix in (None, ""):  # "" turns the hash check off explicitly
        with pytest.raises(CheckpointError, match="refused to load") as error:
            read_state_dict(path, hash_prefix=hash_prefix)
        assert refused_global in str(error.value)
        assert "trusted source" in str(error.value)
        assert not marker.exists()


def test_code_in_a_pickle_is_refused_by_load_model(tmp_path, tmp_cache):
    path, marker = _malicious_file(tmp_path, _Exec, "state dict")
    with pytest.raises(CheckpointError, match=r"refused to load .*\.exec"):
        load_model("efficientnet_lite0", checkpoint=path)
    assert not marker.exists()
    assert not tmp_cache.exists() or not any(tmp_cache.iterdir())


# --- the port: every tensor used, with the right shape ------------------------


@pytest.mark.parametrize("name", LITE_NAMES)
def test_port_uses_every_tensor_with_the_right_shape(name):
    state = read_state_dict(packaged_checkpoint(name))
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS[name])
    used = efficientnet_lite.port_lite_weights(model, prefixes, state)
    assert used == set(state)
    # ... and nothing in the Keras model is left at its random initial value.
    weighted_layers = {layer.name for layer in model.layers if layer.weights}
    assert weighted_layers == set(prefixes)
    parameters = sum(v.size for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert model.count_params() == parameters
    np.testing.assert_array_equal(model.get_layer("logits").get_weights()[1], state["_fc.bias"])
    np.testing.assert_array_equal(
        model.get_layer("stem_conv").get_weights()[0], state["_conv_stem.weight"].transpose(2, 3, 1, 0)
    )
    np.testing.assert_array_equal(
        model.get_layer("block01_depthwise_conv").get_weights()[0],
        state["_blocks.1._depthwise_conv.weight"].transpose(2, 3, 0, 1),
    )
    moving_variance = model.get_layer("head_bn").get_weights()[3]
    np.testing.assert_array_equal(moving_variance, state["_bn1.running_var"])


def test_port_reports_leftover_tensors(lite0_state):
    """A checkpoint tensor the model has no place for shows up as unused."""
    state = dict(lite0_state, **{"_extra.weight": np.zeros(3, dtype=np.float32)})
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS["efficientnet_lite0"])
    used = efficientnet_lite.port_lite_weights(model, prefixes, state)
    assert set(state) - used == {"_extra.weight"}


def test_port_refuses_a_shape_mismatch(lite0_state):
    state = dict(lite0_state)
    state["_conv_head.weight"] = np.zeros((1280, 321, 1, 1), dtype=np.float32)
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS["efficientnet_lite0"])
    with pytest.raises(ValueError, match="_conv_head"):
        efficientnet_lite.port_lite_weights(model, prefixes, state)


def test_port_refuses_a_checkpoint_of_the_wrong_variant(lite0_state):
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS["efficientnet_lite2"])
    with pytest.raises((ValueError, KeyError)):
        efficientnet_lite.port_lite_weights(model, prefixes, lite0_state)


def test_port_refuses_a_missing_tensor(lite0_state):
    state = {k: v for k, v in lite0_state.items() if k != "_bn0.running_var"}
    model, prefixes = efficientnet_lite.build_efficientnet_lite(efficientnet_lite.LITE_VARIANTS["efficientnet_lite0"])
    with pytest.raises(KeyError, match="_bn0.running_var"):
        efficientnet_lite.port_lite_weights(model, prefixes, state)
