"""Plotting helpers shared by the book and the exercises.

``plot_function`` is introduced in Chapter 1 (a model drawn over its data points);
``history_frame`` and ``plot_history`` in Chapter 1 for gradient descent by hand and
in Chapter 4 for a Keras ``History``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def history_frame(history: Any) -> pd.DataFrame:
    """Return a training history as a DataFrame with one row per epoch (index from 1).

    Accepts a Keras ``History`` (its ``.history`` dict), a plain mapping of metric name to a
    list of values, or a DataFrame. Introduced in Chapter 1.
    """
    if isinstance(history, pd.DataFrame):
        frame = history.copy()
    else:
        values = getattr(history, "history", history)
        if not isinstance(values, Mapping):
            raise TypeError(
                "history_frame() expects a Keras History, a dict of lists or a DataFrame, "
                f"not {type(history).__name__}"
            )
        if not values:
            raise ValueError("history_frame() got an empty history: was the model trained?")
        frame = pd.DataFrame({name: list(v) for name, v in values.items()})
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
    return frame


def plot_history(
    history: Any,
    metrics: Sequence[str] | None = None,
    *,
    ax: Any = None,
    title: str | None = None,
    logy: bool = False,
) -> Any:
    """Plot learning curves, pairing each metric with its ``val_`` twin; return the Axes.

    ``metrics`` defaults to every column that does not start with ``val_``. Introduced in
    Chapter 1.
    """
    import matplotlib.pyplot as plt

    frame = history_frame(history)
    if metrics is None:
        metrics = [c for c in frame.columns if not c.startswith("val_")]
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise KeyError(f"plot_history(): no column {missing} in history {list(frame.columns)}")
    if ax is None:
        _, ax = plt.subplots()
    for metric in metrics:
        (line,) = ax.plot(frame.index, frame[metric], label=f"training {metric}")
        if f"val_{metric}" in frame.columns:
            ax.plot(
                frame.index,
                frame[f"val_{metric}"],
                linestyle="--",
                color=line.get_color(),
                label=f"validation {metric}",
            )
    ax.set_xlabel(frame.index.name)
    ax.set_ylabel(metrics[0] if len(metrics) == 1 else "value")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_function(
    f: Callable[[np.ndarray], np.ndarray],
    x: Any = None,
    y: Any = None,
    *,
    ax: Any = None,
    xlim: tuple[float, float] | None = None,
    label: str = "model",
    num: int = 200,
) -> Any:
    """Draw the curve ``f`` over a grid and, if given, the data points ``(x, y)``; return the Axes.

    The grid spans ``xlim`` or, by default, the range of ``x``. Introduced in Chapter 1.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    if xlim is None:
        if x is None:
            raise ValueError("plot_function() needs data x or an explicit xlim")
        xs = np.asarray(x, dtype=float)
        xlim = (float(xs.min()), float(xs.max()))
    grid = np.linspace(xlim[0], xlim[1], num)
    if x is not None and y is not None:
        ax.scatter(x, y, s=12, alpha=0.6, label="data")
    ax.plot(grid, np.asarray(f(grid), dtype=float), color="C1", linewidth=2, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    return ax
