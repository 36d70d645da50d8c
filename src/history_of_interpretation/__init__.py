"""A visual history of interpretation methods for image classifiers."""

import os

# The package is what imports TensorFlow: quiet its C++ start-up lines here, before any
# module imports it, so that chapters and tools print only what a reader needs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .images import Composite, ImageLoadError, load_image, sample_catalogue, side_by_side
from .models import MODEL_NAMES, ModelBundle, ModelUnavailableError, load_model
from .models.labels import imagenet_labels
from .tables import cost_table

__all__ = [
    "Composite",
    "cost_table",
    "ImageLoadError",
    "MODEL_NAMES",
    "ModelBundle",
    "ModelUnavailableError",
    "imagenet_labels",
    "load_image",
    "load_model",
    "sample_catalogue",
    "side_by_side",
]
