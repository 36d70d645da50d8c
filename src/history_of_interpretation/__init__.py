"""A visual history of interpretation methods for image classifiers."""

from .images import Composite, ImageLoadError, load_image, sample_catalogue, side_by_side
from .labels import imagenet_labels
from .models import MODEL_NAMES, ModelBundle, ModelUnavailableError, load_model

__all__ = [
    "Composite", "ImageLoadError", "MODEL_NAMES", "ModelBundle", "ModelUnavailableError",
    "imagenet_labels", "load_image", "load_model", "sample_catalogue", "side_by_side",
]
