"""Student-facing checks for Chapter 3, ``ch03_activations``.

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them.
Keras is imported only inside the checks that need it, so that importing this
module stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import call_for_number, check_close, check_finite, check_implemented, check_type, fail

# ---------------------------------------------------------------- reference functions


def reference_leaky_relu(z, alpha: float = 0.01) -> np.ndarray:
    """Leaky ReLU: z for z > 0, alpha * z otherwise (used for the activation ranges)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def reference_elu(z, alpha: float = 1.0) -> np.ndarray:
    """ELU: z for z > 0, alpha * (e^z - 1) otherwise; like keras.activations.elu."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def reference_elu_grad(z, alpha: float = 1.0) -> np.ndarray:
    """Derivative of ELU: 1 for z > 0, alpha * e^z otherwise (the left-hand slope at z = 0)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def _identity(z):
    """The identity activation (a module-level function, so the grader can pass it to a student's code)."""
    return z


def _relu(z):
    return np.maximum(0.0, np.asarray(z, dtype=float))


def _sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


# ---------------------------------------------------------------- question 1


def check_elu(elu: Callable, elu_grad: Callable, z=None, alpha: float = 0.5) -> None:
    """Question 1: ELU and its derivative, elementwise on an array, for a given alpha."""
    __tracebackhide__ = True
    if z is None:
        z = np.array([-30.0, -3.0, -0.5, 0.0, 0.25, 2.0])
    z = np.asarray(z, dtype=float)
    got = check_finite(check_implemented(elu, "`elu`", z, alpha), "`elu(z, alpha)`")
    if got.shape != z.shape:
        fail(f"`elu` returned shape {got.shape} for an input of shape {z.shape}; "
             "apply it to every element and keep the shape.", tag="elu_shape")
    want = reference_elu(z, alpha)
    positive, negative = z > 0, z < 0
    if not np.allclose(got[positive], want[positive]):
        fail("For positive z, ELU returns z itself; check `elu` on positive inputs.", tag="elu_positive_wrong")
    if negative.any() and np.allclose(got[negative], 0):
        fail("For negative z your `elu` returns 0, which is plain ReLU.", tag="elu_is_relu")
    if negative.any() and np.allclose(got[negative], alpha * z[negative]):
        fail("For negative z your `elu` is a straight line, which is leaky ReLU; ELU curves and levels off.", tag="elu_is_leaky_relu")
    if negative.any() and not np.allclose(got[negative], want[negative]):
        for other in (0.1, 0.5, 1.0, 1.67):
            if not np.isclose(other, alpha) and np.allclose(got[negative], reference_elu(z, other)[negative]):
                fail(f"Your `elu` uses alpha={other}, but it was called with alpha={alpha}: use the argument "
                     "`alpha`, not a fixed number.", tag="elu_fixed_alpha")
        fail("Your `elu` is wrong for negative z; compare it with the formula term by term.", tag="elu_negative_wrong")
    check_close(got, want, "`elu(z, alpha)`")

    grad = check_finite(check_implemented(elu_grad, "`elu_grad`", z, alpha), "`elu_grad(z, alpha)`")
    if grad.shape != z.shape:
        fail(f"`elu_grad` returned shape {grad.shape} for an input of shape {z.shape}; "
             "return one derivative per element.", tag="elu_grad_shape")
    want_grad = reference_elu_grad(z, alpha)
    if np.allclose(grad, want):
        fail("`elu_grad` returned the function's values, not its slope.", tag="elu_grad_values")
    if not np.allclose(grad[positive], 1.0):
        fail("For positive z ELU is z itself; check the slope `elu_grad` gives there.", tag="elu_grad_positive_wrong")
    if negative.any() and np.allclose(grad[negative], alpha):
        fail("Your `elu_grad` gives the same slope for every negative z, as for leaky ReLU; ELU's curve "
             "flattens as z goes down.", tag="elu_grad_constant_negative")
    if negative.any() and not np.allclose(grad[negative], want_grad[negative]):
        fail("Your `elu_grad` is wrong for negative z: differentiate the negative branch of ELU.", tag="elu_grad_negative_wrong")
    at_zero = z == 0
    if at_zero.any() and not np.allclose(grad[at_zero], want_grad[at_zero]):
        fail("At z = 0 exactly, the exercise uses the left-hand slope (from the negative branch).", tag="elu_grad_at_zero")
    check_close(grad, want_grad, "`elu_grad(z, alpha)`")


# ---------------------------------------------------------------- question 2


def reference_dead_units(W, b, X) -> list[int]:
    """Indices of the ReLU units of a Dense layer (kernel W, bias b) that output 0 for every row of X."""
    z = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float)
    return [int(i) for i in np.flatnonzero(np.all(z <= 0, axis=0))]


def check_dead_units(dead_units: Callable, W=None, b=None, X=None) -> None:
    """Question 2: find the dead ReLU units of a layer on a batch of inputs."""
    __tracebackhide__ = True
    if W is None:
        X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -1.0], [2.0, 1.0]])
        W = np.array([[1.0, -1.0, 0.5, 0.0, 1.0], [0.5, -2.0, 0.0, 0.0, -1.0]])
        b = np.array([0.0, -0.5, -5.0, 0.0, 0.2])
    W, b, X = (np.asarray(a, dtype=float) for a in (W, b, X))
    result = check_implemented(dead_units, "`dead_units`", W.copy(), b.copy(), X.copy())
    if result is None:
        fail("`dead_units` returned None: did you forget `return`?", tag="dead_units_none")
    got = np.asarray(result)
    units = W.shape[1]
    if got.dtype == bool:
        fail("`dead_units` returned a boolean mask; return the indices of the dead units (np.flatnonzero "
             "turns a mask into indices).", tag="dead_units_mask")
    if got.size and (got.ndim != 1 or got.dtype.kind not in "iu"):
        fail(f"`dead_units` should return a list of unit indices (whole numbers), not {result!r:.80}.", tag="dead_units_not_indices")
    got_set = {int(i) for i in got.ravel()}
    if any(i < 0 or i >= units for i in got_set):
        fail(f"`dead_units` returned {sorted(got_set)}, but the layer's units are numbered 0 to {units - 1}.", tag="dead_units_out_of_range")
    z = X @ W + b
    want = set(reference_dead_units(W, b, X))
    some_example = {int(i) for i in np.flatnonzero(np.any(z <= 0, axis=0))}
    strict = {int(i) for i in np.flatnonzero(np.all(z < 0, axis=0))}
    no_bias = {int(i) for i in np.flatnonzero(np.all(X @ W <= 0, axis=0))}
    if got_set == some_example and got_set != want:
        fail("Your list includes units that are silent on only some examples; a dead unit is silent on "
             "every one of them.", tag="dead_units_sometimes_silent")
    if got_set == strict and got_set != want:
        fail("Your list leaves out a unit whose weighted sum is exactly 0 on every example: ReLU outputs 0 "
             "there too.", tag="dead_units_zero_sum_missed")
    if got_set == no_bias and got_set != want:
        fail("Your list ignores the bias b: it shifts every unit's weighted sum.", tag="dead_units_bias_ignored")
    if got_set != want:
        fail(f"`dead_units` returned {sorted(got_set)}, which is not right for this layer and batch.", tag="dead_units_wrong")


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
        fail("`neuron` left out the bias: w[0] is the weight of the constant input x0 = 1.", tag="neuron_no_bias")
    if np.isclose(value, float(g(w[:-1] @ x))) and not np.isclose(value, reference_neuron(x, w, g)):
        fail("`neuron` paired the weights with the wrong inputs: w[0] is the bias, and w[1:] go with x.", tag="neuron_weights_misaligned")
    if np.isclose(value, float(w[0] + w[1:] @ x)) and not np.isclose(value, reference_neuron(x, w, g)):
        fail("`neuron` returned the weighted sum z; apply the activation g to it.", tag="neuron_no_activation")
    check_close(value, reference_neuron(x, w, g), "`neuron(x, w, g)`",
                hint="Check which weight multiplies which input, and where the activation is applied.")


def check_forward_pass(hidden, output, x, hidden_weights, output_weights) -> None:
    """Question 3: the hidden activations (ReLU) and the output (identity) of the exercise network."""
    __tracebackhide__ = True
    if hidden is None:
        fail("`hidden` is still None: set it to the array of the hidden layer's activations.", tag="hidden_none")
    if output is None:
        fail("`output` is still None: set it to the network's output, one number.", tag="output_none")
    hidden_weights = np.asarray(hidden_weights, dtype=float)
    hidden = check_finite(hidden, "`hidden`").ravel()
    if hidden.shape != (len(hidden_weights),):
        fail(f"`hidden` has {hidden.size} values; the hidden layer has {len(hidden_weights)} neurons.", tag="hidden_size")
    z = np.array([w[0] + w[1:] @ np.asarray(x, dtype=float) for w in hidden_weights])
    if np.allclose(hidden, z) and not np.allclose(z, _relu(z)):
        fail("`hidden` holds the weighted sums z; the hidden neurons apply ReLU to them.", tag="hidden_no_relu")
    check_close(hidden, _relu(z), "`hidden`", hint="Check each hidden neuron's weights and activation.")
    value = check_finite(output, "`output`")
    if value.size != 1:
        fail(f"`output` should be one number, but it has shape {value.shape}.", tag="output_not_scalar")
    w = np.asarray(output_weights, dtype=float)
    check_close(float(value.reshape(())), w[0] + w[1:] @ _relu(z), "`output`",
                hint="What are the inputs of the output neuron, and what is its activation?")


def reference_forward(x, hidden_weights, output_weights) -> tuple[np.ndarray, float]:
    """Question 3's network on any input: a ReLU hidden layer, an identity output, bias-first weights."""
    x = np.asarray(x, dtype=float)
    hidden = np.array([reference_neuron(x, w, _relu) for w in np.asarray(hidden_weights, dtype=float)])
    return hidden, reference_neuron(hidden, output_weights, _identity)


#: (x, hidden_weights, output_weights) of the visible check: 2 inputs, 4 hidden neurons, not the exercise's.
FORWARD_EXAMPLE = (
    np.array([1.5, -2.0]),
    np.array([[0.5, 1.0, 1.0], [-1.0, 2.0, 0.5], [0.0, -1.0, 1.0], [1.0, 0.0, -0.5]]),
    np.array([-0.5, 1.0, -2.0, 0.5, 0.5]),
)


def check_forward(forward: Callable, x=None, hidden_weights=None, output_weights=None) -> None:
    """Question 3: ``forward(x, hidden_weights, output_weights)`` is the forward pass of any such network."""
    __tracebackhide__ = True
    if x is None:
        x, hidden_weights, output_weights = FORWARD_EXAMPLE
    x = np.asarray(x, dtype=float)
    hidden_weights = np.asarray(hidden_weights, dtype=float)
    output_weights = np.asarray(output_weights, dtype=float)
    n_hidden = len(hidden_weights)
    shape_text = f"{len(x)} inputs, {n_hidden} hidden neurons"
    problem = None
    try:
        result = check_implemented(forward, "`forward`", x.copy(), hidden_weights.copy(), output_weights.copy())
    except AssertionError:
        raise
    except Exception as error:  # e.g. a shape mismatch from a network written into the function
        problem = f"{type(error).__name__}: {error}"[:300]
    if problem is not None:  # fail outside the handler: one traceback, not two
        fail(f"`forward` raised {problem}. It was called with a network of {shape_text}: does it use its "
             "arguments for any number of inputs and neurons?", tag="forward_raised")
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`forward` should return a tuple of two things: (hidden, output).", tag="forward_not_a_pair")
    hidden = check_finite(result[0], "The hidden activations `forward` returned").ravel()
    value = check_finite(result[1], "The output `forward` returned")
    if hidden.shape != (n_hidden,):
        fail(f"For a network of {shape_text}, `forward` returned {hidden.size} hidden activations: one per "
             "row of `hidden_weights`. Did you use the exercise's network instead of the arguments?",
             tag="forward_fixed_network")
    want_hidden, want_output = reference_forward(x, hidden_weights, output_weights)
    z = np.array([w[0] + w[1:] @ x for w in hidden_weights])
    if np.allclose(hidden, z) and not np.allclose(z, want_hidden):
        fail(f"For a network of {shape_text}, `forward`'s hidden values are the weighted sums z: the hidden "
             "neurons apply ReLU to them.", tag="forward_hidden_without_relu")
    check_close(hidden, want_hidden, f"The hidden activations of `forward` (network of {shape_text})",
                hint="Check each hidden neuron's weights and activation.")
    if value.size != 1:
        fail(f"The output of `forward` should be one number, but it has shape {value.shape}.",
             tag="forward_output_not_one_number")
    value = float(value.reshape(()))
    if np.isclose(value, _relu(want_output)) and not np.isclose(value, want_output):
        fail(f"For a network of {shape_text}, `forward` applied ReLU to the output neuron; its activation is "
             "the identity.", tag="forward_relu_on_output")
    check_close(value, want_output, f"The output of `forward` (network of {shape_text})",
                hint="What are the inputs of the output neuron, and what is its activation?")


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
             f"X @ W + b has shape {(n, m)}: one row per example, one column per unit.", tag="dense_layer_shape")
    layer = keras.layers.Dense(m, activation=activation)
    layer.build((None, k))
    layer.set_weights([W, b])
    want = keras.ops.convert_to_numpy(layer(X))
    if np.allclose(got, g(X @ W)) and not np.allclose(got, want, atol=1e-5):
        fail("`dense_layer` left out the bias b: add it to X @ W (it is broadcast to every row).", tag="dense_layer_no_bias")
    if np.allclose(got, X @ W + b, atol=1e-5) and not np.allclose(got, want, atol=1e-5):
        fail("`dense_layer` returned X @ W + b; apply the activation g to it.", tag="dense_layer_no_activation")
    check_close(got, want, "`dense_layer(X, W, b, g)`", rtol=1e-5, atol=1e-5,
                hint="It should agree with a Keras Dense layer that has kernel W and bias b.")


def expected_layer_shapes(n: int, k: int, units) -> list[tuple[tuple[int, ...], ...]]:
    """(kernel, bias, output) shapes of each Dense layer of a stack from ``k`` inputs on a batch of ``n``,
    read from a Keras model of that architecture (not computed by the rule the student must find)."""
    import keras

    model = keras.Sequential([keras.Input(shape=(k,)), *(keras.layers.Dense(u) for u in units)])
    X = np.zeros((n, k), dtype="float32")
    rows, A = [], X
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        A = keras.ops.convert_to_numpy(layer(A))
        rows.append((tuple(kernel.shape), tuple(bias.shape), tuple(A.shape)))
    return rows


#: (n, k, units) of the hidden tests: other batches, widths and depths than the notebook's model.
SHAPE_CASES = ((5, 3, (7, 2)), (1, 20, (4, 4, 4, 3)), (64, 2, (1,)))


def _as_shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in value):
        return tuple(int(v) for v in value)
    return None


def check_layer_shapes(layer_shapes: Callable, n: int, k: int, units) -> None:
    """Question 4: ``layer_shapes(n, k, units)`` gives every (kernel, bias, output) shape of a Dense stack."""
    __tracebackhide__ = True
    units = [int(u) for u in units]
    got = check_implemented(layer_shapes, "`layer_shapes`", int(n), int(k), list(units))
    case = f"layer_shapes({n}, {k}, {units})"
    if not isinstance(got, (list, tuple)):
        fail(f"{case} returned {type(got).__name__}; return a list with one (kernel, bias, output) tuple per "
             "layer.", tag="shapes_not_a_list")
    want = expected_layer_shapes(n, k, units)
    if len(got) != len(want):
        fail(f"{case} returned {len(got)} entries for a stack of {len(want)} Dense layers: one entry per layer.",
             tag="shapes_wrong_count")
    for i, (entry, (kernel, bias, output)) in enumerate(zip(got, want), start=1):
        if not isinstance(entry, (tuple, list)) or len(entry) != 3:
            fail(f"Entry {i} of {case} should be a tuple of three shapes (kernel, bias, output), "
                 f"not {entry!r:.80}.", tag="shapes_entry_not_triple")
        shapes = [_as_shape(v) for v in entry]
        if any(v is None for v in shapes):
            fail(f"Entry {i} of {case} should hold three shapes, tuples of whole numbers like (3, 4) or (4,), "
                 f"not {entry!r:.80}.", tag="shapes_not_tuples")
        got_kernel, got_bias, got_output = shapes
        if got_kernel != kernel:
            if got_kernel == kernel[::-1]:
                fail(f"{case}: the kernel of layer {i} has its two axes swapped; X @ W needs the kernel's rows "
                     "to match the columns of X.", tag="kernel_transposed")
            if i > 1 and got_kernel[0] == k and kernel[0] != k:
                fail(f"{case}: the kernel of layer {i} has a row per input of the *network*; what does "
                     f"layer {i} receive as its inputs?", tag="kernel_rows_from_network_inputs")
            fail(f"{case}: the kernel shape of layer {i}, {got_kernel}, is not right.", tag="kernel_shape_wrong")
        if got_bias != bias:
            if len(got_bias) == 2:
                fail(f"{case}: the bias of layer {i} has two axes; one bias is shared by every example in the "
                     "batch.", tag="bias_per_example")
            fail(f"{case}: the bias shape of layer {i}, {got_bias}, is not right.", tag="bias_shape_wrong")
        if got_output != output:
            if len(got_output) == 1:
                fail(f"{case}: the output of layer {i} is one row per example of the batch, not a single "
                     "vector.", tag="output_without_batch")
            fail(f"{case}: the output shape of layer {i}, {got_output}, is not right.", tag="output_shape_wrong")


# ---------------------------------------------------------------- question 5


def _linear_stack(sizes, seed: int):
    """A Keras stack of linear Dense layers with random biases; ``sizes`` = (inputs, units, units, ...)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape=(sizes[0],)),
                             *(keras.layers.Dense(u, bias_initializer="random_normal") for u in sizes[1:])])


def reference_collapse(weights) -> tuple[np.ndarray, np.ndarray]:
    """The one layer (W, b) equal to linear layers given as [W1, b1, W2, b2, ...]."""
    W = np.asarray(weights[0], dtype=float)
    b = np.asarray(weights[1], dtype=float)
    for K, c in zip(weights[2::2], weights[3::2]):
        W, b = W @ np.asarray(K, dtype=float), b @ np.asarray(K, dtype=float) + np.asarray(c, dtype=float)
    return (W, b)


def check_collapse(collapse: Callable, sizes=(3, 4, 5, 2), seed: int = 0) -> None:
    """Question 5: linear layers [W1, b1, W2, b2, ...] (any number) as one layer (W, b), checked on Keras."""
    __tracebackhide__ = True
    import keras

    sizes = tuple(int(s) for s in sizes)
    stack = _linear_stack(sizes, seed)
    weights = stack.get_weights()
    k, m, depth = sizes[0], sizes[-1], len(sizes) - 1
    described = f"{depth} linear layer{'s' if depth > 1 else ''} of sizes {' -> '.join(map(str, sizes))}"
    problem = None
    try:
        result = check_implemented(collapse, "`collapse`", [w.copy() for w in weights])
    except AssertionError:
        raise
    except Exception as error:  # e.g. unpacking a list of another length, or a broadcast error
        problem = f"{type(error).__name__}: {error}"[:300]
    if problem is not None:  # fail outside the handler: one traceback, not two
        fail(f"`collapse` raised {problem}. It was called with the weights of {described} "
             f"(a list of {len(weights)} arrays, as get_weights() returns them): does it work for any number "
             "of layers?", tag="collapse_raised")
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`collapse` should return a tuple of two arrays: (W, b).", tag="collapse_not_a_pair")
    W, b = (check_finite(v, what) for v, what in zip(result, ("The W you returned", "The b you returned")))
    want_W, want_b = reference_collapse(weights)
    if W.shape == (m, k) and m != k:
        fail(f"For {described}, your W has shape {W.shape}, the transpose of what is needed.",
             tag="collapse_transposed")
    if W.shape != (k, m):
        fail(f"For {described}, your W has shape {W.shape}; a layer from {k} inputs to {m} units needs a "
             f"kernel of shape {(k, m)}. Did every layer's kernel take part?", tag="collapse_layers_left_out")
    check_close(W, want_W, f"The combined W for {described}", rtol=1e-4, atol=1e-6,
                hint="Multiply out the layers' formula for one input x and collect the terms with x.")
    if b.shape != (m,):
        fail(f"For {described}, your b has shape {b.shape}; the combined layer has {m} units, so b has shape "
             f"{(m,)}.", tag="collapse_bias_shape")
    if depth > 1 and np.allclose(b, weights[-1]) and not np.allclose(want_b, weights[-1]):
        fail(f"For {described}, your b is only the last layer's bias: the earlier biases also pass through "
             "the layers after them.", tag="collapse_last_bias_only")
    X = np.random.default_rng(seed).normal(size=(7, k)).astype("float32")
    check_close(X @ W + b, keras.ops.convert_to_numpy(stack(X)), f"The one-layer outputs X @ W + b ({described})",
                rtol=1e-4, atol=1e-5,
                hint="They differ from the Keras layers' outputs: check the terms without x. Does every "
                     "bias take part, and which kernels does each one pass through?")


def check_one_layer(one_layer: Any, two_layers: Any, X) -> None:
    """Question 5: a single Dense layer that reproduces a stack of linear Dense layers."""
    __tracebackhide__ = True
    import keras

    if one_layer is None:
        fail("`one_linear` is still None: build a Sequential model with one Dense layer and set its weights.", tag="one_linear_none")
    check_type(one_layer, keras.Model, "`one_linear`")
    dense = [layer for layer in one_layer.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 1:
        fail(f"`one_linear` has {len(dense)} Dense layers; the point is that one is enough.", tag="one_linear_layers")
    if _activation_name(dense[0]) != "linear":
        fail("The Dense layer of `one_linear` has an activation; the layers it replaces have none.",
             tag="one_layer_activation")
    got = check_finite(one_layer.predict(np.asarray(X), verbose=0), "`one_linear`'s outputs")
    want = two_layers.predict(np.asarray(X), verbose=0)
    if got.shape != want.shape:
        fail(f"`one_linear` outputs shape {got.shape}; the model it replaces outputs {want.shape}.",
             tag="one_layer_output_shape")
    check_close(got, want, "`one_linear`'s outputs", rtol=1e-4, atol=1e-5,
                hint="Set its weights with layer.set_weights([W, b]) using your collapse().")


# ---------------------------------------------------------------- question 6


def _activation_name(layer: Any) -> str:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", str(fn))


_NONLINEAR_LAYERS = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")


def _has_nonlinearity(model: Any) -> bool:
    """Whether any layer before the last Dense layer applies a nonlinear activation."""
    import keras

    layers = list(model.layers)
    last_dense = max((i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)), default=-1)
    for layer in layers[:last_dense]:
        kind = type(layer).__name__
        if isinstance(layer, keras.layers.Dense) and _activation_name(layer) != "linear":
            return True
        if kind in _NONLINEAR_LAYERS and _activation_name(layer) not in ("linear", "None"):
            return True
    return False


def check_curve_model(model: Any, X, y, threshold: float, max_params: int = 50) -> None:
    """Question 6: a trained network with a nonlinearity, at most ``max_params`` parameters, fits the curve."""
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`model` is still None: build, compile and train a keras.Sequential model.", tag="curve_model_none")
    check_type(model, keras.Model, "`model`")
    try:
        input_shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, TypeError, ValueError, IndexError):
        input_shape = None
    if input_shape != (1,):
        fail("`model` should start with keras.Input(shape=(1,)): one feature per example.", tag="curve_model_input")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) < 2:
        fail(f"`model` has {len(dense)} Dense layer(s); the exercise asks for at least one hidden layer "
             "before the output layer.", tag="curve_model_no_hidden")
    if not _has_nonlinearity(model):
        fail("Nothing in your hidden layers is nonlinear, so the network computes a straight line, however "
             "many layers it has.", tag="curve_model_linear")
    if dense[-1].units != 1:
        fail(f"The output layer has {dense[-1].units} units; predict one number per example.", tag="curve_model_output_units")
    params = model.count_params()
    if params > max_params:
        fail(f"Your model has {params:,} parameters; the budget is {max_params}. How many does each layer "
             "add?", tag="curve_model_over_budget")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not int(optimizer.iterations.numpy()):
        fail("`model` has not been trained yet: compile it and call model.fit(...).", tag="curve_model_untrained")
    prediction = check_finite(model.predict(np.asarray(X), verbose=0), "The model's predictions")
    mse = float(np.mean((prediction.reshape(-1) - np.asarray(y, dtype=float).reshape(-1)) ** 2))
    if mse >= threshold:
        fail(f"Your model's MSE on the data is {mse:.3f}; the exercise asks for below {threshold}. Train for "
             "more epochs or with a larger learning rate, within the parameter budget.", tag="curve_model_mse_high")


# ---------------------------------------------------------------- question 7

#: Output activations a regression or probability target can use, with their ranges (bounds included).
#: The open output ranges of Question 7: a target at a bound counts as reachable, since the output
#: comes as close to the bound as training needs (the closure of the range must hold every target).
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softplus": (0.0, np.inf), "linear": (-np.inf, np.inf)}


def reference_output_activation(y) -> str:
    """The output activation with the narrowest range whose closure contains every target value in ``y``."""
    y = np.asarray(y, dtype=float)
    lo, hi = float(np.min(y)), float(np.max(y))
    fitting = [name for name, (a, b) in OUTPUT_RANGES.items() if a <= lo and hi <= b]
    return min(fitting, key=lambda name: OUTPUT_RANGES[name][1] - OUTPUT_RANGES[name][0])


def check_output_activation(choose: Callable, cases=None) -> None:
    """Question 7: pick, from any array of targets, the output activation with the narrowest fitting range."""
    __tracebackhide__ = True
    if cases is None:
        cases = [np.array([0.0, 0.3, 1.0, 0.9]), np.array([-0.8, 0.2, 1.0]), np.array([0.0, 12.5, 3.0]),
                 np.array([-40.0, 3.0, 25.0])]
    for y in cases:
        y = np.asarray(y, dtype=float)
        got = check_implemented(choose, "`choose_output_activation`", y.copy())
        if got is None:
            fail("`choose_output_activation` returned None: did you forget `return`?", tag="output_activation_none")
        if got not in OUTPUT_RANGES:
            fail(f"`choose_output_activation` returned {got!r}; return one of the Keras names "
                 f"{list(OUTPUT_RANGES)}.", tag="output_activation_unknown")
        lo, hi = OUTPUT_RANGES[got]
        shown = np.array2string(y, precision=2, threshold=6)
        if not (lo <= y.min() and y.max() <= hi):
            fail(f"For the targets {shown} you chose {got!r}, which can never output some of them, "
                 "not even in the limit.", tag="output_activation_cannot_reach")
        want = reference_output_activation(y)
        if got != want:
            fail(f"For the targets {shown} you chose {got!r}; it can output every target, but also values these "
                 "targets never take, and a narrower range fits them.", tag="output_activation_too_wide")
