"""A long-form CSV that survives being killed: whole units appended, fsynced, repaired on reopen.

OUT/evaluation.csv holds the rows (image, method, metric, value), one per
map and metric; OUT/costs.csv one line per finished (image, unit): its passes
and seconds. A unit's rows are appended with ONE write, flushed and fsynced,
and only then its cost line, the same way: the cost line is the unit's commit
mark. Reopening drops a partial last line of either file and the rows of any
unit without its cost line (rewriting the file atomically), so a rerun
computes that unit again, with no duplicate and no torn row.

OUT/evaluation_settings.json records what produced the rows (model, metrics,
depths, seed, package versions); resuming with other settings is refused.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from ..files import atomic_output
from .units import Unit, method_of, split_map_name

COLUMNS = ("image", "method", "metric", "value")
COST_COLUMNS = ("image", "unit", "passes", "seconds", "metric_passes", "metric_seconds")
VERSIONED = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scipy", "scikit-image", "saliency", "lime")


def provenance() -> dict:
    """The versions that produced a result: Python, platform and the packages the numbers depend on."""
    versions = {}
    for package in VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def _append(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        data = text.encode()
        while data:  # one write in practice; a short write is continued, never interleaved
            data = data[os.write(descriptor, data) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _format(rows, columns) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([[repr(row[c]) if isinstance(row[c], float) else row[c] for c in columns] for row in rows])
    return buffer.getvalue()


def _whole_rows(path: Path, columns) -> list[dict] | None:
    """The file's complete rows (a kill leaves at most a partial last line); None for a new or empty file."""
    header = ",".join(columns) + "\n"
    if not path.exists() or path.stat().st_size == 0:
        return None
    text = path.read_text()
    if header.startswith(text):
        return None
    if not text.startswith(header):
        raise ValueError(
            f"{path} is not an evaluation file (its first line is not {header.strip()!r}); choose another OUT"
        )
    return list(csv.DictReader(io.StringIO(text[: text.rfind("\n") + 1])))


def _rewrite(path: Path, columns, rows) -> None:
    text = ",".join(columns) + "\n" + _format(rows, columns)
    if not path.exists() or path.read_text() != text:
        with atomic_output(path) as temporary:
            temporary.write_text(text)


class ResultLog:
    """OUT/evaluation.csv and OUT/costs.csv of one evaluation, opened for resuming."""

    NAME = "evaluation.csv"
    COSTS = "costs.csv"
    SETTINGS = "evaluation_settings.json"

    def __init__(self, out: Path, settings: dict):
        out = Path(out)
        self.path, self.cost_path = out / self.NAME, out / self.COSTS
        self._check_settings(out / self.SETTINGS, settings)
        costs = _whole_rows(self.cost_path, COST_COLUMNS) or []
        self._costs = {(row["image"], row["unit"]): row for row in costs}  # the last record of a unit counts
        rows = _whole_rows(self.path, COLUMNS) or []
        self._rows = [row for row in rows if (row["image"], split_map_name(row["method"])[0]) in self._costs]
        _rewrite(self.path, COLUMNS, self._rows)
        _rewrite(self.cost_path, COST_COLUMNS, list(self._costs.values()))

    def _check_settings(self, path: Path, settings: dict) -> None:
        recorded = {**settings, "provenance": provenance()}
        if path.is_file() and (path.parent / self.NAME).is_file():
            previous = json.loads(path.read_text())
            changed = sorted(
                k for k in set(previous) | set(settings) if k != "provenance" and previous.get(k) != settings.get(k)
            )
            if changed:
                raise ValueError(
                    f"OUT={path.parent} holds an evaluation with other settings ({', '.join(changed)}); "
                    "rerun with the same settings to resume, or choose another OUT"
                )
            recorded = previous
        with atomic_output(path) as temporary:
            temporary.write_text(json.dumps(recorded, indent=1, default=str) + "\n")

    def done(self, image: str, unit: str) -> bool:
        """Whether the unit's rows are all in the file."""
        return (image, unit) in self._costs

    def append(self, measurement) -> None:
        """Write one finished unit: its rows, then its cost line (the commit mark)."""
        image, unit, cost = measurement.image, measurement.unit.name, measurement.cost
        _append(self.path, _format(measurement.rows, COLUMNS))
        record = {"image": image, "unit": unit, **{c: getattr(cost, c) for c in COST_COLUMNS[2:]}}
        _append(self.cost_path, _format([record], COST_COLUMNS))
        self._rows += [
            {k: repr(v) if isinstance(v, float) else str(v) for k, v in row.items()} for row in measurement.rows
        ]
        self._costs[image, unit] = {k: str(v) for k, v in record.items()}

    def rows(self) -> list[dict]:
        """Every row written so far, values as floats."""
        return [{**row, "value": float(row["value"])} for row in self._rows]

    def measurements(self) -> list:
        """Every finished unit as a Measurement (rows and cost; no details)."""
        from .driver import Cost, Measurement

        rows_of: dict[tuple[str, str], list[dict]] = {}
        for row in self.rows():
            rows_of.setdefault((row["image"], split_map_name(row["method"])[0]), []).append(row)
        return [
            Measurement(
                image,
                Unit(unit, method_of(unit)),
                rows_of.get((image, unit), []),
                Cost(
                    int(float(c["passes"])),
                    float(c["seconds"]),
                    int(float(c["metric_passes"])),
                    float(c["metric_seconds"]),
                ),
            )
            for (image, unit), c in self._costs.items()
        ]


def read(out: Path) -> tuple[list[dict], list[dict], dict]:
    """An evaluation folder as it stands, read only: its finished rows (values as floats), costs and settings."""
    out = Path(out)
    settings_path = out / ResultLog.SETTINGS
    if not settings_path.is_file():
        raise ValueError(f"{out} holds no evaluation (no {ResultLog.SETTINGS}); run make evaluate or make verdict")
    costs = _whole_rows(out / ResultLog.COSTS, COST_COLUMNS) or []
    done = {(row["image"], row["unit"]) for row in costs}
    rows = [
        {**row, "value": float(row["value"])}
        for row in _whole_rows(out / ResultLog.NAME, COLUMNS) or []
        if (row["image"], split_map_name(row["method"])[0]) in done
    ]
    return rows, costs, json.loads(settings_path.read_text())
