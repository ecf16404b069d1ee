"""Notebook set-up: reproducible seeds, quiet TensorFlow logs and plot defaults.

Introduced in Chapter 1 (``ch01_learning_from_data``); every later notebook starts with
``setup_notebook()``.
"""

from __future__ import annotations

import os
import random
import warnings

import numpy as np

#: Environment that keeps TensorFlow quiet and its numbers identical everywhere
#: (oneDNN changes floating-point results, so it is off in CI, the book and the exercises).
TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}

#: Matplotlib settings shared by the book and the exercises.
PLOT_STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 11,
    "legend.frameon": False,
}


def set_seeds(seed: int = 0) -> None:
    """Seed Python, NumPy and (when it is already imported) TensorFlow/Keras.

    Introduced in Chapter 1. Chapter 2 onwards also calls it before building each model.
    """
    random.seed(seed)
    np.random.seed(seed)
    import sys

    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def setup_notebook(seed: int = 0, *, tensorflow: bool = True) -> None:
    """Prepare a notebook: quiet and deterministic TensorFlow, seeds, plot style.

    Introduced in Chapter 1. With ``tensorflow=False`` TensorFlow is not imported,
    which keeps NumPy-only notebooks fast to start.
    """
    for key, value in TF_ENV.items():
        os.environ.setdefault(key, value)
    import matplotlib

    matplotlib.rcParams.update(PLOT_STYLE)
    if tensorflow:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.experimental.enable_op_determinism()
        import keras  # noqa: F401  (imported so that set_seeds seeds it)

        # fit() warns that its default shuffle=True is ignored for a tf.data.Dataset; the
        # course's datasets (dlcourse.training.to_dataset) shuffle themselves, so it is noise.
        warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed", category=UserWarning)
    set_seeds(seed)
