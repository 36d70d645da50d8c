"""A long-form CSV that survives being killed: whole units appended, fsynced, repaired on reopen.

Each unit (photo, method) is formatted whole and appended with ONE write to
a file opened for appending, then flushed and fsynced. A kill can only cut
the last write short; reopening drops a partial last line and the rows of
any unit whose closing row is missing (the unit's own row for its last
metric is always written last), rewriting the file atomically, so the rerun
computes that unit again without duplicates.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ..files import atomic_output
from .ranking import METRICS

COLUMNS = ("image", "method", "metric", "value")
COST_COLUMNS = ("image", "method", "passes", "seconds", "curve_passes", "curve_seconds")
RANDOMISATION = ("randomization_spearman_abs", "randomization_spearman_signed", "randomization_ssim")
SUFFIXES = ("_reversed", "_random")


def unit_metrics(unit: str, metrics) -> list[str]:
    """The metrics a unit's own rows carry, in METRICS order (random maps have no randomisation)."""
    applies = [m for m in METRICS if m in metrics]
    if unit in ("random", "random_layer"):
        applies = [m for m in applies if m not in RANDOMISATION]
    return applies


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
    writer.writerows([[row[c] if not isinstance(row[c], float) else repr(row[c]) for c in columns] for row in rows])
    return buffer.getvalue()


class ResultLog:
    """OUT/evaluation.csv (and OUT/costs.csv) for one evaluation, opened for resuming."""

    NAME = "evaluation.csv"
    COSTS = "costs.csv"

    def __init__(self, out: Path, metrics):
        self.path, self.cost_path, self.metrics = Path(out) / self.NAME, Path(out) / self.COSTS, list(metrics)
        self._rows = self._repaired(self.path, COLUMNS, complete=True)
        self._repaired(self.cost_path, COST_COLUMNS, complete=False)

    def _repaired(self, path: Path, columns, complete: bool) -> list[dict]:
        header = ",".join(columns) + "\n"
        if not path.exists() or path.stat().st_size == 0 or header.startswith(path.read_text()):
            with atomic_output(path) as temporary:
                temporary.write_text(header)
            return []
        text = path.read_text()
        if not text.startswith(header):
            raise ValueError(
                f"{path} is not an evaluation file (its first line is not {header.strip()!r}); choose another OUT"
            )
        whole = text[: text.rfind("\n") + 1]  # a kill mid-write leaves at most a partial last line
        rows = list(csv.DictReader(io.StringIO(whole)))
        if complete:
            finished = {(r["image"], r["method"]) for r in rows if self._closes_unit(r)}
            rows = [r for r in rows if (r["image"], self._unit_of(r["method"])) in finished]
        kept = header + _format(rows, columns)
        if kept != text:
            with atomic_output(path) as temporary:
                temporary.write_text(kept)
        return rows

    def _closes_unit(self, row: dict) -> bool:
        own = unit_metrics(row["method"], self.metrics)
        return bool(own) and row["metric"] == own[-1]

    def _unit_of(self, method: str) -> str:
        for suffix in SUFFIXES:
            if method.endswith(suffix) and method[: -len(suffix)] not in ("", "random"):
                return method[: -len(suffix)]
        return method

    def done(self, image: str, unit: str) -> bool:
        """Whether the unit's rows are all in the file."""
        return any(r["image"] == image and r["method"] == unit and self._closes_unit(r) for r in self._rows)

    def append(self, image: str, unit: str, measurement) -> None:
        """Write one finished unit: its cost, then its rows with the unit's own closing row last."""
        result = measurement.result
        passes, seconds = (result.passes, result.seconds) if result is not None else (0, 0.0)
        _append(
            self.cost_path,
            _format(
                [
                    {
                        "image": image,
                        "method": unit,
                        "passes": passes,
                        "seconds": float(seconds),
                        "curve_passes": measurement.curve_passes,
                        "curve_seconds": float(measurement.curve_seconds),
                    }
                ],
                COST_COLUMNS,
            ),
        )
        order = {metric: i for i, metric in enumerate(METRICS)}
        rows = sorted(measurement.rows, key=lambda r: (r["method"] == unit, order[r["metric"]]))
        _append(self.path, _format(rows, COLUMNS))
        self._rows += [{k: str(v) if not isinstance(v, float) else repr(v) for k, v in r.items()} for r in rows]

    def rows(self) -> list[dict]:
        """Every row written so far (values as text, as in the file)."""
        return list(self._rows)

    def costs(self) -> dict[str, tuple[float, float]]:
        """Per method: mean passes and seconds per photo (the last record of each photo counts)."""
        latest = {}
        with open(self.cost_path, newline="") as handle:
            for row in csv.DictReader(handle):
                latest[row["image"], row["method"]] = (float(row["passes"]), float(row["seconds"]))
        per_method: dict[str, list] = {}
        for (_, method), cost in latest.items():
            per_method.setdefault(method, []).append(cost)
        return {
            method: (sum(p for p, _ in costs) / len(costs), sum(s for _, s in costs) / len(costs))
            for method, costs in per_method.items()
        }
