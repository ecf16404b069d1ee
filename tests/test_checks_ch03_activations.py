"""The Chapter 3 checks accept right answers and reject wrong ones with a message that teaches."""

import numpy as np
import pytest

from dlcourse.checks import ch03_activations as checks

keras = pytest.importorskip("keras")


def not_written(*args):
    raise NotImplementedError()


def right_elu(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def right_elu_grad(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))


def elu_grad_from_value(z, alpha=1.0):
    """Another right answer: for z <= 0 the slope is g(z) + alpha."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, right_elu(z, alpha) + alpha)


def page_leaky(z, alpha=0.1):
    """The chapter page's leaky ReLU, copied unchanged."""
    return np.where(np.asarray(z) > 0, z, alpha * np.asarray(z))


# ---------------------------------------------------------------- question 1: ELU


def test_elu_accepts_right_answers_for_any_alpha_and_shape():
    checks.check_elu(right_elu, right_elu_grad)
    checks.check_elu(right_elu, elu_grad_from_value)
    checks.check_elu(right_elu, right_elu_grad, z=np.linspace(-2, 2, 12).reshape(3, 4), alpha=1.7)


def test_elu_reference_matches_keras():
    z = np.linspace(-3, 3, 13)
    theirs = keras.ops.convert_to_numpy(keras.activations.elu(z.astype("float32"), alpha=0.7))
    assert np.allclose(checks.reference_elu(z, 0.7), theirs, atol=1e-6)


@pytest.mark.parametrize(
    "f, grad, message",
    [
        (not_written, right_elu_grad, "not written yet"),
        (right_elu, not_written, "`elu_grad` is not written yet"),
        (lambda z, alpha=1.0: np.maximum(0, z), right_elu_grad, "plain ReLU"),
        (page_leaky, right_elu_grad, "straight line, which is leaky ReLU"),
        (lambda z, alpha=1.0: right_elu(z, 1.0), right_elu_grad, "use the argument `alpha`"),
        (lambda z, alpha=1.0: np.where(z > 0, z, alpha * np.exp(z)), right_elu_grad, "wrong for negative z"),
        (lambda z, alpha=1.0: np.where(z > 0, 2 * z, right_elu(z, alpha)), right_elu_grad, "positive z"),
        (lambda z, alpha=1.0: [0.0], right_elu_grad, "shape"),
        (right_elu, lambda z, alpha=1.0: right_elu(z, alpha), "function's values"),
        (right_elu, lambda z, alpha=1.0: np.where(z > 0, 1.0, alpha), "same slope for every negative z"),
        (right_elu, lambda z, alpha=1.0: np.where(z > 0, 1.0, np.exp(z)), "differentiate the negative branch"),
        (right_elu, lambda z, alpha=1.0: np.where(z >= 0, 1.0, alpha * np.exp(np.minimum(z, 0))), "At z = 0"),
        (right_elu, lambda z, alpha=1.0: 1.0, "one derivative per element"),
    ],
)
def test_elu_names_the_mistake(f, grad, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_elu(f, grad)


# ---------------------------------------------------------------- question 2: dead units


def right_dead(W, b, X):
    return [int(i) for i in np.flatnonzero(np.all(X @ W + b <= 0, axis=0))]


def test_dead_units_accepts_lists_and_arrays_in_any_order():
    checks.check_dead_units(right_dead)
    checks.check_dead_units(lambda W, b, X: np.array(right_dead(W, b, X)[::-1]))
    rng = np.random.default_rng(2)
    checks.check_dead_units(right_dead, rng.normal(size=(3, 9)), rng.normal(-1, 1, 9), rng.normal(size=(20, 3)))


def test_dead_units_reference_on_a_hand_example():
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    W = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    b = np.array([0.0, 0.0, 0.0])
    assert checks.reference_dead_units(W, b, X) == [1, 2]  # unit 2 sums to exactly 0: ReLU gives 0


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda W, b, X: [int(i) for i in np.flatnonzero(np.any(X @ W + b <= 0, axis=0))], "only some examples"),
        (lambda W, b, X: [int(i) for i in np.flatnonzero(np.all(X @ W + b < 0, axis=0))], "exactly 0"),
        (lambda W, b, X: [int(i) for i in np.flatnonzero(np.all(X @ W <= 0, axis=0))], "ignores the bias"),
        (lambda W, b, X: np.all(X @ W + b <= 0, axis=0), "boolean mask"),
        (lambda W, b, X: [i + 1 for i in right_dead(W, b, X)], "not right|numbered 0 to"),
        (lambda W, b, X: None, "returned None"),
        (not_written, "not written yet"),
    ],
)
def test_dead_units_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_dead_units(wrong)


# ---------------------------------------------------------------- question 3

X_EX = np.array([2.0, -1.0, 1.0])
HIDDEN_W = np.array([[0.5, 1, 2, 0], [-1, 1, -1, 2], [1, -2, 0, 1]])
OUTPUT_W = np.array([0.5, 2, -1, 3])


def right_neuron(x, w, g):
    return g(w[0] + np.asarray(w[1:]) @ x)


def test_neuron_accepts_bias_first_weights():
    checks.check_neuron(right_neuron)
    checks.check_neuron(right_neuron, x=[1.0, 2.0], w=[-1.0, 0.5, 0.25], g=lambda z: 1 / (1 + np.exp(-z)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (lambda x, w, g: g(np.asarray(w[1:]) @ x), "left out the bias"),
        (lambda x, w, g: g(np.asarray(w[:-1]) @ x), "wrong inputs"),
        (lambda x, w, g: np.array([1.0, 2.0]), "one number"),
    ],
)
def test_neuron_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_neuron(wrong)


def test_neuron_without_activation_is_caught():
    with pytest.raises(AssertionError, match="apply the activation"):
        checks.check_neuron(lambda x, w, g: w[0] + np.asarray(w[1:]) @ x, x=np.array([1.0, -2.0]),
                            w=np.array([0.5, 1.0, 1.0]), g=lambda z: np.maximum(0, z))


def test_forward_pass_of_the_exercise_network():
    checks.check_forward_pass(np.array([0.5, 4.0, 0.0]), -2.5, X_EX, HIDDEN_W, OUTPUT_W)
    checks.check_forward_pass([0.5, 4.0, 0.0], np.array([-2.5]), X_EX, HIDDEN_W, OUTPUT_W)


@pytest.mark.parametrize(
    "hidden, output, message",
    [
        (None, None, "`hidden` is still None"),
        (np.array([0.5, 4.0, 0.0]), None, "`output` is still None"),
        (np.array([0.5, 4.0, -2.0]), -8.5, "weighted sums z"),
        (np.array([0.0, 5.0, 0.0]), -5.0, "`hidden` is"),
        (np.array([0.5, 4.0]), -2.5, "three neurons|3 neurons"),
        (np.array([0.5, 4.0, 0.0]), -3.0, "`output` is"),
    ],
)
def test_forward_pass_names_the_mistake(hidden, output, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_forward_pass(hidden, output, X_EX, HIDDEN_W, OUTPUT_W)


def right_forward(x, hidden_weights, output_weights):
    hidden = np.maximum(0, np.asarray(hidden_weights)[:, 1:] @ x + np.asarray(hidden_weights)[:, 0])
    return hidden, output_weights[0] + output_weights[1:] @ hidden


def page_style_forward(x, hidden_weights, output_weights):
    """The chapter's layer_forward, bias-first rows with a 1 put in front, used twice."""
    def layer(a, rows, g):
        return g(np.asarray(rows, dtype=float) @ np.concatenate([[1.0], a]))
    hidden = layer(np.asarray(x, dtype=float), hidden_weights, lambda z: np.maximum(0, z))
    return list(hidden), layer(hidden, np.asarray(output_weights)[None, :], lambda z: z)


@pytest.mark.parametrize("right", [right_forward, page_style_forward])
def test_forward_accepts_any_network(right):
    checks.check_forward(right)
    checks.check_forward(right, X_EX, HIDDEN_W, OUTPUT_W)
    rng = np.random.default_rng(31)
    checks.check_forward(right, rng.normal(size=5), rng.normal(size=(6, 6)), rng.normal(size=7))


def exercise_network_only(x, hidden_weights, output_weights):
    return right_forward(x, HIDDEN_W, OUTPUT_W)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (lambda x, hw, ow: right_forward(x, hw, ow)[0], "tuple of two"),
        (exercise_network_only, "raised ValueError.*2 inputs, 4 hidden neurons"),
        (lambda x, hw, ow: right_forward(x, hw[:3], ow[:4]), "one per row of `hidden_weights`"),
        (lambda x, hw, ow: (hw[:, 1:] @ x + hw[:, 0], ow[0] + ow[1:] @ (hw[:, 1:] @ x + hw[:, 0])), "weighted sums z"),
        (lambda x, hw, ow: (right_forward(x, hw, ow)[0], max(0.0, right_forward(x, hw, ow)[1])), "applied ReLU"),
        (lambda x, hw, ow: (right_forward(x, hw, ow)[0], ow[1:] @ right_forward(x, hw, ow)[0]), "output of `forward`"),
    ],
)
def test_forward_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_forward(wrong)


def test_forward_example_is_not_the_exercise_network():
    x, hidden_weights, output_weights = checks.FORWARD_EXAMPLE
    assert hidden_weights.shape != HIDDEN_W.shape
    hidden, output = checks.reference_forward(x, hidden_weights, output_weights)
    assert (hidden == 0).any() and (hidden > 0).any() and output < 0   # ReLU and identity both matter


# ---------------------------------------------------------------- question 4


def test_dense_layer_accepts_the_matrix_product():
    checks.check_dense_layer(lambda X, W, b, g: g(X @ W + b))
    checks.check_dense_layer(lambda X, W, b, g: g(X @ W + b), n=2, k=7, m=5, activation="tanh", seed=3)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (lambda X, W, b, g: g(X @ W), "left out the bias"),
        (lambda X, W, b, g: X @ W + b, "apply the activation"),
        (lambda X, W, b, g: g(W.T @ X.T + b[:, None]), "returned shape"),
        (lambda X, W, b, g: g(X @ W - b), "not right"),
    ],
)
def test_dense_layer_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_dense_layer(wrong)


def right_layer_shapes(n, k, units):
    shapes, inputs = [], k
    for m in units:
        shapes.append(((inputs, m), (m,), (n, m)))
        inputs = m
    return shapes


def lists_not_tuples(n, k, units):
    return [[list(s) for s in entry] for entry in right_layer_shapes(n, k, units)]


def test_layer_shapes_accept_the_rule_in_any_sequence_type():
    checks.check_layer_shapes(right_layer_shapes, 32, 10, [16, 8, 1])
    for n, k, units in checks.SHAPE_CASES:
        checks.check_layer_shapes(right_layer_shapes, n, k, units)
        checks.check_layer_shapes(lists_not_tuples, n, k, units)


def test_expected_layer_shapes_come_from_keras():
    assert checks.expected_layer_shapes(32, 10, [16, 8, 1]) == [((10, 16), (16,), (32, 16)),
                                                                ((16, 8), (8,), (32, 8)),
                                                                ((8, 1), (1,), (32, 1))]


def _changed(layer, position, value):
    def wrong(n, k, units):
        shapes = [list(entry) for entry in right_layer_shapes(n, k, units)]
        shapes[layer][position] = value(n, k, units, layer)
        return [tuple(entry) for entry in shapes]
    return wrong


def _fixed_answer(n, k, units):
    return right_layer_shapes(32, 10, [16, 8, 1])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (_changed(1, 0, lambda n, k, u, i: (u[i], u[i - 1])), "axes swapped"),
        (lambda n, k, units: [((k, m), (m,), (n, m)) for m in units], "row per input of the \\*network"),
        (_changed(0, 1, lambda n, k, u, i: (1, u[i])), "shared by every example"),
        (_changed(2, 2, lambda n, k, u, i: (u[i],)), "one row per example"),
        (_changed(2, 2, lambda n, k, u, i: (u[i], n)), "output shape of layer 3"),
        (lambda n, k, units: right_layer_shapes(n, k, units)[:-1], "one entry per layer"),
        (lambda n, k, units: {"W1": (k, units[0])}, "return a list"),
        (lambda n, k, units: [((k, m), (m,)) for m in units], "three shapes"),
    ],
)
def test_layer_shapes_name_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_layer_shapes(wrong, 32, 10, [16, 8, 1])


def test_a_fixed_answer_fails_the_hidden_cases():
    checks.check_layer_shapes(_fixed_answer, 32, 10, [16, 8, 1])
    with pytest.raises(AssertionError):
        for n, k, units in checks.SHAPE_CASES:
            checks.check_layer_shapes(_fixed_answer, n, k, units)


# ---------------------------------------------------------------- question 5


def right_collapse(weights):
    W, b = weights[0], weights[1]
    for K, c in zip(weights[2::2], weights[3::2]):
        W, b = W @ K, b @ K + c
    return W, b


def recursive_collapse(weights):
    if len(weights) == 2:
        return tuple(weights)
    W, b = recursive_collapse(weights[:-2])
    return W @ weights[-2], b @ weights[-2] + weights[-1]


def page_collapse(weights):
    """The chapter's two-layer cell, copied: only the first two layers."""
    W1, b1, W2, b2 = weights[:4]
    return W1 @ W2, b1 @ W2 + b2


@pytest.mark.parametrize("right", [right_collapse, recursive_collapse])
def test_collapse_accepts_the_combined_layer(right):
    checks.check_collapse(right)
    checks.check_collapse(right, sizes=(6, 2, 4), seed=3)
    checks.check_collapse(right, sizes=(2, 5, 3, 6, 1), seed=12)
    checks.check_collapse(right, sizes=(4, 3), seed=13)


def last_bias_only(weights):
    return right_collapse(weights)[0], weights[-1]


def middle_bias_left_out(weights):
    W1, b1, W2, b2, W3, b3 = weights
    return W1 @ W2 @ W3, b1 @ W2 @ W3 + b3


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (page_collapse, "Did every layer's kernel take part"),
        (last_bias_only, "only the last layer's bias"),
        (middle_bias_left_out, "(?s)one-layer outputs.*every bias take part"),
        (lambda w: (right_collapse(w)[0].T, right_collapse(w)[1]), "transpose"),
        (lambda w: (right_collapse(w)[0] * 2, right_collapse(w)[1]), "combined W"),
        (lambda w: (right_collapse(w)[0], right_collapse(w)[1] + 1), "one-layer outputs"),
        (lambda w: list(right_collapse(w)), "tuple of two"),
        (lambda w: (w[0] @ w[2] @ w[4], w[1] + w[3] + w[5]), "raised ValueError"),
    ],
)
def test_collapse_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_collapse(wrong)


def test_the_two_layer_page_cell_fails_on_a_deeper_stack():
    checks.check_collapse(page_collapse, sizes=(6, 2, 4), seed=3)   # right for two layers only
    with pytest.raises(AssertionError):
        checks.check_collapse(page_collapse, sizes=(2, 5, 3, 6, 1), seed=12)


def _three_linear():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(shape=(5,)),
        keras.layers.Dense(4, bias_initializer="random_normal"),
        keras.layers.Dense(3, bias_initializer="random_normal"),
        keras.layers.Dense(2, bias_initializer="random_normal"),
    ])


def _one_linear(stack, activation=None, W=None, b=None):
    W_one, b_one = right_collapse(stack.get_weights())
    one = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(2, activation=activation)])
    one.layers[0].set_weights([W_one if W is None else W, b_one if b is None else b])
    return one


def test_one_layer_accepts_the_collapsed_model_and_rejects_others():
    stack = _three_linear()
    X = np.random.default_rng(1).normal(size=(10, 5)).astype("float32")
    checks.check_one_layer(_one_linear(stack), stack, X)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_one_layer(None, stack, X)
    with pytest.raises(AssertionError, match="has an activation"):
        checks.check_one_layer(_one_linear(stack, activation="relu"), stack, X)
    with pytest.raises(AssertionError, match="3 Dense layers"):
        checks.check_one_layer(stack, stack, X)
    with pytest.raises(AssertionError, match="outputs"):
        checks.check_one_layer(_one_linear(stack, b=np.zeros(2, dtype="float32")), stack, X)
    with pytest.raises(AssertionError, match="should be a Model"):
        checks.check_one_layer(stack.layers[0], stack, X)


# ---------------------------------------------------------------- question 6


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, size=(1000, 1)).astype("float32")
    y = (X**2 + rng.normal(0, 0.1, size=X.shape)).astype("float32")
    return X, y


def _curve_model(layers, data=None, epochs=40):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(1,)), *layers])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="mse")
    if data is not None:
        model.fit(*data, epochs=epochs, batch_size=32, verbose=0)
    return model


Dense, Activation = keras.layers.Dense, keras.layers.Activation


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [Dense(16, activation="relu"), Dense(1)],
        lambda: [Dense(16), Activation("relu"), Dense(1)],  # Dense followed by Activation
        lambda: [Dense(16, activation="relu"), Dense(1, activation="relu")],  # x**2 is (almost) never negative
    ],
)
def test_curve_model_accepts_every_small_nonlinear_network(curve, layers):
    checks.check_curve_model(_curve_model(layers(), data=curve), *curve, threshold=0.1, max_params=50)


def test_curve_model_rejects_an_undertrained_network(curve):
    model = _curve_model([Dense(16, activation="relu"), Dense(1)], data=(curve[0][:64], curve[1][:64]), epochs=1)
    with pytest.raises(AssertionError, match="MSE on the data is"):
        checks.check_curve_model(model, *curve, threshold=0.1)


@pytest.mark.parametrize(
    "layers, message",
    [
        (lambda: [Dense(16), Dense(1)], "straight line"),
        (lambda: [Dense(16), Activation("linear"), Dense(1)], "straight line"),
        (lambda: [Dense(32, activation="relu"), Dense(32, activation="relu"), Dense(1)], "1,153 parameters"),
        (lambda: [Dense(16, activation="relu"), Dense(2)], "one number per example"),
        (lambda: [Dense(16, activation="relu"), Dense(1)], "not been trained"),
    ],
)
def test_curve_model_names_the_mistake(curve, layers, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_curve_model(_curve_model(layers()), *curve, threshold=0.1)


def test_curve_model_needs_a_hidden_layer_and_a_model(curve):
    with pytest.raises(AssertionError, match="still None"):
        checks.check_curve_model(None, *curve, threshold=0.1)
    linear = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    with pytest.raises(AssertionError, match="at least one hidden layer"):
        checks.check_curve_model(linear, *curve, threshold=0.1)


# ---------------------------------------------------------------- question 7


def right_choice(y):
    lo, hi = min(y), max(y)
    if 0 <= lo and hi <= 1:
        return "sigmoid"
    if -1 <= lo and hi <= 1:
        return "tanh"
    return "softplus" if lo >= 0 else "linear"


def strict_bounds(y):
    lo, hi = min(y), max(y)
    for name, a, b in [("sigmoid", 0, 1), ("tanh", -1, 1), ("softplus", 0, np.inf)]:
        if a < lo and hi < b:
            return name
    return "linear"


def test_output_activation_accepts_the_narrowest_fitting_range():
    checks.check_output_activation(right_choice)
    checks.check_output_activation(right_choice, [np.array([0.0, 1.0]), np.array([-1.0, 1.0]), np.array([0.0, 7.0])])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y: "linear", "narrower range fits"),
        (lambda y: "sigmoid", "can never output"),
        (lambda y: "tanh" if min(y) >= -1 and max(y) <= 1 else right_choice(y), "narrower range fits"),
        (lambda y: "softplus" if min(y) >= 0 else "linear", "narrower range fits"),
        (lambda y: "relu" if min(y) >= 0 else right_choice(y), "Keras names"),
        (strict_bounds, "narrower range fits"),  # a target on a bound counts as reachable
        (lambda y: "identity", "Keras names"),
        (lambda y: None, "returned None"),
        (not_written, "not written yet"),
    ],
)
def test_output_activation_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_output_activation(wrong)


def test_output_activation_messages_never_name_the_answer():
    with pytest.raises(AssertionError) as error:
        checks.check_output_activation(lambda y: "linear")
    assert "sigmoid" not in str(error.value) and "tanh" not in str(error.value)
