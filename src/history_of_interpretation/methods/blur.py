"""Gaussian blur of one image at many sigmas, with its exact derivative in sigma.

Equal, to within exp(-8) of the kernel's peak, to
`scipy.ndimage.gaussian_filter(image, [s, s, 0], mode="constant")` (saliency.core's
blur), written as the products
A_s @ image @ A_s.T with a banded matrix A_s per sigma: batched over sigmas,
this costs a few milliseconds per blur where scipy takes tens, and dA/ds is
known in closed form, so Blur IG needs no finite difference. (No library
offers a batched blur with its sigma derivative, hence this module.)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def blur_matrices(size: int, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(sigmas), size, size) blur matrices with zero padding, and d/dsigma of each.

    The kernel is not truncated (every offset inside the image counts):
    scipy's cut at 4 sigma would make the blur jump each time sigma adds a
    tap, and Blur IG integrates its derivative. The difference from scipy is
    below exp(-8) of the kernel's peak.
    """
    offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
    matrices = np.empty((len(sigmas), size, size), dtype=np.float32)
    derivatives = np.zeros_like(matrices)
    for index, sigma in enumerate(sigmas):
        if sigma <= 0:
            matrices[index] = np.eye(size)
            continue
        # Normalise over the whole kernel (to 6 sigma, past which the rest is below
        # 1e-8), even where it reaches beyond the image into the zero padding.
        reach = max(size - 1, int(np.ceil(6 * sigma)))
        full_taps = np.arange(-reach, reach + 1)
        full_kernel = np.exp(-0.5 * (full_taps / sigma) ** 2)
        full_kernel /= full_kernel.sum()
        # d/dsigma of exp(-t^2 / 2 s^2) / Z: each tap's t^2/s^3 less the kernel's mean of it.
        full_derivative = full_kernel * (full_taps**2 - np.sum(full_kernel * full_taps**2)) / sigma**3
        inside = slice(reach - (size - 1), reach + size)  # the taps that land inside the image
        kernel, kernel_derivative = full_kernel[inside], full_derivative[inside]
        matrices[index] = kernel[offsets + size - 1]
        derivatives[index] = kernel_derivative[offsets + size - 1]
    return matrices, derivatives


def blur_operands(image: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The image as (1, C, H, W) planes, and per sigma its (1, H, H) and (1, W, W) blur matrices and their derivatives.

    The arguments of `blurred_with_derivative`, one row of matrices per sigma.
    """
    height, width, _ = image.shape
    rows, row_derivatives = blur_matrices(height, sigmas)
    cols, col_derivatives = blur_matrices(width, sigmas) if width != height else (rows, row_derivatives)
    planes = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)[None]
    return planes, tuple(matrices[:, None] for matrices in (rows, row_derivatives, cols, col_derivatives))


def blurred_with_derivative(planes, rows, row_derivatives, cols, col_derivatives):
    """TensorFlow ops: blurred images (n, H, W, C) and their derivatives in sigma, from `blur_operands`.

    Written in TensorFlow so that Blur IG can trace it into the same compiled
    call as the gradients (`ModelCalls.path_integral`).
    """
    # Blur down the columns (rows @ image), then along the rows (@ cols.T), per channel;
    # the product rule gives the derivative. Channels ride along as a batch axis.
    down = tf.matmul(rows, planes)
    blurred = tf.matmul(down, cols, transpose_b=True)
    derivative = tf.matmul(tf.matmul(row_derivatives, planes), cols, transpose_b=True) + tf.matmul(
        down, col_derivatives, transpose_b=True
    )
    to_images = (0, 2, 3, 1)
    return tf.transpose(blurred, to_images), tf.transpose(derivative, to_images)


def gaussian_blur_with_derivative(image: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blurred copies (n, H, W, C) of an (H, W, C) image, one per sigma, and their derivatives in sigma."""
    planes, matrices = blur_operands(image, np.asarray(sigmas))
    blurred, derivative = blurred_with_derivative(*(tf.constant(a) for a in (planes, *matrices)))
    return blurred.numpy(), derivative.numpy()
