"""The plotting helpers accept the history forms the course uses and draw what they say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dlcourse.plotting import history_frame, plot_function, plot_history  # noqa: E402


class FakeHistory:
    """Stands in for keras.callbacks.History, which keeps its curves in ``.history``."""

    def __init__(self, values):
        self.history = values


def test_history_frame_numbers_epochs_from_one():
    frame = history_frame(FakeHistory({"loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0]}))
    assert list(frame.index) == [1, 2, 3]
    assert frame.index.name == "epoch"
    assert frame["val_loss"].tolist() == [3.5, 2.5, 2.0]


def test_history_frame_accepts_dict_and_dataframe():
    assert history_frame({"mae": [1, 2]}).shape == (2, 1)
    assert history_frame(pd.DataFrame({"mae": [1, 2, 3]})).index[-1] == 3


@pytest.mark.parametrize("bad, error", [(42, TypeError), ({}, ValueError)])
def test_history_frame_rejects_non_histories_clearly(bad, error):
    with pytest.raises(error, match="history"):
        history_frame(bad)


def test_plot_history_pairs_training_and_validation_curves():
    ax = plot_history({"loss": [3, 2, 1], "val_loss": [4, 3, 2], "mae": [1, 1, 1], "val_mae": [2, 2, 2]})
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["training loss", "validation loss", "training mae", "validation mae"]
    # a metric and its validation twin share a colour, the twin is dashed
    loss, val_loss = ax.get_lines()[:2]
    assert loss.get_color() == val_loss.get_color() and val_loss.get_linestyle() == "--"
    plt.close("all")


def test_plot_history_log_scale_and_unknown_metric():
    ax = plot_history({"loss": [10, 1, 0.1]}, logy=True, title="t")
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    with pytest.raises(KeyError, match="accuracy"):
        plot_history({"loss": [1, 2]}, metrics=["accuracy"])
    plt.close("all")


def test_plot_function_draws_curve_over_data_range():
    x = np.array([0.0, 1.0, 2.0])
    ax = plot_function(lambda t: 2 * t + 1, x, 2 * x + 1, label="line")
    (curve,) = ax.get_lines()
    assert curve.get_xdata()[0] == 0.0 and curve.get_xdata()[-1] == 2.0
    np.testing.assert_allclose(curve.get_ydata(), 2 * curve.get_xdata() + 1)
    assert len(ax.collections) == 1  # the data points
    with pytest.raises(ValueError, match="xlim"):
        plot_function(np.sin)
    plt.close("all")
