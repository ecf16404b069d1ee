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

TRANSFORMATIONS = ("horizontal_flip", "vertical_flip", "small_rotation", "half_turn", "small_shift")


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
        fail(f"{what} returned None: did you forget `return`?")
    array = check_finite(value, f"What {what} returned")
    if array.ndim != 2:
        fail(f"{what} should return a 2-D array (one feature map), but it has shape {array.shape}.")
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
                     "the filter should move `stride` pixels at a time.")
            if padding == "same" and got.shape == reference_conv2d(image, kernel, stride, "valid").shape:
                fail(f"For {where} your output has shape {got.shape}: with padding='same' the image "
                     "is first surrounded by zeros.")
            fail(f"For {where} your output has shape {got.shape}, which is not the size that "
                 "Conv2D gives.")
        flipped = reference_conv2d(image, kernel[::-1, ::-1], stride, padding)
        if np.allclose(got, flipped) and not np.allclose(flipped, want):
            fail(f"For {where} you flipped the kernel: that is the convolution of mathematics, but "
                 "Conv2D (a cross-correlation) slides the kernel as it is.")
        if not np.allclose(got, want):
            fail(f"For {where} your output has the right shape but the wrong values. Check where each "
                 "window starts (row i * stride) and, for 'same', how many zeros go before and after.")


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
                     "should move by its own size, as in Keras.")
            fail(f"For {where} your output has shape {got.shape}, which is not the size that "
                 "MaxPooling2D gives (windows that do not fit entirely are dropped).")
        s = size if stride is None else stride
        means = np.array([[x[i * s:i * s + size, j * s:j * s + size].mean() for j in range(want.shape[1])]
                          for i in range(want.shape[0])])
        if np.allclose(got, means):
            fail(f"For {where} you took the mean of each window; max pooling keeps the largest value.")
        if not np.allclose(got, want):
            fail(f"For {where} your output has the right shape but the wrong values. Check where each "
                 "window starts: row i * stride, column j * stride.")


# ----------------------------------------------------------------------------- question 3
SUMMARY_SPEC = (
    ("conv", 8, 3, 1, "same"),
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
        fail("`layer_summary` returned None: did you forget `return`?")
    try:
        got = [(tuple(None if s is None else int(s) for s in shape), int(params))
               for shape, params in got]
    except (TypeError, ValueError):
        fail("`layer_summary` should return a list with one (shape, params) pair per layer, "
             "for example [((20, 20, 8), 224), ...].")
    if len(got) != len(want):
        fail(f"`layer_summary` returned {len(got)} rows for {len(want)} layers; give one per layer.")
    shape = tuple(input_shape)
    for i, (entry, (g_shape, g_params), (w_shape, w_params)) in enumerate(zip(spec, got, want)):
        name = f"the {ordinal(i)} layer, {entry}"
        if g_shape != w_shape:
            if len(g_shape) == len(w_shape) + 1 and g_shape[1:] == w_shape:
                fail(f"For {name} your shape {g_shape} has a batch axis; leave it out.")
            if entry[0] == "conv" and g_shape[-1] != entry[1]:
                fail(f"For {name} your shape {g_shape} has {g_shape[-1]} channels; a convolution has "
                     "one output channel per filter.")
            if entry[0] == "conv" and entry[4] == "same" and entry[3] > 1:
                hint = " With padding='same' the size depends only on the stride."
            elif entry[0] in ("conv", "maxpool"):
                hint = " Use the output-size formula with this layer's window, stride and padding."
            else:
                hint = ""
            fail(f"For {name} your output shape is {g_shape}, which is not right (its input has shape "
                 f"{shape}).{hint}")
        if g_params != w_params:
            if entry[0] == "conv" and g_params == w_params - entry[1]:
                fail(f"For {name} your count {g_params} leaves out the biases, one per filter.")
            if entry[0] == "conv" and g_params == entry[2] ** 2 * entry[1] + entry[1]:
                fail(f"For {name} your count {g_params} forgets that each filter has as many channels "
                     "as the layer's input.")
            if entry[0] == "dense" and g_params == w_params - entry[1]:
                fail(f"For {name} your count {g_params} leaves out the biases.")
            if entry[0] in ("maxpool", "flatten"):
                fail(f"For {name} you count {g_params} parameters, but this layer has no weights.")
            fail(f"For {name} your parameter count {g_params} is not right.")
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
        fail("`cross_entropy_from_logits` returned None: did you forget `return`?")
    got = np.asarray(value, dtype=float)
    if got.size != 1:
        fail(f"`cross_entropy_from_logits` should return one number (the mean over the examples), "
             f"but it returned shape {got.shape}.")
    got = float(got.reshape(()))
    if np.isclose(got, -want):
        fail("Your loss is negative: the log of a probability is negative, so the loss needs a minus sign.")
    if np.isclose(got, want * len(labels)):
        fail("You returned the sum over the examples; return the mean.")
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if np.isclose(got, -np.mean(np.log(softmax[np.arange(4), labels[::-1]]))):
        fail("You looked up the wrong probabilities: use each example's own label.")
    if np.isclose(got, -np.mean(np.log(np.exp(logits[np.arange(4), labels]) / 1.0))):
        fail("You took the log of exp(logit) without normalising: the softmax divides by a sum.")
    if not np.isclose(got, want, rtol=1e-6):
        fail(f"`cross_entropy_from_logits` gives {got:.6g} on the check's example, which is not right.")
    extreme = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]])
    with np.errstate(all="ignore"):
        value = check_implemented(ce_fn, "`cross_entropy_from_logits`", np.array([2, 0]), extreme.copy())
    got = np.asarray(value, dtype=float).reshape(-1)
    want = reference_cross_entropy_from_logits([2, 0], extreme)
    if got.size != 1 or not np.isfinite(got[0]):
        fail("For very large logits, such as 1000, your loss is not a finite number: exp overflows (or a "
             "probability underflows to 0 before the log). Compute the log-probabilities without "
             "exponentiating the raw logits.")
    if not np.isclose(got[0], want, rtol=1e-6):
        fail(f"For very large logits your loss is {got[0]:.6g}, which is not right: a probability may "
             "have been rounded to 0 or 1 before the log.")


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
                     f"activation {previous[1]!r}.")
            previous[1] = activation_name(layer)
        elif isinstance(layer, keras.layers.ReLU) and merged:
            merged[-1][1] = "relu"
        else:
            merged.append([layer, activation_name(layer)])
    return [(layer, act) for layer, act in merged]


def check_spec_model(model: Any) -> None:
    """Question 5: a CNN built to the question's specification (Activation layers may be separate)."""
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`spec_model` is still None: build the model and assign it to `spec_model`.")
    if not isinstance(model, keras.Model):
        fail(f"`spec_model` should be a Keras model, but it is a {type(model).__name__}.")
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, ValueError):
        fail("`spec_model` does not know its input shape: start it with keras.Input(shape=(32, 32, 3)).")
    if shape != (None, 32, 32, 3):
        fail(f"`spec_model` takes inputs of shape {shape}; the specification asks for 32 x 32 colour "
             "images, that is keras.Input(shape=(32, 32, 3)).")
    merged = _merged_layers(model)
    kinds = [type(layer).__name__ for layer, _ in merged]
    want_kinds = [kind for kind, _, _ in SPEC_LAYERS]
    if kinds != want_kinds:
        fail(f"`spec_model` has the layers {kinds}; the specification asks for {want_kinds} "
             "(Activation layers may follow a layer; other extra layers may not).")
    for i, ((layer, act), (kind, settings, want_act)) in enumerate(zip(merged, SPEC_LAYERS)):
        if getattr(layer, "use_bias", True) is False:
            fail(f"Your {ordinal(i)} layer ({kind}) has no bias; the specification keeps Keras's default "
                 "use_bias=True.")
        config = layer.get_config()
        for key, want in settings.items():
            got = config.get(key)
            got = tuple(got) if isinstance(got, list) else got
            if got != want:
                fail(f"Your {ordinal(i)} layer ({kind}) has {key}={got!r}; the specification asks "
                     f"for {want!r}.")
        if want_act is not None and act != want_act:
            fail(f"Your {ordinal(i)} layer ({kind}) uses the activation {act!r}; the specification "
                 f"asks for {want_act!r}.")


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
        fail(f"`model.predict` failed on images of shape {X.shape[1:]}: {problem}")
    if outputs.shape != (len(X), 10):
        fail(f"Your model outputs shape {outputs.shape} for {len(X)} images; it should give ten "
             "class scores per image.")
    return outputs.argmax(axis=1)


def check_shift_robust(model: Any, baseline: Any, X, y, pixels: int = 3, margin: float = 0.10,
                       seed: int = 0) -> tuple[float, float]:
    """Question 6: a CNN that beats ``baseline`` by ``margin`` on images shifted by ``pixels``.

    Also requires the CNN to be at least as accurate as the baseline on the unshifted images.
    Returns (the CNN's, the baseline's) accuracy on the shifted images.
    """
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`cnn` is still None: build and train a convolutional network and store it in `cnn`.")
    if not isinstance(model, keras.Model):
        fail(f"`cnn` should be a Keras model, but it is a {type(model).__name__}.")
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model)):
        fail("`cnn` has no Conv2D layer: the question asks for a convolutional network.")
    y = np.asarray(y).astype(int)
    clean_cnn = np.mean(predicted_classes(model, X) == y)
    clean_base = np.mean(predicted_classes(baseline, X) == y)
    shifted = shift_images(X, pixels, seed=seed)
    if clean_cnn < clean_base:
        fail(f"On centred digits your CNN is {clean_cnn:.1%} accurate, less than the MLP's "
             f"{clean_base:.1%}: train it longer (is it compiled with a suitable loss, and trained?).")
    acc_cnn = float(np.mean(predicted_classes(model, shifted) == y))
    acc_base = float(np.mean(predicted_classes(baseline, shifted) == y))
    if acc_cnn < acc_base + margin:
        fail(f"On digits shifted by {pixels} pixels your CNN is {acc_cnn:.1%} accurate and the MLP "
             f"{acc_base:.1%}; the target is at least {margin:.0%} points more than the MLP.")
    return acc_cnn, acc_base


def _all_layers(model) -> list:
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found.extend(_all_layers(layer))
    return found


# ----------------------------------------------------------------------------- question 7
#: The datasets of question 7.
DATASETS = ("digits", "clothing", "aerial", "road_signs")

#: For the two datasets of the chapter page, the transformations that keep every label.
LABEL_PRESERVING = {
    "digits": {"small_rotation", "small_shift"},
    "clothing": {"horizontal_flip", "small_rotation", "small_shift"},
}

#: The two new datasets are checked against a digest of the right set, so that the answer is
#: not written in this file: sha256 of "dataset:" + the sorted names joined by commas.
_DIGESTS = {
    "aerial": "a7cd3e2a7e55f2f7404f4e1260707acdac0d35b4aa0875a063e4a39f217567b5",
    "road_signs": "8bbbe94a2ab6b71836268022c9f55195f1cc122e275a053fd591f92170a408c2",
}


def _digest(dataset: str, chosen) -> str:
    import hashlib

    return hashlib.sha256(f"{dataset}:{','.join(sorted(chosen))}".encode()).hexdigest()

_WHY_NOT = {
    ("digits", "horizontal_flip"): "a mirrored 2, 3 or 7 is not a digit any more",
    ("digits", "vertical_flip"): "a digit turned upside down is not the same digit (a 6 becomes a 9-like shape)",
    ("digits", "half_turn"): "a 6 turned by 180 degrees reads as a 9",
    ("clothing", "vertical_flip"): "the photographs show clothes upright; upside-down shoes never occur",
    ("clothing", "half_turn"): "the photographs show clothes upright; upside-down shoes never occur",
}


def check_augmentations(choices: Any, datasets: Sequence[str] = DATASETS) -> None:
    """Question 7: for each dataset, the set of transformations that keep the label."""
    __tracebackhide__ = True
    if choices is None:
        fail("`keeps_label` is still None: make it a dict from dataset name to a set of transformations.")
    if not isinstance(choices, dict):
        fail(f"`keeps_label` should be a dict, not a {type(choices).__name__}.")
    missing = [d for d in DATASETS if d not in choices]
    if missing:
        fail(f"`keeps_label` has no entry for {missing}; give one for each of {list(DATASETS)}.")
    for dataset in DATASETS:
        chosen = choices[dataset]
        if isinstance(chosen, str) or not isinstance(chosen, (set, frozenset, list, tuple)):
            fail(f"`keeps_label[{dataset!r}]` should be a set of names, for example "
                 "{'small_shift'}, not a " + type(chosen).__name__ + ".")
        unknown = sorted(set(chosen) - set(TRANSFORMATIONS))
        if unknown:
            fail(f"`keeps_label[{dataset!r}]` contains {unknown}; use the names in TRANSFORMATIONS.")
    for dataset in datasets:
        chosen = set(choices[dataset])
        if dataset not in LABEL_PRESERVING:
            if _digest(dataset, chosen) != _DIGESTS[dataset]:
                fail(f"For {dataset!r} your set is not right: either one of your transformations can "
                     "change a label (or make an image that never occurs in this dataset), or a safe one "
                     "is missing. Go through the five one at a time.")
            continue
        want = LABEL_PRESERVING[dataset]
        for name in TRANSFORMATIONS:
            if name in chosen and name not in want:
                why = _WHY_NOT.get((dataset, name), "it can change what the image shows")
                fail(f"For {dataset!r} you chose {name!r}, which does not keep every label: {why}.")
            if name not in chosen and name in want:
                fail(f"For {dataset!r} you left out {name!r}, which keeps every label of this dataset: "
                     "the more label-preserving variety, the better.")
