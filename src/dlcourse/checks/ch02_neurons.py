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

from ._common import call_returning_arguments, check_close, check_finite, check_implemented, check_shape, fail  # noqa: F401
from ._models import activation_name, check_dense_stack, ordinal  # noqa: F401  (re-exported for Chapter 2)

# ---------------------------------------------------------------- question 1

def check_neuron_by_hand(x_aug, w_aug, z, x, w, b) -> None:
    """Question 1: the augmented vectors [1, x] and [b, w], and the neuron's output z."""
    __tracebackhide__ = True
    for name, value in (("x_aug", x_aug), ("w_aug", w_aug), ("z_by_hand", z)):
        if value is None:
            fail(f"`{name}` is still None: replace it with your answer.", tag="by_hand_none")
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    x_aug = check_finite(x_aug, "`x_aug`")
    w_aug = check_finite(w_aug, "`w_aug`")
    n = x.size + 1
    if x_aug.shape != (n,):
        fail(f"`x_aug` has shape {x_aug.shape}; with {x.size} inputs plus x0 = 1 it has {n} numbers.", tag="x_aug_shape")
    if w_aug.shape != (n,):
        fail(f"`w_aug` has shape {w_aug.shape}; with {w.size} weights plus the bias it has {n} numbers.", tag="w_aug_shape")
    if np.allclose(x_aug[-1], 1) and np.allclose(x_aug[:-1], x) and not np.isclose(x_aug[0], 1):
        fail("`x_aug` has the 1 at the end; the bias trick puts x0 = 1 first: [1, x1, x2, x3].", tag="x_aug_one_last")
    check_close(x_aug, np.r_[1.0, x], "`x_aug`", hint="It is the input vector with x0 = 1 in front.")
    if np.isclose(w_aug[-1], b) and np.allclose(w_aug[:-1], w) and not np.isclose(w_aug[0], b):
        fail("`w_aug` has the bias at the end; it goes first, as w0, matched with x0 = 1.", tag="w_aug_bias_last")
    check_close(w_aug, np.r_[b, w], "`w_aug`", hint="It is the weight vector with the bias b in front, as w0.")
    z = float(check_finite(z, "`z_by_hand`"))
    if np.isclose(z, x @ w) and not np.isclose(b, 0):
        fail(f"`z_by_hand` is {z:g}, the weighted sum without the bias: add b (that is w0 * x0).", tag="z_without_bias")
    check_close(z, x @ w + b, "`z_by_hand`", rtol=1e-4, atol=1e-6,
                hint="Multiply matching entries of x_aug and w_aug and add the products.")


def reference_neuron_output(x, w, b) -> float:
    """The output w . x + b of one linear unit, computed as [b, w] . [1, x] (the bias trick)."""
    return float(np.r_[1.0, np.asarray(x, dtype=float)] @ np.r_[float(b), np.asarray(w, dtype=float)])


def check_neuron_output(fn: Callable, cases=None) -> None:
    """Question 1: ``neuron_output(x, w, b)`` gives a linear unit's output for any x, w and b."""
    __tracebackhide__ = True
    if cases is None:
        cases = [([1.0, -2.0], [0.5, 0.25], -1.5), ([3.0], [2.0], 0.5), ([0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], 2.0)]
    for x, w, b in cases:
        got = check_implemented(fn, "`neuron_output`", list(x), list(w), b)
        if got is None:
            fail("`neuron_output` returned None: did you forget `return`?", tag="no_return")
        got = float(np.asarray(check_finite(got, "`neuron_output(x, w, b)`")).reshape(-1)[0]) \
            if np.size(got) == 1 else fail(f"`neuron_output` returned {np.size(got)} numbers; a unit has one output.",
                                           tag="output_not_a_number")
        want = reference_neuron_output(x, w, b)
        if np.isclose(got, float(np.dot(x, w))) and not np.isclose(b, 0):
            fail(f"`neuron_output` for {len(x)} inputs leaves out the bias: it is the weight of x0 = 1.",
                 tag="bias_left_out")
        if not np.isclose(got, want, rtol=1e-6, atol=1e-9):
            fail(f"`neuron_output` gives {got:g} for a unit with {len(x)} inputs, which is not its output.",
                 tag="output_wrong")


# ---------------------------------------------------------------- question 2

def _bias_trick_cases() -> list:
    """Question 2's own cases: one unit and a layer of two, each on a batch and on one example."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 3)).round(2)
    w, b = np.array([0.5, -1.0, 2.0]), 0.25
    W, b_layer = rng.normal(size=(3, 2)).round(2), np.array([0.5, -1.0])
    return [(X, w, b), (X[0], w, b), (X, W, b_layer), (X[1], W, b_layer)]


def check_bias_trick(add_bias_column: Callable, pack_weights: Callable, X=None, w=None, b=None) -> None:
    """Question 2: [1, X] @ [b, W] equals X @ W + b, for one example or a batch, one unit or a layer.

    ``X`` is one example, shape ``(k,)``, or a batch, ``(n, k)``; ``w`` the weights of one unit, ``(k,)``,
    with a number ``b``, or a layer's kernel, ``(k, m)``, with biases ``b`` of shape ``(m,)``. Without
    ``X`` the check runs its own four combinations.
    """
    __tracebackhide__ = True
    if X is None:
        for case in _bias_trick_cases():
            check_bias_trick(add_bias_column, pack_weights, *case)
        return
    X, w, b = np.asarray(X, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    example = "one example" if X.ndim == 1 else "a batch"
    X_aug = check_shape(check_implemented(add_bias_column, "`add_bias_column`", X.copy()),
                        X.shape[:-1] + (X.shape[-1] + 1,), f"`add_bias_column(X)` for {example} of shape {X.shape}")
    X_aug = check_finite(X_aug, "`add_bias_column(X)`")
    if np.allclose(X_aug[..., -1], 1) and not np.allclose(X_aug[..., 0], 1):
        fail("`add_bias_column` put the ones last; put them first, as x0.", tag="ones_last")
    if not np.allclose(X_aug[..., 0], 1):
        fail(f"The first column of `add_bias_column(X)` should be all ones (x0 = 1 for every example); "
             f"here for {example}.", tag="ones_column_wrong")
    if not np.allclose(X_aug[..., 1:], X):
        fail(f"After the ones, `add_bias_column(X)` should contain X unchanged; here for {example}.",
             tag="inputs_changed")
    unit = "one unit" if w.ndim == 1 else f"a layer of {w.shape[1]} units"
    want = np.concatenate([b.reshape((1,) + w.shape[1:]), w], axis=0)
    w_aug = check_finite(check_implemented(pack_weights, "`pack_weights`", w.copy(), b.copy()),
                         "`pack_weights(w, b)`")
    if w_aug.shape != want.shape:
        fail(f"`pack_weights(w, b)` for {unit} (weights of shape {w.shape}) has shape {w_aug.shape}; with one "
             f"bias per unit it has shape {want.shape}.", tag="packed_shape")
    if np.allclose(w_aug[-1], want[0]) and not np.allclose(w_aug[0], want[0]):
        fail(f"`pack_weights` put the bias last (for {unit}); put it first, as w0, to match x0 = 1.",
             tag="bias_last")
    check_close(w_aug, want, f"`pack_weights(w, b)` for {unit}", hint="The bias is the weight of x0 = 1.")
    check_close(X_aug @ w_aug, X @ w + b, "`add_bias_column(X) @ pack_weights(w, b)`")


# ---------------------------------------------------------------- question 3

def keras_param_count(layer_sizes: Sequence[int]) -> int:
    """Parameters of a Keras stack of Dense layers: [inputs, units1, units2, ...] -> count_params()."""
    import keras

    model = keras.Sequential([keras.Input(shape=(layer_sizes[0],))]
                             + [keras.layers.Dense(u) for u in layer_sizes[1:]])
    return int(model.count_params())


def reference_max_hidden_units(n_inputs: int, n_outputs: int, budget: int) -> int:
    """Widest hidden layer h of a Dense network n_inputs -> h -> n_outputs with at most ``budget`` parameters."""
    return max(0, (budget - n_outputs) // (n_inputs + 1 + n_outputs))


def check_max_hidden_units(fn: Callable, cases: Sequence[tuple[int, int, int]] | None = None) -> None:
    """Question 3: the widest hidden layer that fits a parameter budget, checked with Keras's count."""
    __tracebackhide__ = True
    if cases is None:
        cases = ((11, 1, 200), (4, 3, 60), (784, 10, 100_000))
    for n_inputs, n_outputs, budget in cases:
        got = check_implemented(fn, "`max_hidden_units`", n_inputs, n_outputs, budget)
        if got is None:
            fail("`max_hidden_units` returned None: did you forget `return`?", tag="max_units_none")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            fail(f"`max_hidden_units` returned a {type(got).__name__}; a number of units is a whole number (int).", tag="max_units_not_int")
        call = f"max_hidden_units({n_inputs}, {n_outputs}, {budget})"
        want = reference_max_hidden_units(n_inputs, n_outputs, budget)
        if got < 0:
            fail(f"{call} gave {got}; a layer cannot have a negative number of units.", tag="max_units_negative")
        used = keras_param_count([n_inputs, int(got), n_outputs]) if got > 0 else 0
        if used > budget:
            weights_only = n_inputs * int(got) + int(got) * n_outputs
            reason = (" Your count leaves out the biases." if weights_only <= budget else "")
            fail(f"{call} gave {got}, but a network {n_inputs}-{got}-{n_outputs} has {used:,} parameters, "
                 f"more than the budget of {budget:,}.{reason}", tag="max_units_over_budget")
        if got < want:
            fail(f"{call} gave {got}, but a wider hidden layer still fits the budget of {budget:,}.", tag="max_units_too_small")


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
    try:  # the layer as the student's function left it (by value: the grader's own layer never changes)
        _, (layer, *_) = call_returning_arguments(set_fn, "`set_neuron_weights`", layer, weights_by_neuron, biases)
    except ValueError as error:
        fail(f"Keras refused the weights: {error}. A Dense layer with {inputs} inputs and {units} units "
             f"has a kernel of shape ({inputs}, {units}) and a bias of shape ({units},).", tag="weights_refused")
    kernel, bias = layer.get_weights()
    if kernel.shape != (inputs, units):  # pragma: no cover (Keras refuses a wrong shape first)
        fail(f"The layer's kernel has shape {kernel.shape}; it should be ({inputs}, {units}).", tag="kernel_shape")
    if kernel.shape == W.shape and np.allclose(kernel, W) and not np.allclose(kernel, W.T):
        fail("The kernel holds each neuron's weights in a row; Keras wants one column per neuron: "
             "transpose the weights.", tag="kernel_not_transposed")
    check_close(kernel, W.T, "The layer's kernel (get_weights()[0])",
                hint=f"Keras stores the kernel with shape (inputs, units) = ({inputs}, {units}), "
                     "one column per neuron.")
    check_close(bias, np.asarray(biases, dtype=float), "The layer's bias (get_weights()[1])")


# ---------------------------------------------------------------- question 6

def mse_of(model: Any, X, y) -> float:
    """Mean squared error of a Keras model's predictions on (X, y)."""
    prediction = np.asarray(model.predict(np.asarray(X, dtype="float32"), verbose=0), dtype=float).reshape(-1)
    return float(np.mean((prediction - np.asarray(y, dtype=float).reshape(-1)) ** 2))


def least_squares_mse(X_train, y_train, X_eval, y_eval) -> float:
    """MSE on (X_eval, y_eval) of the least-squares linear fit (with intercept) to the training rows."""
    A = np.column_stack([np.asarray(X_train, dtype=float), np.ones(len(X_train))])
    beta = np.linalg.lstsq(A, np.asarray(y_train, dtype=float), rcond=None)[0]
    predictions = np.column_stack([np.asarray(X_eval, dtype=float), np.ones(len(X_eval))]) @ beta
    return float(np.mean((predictions - np.asarray(y_eval, dtype=float)) ** 2))


def check_linear_unit_fit(model: Any, X_train, y_train, X_eval, y_eval, tolerance: float = 0.10) -> None:
    """Question 6: one linear Dense unit, trained to within ``tolerance`` of the least-squares MSE."""
    __tracebackhide__ = True
    X_eval = np.asarray(X_eval)
    check_dense_stack(model, X_eval.shape[1], [1], ["linear"])
    value = mse_of(model, X_eval, y_eval)
    if not np.isfinite(value):
        fail("The model predicts NaN or infinity: the learning rate is far too large.", tag="fit_not_finite")
    best = least_squares_mse(X_train, y_train, X_eval, y_eval)
    optimizer = getattr(model, "optimizer", None)
    if not value <= (1 + tolerance) * best and (optimizer is None or int(optimizer.iterations) == 0):
        fail("`model` has not been trained yet: compile it with loss='mse' and call model.fit(...).", tag="fit_untrained")
    if not value <= (1 + tolerance) * best:  # fails closed: a NaN on either side fails
        fail(f"Your linear unit's MSE on these rows is {value:.3f}; the best linear fit (least squares on the "
             f"training rows) reaches {best:.3f}, and the exercise asks for at most {100 * tolerance:.0f} % more. "
             "Is it trained to convergence?", tag="fit_worse_than_least_squares")


# ---------------------------------------------------------------- question 7

_NUMPY_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
}


def dense_stack_model(layer_sizes: Sequence[int], activations: Sequence[str], seed: int):
    """A Keras Sequential of Dense layers with random weights and biases, for Question 7's checks."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(layer_sizes[0],))] + [
        keras.layers.Dense(units, activation=act) for units, act in zip(layer_sizes[1:], activations)])
    rng = np.random.default_rng(seed)
    for layer, (n_in, n_out) in zip(model.layers, zip(layer_sizes, layer_sizes[1:])):
        layer.set_weights([rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)])
    return model


def check_numpy_predict(predict_fn: Callable, layer_sizes: Sequence[int] = (5, 4, 3, 2),
                        activations: Sequence[str] = ("relu", "relu", "linear"), n: int = 6, seed: int = 0) -> None:
    """Question 7: a NumPy forward pass through every Dense layer equals the Keras model's predictions."""
    __tracebackhide__ = True
    model = dense_stack_model(layer_sizes, activations, seed)
    X = np.random.default_rng(seed + 1).normal(size=(n, layer_sizes[0])).astype("float32")
    got = check_implemented(predict_fn, "`numpy_predict`", model, X)
    if got is None:
        fail("`numpy_predict` returned None: did you forget `return`?", tag="predict_none")
    got = check_finite(got, "`numpy_predict(model, X)`")
    units = layer_sizes[-1]
    if got.shape != (n, units):
        fail(f"`numpy_predict(model, X)` has shape {got.shape} for {n} examples; like model.predict it "
             f"should have shape ({n}, {units}): one row per example, one column per output unit.", tag="predict_shape")
    want = model.predict(X, verbose=0)
    weights = model.get_weights()
    linear = X.astype(float)
    for kernel, bias in zip(weights[::2], weights[1::2]):
        linear = linear @ kernel + bias
    if np.allclose(got, linear, atol=1e-4) and not np.allclose(linear, want, atol=1e-4):
        fail("Your predictions skip the activations: each layer applies its own activation after "
             "its weighted sums (layer.activation.__name__ names it).", tag="predict_no_activation")
    check_close(got, want, "`numpy_predict(model, X)`", rtol=1e-4, atol=1e-4,
                hint="Do your predictions use every layer of the model, in order?")
