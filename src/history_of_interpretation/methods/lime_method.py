"""LIME (Ribeiro, Singh & Guestrin, 2016) through the authors' own package, `lime`.

`lime.lime_image.LimeImageExplainer` switches random subsets of superpixels
off (each hidden one filled with its mean colour, the package's default),
runs the photos through the model and fits a weighted linear model of the
class probability on which superpixels were on. Here it gets the course's
SLIC superpixels and the counted, batched model calls. (This module is not
called `lime.py`: that would shadow the package.)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from lime import lime_image

from ..models import softmax
from .occlusion import superpixel_segments
from .rules import SEED, count
from .spec import method

COMPACTNESS = 10.0  # SLIC's, as leave-one-out's superpixels: the two maps share their regions


def switched_superpixels(image, fudged_image, segments, switches):
    """TensorFlow ops: one photo per row of `switches` (N, superpixels), each superpixel switched off (0)
    showing `fudged_image` there, as lime's `data_labels` builds them.

    Traced into the compiled forward call (`ModelCalls.perturbed_logits`), so
    that only the switches cross into TensorFlow, not 32 built photos a batch.
    """
    hidden = tf.gather(switches, segments, axis=1) == 0  # (N, H, W)
    return tf.where(hidden[..., None], fudged_image, image)


class BatchedLimeImageExplainer(lime_image.LimeImageExplainer):
    """The package's explainer, with its perturbed photos built inside the model's compiled call.

    lime 0.2.0.1's `data_labels` builds each perturbed photo in a Python loop
    over its hidden superpixels (6 ms a photo, comparable to the forward
    pass) and always draws a progress bar. This override makes the same draw
    from the same generator and hands all the switches at once to
    `classifier_fn(image, fudged_image, segments, switches)`, which builds
    the photos with `switched_superpixels` and returns their probabilities;
    tests/test_lime.py checks the draw and the photos against the package's loop.
    """

    def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
        """(on/off per superpixel for each sample, the classifier's output for each sample).

        `batch_size` is the package's; the model calls batch by their own.
        """
        n_features = np.unique(segments).shape[0]
        switches = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
        switches[0, :] = 1  # as the package: the first sample is the photo itself
        return switches, classifier_fn(image, fudged_image, segments, switches)


@method(
    title="LIME",
    authors="Ribeiro et al.",
    year=2016,
    paper='"Why Should I Trust You?": Explaining the Predictions of Any Classifier',
    rules={"samples": count(20_000), "segments": count(1000), "seed": SEED},
    passes=lambda settings, extras: {"forward": settings["samples"]},
    rgb=False,
    signed=True,
    display="diverging",
    resolution="segment",
    quick={"samples": 8, "segments": 4},
    pair=None,
)
def lime(context, samples: int = 1000, segments: int = 50, seed: int = 0):
    """Weights of a linear model of the class probability on which superpixels are shown.

    `samples` perturbed photos (the package's first is the photo itself) over
    about `segments` SLIC superpixels; `seed` seeds the package's generator
    (which superpixels each sample hides, and its Ridge regression), so the
    same seed gives the same map. Each pixel gets its superpixel's weight.
    """

    def classifier_fn(image, fudged_image, segments, switches) -> np.ndarray:
        # Selecting pixels commutes with the bundle's per-pixel preprocessing: preprocess the two photos once.
        shared = (context.bundle.preprocess(image), context.bundle.preprocess(fudged_image), segments)
        return softmax(context.calls.perturbed_logits(switched_superpixels, shared, (switches,)))

    explainer = BatchedLimeImageExplainer(random_state=seed, feature_selection="none")
    explanation = explainer.explain_instance(
        context.image,
        classifier_fn,
        labels=(context.target,),
        top_labels=None,
        num_samples=samples,
        random_seed=seed,
        segmentation_fn=lambda image: superpixel_segments(image, segments, COMPACTNESS),
    )
    weights = np.zeros(int(explanation.segments.max()) + 1, dtype=np.float64)
    for segment, weight in explanation.local_exp[context.target]:
        weights[segment] = weight
    return weights[explanation.segments].astype(np.float32), {
        "segments": explanation.segments,
        "weights": weights,
        "intercept": float(explanation.intercept[context.target]),
        "score": float(explanation.score),  # R² of the weighted linear fit on the samples
    }
