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
from lime import lime_image

from ..models import softmax
from .occlusion import superpixel_segments
from .spec import COUNT, SEED, method

COMPACTNESS = 10.0  # SLIC's, as leave-one-out's superpixels: the two maps share their regions


class BatchedLimeImageExplainer(lime_image.LimeImageExplainer):
    """The package's explainer, with its perturbed photos built a batch at a time.

    lime 0.2.0.1's `data_labels` builds each perturbed photo in a Python loop
    over its hidden superpixels (6 ms a photo measured here on a busy machine,
    comparable to the forward pass) and always draws a progress bar. This override makes
    the same draw from the same generator and the same photos, one array
    operation per batch; tests/test_lime.py checks it against the package's loop.
    """

    def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
        """(on/off per superpixel for each sample, the classifier's output for each sample)."""
        n_features = np.unique(segments).shape[0]
        data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
        data[0, :] = 1  # as the package: the first sample is the photo itself
        labels = []
        for start in range(0, num_samples, batch_size):
            hidden = (data[start : start + batch_size] == 0)[:, segments]
            labels.append(classifier_fn(np.where(hidden[..., None], fudged_image, image)))
        return data, np.concatenate(labels)


@method(
    title="LIME",
    authors="Ribeiro et al.",
    year=2016,
    paper='"Why Should I Trust You?": Explaining the Predictions of Any Classifier',
    rules={"samples": COUNT, "segments": COUNT, "seed": SEED},
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

    def classifier_fn(images: np.ndarray) -> np.ndarray:
        return softmax(context.calls.logits(context.bundle.preprocess(images)))

    explainer = BatchedLimeImageExplainer(random_state=seed, feature_selection="none")
    explanation = explainer.explain_instance(
        context.image,
        classifier_fn,
        labels=(context.target,),
        top_labels=None,
        num_samples=samples,
        batch_size=context.batch_size,
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
