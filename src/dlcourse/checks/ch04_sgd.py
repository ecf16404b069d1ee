"""Student-facing checks for Chapter 4, ``ch04_sgd`` (stochastic gradient descent).

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them. The
reference computations are plain NumPy, so that importing this module does not
need TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._common import call_for_number, check_close, check_finite, check_implemented, check_shape, fail


# ----------------------------------------------------------------------------- references
def reference_huber(y_true, y_pred, delta: float = 1.0) -> float:
    """Mean Huber loss: 0.5 e^2 where |e| <= delta, delta (|e| - 0.5 delta) elsewhere."""
    error = np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))
    quadratic = 0.5 * error**2
    linear = delta * (error - 0.5 * delta)
    return float(np.mean(np.where(error <= delta, quadratic, linear)))


def reference_steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of minibatches in one pass over ``n`` examples; the last batch may be smaller."""
    return math.ceil(n / batch_size)


def reference_sgd_step(w, b, X_batch, y_batch, lr):
    """One minibatch SGD step for y_hat = X w + b under the mean squared error."""
    X_batch = np.asarray(X_batch, dtype=float)
    residual = X_batch @ np.asarray(w, dtype=float) + b - np.asarray(y_batch, dtype=float)
    grad_w = 2 * X_batch.T @ residual / len(residual)
    grad_b = 2 * np.mean(residual)
    return np.asarray(w, dtype=float) - lr * grad_w, float(b - lr * grad_b)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference_chain_rule(x, y, w1, b1, w2, b2) -> tuple[float, float]:
    """(dL/dw1, dL/dw2) for y_hat = w2 * sigmoid(w1 x + b1) + b2 and L = (y_hat - y)^2."""
    h = _sigmoid(w1 * x + b1)
    dL_dyhat = 2 * (w2 * h + b2 - y)
    return float(dL_dyhat * w2 * h * (1 - h) * x), float(dL_dyhat * h)


# ----------------------------------------------------------------------------- question 1
def check_huber(huber_fn: Callable, y_true=None, y_pred=None, delta: float = 1.0) -> None:
    """Question 1: the mean Huber loss, quadratic for small errors and linear for large ones."""
    __tracebackhide__ = True
    if y_true is None:
        y_true = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
        y_pred = np.array([0.5, 1.0, 4.0, 2.8, -1.0])
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    value = call_for_number(huber_fn, "`huber`", y_true, y_pred, delta, hint=" (the mean)")
    error = y_pred - y_true
    small = np.abs(error) <= delta
    if np.isclose(value, np.mean(error**2)):
        fail("`huber` returned the mean squared error; large errors should count linearly, not squared.")
    if np.isclose(value, np.mean(np.abs(error))):
        fail("`huber` returned the mean absolute error; small errors should count as 0.5 * error**2.")
    if np.isclose(value, np.mean(np.where(small, error**2, delta * (np.abs(error) - 0.5 * delta)))):
        fail("For errors up to delta the Huber loss is 0.5 * error**2: the factor 0.5 is missing.")
    if np.isclose(value, np.mean(np.where(small, 0.5 * error**2, delta * np.abs(error)))):
        fail("For large errors the Huber loss is delta * (|error| - 0.5 * delta): subtract 0.5 * delta, "
             "so that the two pieces meet where |error| = delta.")
    if np.isclose(value, np.mean(np.where(small, 0.5 * error**2, delta * (error - 0.5 * delta)))):
        fail("Use the absolute error |error| in the linear piece: a negative error counts as much as a positive one.")
    total = float(np.sum(np.where(small, 0.5 * error**2, delta * (np.abs(error) - 0.5 * delta))))
    if np.isclose(value, total) and len(error) > 1:
        fail("`huber` returned the sum over the examples; take the mean instead.")
    check_close(value, reference_huber(y_true, y_pred, delta), "`huber(y_true, y_pred, delta)`",
                hint="Use 0.5 * e**2 where |e| <= delta and delta * (|e| - 0.5 * delta) elsewhere, then average. "
                     "Did you use the `delta` argument rather than the number 1?")


# ----------------------------------------------------------------------------- question 2
def check_steps_per_epoch(fn: Callable, cases=None) -> None:
    """Question 2: minibatches in one epoch, counting the last, smaller batch."""
    __tracebackhide__ = True
    if cases is None:
        cases = [(1000, 100), (1279, 32), (10, 3)]
    for n, batch_size in cases:
        got = check_implemented(fn, "`steps_per_epoch`", n, batch_size)
        if got is None:
            fail("`steps_per_epoch` returned None: did you forget `return`?")
        if not isinstance(got, (int, np.integer)):
            fail(f"`steps_per_epoch` returned a {type(got).__name__}; return a whole number (an int).")
        want = reference_steps_per_epoch(n, batch_size)
        if got == n // batch_size and got != want:
            fail(f"For n = {n} and batch_size = {batch_size} you return {got}: the last batch is smaller "
                 "but it is still a step, so round *up*.")
        if got != want:
            fail(f"For n = {n} and batch_size = {batch_size} you return {got}, which is not right.")


# ----------------------------------------------------------------------------- question 3
def check_sgd_step(step_fn: Callable, w=None, b: float = 0.5, X_batch=None, y_batch=None, lr: float = 0.1) -> None:
    """Question 3: one minibatch SGD step for the linear model under the mean squared error."""
    __tracebackhide__ = True
    if w is None:
        w = np.array([0.5, -1.0, 2.0])
        X_batch = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
        y_batch = np.array([3.0, -1.0, 0.5, 2.0])
    w = np.asarray(w, dtype=float)
    result = check_implemented(step_fn, "`sgd_step`", w.copy(), b, np.asarray(X_batch, float),
                               np.asarray(y_batch, float), lr)
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`sgd_step` should return a tuple of two things: (new_w, new_b).")
    new_w = check_shape(check_finite(result[0], "new_w"), w.shape, "new_w")
    new_b = check_finite(result[1], "new_b")
    if new_b.size != 1:
        fail(f"new_b should be one number, but it has shape {new_b.shape}.")
    new_b = float(new_b)
    want_w, want_b = reference_sgd_step(w, b, X_batch, y_batch, lr)
    grad_w, grad_b = (w - want_w) / lr, (b - want_b) / lr
    if np.allclose(new_w, w + lr * grad_w) and np.isclose(new_b, b + lr * grad_b):
        fail("You stepped *up* the gradient: subtract lr times the gradient to go downhill.")
    if np.allclose(new_w, w - lr * grad_w * len(y_batch)) and np.isclose(new_b, b - lr * grad_b * len(y_batch)):
        fail("Your gradient is the *sum* over the batch; the loss is a mean, so average over the examples.")
    if np.allclose(new_w, w - lr * grad_w / 2) and np.isclose(new_b, b - lr * grad_b / 2):
        fail("Your step is half as long as it should be: the derivative of error**2 is 2 * error.")
    check_close(new_w, want_w, "new_w", rtol=1e-6, atol=1e-9,
                hint="dL/dw is 2 * X_batch.T @ (X_batch @ w + b - y_batch) / batch size.")
    check_close(new_b, want_b, "new_b", rtol=1e-6, atol=1e-9,
                hint="dL/db is the mean of 2 * (X_batch @ w + b - y_batch).")


# ----------------------------------------------------------------------------- question 4
def check_chain_rule(grad_fn: Callable, x=1.5, y=2.0, w1=0.8, b1=-0.5, w2=1.2, b2=0.3) -> None:
    """Question 4: (dL/dw1, dL/dw2) of the tiny sigmoid network by the chain rule."""
    __tracebackhide__ = True
    result = check_implemented(grad_fn, "`chain_rule_grads`", x, y, w1, b1, w2, b2)
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`chain_rule_grads` should return a tuple of two numbers: (dL_dw1, dL_dw2).")
    dw1 = float(check_finite(result[0], "dL_dw1"))
    dw2 = float(check_finite(result[1], "dL_dw2"))
    want_w1, want_w2 = reference_chain_rule(x, y, w1, b1, w2, b2)
    if np.isclose(dw1, -want_w1) and np.isclose(dw2, -want_w2):
        fail("Both derivatives have the wrong sign: dL/dy_hat is 2 * (y_hat - y), not 2 * (y - y_hat).")
    check_close(dw2, want_w2, "dL_dw2", rtol=1e-5, atol=1e-8,
                hint="dL/dw2 = dL/dy_hat * dy_hat/dw2, and dy_hat/dw2 is the hidden value h.")
    if np.isclose(dw1, want_w1 / x):
        fail("dL_dw1 is missing the last factor of the chain: dz/dw1 = x.")
    h = _sigmoid(w1 * x + b1)
    if np.isclose(dw1, want_w1 / (1 - h)) or np.isclose(dw1, want_w1 / (h * (1 - h))):
        fail("dL_dw1 has the wrong sigmoid derivative: sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)).")
    if np.isclose(dw1, want_w1 / w2):
        fail("dL_dw1 is missing the factor dy_hat/dh = w2.")
    check_close(dw1, want_w1, "dL_dw1", rtol=1e-5, atol=1e-8,
                hint="Multiply along the chain: dL/dy_hat * w2 * sigmoid'(z) * x.")


# ----------------------------------------------------------------------------- question 5
def check_lr_choice(choice: Any, sweep: pd.DataFrame) -> None:
    """Question 5: the learning rate is one of the swept values."""
    __tracebackhide__ = True
    options = [float(c) for c in sweep.columns]
    if choice is None:
        fail(f"`lr_choice` is still None: set it to one of the learning rates in the sweep, {options}.")
    value = float(check_finite(choice, "`lr_choice`"))
    if not any(np.isclose(value, o) for o in options):
        fail(f"`lr_choice` is {value}; choose one of the learning rates in the sweep, {options}.")


# ----------------------------------------------------------------------------- question 6
def _history_dict(history: Any, what: str = "`history`") -> dict:
    if history is None:
        fail(f"{what} is still None: store the result of `model.fit(...)` in it.")
    values = getattr(history, "history", history)
    if not isinstance(values, dict) or "loss" not in values:
        fail(f"{what} should be what `model.fit` returns (a Keras History), not a {type(history).__name__}.")
    return values


def check_trained_model(model: Any, history: Any, X_val, y_val, threshold: float = 0.65,
                        max_epochs: int = 30) -> None:
    """Question 6: a Keras model trained for at most ``max_epochs`` reaches validation MAE < ``threshold``."""
    __tracebackhide__ = True
    if model is None:
        fail("`model` is still None: build a Keras model and store it in `model`.")
    if not hasattr(model, "predict") or not hasattr(model, "fit"):
        fail(f"`model` should be a Keras model, but it is a {type(model).__name__}.")
    values = _history_dict(history)
    epochs = len(values["loss"])
    if epochs > max_epochs:
        fail(f"Your model trained for {epochs} epochs; the budget is at most {max_epochs}.")
    if "val_loss" not in values:
        fail("`history` has no validation loss: pass `validation_data=(X_val, y_val)` to `model.fit`.")
    X_val = np.asarray(X_val, dtype="float32")
    y_val = np.asarray(y_val, dtype=float)
    problem = None
    try:
        predictions = np.asarray(model.predict(X_val, verbose=0), dtype=float)
    except Exception as error:  # a wrong input shape, an uncompiled model ...
        problem = f"{type(error).__name__}: {error}".strip()[:400]
    if problem is not None:  # fail outside the handler: the student sees one traceback, not two
        fail(f"`model.predict(X_val)` failed: {problem}")
    if predictions.shape not in {(len(y_val),), (len(y_val), 1)}:
        fail(f"Your model outputs shape {predictions.shape} for {len(y_val)} wines; "
             "the last layer should be Dense(1): one predicted quality per wine.")
    predictions = check_finite(predictions.reshape(-1), "The model's predictions")
    mae = float(np.mean(np.abs(predictions - y_val)))
    if mae >= threshold:
        fail(f"Your model's validation MAE is {mae:.3f}; the target is below {threshold}. "
             "Check that the features are the standardised ones, try Adam with a larger learning rate "
             "or more epochs (at most the budget).")


# ----------------------------------------------------------------------------- question 7
def check_best_epoch(best_epoch: Any, history: Any) -> None:
    """Question 7: the epoch (counted from 1) with the lowest validation loss in ``history``."""
    __tracebackhide__ = True
    values = _history_dict(history, "`history` (from question 6)")
    if "val_loss" not in values:
        fail("`history` (from question 6) has no `val_loss`: train with validation_data first.")
    if best_epoch is None:
        fail("`best_epoch` is still None: set it to the epoch with the lowest validation loss.")
    if isinstance(best_epoch, bool) or not isinstance(best_epoch, (int, np.integer)):
        fail(f"`best_epoch` should be a whole number (an int), not a {type(best_epoch).__name__}.")
    val_loss = np.asarray(values["val_loss"], dtype=float)
    want = int(np.argmin(val_loss)) + 1
    if best_epoch == want - 1 and want - 1 >= 0:
        fail(f"`best_epoch` is {best_epoch}, one less than the epoch you want: the table of "
             "history_frame counts epochs from 1, while np.argmin counts positions from 0.")
    if best_epoch != want:
        fail(f"`best_epoch` is {best_epoch}, but its validation loss is not the lowest one in `history`.")
