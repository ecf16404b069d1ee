"""The Chapter 4 checks accept right answers and reject wrong ones with a message that teaches."""

import math

import numpy as np
import pytest

from dlcourse.checks import ch04_sgd as checks


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ question 1: log-cosh
def right_log_cosh(y_true, y_pred):
    e = np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))
    return float(np.mean(e + np.log1p(np.exp(-2 * e)) - np.log(2)))


def stable_via_logaddexp(y_true, y_pred):
    e = np.asarray(y_pred, float) - np.asarray(y_true, float)
    return float(np.mean(np.logaddexp(e, -e) - np.log(2)))


def naive_log_cosh(y_true, y_pred):
    with np.errstate(over="ignore"):
        return float(np.mean(np.log(np.cosh(np.asarray(y_pred) - np.asarray(y_true)))))


def page_huber(y_true, y_pred, delta=1.0):
    """The chapter page's Huber loss, copied unchanged."""
    e = np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))
    return float(np.mean(np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))))


def test_log_cosh_reference_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(1)
    t, p = rng.normal(0, 3, 30), rng.normal(0, 3, 30)
    want = float(keras.losses.LogCosh()(t.reshape(1, -1), p.reshape(1, -1)))
    assert abs(checks.reference_log_cosh(t, p) - want) < 1e-5


@pytest.mark.parametrize("right", [right_log_cosh, stable_via_logaddexp])
def test_log_cosh_accepts_every_stable_form(right):
    checks.check_log_cosh(right)
    checks.check_log_cosh(right, np.array([1.0, -2.0]), np.array([4000.0, 3.0]))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (naive_log_cosh, "overflows"),
        (lambda t, p: float(np.mean((np.asarray(p) - np.asarray(t)) ** 2)), "squared error"),
        (lambda t, p: float(np.mean(np.abs(np.asarray(p) - np.asarray(t)))), "mean absolute error"),
        (lambda t, p: float(np.sum(np.log(np.cosh(np.asarray(p) - np.asarray(t))))), "sum over the examples"),
        (page_huber, "is .*, which is not right"),
        (not_written, "not written yet"),
    ],
)
def test_log_cosh_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_log_cosh(wrong)


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


# ------------------------------------------------------------------ question 3: SGD step on the MAE
def right_step(w, b, X, y, lr):
    sign = np.sign(X @ w + b - y)
    return w - lr * X.T @ sign / len(y), b - lr * np.mean(sign)


def page_mse_step(w, b, X, y, lr):
    """The chapter page's update (mean squared error), copied unchanged."""
    residual = X @ w + b - y
    return w - lr * 2 * X.T @ residual / len(y), b - lr * 2 * np.mean(residual)


def test_sgd_step_mae_accepts_a_minibatch_step():
    checks.check_sgd_step_mae(right_step)
    rng = np.random.default_rng(3)
    checks.check_sgd_step_mae(right_step, rng.normal(size=4), -1.0, rng.normal(size=(7, 4)), rng.normal(size=7), 0.3)


def _scaled(factor, sign=-1):
    def step(w, b, X, y, lr):
        s = np.sign(X @ w + b - y)
        return w + sign * factor * lr * X.T @ s / len(y), b + sign * factor * lr * np.mean(s)

    return step


@pytest.mark.parametrize(
    "wrong, message",
    [
        (page_mse_step, "mean \\*squared\\* error"),
        (_scaled(1, sign=+1), "stepped \\*up\\*"),
        (_scaled(5), "\\*sum\\*"),
        (_scaled(2), "twice as long"),
        (lambda w, b, X, y, lr: (w, b), "new_w is"),
        (lambda w, b, X, y, lr: right_step(w, b, X, y, lr)[0], "tuple of two"),
        (not_written, "not written yet"),
    ],
)
def test_sgd_step_mae_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_sgd_step_mae(wrong)


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
        (_with_w1(lambda d, h, x, w2: d * w2 * h * (1 - h)), "derivative of z with respect to w1"),
        (_with_w1(lambda d, h, x, w2: d * w2 * h * x), "wrong derivative of the sigmoid"),
        (_with_w1(lambda d, h, x, w2: d * w2 * x), "wrong derivative of the sigmoid"),
        (_with_w1(lambda d, h, x, w2: d * h * (1 - h) * x), "through the output layer"),
        (_with_w1(lambda d, h, x, w2: d * w2 * h * (1 - h) * x + 1), "dL_dw1"),
        (lambda *a: (right_grads(*a)[0], right_grads(*a)[1] * 2), "dL_dw2"),
        (lambda *a: [*right_grads(*a)], "tuple of two"),
        (not_written, "not written yet"),
    ],
)
def test_chain_rule_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_chain_rule(wrong)


def page_tanh_grads(x, y, w1, b1, w2, b2):
    """The chapter page's tanh network, copied unchanged: the wrong network for this question."""
    z = w1 * x + b1
    h = np.tanh(z)
    d = 2 * (w2 * h + b2 - y)
    return d * w2 * (1 - np.tanh(z) ** 2) * x, d * h


def test_chain_rule_rejects_the_pages_tanh_network():
    with pytest.raises(AssertionError, match="dL_dw2"):
        checks.check_chain_rule(page_tanh_grads)


def test_chain_rule_messages_never_state_the_formula():
    for wrong in (_with_w1(lambda d, h, x, w2: d * w2 * h * x), _with_w1(lambda d, h, x, w2: 0.0)):
        with pytest.raises(AssertionError) as error:
            checks.check_chain_rule(wrong)
        assert "*" not in str(error.value) and "(1 -" not in str(error.value)


# ------------------------------------------------------------------ question 5: divergence limit
def right_limit(X):
    A = np.column_stack([X, np.ones(len(X))])
    return 2 / np.linalg.eigvalsh(A.T @ A / len(X)).max()


def page_limit(X):
    """The chapter page's limit for the full MSE, copied unchanged."""
    A = np.column_stack([X, np.ones(len(X))]).astype(float)
    return 2 / np.linalg.eigvalsh(2 * A.T @ A / len(X)).max()


def test_max_stable_lr_accepts_the_limit_in_any_form():
    checks.check_max_stable_lr(right_limit)
    # the same number from the largest singular value
    checks.check_max_stable_lr(lambda X: 2 * len(X) / np.linalg.norm(np.column_stack([X, np.ones(len(X))]), 2) ** 2)


def test_max_stable_lr_reference_is_where_gradient_descent_starts_to_diverge():
    rng = np.random.default_rng(0)
    X, y = rng.normal(2, 1.5, size=(40, 3)), rng.normal(size=40)
    limit = checks.reference_max_stable_lr(X)
    assert not checks.gradient_descent_diverges(X, y, 0.97 * limit)
    assert checks.gradient_descent_diverges(X, y, 1.03 * limit)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (page_limit, "factor 1/2"),
        (lambda X: 2 / np.linalg.eigvalsh(X.T @ X / len(X)).max(), "ignores the bias"),
        (lambda X: right_limit(X) / len(X), "factor n"),
        (lambda X: 0.1, "is 0.1, which is not right"),
        (not_written, "not written yet"),
    ],
)
def test_max_stable_lr_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_max_stable_lr(wrong)


# ------------------------------------------------------------------ question 6: choose a learning rate
def test_choose_lr_accepts_the_best_final_rate():
    checks.check_choose_lr(lambda s: s.iloc[-1].idxmin())
    checks.check_choose_lr(lambda s: float(s.iloc[-1].dropna().idxmin()))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s: 0.2, "diverged"),
        (lambda s: float(s.min().idxmin()), "at \\*some\\* epoch"),
        (lambda s: float(s.iloc[0].idxmin()), "another learning rate ends with a lower"),
        (lambda s: 0.5, "not one of the swept"),
        (not_written, "not written yet"),
    ],
)
def test_choose_lr_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_choose_lr(wrong)


# ------------------------------------------------------------------ question 7: beat the least-squares line
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


_rng = np.random.default_rng(5)
X_TRAIN = _rng.normal(size=(400, 11))
Y_TRAIN = X_TRAIN[:, 0] + 2 * np.abs(X_TRAIN[:, 1]) + 5 + _rng.normal(0, 0.1, 400)
X_VAL = _rng.normal(size=(60, 11))
Y_VAL = X_VAL[:, 0] + 2 * np.abs(X_VAL[:, 1]) + 5 + _rng.normal(0, 0.1, 60)
LINE_MAE = checks.least_squares_mae(X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)


def check(model, history):
    checks.check_beats_least_squares(model, history, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)


def test_beats_least_squares_accepts_a_model_below_the_line_by_the_margin():
    check(FakeModel(Y_VAL, LINE_MAE - 0.02), FakeHistory(20))


@pytest.mark.parametrize(
    "model, history, message",
    [
        (None, None, "`model` is still None"),
        (FakeModel(Y_VAL), None, "`history` is still None"),
        ("a model", FakeHistory(5), "Keras model"),
        (FakeModel(Y_VAL), {"acc": [1]}, "Keras History"),
        (FakeModel(Y_VAL), FakeHistory(101), "101 epochs"),
        (FakeModel(Y_VAL), FakeHistory(5, val=False), "validation_data"),
        (FakeModel(Y_VAL, units=3), FakeHistory(5), "one predicted quality per wine"),
        (FakeModel(Y_VAL, offset=LINE_MAE - 0.01), FakeHistory(5), "beat it by 0.015"),
    ],
)
def test_beats_least_squares_names_the_problem(model, history, message):
    with pytest.raises(AssertionError, match=message):
        check(model, history)


class CurveHistory:
    def __init__(self, val_loss):
        self.history = {"loss": [1.0] * len(val_loss), "val_loss": list(val_loss)}


@pytest.mark.parametrize(
    "history, loss, message",
    [
        (CurveHistory([0.9, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7]), "mae", "lowest after epoch 3 of 7 and rose"),
        (CurveHistory([3.0, 2.0, 1.5, 1.2, 1.0]), "mae", "still falling at the last epoch"),
        (CurveHistory([0.6, 0.5, 0.5, 0.5, 0.5]), "mse", "minimises the mean squared error, but it is scored"),
        (CurveHistory([0.6, 0.5, 0.5, 0.5, 0.5]), "mae", "does not yet beat the line"),
    ],
)
def test_beats_least_squares_names_what_went_wrong_in_the_run(history, loss, message):
    model = FakeModel(Y_VAL, offset=LINE_MAE)
    model.loss = loss
    with pytest.raises(AssertionError, match=message) as failure:
        check(model, history)
    assert "absolute error at least" not in str(failure.value)


def test_beats_least_squares_reports_a_failing_predict():
    class Broken(FakeModel):
        def predict(self, X, verbose=0):
            raise ValueError("expected shape (None, 5)")

    with pytest.raises(AssertionError, match="predict.*expected shape"):
        check(Broken(Y_VAL), FakeHistory(5))


def test_beats_least_squares_on_real_keras_models():
    keras = pytest.importorskip("keras")

    def train(hidden):
        keras.utils.set_random_seed(0)
        layers = [keras.layers.Dense(64, activation="relu")] if hidden else []
        output = keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(5.0))
        model = keras.Sequential([keras.Input(shape=(11,)), *layers, output])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mae")
        return model, model.fit(X_TRAIN, Y_TRAIN, epochs=60, batch_size=32, validation_data=(X_VAL, Y_VAL),
                                verbose=0)

    check(*train(hidden=True))  # a ReLU network captures |x1|
    with pytest.raises(AssertionError, match="least-squares line reaches"):
        check(*train(hidden=False))  # a linear model cannot beat the line by the margin
