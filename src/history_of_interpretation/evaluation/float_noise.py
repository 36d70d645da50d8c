"""How far a method's map moves on another CPU, measured with proxies this machine can run itself.

Another CPU adds floats in another order (TensorFlow's oneDNN kernels pick
their blocking per CPU; another number of threads splits sums differently),
so its maps differ from ours by float noise, 1e-7 relative in each number.
Most methods pass that noise through unchanged; a method that makes
discrete choices on near-equal values can turn it into another picture.
Two proxies reproduce another summation order here: TensorFlow's oneDNN
optimisations off (`TF_ENABLE_ONEDNN_OPTS=0`) and one intra-op thread
(`TF_NUM_INTRAOP_THREADS=1`). `map_under` computes a map in a fresh process
under one of them; `spread` says how far it is from ours.

    python -m history_of_interpretation.evaluation.float_noise OUT.npz JSON  # what map_under runs
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .map_statistics import per_pixel, rank_correlation

PROXIES = {
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "one thread": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
}


def already_under(proxy: str) -> bool:
    """Whether this process already runs under `proxy`: then it gives no other summation order here."""
    return all(os.environ.get(name) == value for name, value in PROXIES[proxy].items())


def another_order(preferred: str) -> str:
    """`preferred`, unless this process already runs under it; then a proxy it does not run under
    (computing a map under the order it already has would compare the map with itself)."""
    if preferred not in PROXIES:
        raise ValueError(f"unknown proxy {preferred!r}; choose one of {', '.join(PROXIES)}")
    candidates = [preferred, *(proxy for proxy in PROXIES if proxy != preferred)]
    found = next((proxy for proxy in candidates if not already_under(proxy)), None)
    if found is None:
        raise RuntimeError(f"this process already runs under every proxy ({', '.join(PROXIES)}): none sums otherwise")
    return found


def map_under(proxy: str, method: str, model: str, photo: str, target: int | None = None, **settings) -> np.ndarray:
    """The method's map of `photo` (a sample name or path) by `model`, computed in a new process under `proxy`."""
    return maps_under(proxy, model, photo, [(method, target, settings)])[0]


def maps_under(proxy: str, model: str, photo: str, requests) -> list[np.ndarray]:
    """Several maps of one photo, each (method, target, settings), computed in one new process under `proxy`."""
    if proxy not in PROXIES:
        raise ValueError(f"unknown proxy {proxy!r}; choose one of {', '.join(PROXIES)}")
    request = {
        "model": model,
        "photo": photo,
        "maps": [{"method": method, "target": target, "settings": settings} for method, target, settings in requests],
    }
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "maps.npz"
        environment = {**os.environ, **PROXIES[proxy], "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run(
            [sys.executable, "-m", __name__, str(out), json.dumps(request)],
            env=environment,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise RuntimeError(f"computing maps under {proxy!r} failed:\n{run.stderr[-2000:]}")
        saved = np.load(out)
        return [saved[f"arr_{index}"] for index in range(len(requests))]


def spread(ours: np.ndarray, theirs: np.ndarray) -> dict[str, float]:
    """How far two maps of one photo are apart: relative L2 distance of |map|, and Spearman of |map|."""
    first, second = per_pixel(ours, absolute=True), per_pixel(theirs, absolute=True)
    norm = np.linalg.norm(first)
    return {
        "relative_l2": float(np.linalg.norm(first - second) / norm) if norm else float("nan"),
        "spearman": rank_correlation(first, second),
    }


def _compute(out: Path, request: dict) -> None:
    from ..images import load_image
    from ..methods import attribute
    from ..models import load_model

    bundle = load_model(request["model"])
    image = load_image(request["photo"], bundle.input_size)
    maps = [
        attribute(one["method"], bundle, image, target=one["target"], **one["settings"]).map for one in request["maps"]
    ]
    np.savez(out, *maps)  # saved as arr_0, arr_1, ... in the requests' order


if __name__ == "__main__":
    _compute(Path(sys.argv[1]), json.loads(sys.argv[2]))
