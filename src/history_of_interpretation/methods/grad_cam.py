"""Grad-CAM and guided Grad-CAM (Selvaraju et al., 2016)."""

from __future__ import annotations

import numpy as np
import saliency.core as saliency

from .gradients import guided_backprop


def grad_cam(context):
    """Class activation of the Grad-CAM layer, ReLU'd, scaled to max 1, upsampled."""
    cam = saliency.GradCam().GetMask(context.x, context.calls.call_model_function, context.call_args,
                                     should_resize=True, three_dims=False)
    return cam.astype(np.float32), {}


def guided_grad_cam(context):
    """Guided backprop's fine detail, weighted by Grad-CAM's class-specific region."""
    guided, _ = guided_backprop(context)
    cam, _ = grad_cam(context)
    return (guided * cam[..., None]).astype(np.float32), {"grad_cam": cam}
