"""setup_notebook makes TensorFlow quiet and deterministic and applies the plot style."""

import os
import subprocess
import sys

import matplotlib
import numpy as np

from dlcourse import setup


def test_set_seeds_makes_numpy_draws_repeat():
    setup.set_seeds(3)
    first = np.random.rand(3)
    setup.set_seeds(3)
    assert np.array_equal(first, np.random.rand(3))


def test_setup_without_tensorflow_sets_env_and_plot_style(monkeypatch):
    for key in setup.TF_ENV:
        monkeypatch.delenv(key, raising=False)
    setup.setup_notebook(seed=1, tensorflow=False)
    assert {k: os.environ[k] for k in setup.TF_ENV} == setup.TF_ENV
    assert matplotlib.rcParams["axes.grid"] is True
    assert tuple(matplotlib.rcParams["figure.figsize"]) == setup.PLOT_STYLE["figure.figsize"]


INIT_AND_PRINT_WEIGHTS = """
from dlcourse.setup import setup_notebook
setup_notebook(seed=0)
import keras
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
print(repr(model.get_weights()[0].ravel().tolist()))
"""


def test_keras_weights_are_identical_across_processes():
    env = {k: v for k, v in os.environ.items() if k not in setup.TF_ENV}
    runs = [
        subprocess.run(
            [sys.executable, "-c", INIT_AND_PRINT_WEIGHTS], capture_output=True, text=True, env=env, check=True
        )
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith("[")
    # quiet: no TensorFlow C++ log lines reach stderr once setup_notebook has run
    assert "oneDNN" not in runs[0].stderr
