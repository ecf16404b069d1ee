"""Student-facing checks for Chapter 8, ``ch08_convnets`` (convolutional networks).

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them. The
reference computations are plain NumPy (``tests/test_checks_ch08_convnets.py`` checks
them against Keras), so that importing this module does not need TensorFlow; the
checks that inspect a Keras model import Keras when they run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._common import check_finite, check_implemented, fail
from ._models import activation_name, ordinal

# ----------------------------------------------------------------------------- references
def reference_conv2d(image, kernel, stride: int = 1, padding: str = "valid") -> np.ndarray:
    """Cross-correlation of a 2-D image with a 2-D kernel, as Keras's Conv2D computes it.

    ``padding="same"`` pads like Keras: ``max(f - s, 0)`` zeros in total when ``n % s == 0``,
    ``max(f - n % s, 0)`` otherwise, the smaller half before and the larger after.
    """
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    fh, fw = kernel.shape
    if padding == "same":
        pads = []
        for n, f in zip(image.shape, (fh, fw)):
            total = max(f - stride, 0) if n % stride == 0 else max(f - n % stride, 0)
            pads.append((total // 2, total - total // 2))
        image = np.pad(image, pads)
    elif padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', not {padding!r}")
    out_h = (image.shape[0] - fh) // stride + 1
    out_w = (image.shape[1] - fw) // stride + 1
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = image[i * stride:i * stride + fh, j * stride:j * stride + fw]
            out[i, j] = np.sum(window * kernel)
    return out


def reference_max_pool(x, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling of a 2-D array with a square window, no padding, like MaxPooling2D."""
    x = np.asarray(x, dtype=float)
    stride = size if stride is None else stride
    out_h = (x.shape[0] - size) // stride + 1
    out_w = (x.shape[1] - size) // stride + 1
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = x[i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out


def reference_layer_summary(input_shape, spec) -> list[tuple[tuple[int, ...], int]]:
    """(output shape without the batch axis, number of parameters) of every layer in ``spec``.

    ``spec`` entries: ``("conv", filters, kernel, stride, padding)``, ``("maxpool", size, stride)``,
    ``("flatten",)`` and ``("dense", units)``; images are channels last.
    """
    shape = tuple(int(s) for s in input_shape)
    rows = []
    for entry in spec:
        kind = entry[0]
        if kind == "conv":
            _, filters, k, s, padding = entry
            h, w, c = shape
            if padding == "same":
                h, w = -(-h // s), -(-w // s)
            else:
                h, w = (h - k) // s + 1, (w - k) // s + 1
            params = k * k * c * filters + filters
            shape = (h, w, filters)
        elif kind == "maxpool":
            _, size, s = entry
            h, w, c = shape
            shape = ((h - size) // s + 1, (w - size) // s + 1, c)
            params = 0
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
            params = 0
        elif kind == "dense":
            params = (shape[-1] + 1) * entry[1]
            shape = shape[:-1] + (entry[1],)
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
        rows.append((shape, params))
    return rows


def reference_cross_entropy_from_logits(labels, logits) -> float:
    """Mean categorical cross-entropy of integer labels given raw logits (log-sum-exp)."""
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels).astype(int)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.sum(np.exp(logits - top), axis=1))
    return float(np.mean(log_norm - logits[np.arange(len(labels)), labels]))


def shift_images(X, pixels: int, seed: int = 0) -> np.ndarray:
    """Move each image ``pixels`` pixels up, down, left or right (a random direction), filling with 0.

    Images are ``(n, height, width)`` or ``(n, height, width, channels)``. Introduced in Chapter 8.
    """
    X = np.asarray(X)
    rng = np.random.default_rng(seed)
    moves = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])[rng.integers(0, 4, len(X))]
    h, w = X.shape[1:3]
    padded = np.pad(X, [(0, 0), (pixels, pixels), (pixels, pixels)] + [(0, 0)] * (X.ndim - 3))
    out = np.empty_like(X)
    for i, (dy, dx) in enumerate(moves):
        top, left = pixels - dy * pixels, pixels - dx * pixels
        out[i] = padded[i, top:top + h, left:left + w]
    return out


# ----------------------------------------------------------------------------- question 1
def _array_result(value: Any, what: str) -> np.ndarray:
    __tracebackhide__ = True
    if value is None:
        fail(f"{what} returned None: did you forget `return`?", tag="returned_none")
    array = check_finite(value, f"What {what} returned")
    if array.ndim != 2:
        fail(f"{what} should return a 2-D array (one feature map), but it has shape {array.shape}.", tag="not_2d")
    return array


CONV_CASES = (
    (7, 3, 1, "valid"), (7, 3, 2, "valid"), (6, 3, 1, "same"), (8, 5, 2, "same"), (7, 3, 2, "same"),
    (9, 3, 3, "same"),
)


def check_conv2d(conv_fn: Callable, cases: Sequence[tuple[int, int, int, str]] = CONV_CASES,
                 seed: int = 0) -> None:
    """Question 1: a 2-D convolution (cross-correlation) with stride and padding, like Conv2D."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    for n, f, stride, padding in cases:
        image = rng.integers(-3, 4, size=(n, n + 1)).astype(float)
        kernel = rng.integers(-2, 3, size=(f, f)).astype(float)
        kernel[0, 0], kernel[-1, -1] = 1.0, -1.0                   # not symmetric under a flip
        where = f"a {n}x{n + 1} image, a {f}x{f} kernel, stride={stride}, padding={padding!r}"
        got = _array_result(check_implemented(conv_fn, "`conv2d`", image.copy(), kernel.copy(),
                                              stride, padding), "`conv2d`")
        want = reference_conv2d(image, kernel, stride, padding)
        if got.shape != want.shape:
            if stride > 1 and got.shape == reference_conv2d(image, kernel, 1, padding).shape:
                fail(f"For {where} your output has shape {got.shape}: the stride is ignored; "
                     "the filter should move `stride` pixels at a time.", tag="conv_stride_ignored")
            if padding == "same" and got.shape == reference_conv2d(image, kernel, stride, "valid").shape:
                fail(f"For {where} your output has shape {got.shape}: with padding='same' the image "
                     "is first surrounded by zeros.", tag="conv_no_padding")
            fail(f"For {where} your output has shape {got.shape}, which is not the size that "
                 "Conv2D gives.", tag="conv_shape_wrong")
        flipped = reference_conv2d(image, kernel[::-1, ::-1], stride, padding)
        if np.allclose(got, flipped) and not np.allclose(flipped, want):
            fail(f"For {where} you flipped the kernel: that is the convolution of mathematics, but "
                 "Conv2D (a cross-correlation) slides the kernel as it is.", tag="conv_kernel_flipped")
        if not np.allclose(got, want):
            fail(f"For {where} your output has the right shape but the wrong values. Check where each "
                 "window starts (row i * stride) and, for 'same', how many zeros go before and after.", tag="conv_values_wrong")


# ----------------------------------------------------------------------------- question 2
POOL_CASES = ((6, 2, None), (7, 2, None), (7, 3, 2), (9, 3, 3), (8, 3, 1))


def check_max_pool(pool_fn: Callable, cases: Sequence[tuple[int, int, int | None]] = POOL_CASES,
                   seed: int = 0) -> None:
    """Question 2: max pooling with any window size and stride (default: the window size)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    for n, size, stride in cases:
        x = rng.normal(size=(n, n + 2))
        args = (x.copy(), size) if stride is None else (x.copy(), size, stride)
        shown = f"stride={stride}" if stride is not None else "no stride given"
        where = f"a {n}x{n + 2} input, size={size}, {shown}"
        got = _array_result(check_implemented(pool_fn, "`max_pool`", *args), "`max_pool`")
        want = reference_max_pool(x, size, stride)
        if got.shape != want.shape:
            if stride is None and got.shape == reference_max_pool(x, size, 1).shape:
                fail(f"For {where} your output has shape {got.shape}: without a stride, the window "
                     "should move by its own size, as in Keras.", tag="pool_stride_default")
            problems = []
            if got.ndim == 2:
                for axis, (g, w, length) in enumerate(zip(got.shape, want.shape, x.shape)):
                    along = "rows" if axis == 0 else "columns"
                    if g < w:
                        problems.append(f"{g} windows along the {length} {along} where {w} fit entirely: "
                                        "windows that fit are lost")
                    elif g > w:
                        problems.append(f"{g} windows along the {length} {along} where only {w} fit "
                                        "entirely: windows that do not fit are kept")
            why = "; ".join(problems) or "not the size that MaxPooling2D gives"
            square = (" The input is not square: is one axis's size computed from the other's?"
                      if got.ndim == 2 and got.shape[0] == got.shape[1] and want.shape[0] != want.shape[1]
                      else "")
            message = f"For {where} your output has shape {got.shape}: {why}.{square}"
            if any("are lost" in p for p in problems):
                fail(message, tag="pool_fewer_windows")
            fail(message, tag="pool_output_size")
        s = size if stride is None else stride
        means = np.array([[x[i * s:i * s + size, j * s:j * s + size].mean() for j in range(want.shape[1])]
                          for i in range(want.shape[0])])
        if np.allclose(got, means):
            fail(f"For {where} you took the mean of each window; max pooling keeps the largest value.", tag="pool_mean")
        if not np.allclose(got, want):
            fail(f"For {where} your output has the right shape but the wrong values. Check where each "
                 "window starts: row i * stride, column j * stride.", tag="pool_values_wrong")


# ----------------------------------------------------------------------------- question 3
SUMMARY_SPEC = (
    ("conv", 8, 4, 1, "same"),                      # an even kernel: "same" still keeps the size
    ("maxpool", 2, 2),
    ("conv", 16, 5, 2, "valid"),
    ("conv", 12, 3, 2, "same"),
    ("flatten",),
    ("dense", 10),
)


def check_layer_summary(summary_fn: Callable, input_shape=(20, 18, 3), spec=SUMMARY_SPEC) -> None:
    """Question 3: output shape and parameter count of every layer of a specification."""
    __tracebackhide__ = True
    got = check_implemented(summary_fn, "`layer_summary`", tuple(input_shape), list(spec))
    want = reference_layer_summary(input_shape, spec)
    if got is None:
        fail("`layer_summary` returned None: did you forget `return`?", tag="summary_none")
    try:
        got = [(tuple(None if s is None else int(s) for s in shape), int(params))
               for shape, params in got]
    except (TypeError, ValueError):
        fail("`layer_summary` should return a list with one (shape, params) pair per layer, "
             "for example [((20, 20, 8), 224), ...].", tag="summary_not_list")
    if len(got) != len(want):
        fail(f"`layer_summary` returned {len(got)} rows for {len(want)} layers; give one per layer.", tag="summary_row_count")
    shape = tuple(input_shape)
    for i, (entry, (g_shape, g_params), (w_shape, w_params)) in enumerate(zip(spec, got, want)):
        name = f"the {ordinal(i)} layer, {entry}"
        if g_shape != w_shape:
            if len(g_shape) == len(w_shape) + 1 and g_shape[1:] == w_shape:
                fail(f"For {name} your shape {g_shape} has a batch axis; leave it out.", tag="summary_batch_axis")
            if entry[0] == "conv" and g_shape[-1] != entry[1]:
                fail(f"For {name} your shape {g_shape} has {g_shape[-1]} channels; a convolution has "
                     "one output channel per filter.", tag="summary_channels")
            if entry[0] == "conv" and entry[4] == "same":
                fail(f"For {name} your output shape is {g_shape}, which is not right (its input has shape "
                     f"{shape}). With padding='same' the size depends only on the stride, for a kernel of "
                     "any size, even or odd: a padding computed from the kernel size alone is not "
                     "always what Keras adds.", tag="summary_same_size")
            elif entry[0] in ("conv", "maxpool"):
                hint = " Use the output-size formula with this layer's window, stride and padding."
            else:
                hint = ""
            fail(f"For {name} your output shape is {g_shape}, which is not right (its input has shape "
                 f"{shape}).{hint}", tag="summary_shape_wrong")
        if g_params != w_params:
            if entry[0] == "conv" and g_params == w_params - entry[1]:
                fail(f"For {name} your count {g_params} leaves out the biases, one per filter.", tag="summary_conv_no_bias")
            if entry[0] == "conv" and g_params == entry[2] ** 2 * entry[1] + entry[1]:
                fail(f"For {name} your count {g_params} forgets that each filter has as many channels "
                     "as the layer's input.", tag="summary_conv_channels")
            if entry[0] == "dense" and g_params == w_params - entry[1]:
                fail(f"For {name} your count {g_params} leaves out the biases.", tag="summary_dense_no_bias")
            if entry[0] in ("maxpool", "flatten"):
                fail(f"For {name} you count {g_params} parameters, but this layer has no weights.", tag="summary_params_no_weights")
            fail(f"For {name} your parameter count {g_params} is not right.", tag="summary_params_wrong")
        shape = w_shape


# ----------------------------------------------------------------------------- question 4
def check_cross_entropy(ce_fn: Callable) -> None:
    """Question 4: mean categorical cross-entropy from integer labels and raw logits, stably."""
    __tracebackhide__ = True
    labels = np.array([2, 0, 1, 2])
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, 2.0, -3.0], [0.0, 0.0, 0.0]])
    want = reference_cross_entropy_from_logits(labels, logits)
    value = check_implemented(ce_fn, "`cross_entropy_from_logits`", labels.copy(), logits.copy())
    if value is None:
        fail("`cross_entropy_from_logits` returned None: did you forget `return`?", tag="ce_none")
    got = np.asarray(value, dtype=float)
    if got.size != 1:
        fail(f"`cross_entropy_from_logits` should return one number (the mean over the examples), "
             f"but it returned shape {got.shape}.", tag="ce_not_scalar")
    got = float(got.reshape(()))
    if np.isclose(got, -want):
        fail("Your loss is negative: the log of a probability is negative, so the loss needs a minus sign.", tag="ce_negative")
    if np.isclose(got, want * len(labels)):
        fail("You returned the sum over the examples; return the mean.", tag="ce_sum")
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if np.isclose(got, -np.mean(np.log(softmax[np.arange(4), labels[::-1]]))):
        fail("You looked up the wrong probabilities: use each example's own label.", tag="ce_wrong_labels")
    if np.isclose(got, -np.mean(np.log(np.exp(logits[np.arange(4), labels]) / 1.0))):
        fail("You took the log of exp(logit) without normalising: the softmax divides by a sum.", tag="ce_not_normalised")
    if not np.isclose(got, want, rtol=1e-6):
        fail(f"`cross_entropy_from_logits` gives {got:.6g} on the check's example, which is not right.", tag="ce_wrong")
    extreme = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]])
    with np.errstate(all="ignore"):
        value = check_implemented(ce_fn, "`cross_entropy_from_logits`", np.array([2, 0]), extreme.copy())
    got = np.asarray(value, dtype=float).reshape(-1)
    want = reference_cross_entropy_from_logits([2, 0], extreme)
    if got.size != 1 or not np.isfinite(got[0]):
        fail("For very large logits, such as 1000, your loss is not a finite number: exp overflows (or a "
             "probability underflows to 0 before the log). Compute the log-probabilities without "
             "exponentiating the raw logits.", tag="ce_overflow")
    if not np.isclose(got[0], want, rtol=1e-6):
        fail(f"For very large logits your loss is {got[0]:.6g}, which is not right: a probability may "
             "have been rounded to 0 or 1 before the log.", tag="ce_large_logits_wrong")


# ----------------------------------------------------------------------------- question 5
SPEC_LAYERS = (
    ("Conv2D", {"filters": 16, "kernel_size": (5, 5), "strides": (1, 1), "padding": "same"}, "relu"),
    ("MaxPooling2D", {"pool_size": (2, 2)}, None),
    ("Conv2D", {"filters": 32, "kernel_size": (3, 3), "strides": (2, 2), "padding": "valid"}, "relu"),
    ("GlobalAveragePooling2D", {}, None),
    ("Dense", {"units": 5}, "softmax"),
)


def _merged_layers(model) -> list[tuple[Any, str]]:
    """The model's layers with each Activation layer folded into the layer before it."""
    import keras

    merged: list[list] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Activation) and merged:
            previous = merged[-1]
            if previous[1] != "linear":
                fail(f"Your model has a {layer.name} Activation after a layer that already has the "
                     f"activation {previous[1]!r}.", tag="activation_twice")
            previous[1] = activation_name(layer)
        elif isinstance(layer, keras.layers.ReLU) and merged:
            merged[-1][1] = "relu"
        elif isinstance(layer, keras.layers.Softmax) and merged:
            merged[-1][1] = "softmax"
        else:
            merged.append([layer, activation_name(layer)])
    return [(layer, act) for layer, act in merged]


def check_spec_model(model: Any) -> None:
    """Question 5: a CNN built to the question's specification (Activation layers may be separate)."""
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`spec_model` is still None: build the model and assign it to `spec_model`.", tag="spec_model_none")
    if not isinstance(model, keras.Model):
        fail(f"`spec_model` should be a Keras model, but it is a {type(model).__name__}.", tag="spec_not_model")
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, ValueError):
        fail("`spec_model` does not know its input shape: start it with keras.Input(shape=(32, 32, 3)).", tag="spec_no_input_shape")
    if shape != (None, 32, 32, 3):
        fail(f"`spec_model` takes inputs of shape {shape}; the specification asks for 32 x 32 colour "
             "images, that is keras.Input(shape=(32, 32, 3)).", tag="spec_input_shape")
    merged = _merged_layers(model)
    kinds = [type(layer).__name__ for layer, _ in merged]
    want_kinds = [kind for kind, _, _ in SPEC_LAYERS]
    if kinds != want_kinds:
        fail(f"`spec_model` has the layers {kinds}; the specification asks for {want_kinds} "
             "(Activation layers may follow a layer; other extra layers may not).", tag="spec_layers")
    for i, ((layer, act), (kind, settings, want_act)) in enumerate(zip(merged, SPEC_LAYERS)):
        if getattr(layer, "use_bias", True) is False:
            fail(f"Your {ordinal(i)} layer ({kind}) has no bias; the specification keeps Keras's default "
                 "use_bias=True.", tag="spec_no_bias")
        config = layer.get_config()
        for key, want in settings.items():
            got = config.get(key)
            got = tuple(got) if isinstance(got, list) else got
            if got != want:
                fail(f"Your {ordinal(i)} layer ({kind}) has {key}={got!r}; the specification asks "
                     f"for {want!r}.", tag="spec_setting")
        if want_act is not None and act != want_act:
            fail(f"Your {ordinal(i)} layer ({kind}) uses the activation {act!r}; the specification "
                 f"asks for {want_act!r}.", tag="spec_activation")


# ----------------------------------------------------------------------------- question 6
def predicted_classes(model: Any, X) -> np.ndarray:
    """The class with the largest output for every image (one forward pass, batches of 500)."""
    __tracebackhide__ = True
    X = np.asarray(X, dtype="float32")
    problem = None
    try:
        outputs = np.asarray(model.predict(X, batch_size=500, verbose=0), dtype=float)
    except Exception as error:  # a wrong input shape, an unbuilt model ...
        problem = f"{type(error).__name__}: {error}".strip()[:400]
    if problem is not None:  # fail outside the handler: one traceback, not two
        fail(f"`model.predict` failed on images of shape {X.shape[1:]}: {problem}", tag="predict_failed")
    if outputs.shape != (len(X), 10):
        fail(f"Your model outputs shape {outputs.shape} for {len(X)} images; it should give ten "
             "class scores per image.", tag="predict_shape")
    return outputs.argmax(axis=1)


def check_shift_robust(model: Any, baseline: Any, X, y, pixels: int = 4, min_shifted: float = 0.75,
                       centred_tolerance: float = 0.02, seed: int = 0) -> tuple[float, float]:
    """Question 6: a CNN that classifies at least ``min_shifted`` of the images shifted by ``pixels``.

    On the unshifted images it may be at most ``centred_tolerance`` less accurate than ``baseline``.
    Returns (the CNN's, the baseline's) accuracy on the shifted images.
    """
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`cnn` is still None: build and train a convolutional network and store it in `cnn`.", tag="cnn_none")
    if not isinstance(model, keras.Model):
        fail(f"`cnn` should be a Keras model, but it is a {type(model).__name__}.", tag="cnn_not_model")
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model)):
        fail("`cnn` has no Conv2D layer: the question asks for a convolutional network.", tag="cnn_no_conv")
    y = np.asarray(y).astype(int)
    clean_cnn = np.mean(predicted_classes(model, X) == y)
    clean_base = np.mean(predicted_classes(baseline, X) == y)
    shifted = shift_images(X, pixels, seed=seed)
    if clean_cnn < clean_base - centred_tolerance:
        fail(f"On centred digits your CNN is {clean_cnn:.1%} accurate, more than {centred_tolerance:.0%} "
             f"points below the MLP's {clean_base:.1%}: train it longer (is it compiled with a suitable "
             "loss, and trained?).", tag="shift_centred_low")
    acc_cnn = float(np.mean(predicted_classes(model, shifted) == y))
    acc_base = float(np.mean(predicted_classes(baseline, shifted) == y))
    if acc_cnn < min_shifted:
        fail(f"On digits shifted by {pixels} pixels your CNN is {acc_cnn:.1%} accurate (the MLP "
             f"{acc_base:.1%}); the target is at least {min_shifted:.0%}. Convolution and pooling alone "
             f"forgive small shifts only: has your network seen digits {pixels} pixels away from the centre "
             "while it trained?", tag="shift_target_missed")
    return acc_cnn, acc_base


def _all_layers(model) -> list:
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found.extend(_all_layers(layer))
    return found


# ----------------------------------------------------------------------------- question 7
#: The transformations of question 7: each takes one image (a 2-D array) and returns the transformed image.
def horizontal_flip(image):
    """Mirror left-right."""
    return np.asarray(image)[:, ::-1]


def vertical_flip(image):
    """Mirror top-bottom."""
    return np.asarray(image)[::-1, :]


def half_turn(image):
    """Rotate by 180 degrees."""
    return np.asarray(image)[::-1, ::-1]


def quarter_turn(image):
    """Rotate by 90 degrees, counter-clockwise."""
    return np.rot90(np.asarray(image))


def small_shift(image):
    """Move the content one pixel to the right; the new left column is 0."""
    image = np.asarray(image)
    out = np.zeros_like(image)
    out[:, 1:] = image[:, :-1]
    return out


TRANSFORMATIONS = {f.__name__: f for f in (horizontal_flip, vertical_flip, half_turn, quarter_turn, small_shift)}

#: The classes of each family of question 7's small images.
SHAPE_CLASSES = {
    "signs": ("ring", "plus", "square", "diamond", "arrow_left", "arrow_right"),
    "fields": ("rows", "columns", "water"),
    "glyphs": ("L", "J", "T", "T_down", "ring"),
}


def _shape(name: str, size: int, dy: int, dx: int, phase: int) -> np.ndarray:
    c = (size - 1) / 2
    v, u = np.mgrid[0:size, 0:size].astype(float)
    v, u = v - c - dy, u - c - dx
    r = 0.32 * size
    if name == "ring":
        mask = np.abs(np.hypot(u, v) - r) < 0.75
    elif name == "plus":
        mask = ((np.abs(u) < 0.8) & (np.abs(v) <= r)) | ((np.abs(v) < 0.8) & (np.abs(u) <= r))
    elif name == "square":
        mask = (np.maximum(np.abs(u), np.abs(v)) <= r) & (np.maximum(np.abs(u), np.abs(v)) > r - 1.1)
    elif name == "diamond":
        mask = np.abs(np.abs(u) + np.abs(v) - r) < 0.75
    elif name in ("arrow_left", "arrow_right"):
        s = u if name == "arrow_left" else -u
        shaft = (np.abs(v) < 0.8) & (np.abs(s) <= r)
        head = (s >= -r - 0.5) & (s <= -0.3 * r) & (np.abs(v) <= 0.8 * (s + r) + 0.5)
        mask = shaft | head
    elif name == "rows":
        mask = (np.arange(size)[:, None] + phase) % 4 < 2 + 0 * u
    elif name == "columns":
        mask = (np.arange(size)[None, :] + phase) % 4 < 2 + 0 * v
    elif name == "water":
        mask = np.zeros((size, size), dtype=bool)
    elif name in ("L", "J"):
        s = u if name == "L" else -u
        mask = ((np.abs(s + r) < 0.8) & (np.abs(v) <= r)) | ((np.abs(v - r) < 0.8) & (np.abs(s) <= r))
    elif name in ("T", "T_down"):
        w = v if name == "T" else -v
        mask = ((np.abs(u) < 0.8) & (np.abs(w) <= r)) | ((np.abs(w + r) < 0.8) & (np.abs(u) <= r))
    else:
        raise ValueError(name)
    return mask.astype(float)


def _blur(image: np.ndarray) -> np.ndarray:
    kernel = np.array([0.25, 0.5, 0.25])
    for axis in (0, 1):
        image = np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="same"), axis, image)
    return image


#: The positions of question 7's shapes: every move by up to one pixel occurs in every class.
_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def make_shapes(family: str, n_per_class: int = 9, size: int = 12, seed: int = 0, noise: float = 0.05):
    """Question 7's small images: ``(images, labels)``, shape ``(n, size, size)`` and ``(n,)``.

    Each class of ``SHAPE_CLASSES[family]`` is drawn ``n_per_class`` times, at every position within
    one pixel of the centre in turn (stripes: at every phase of the pattern), slightly blurred, with a
    little Gaussian noise; the rows are shuffled.
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, name in enumerate(SHAPE_CLASSES[family]):
        for i in range(n_per_class):
            dy, dx = _OFFSETS[i % len(_OFFSETS)]
            images.append(_blur(_shape(name, size, dy, dx, phase=i % 4)))
            labels.append(label)
    images = np.asarray(images) + rng.normal(0, noise, size=(len(images), size, size))
    order = rng.permutation(len(images))
    return images[order].astype("float32"), np.asarray(labels)[order]


#: The share of images that must keep their label for question 7 to call a transformation safe.
SAFE_SHARE = 0.95


def digit_sample(split: str = "train", n: int = 300):
    """Question 7's real images: the first ``n`` course MNIST digits of ``split``, ``(n, 28, 28)`` in [0, 1]."""
    from dlcourse.data import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    return (x[:n] / 255.0).astype("float32"), np.asarray(y[:n]).astype(int)


def question7_data(case: tuple):
    """``(images, labels)`` of a question 7 dataset: ``("digits", split, n)`` or ``(family, seed, size)``."""
    if case[0] == "digits":
        return digit_sample(case[1], case[2])
    family, seed, size = case
    return make_shapes(family, size=size, seed=seed)


def _nearest_labels(transform: Callable, images, labels, leave_out: bool = False) -> np.ndarray:
    """The label of the original image nearest (Euclidean) to each transformed image."""
    originals = np.asarray(images, dtype=float)
    flat = originals.reshape(len(originals), -1)
    moved = np.stack([np.asarray(transform(image), dtype=float).reshape(-1) for image in originals])
    distances = (moved ** 2).sum(axis=1)[:, None] - 2 * moved @ flat.T + (flat ** 2).sum(axis=1)[None, :]
    if leave_out:
        np.fill_diagonal(distances, np.inf)
    return np.asarray(labels)[distances.argmin(axis=1)]


def reference_label_kept_fraction(transform: Callable, images, labels) -> float:
    """The share of images whose transformed version's nearest original image has the image's own label."""
    return float(np.mean(_nearest_labels(transform, images, labels) == np.asarray(labels)))


#: The visible check's datasets: two families of shapes and 300 of the course's training digits.
KEEPS_LABEL_CASES = (("signs", 0, 16), ("fields", 1, 12), ("digits", "train", 300))


def check_label_kept_fraction(fn: Callable, cases: Sequence[tuple] = KEEPS_LABEL_CASES) -> None:
    """Question 7: ``label_kept_fraction(transform, images, labels)``, the share of images keeping their label."""
    __tracebackhide__ = True
    if not callable(fn):
        fail(f"`label_kept_fraction` should be a function of a transformation and a dataset, but it is a "
             f"{type(fn).__name__}: it must measure any dataset, not only the ones shown.",
             tag="kept_not_function")
    for case in cases:
        images, labels = question7_data(case)
        n = len(labels)
        what = "digits" if case[0] == "digits" else f"{case[0]!r} images"
        for name, transform in TRANSFORMATIONS.items():
            got = check_implemented(fn, "`label_kept_fraction`", transform, images.copy(), labels.copy())
            if got is None:
                fail("`label_kept_fraction` returned None: did you forget `return`?", tag="kept_none")
            if isinstance(got, (bool, np.bool_)):
                fail("`label_kept_fraction` returned True or False; return the share of images that keep "
                     "their label, a number from 0 to 1.", tag="kept_bool")
            try:
                got = float(np.asarray(got, dtype=float).reshape(()))
            except (TypeError, ValueError):
                fail(f"`label_kept_fraction` returned {got!r:.40}; return one number from 0 to 1.",
                     tag="kept_not_number")
            want = reference_label_kept_fraction(transform, images, labels)
            if abs(got - want) <= 1.5 / n:         # one near-tie either way
                continue
            where = f"For the {what} and {name}, `label_kept_fraction` gives {got:.3g}"
            if got > 1 and abs(got - want * n) <= 1.5:
                fail(f"{where}: that is a count of images; return their share of all {n}.", tag="kept_count")
            if abs(got - (1 - want)) <= 1.5 / n:
                fail(f"{where}: that is the share of images that change their label.", tag="kept_complement")
            kept_out = float(np.mean(_nearest_labels(transform, images, labels, leave_out=True) == labels))
            if abs(got - kept_out) <= 1.5 / n:
                fail(f"{where}, which is not right: you leave each image's own original out of the search, "
                     "but every original counts, the untransformed image itself included.", tag="kept_leave_out")
            fail(f"{where}, which is not right. Check that each image is transformed on its own, that it is "
                 "compared with the original images, and which label you compare.", tag="kept_wrong_share")
