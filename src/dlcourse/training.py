"""Training helpers: fast input pipelines for ``model.fit``.

Introduced in Chapter 5 (``ch05_overfitting``), where networks train for hundreds of epochs;
Chapters 8 and 9 use the same helper for images.

Why: ``fit`` on NumPy arrays rebuilds its input pipeline every epoch (about 70 ms per epoch
and 90 ms more per validation pass on one CPU core, whatever the model). A cached,
pre-batched ``tf.data.Dataset`` costs about 16 ms per epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_dataset(
    X: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
) -> Any:
    """A cached, batched and prefetched ``tf.data.Dataset`` of ``(X, y)`` (or of ``X`` alone).

    With ``shuffle=True`` the rows are reshuffled every epoch, reproducibly for a given ``seed``
    (use it for training data; keep validation and test data in order). Introduced in Chapter 5.
    """
    import tensorflow as tf

    X = np.asarray(X, dtype="float32")
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
        if y.dtype.kind == "f":
            y = y.astype("float32")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    ds = tf.data.Dataset.from_tensor_slices(X if y is None else (X, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
