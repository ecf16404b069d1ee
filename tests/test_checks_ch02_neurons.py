"""The Chapter 2 checks accept right answers and reject wrong ones with a message that teaches."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse.checks import ch02_neurons as checks  # noqa: E402

Dense = keras.layers.Dense


def stack(input_dim, *layers):
    return keras.Sequential([keras.Input(shape=(input_dim,)), *layers])


def not_written(*args):
    raise NotImplementedError()


# ---------------------------------------------------------------- check_dense_stack (general helper)

def test_dense_stack_accepts_a_model_to_the_specification():
    model = stack(784, Dense(512, activation="relu"), Dense(10, activation="softmax"))
    layers = checks.check_dense_stack(model, 784, [512, 10], ["relu", "softmax"])
    assert [layer.units for layer in layers] == [512, 10]


def test_dense_stack_treats_none_and_linear_alike_and_skips_ellipsis():
    model = stack(3, Dense(4, activation="tanh"), Dense(1))
    checks.check_dense_stack(model, 3, [4, 1], [..., None])
    checks.check_dense_stack(model, 3, [4, 1], [..., "linear"])
    checks.check_dense_stack(model, None, [4, 1])


def test_dense_stack_accepts_the_older_input_shape_spelling():
    with pytest.warns(UserWarning):
        model = keras.Sequential([Dense(4, input_shape=(7,)), Dense(1)])
    checks.check_dense_stack(model, 7, [4, 1])


def test_dense_stack_skips_ignored_layer_types():
    model = stack(5, Dense(8, activation="relu"), keras.layers.Dropout(0.5), Dense(1))
    checks.check_dense_stack(model, 5, [8, 1], ["relu", None], ignore=("Dropout",))
    with pytest.raises(AssertionError, match="contains a Dropout layer"):
        checks.check_dense_stack(model, 5, [8, 1])


@pytest.mark.parametrize(
    "model, message",
    [
        (None, r"`model` is still None"),
        (lambda: None, "is a function"),
        ([Dense(3)], "should be a Keras model"),
        (keras.Sequential([Dense(512), Dense(10)]), r"input shape yet: .*keras.Input\(shape=\(784,\)\)"),
        (stack(28, Dense(512), Dense(10)), r"inputs of shape \(None, 28\); the exercise asks for 784 features"),
        (stack(784, Dense(64, activation="relu"), Dense(10, activation="softmax")),
         "your first Dense layer has 64 units; the exercise asks for 512"),
        (stack(784, Dense(512, activation="relu"), Dense(5, activation="softmax")),
         "your second Dense layer has 5 units; the exercise asks for 10"),
        (stack(784, Dense(512, activation="relu")), "has 1 Dense layer; the exercise asks for 2"),
        (stack(784, Dense(512), Dense(10, activation="softmax")),
         r"your first Dense layer uses no activation \(linear\); the exercise asks for activation='relu'"),
        (stack(784, Dense(512, activation="sigmoid"), Dense(10, activation="softmax")),
         "uses activation 'sigmoid'; the exercise asks for activation='relu'"),
        (stack(784, Dense(512, activation="relu"), Dense(10, activation="relu")),
         "second Dense layer uses activation 'relu'; the exercise asks for activation='softmax'"),
        (stack(784, Dense(512), keras.layers.Activation("relu"), Dense(10, activation="softmax")),
         "contains a Activation layer"),
    ],
)
def test_dense_stack_names_the_first_difference(model, message):
    with pytest.raises(AssertionError, match="(?i)" + message):
        checks.check_dense_stack(model, 784, [512, 10], ["relu", "softmax"])


def test_dense_stack_ordinals_go_beyond_ten():
    assert checks.ordinal(0) == "first" and checks.ordinal(11) == "number 12"


# ---------------------------------------------------------------- question 1

X1, W1, B1 = np.array([2.0, -1.0, 0.5]), np.array([0.4, 0.3, -2.0]), 0.1


def test_neuron_by_hand_accepts_the_augmented_vectors():
    checks.check_neuron_by_hand([1, 2, -1, 0.5], [0.1, 0.4, 0.3, -2], -0.4, X1, W1, B1)


@pytest.mark.parametrize(
    "answer, message",
    [
        ((None, [0.1, 0.4, 0.3, -2], -0.4), "`x_aug` is still None"),
        (([1, 2, -1, 0.5], [0.1, 0.4, 0.3, -2], None), "`z_by_hand` is still None"),
        (([2, -1, 0.5, 1], [0.1, 0.4, 0.3, -2], -0.4), "1 at the end"),
        (([1, 2, -1, 0.5], [0.4, 0.3, -2, 0.1], -0.4), "bias at the end"),
        (([1, 2, -1, 0.5], [0.1, 0.4, 0.3, -2], -0.5), "without the bias"),
        (([1, 2, -1, 0.5], [0.1, 0.4, 0.3, -2], 0.4), "not right"),
        (([2, -1, 0.5], [0.1, 0.4, 0.3, -2], -0.4), "has 4 numbers"),
        (([1, 2, -1, 0.5], "w", -0.4), "should be numbers"),
    ],
)
def test_neuron_by_hand_names_the_mistake(answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_neuron_by_hand(*answer, X1, W1, B1)


def test_neuron_output_accepts_any_way_of_computing_it():
    checks.check_neuron_output(lambda x, w, b: float(np.dot(np.r_[1.0, x], np.r_[b, w])))
    checks.check_neuron_output(lambda x, w, b: sum(wi * xi for wi, xi in zip([b, *w], [1, *x])))
    checks.check_neuron_output(lambda x, w, b: np.array([np.dot(x, w) + b]))   # one number in an array


@pytest.mark.parametrize(
    "fn, message, tag",
    [
        (lambda x, w, b: float(np.dot(x, w)), "leaves out the bias", "bias_left_out"),
        (lambda x, w, b: float(np.dot(x, w)) - b, "not its output", "output_wrong"),
        (lambda x, w, b: np.r_[1.0, x] * np.r_[b, w], "numbers; a unit has one output", "output_not_a_number"),
        (lambda x, w, b: None, "forget `return`", "no_return"),
        (lambda x, w, b: -0.4, "not its output", "output_wrong"),   # the by-hand value, hard-coded
    ],
)
def test_neuron_output_names_the_mistake(fn, message, tag):
    with pytest.raises(AssertionError, match=message) as error:
        checks.check_neuron_output(fn)
    assert error.value.tag == tag


# ---------------------------------------------------------------- question 2

def right_add(X):
    X = np.asarray(X)
    return np.concatenate([np.ones(X.shape[:-1] + (1,)), X], axis=-1)


def batch_only_add(X):
    # the chapter's cell: right for a batch, not for one example
    return np.column_stack([np.ones(len(X)), X])


def right_pack(w, b):
    return np.concatenate([[b], w])


def test_bias_trick_accepts_ones_first_and_bias_first():
    checks.check_bias_trick(right_add, right_pack)
    checks.check_bias_trick(right_add, right_pack, X=np.arange(8.0).reshape(4, 2), w=[1.0, -1.0], b=3.0)
    checks.check_bias_trick(right_add, right_pack, X=[1.0, 2.0], w=np.ones((2, 3)), b=[1.0, 2.0, 3.0])
    checks.check_bias_trick(lambda X: np.insert(np.asarray(X, float), 0, 1.0, axis=-1),
                            lambda w, b: np.vstack([np.atleast_2d(b), np.asarray(w).reshape(len(w), -1)])
                            .reshape((len(w) + 1,) + np.shape(w)[1:]))


def test_bias_trick_rejects_the_batch_only_answer_on_one_example():
    checks.check_bias_trick(batch_only_add, right_pack, *checks._bias_trick_cases()[0])
    with pytest.raises(AssertionError, match="for one example of shape") as error:
        checks.check_bias_trick(batch_only_add, right_pack)
    assert error.value.tag is None or isinstance(error.value.tag, str)


@pytest.mark.parametrize(
    "add, pack, message",
    [
        (not_written, right_pack, "`add_bias_column` is not written yet"),
        (right_add, not_written, "`pack_weights` is not written yet"),
        (lambda X: np.hstack([X, np.ones((len(X), 1))]), right_pack, "ones last"),
        (lambda X: X, right_pack, r"has shape \(5, 3\); the exercise asks for shape \(5, 4\)"),
        (lambda X: np.hstack([np.zeros((len(X), 1)), X]), right_pack, "should be all ones"),
        (lambda X: np.hstack([np.ones((len(X), 1)), 2 * X]), right_pack, "X unchanged"),
        (right_add, lambda w, b: np.concatenate([w, [b]]), "bias last"),
        (right_add, lambda w, b: np.asarray(w), r"has shape \(3,\)"),
        (right_add, lambda w, b: np.concatenate([[b], 2 * np.asarray(w)]), "not right"),
    ],
)
def test_bias_trick_names_the_mistake(add, pack, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_bias_trick(add, pack)


# ---------------------------------------------------------------- question 3

def right_width(n_inputs, n_outputs, budget):
    return max(0, (budget - n_outputs) // (n_inputs + 1 + n_outputs))


def width_by_search(n_inputs, n_outputs, budget):
    """Another right answer: count up until the next unit would break the budget."""
    h = 0
    while (n_inputs + 1) * (h + 1) + (h + 2) * n_outputs <= budget:
        h += 1
    return h


def page_count(sizes):
    """The chapter's parameter count, copied unchanged: it answers another question."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def test_parameter_count_matches_keras_on_the_chapter_networks():
    assert checks.keras_param_count([7, 4, 3, 1]) == 51
    assert checks.keras_param_count([784, 512, 512, 512, 10]) == 932_362


def test_max_hidden_units_accepts_a_formula_or_a_search():
    checks.check_max_hidden_units(right_width)
    checks.check_max_hidden_units(width_by_search, [(11, 1, 200), (3, 2, 5), (30, 4, 1000)])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, o, budget: budget // (n + o), "leaves out the biases"),
        (lambda n, o, budget: right_width(n, o, budget) + 1, "more than the budget"),
        (lambda n, o, budget: right_width(n, o, budget) - 1, "a wider hidden layer still fits"),
        (lambda n, o, budget: float(right_width(n, o, budget)), "whole number"),
        (lambda n, o, budget: page_count([n, budget, o]), "more than the budget"),
        (lambda n, o, budget: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_max_hidden_units_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_max_hidden_units(wrong)


# ---------------------------------------------------------------- question 4

def right_mlp(input_dim, hidden_units, num_classes):
    return keras.Sequential([keras.Input(shape=(input_dim,))]
                            + [Dense(u, activation="relu") for u in hidden_units]
                            + [Dense(num_classes, activation="softmax")])


def test_build_mlp_accepts_relu_layers_and_a_softmax_output():
    model = checks.check_build_mlp(right_mlp)
    assert model.count_params() == 932_362
    checks.check_build_mlp(right_mlp, 11, [16, 8], 3)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d, h, c: right_mlp(d, [64] + list(h[1:]), c), "first Dense layer has 64 units; the exercise asks for 512"),
        (lambda d, h, c: right_mlp(d, h[:2], c), "has 3 Dense layers; the exercise asks for 4"),
        (lambda d, h, c: keras.Sequential([Dense(u, activation="relu") for u in h] + [Dense(c, activation="softmax")]),
         "input shape yet"),
        (lambda d, h, c: keras.Sequential([keras.Input(shape=(d,))] + [Dense(u, activation="relu") for u in h]
                                          + [Dense(c)]),
         r"fourth Dense layer uses no activation \(linear\)"),
        (lambda d, h, c: None, r"build_mlp\(784, \[512, 512, 512\], 10\) is still None"),
        (not_written, "not written yet"),
    ],
)
def test_build_mlp_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_build_mlp(wrong)


# ---------------------------------------------------------------- question 5

def right_set(layer, weights_by_neuron, biases):
    layer.set_weights([np.asarray(weights_by_neuron, dtype=float).T, np.asarray(biases, dtype=float)])


def test_set_weights_accepts_one_column_per_neuron():
    checks.check_set_neuron_weights(right_set)
    checks.check_set_neuron_weights(right_set, [[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0])


@pytest.mark.parametrize(
    "wrong, weights, message",
    [
        (lambda layer, W, b: layer.set_weights([np.asarray(W), np.asarray(b)]), None, "Keras refused the weights"),
        (lambda layer, W, b: layer.set_weights([np.asarray(W), np.asarray(b)]), [[1.0, 2.0], [3.0, 4.0]],
         "transpose"),
        (lambda layer, W, b: layer.set_weights([np.asarray(W).T, np.zeros(len(b))]), None, "bias"),
        (lambda layer, W, b: None, None, "kernel"),
        (not_written, None, "not written yet"),
    ],
)
def test_set_weights_names_the_mistake(wrong, weights, message):
    biases = None if weights is None else [0.0, 1.0]
    with pytest.raises(AssertionError, match=message):
        checks.check_set_neuron_weights(wrong, weights, biases)


# ---------------------------------------------------------------- question 6

@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.default_rng(0)
    w = rng.normal(size=10)
    X = rng.normal(size=(300, 10)).astype("float32")
    y = (X @ w * 0.3 + 10.4 + rng.normal(0, 0.5, 300)).astype("float32")
    return X[:200], y[:200], X[200:], y[200:]


def _trained_unit(X, y, epochs):
    keras.utils.set_random_seed(0)
    model = stack(10, Dense(1))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def test_linear_unit_fit_accepts_a_unit_trained_to_convergence(linear_data):
    X, y, X_eval, y_eval = linear_data
    checks.check_linear_unit_fit(_trained_unit(X, y, 30), X, y, X_eval, y_eval)


def test_linear_unit_fit_rejects_a_unit_far_from_least_squares(linear_data):
    X, y, X_eval, y_eval = linear_data
    with pytest.raises(AssertionError, match=r"least squares on the training rows\) reaches \d\.\d+"):
        checks.check_linear_unit_fit(_trained_unit(X, y, 1), X, y, X_eval, y_eval)


def test_linear_unit_fit_names_the_mistake(linear_data):
    X, y, X_eval, y_eval = linear_data
    with pytest.raises(AssertionError, match="not been trained yet"):
        checks.check_linear_unit_fit(stack(10, Dense(1)), X, y, X_eval, y_eval)
    with pytest.raises(AssertionError, match="has 2 Dense layers"):
        checks.check_linear_unit_fit(stack(10, Dense(4), Dense(1)), X, y, X_eval, y_eval)
    with pytest.raises(AssertionError, match="uses activation 'relu'"):
        checks.check_linear_unit_fit(stack(10, Dense(1, activation="relu")), X, y, X_eval, y_eval)
    with pytest.raises(AssertionError, match="10 features"):  # the page's 11-feature quality unit
        checks.check_linear_unit_fit(stack(11, Dense(1)), X, y, X_eval, y_eval)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_linear_unit_fit(None, X, y, X_eval, y_eval)


# ---------------------------------------------------------------- question 7

def right_predict(model, X):
    functions = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    out = np.asarray(X, dtype=float)
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        out = functions[layer.activation.__name__](out @ kernel + bias)
    return out


def page_predict(model, X):
    """The chapter's one-layer computation, copied unchanged."""
    kernel, bias = model.get_weights()[:2]
    return X @ kernel + bias


def no_activations(model, X):
    weights = model.get_weights()
    out = X
    for kernel, bias in zip(weights[::2], weights[1::2]):
        out = out @ kernel + bias
    return out


def test_numpy_predict_accepts_a_forward_pass_through_every_layer():
    checks.check_numpy_predict(right_predict)
    checks.check_numpy_predict(right_predict, layer_sizes=(4, 3), activations=("linear",), n=5, seed=2)
    checks.check_numpy_predict(right_predict, layer_sizes=(3, 6, 1), activations=("sigmoid", "relu"), seed=4)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (no_activations, "skip the activations"),
        (page_predict, r"should have shape \(6, 2\)"),
        (lambda m, X: right_predict(m, X).ravel(), r"should have shape \(6, 2\)"),
        (lambda m, X: right_predict(m, X) + 0.1, "not right"),
        (lambda m, X: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_numpy_predict_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_numpy_predict(wrong)


def test_the_worked_numbers_quoted_in_the_exercises():
    """Question 5 quotes [4.6, -0.7] as the by-hand output; question 1's answer is -0.4."""
    model = stack(3, Dense(2))
    right_set(model.layers[0], [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]], [0.1, -0.2])
    assert np.allclose(model.predict(np.array([[1.0, 2.0, 3.0]]), verbose=0), [[4.6, -0.7]])
    assert np.isclose(X1 @ W1 + B1, -0.4)
