"""The Chapter 8 checks accept right answers and reject wrong ones with a message that teaches."""

import numpy as np
import pytest

from dlcourse.checks import ch08_convnets as checks


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ references against Keras
@pytest.mark.parametrize("n, f, stride, padding", [
    (7, 3, 1, "valid"), (7, 3, 2, "valid"), (6, 3, 1, "same"), (8, 5, 2, "same"), (7, 3, 2, "same"),
    (9, 4, 3, "same"), (6, 2, 2, "same"), (10, 1, 3, "valid"),
])
def test_reference_conv2d_matches_keras(n, f, stride, padding):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(n * 100 + f * 10 + stride)
    image, kernel = rng.normal(size=(n, n + 1)), rng.normal(size=(f, f))
    conv = keras.layers.Conv2D(1, f, strides=stride, padding=padding, use_bias=False)
    conv.build((None, n, n + 1, 1))
    conv.set_weights([kernel.reshape(f, f, 1, 1)])
    want = np.asarray(conv(image.reshape(1, n, n + 1, 1).astype("float32")))[0, :, :, 0]
    assert np.allclose(checks.reference_conv2d(image, kernel, stride, padding), want, atol=1e-5)


@pytest.mark.parametrize("n, size, stride", [(6, 2, None), (7, 2, None), (7, 3, 2), (9, 3, 3), (8, 3, 1)])
def test_reference_max_pool_matches_keras(n, size, stride):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(n).normal(size=(n, n + 2))
    pool = keras.layers.MaxPooling2D(size, strides=stride)
    want = np.asarray(pool(x.reshape(1, n, n + 2, 1).astype("float32")))[0, :, :, 0]
    assert np.allclose(checks.reference_max_pool(x, size, stride), want, atol=1e-6)


def _keras_model(keras, input_shape, spec):
    layers = keras.layers
    built = []
    for entry in spec:
        if entry[0] == "conv":
            built.append(layers.Conv2D(entry[1], entry[2], strides=entry[3], padding=entry[4]))
        elif entry[0] == "maxpool":
            built.append(layers.MaxPooling2D(entry[1], strides=entry[2]))
        elif entry[0] == "flatten":
            built.append(layers.Flatten())
        else:
            built.append(layers.Dense(entry[1]))
    return keras.Sequential([keras.Input(shape=input_shape), *built])


@pytest.mark.parametrize("input_shape, spec", [
    ((20, 18, 3), checks.SUMMARY_SPEC),
    ((33, 31, 1), [("conv", 6, 5, 2, "same"), ("maxpool", 3, 2), ("conv", 4, 1, 1, "valid"),
                   ("flatten",), ("dense", 7), ("dense", 2)]),
])
def test_reference_layer_summary_matches_keras(input_shape, spec):
    keras = pytest.importorskip("keras")
    model = _keras_model(keras, input_shape, spec)
    want = [(tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]
    assert checks.reference_layer_summary(input_shape, spec) == want


def test_reference_cross_entropy_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(0, 30, size=(20, 5)), rng.integers(0, 5, 20)
    want = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits))
    assert np.isclose(checks.reference_cross_entropy_from_logits(labels, logits), want, rtol=1e-5)


def test_shift_images_moves_by_the_given_pixels():
    X = np.zeros((40, 6, 6, 1))
    X[:, 2:4, 2:4] = 1.0
    shifted = checks.shift_images(X, 2, seed=3)
    assert shifted.shape == X.shape and np.array_equal(checks.shift_images(X, 0), X)
    for original, moved in zip(X[..., 0], shifted[..., 0]):
        (r0, c0), (r1, c1) = np.argwhere(original)[0], np.argwhere(moved)[0]
        assert abs(r1 - r0) + abs(c1 - c0) == 2 and moved.sum() == original.sum()
    assert len({tuple(np.argwhere(m)[0]) for m in shifted[..., 0]}) == 4   # all four directions occur


# ------------------------------------------------------------------ question 1: conv2d
def right_conv2d(image, kernel, stride=1, padding="valid"):
    f = kernel.shape[0]
    if padding == "same":
        pads = []
        for n in image.shape:
            total = max(f - stride, 0) if n % stride == 0 else max(f - n % stride, 0)
            pads.append((total // 2, total - total // 2))
        image = np.pad(image, pads)
    rows = (image.shape[0] - f) // stride + 1
    cols = (image.shape[1] - f) // stride + 1
    return np.array([[np.sum(image[i * stride:i * stride + f, j * stride:j * stride + f] * kernel)
                      for j in range(cols)] for i in range(rows)])


def test_conv2d_accepts_a_right_answer():
    checks.check_conv2d(right_conv2d)
    checks.check_conv2d(checks.reference_conv2d, cases=[(9, 3, 3, "same"), (5, 1, 1, "valid")], seed=4)


def page_convolve(image, kernel, stride=1, padding="valid"):
    """The chapter page's function: no stride, no padding."""
    f = kernel.shape[0]
    n_out = image.shape[0] - f + 1
    out = np.zeros((n_out, image.shape[1] - f + 1))
    for i in range(n_out):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + f, j:j + f] * kernel)
    return out


def symmetric_same(image, kernel, stride=1, padding="valid"):
    f = kernel.shape[0]
    if padding == "same":
        image = np.pad(image, (f - 1) // 2)
    return right_conv2d(image, kernel, stride, "valid")


@pytest.mark.parametrize("wrong, message", [
    (lambda im, k, s=1, p="valid": right_conv2d(im, k[::-1, ::-1], s, p), "flipped the kernel"),
    (lambda im, k, s=1, p="valid": right_conv2d(im, k, 1, p), "stride is ignored"),
    (lambda im, k, s=1, p="valid": right_conv2d(im, k, s, "valid"), "surrounded by zeros"),
    (page_convolve, "stride is ignored"),
    (symmetric_same, "wrong values"),
    (lambda im, k, s=1, p="valid": right_conv2d(im, k, s, p) + 1, "wrong values"),
    (lambda im, k, s=1, p="valid": None, "forget `return`"),
    (lambda im, k, s=1, p="valid": right_conv2d(im, k, s, p).ravel(), "2-D array"),
    (not_written, "not written yet"),
])
def test_conv2d_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_conv2d(wrong)


# ------------------------------------------------------------------ question 2: max pooling
def right_max_pool(x, size=2, stride=None):
    stride = stride or size
    rows, cols = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    return np.array([[x[i * stride:i * stride + size, j * stride:j * stride + size].max()
                      for j in range(cols)] for i in range(rows)])


def page_max_pool(x, size=2, stride=None):
    n = x.shape[0] // size
    return x[:n * size, :n * size].reshape(n, size, n, size).max(axis=(1, 3))


def mean_pool(x, size=2, stride=None):
    stride = stride or size
    rows, cols = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    return np.array([[x[i * stride:i * stride + size, j * stride:j * stride + size].mean()
                      for j in range(cols)] for i in range(rows)])


def test_max_pool_accepts_a_right_answer():
    checks.check_max_pool(right_max_pool)
    checks.check_max_pool(checks.reference_max_pool, cases=[(5, 5, None), (10, 4, 3)], seed=2)


@pytest.mark.parametrize("wrong, message", [
    (page_max_pool, "windows that fit are lost. The input is not square"),
    (mean_pool, "mean"),
    (lambda x, size=2, stride=None: right_max_pool(x, size, 1), "move by its own size"),
    (lambda x, size=2, stride=None: right_max_pool(x, size, size), "windows that fit are lost"),
    (lambda x, size=2, stride=None: np.pad(right_max_pool(x, size, stride), ((0, 1), (0, 1))),
     "windows that do not fit are kept"),
    (lambda x, size=2, stride=None: right_max_pool(x, size, stride) - 1, "wrong values"),
    (lambda x, size=2, stride=None: None, "forget `return`"),
    (not_written, "not written yet"),
])
def test_max_pool_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_max_pool(wrong)


# ------------------------------------------------------------------ question 3: layer summary
def test_layer_summary_accepts_a_right_answer():
    checks.check_layer_summary(checks.reference_layer_summary)
    checks.check_layer_summary(lambda shape, spec: [list(r) for r in checks.reference_layer_summary(shape, spec)])


def _changed(row, shape=None, params=None):
    def summary(input_shape, spec):
        rows = checks.reference_layer_summary(input_shape, spec)
        s, p = rows[row]
        rows[row] = (shape(s) if shape else s, params(p) if params else p)
        return rows
    return summary


@pytest.mark.parametrize("wrong, message", [
    (_changed(0, params=lambda p: p - 8), "leaves out the biases, one per filter"),
    (_changed(2, params=lambda p: 5 * 5 * 16 + 16), "as many channels"),
    (_changed(5, params=lambda p: p - 10), "leaves out the biases"),
    (_changed(3, shape=lambda s: (1, 1, 12)), "depends only on the stride"),
    (_changed(1, params=lambda p: 4), "no weights"),
    (_changed(2, params=lambda p: p + 1), "parameter count"),
    (_changed(0, shape=lambda s: (None,) + s), "batch axis"),
    (_changed(2, shape=lambda s: s[:2] + (8,)), "one output channel per filter"),
    (_changed(2, shape=lambda s: (8, 8, 16)), "output-size formula"),
    (lambda shape, spec: checks.reference_layer_summary(shape, spec)[:-1], "one per layer"),
    (lambda shape, spec: [s for s, p in checks.reference_layer_summary(shape, spec)], "pair"),
    (lambda shape, spec: None, "forget `return`"),
    (not_written, "not written yet"),
])
def test_layer_summary_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_layer_summary(wrong)


def padding_from_kernel(input_shape, spec):
    """"same" as p = (f - 1) // 2 on each side: right for odd kernels and stride 1 only."""
    rows, shape = [], tuple(input_shape)
    for entry in spec:
        if entry[0] == "conv" and entry[4] == "same":
            _, filters, k, s, _ = entry
            p = (k - 1) // 2
            shape = ((shape[0] + 2 * p - k) // s + 1, (shape[1] + 2 * p - k) // s + 1, filters)
            rows.append((shape, checks.reference_layer_summary(input_shape, spec)[len(rows)][1]))
        else:
            rows.append(checks.reference_layer_summary(input_shape, spec)[len(rows)])
            shape = rows[-1][0]
    return rows


def test_layer_summary_rejects_same_padding_from_the_kernel_size():
    with pytest.raises(AssertionError, match="any size, even or odd") as error:
        checks.check_layer_summary(padding_from_kernel)
    assert error.value.tag == "summary_same_size"


def test_layer_summary_same_padding_with_stride_gets_its_hint():
    spec = [("conv", 4, 3, 2, "same")]
    wrong = lambda shape, spec: [((9, 9, 4), 112)]                     # valid padding's size
    with pytest.raises(AssertionError, match="depends only on the stride"):
        checks.check_layer_summary(wrong, (19, 19, 3), spec)


# ------------------------------------------------------------------ question 4: cross-entropy
def right_ce(labels, logits):
    logits = np.asarray(logits, dtype=float)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def naive_ce(labels, logits):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def page_ce(labels, logits):
    """The page's stable softmax, then the log: fails when a probability underflows to 0."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def test_cross_entropy_accepts_right_answers():
    checks.check_cross_entropy(right_ce)
    scipy_special = pytest.importorskip("scipy.special")
    checks.check_cross_entropy(
        lambda y, z: -np.mean(scipy_special.log_softmax(z, axis=1)[np.arange(len(y)), y]))


@pytest.mark.parametrize("wrong, message", [
    (naive_ce, "not a finite number"),
    (page_ce, "not a finite number"),
    (lambda y, z: -right_ce(y, z), "minus sign"),
    (lambda y, z: right_ce(y, z) * len(y), "sum"),
    (lambda y, z: right_ce(y[::-1], z), "own label"),
    (lambda y, z: float(-np.mean(z[np.arange(len(y)), y])), "normalising"),
    (lambda y, z: np.full(len(y), right_ce(y, z)), "one number"),
    (lambda y, z: right_ce(y, z) + 0.1, "not right"),
    (lambda y, z: None, "forget `return`"),
    (not_written, "not written yet"),
])
def test_cross_entropy_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_cross_entropy(wrong)


# ------------------------------------------------------------------ question 5: a CNN to a specification
def spec_layers(keras, separate_activations=False, **changes):
    layers = keras.layers
    settings = {"filters1": 16, "kernel1": 5, "padding1": "same", "strides2": 2, "units": 5,
                "act1": "relu", "out": "softmax", "pool": layers.GlobalAveragePooling2D}
    settings.update(changes)
    if separate_activations:
        first = [layers.Conv2D(settings["filters1"], settings["kernel1"], padding=settings["padding1"]),
                 layers.Activation(settings["act1"])]
        last = [layers.Dense(settings["units"]), layers.Activation(settings["out"])]
    else:
        first = [layers.Conv2D(settings["filters1"], settings["kernel1"], padding=settings["padding1"],
                               activation=settings["act1"])]
        last = [layers.Dense(settings["units"], activation=settings["out"])]
    return [*first, layers.MaxPooling2D(),
            layers.Conv2D(32, 3, strides=settings["strides2"], activation="relu"),
            settings["pool"](), *last]


def test_spec_model_accepts_right_answers():
    keras = pytest.importorskip("keras")
    checks.check_spec_model(keras.Sequential([keras.Input(shape=(32, 32, 3)), *spec_layers(keras)]))
    checks.check_spec_model(keras.Sequential([keras.Input(shape=(32, 32, 3)),
                                              *spec_layers(keras, separate_activations=True)]))
    inputs = keras.Input(shape=(32, 32, 3))
    x = inputs
    for layer in spec_layers(keras):
        x = layer(x)
    checks.check_spec_model(keras.Model(inputs, x))
    # Softmax and ReLU layers after a linear layer, as Chapter 9's check accepts them
    layers = spec_layers(keras)
    checks.check_spec_model(keras.Sequential([
        keras.Input(shape=(32, 32, 3)), keras.layers.Conv2D(16, 5, padding="same"), keras.layers.ReLU(),
        *layers[1:-1], keras.layers.Dense(5), keras.layers.Softmax()]))


@pytest.mark.parametrize("changes, message", [
    ({"filters1": 32}, "filters=32"),
    ({"kernel1": 3}, "kernel_size"),
    ({"padding1": "valid"}, "padding='valid'"),
    ({"strides2": 1}, "strides"),
    ({"units": 10}, "units=10"),
    ({"act1": "tanh"}, "'tanh'"),
    ({"out": "sigmoid"}, "'sigmoid'"),
])
def test_spec_model_names_the_mistake(changes, message):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), *spec_layers(keras, **changes)])
    with pytest.raises(AssertionError, match=message):
        checks.check_spec_model(model)


def test_spec_model_rejects_a_layer_without_bias():
    keras = pytest.importorskip("keras")
    layers = spec_layers(keras)
    layers[2] = keras.layers.Conv2D(32, 3, strides=2, activation="relu", use_bias=False)
    with pytest.raises(AssertionError, match="no bias"):
        checks.check_spec_model(keras.Sequential([keras.Input(shape=(32, 32, 3)), *layers]))


def test_spec_model_rejects_wrong_structure():
    keras = pytest.importorskip("keras")
    layers = keras.layers
    with pytest.raises(AssertionError, match="still None"):
        checks.check_spec_model(None)
    with pytest.raises(AssertionError, match="Keras model"):
        checks.check_spec_model("model")
    with pytest.raises(AssertionError, match=r"32, 32, 3"):
        checks.check_spec_model(keras.Sequential([keras.Input(shape=(28, 28, 1)), *spec_layers(keras)]))
    with pytest.raises(AssertionError, match="Flatten"):
        checks.check_spec_model(keras.Sequential([keras.Input(shape=(32, 32, 3)),
                                                  *spec_layers(keras, pool=layers.Flatten)]))
    with pytest.raises(AssertionError, match="Dropout"):
        checks.check_spec_model(keras.Sequential([keras.Input(shape=(32, 32, 3)), *spec_layers(keras)[:-1],
                                                  layers.Dropout(0.5), spec_layers(keras)[-1]]))


# ------------------------------------------------------------------ question 6: shift-robust CNN
@pytest.fixture(scope="module")
def digits():
    keras = pytest.importorskip("keras")
    from dlcourse.data import load_mnist

    (x, y), _ = load_mnist()
    X = (x / 255.0).astype("float32")[..., None]
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    cnn = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                            keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, activation="relu"),
                            keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    for model in (mlp, cnn):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(X[:3000], y[:3000], epochs=2, batch_size=64, verbose=0)
    return keras, mlp, cnn, X[7000:], y[7000:]


def test_shift_robust_accepts_a_trained_cnn(digits):
    keras, mlp, cnn, X, y = digits
    acc_cnn, acc_mlp = checks.check_shift_robust(cnn, mlp, X, y, pixels=3, min_shifted=0.3)
    assert acc_cnn > acc_mlp


def test_shift_robust_wants_the_stated_shift(digits):
    """A CNN trained on centred digits only (the page's, without augmentation) misses the 4-pixel target."""
    keras, mlp, cnn, X, y = digits
    with pytest.raises(AssertionError, match="shifted by 4 pixels.*at least 75%") as error:
        checks.check_shift_robust(cnn, mlp, X, y)
    assert error.value.tag == "shift_target_missed"


def test_shift_robust_names_the_mistake(digits):
    keras, mlp, cnn, X, y = digits
    with pytest.raises(AssertionError, match="still None"):
        checks.check_shift_robust(None, mlp, X, y)
    with pytest.raises(AssertionError, match="no Conv2D"):
        checks.check_shift_robust(mlp, mlp, X, y)
    untrained = keras.models.clone_model(cnn)
    with pytest.raises(AssertionError, match="On centred digits"):
        checks.check_shift_robust(untrained, mlp, X, y)
    with pytest.raises(AssertionError, match="the target is at least 90%"):
        checks.check_shift_robust(cnn, cnn, X, y, pixels=3, min_shifted=0.9)
    binary = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(1, 3), keras.layers.Flatten(),
                               keras.layers.Dense(1)])
    with pytest.raises(AssertionError, match="ten class scores"):
        checks.check_shift_robust(binary, mlp, X, y)
    other_size = keras.Sequential([keras.Input(shape=(32, 32, 1)), keras.layers.Conv2D(2, 3),
                                   keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(AssertionError, match="predict` failed"):
        checks.check_shift_robust(other_size, mlp, X, y)


# ------------------------------------------------------------------ question 7: is an augmentation safe?
def right_fraction(transform, images, labels):
    flat = images.reshape(len(images), -1)
    kept = 0
    for image, label in zip(images, labels):
        d = ((flat - transform(image).reshape(-1)) ** 2).sum(axis=1)
        kept += labels[np.argmin(d)] == label
    return kept / len(labels)


def all_at_once(transform, images, labels):
    moved = np.stack([transform(im) for im in images]).reshape(len(images), -1).astype(float)
    flat = images.reshape(len(images), -1).astype(float)
    d = np.linalg.norm(moved[:, None, :] - flat[None, :, :], axis=2)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


def leave_one_out(transform, images, labels):
    flat = images.reshape(len(images), -1)
    kept = []
    for i, (image, label) in enumerate(zip(images, labels)):
        d = ((flat - transform(image).reshape(-1)) ** 2).sum(axis=1)
        d[i] = np.inf
        kept.append(labels[np.argmin(d)] == label)
    return np.mean(kept)


@pytest.mark.parametrize("right", [right_fraction, all_at_once])
def test_label_kept_fraction_accepts_every_form_of_the_test(right):
    checks.check_label_kept_fraction(right)
    checks.check_label_kept_fraction(right, [("signs", 7, 20), ("fields", 3, 14), ("glyphs", 0, 12),
                                             ("glyphs", 5, 16), ("digits", "test", 400)])


def test_transformations_do_what_their_names_say():
    image = np.arange(12.0).reshape(3, 4)
    t = checks.TRANSFORMATIONS
    assert list(t) == ["horizontal_flip", "vertical_flip", "half_turn", "quarter_turn", "small_shift"]
    assert np.array_equal(t["horizontal_flip"](image), np.fliplr(image))
    assert np.array_equal(t["vertical_flip"](image), np.flipud(image))
    assert np.array_equal(t["half_turn"](image), np.rot90(image, 2))
    assert np.array_equal(t["quarter_turn"](image), np.rot90(image))
    assert np.array_equal(t["small_shift"](image)[:, 1:], image[:, :-1]) and not t["small_shift"](image)[:, 0].any()


@pytest.mark.parametrize("family, seed, size", [("signs", 0, 16), ("fields", 1, 12), ("signs", 7, 20),
                                                ("fields", 3, 14), ("glyphs", 0, 12), ("glyphs", 5, 16)])
def test_shape_datasets_give_clear_answers(family, seed, size):
    """Each answer holds by a wide margin, so no rounding can flip it: where the label is kept, every
    image keeps it clearly; where not, some image loses it clearly. The answers are the ones a person
    gives by looking."""
    images, labels = checks.make_shapes(family, size=size, seed=seed)
    assert images.shape == (9 * len(checks.SHAPE_CLASSES[family]), size, size)
    flat = images.reshape(len(images), -1).astype(float)
    answers = {}
    for name, transform in checks.TRANSFORMATIONS.items():
        margins = []
        for image, label in zip(images, labels):
            d = ((flat - transform(image).reshape(-1)) ** 2).sum(axis=1)
            own, other = d[labels == label].min(), d[labels != label].min()
            margins.append((other - own) / max(own, other))
        answers[name] = checks.reference_label_kept_fraction(transform, images, labels) >= checks.SAFE_SHARE
        assert min(margins) > 0.1 if answers[name] else min(margins) < -0.1, name
    expected = {
        "signs": {"horizontal_flip": False, "vertical_flip": True, "half_turn": False, "quarter_turn": False,
                  "small_shift": True},
        "fields": {"horizontal_flip": True, "vertical_flip": True, "half_turn": True, "quarter_turn": False,
                   "small_shift": True},
        "glyphs": {"horizontal_flip": False, "vertical_flip": False, "half_turn": False, "quarter_turn": False,
                   "small_shift": True},
    }[family]
    assert answers == expected


@pytest.mark.parametrize("split", ["train", "test"])
def test_digits_agree_with_the_chapter(split):
    """On real digits the rule with its tolerance says what the chapter says: a one-pixel shift is safe
    (though a few borderline digits change their nearest class, so "every image" would call it unsafe),
    and flips and turns are not, by wide margins."""
    images, labels = checks.digit_sample(split, 400)
    shares = {name: checks.reference_label_kept_fraction(t, images, labels)
              for name, t in checks.TRANSFORMATIONS.items()}
    assert 0.97 < shares["small_shift"] < 1.0
    assert max(v for k, v in shares.items() if k != "small_shift") < 0.5


def against_transformed(transform, images, labels):
    moved = np.stack([transform(im) for im in images]).reshape(len(images), -1)
    kept = [labels[np.argmin(((moved - row) ** 2).sum(axis=1))] == label for row, label in zip(moved, labels)]
    return float(np.mean(kept))


def whole_batch(transform, images, labels):
    """Transforms the stack of images at once: the flips then act on the wrong axes."""
    moved = np.asarray(transform(images)).reshape(len(images), -1)
    flat = images.reshape(len(images), -1)
    if moved.shape != flat.shape:
        return 0.0
    d = ((moved[:, None, :] - flat[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


def farthest(transform, images, labels):
    flat = images.reshape(len(images), -1)
    return np.mean([labels[np.argmax(((flat - transform(im).reshape(-1)) ** 2).sum(axis=1))] == lab
                    for im, lab in zip(images, labels)])


def every_image(transform, images, labels):
    """The old rule: True only when every image keeps its label."""
    return right_fraction(transform, images, labels) == 1.0


@pytest.mark.parametrize("wrong, message, tag", [
    (lambda t, im, lab: right_fraction(t, im, lab) * len(lab), "a count of images", "kept_count"),
    (lambda t, im, lab: 1 - right_fraction(t, im, lab), "change their label", "kept_complement"),
    (leave_one_out, "own original out", "kept_leave_out"),
    (against_transformed, "not right", "kept_wrong_share"),
    (whole_batch, "not right", "kept_wrong_share"),
    (farthest, "not right", "kept_wrong_share"),
    (every_image, "True or False", "kept_bool"),
    (lambda t, images, labels: 1.0, "not right", "kept_wrong_share"),
    (lambda t, images, labels: "all", "one number", "kept_not_number"),
    (lambda t, images, labels: None, "forget `return`", "kept_none"),
    (not_written, "not written yet", None),
    ({"signs": {"small_shift"}}, "should be a function", "kept_not_function"),
    ("vertical_flip", "should be a function", "kept_not_function"),
])
def test_label_kept_fraction_names_the_mistake(wrong, message, tag):
    with pytest.raises(AssertionError, match=message) as error:
        checks.check_label_kept_fraction(wrong)
    if tag is not None:
        assert error.value.tag == tag
