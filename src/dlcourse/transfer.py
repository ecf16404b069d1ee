"""Helpers of Chapter 9 (``ch09_transfer_learning``): a second handwriting set and canvases.

Nothing here imports TensorFlow: the functions return NumPy arrays that the chapter's
models read.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits_28x28", "place_in_quadrant", "QUADRANTS"]

#: Quadrants of a canvas, in the order used by :func:`place_in_quadrant`.
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")


def load_digits_28x28():
    """scikit-learn's 1,797 handwritten 8x8 digits, upsampled to look like MNIST's 28x28.

    Introduced in Chapter 9 (``ch09_transfer_learning``) as a second, related handwriting
    set: the 8x8 images (values 0 to 16) are scikit-learn's copy of the *test* part of UCI
    "Optical Recognition of Handwritten Digits", written by 13 people (the UCI set has 43
    writers: 30 for its training part, 13 for its test part). Any split of these 1,797
    images therefore puts the same writers on both sides. They are scaled to [0, 1],
    upsampled to 20x20 by bilinear
    interpolation and centred on a 28x28 black canvas, as MNIST centres its digits in
    a 20x20 box. Returns ``X`` of shape ``(1797, 28, 28, 1)`` (float32) and ``y`` (int64,
    0 to 9). The data ship with scikit-learn; nothing is downloaded.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images.astype("float64") / 16.0
    up = np.clip(zoom(small, (1, 2.5, 2.5), order=1), 0.0, 1.0)
    X = np.zeros((len(small), 28, 28, 1), dtype="float32")
    X[:, 4:24, 4:24, 0] = up
    return X, digits.target.astype("int64")


def place_in_quadrant(images, quadrants, canvas: int = 56):
    """Put each 28x28 image into one quadrant of a blank ``canvas`` x ``canvas`` image.

    Introduced in Chapter 9 for the Grad-CAM sanity check. ``images`` has shape
    ``(n, 28, 28)`` or ``(n, 28, 28, 1)``; ``quadrants`` holds one integer 0 to 3 per image
    (:data:`QUADRANTS`: 0 top left, 1 top right, 2 bottom left, 3 bottom right). Returns
    float32 canvases of shape ``(n, canvas, canvas, 1)``; each image sits in the centre of
    its quadrant.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    quadrants = np.asarray(quadrants, dtype=int)
    if len(quadrants) != len(images):
        raise ValueError(f"{len(images)} images but {len(quadrants)} quadrants")
    side = images.shape[1]
    half = canvas // 2
    if side > half:
        raise ValueError(f"a {side}x{side} image does not fit a quadrant of a {canvas} canvas")
    out = np.zeros((len(images), canvas, canvas, images.shape[-1]), dtype="float32")
    offset = (half - side) // 2
    for i, (image, q) in enumerate(zip(images, quadrants)):
        top = (q // 2) * half + offset
        left = (q % 2) * half + offset
        out[i, top:top + side, left:left + side] = image
    return out
