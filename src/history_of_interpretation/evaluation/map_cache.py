"""Each method's map on the trained model, kept on disk so that a new metric need not run the method again.

`MapCache(folder)` holds one file per (photo, unit): `<folder>/<photo>/<unit>.npz`
(names percent-encoded), with the map, the class it explains, its passes and
seconds, the method's settings in full and its array extras (`segments`, which
the segment methods' random references and removal metrics read). Each file
records the key it was made under (model, photo name and pixels, unit, every
setting, the requested class, the batch size); a file made under another key
reads as missing, so a changed default or a replaced photo is never served
stale. Files are written whole or not at all (`atomic_output`), and read with
`allow_pickle=False`: a cache file can hold numbers only, never code.

Only the driver process writes (the engines hand it the records), so a cluster
needs no shared disk.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..files import atomic_output
from ..methods import SPECS, AttributionResult

_EXTRA = "extra:"  # the prefix of an extra's array in the file


@dataclass(frozen=True)
class MapRecord:
    """What the cache keeps of one method's result: its key and the parts its metrics read."""

    key: dict
    map: np.ndarray
    target: int
    label: str
    probability: float
    passes: int
    seconds: float
    pass_counts: dict
    extras: dict  # arrays and numbers only

    @classmethod
    def of(cls, key: dict, result: AttributionResult) -> MapRecord:
        """The record of `result` (extras that are neither arrays nor numbers, e.g. PAIR objects, are left out)."""
        extras = {
            name: np.asarray(value)
            for name, value in result.extras.items()
            if isinstance(value, np.ndarray | int | float | np.number) and np.asarray(value).dtype != object
        }
        return cls(
            key,
            np.asarray(result.map),
            int(result.target),
            str(result.label),
            float(result.probability),
            int(result.passes),
            float(result.seconds),
            {kind: int(images) for kind, images in result.pass_counts.items()},
            extras,
        )

    def result(self, unit) -> AttributionResult:
        """The AttributionResult as the method returned it (but `counts`, its per-kind timings)."""
        spec = SPECS[unit.method]
        return AttributionResult(
            map=self.map,
            target=self.target,
            label=self.label,
            probability=self.probability,
            method=unit.method,
            display=spec.display,
            params=spec.checked(unit.kwargs),
            passes=self.passes,
            seconds=self.seconds,
            extras={name: value[()] if value.ndim == 0 else value for name, value in self.extras.items()},
            pass_counts=self.pass_counts,
        )


def cache_key(model: str, image_name: str, image: np.ndarray, unit, target, batch_size: int) -> dict:
    """What a cached map depends on: the model, the photo (name and pixels), the unit and every setting."""
    return {
        "model": model,
        "image": image_name,
        "pixels": hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest(),
        "unit": unit.name,
        "settings": SPECS[unit.method].checked(unit.kwargs),
        "target": None if target is None else int(target),
        "batch_size": batch_size,
    }


class MapCache:
    """One .npz per (photo, method unit) under a folder: see the module's docstring."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, image_name: str, unit_name: str) -> Path:
        """Where the map of one unit on one photo lives (names percent-encoded: no folder escapes the cache)."""
        return self.folder / quote(image_name, safe="") / f"{quote(unit_name, safe='')}.npz"

    def save(self, record: MapRecord) -> None:
        """Write one record whole (replacing an older one)."""
        key = record.key
        arrays = {
            "key": np.array(json.dumps(key, sort_keys=True, default=str)),
            "map": record.map,
            "numbers": np.array([record.target, record.probability, record.passes, record.seconds]),
            "label": np.array(record.label),
            "pass_counts": np.array(json.dumps(record.pass_counts)),
            **{_EXTRA + name: value for name, value in record.extras.items()},
        }
        with atomic_output(self.path(key["image"], key["unit"]), suffix=".npz") as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)

    def load(self, key: dict) -> MapRecord | None:
        """The record made under exactly this key, or None (no file, or one made under another key)."""
        path = self.path(key["image"], key["unit"])
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["key"])) != json.loads(json.dumps(key, sort_keys=True, default=str)):
                return None
            target, probability, passes, seconds = stored["numbers"]
            return MapRecord(
                key,
                stored["map"],
                int(target),
                str(stored["label"]),
                float(probability),
                int(passes),
                float(seconds),
                json.loads(str(stored["pass_counts"])),
                {name[len(_EXTRA) :]: stored[name] for name in stored.files if name.startswith(_EXTRA)},
            )
