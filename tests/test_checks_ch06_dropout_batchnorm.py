"""The Chapter 6 checks accept right answers and reject wrong ones with a message that names the mistake."""

import numpy as np
import pytest

from dlcourse.checks import ch06_dropout_batchnorm as checks

keras = pytest.importorskip("keras")


def not_written(*args, **kwargs):
    raise NotImplementedError()


# ------------------------------------------------------------------ question 1: dropout
def right_dropout(x, rate, u, training=True, inverted=True):
    if not training:
        return x if inverted else x * (1 - rate)
    kept = np.where(u >= rate, x, 0.0)
    return kept / (1 - rate) if inverted else kept


def test_dropout_accepts_inverted_dropout():
    checks.check_dropout(right_dropout)
    rng = np.random.default_rng(0)
    checks.check_dropout(right_dropout, rng.normal(size=(4, 5)), rng.uniform(size=(4, 5)), rate=0.6)


def test_dropout_reference_keeps_the_mean_like_keras():
    x = np.ones((400, 250), dtype="float32")
    u = np.random.default_rng(1).uniform(size=x.shape)
    ours = checks.reference_dropout(x, 0.4, u)
    theirs = np.asarray(keras.layers.Dropout(0.4, seed=1)(x, training=True))
    assert abs(ours.mean() - 1) < 0.01 and abs(theirs.mean() - 1) < 0.01
    assert np.allclose(np.unique(ours), np.unique(theirs))          # {0, 1/(1-p)} in both
    # the original dropout: the training mean is (1 - rate) of the input, and so is the inference output
    original = checks.reference_dropout(x, 0.4, u, True, False)
    assert abs(original.mean() - 0.6) < 0.01
    assert np.allclose(checks.reference_dropout(x, 0.4, u, False, False), 0.6)


def inverted_only(wrong):
    """A wrong inverted dropout, with the original dropout done right."""
    def fn(x, r, u, training=True, inverted=True):
        return wrong(x, r, u, training) if inverted else right_dropout(x, r, u, training, False)
    return fn


def page_dropout(x, rate, u, training=True, inverted=True):
    """The chapter page's dropout, with `rng.random(x.shape)` replaced by `u`: it knows only inverted dropout."""
    if not training or rate == 0:
        return x
    keep = u >= rate
    return np.where(keep, x / (1 - rate), 0.0)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (inverted_only(lambda x, r, u, training=True: np.where(u >= r, x, 0.0) if training else x), "does not rescale"),
        (inverted_only(lambda x, r, u, training=True: np.where(u < r, x / (1 - r), 0.0) if training else x),
         "keeps the values it should drop"),
        (inverted_only(lambda x, r, u, training=True: np.where(u < r, x / r, 0.0) if training else x),
         "keeps the values it should drop"),
        (inverted_only(lambda x, r, u, training=True: np.where(u >= r, x / r, 0.0) if training else x), "wrong factor"),
        (inverted_only(lambda x, r, u, training=True: np.where(u >= r, x * (1 - r), 0.0) if training else x),
         "multiplies"),
        (inverted_only(lambda x, r, u, training=True:
                       np.where(np.random.default_rng(5).uniform(size=x.shape) >= r, x / (1 - r), 0.0)),
         "use the given `u`"),
        (inverted_only(lambda x, r, u, training=True: np.where(u >= r, x / (1 - r), 0.0)), "training=False"),
        (inverted_only(lambda x, r, u, training=True:
                       x * (1 - r) if not training else np.where(u >= r, x / (1 - r), 0.0)), "training=False"),
        (page_dropout, "Does your function use its argument `inverted`"),
        (lambda x, r, u, training=True: right_dropout(x, r, u, training), "five arguments"),
        (lambda x, r, u, training=True, inverted=True:
         right_dropout(x, r, u, training, inverted) if inverted or not training else np.where(u < r, x, 0.0),
         "does not zero exactly"),
        (lambda x, r, u, training=True, inverted=True:
         right_dropout(x, r, u, training, inverted) if inverted or not training else np.where(u >= r, 2 * x, 0.0),
         "changes the kept values"),
        (lambda x, r, u, training=True, inverted=True:
         right_dropout(x, r, u, training, inverted) if inverted or training else x, "returns its input unchanged"),
        (lambda x, r, u, training=True, inverted=True:
         right_dropout(x, r, u, training, inverted) if inverted or training else x / (1 - r), "scales its input up"),
        (lambda x, r, u, training=True, inverted=True:
         right_dropout(x, r, u, training, inverted) if inverted or training else x * r, "is wrong: at inference"),
        (lambda x, r, u, training=True, inverted=True: None, "forget `return`"),
        (lambda x, r, u, training=True, inverted=True: right_dropout(x, r, u, training, inverted).ravel(), "shape"),
        (not_written, "not written yet"),
    ],
)
def test_dropout_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_dropout(wrong)


# ------------------------------------------------------------------ question 2: batch norm, training
def right_bn(x, gamma, beta, mm, mv, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))            # every axis but the units
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    return gamma * (x - mu) / np.sqrt(var + epsilon) + beta, momentum * mm + (1 - momentum) * mu, \
        momentum * mv + (1 - momentum) * var


def test_batchnorm_train_accepts_the_right_answer_and_matches_keras():
    checks.check_batchnorm_train(right_bn)
    rng = np.random.default_rng(2)
    x = rng.normal(2, 3, size=(10, 4)).astype("float32")
    params = [rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)]
    layer = keras.layers.BatchNormalization(momentum=0.8, epsilon=0.05)
    layer.build((None, 4))
    layer.set_weights([p.astype("float32") for p in params])
    out = np.asarray(layer(x, training=True))
    ref = checks.reference_batchnorm_train(x, *params, momentum=0.8, epsilon=0.05)
    assert np.allclose(ref[0], out, atol=1e-4)
    assert np.allclose(ref[1], layer.moving_mean.numpy(), atol=1e-5)
    assert np.allclose(ref[2], layer.moving_variance.numpy(), atol=1e-4)


def test_batchnorm_train_reference_matches_keras_on_a_batch_of_sequences():
    rng = np.random.default_rng(3)
    x = rng.normal(1, 2, size=(6, 4, 3)).astype("float32")
    params = [rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3), rng.uniform(0.5, 2, 3)]
    layer = keras.layers.BatchNormalization(momentum=0.7, epsilon=0.02)
    layer.build((None, 4, 3))
    layer.set_weights([p.astype("float32") for p in params])
    out = np.asarray(layer(x, training=True))
    ref = checks.reference_batchnorm_train(x, *params, momentum=0.7, epsilon=0.02)
    assert ref[0].shape == x.shape and np.allclose(ref[0], out, atol=1e-4)
    assert np.allclose(ref[1], layer.moving_mean.numpy(), atol=1e-5)
    assert np.allclose(ref[2], layer.moving_variance.numpy(), atol=1e-4)
    checks.check_batchnorm_train(right_bn, x, *params, momentum=0.7, epsilon=0.02)


def test_batchnorm_train_rejects_the_matrix_only_answer_on_sequences():
    # the chapter's cell: statistics down axis 0, right for (m, units), wrong for (m, steps, units)
    def matrix_only(x, gamma, beta, mm, mv, momentum=0.99, epsilon=1e-3):
        mu, var = x.mean(axis=0), x.var(axis=0)
        return gamma * (x - mu) / np.sqrt(var + epsilon) + beta, momentum * mm + (1 - momentum) * mu, \
            momentum * mv + (1 - momentum) * var

    checks.check_batchnorm_train(matrix_only, *checks._q2_example())
    with pytest.raises(AssertionError, match=r"each \(step, unit\) pair") as error:
        checks.check_batchnorm_train(matrix_only)
    assert error.value.tag == "bn_stats_first_axis_only"


def _bn_variant(out=None, mean=None, var=None):
    def fn(x, g, b, mm, mv, momentum=0.99, epsilon=1e-3):
        o, m, v = right_bn(x, g, b, mm, mv, momentum, epsilon)
        axes = tuple(range(x.ndim - 1))
        mu, s2 = x.mean(axis=axes), x.var(axis=axes)
        env = dict(x=x, g=g, b=b, mm=mm, mv=mv, momentum=momentum, eps=epsilon, mu=mu, s2=s2, np=np)
        return (eval(out, env) if out else o, eval(mean, env) if mean else m, eval(var, env) if var else v)
    return fn


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_bn_variant(out="g * (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + b"),
         "each example"),
        (_bn_variant(out="g * (x - mu) / np.sqrt(x.var(axis=0, ddof=1) + eps) + b"), "sample variance"),
        (_bn_variant(out="g * (x - mu) / np.sqrt(s2) + b"), "ignores epsilon"),
        (_bn_variant(out="(x - mu) / np.sqrt(s2 + eps)"), "not scaled by gamma"),
        (_bn_variant(out="g * (x - mm) / np.sqrt(mv + eps) + b"), "uses the moving averages"),
        (_bn_variant(out="g * (x - mu) / (s2 + eps) + b"), "divides by the variance"),
        (_bn_variant(out="g * (x - mu) / np.sqrt(s2 + eps) - b"), "output of `batchnorm_train` is not right"),
        (_bn_variant(mean="(1 - momentum) * mm + momentum * mu", var="(1 - momentum) * mv + momentum * s2"), "swapped|other way round"),
        (_bn_variant(mean="mu", var="s2"), "jump to the batch"),
        (_bn_variant(var="momentum * mv + (1 - momentum) * np.sqrt(s2)"), "standard deviation"),
        (_bn_variant(var="mv"), "new_moving_var is not"),
        (_bn_variant(mean="mm"), "new_moving_mean is not right"),
        (_bn_variant(mean="np.array([mm])"), "one value per unit"),
        (lambda *a, **k: (right_bn(*a, **k)[0], right_bn(*a, **k)[1]), "tuple of three"),
        (not_written, "not written yet"),
    ],
)
def test_batchnorm_train_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_batchnorm_train(wrong)


# ------------------------------------------------------------------ question 3: inference as an affine map
def right_affine(g, b, mm, mv, epsilon=1e-3):
    scale = g / np.sqrt(mv + epsilon)
    return scale, b - scale * mm


def test_bn_affine_accepts_the_right_answer_and_matches_keras():
    checks.check_bn_affine(right_affine)
    rng = np.random.default_rng(3)
    params = [rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), rng.uniform(0.1, 4, 3)]
    layer = keras.layers.BatchNormalization(epsilon=0.2)
    layer.build((None, 3))
    layer.set_weights([p.astype("float32") for p in params])
    x = rng.normal(size=(5, 3)).astype("float32")
    scale, shift = checks.reference_bn_affine(*params, epsilon=0.2)
    assert np.allclose(scale * x + shift, np.asarray(layer(x, training=False)), atol=1e-5)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda g, b, mm, mv, e=1e-3: (g / np.sqrt(mv), b - g / np.sqrt(mv) * mm), "scale ignores epsilon"),
        (lambda g, b, mm, mv, e=1e-3: (g / (mv + e), b - g / (mv + e) * mm), "divides by the variance"),
        (lambda g, b, mm, mv, e=1e-3: (1 / np.sqrt(mv + e), b - mm / np.sqrt(mv + e)), "forgets gamma"),
        (lambda g, b, mm, mv, e=1e-3: (g / np.sqrt(mv + e), b + g / np.sqrt(mv + e) * mm), "wrong sign"),
        (lambda g, b, mm, mv, e=1e-3: (g / np.sqrt(mv + e), b - mm), "without scaling it"),
        (lambda g, b, mm, mv, e=1e-3: (g / np.sqrt(mv + e), -g / np.sqrt(mv + e) * mm), "forgets beta"),
        (lambda g, b, mm, mv, e=1e-3: (g / np.sqrt(mv + e), b), "shift is not right"),
        (lambda g, b, mm, mv, e=1e-3: (g, b), "scale is not right"),
        (lambda g, b, mm, mv, e=1e-3: right_affine(g, b, mm, mv, e)[0], "tuple of two"),
        (not_written, "not written yet"),
    ],
)
def test_bn_affine_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_bn_affine(wrong)


# ------------------------------------------------------------------ question 4: moving mean after k steps
def loop_moving_mean(k, batch_mean, momentum=0.99, start=0.0):
    value = start
    for _ in range(k):
        value = momentum * value + (1 - momentum) * batch_mean
    return value


def test_moving_mean_after_accepts_a_loop_and_a_formula():
    checks.check_moving_mean_after(loop_moving_mean)
    checks.check_moving_mean_after(lambda k, m, a=0.99, s=0.0: m + (s - m) * a**k)
    checks.check_moving_mean_after(lambda k, m, a=0.99, s=0.0: np.float32(m + (s - m) * a**k))


def test_moving_mean_reference_matches_a_keras_layer():
    layer = keras.layers.BatchNormalization(momentum=0.9)
    batch = np.full((4, 1), 3.0, dtype="float32")
    for _ in range(25):
        layer(batch, training=True)
    assert np.isclose(float(layer.moving_mean[0]), checks.reference_moving_mean_after(25, 3.0, 0.9), atol=1e-5)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda k, m, a=0.99, s=0.0: loop_moving_mean(k, m, 1 - a, s), "swapped"),
        (lambda k, m, a=0.99, s=0.0: loop_moving_mean(k + 1, m, a, s), "one step off"),
        (lambda k, m, a=0.99, s=0.0: loop_moving_mean(max(k - 1, 0), m, a, s), "one step off"),
        (lambda k, m, a=0.99, s=0.0: loop_moving_mean(k, m, a, 0.0), "does not start at `start`"),
        (lambda k, m, a=0.99, s=0.0: m * (1 - a**k), "does not start at `start`"),
        (lambda k, m, a=0.99, s=0.0: m, "not right"),
        (lambda k, m, a=0.99, s=0.0: None, "forget `return`"),
        (lambda k, m, a=0.99, s=0.0: [1.0, 2.0], "one number"),
        (not_written, "not written yet"),
    ],
)
def test_moving_mean_after_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_moving_mean_after(wrong)


# ------------------------------------------------------------------ question 5: parameter counts
def right_count(input_dim, hidden, outputs, use_bias=True):
    return checks.reference_bn_network_params(input_dim, hidden, outputs, use_bias)


def keras_count(input_dim, hidden, outputs, use_bias):
    layers = [keras.Input(shape=(input_dim,))]
    for u in hidden:
        layers += [keras.layers.Dense(u, use_bias=use_bias), keras.layers.BatchNormalization(),
                   keras.layers.Activation("relu"), keras.layers.Dropout(0.2)]
    model = keras.Sequential(layers + [keras.layers.Dense(outputs)])
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model.count_params(), trainable, model.count_params() - trainable


@pytest.mark.parametrize("spec", [(11, [64], 1, True), (8, [16, 4], 3, False), (3, [], 2, True), (20, [5, 6, 7], 10, True)])
def test_bn_network_reference_matches_keras(spec):
    assert checks.reference_bn_network_params(*spec) == keras_count(*spec)


def test_bn_network_accepts_the_right_counts():
    checks.check_bn_network_params(right_count)
    checks.check_bn_network_params(lambda *a: tuple(np.int64(v) for v in right_count(*a)))
    checks.check_bn_network_params(lambda *a: [float(v) for v in right_count(*a)])


def _count_variant(fn):
    return lambda i, h, o, b=True: fn(i, list(h), o, b)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_count_variant(lambda i, h, o, b: (right_count(i, h, o, b)[1], right_count(i, h, o, b)[1], 0)),
         "two parameters per batch-normalised unit"),
        (_count_variant(lambda i, h, o, b: (right_count(i, h, o, b)[0] - 4 * sum(h),) * 2 + (0,)),
         "parameters are missing"),
        (_count_variant(lambda i, h, o, b: (right_count(i, h, o, b)[0], right_count(i, h, o, b)[0], 0)),
         "split into trainable"),
        (_count_variant(lambda i, h, o, b: right_count(i, h, o, True)), "no biases"),
        (_count_variant(lambda i, h, o, b: (lambda t: (t[0] - sum(h) - o, t[1] - sum(h) - o, t[2]))(right_count(i, h, o, True))
                        if b else right_count(i, h, o, b)), "biases are missing"),
        (_count_variant(lambda i, h, o, b: (1, 2, 3)), "not trainable \\+ non-trainable"),
        (_count_variant(lambda i, h, o, b: (10, 5, 5)), "not right"),
        (_count_variant(lambda i, h, o, b: (1.5, 1.0, 0.5)), "whole numbers"),
        (_count_variant(lambda i, h, o, b: right_count(i, h, o, b)[0]), "three whole numbers"),
        (not_written, "not written yet"),
    ],
)
def test_bn_network_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_bn_network_params(wrong)


# ------------------------------------------------------------------ question 6: a model to a specification
L = keras.layers


def build(*blocks, output=None):
    layers = [keras.Input(shape=(11,))]
    for block in blocks:
        layers += block
    layers.append(output if output is not None else L.Dense(1))
    return keras.Sequential(layers)


def before(units, rate=0.25):
    return [L.Dense(units), L.BatchNormalization(), L.Activation("relu"), L.Dropout(rate)]


def after(units, rate=0.25):
    return [L.Dense(units, activation="relu"), L.BatchNormalization(), L.Dropout(rate)]


@pytest.mark.parametrize("blocks", [
    (before(64), before(32)), (after(64), after(32)), (before(64), after(32)),
    ([L.Dense(64, use_bias=False), L.BatchNormalization(), L.ReLU(), L.Dropout(0.25)], after(32)),
])
def test_spec_model_accepts_both_placements(blocks):
    checks.check_spec_model(build(*blocks))


@pytest.mark.parametrize(
    "model, message",
    [
        (lambda: None, "still None"),
        (lambda: build(before(32), before(64)), "has 32 units"),
        (lambda: build(before(64)), "has 2 Dense layers"),
        (lambda: build(before(64), before(32), output=L.Dense(1, activation="relu")), "no activation"),
        (lambda: build(before(64), [L.Dense(32), L.Activation("relu"), L.Dropout(0.25)]), "0 BatchNormalization"),
        (lambda: build(before(64), [L.Dense(32, activation="relu"), L.BatchNormalization()]), "0 Dropout"),
        (lambda: build(before(64), [L.Dense(32), L.Activation("relu"), L.BatchNormalization(), L.Dropout(0.25)]),
         "directly after"),
        (lambda: build(before(64, rate=0.5), before(32)), "rate 0.5"),
        (lambda: build(before(64), [L.Dense(32, activation="relu"), L.BatchNormalization(), L.Dropout(0.25),
                                    L.Activation("relu")]), "ReLU twice|ends with"),
        (lambda: build(before(64), [L.Dense(32), L.BatchNormalization(), L.Dropout(0.25), L.Activation("relu")]),
         "ends with"),
        (lambda: build(before(64), [L.Dense(32, activation="tanh"), L.BatchNormalization(), L.Dropout(0.25)]),
         "'tanh'"),
        (lambda: build(before(64), [L.Dense(32), L.BatchNormalization(), L.Dropout(0.25)]), "no activation"),
        (lambda: build(before(64), [L.Dense(32), L.BatchNormalization(), L.Activation("sigmoid"), L.Dropout(0.25)]),
         "'sigmoid'"),
        (lambda: build(before(64), [L.Dense(32, activation="relu"), L.BatchNormalization(), L.Activation("relu"),
                                    L.Dropout(0.25)]), "ReLU twice"),
        (lambda: build(before(64), before(32), output=L.Dense(1)).__class__, "a function|Keras model"),
    ],
)
def test_spec_model_names_the_mistake(model, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_spec_model(model())


def test_spec_model_rejects_a_layer_after_the_output():
    model = keras.Sequential([keras.Input(shape=(11,)), *before(64), *before(32), L.Dense(1), L.Dropout(0.25)])
    with pytest.raises(AssertionError, match="after the output layer"):
        checks.check_spec_model(model)


def block_builder(relu="layer", bias=False, output_bias=True, rate_of=None, units_of=None):
    def build_block_network(hidden_units, rate):
        rate = rate if rate_of is None else rate_of
        units = hidden_units if units_of is None else units_of
        layers = [keras.Input(shape=(11,))]
        for width in units:
            if relu == "layer":
                layers += [L.Dense(width, use_bias=bias), L.BatchNormalization(), L.Activation("relu")]
            elif relu == "ReLU":
                layers += [L.Dense(width, use_bias=bias), L.BatchNormalization(), L.ReLU()]
            else:
                layers += [L.Dense(width, activation="relu", use_bias=bias), L.BatchNormalization()]
            layers.append(L.Dropout(rate))
        layers.append(L.Dense(1, use_bias=output_bias))
        return keras.Sequential(layers)
    return build_block_network


@pytest.mark.parametrize("relu", ["layer", "ReLU"])
def test_block_network_accepts_the_specification(relu):
    checks.check_block_network(block_builder(relu))
    checks.check_block_network(block_builder(relu), cases=(([8, 8, 4], 0.1), ([], 0.2)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (block_builder(bias=True), "has a bias"),
        (block_builder(relu="dense"), "applies the ReLU itself"),
        (block_builder(output_bias=False), "output layer .* has no bias"),
        (block_builder(rate_of=0.25), "rate 0.25; the specification asks for 0.5"),
        (block_builder(units_of=[64, 32]), "Dense layers"),
        (lambda units, rate: build(before(64), before(32)), "has a bias|Dense layers"),
        (lambda units, rate: None, "forget `return`"),
        (lambda units, rate: block_builder()(units, rate) if units else None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_block_network_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_block_network(wrong)


def test_widest_is_counted_from_the_trainable_parameters():
    assert checks.reference_widest(10_000) == 92
    for units in ([92, 92], [5], [7, 3, 2], []):
        assert checks.reference_block_trainable(11, units) == \
            sum(int(np.prod(w.shape)) for w in block_builder()(units, 0.3).trainable_weights)
    checks.check_widest(92)
    checks.check_widest(92, block_builder())
    checks.check_widest(checks.reference_widest(5_000), budget=5_000)


@pytest.mark.parametrize(
    "widest, build_fn, message",
    [
        (None, None, "still None"),
        (92.0, None, "whole number"),
        (93, None, "too large"),
        (91, None, "too small"),   # the blocks' biases counted
        (90, None, "too small"),   # the moving averages counted
        (92, block_builder(bias=True), "does not agree"),
    ],
)
def test_widest_names_the_mistake(widest, build_fn, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_widest(widest, build_fn)


# ------------------------------------------------------------------ question 7: the rescue
@pytest.fixture(scope="module")
def raw_wine():
    from dlcourse.data import split_red_wine

    raw = split_red_wine().arrays(standardise=False)   # the notebook's data: the course's split, unscaled
    return raw["X_train"], raw["y_train"], raw["X_val"], raw["y_val"]


def _trained(raw_wine, layers, optimizer, epochs=12):
    from dlcourse.training import to_dataset

    X, y, X_val, y_val = raw_wine
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(11,)), *layers, L.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(to_dataset(X, y, batch_size=32, shuffle=True), epochs=epochs, verbose=0)
    return model, history


def test_rescue_accepts_batch_normalisation_on_the_inputs(raw_wine):
    # the solution's network and budget (30 epochs); 12 epochs sat on the threshold in some test orders
    model, history = _trained(raw_wine, [L.BatchNormalization(), L.Dense(64, activation="relu")],
                              keras.optimizers.SGD(learning_rate=0.01), epochs=30)
    checks.check_rescue(model, history, raw_wine[2], raw_wine[3], threshold=0.55)


def test_rescue_names_the_problem(raw_wine):
    X_val, y_val = raw_wine[2], raw_wine[3]
    diverged, history = _trained(raw_wine, [L.Dense(32, activation="relu")], keras.optimizers.SGD(learning_rate=0.01),
                                 epochs=2)
    with pytest.raises(AssertionError, match="no BatchNormalization"):
        checks.check_rescue(diverged, history, X_val, y_val)
    adam, history = _trained(raw_wine, [L.BatchNormalization(), L.Dense(8, activation="relu")],
                             keras.optimizers.Adam(learning_rate=0.01), epochs=1)
    with pytest.raises(AssertionError, match="compiled with Adam"):
        checks.check_rescue(adam, history, X_val, y_val)
    fast, history = _trained(raw_wine, [L.BatchNormalization(), L.Dense(8, activation="relu")],
                             keras.optimizers.SGD(learning_rate=0.1), epochs=1)
    with pytest.raises(AssertionError, match="learning_rate=0.01"):
        checks.check_rescue(fast, history, X_val, y_val)
    short, history = _trained(raw_wine, [L.BatchNormalization(), L.Dense(8, activation="relu")],
                              keras.optimizers.SGD(learning_rate=0.01), epochs=1)
    with pytest.raises(AssertionError, match="the target is below 0.1"):
        checks.check_rescue(short, history, X_val, y_val, threshold=0.1)
    with pytest.raises(AssertionError, match="budget is at most 0"):
        checks.check_rescue(short, history, X_val, y_val, max_epochs=0)
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_rescue(short, {"loss": [1.0, float("nan")]}, X_val, y_val)
    with pytest.raises(AssertionError, match="`history` is still None"):
        checks.check_rescue(short, None, X_val, y_val)
    with pytest.raises(AssertionError, match="predict` failed"):
        checks.check_rescue(short, history, X_val[:, :5], y_val)
    normalised = keras.Sequential([keras.Input(shape=(11,)), L.Normalization(), L.BatchNormalization(), L.Dense(1)])
    normalised.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    with pytest.raises(AssertionError, match="Normalization layer"):
        checks.check_rescue(normalised, history, X_val, y_val)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_rescue(None, history, X_val, y_val)


# ------------------------------------------------------------------ question 8: the histories to read
def test_dropout_histories_support_the_mark_scheme():
    histories = checks.dropout_histories()
    assert histories.equals(checks.dropout_histories())   # deterministic
    plain, drop = histories.loc["no dropout"], histories.loc["Dropout(0.5)"]
    end = slice(36, 40)
    # with dropout, loss stays far above val_loss, yet the evaluated training MSE is below it
    assert (drop["loss"].loc[end] - drop["val_loss"].loc[end]).min() > 0.08
    assert (drop["val_loss"].loc[end] - drop["train_evaluated"].loc[end]).mean() > 0.05
    # without dropout, loss and the evaluated MSE agree at the end, but not in the first epoch
    assert abs(plain["loss"].loc[end] - plain["train_evaluated"].loc[end]).max() < 0.03
    assert plain["loss"].loc[1] - plain["train_evaluated"].loc[1] > 0.15
    # the fair gaps: about 0.34 without dropout, about 0.09 with it
    plain_gap = (plain["val_loss"] - plain["train_evaluated"]).loc[end].mean()
    drop_gap = (drop["val_loss"] - drop["train_evaluated"]).loc[end].mean()
    assert plain_gap > 0.3 and 0.05 < drop_gap < 0.12
    # without dropout the validation loss rises after its minimum while the training MSE keeps falling
    assert plain["val_loss"].loc[end].mean() - plain["val_loss"].min() > 0.02
    assert plain["train_evaluated"].is_monotonic_decreasing or plain["train_evaluated"].diff().max() < 0.01
    # the validation MSE improves by a small amount only
    assert 0.0 < plain["val_loss"].loc[end].mean() - drop["val_loss"].loc[end].mean() < 0.06
