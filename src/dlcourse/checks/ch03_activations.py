"""Student-facing checks for Chapter 3, ``ch03_activations``.

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them.
Keras is imported only inside the checks that need it, so that importing this
module stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._common import call_for_number, check_close, check_finite, check_implemented, check_type, fail

# ---------------------------------------------------------------- reference functions


def reference_leaky_relu(z, alpha: float = 0.1) -> np.ndarray:
    """Leaky ReLU: z for z > 0, alpha * z otherwise."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def reference_leaky_relu_grad(z, alpha: float = 0.1) -> np.ndarray:
    """Derivative of leaky ReLU, with the value alpha at z = 0 (the convention of Chapter 3)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha)


def _identity(z):
    """The identity activation (a module-level function, so the grader can pass it to a student's code)."""
    return z


def _relu(z):
    return np.maximum(0.0, np.asarray(z, dtype=float))


def _sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


#: The activations of question 2 with their output ranges (lower, upper).
ACTIVATION_RANGES = {
    "identity": (-np.inf, np.inf),
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf),
    "leaky_relu": (-np.inf, np.inf),
}
_FUNCTIONS = {
    "identity": lambda z: np.asarray(z, dtype=float),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": _relu,
    "leaky_relu": reference_leaky_relu,
}

# ---------------------------------------------------------------- question 1


def check_leaky_relu(leaky_relu: Callable, leaky_relu_grad: Callable, z=None, alpha: float = 0.1) -> None:
    """Question 1: leaky ReLU and its derivative, elementwise on an array, for a given slope alpha."""
    __tracebackhide__ = True
    if z is None:
        z = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
    z = np.asarray(z, dtype=float)
    got = check_implemented(leaky_relu, "`leaky_relu`", z, alpha)
    got = check_finite(got, "`leaky_relu(z, alpha)`")
    if got.shape != z.shape:
        fail(f"`leaky_relu` returned shape {got.shape} for an input of shape {z.shape}; "
             "apply it to every element and keep the shape.")
    want = reference_leaky_relu(z, alpha)
    positive, negative = z > 0, z < 0
    if not np.allclose(got[positive], want[positive]):
        fail("For positive z, leaky ReLU returns z itself; check `leaky_relu` on positive inputs.")
    if negative.any() and np.allclose(got[negative], 0):
        fail("For negative z your `leaky_relu` returns 0, which is plain ReLU; leaky ReLU returns alpha * z.")
    if negative.any() and not np.allclose(got[negative], want[negative]):
        for other in (0.01, 0.1, 0.2, 0.3):
            if not np.isclose(other, alpha) and np.allclose(got[negative], other * z[negative]):
                fail(f"For negative z your `leaky_relu` uses the slope {other}, but it was called with "
                     f"alpha={alpha}: use the argument `alpha`, not a fixed number.")
        fail("For negative z leaky ReLU returns alpha * z; your values for negative inputs are not right.")
    check_close(got, want, "`leaky_relu(z, alpha)`")

    grad = check_implemented(leaky_relu_grad, "`leaky_relu_grad`", z, alpha)
    grad = check_finite(grad, "`leaky_relu_grad(z, alpha)`")
    if grad.shape != z.shape:
        fail(f"`leaky_relu_grad` returned shape {grad.shape} for an input of shape {z.shape}; "
             "return one derivative per element (np.where helps).")
    want_grad = reference_leaky_relu_grad(z, alpha)
    if np.allclose(grad, want) and not np.allclose(want, want_grad):
        fail("`leaky_relu_grad` returned the function's values, not its slope: the derivative of z is 1 "
             "and the derivative of alpha * z is alpha.")
    if not np.allclose(grad[positive], 1.0):
        fail("For positive z the slope of leaky ReLU is 1; check `leaky_relu_grad` on positive inputs.")
    if negative.any() and not np.allclose(grad[negative], alpha):
        fail("For negative z the slope of leaky ReLU is alpha (the same for every negative z); "
             "check `leaky_relu_grad` on negative inputs.")
    at_zero = z == 0
    if at_zero.any() and not np.allclose(grad[at_zero], alpha):
        fail("At z = 0 exactly, the exercise uses the left-hand slope alpha: use `z > 0` for the slope 1.")
    check_close(grad, want_grad, "`leaky_relu_grad(z, alpha)`")


# ---------------------------------------------------------------- question 2


def check_ranges(output_range: Mapping[str, Any]) -> None:
    """Question 2: the (lower, upper) bounds of each activation's outputs."""
    __tracebackhide__ = True
    check_type(output_range, Mapping, "`output_range`")
    for name, (lower, upper) in ACTIVATION_RANGES.items():
        if name not in output_range:
            fail(f"`output_range` has no entry for {name!r}; give every activation a range.")
        value = output_range[name]
        if value is None:
            fail(f"output_range[{name!r}] is still None: replace it with a tuple (lower, upper).")
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            fail(f"output_range[{name!r}] should be a tuple of two numbers (lower, upper), not {value!r}.")
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            low = high = None  # fail outside the handler: one traceback, not two
        if low is None:
            fail(f"output_range[{name!r}] should hold numbers; use -np.inf and np.inf for no bound.")
        if low > high:
            fail(f"output_range[{name!r}] = {tuple(value)} has its lower bound above its upper bound.")
        z_grid = np.linspace(-20, 20, 4001)
        for bound, reference, side in ((low, lower, -1.0), (high, upper, 1.0)):
            if np.isinf(reference) and np.isfinite(bound):   # find a z whose output passes the bound
                z_far = side * (abs(bound) + 1.0)
                while side * float(_FUNCTIONS[name](z_far)) <= side * bound:
                    z_far *= 2
                z_grid = np.append(z_grid, z_far)
        outputs = _FUNCTIONS[name](z_grid)
        outside = (outputs < low) | (outputs > high)
        if outside.any():
            z_out = z_grid[outside][0]
            fail(f"output_range[{name!r}] = {tuple(value)} is too narrow: {name}({z_out:g}) = "
                 f"{float(_FUNCTIONS[name](z_out)):.4g} lies outside it.")
        if (low, high) != (lower, upper):
            fail(f"output_range[{name!r}] = {tuple(value)} is too wide: {name} never gets near one of "
                 "these bounds. What does it approach as z goes to -infinity, and to +infinity?")


# ---------------------------------------------------------------- question 3


def reference_neuron(x, w, g: Callable) -> float:
    """One neuron with bias-first weights w = (w0, w1, ..., wk): g(w0 + w1 x1 + ... + wk xk)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    return float(g(w[0] + w[1:] @ x))


def check_neuron(neuron: Callable, x=None, w=None, g: Callable | None = None) -> None:
    """Question 3: a neuron with bias-first weights (the x0 = 1 trick)."""
    __tracebackhide__ = True
    if x is None:
        x = np.array([1.0, -2.0, 0.5])
        w = np.array([0.5, 1.0, 1.0, -2.0])
        g = _identity
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    value = call_for_number(neuron, "`neuron`", x, w, g)
    if np.isclose(value, float(g(w[1:] @ x))) and not np.isclose(w[0], 0):
        fail("`neuron` left out the bias: w[0] is the weight of the constant input x0 = 1.")
    if np.isclose(value, float(g(w[:-1] @ x))) and not np.isclose(value, reference_neuron(x, w, g)):
        fail("`neuron` paired the weights with the wrong inputs: w[0] is the bias, and w[1:] go with x.")
    if np.isclose(value, float(w[0] + w[1:] @ x)) and not np.isclose(value, reference_neuron(x, w, g)):
        fail("`neuron` returned the weighted sum z; apply the activation g to it.")
    check_close(value, reference_neuron(x, w, g), "`neuron(x, w, g)`",
                hint="Compute z = w[0] + w[1:] @ x, then return g(z).")


def check_forward_pass(hidden, output, x, hidden_weights, output_weights) -> None:
    """Question 3: the hidden activations (ReLU) and the output (identity) of the exercise network."""
    __tracebackhide__ = True
    if hidden is None:
        fail("`hidden` is still None: set it to the array of the hidden layer's activations.")
    if output is None:
        fail("`output` is still None: set it to the network's output, one number.")
    hidden_weights = np.asarray(hidden_weights, dtype=float)
    hidden = check_finite(hidden, "`hidden`").ravel()
    if hidden.shape != (len(hidden_weights),):
        fail(f"`hidden` has {hidden.size} values; the hidden layer has {len(hidden_weights)} neurons.")
    z = np.array([w[0] + w[1:] @ np.asarray(x, dtype=float) for w in hidden_weights])
    if np.allclose(hidden, z) and not np.allclose(z, _relu(z)):
        fail("`hidden` holds the weighted sums z; the hidden neurons apply ReLU to them.")
    check_close(hidden, _relu(z), "`hidden`", hint="Use your `neuron` with relu, once per hidden neuron.")
    value = check_finite(output, "`output`")
    if value.size != 1:
        fail(f"`output` should be one number, but it has shape {value.shape}.")
    w = np.asarray(output_weights, dtype=float)
    check_close(float(value.reshape(())), w[0] + w[1:] @ _relu(z), "`output`",
                hint="The output neuron takes the hidden activations as its inputs and uses the identity.")


# ---------------------------------------------------------------- question 4


def check_dense_layer(dense_layer: Callable, n: int = 6, k: int = 4, m: int = 3, activation: str = "relu",
                      seed: int = 0) -> None:
    """Question 4: a dense layer on a batch, g(X @ W + b), compared with a Keras Dense layer."""
    __tracebackhide__ = True
    import keras

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)).astype("float32")
    W = rng.normal(size=(k, m)).astype("float32")
    b = rng.normal(size=(m,)).astype("float32")
    g = {"relu": _relu, "sigmoid": _sigmoid, "tanh": np.tanh, "linear": _identity}[activation]
    got = check_implemented(dense_layer, "`dense_layer`", X, W, b, g)
    got = check_finite(got, "`dense_layer(X, W, b, g)`")
    if got.shape != (n, m):
        fail(f"`dense_layer` returned shape {got.shape} for X of shape {X.shape} and W of shape {W.shape}; "
             f"X @ W + b has shape {(n, m)}: one row per example, one column per unit.")
    layer = keras.layers.Dense(m, activation=activation)
    layer.build((None, k))
    layer.set_weights([W, b])
    want = keras.ops.convert_to_numpy(layer(X))
    if np.allclose(got, g(X @ W)) and not np.allclose(got, want, atol=1e-5):
        fail("`dense_layer` left out the bias b: add it to X @ W (it is broadcast to every row).")
    if np.allclose(got, X @ W + b, atol=1e-5) and not np.allclose(got, want, atol=1e-5):
        fail("`dense_layer` returned X @ W + b; apply the activation g to it.")
    check_close(got, want, "`dense_layer(X, W, b, g)`", rtol=1e-5, atol=1e-5,
                hint="It should agree with a Keras Dense layer that has kernel W and bias b.")


#: The names of question 4's shapes, in the order of the forward pass.
SHAPE_KEYS = ("W1", "b1", "H1", "W2", "b2", "H2", "W3", "b3", "output")


def expected_shapes(model: Any, X) -> dict[str, tuple[int, ...]]:
    """Shapes of every kernel, bias and layer output of a Sequential of Dense layers on the batch X."""
    shapes: dict[str, tuple[int, ...]] = {}
    n = np.asarray(X).shape[0]
    for i, layer in enumerate(model.layers, start=1):
        kernel, bias = layer.get_weights()
        shapes[f"W{i}"] = tuple(kernel.shape)
        shapes[f"b{i}"] = tuple(bias.shape)
        shapes[f"H{i}"] = (n, kernel.shape[1])
    last = len(model.layers)
    shapes["output"] = shapes.pop(f"H{last}")
    return shapes


def check_shapes(shapes: Mapping[str, Any], model: Any, X) -> None:
    """Question 4: the shape of every matrix in the matrix view of ``model`` on the batch ``X``."""
    __tracebackhide__ = True
    check_type(shapes, Mapping, "`shapes`")
    want = expected_shapes(model, X)
    for key, expected in want.items():
        if key not in shapes:
            fail(f"`shapes` has no entry {key!r}; give the shape of every matrix {list(want)}.")
        value = shapes[key]
        if value is None:
            fail(f"shapes[{key!r}] is still None: replace it with a tuple such as (3, 4).")
        if not isinstance(value, tuple) or not all(isinstance(v, (int, np.integer)) for v in value):
            fail(f"shapes[{key!r}] should be a tuple of whole numbers like (3, 4) or (4,), not {value!r}.")
        if value == expected:
            continue
        if key.startswith("W") and value == expected[::-1]:
            fail(f"shapes[{key!r}] = {value} is the transpose: Keras stores a Dense kernel as "
                 "(inputs, units), so that X @ W works for a batch X of shape (n, inputs).")
        if key.startswith("b") and len(value) == 2:
            fail(f"shapes[{key!r}] = {value}: a bias is a vector with one entry per unit, shape (units,); "
                 "broadcasting adds it to every row.")
        if key.startswith("H") or key == "output":
            fail(f"shapes[{key!r}] = {value} is not right: a layer's output has one row per example in the "
                 "batch and one column per unit of that layer.")
        fail(f"shapes[{key!r}] = {value} is not right. Look at the layer's number of inputs and units.")


# ---------------------------------------------------------------- question 5


def check_collapse(collapse: Callable, shapes: tuple[int, int, int] = (3, 4, 2), seed: int = 0) -> None:
    """Question 5: two linear layers (W1, b1), (W2, b2) as one layer (W, b), checked on Keras layers."""
    __tracebackhide__ = True
    import keras

    k, h, m = shapes
    keras.utils.set_random_seed(seed)
    two = keras.Sequential([
        keras.Input(shape=(k,)),
        keras.layers.Dense(h, bias_initializer="random_normal"),
        keras.layers.Dense(m, bias_initializer="random_normal"),
    ])
    (W1, b1), (W2, b2) = (layer.get_weights() for layer in two.layers)
    result = check_implemented(collapse, "`collapse`", W1, b1, W2, b2)
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`collapse` should return a tuple of two arrays: (W, b).")
    W, b = (check_finite(v, what) for v, what in zip(result, ("The W you returned", "The b you returned")))
    if W.shape == (m, k):
        fail(f"Your W has shape {W.shape}, the transpose of what is needed: W1 {W1.shape} @ W2 {W2.shape} "
             f"gives shape {(k, m)}.")
    if W.shape != (k, m):
        fail(f"Your W has shape {W.shape}; a layer from {k} inputs to {m} units needs a kernel of shape {(k, m)}.")
    check_close(W, W1 @ W2, "The combined W", rtol=1e-5, atol=1e-6,
                hint="Substitute the first layer's output x W1 + b1 into the second layer.")
    if b.shape != (m,):
        fail(f"Your b has shape {b.shape}; the combined layer has {m} units, so b has shape {(m,)}.")
    if np.allclose(b, b2) and not np.allclose(b1 @ W2, 0):
        fail("Your b is only b2: the first layer's bias b1 also passes through W2.")
    X = np.random.default_rng(seed).normal(size=(7, k)).astype("float32")
    check_close(X @ W + b, keras.ops.convert_to_numpy(two(X)), "The one-layer outputs X @ W + b",
                rtol=1e-4, atol=1e-5,
                hint="They differ from the two Keras layers' outputs: b1 is multiplied by W2 before b2 is added.")


def check_one_layer(one_layer: Any, two_layers: Any, X) -> None:
    """Question 5: a single Dense layer that reproduces two stacked linear Dense layers."""
    __tracebackhide__ = True
    import keras

    if one_layer is None:
        fail("`one_linear` is still None: build a Sequential model with one Dense layer and set its weights.")
    check_type(one_layer, keras.Model, "`one_linear`")
    dense = [layer for layer in one_layer.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 1:
        fail(f"`one_linear` has {len(dense)} Dense layers; the point is that one is enough.")
    if _activation_name(dense[0]) != "linear":
        fail("The Dense layer of `one_linear` has an activation; the two layers it replaces have none.")
    got = check_finite(one_layer.predict(np.asarray(X), verbose=0), "`one_linear`'s outputs")
    want = two_layers.predict(np.asarray(X), verbose=0)
    if got.shape != want.shape:
        fail(f"`one_linear` outputs shape {got.shape}; the two-layer model outputs {want.shape}.")
    check_close(got, want, "`one_linear`'s outputs", rtol=1e-4, atol=1e-5,
                hint="Set its weights with layer.set_weights([W, b]) using your collapse().")


# ---------------------------------------------------------------- question 6


def _activation_name(layer: Any) -> str:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", str(fn))


def check_curve_model(model: Any, X, y, threshold: float) -> None:
    """Question 6: a trained deep network with a nonlinear hidden layer and a linear output fits the curve."""
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`model` is still None: build, compile and train a keras.Sequential model.")
    check_type(model, keras.Model, "`model`")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) < 2:
        fail(f"`model` has {len(dense)} Dense layer(s); the exercise asks for at least one hidden layer "
             "before the output layer.")
    hidden_activations = [_activation_name(layer) for layer in dense[:-1]]
    if all(name == "linear" for name in hidden_activations):
        fail("None of your hidden layers has an activation, so the network is one straight line; give the "
             "hidden Dense layers activation='relu'.")
    if dense[-1].units != 1:
        fail(f"The output layer has {dense[-1].units} units; predict one number per example.")
    if _activation_name(dense[-1]) != "linear":
        fail(f"The output layer uses {_activation_name(dense[-1])!r}; y takes values of both signs, so a "
             "regression output needs no activation (the identity).")
    try:
        input_shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, TypeError, ValueError, IndexError):
        input_shape = None
    if input_shape != (1,):
        fail("`model` should start with keras.Input(shape=(1,)): one feature per example.")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not int(optimizer.iterations.numpy()):
        fail("`model` has not been trained yet: compile it and call model.fit(...).")
    prediction = check_finite(model.predict(np.asarray(X), verbose=0), "The model's predictions")
    mse = float(np.mean((prediction.reshape(-1) - np.asarray(y, dtype=float).reshape(-1)) ** 2))
    if mse >= threshold:
        fail(f"Your model's MSE on the data is {mse:.3f}; the exercise asks for below {threshold}. Train for "
             "more epochs, or use more hidden units.")


# ---------------------------------------------------------------- question 7

#: The tasks of question 7 and the activation whose range matches each target.
OUTPUT_TASKS = {
    "temperature_celsius": "linear",
    "probability_of_rain": "sigmoid",
    "rainfall_mm": "relu",
    "steering_angle": "tanh",
}
OUTPUT_CHOICES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
_TARGET_VALUES = {
    "temperature_celsius": "any real number, negative or positive",
    "probability_of_rain": "a number between 0 and 1",
    "rainfall_mm": "zero or any positive amount, but never negative",
    "steering_angle": "a number between -1 and 1",
}


def check_output_activations(choices: Mapping[str, Any]) -> None:
    """Question 7: each task gets an output activation whose range is the set of the target's values."""
    __tracebackhide__ = True
    check_type(choices, Mapping, "`output_activation`")
    for task in OUTPUT_TASKS:
        if task not in choices:
            fail(f"`output_activation` has no entry for {task!r}; choose one for every task.")
        value = choices[task]
        if value is None:
            fail(f"output_activation[{task!r}] is still None: replace it with one of {list(OUTPUT_CHOICES)}.")
        if value not in OUTPUT_CHOICES:
            fail(f"output_activation[{task!r}] is {value!r}; use one of the Keras names {list(OUTPUT_CHOICES)}.")
        if value != OUTPUT_TASKS[task]:
            fail(f"output_activation[{task!r}] = {value!r} does not fit: the target is "
                 f"{_TARGET_VALUES[task]}. Pick the activation whose range is exactly that.")
