"""PAIR's usual pattern: saliency.core with an eager call_model_function, one image per call.

Each method's spec says how PAIR runs it (`spec.pair`: a PairEquivalent with
`run`, `calls`, `keys`, `applies`); this module only supplies the model call
that PAIR's TF2 examples write and times the run, within a budget.
"""

from __future__ import annotations

import statistics
import sys
import time

MIN_CALLS = 3  # a scaled PAIR time rests on at least this many calls


def eager_call_model_function(bundle):
    """The call_model_function of PAIR's TF2 examples: an eager two-output model, one tape per call."""
    import keras
    import numpy as np
    import saliency.core as saliency
    import tensorflow as tf

    model = bundle.model
    conv_and_logits = keras.Model(model.inputs, [model.get_layer(bundle.gradcam_layer).output, model.outputs[0]])

    def call_model_function(images, call_model_args=None, expected_keys=None):
        target = call_model_args["target"]
        # GetSmoothedMask adds float64 noise; the model takes float32.
        images = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
        if expected_keys == [saliency.base.OUTPUT_LAYER_VALUES]:
            _, logits = conv_and_logits(images, training=False)
            return {saliency.base.OUTPUT_LAYER_VALUES: tf.nn.softmax(logits)[:, target].numpy()}
        with tf.GradientTape() as tape:
            if expected_keys == [saliency.base.INPUT_OUTPUT_GRADIENTS]:
                tape.watch(images)
                _, logits = conv_and_logits(images, training=False)
                gradients = np.array(tape.gradient(logits[:, target], images))
                return {saliency.base.INPUT_OUTPUT_GRADIENTS: gradients}
            conv, logits = conv_and_logits(images, training=False)
            gradients = np.array(tape.gradient(logits[:, target], conv))
            return {
                saliency.base.CONVOLUTION_LAYER_VALUES: np.array(conv),
                saliency.base.CONVOLUTION_OUTPUT_GRADIENTS: gradients,
            }

    return call_model_function


class BudgetSpent(Exception):
    """Raised inside a PAIR run to stop it once its time budget is spent."""


class BudgetedCalls:
    """Counts the calls of a PAIR run and stops it (before a call) once the budget is spent."""

    def __init__(self, function, budget_seconds: float, min_calls: int, clock=time.perf_counter):
        self.function, self.budget, self.min_calls, self.clock = function, budget_seconds, min_calls, clock
        self.calls, self.started, self.last_return = 0, clock(), None

    def __call__(self, images, call_model_args=None, expected_keys=None):
        """Call the model through PAIR's contract, stopping once the time budget is spent."""
        if self.calls >= self.min_calls and self.clock() - self.started > self.budget:
            raise BudgetSpent
        output = self.function(images, call_model_args=call_model_args, expected_keys=expected_keys)
        self.calls += 1
        self.last_return = self.clock()
        return output


def scaled_seconds(seconds_to_last_call: float, calls_made: int, calls_total: int) -> float:
    """A stopped run's time for all its calls, assuming calls cost alike."""
    return seconds_to_last_call * calls_total / calls_made


def time_pair(spec, settings: dict, context, runs: int, budget: float) -> dict | None:
    """Seconds of PAIR's pattern at these settings: the median of full runs within the budget, or one run scaled.

    None where saliency.core has no such method (`spec.pair` is None or does
    not apply to these settings). A run stopped by the budget is priced by
    `scaled_seconds`; for Blur IG the later steps blur wider (scipy's cost
    grows with sigma), so a scaled Blur IG time is an underestimate.
    """
    import numpy as np

    pair = spec.pair
    if pair is None or not pair.applies(settings):
        return None
    total_calls = pair.calls(context, settings)
    function = eager_call_model_function(context.bundle)
    function(context.x[None], call_model_args=context.call_args, expected_keys=list(pair.keys))  # untimed: eager setup
    np.random.seed(0)  # GetSmoothedMask draws from the global generator

    # The first run may be stopped by the budget and scaled; repeats (up to
    # `runs`, for the cheap methods) only start when a whole run still fits.
    first = BudgetedCalls(function, budget, min_calls=min(MIN_CALLS, total_calls))
    try:
        pair.run(context, first, settings)
    except BudgetSpent:
        seconds = scaled_seconds(first.last_return - first.started, first.calls, total_calls)
        print(f"  PAIR: {seconds:.1f} s scaled from {first.calls} of {total_calls} calls", file=sys.stderr, flush=True)
        return {"seconds": seconds, "calls_timed": first.calls, "calls_total": total_calls, "scaled": True, "runs": 1}
    full_runs = [time.perf_counter() - first.started]
    if first.calls != total_calls:
        raise RuntimeError(f"{spec.name}: PAIR made {first.calls} calls, its spec declares {total_calls}")
    while len(full_runs) < runs and sum(full_runs) + max(full_runs) <= budget:
        started = time.perf_counter()
        pair.run(context, function, settings)
        full_runs.append(time.perf_counter() - started)
    seconds = statistics.median(full_runs)
    print(f"  PAIR: {seconds:.2f} s, {total_calls} calls, {len(full_runs)} full run(s)", file=sys.stderr, flush=True)
    return {
        "seconds": seconds,
        "calls_timed": total_calls,
        "calls_total": total_calls,
        "scaled": False,
        "runs": len(full_runs),
    }
