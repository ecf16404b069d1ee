"""The Chapter 4 checks accept right answers and reject wrong ones with a message that teaches."""

import math

import numpy as np
import pytest

from dlcourse.checks import ch04_sgd as checks


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ question 1: Huber
def right_huber(y_true, y_pred, delta=1.0):
    e = np.abs(y_pred - y_true)
    return float(np.mean(np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))))


def test_huber_reference_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    t, p = rng.normal(0, 3, 30), rng.normal(0, 3, 30)
    for delta in (0.5, 1.0, 2.0):
        want = float(keras.losses.Huber(delta=delta)(t[None], p[None]))
        assert np.isclose(checks.reference_huber(t, p, delta), want, rtol=1e-5)


def test_huber_accepts_the_mean_huber_loss():
    checks.check_huber(right_huber)
    checks.check_huber(right_huber, np.zeros(4), np.array([0.1, -0.3, 2.0, -5.0]), delta=0.5)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda t, p, d=1.0: float(np.mean((p - t) ** 2)), "mean squared error"),
        (lambda t, p, d=1.0: float(np.mean(np.abs(p - t))), "mean absolute error"),
        (
            lambda t, p, d=1.0: float(np.mean(np.where(np.abs(p - t) <= d, (p - t) ** 2, d * (np.abs(p - t) - 0.5 * d)))),
            "factor 0.5",
        ),
        (
            lambda t, p, d=1.0: float(np.mean(np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, d * np.abs(p - t)))),
            "subtract 0.5",
        ),
        (
            lambda t, p, d=1.0: float(np.mean(np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, d * ((p - t) - 0.5 * d)))),
            "absolute error",
        ),
        (lambda t, p, d=1.0: right_huber(t, p, d) * len(t), "sum"),
        (lambda t, p, d=1.0: np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, d * (np.abs(p - t) - 0.5 * d)), "one number"),
        (not_written, "not written yet"),
    ],
)
def test_huber_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_huber(wrong)


def test_huber_that_ignores_delta_is_rejected():
    with pytest.raises(AssertionError, match="delta"):
        checks.check_huber(lambda t, p, d=1.0: right_huber(t, p, 1.0), np.zeros(3), np.array([0.3, 1.5, -4.0]), delta=2.0)


# ------------------------------------------------------------------ question 2: steps per epoch
def test_steps_per_epoch_accepts_ceil():
    checks.check_steps_per_epoch(lambda n, b: math.ceil(n / b))
    checks.check_steps_per_epoch(lambda n, b: -(-n // b), cases=[(5, 8), (64, 32), (65, 32)])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, b: n // b, "round \\*up\\*"),
        (lambda n, b: n / b, "whole number"),
        (lambda n, b: None, "forget `return`"),
        (lambda n, b: n // b + 1, "not right"),
        (not_written, "not written yet"),
    ],
)
def test_steps_per_epoch_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_steps_per_epoch(wrong)


# ------------------------------------------------------------------ question 3: SGD step
def right_step(w, b, X, y, lr):
    r = X @ w + b - y
    return w - lr * 2 * X.T @ r / len(y), b - lr * 2 * np.mean(r)


def test_sgd_step_accepts_a_minibatch_step():
    checks.check_sgd_step(right_step)
    rng = np.random.default_rng(0)
    checks.check_sgd_step(right_step, rng.normal(size=4), -1.0, rng.normal(size=(9, 4)), rng.normal(size=9), 0.03)


def _scaled(factor):
    def step(w, b, X, y, lr):
        new_w, new_b = right_step(w, b, X, y, lr)
        return w + factor * (new_w - w), b + factor * (new_b - b)

    return step


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_scaled(-1), "up"),
        (_scaled(4), "sum"),
        (_scaled(0.5), "half"),
        (lambda w, b, X, y, lr: list(right_step(w, b, X, y, lr)), "tuple of two"),
        (lambda w, b, X, y, lr: (right_step(w, b, X, y, lr)[0][:2], right_step(w, b, X, y, lr)[1]), "shape"),
        (lambda w, b, X, y, lr: (right_step(w, b, X, y, lr)[0], b), "new_b"),
        (lambda w, b, X, y, lr: (w - lr * 2 * X.T @ (X @ w - y) / len(y), right_step(w, b, X, y, lr)[1]), "new_w"),
        (not_written, "not written yet"),
    ],
)
def test_sgd_step_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_sgd_step(wrong)


# ------------------------------------------------------------------ question 4: chain rule
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def right_grads(x, y, w1, b1, w2, b2):
    h = sigmoid(w1 * x + b1)
    d = 2 * (w2 * h + b2 - y)
    return d * w2 * h * (1 - h) * x, d * h


def test_chain_rule_reference_matches_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    args = (0.7, -0.3, 1.1, 0.4, -1.6, 0.2)
    v = [tf.Variable(a) for a in args[2:]]
    with tf.GradientTape() as tape:
        loss = (v[2] * tf.sigmoid(v[0] * args[0] + v[1]) + v[3] - args[1]) ** 2
    g = tape.gradient(loss, [v[0], v[2]])
    assert np.allclose(checks.reference_chain_rule(*args), [float(g[0]), float(g[1])], rtol=1e-5)


def test_chain_rule_accepts_the_right_gradients():
    checks.check_chain_rule(right_grads)
    checks.check_chain_rule(right_grads, -0.7, 0.4, 1.5, 0.2, -0.9, 0.05)


def _with_w1(dw1_fn):
    def grads(x, y, w1, b1, w2, b2):
        h = sigmoid(w1 * x + b1)
        d = 2 * (w2 * h + b2 - y)
        return dw1_fn(d, h, x, w2), d * h

    return grads


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: tuple(-g for g in right_grads(*a)), "wrong sign"),
        (_with_w1(lambda d, h, x, w2: d * w2 * h * (1 - h)), "dz/dw1 = x"),
        (_with_w1(lambda d, h, x, w2: d * w2 * h * x), "sigmoid derivative"),
        (_with_w1(lambda d, h, x, w2: d * w2 * x), "sigmoid derivative"),
        (_with_w1(lambda d, h, x, w2: d * h * (1 - h) * x), "w2"),
        (_with_w1(lambda d, h, x, w2: d * w2 * h * (1 - h) * x + 1), "dL_dw1"),
        (lambda *a: (right_grads(*a)[0], right_grads(*a)[1] * 2), "dL_dw2"),
        (lambda *a: [*right_grads(*a)], "tuple of two"),
        (not_written, "not written yet"),
    ],
)
def test_chain_rule_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_chain_rule(wrong)


# ------------------------------------------------------------------ question 5: learning rate
def test_lr_choice_must_be_one_of_the_swept_rates():
    import pandas as pd

    sweep = pd.DataFrame({0.001: [3.0, 2.0], 0.01: [1.0, 0.5], 0.2: [np.nan, np.nan]})
    checks.check_lr_choice(0.01, sweep)
    checks.check_lr_choice(np.float64(0.001), sweep)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_lr_choice(None, sweep)
    with pytest.raises(AssertionError, match="choose one of"):
        checks.check_lr_choice(0.05, sweep)


# ------------------------------------------------------------------ question 6: trained model
class FakeHistory:
    def __init__(self, epochs, val=True):
        self.history = {"loss": [1.0] * epochs, "mae": [1.0] * epochs}
        if val:
            self.history.update(val_loss=[1.0] * epochs, val_mae=[1.0] * epochs)


class FakeModel:
    """Predicts y_val plus a fixed offset, with a chosen output shape."""

    def __init__(self, y_val, offset=0.0, units=1):
        self.y_val, self.offset, self.units = np.asarray(y_val, float), offset, units

    def fit(self, *args, **kwargs):
        raise AssertionError("the check must not train the model")

    def predict(self, X, verbose=0):
        return np.repeat((self.y_val + self.offset)[:, None], self.units, axis=1)


X_VAL = np.zeros((20, 11))
Y_VAL = np.linspace(4, 7, 20)


def test_trained_model_accepts_a_good_model():
    checks.check_trained_model(FakeModel(Y_VAL, 0.3), FakeHistory(20), X_VAL, Y_VAL)


@pytest.mark.parametrize(
    "model, history, message",
    [
        (None, None, "`model` is still None"),
        (FakeModel(Y_VAL), None, "`history` is still None"),
        ("a model", FakeHistory(5), "Keras model"),
        (FakeModel(Y_VAL), {"acc": [1]}, "Keras History"),
        (FakeModel(Y_VAL), FakeHistory(31), "31 epochs"),
        (FakeModel(Y_VAL), FakeHistory(5, val=False), "validation_data"),
        (FakeModel(Y_VAL, units=3), FakeHistory(5), "Dense\\(1\\)"),
        (FakeModel(Y_VAL, offset=0.7), FakeHistory(5), "validation MAE is 0.700"),
    ],
)
def test_trained_model_names_the_problem(model, history, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_trained_model(model, history, X_VAL, Y_VAL)


def test_trained_model_reports_a_failing_predict():
    class Broken(FakeModel):
        def predict(self, X, verbose=0):
            raise ValueError("expected shape (None, 5)")

    with pytest.raises(AssertionError, match="predict.*expected shape"):
        checks.check_trained_model(Broken(Y_VAL), FakeHistory(5), X_VAL, Y_VAL)


def test_trained_model_on_a_real_keras_model():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 11)).astype("float32")
    y = (X[:, 0] + 5).astype("float32")
    model = keras.Sequential([keras.Input(shape=(11,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse", metrics=["mae"])
    history = model.fit(X, y, epochs=15, batch_size=32, validation_data=(X, y), verbose=0)
    checks.check_trained_model(model, history, X, y)


# ------------------------------------------------------------------ question 7: best epoch
def test_best_epoch_counts_from_one():
    history = FakeHistory(4)
    history.history["val_loss"] = [3.0, 1.0, 2.0, 1.5]
    checks.check_best_epoch(2, history)
    checks.check_best_epoch(np.int64(2), history)
    with pytest.raises(AssertionError, match="counts epochs from 1"):
        checks.check_best_epoch(1, history)
    with pytest.raises(AssertionError, match="not the lowest"):
        checks.check_best_epoch(4, history)
    with pytest.raises(AssertionError, match="whole number"):
        checks.check_best_epoch(2.0, history)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_best_epoch(None, history)
    with pytest.raises(AssertionError, match="question 6"):
        checks.check_best_epoch(2, None)
    with pytest.raises(AssertionError, match="no `val_loss`"):
        checks.check_best_epoch(2, FakeHistory(4, val=False))
