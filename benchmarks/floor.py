"""A method's floor: its passes, each kind priced at the best per-image time of one compiled call.

The sweep (`children.pass_times`) times each kind of call at batch sizes
1..32 (64 with room to spare). A method's passes of one kind are priced at the
lowest per-image time among batch sizes no larger than its number of such
passes (a method with 9 forward passes cannot fill a batch of 32). Guided
passes (the guided-ReLU clone, kind "guided_...") are priced as the plain
model's: the floor is what the plain network costs.
"""

from __future__ import annotations

import math
import statistics
import time

GUIDED = "guided_"  # the prefix of the guided-ReLU clone's kinds of pass (ModelCalls' kind_prefix)

# How to make one compiled call of each kind of pass that ModelCalls counts.
PASS_CALLS = {
    "forward": lambda calls, images, target: calls.logits(images),
    "gradient": lambda calls, images, target: calls.input_gradients(images, target),
    "layer_gradient": lambda calls, images, target: calls.layer_gradients(images, target),
}
SWEEP_KINDS = (*PASS_CALLS, GUIDED + "gradient")  # the guided pass is timed to say what it costs

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
BATCH_64_MIN_FREE_GB = 6.0  # batch 64 forward+backward adds about 2 GB: measure it only with room to spare
MIN_REPEATS = 3  # full run: at least this many timed calls per (kind, batch size) ...
MIN_IMAGES = 64  # ... and at least this many images, so batch 1 is not one noisy call


def priced_as(kind: str) -> str:
    """The kind of pass whose time prices `kind` in the floor: guided passes cost what plain ones do."""
    price = kind.removeprefix(GUIDED)
    if price not in PASS_CALLS:
        raise ValueError(
            f"the benchmark cannot price passes of kind {kind!r}: "
            f"add the call behind it to PASS_CALLS in benchmarks/floor.py (known: {', '.join(PASS_CALLS)})"
        )
    return price


def best_batch(per_image: dict[int, float], passes: int) -> int:
    """The batch size with the lowest per-image time among those no larger than `passes`."""
    fitting = [size for size in per_image if size <= passes]
    if not fitting:
        raise ValueError(f"no batch size of at most {passes} was timed (timed: {sorted(per_image)})")
    return min(fitting, key=per_image.get)


def sweep_floor(passes_by_kind: dict[str, int], per_image: dict[str, dict[int, float]]) -> float:
    """The floor in seconds priced from the sweep alone (the probe's floor is timed next to the runs)."""
    total = 0.0
    for kind, passes in passes_by_kind.items():
        times = per_image[priced_as(kind)]
        total += passes * times[best_batch(times, passes)]
    return total


def sweep_repeats(batch: int, quick: bool) -> int:
    """Timed calls per (kind, batch size) in the sweep."""
    return 1 if quick else max(MIN_REPEATS, math.ceil(MIN_IMAGES / batch))


def probe_repeats(passes: int, batch: int, quick: bool) -> int:
    """Timed calls when the probe prices `passes` at `batch`: as many as the method needs, at least MIN_REPEATS."""
    return max(math.ceil(passes / batch), 1 if quick else MIN_REPEATS)


def pass_call(kind: str, plain, guided, target: int):
    """`images -> outputs`: one compiled call of `kind` (on the guided clone's calls for guided kinds)."""
    call = PASS_CALLS[priced_as(kind)]
    calls = guided if kind.startswith(GUIDED) else plain
    return lambda images: call(calls, images, target)


def per_image_seconds(function, images, repeats: int) -> float:
    """The median seconds of `repeats` calls of `function(images)`, per image."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(images)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) / len(images)


class FloorProbe:
    """Times a method's passes at their best batch size, in the method's own process, between its runs.

    Which batch size is best for each kind of pass comes from the sweep;
    timing it again next to each run means a machine that speeds up or slows
    down (other load, clocks) moves the method and its floor alike, so their
    ratio holds. Guided passes are priced as plain ones; the guided pass
    itself is timed alongside to say what it costs.
    """

    def __init__(self, context, passes_by_kind: dict[str, int], sweep: dict, quick: bool):
        import numpy as np

        from history_of_interpretation.methods.model_calls import ModelCalls

        bundle, target = context.bundle, context.target
        largest = max(size for times in sweep.values() for size in times)
        plain = ModelCalls(bundle.model, bundle.gradcam_layer, batch_size=largest)  # no call is split
        # The method's own (cached) guided calls, only where it made guided passes.
        guided = context.guided_calls if any(kind.startswith(GUIDED) for kind in passes_by_kind) else None
        self.plan = []
        for kind, passes in passes_by_kind.items():
            price = priced_as(kind)
            batch = best_batch(sweep[price], passes)
            images = np.repeat(context.x[None], batch, axis=0)
            priced, own = pass_call(price, plain, guided, target), pass_call(kind, plain, guided, target)
            priced(images)  # untimed: compiles, and sets up this batch size
            self.plan.append((kind, passes, price, batch, probe_repeats(passes, batch, quick), images, priced, own))

    def measure(self) -> tuple[float, dict]:
        """The floor in seconds, and per kind: passes, price, batch size, per-image ms."""
        total, detail = 0.0, {}
        for kind, passes, price, batch, repeats, images, priced, own in self.plan:
            per_image = per_image_seconds(priced, images, repeats)
            total += passes * per_image
            detail[kind] = {"passes": passes, "priced_as": price, "batch": batch, "per_image_ms": per_image * 1e3}
            if kind != price:
                detail[kind]["own_per_image_ms"] = per_image_seconds(own, images, repeats) * 1e3
        return total, detail
