#!/usr/bin/env python
"""Time deletion/insertion curves against their forward floor.

    .venv/bin/python benchmarks/curves.py [--runs 5] [--step 224]

Petsiuk's deletion and insertion curves of three maps of one photo (a map,
its reverse, a random map: 3 maps x 2 curves x (224 x 224 / step + 1)
images) go through `petsiuk.deletion_insertion`. The floor is the same number of
passes through the compiled forward call in full batches of 32 (one photo
repeated), run right after each curve run in the same process. Both are
timed in wall-clock seconds and in this process's CPU seconds: on a shared,
loaded machine the wall clock measures the neighbours, the CPU time does
not. The best of --runs of each is reported.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from history_of_interpretation import load_image, load_model  # noqa: E402
from history_of_interpretation.evaluation.baselines import random_map  # noqa: E402
from history_of_interpretation.evaluation.petsiuk import deletion_insertion  # noqa: E402
from history_of_interpretation.methods import Context, attribute  # noqa: E402


def main() -> None:
    """Time the deletion and insertion curves against their forward floor and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--step", type=int, default=224, help="pixels per curve point (Petsiuk's 224)")
    args = parser.parse_args()
    bundle = load_model("efficientnet_lite0")
    photo = load_image("chelsea", bundle.input_size)
    result = attribute("vanilla_gradient", bundle, photo)
    own = np.abs(result.map).sum(axis=2)
    maps = {"map": own, "reversed": -own, "random": random_map(own.shape, np.random.default_rng(0))}
    context = Context(bundle, photo, result.target, 32)
    deletion_insertion(context, maps, step=args.step)  # warm
    passes = 3 * 2 * (-(-photo.shape[0] * photo.shape[1] // args.step) + 1)
    batch = np.repeat(context.x[None], 32, axis=0)
    curve, floor = [], []
    for _ in range(args.runs):
        curve.append(timed(lambda: deletion_insertion(context, maps, step=args.step)))
        floor.append(
            timed(lambda: [context.calls.logits(batch[: min(32, passes - first)]) for first in range(0, passes, 32)])
        )
    (curve_wall, curve_cpu), (floor_wall, floor_cpu) = np.min(curve, axis=0), np.min(floor, axis=0)
    print(
        f"{passes} passes: curves {curve_wall:.2f} s wall ({curve_cpu:.2f} s CPU), floor {floor_wall:.2f} s wall "
        f"({floor_cpu:.2f} s CPU, {floor_wall / passes * 1000:.1f} ms per image at batch 32); "
        f"ratio {curve_wall / floor_wall:.2f} wall, {curve_cpu / floor_cpu:.2f} CPU"
    )


def timed(function) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()
