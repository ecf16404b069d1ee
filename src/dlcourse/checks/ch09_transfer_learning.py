"""Student-facing checks for Chapter 9, ``ch09_transfer_learning`` (transfer learning).

Each check raises ``AssertionError`` with a message that teaches. Checks test properties
on their own inputs, so a hard-coded answer does not pass them. TensorFlow and Keras are
imported inside the functions that need them, so importing this module stays light.

The exercise data are scikit-learn's digits upsampled to 28x28
(:func:`dlcourse.transfer.load_digits_28x28`), split here once and for all: the rows a
student trains and validates on (:func:`exercise_data`), a noisy-label set (:func:`noisy_digits`)
and rows the student never sees (:func:`hidden_rows`), which hidden tests score on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import check_implemented, fail

#: Units of the hidden Dense layer that question 1's head must have.
HIDDEN_UNITS = 32
#: Labelled training images per class in question 2.
PER_CLASS = 5
#: Rows of the noisy-label set and how many of its labels are flipped (question 4).
NOISY_ROWS, NOISY_FLIPS = 1000, 100


# ----------------------------------------------------------------------------- data
def _split():
    from dlcourse.transfer import load_digits_28x28

    X, y = load_digits_28x28()
    order = np.random.default_rng(2009).permutation(len(y))
    visible, hidden = order[:NOISY_ROWS], order[NOISY_ROWS:]
    lab = np.concatenate([visible[y[visible] == c][:PER_CLASS] for c in range(10)])
    val = np.setdiff1d(visible, lab)[:300]
    return X, y, visible, lab, val, hidden


def exercise_data() -> dict[str, np.ndarray]:
    """The rows of the exercises: ``X_lab``/``y_lab`` (5 per class) and ``X_val``/``y_val`` (300)."""
    X, y, _, lab, val, _ = _split()
    return {"X_lab": X[lab], "y_lab": y[lab], "X_val": X[val], "y_val": y[val]}


def hidden_rows(n: int | None = None):
    """797 digits the exercise never shows (hidden tests score on them)."""
    X, y, _, _, _, hidden = _split()
    hidden = hidden[:n] if n else hidden
    return X[hidden], y[hidden]


def _flips() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(90210)
    rows = np.sort(rng.choice(NOISY_ROWS, NOISY_FLIPS, replace=False))
    return rows, rng.integers(1, 10, NOISY_FLIPS)


def noisy_digits():
    """``(X, y_noisy)``: 1,000 digits of which 100 labels were changed to another digit."""
    X, y, visible, _, _, _ = _split()
    y_noisy = y[visible].copy()
    rows, shift = _flips()
    y_noisy[rows] = (y_noisy[rows] + shift) % 10
    return X[visible], y_noisy


def flipped_rows() -> np.ndarray:
    """Rows of :func:`noisy_digits` whose labels were flipped (for the tests, not the student)."""
    return _flips()[0]


# ----------------------------------------------------------------------------- models
def _keras():
    import keras

    return keras


def _n_trainable(model) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def _flat_layers(model):
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def _kind(layer) -> str:
    return type(layer).__name__


def _activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act))


#: Layer names of the pretrained base (``datasets/README.md``).
BASE_LAYERS = frozenset({"conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2",
                         "conv3", "bn3", "relu3"})


# ----------------------------------------------------------------------------- question 1
def _head_units(model):
    """The layers after the base, and their Dense layers as (units, activation)."""
    layers_after = [layer for layer in _flat_layers(model)
                    if layer.name not in BASE_LAYERS and _kind(layer) != "InputLayer"]
    dense = []
    for i, layer in enumerate(layers_after):
        if _kind(layer) == "Dense":
            act = _activation_name(layer)
            nxt = layers_after[i + 1] if i + 1 < len(layers_after) else None
            if act == "linear" and nxt is not None and _kind(nxt) in ("Activation", "ReLU", "Softmax"):
                act = {"ReLU": "relu", "Softmax": "softmax"}.get(_kind(nxt), _activation_name(nxt))
            dense.append((int(layer.units), act))
    return layers_after, dense


def check_build_transfer_model(build_fn: Callable, n_classes_cases=(4, 10)) -> None:
    """Question 1: the pretrained base frozen, global average pooling, Dense(32, relu), softmax."""
    __tracebackhide__ = True
    keras = _keras()
    base_paths = set(_pretrained_arrays())
    for n_classes in n_classes_cases:
        model = check_implemented(build_fn, "`build_transfer_model`", n_classes)
        if model is None:
            fail("`build_transfer_model` returned None: did you forget `return model`?", tag="build_none")
        if not isinstance(model, keras.Model):
            fail(f"`build_transfer_model` should return a Keras model, not a {type(model).__name__}.", tag="build_not_model")
        if not base_paths <= {v.path for v in model.weights}:
            fail("The model does not contain the pretrained base: build it on `load_pretrained_base()`.", tag="build_no_base")
        x = np.zeros((2, 28, 28, 1), dtype="float32")
        try:
            out = np.asarray(model(x, training=False))
        except Exception as exc:  # noqa: BLE001 - any failure is the student's model
            fail(f"The model cannot read a batch of 28x28 grey images: {type(exc).__name__}: {exc}", tag="build_input_fails")
        if out.ndim == 2 and len(out) == 2 and out.shape[1] != n_classes:
            fail(f"The model outputs {out.shape[1]} scores per image but n_classes is {n_classes}: "
                 "use the argument.", tag="build_n_classes_ignored")
        if out.shape != (2, n_classes):
            fail(f"For n_classes={n_classes} the model outputs shape {out.shape[1:]} per image; "
                 "it should output one score per class.", tag="build_output_shape")
        if any(v.path in base_paths for v in model.trainable_weights):
            fail("Some weights of the base are still trainable: freeze the base.", tag="base_trainable")
        layers_after, dense = _head_units(model)
        kinds = [_kind(layer) for layer in layers_after]
        if "Flatten" in kinds:
            fail("The head flattens the feature maps; the exercise asks for global average pooling.", tag="head_flattens")
        if "GlobalAveragePooling2D" not in kinds:
            fail("The head has no GlobalAveragePooling2D layer after the base.", tag="head_no_pooling")
        if len(dense) != 2:
            fail(f"The head has {len(dense)} Dense layer(s); the exercise asks for two: a hidden one "
                 "and the output layer.", tag="head_dense_count")
        (hidden, hidden_act), (out_units, out_act) = dense
        if hidden != HIDDEN_UNITS:
            fail(f"The hidden Dense layer has {hidden} units; the exercise asks for {HIDDEN_UNITS}.", tag="head_hidden_units")
        if hidden_act != "relu":
            fail(f"The hidden Dense layer's activation is {hidden_act!r}; the exercise asks for ReLU.", tag="head_hidden_activation")
        if out_units != n_classes:
            fail(f"The output layer has {out_units} units but n_classes is {n_classes}: use the argument.", tag="head_output_units")
        if out_act != "softmax" or not np.allclose(out.sum(axis=1), 1, atol=1e-4):
            fail("The outputs are not class probabilities: the output layer needs a softmax.", tag="head_no_softmax")
        want = (64 + 1) * HIDDEN_UNITS + (HIDDEN_UNITS + 1) * n_classes
        if _n_trainable(model) != want:
            fail(f"The model has {_n_trainable(model)} trainable parameters, which does not match a "
                 "frozen base and the head the exercise describes.", tag="trainable_params_mismatch")


def check_trainable_count(value: Any, build_fn: Callable) -> None:
    """Question 1: the number of trainable parameters of ``build_transfer_model(10)``."""
    __tracebackhide__ = True
    if value is None:
        fail("`n_trainable` is still None: count the trainable parameters.", tag="n_trainable_none")
    if isinstance(value, bool) or not float(np.asarray(value, dtype=float)).is_integer():
        fail(f"`n_trainable` should be a whole number, not {value!r:.40}.", tag="n_trainable_not_int")
    value = int(value)
    model = build_fn(10)
    if value == model.count_params():
        fail("That is every parameter of the model, the frozen base included; count only the "
             "trainable ones.", tag="n_trainable_counts_all")
    if value != _n_trainable(model):
        fail(f"`n_trainable` = {value} is not the number of trainable parameters of your model "
             "for 10 classes.", tag="n_trainable_wrong")


# ----------------------------------------------------------------------------- questions 2 and 3
def _pretrained_arrays() -> dict[str, np.ndarray]:
    from dlcourse.data import load_pretrained_base

    return {v.path: v.numpy() for v in load_pretrained_base().weights}


def _base_arrays(model, what: str) -> dict[str, np.ndarray]:
    want = _pretrained_arrays()
    got = {v.path: v.numpy() for v in model.weights if v.path in want}
    if set(got) != set(want):
        fail(f"{what} does not contain the pretrained base (its weights conv1/kernel, bn1/..., are "
             "missing): build it on `load_pretrained_base()`.", tag="no_base_weights")
    return got


def _accuracy(model, X, y) -> float:
    proba = np.asarray(model.predict(np.asarray(X, dtype="float32"), batch_size=500, verbose=0))
    if proba.ndim != 2 or proba.shape[1] != 10:
        fail(f"The model outputs shape {proba.shape[1:]} per image; it should output 10 class scores.", tag="output_shape")
    return float(np.mean(proba.argmax(axis=1) == np.asarray(y)))


def _check_question1_head(model, name: str) -> None:
    """``model`` has a head with a hidden Dense layer, as question 1's (the page's head has none).

    Only the hidden layer is required, so that a mistake in question 1's details is not lost again here.
    """
    __tracebackhide__ = True
    _, dense = _head_units(model)
    if len(dense) < 2:
        fail(f"{name}'s head has {len(dense)} Dense layer(s) and no hidden layer, so it is not question 1's "
             "model: build it with your `build_transfer_model(10)`.", tag="not_question1_head")


def check_head_trained(model, X_val, y_val, min_accuracy: float = 0.72) -> None:
    """Question 2: the head learned, and every base weight (BatchNorm statistics too) is unchanged."""
    __tracebackhide__ = True
    keras = _keras()
    if model is None:
        fail("`head_model` is still None: build it with `build_transfer_model` and train it.", tag="head_model_none")
    if not isinstance(model, keras.Model):
        fail(f"`head_model` should be a Keras model, not a {type(model).__name__}.", tag="head_model_not_model")
    want = _pretrained_arrays()
    _check_question1_head(model, "`head_model`")
    for path, array in _base_arrays(model, "`head_model`").items():
        if not np.array_equal(array, want[path]):
            fail(f"The base's weight {path} changed during training: the base must stay frozen "
                 "while the head trains.", tag="base_changed")
    acc = _accuracy(model, X_val, y_val)
    if acc < min_accuracy:
        fail(f"`head_model` classifies {acc:.1%} of the validation digits correctly; the exercise "
             f"asks for at least {min_accuracy:.0%}. Has the head trained long enough?", tag="head_accuracy_low")


def check_finetuned(model, X_val, y_val, min_accuracy: float = 0.75, head_model=None) -> None:
    """Question 3: some convolution changed, the BatchNorm statistics did not, and it is accurate.

    With ``head_model``, question 2's model must also be untouched: ``ft_model`` is a copy.
    """
    __tracebackhide__ = True
    keras = _keras()
    if model is None:
        fail("`ft_model` is still None: fine-tune a model and store it in `ft_model`.", tag="ft_model_none")
    if not isinstance(model, keras.Model):
        fail(f"`ft_model` should be a Keras model, not a {type(model).__name__}.", tag="ft_model_not_model")
    want = _pretrained_arrays()
    _check_question1_head(model, "`ft_model`")
    if head_model is not None:
        if not isinstance(head_model, keras.Model):
            fail("`head_model` is no longer a Keras model: question 3 must leave question 2's model as it "
                 "was.", tag="ft_head_replaced")
        changed_head = [p for p, a in _base_arrays(head_model, "`head_model`").items()
                        if not np.array_equal(a, want[p])]
        if changed_head:
            fail(f"Fine-tuning changed the base of `head_model` too ({changed_head[0]} and others): "
                 "`ft_model` shares its layers with `head_model`. Fine-tune a separate copy, so that "
                 "`head_model` stays as question 2 left it (question 2's test reads it again when the "
                 "notebook is re-run and graded).", tag="ft_changed_head_model")
    got = _base_arrays(model, "`ft_model`")
    for path in sorted(want):
        if "moving_" in path and not np.array_equal(got[path], want[path]):
            fail(f"The BatchNorm statistic {path} changed during fine-tuning: in Keras 3, "
                 "`training=False` is not enough once the base is unfrozen.", tag="bn_statistics_changed")
    changed = [p for p in want if p.endswith("/kernel") and not np.array_equal(got[p], want[p])]
    if not changed:
        fail("No convolution of the base changed: that is feature extraction, not fine-tuning. "
             "Unfreeze some of the base and recompile before training.", tag="no_conv_changed")
    acc = _accuracy(model, X_val, y_val)
    if acc < min_accuracy:
        fail(f"`ft_model` classifies {acc:.1%} of the validation digits correctly; the exercise asks "
             f"for at least {min_accuracy:.0%}. A learning rate that is too large can wreck the "
             "pretrained features.", tag="ft_accuracy_low")


# ----------------------------------------------------------------------------- question 4
def check_suspects(suspects, k: int = 100, min_share: float = 0.5) -> None:
    """Question 4: ``k`` distinct rows of the noisy set, at least half of them with flipped labels."""
    __tracebackhide__ = True
    if suspects is None:
        fail("`suspects` is still None: rank the rows by their loss and keep the top 100.", tag="suspects_none")
    try:
        rows = np.asarray(suspects).astype(int).reshape(-1)
    except (TypeError, ValueError):
        fail("`suspects` should be row numbers (integers).", tag="suspects_not_ints")
    if len(rows) != k:
        fail(f"`suspects` has {len(rows)} rows; the exercise asks for the top {k}.", tag="suspects_count")
    if len(np.unique(rows)) != k:
        fail("`suspects` contains the same row more than once.", tag="suspects_duplicates")
    if rows.min() < 0 or rows.max() >= NOISY_ROWS:
        fail(f"`suspects` should be row numbers of X_noisy, from 0 to {NOISY_ROWS - 1}.", tag="suspects_out_of_range")
    hits = int(np.isin(rows, flipped_rows()).sum())
    random_hits = k * NOISY_FLIPS / NOISY_ROWS
    if hits < random_hits / 2:
        fail(f"{hits} of your {k} suspects have flipped labels, fewer than a random choice finds (about "
             f"{random_hits:.0f}): your ranking points the wrong way. Are they the rows with the "
             "*highest* loss?", tag="suspects_lowest_loss")
    if hits < min_share * k:
        fail(f"{hits} of your {k} suspects have flipped labels; the exercise asks for at least "
             f"{int(min_share * k)} (a random choice finds about {random_hits:.0f}). The ranking is only "
             "as good as the model behind it: a model too weak to trust gives correctly labelled but "
             "unusual digits losses as high as the wrong labels. How accurate is your model on `X_val`, "
             "whose labels are right? Also check that each loss is computed under the noisy label.",
             tag="suspects_weak_model")


# ----------------------------------------------------------------------------- question 5
def make_cam_head(features, labels, seed: int = 0):
    """A head with a hidden layer that maps 64 feature maps to 10 logits, trained on ``features``."""
    keras = _keras()
    from keras import layers

    keras.utils.set_random_seed(seed)
    head = keras.Sequential([
        keras.Input((None, None, 64)),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(32, activation="relu", name="hidden"),
        layers.Dense(10, name="scores"),
    ], name="cam_head")
    head.compile(optimizer=keras.optimizers.Adam(0.01),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    head.fit(np.asarray(features, "float32"), np.asarray(labels), epochs=60, batch_size=64, verbose=0)
    return head


def reference_grad_cam(base, head, images, classes) -> np.ndarray:
    """Grad-CAM at the base's output, upsampled (bilinear) to the image size, each map scaled to max 1."""
    import tensorflow as tf

    images = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    classes = np.asarray(classes).astype("int32")
    with tf.GradientTape() as tape:
        maps = base(images, training=False)
        tape.watch(maps)
        scores = tf.gather(head(maps, training=False), classes, axis=1, batch_dims=1)
    grads = tape.gradient(scores, maps)
    alpha = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", maps, alpha))
    cam = tf.image.resize(cam[..., None], images.shape[1:3])[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1)
    return cam / np.where(peak > 0, peak, 1)[:, None, None]


def quadrant_hits(heatmaps, quadrants) -> float:
    """Share of heatmaps whose maximum lies in the given quadrant (0 TL, 1 TR, 2 BL, 3 BR)."""
    heatmaps = np.asarray(heatmaps)
    rows, cols = np.unravel_index(heatmaps.reshape(len(heatmaps), -1).argmax(axis=1),
                                  heatmaps.shape[1:])
    half_r, half_c = heatmaps.shape[1] // 2, heatmaps.shape[2] // 2
    return float(np.mean(2 * (rows >= half_r) + (cols >= half_c) == np.asarray(quadrants)))


def check_grad_cam(grad_cam_fn: Callable, head, images, classes, canvas: int = 64,
                   min_hits: float = 0.9, seed: int = 0) -> None:
    """Question 5: ``grad_cam_fn(images, classes)`` for the pretrained base and ``head``.

    It must match the reference on ``images`` and on canvases, and peak in the digit's quadrant.
    """
    __tracebackhide__ = True
    from dlcourse.data import load_pretrained_base
    from dlcourse.transfer import place_in_quadrant

    base = load_pretrained_base()
    images = np.asarray(images, dtype="float32")
    classes = np.asarray(classes)
    quadrant = np.random.default_rng(seed).integers(0, 4, len(images))
    canvases = place_in_quadrant(images, quadrant, canvas=canvas)
    for name, batch in (("28x28 images", images[:8]), (f"{canvas}x{canvas} canvases", canvases)):
        n = len(batch)
        got = check_implemented(grad_cam_fn, "`grad_cam`", batch.copy(), classes[:n].tolist())
        if got is None:
            fail("`grad_cam` returned None: did you forget `return`?", tag="grad_cam_none")
        got = np.asarray(got, dtype=float)
        h, w = batch.shape[1:3]
        base_side = int(base.compute_output_shape((1, h, w, 1))[1])
        if got.shape == (n, base_side, base_side):
            fail(f"On {name} `grad_cam` returned maps of {base_side}x{base_side}, the size of the "
                 f"feature maps; resize them to the image size, {h}x{w}.", tag="grad_cam_not_resized")
        if got.shape != (n, h, w):
            fail(f"On {name} `grad_cam` returned shape {got.shape}; it should be (n, height, width) "
                 f"= {(n, h, w)}.", tag="grad_cam_shape")
        if not np.all(np.isfinite(got)):
            fail("`grad_cam` returned NaN or infinity: does it divide by a maximum of zero?", tag="grad_cam_not_finite")
        if got.min() < -1e-6:
            fail("`grad_cam` returned negative values: Grad-CAM keeps only the positive part.", tag="grad_cam_negative")
        want = reference_grad_cam(base, head, batch, classes[:n])
        peaks = got.reshape(n, -1).max(axis=1)
        if np.any((want.reshape(n, -1).max(axis=1) > 0) & (np.abs(peaks - 1) > 1e-3)):
            fail("Scale each heatmap so that its maximum is 1.", tag="grad_cam_not_scaled")
        if not np.allclose(got, want, atol=2e-3):
            worst = float(np.abs(got - want).max())
            fail(f"On {name} your heatmaps differ from Grad-CAM's by up to {worst:.3f}. Check which "
                 "score you differentiate (the logit of each image's own class), the axes you average "
                 "the gradients over, and the resizing.", tag="grad_cam_wrong")
        if name.endswith("canvases"):
            hits = quadrant_hits(got, quadrant)
            if hits < min_hits:
                fail(f"Only {hits:.0%} of the heatmaps peak in the digit's quadrant; the exercise "
                     f"asks for at least {min_hits:.0%}.", tag="grad_cam_peaks_off")


# ----------------------------------------------------------------------------- question 7
#: What the verdict says when neither method is ahead by more than twice the standard error
#: (the page's wording).
NO_DIFFERENCE = "no measurable difference"
#: The kinds of made-up comparison :func:`make_comparison` builds.
COMPARISON_KINDS = ("clear", "b_ahead", "null", "test_flip", "edge")
_DEFAULT_GRIDS = (
    [1e-6, 1e-5, 1e-4, 1e-3, 1e-2],         # a fine-tuned base's second stage
    [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],         # a model trained from scratch
)


def make_comparison(kind: str = "clear", seed: int = 0, methods=("fine-tuned", "scratch"),
                    grids=None, seeds=range(5)):
    """Made-up results of two methods over learning-rate grids and seeds, as Chapter 9 records them.

    A DataFrame with one row per method, learning rate, seed and split: the columns ``method``,
    ``lr``, ``seed``, ``split`` (``"validation"`` or ``"test"``) and ``accuracy``, in shuffled
    order. A seed is one draw of labelled images shared by both methods, so its difficulty moves
    both methods' accuracies together (the reason to pair by seed). ``kind`` shapes it, for the
    first method ``a`` against the second ``b``: ``"clear"`` (a ahead by about 4 points),
    ``"b_ahead"``, ``"null"`` (no difference), ``"test_flip"`` (one of b's rates that loses on
    validation is lucky on the test runs, enough to flip the verdict of a tuning on test) and
    ``"edge"`` (a's best rate is the largest of its grid).
    """
    import pandas as pd

    if kind not in COMPARISON_KINDS:
        raise ValueError(f"kind must be one of {COMPARISON_KINDS}")
    a, b = methods
    grids = {a: list(_DEFAULT_GRIDS[0]), b: list(_DEFAULT_GRIDS[1])} if grids is None else \
        {m: [float(r) for r in grids[m]] for m in methods}
    seeds = [int(s) for s in seeds]
    rng = np.random.default_rng([2009, int(seed), COMPARISON_KINDS.index(kind)])
    lead = {"clear": 0.04, "b_ahead": -0.035, "null": 0.006, "test_flip": 0.025, "edge": 0.03}[kind]
    peak = {a: 0.78 + lead, b: 0.78}
    best = {m: 1 + int(rng.integers(0, len(grids[m]) - 2)) for m in methods}   # inside the grid
    if kind == "edge":
        best[a] = len(grids[a]) - 1
    draw = rng.normal(0, 0.05, len(seeds))              # how hard each seed's draw is
    rows = []
    for m in methods:
        for i, lr in enumerate(grids[m]):
            if kind == "edge" and m == a:               # still rising at the grid's end
                curve = peak[m] - 0.03 * (best[m] - i)
            else:
                curve = peak[m] - 0.012 * (i - best[m]) ** 2
            val = curve + draw + rng.normal(0, 0.008, len(seeds))
            test = curve + 0.9 * draw + rng.normal(0, 0.008, len(seeds))
            if kind == "test_flip" and m == b and i == best[b] - 1:
                test = test + 0.05                       # lucky on test, not on validation
            for s, v, t in zip(seeds, val, test):
                rows.append((m, lr, s, "validation", v))
                rows.append((m, lr, s, "test", t))
    frame = pd.DataFrame(rows, columns=["method", "lr", "seed", "split", "accuracy"])
    frame["accuracy"] = frame["accuracy"].clip(0.05, 0.999).round(4)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    return frame


def _runs(results, method: str, split: str):
    """``{lr: Series of accuracy by seed}`` of one method on one split."""
    rows = results[(results["method"] == method) & (results["split"] == split)]
    return {float(lr): g.set_index("seed")["accuracy"].sort_index() for lr, g in rows.groupby("lr")}


def _tuned(results, method: str, split: str = "validation") -> float:
    means = {lr: float(s.mean()) for lr, s in _runs(results, method, split).items()}
    return max(means, key=means.get)


def _paired_on(results, a: str, b: str, lr_a: float, lr_b: float, split: str) -> np.ndarray:
    """Per-seed differences a - b in points on one split, at the given rates, paired by seed."""
    sa, sb = _runs(results, a, split)[lr_a], _runs(results, b, split)[lr_b]
    return 100 * (sa - sb.reindex(sa.index)).to_numpy(dtype=float)


def _paired(results, a: str, b: str, lr_a: float, lr_b: float) -> np.ndarray:
    """Per-seed test differences a - b in points, at the given rates, paired by seed."""
    return _paired_on(results, a, b, lr_a, lr_b, "test")


def _verdict(a: str, b: str, diff: float, se: float, k: float = 2.0) -> str:
    return a if diff > k * se else b if diff < -k * se else NO_DIFFERENCE


def reference_fair_verdict(results, a: str, b: str) -> dict:
    """Chapter 9's comparison of ``a`` against ``b``: rates tuned on validation means, paired test
    differences in points, mean and standard error, and the two-standard-error verdict."""
    lr = {m: _tuned(results, m) for m in (a, b)}
    grid = {m: sorted(_runs(results, m, "validation")) for m in (a, b)}
    edge = {m: lr[m] in (grid[m][0], grid[m][-1]) for m in (a, b)}
    d = _paired(results, a, b, lr[a], lr[b])
    diff, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
    return {"lr": lr, "at_edge": edge, "diff": diff, "se": se, "verdict": _verdict(a, b, diff, se)}


def _per_seed_diff(results, a: str, b: str) -> float:
    """The mistake of picking each seed's own best rate: the mean difference it gives."""
    picked = {}
    for m in (a, b):
        val, test = _runs(results, m, "validation"), _runs(results, m, "test")
        table = {lr: s for lr, s in val.items()}
        seeds = next(iter(table.values())).index
        picked[m] = np.array([test[max(table, key=lambda lr: table[lr][s])][s] for s in seeds])
    return float(100 * np.mean(picked[a] - picked[b]))


def fair_cases() -> list:
    """The visible check's comparisons: ``(results, a, b, where)``; the first is the notebook's."""
    made = [
        (make_comparison("clear", 0), "fine-tuned", "scratch"),
        (make_comparison("test_flip", 0), "fine-tuned", "scratch"),
        (make_comparison("edge", 0), "fine-tuned", "scratch"),
        (make_comparison("null", 0, methods=("frozen", "scratch"), seeds=[7, 3, 11, 5, 2, 9],
                         grids={"frozen": [1e-3, 1e-2, 1e-1, 1.0], "scratch": _DEFAULT_GRIDS[1]}),
         "frozen", "scratch"),
        (make_comparison("b_ahead", 0), "fine-tuned", "scratch"),
    ]
    return [(results, a, b, f"`checks.fair_cases()[{i}]`" + (", the comparison above" if i == 0 else ""))
            for i, (results, a, b) in enumerate(made)]


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-6 * max(1.0, abs(y))


def _same_rate(x: float, y: float) -> bool:
    """Learning rates span decades: compare them relatively (1e-8 is not 1e-7)."""
    return abs(x - y) <= 1e-6 * abs(y)


def _number(value: Any, what: str) -> float:
    __tracebackhide__ = True
    array = None if isinstance(value, (bool, np.bool_, str)) else np.asarray(value)
    if array is None or array.ndim != 0 or array.dtype.kind not in "iuf":
        fail(f"{what} should be a number, not {type(value).__name__}.", tag="fair_not_number")
    value = float(array)
    if not np.isfinite(value):
        fail(f"{what} is NaN or infinite: is something divided by zero, or a seed left unpaired?",
             tag="fair_not_finite")
    return value


def check_fair_verdict(fn: Callable, cases: list | None = None) -> None:
    """Question 7: ``fn(results, a, b)`` compares two methods as Chapter 9 does, on every case."""
    __tracebackhide__ = True
    if not callable(fn):
        fail(f"`fair_verdict` should be a function, not a {type(fn).__name__}.", tag="fair_not_function")
    for results, a, b, why in (fair_cases() if cases is None else cases):
        got = check_implemented(fn, "`fair_verdict`", results.copy(), a, b)
        want = reference_fair_verdict(results, a, b)
        where = f"On {why} ({a!r} against {b!r})"  # never says what the answer should be
        if got is None:
            fail("`fair_verdict` returned None: did you forget `return`?", tag="fair_none")
        if not isinstance(got, dict):
            fail(f"`fair_verdict` should return a dict, not a {type(got).__name__}.", tag="fair_not_dict")
        missing = [k for k in ("lr", "at_edge", "diff", "se", "verdict") if k not in got]
        if missing:
            fail(f"The dict `fair_verdict` returns has no key {missing[0]!r}.", tag="fair_missing_key")
        for key in ("lr", "at_edge"):
            if not isinstance(got[key], dict) or not {a, b} <= set(got[key]):
                fail(f"{where}, {key!r} should be a dict with one entry per method, keyed by the "
                     "method's name.", tag="fair_not_per_method")
        d_seed = _per_seed_diff(results, a, b)
        for m in (a, b):
            lr = _number(got["lr"][m], f"{where}, the learning rate of {m!r}")
            if _same_rate(lr, want["lr"][m]):
                continue
            grid = sorted(_runs(results, m, "validation"))
            if not any(_same_rate(lr, r) for r in grid):
                fail(f"{where}, the learning rate of {m!r} is {lr:g}, which is not a rate of its grid.",
                     tag="fair_lr_not_in_grid")
            if _same_rate(lr, _tuned(results, m, "test")):
                fail(f"{where}, the learning rate of {m!r} is the one with the best *test* accuracy. "
                     "The test runs report the result once, after every choice; a rate chosen on "
                     "them makes the test score optimistic.", tag="fair_tuned_on_test")
            val = results[(results["method"] == m) & (results["split"] == "validation")]
            if _same_rate(lr, float(val.loc[val["accuracy"].idxmax(), "lr"])):
                fail(f"{where}, the learning rate of {m!r} is the one of the single best validation "
                     "run. One lucky seed should not choose: compare the rates over all seeds.",
                     tag="fair_lr_best_single_run")
            if "diff" in got and isinstance(got["diff"], (int, float)) and _close(float(got["diff"]), d_seed):
                fail(f"{where}, your difference is what each seed's own best rate gives: a method gets "
                     "one tuned rate, chosen over all seeds, and every seed uses it.", tag="fair_per_seed_lr")
            fail(f"{where}, the learning rate of {m!r} is not the rate with the best validation "
                 "accuracy averaged over the seeds.", tag="fair_lr_wrong")
        for m in (a, b):
            edge = got["at_edge"][m]
            if not isinstance(edge, (bool, np.bool_)):
                fail(f"{where}, at_edge[{m!r}] should be True or False, not {edge!r:.40}.",
                     tag="fair_edge_not_bool")
            if bool(edge) != want["at_edge"][m]:
                fail(f"{where}, at_edge[{m!r}] is {bool(edge)}: where does its chosen rate sit in "
                     f"the grid of rates {m!r} was tried with?", tag="fair_edge_wrong")
        diff = _number(got["diff"], f"{where}, 'diff'")
        if not _close(diff, want["diff"]):
            if _close(diff, want["diff"] / 100):
                fail(f"{where}, 'diff' is in accuracy (a fraction); the question asks for percentage "
                     "points.", tag="fair_diff_fraction")
            if _close(diff, -want["diff"]):
                fail(f"{where}, 'diff' has the wrong sign: it is {a!r} minus {b!r}.", tag="fair_diff_sign")
            d_val = _paired_on(results, a, b, want["lr"][a], want["lr"][b], "validation")
            if _close(diff, float(d_val.mean())):
                fail(f"{where}, 'diff' comes from the validation runs, the ones that chose the rates: "
                     "they flatter the tuned methods. Which runs report the result?",
                     tag="fair_diff_on_validation")
            if _close(diff, d_seed):
                fail(f"{where}, your difference is what each seed's own best rate gives: a method gets "
                     "one tuned rate, chosen over all seeds, and every seed uses it.", tag="fair_diff_per_seed")
            fail(f"{where}, 'diff' is not the mean over seeds of {a!r}'s test accuracy minus {b!r}'s, "
                 "each at its tuned rate.", tag="fair_diff_wrong")
        se = _number(got["se"], f"{where}, 'se'")
        if not _close(se, want["se"]):
            d = _paired(results, a, b, want["lr"][a], want["lr"][b])
            n = len(d)
            sa = 100 * _runs(results, a, "test")[want["lr"][a]]
            sb = 100 * _runs(results, b, "test")[want["lr"][b]]
            unpaired = [float(np.sqrt((sa.var(ddof=k) + sb.var(ddof=k)) / n)) for k in (0, 1)]
            if _close(se, want["se"] / 100):
                fail(f"{where}, 'se' is in accuracy (a fraction); the question asks for percentage "
                     "points.", tag="fair_se_fraction")
            if _close(se, 2 * want["se"]):
                fail(f"{where}, 'se' is twice the standard error: the factor 2 belongs to the rule "
                     "that makes the verdict, not to the standard error.", tag="fair_se_doubled")
            if any(_close(se, u) for u in unpaired):
                fail(f"{where}, 'se' treats the two methods' runs as independent samples. Both methods "
                     "saw the same seeds: compare them seed by seed.", tag="fair_se_unpaired")
            if _close(se, float(d.std(ddof=1))) or _close(se, float(d.std(ddof=0))):
                fail(f"{where}, 'se' is the spread of the single differences, not the standard error "
                     "of their mean: how does it shrink with the number of seeds?", tag="fair_se_not_divided")
            if _close(se, float(d.std(ddof=0) / np.sqrt(n))):
                fail(f"{where}, 'se' uses the standard deviation of the population (ddof=0); the "
                     "chapter's standard errors use the sample standard deviation.",
                     tag="fair_se_ddof0")
            fail(f"{where}, 'se' is not the standard error of the mean of the per-seed differences. "
                 "Are the runs of the two methods paired by their seed? The rows are not in seed "
                 "order.", tag="fair_se_wrong")
        verdict = got["verdict"]
        if not isinstance(verdict, str) or verdict not in (a, b, NO_DIFFERENCE):
            fail(f"{where}, 'verdict' is {verdict!r:.40}; it should be {a!r}, {b!r} or "
                 f"{NO_DIFFERENCE!r}.", tag="fair_verdict_not_allowed")
        if verdict != want["verdict"]:
            if verdict == _verdict(a, b, diff, se, k=1.0):
                fail(f"{where}, 'verdict' counts a difference larger than one standard error; the "
                     "chapter's rule is stricter.", tag="fair_verdict_one_se")
            if verdict in (a, b) and want["verdict"] in (a, b):
                fail(f"{where}, 'verdict' names the method that is behind.", tag="fair_verdict_reversed")
            fail(f"{where}, 'verdict' does not follow the chapter's rule from your 'diff' and 'se'.",
                 tag="fair_verdict_wrong")
