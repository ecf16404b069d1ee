"""The Chapter 3 checks accept right answers and reject wrong ones with a message that teaches."""

import numpy as np
import pytest

from dlcourse.checks import ch03_activations as checks

keras = pytest.importorskip("keras")


def not_written(*args):
    raise NotImplementedError()


def right_leaky(z, alpha=0.1):
    return np.where(np.asarray(z) > 0, z, alpha * np.asarray(z))


def right_leaky_grad(z, alpha=0.1):
    return np.where(np.asarray(z) > 0, 1.0, alpha)


# ---------------------------------------------------------------- question 1


def test_leaky_relu_accepts_a_right_answer_for_any_alpha_and_shape():
    checks.check_leaky_relu(right_leaky, right_leaky_grad)
    checks.check_leaky_relu(right_leaky, right_leaky_grad, z=np.linspace(-2, 2, 12).reshape(3, 4), alpha=0.3)


def test_leaky_relu_matches_keras():
    z = np.linspace(-3, 3, 13)
    theirs = keras.ops.convert_to_numpy(keras.activations.leaky_relu(z.astype("float32"), negative_slope=0.3))
    assert np.allclose(checks.reference_leaky_relu(z, 0.3), theirs, atol=1e-6)


@pytest.mark.parametrize(
    "f, grad, message",
    [
        (not_written, right_leaky_grad, "not written yet"),
        (right_leaky, not_written, "`leaky_relu_grad` is not written yet"),
        (lambda z, alpha=0.1: np.maximum(0, z), right_leaky_grad, "plain ReLU"),
        (lambda z, alpha=0.1: np.where(z > 0, z, 0.01 * z), right_leaky_grad, "use the argument `alpha`"),
        (lambda z, alpha=0.1: np.where(z > 0, z, -alpha * z), right_leaky_grad, "negative inputs are not right"),
        (lambda z, alpha=0.1: np.where(z > 0, 2 * z, alpha * z), right_leaky_grad, "positive z"),
        (lambda z, alpha=0.1: [0.0], right_leaky_grad, "shape"),
        (right_leaky, lambda z, alpha=0.1: right_leaky(z, alpha), "function's values"),
        (right_leaky, lambda z, alpha=0.1: np.where(z >= 0, 1.0, alpha), "At z = 0"),
        (right_leaky, lambda z, alpha=0.1: np.where(z > 0, 1.0, 0.0), "slope of leaky ReLU is alpha"),
        (right_leaky, lambda z, alpha=0.1: np.where(z > 0, 1.0, alpha * z), "slope of leaky ReLU is alpha"),
        (right_leaky, lambda z, alpha=0.1: 1.0, "one derivative per element"),
    ],
)
def test_leaky_relu_names_the_mistake(f, grad, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_leaky_relu(f, grad)


# ---------------------------------------------------------------- question 2

RANGES = {
    "identity": (-np.inf, np.inf),
    "sigmoid": (0, 1),
    "tanh": (-1, 1),
    "relu": (0, np.inf),
    "leaky_relu": (-np.inf, np.inf),
}


def test_ranges_accept_the_right_bounds():
    checks.check_ranges(RANGES)
    checks.check_ranges({k: list(v) for k, v in RANGES.items()})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tanh": (0, 1)}, r"too narrow: tanh\(-"),
        ({"sigmoid": (-1, 1)}, "too wide"),
        ({"relu": (0, 100)}, r"too narrow: relu\("),
        ({"leaky_relu": (0, np.inf)}, r"too narrow: leaky_relu\(-"),
        ({"leaky_relu": (-5, np.inf)}, r"too narrow: leaky_relu\(-"),
        ({"identity": (np.inf, -np.inf)}, "lower bound above"),
        ({"sigmoid": 1}, "tuple of two"),
        ({"sigmoid": ("zero", "one")}, "numbers"),
        ({"relu": None}, "still None"),
    ],
)
def test_ranges_name_the_mistake(change, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_ranges({**RANGES, **change})


def test_ranges_need_every_activation():
    with pytest.raises(AssertionError, match="no entry for 'tanh'"):
        checks.check_ranges({k: v for k, v in RANGES.items() if k != "tanh"})


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


@pytest.fixture(scope="module")
def q4_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(10,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1),
    ])
    return model, np.zeros((32, 10), dtype="float32")


SHAPES = {"W1": (10, 16), "b1": (16,), "H1": (32, 16), "W2": (16, 8), "b2": (8,), "H2": (32, 8),
          "W3": (8, 1), "b3": (1,), "output": (32, 1)}


def test_shapes_accept_the_right_shapes(q4_model):
    assert checks.expected_shapes(*q4_model) == SHAPES
    checks.check_shapes(SHAPES, *q4_model)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"W2": (8, 16)}, "transpose"),
        ({"b1": (1, 16)}, "one entry per unit"),
        ({"H1": (16, 32)}, "one row per example"),
        ({"output": (32,)}, "one row per example"),
        ({"W3": (8,)}, "not right"),
        ({"W1": [10, 16]}, "tuple of whole numbers"),
        ({"b3": None}, "still None"),
    ],
)
def test_shapes_name_the_mistake(q4_model, change, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_shapes({**SHAPES, **change}, *q4_model)


def test_shapes_need_every_entry(q4_model):
    with pytest.raises(AssertionError, match="no entry 'H2'"):
        checks.check_shapes({k: v for k, v in SHAPES.items() if k != "H2"}, *q4_model)


# ---------------------------------------------------------------- question 5


def right_collapse(W1, b1, W2, b2):
    return W1 @ W2, b1 @ W2 + b2


def test_collapse_accepts_the_combined_layer():
    checks.check_collapse(right_collapse)
    checks.check_collapse(right_collapse, shapes=(6, 2, 4), seed=3)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_written, "not written yet"),
        (lambda W1, b1, W2, b2: (W1 @ W2, b2), "only b2"),
        (lambda W1, b1, W2, b2: ((W1 @ W2).T, b1 @ W2 + b2), "transpose"),
        (lambda W1, b1, W2, b2: (W1, b1 @ W2 + b2), "shape"),
        (lambda W1, b1, W2, b2: (W1 @ W2 * 2, b1 @ W2 + b2), "combined W"),
        (lambda W1, b1, W2, b2: (W1 @ W2, b1 @ W2 + 2 * b2), "one-layer outputs"),
        (lambda W1, b1, W2, b2: [W1 @ W2, b1 @ W2 + b2], "tuple of two"),
    ],
)
def test_collapse_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_collapse(wrong)


def _two_linear():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(shape=(5,)),
        keras.layers.Dense(3, bias_initializer="random_normal"),
        keras.layers.Dense(2, bias_initializer="random_normal"),
    ])


def _one_linear(two, activation=None, W=None, b=None):
    W_one, b_one = right_collapse(*two.layers[0].get_weights(), *two.layers[1].get_weights())
    one = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(2, activation=activation)])
    one.layers[0].set_weights([W_one if W is None else W, b_one if b is None else b])
    return one


def test_one_layer_accepts_the_collapsed_model_and_rejects_others():
    two = _two_linear()
    X = np.random.default_rng(1).normal(size=(10, 5)).astype("float32")
    checks.check_one_layer(_one_linear(two), two, X)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_one_layer(None, two, X)
    with pytest.raises(AssertionError, match="has an activation"):
        checks.check_one_layer(_one_linear(two, activation="relu"), two, X)
    with pytest.raises(AssertionError, match="2 Dense layers"):
        checks.check_one_layer(two, two, X)
    with pytest.raises(AssertionError, match="outputs"):
        checks.check_one_layer(_one_linear(two, b=np.zeros(2, dtype="float32")), two, X)
    with pytest.raises(AssertionError, match="should be a Model"):
        checks.check_one_layer(two.layers[0], two, X)


# ---------------------------------------------------------------- question 6


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, size=(1000, 1)).astype("float32")
    y = (X**2 + rng.normal(0, 0.1, size=X.shape)).astype("float32")
    return X, y


def _curve_model(hidden_activation="relu", output_activation=None, units=1, fit=True, data=None, epochs=10):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(1,)),
        keras.layers.Dense(32, activation=hidden_activation),
        keras.layers.Dense(32, activation=hidden_activation),
        keras.layers.Dense(units, activation=output_activation),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    if fit:
        model.fit(*data, epochs=epochs, batch_size=32, verbose=0)
    return model


def test_curve_model_accepts_a_trained_relu_network(curve):
    checks.check_curve_model(_curve_model(data=curve), *curve, threshold=0.1)


def test_curve_model_rejects_an_undertrained_network(curve):
    with pytest.raises(AssertionError, match="MSE on the data is"):
        checks.check_curve_model(_curve_model(data=(curve[0][:64], curve[1][:64]), epochs=1), *curve, threshold=0.1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden_activation": None}, "straight line"),
        ({"output_activation": "relu"}, "regression output"),
        ({"units": 2}, "one number per example"),
        ({"fit": False}, "not been trained"),
    ],
)
def test_curve_model_names_the_mistake(curve, kwargs, message):
    model = _curve_model(**{"fit": False, **kwargs})
    with pytest.raises(AssertionError, match=message):
        checks.check_curve_model(model, *curve, threshold=0.1)


def test_curve_model_needs_a_hidden_layer_and_a_model(curve):
    with pytest.raises(AssertionError, match="still None"):
        checks.check_curve_model(None, *curve, threshold=0.1)
    linear = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    with pytest.raises(AssertionError, match="at least one hidden layer"):
        checks.check_curve_model(linear, *curve, threshold=0.1)


# ---------------------------------------------------------------- question 7

CHOICES = {
    "temperature_celsius": "linear",
    "probability_of_rain": "sigmoid",
    "rainfall_mm": "relu",
    "steering_angle": "tanh",
}


def test_output_activations_accept_the_matching_ranges():
    checks.check_output_activations(CHOICES)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rainfall_mm": "linear"}, "never negative"),
        ({"steering_angle": "sigmoid"}, "between -1 and 1"),
        ({"probability_of_rain": "softmax"}, "Keras names"),
        ({"temperature_celsius": "identity"}, "Keras names"),
        ({"temperature_celsius": None}, "still None"),
    ],
)
def test_output_activations_name_the_mistake(change, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_output_activations({**CHOICES, **change})


def test_output_activations_need_every_task():
    with pytest.raises(AssertionError, match="no entry for 'steering_angle'"):
        checks.check_output_activations({k: v for k, v in CHOICES.items() if k != "steering_angle"})
