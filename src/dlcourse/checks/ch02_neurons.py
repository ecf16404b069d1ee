"""Student-facing checks for Chapter 2, ``ch02_neurons``.

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them.

:func:`check_dense_stack` (in ``_models``, shared by later chapters) checks a Keras model of
Dense layers to a specification; it is introduced here, in Chapter 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._common import check_close, check_finite, check_implemented, check_shape, fail
from ._models import activation_name, check_dense_stack, ordinal  # noqa: F401  (re-exported for Chapter 2)

# ---------------------------------------------------------------- question 1

def check_neuron_by_hand(x_aug, w_aug, z, x, w, b) -> None:
    """Question 1: the augmented vectors [1, x] and [b, w], and the neuron's output z."""
    __tracebackhide__ = True
    for name, value in (("x_aug", x_aug), ("w_aug", w_aug), ("z_by_hand", z)):
        if value is None:
            fail(f"`{name}` is still None: replace it with your answer.")
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    x_aug = check_finite(x_aug, "`x_aug`")
    w_aug = check_finite(w_aug, "`w_aug`")
    n = x.size + 1
    if x_aug.shape != (n,):
        fail(f"`x_aug` has shape {x_aug.shape}; with {x.size} inputs plus x0 = 1 it has {n} numbers.")
    if w_aug.shape != (n,):
        fail(f"`w_aug` has shape {w_aug.shape}; with {w.size} weights plus the bias it has {n} numbers.")
    if np.allclose(x_aug[-1], 1) and np.allclose(x_aug[:-1], x) and not np.isclose(x_aug[0], 1):
        fail("`x_aug` has the 1 at the end; the bias trick puts x0 = 1 first: [1, x1, x2, x3].")
    check_close(x_aug, np.r_[1.0, x], "`x_aug`", hint="It is the input vector with x0 = 1 in front.")
    if np.isclose(w_aug[-1], b) and np.allclose(w_aug[:-1], w) and not np.isclose(w_aug[0], b):
        fail("`w_aug` has the bias at the end; it goes first, as w0, matched with x0 = 1.")
    check_close(w_aug, np.r_[b, w], "`w_aug`", hint="It is the weight vector with the bias b in front, as w0.")
    z = float(check_finite(z, "`z_by_hand`"))
    if np.isclose(z, x @ w) and not np.isclose(b, 0):
        fail(f"`z_by_hand` is {z:g}, the weighted sum without the bias: add b (that is w0 * x0).")
    check_close(z, x @ w + b, "`z_by_hand`", rtol=1e-4, atol=1e-6,
                hint="Multiply matching entries of x_aug and w_aug and add the products.")


# ---------------------------------------------------------------- question 2

def check_bias_trick(add_bias_column: Callable, pack_weights: Callable, X=None, w=None, b=None) -> None:
    """Question 2: [1, X] @ [b, w] equals X @ w + b for a batch of examples."""
    __tracebackhide__ = True
    if X is None:
        rng = np.random.default_rng(2)
        X = rng.normal(size=(5, 3)).round(2)
        w = np.array([0.5, -1.0, 2.0])
        b = 0.25
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    n, k = X.shape
    X_aug = check_shape(check_implemented(add_bias_column, "`add_bias_column`", X), (n, k + 1),
                        f"`add_bias_column(X)` for X of shape {X.shape}")
    X_aug = check_finite(X_aug, "`add_bias_column(X)`")
    if np.allclose(X_aug[:, -1], 1) and not np.allclose(X_aug[:, 0], 1):
        fail("`add_bias_column` put the column of ones last; put it first, as x0.")
    if not np.allclose(X_aug[:, 0], 1):
        fail("The first column of `add_bias_column(X)` should be all ones (x0 = 1 for every example).")
    if not np.allclose(X_aug[:, 1:], X):
        fail("After the column of ones, `add_bias_column(X)` should contain X unchanged.")
    w_aug = check_finite(check_implemented(pack_weights, "`pack_weights`", w, b), "`pack_weights(w, b)`")
    if w_aug.shape != (k + 1,):
        fail(f"`pack_weights(w, b)` has shape {w_aug.shape}; with {k} weights and one bias it has shape ({k + 1},).")
    if np.isclose(w_aug[-1], b) and not np.isclose(w_aug[0], b):
        fail("`pack_weights` put the bias last; put it first, as w0, to match x0 = 1.")
    check_close(w_aug, np.r_[b, w], "`pack_weights(w, b)`", hint="It is [b, w1, w2, ...].")
    check_close(X_aug @ w_aug, X @ w + b, "`add_bias_column(X) @ pack_weights(w, b)`")


# ---------------------------------------------------------------- question 3

def keras_param_count(layer_sizes: Sequence[int]) -> int:
    """Parameters of a Keras stack of Dense layers: [inputs, units1, units2, ...] -> count_params()."""
    import keras

    model = keras.Sequential([keras.Input(shape=(layer_sizes[0],))]
                             + [keras.layers.Dense(u) for u in layer_sizes[1:]])
    return int(model.count_params())


def check_count_dense_params(count_fn: Callable, architectures: Sequence[Sequence[int]] | None = None) -> None:
    """Question 3: count_dense_params(layer_sizes) agrees with Keras's count_params()."""
    __tracebackhide__ = True
    if architectures is None:
        architectures = ([7, 4, 3, 1], [11, 1], [2, 3, 2])
    for sizes in architectures:
        sizes = list(sizes)
        got = check_implemented(count_fn, "`count_dense_params`", list(sizes))
        if got is None:
            fail("`count_dense_params` returned None: did you forget `return`?")
        want = keras_param_count(sizes)
        weights_only = sum(a * b for a, b in zip(sizes, sizes[1:]))
        if got == weights_only and got != want:
            fail(f"count_dense_params({sizes}) gave {got}, the weights only: every unit also has a bias, "
                 "so a layer has (inputs + 1) x units parameters.")
        if got != want:
            fail(f"count_dense_params({sizes}) gave {got}, but Keras counts {want} parameters "
                 "(model.count_params()) for that stack of Dense layers.")


# ---------------------------------------------------------------- question 4

def check_build_mlp(build_fn: Callable, input_dim: int = 784, hidden_units=(512, 512, 512),
                    num_classes: int = 10) -> Any:
    """Question 4: build_mlp returns Dense layers with ReLU hidden layers and a softmax output."""
    __tracebackhide__ = True
    import keras

    keras.utils.set_random_seed(0)
    model = check_implemented(build_fn, "`build_mlp`", input_dim, list(hidden_units), num_classes)
    units = [*hidden_units, num_classes]
    check_dense_stack(model, input_dim, units, ["relu"] * len(hidden_units) + ["softmax"],
                      what=f"build_mlp({input_dim}, {list(hidden_units)}, {num_classes})")
    return model


# ---------------------------------------------------------------- question 5

def check_set_neuron_weights(set_fn: Callable, weights_by_neuron=None, biases=None) -> None:
    """Question 5: a Dense layer gets one neuron's weights per row of ``weights_by_neuron``."""
    __tracebackhide__ = True
    import keras

    if weights_by_neuron is None:
        weights_by_neuron = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
        biases = [0.1, -0.2]
    W = np.asarray(weights_by_neuron, dtype=float)
    units, inputs = W.shape
    model = keras.Sequential([keras.Input(shape=(inputs,)), keras.layers.Dense(units)])
    layer = model.layers[0]
    try:
        check_implemented(set_fn, "`set_neuron_weights`", layer, weights_by_neuron, biases)
    except ValueError as error:
        fail(f"Keras refused the weights: {error}. A Dense layer with {inputs} inputs and {units} units "
             f"has a kernel of shape ({inputs}, {units}) and a bias of shape ({units},).")
    kernel, bias = layer.get_weights()
    if kernel.shape != (inputs, units):  # pragma: no cover (Keras refuses a wrong shape first)
        fail(f"The layer's kernel has shape {kernel.shape}; it should be ({inputs}, {units}).")
    if kernel.shape == W.shape and np.allclose(kernel, W) and not np.allclose(kernel, W.T):
        fail("The kernel holds each neuron's weights in a row; Keras wants one column per neuron: "
             "transpose the weights.")
    check_close(kernel, W.T, "The layer's kernel (get_weights()[0])",
                hint=f"Keras stores the kernel with shape (inputs, units) = ({inputs}, {units}), "
                     "one column per neuron.")
    check_close(bias, np.asarray(biases, dtype=float), "The layer's bias (get_weights()[1])")


# ---------------------------------------------------------------- question 6

def mse_of(model: Any, X, y) -> float:
    """Mean squared error of a Keras model's predictions on (X, y)."""
    prediction = np.asarray(model.predict(np.asarray(X, dtype="float32"), verbose=0), dtype=float).reshape(-1)
    return float(np.mean((prediction - np.asarray(y, dtype=float).reshape(-1)) ** 2))


def check_linear_unit_fit(model: Any, X_val, y_val, threshold: float) -> None:
    """Question 6: one linear Dense unit on the wine features, trained to a validation MSE below ``threshold``."""
    __tracebackhide__ = True
    X_val = np.asarray(X_val)
    check_dense_stack(model, X_val.shape[1], [1], ["linear"])
    value = mse_of(model, X_val, y_val)
    if not np.isfinite(value):
        fail("The model predicts NaN or infinity: the learning rate is far too large.")
    optimizer = getattr(model, "optimizer", None)
    if value >= threshold and (optimizer is None or int(optimizer.iterations) == 0):
        fail("`model` has not been trained yet: compile it with loss='mse' and call model.fit(...).")
    if value >= threshold:
        fail(f"Your linear unit has a validation MSE of {value:.3f}; the exercise asks for less than "
             f"{threshold}. Train for more epochs or try another learning rate.")


# ---------------------------------------------------------------- question 7

def _dense_model(inputs: int, units: int, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(inputs,)), keras.layers.Dense(units)])
    rng = np.random.default_rng(seed)
    model.layers[0].set_weights([rng.normal(size=(inputs, units)), rng.normal(size=units)])
    return model


def check_numpy_predict(predict_fn: Callable, inputs: int = 11, units: int = 1, n: int = 6, seed: int = 0) -> None:
    """Question 7: NumPy predictions from get_weights() equal the Keras model's own predictions."""
    __tracebackhide__ = True
    model = _dense_model(inputs, units, seed)
    X = np.random.default_rng(seed + 1).normal(size=(n, inputs)).astype("float32")
    got = check_implemented(predict_fn, "`numpy_predict`", model, X)
    if got is None:
        fail("`numpy_predict` returned None: did you forget `return`?")
    got = check_finite(got, "`numpy_predict(model, X)`")
    if got.shape != (n, units):
        fail(f"`numpy_predict(model, X)` has shape {got.shape} for {n} examples; like model.predict it "
             f"should have shape ({n}, {units}): one row per example, one column per unit.")
    kernel, bias = model.get_weights()
    if np.allclose(got, X @ kernel, atol=1e-4) and not np.allclose(bias, 0):
        fail("Your predictions leave out the bias: add the second array from get_weights().")
    check_close(got, model.predict(X, verbose=0), "`numpy_predict(model, X)`", rtol=1e-4, atol=1e-4,
                hint="Read kernel and bias with model.get_weights(); the output is X @ kernel + bias.")
