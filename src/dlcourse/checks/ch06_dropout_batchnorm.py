"""Student-facing checks for Chapter 6, ``ch06_dropout_batchnorm`` (dropout and batch normalisation).

Each check raises ``AssertionError`` with a message that names the mistake, never the answer.
Checks test properties on their own inputs, so a hard-coded answer does not pass them. The
reference computations are plain NumPy; only the model checks import Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._common import check_finite, check_implemented, fail, predict_or_fail
from ._models import activation_name, check_dense_stack, ordinal


# ----------------------------------------------------------------------------- references
def reference_dropout(x, rate: float, u, training: bool = True, inverted: bool = True) -> np.ndarray:
    """Dropout with given uniform numbers ``u``: zero where ``u < rate``.

    Inverted (Keras's): divide the kept values by ``1 - rate`` in training; identity at inference.
    Original (Srivastava et al.): keep the kept values as they are in training; multiply every value by
    ``1 - rate`` at inference.
    """
    x = np.asarray(x, dtype=float)
    if not training:
        return x * (1.0 if inverted else 1 - rate)
    kept = np.where(np.asarray(u) >= rate, x, 0.0)
    return kept / (1 - rate) if inverted else kept


def reference_batchnorm_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    """Batch normalisation in training mode: (output, new moving mean, new moving variance).

    ``x`` has the units on its last axis, ``(m, units)`` or ``(m, steps, units)``; each unit's statistics are
    taken over every other axis, as Keras's ``BatchNormalization()`` (``axis=-1``) does.
    """
    x = np.asarray(x, dtype=float)
    axes = tuple(range(x.ndim - 1))
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    out = np.asarray(gamma) * (x - mu) / np.sqrt(var + epsilon) + np.asarray(beta)
    new_mean = momentum * np.asarray(moving_mean, dtype=float) + (1 - momentum) * mu
    new_var = momentum * np.asarray(moving_var, dtype=float) + (1 - momentum) * var
    return out, new_mean, new_var


def reference_bn_affine(gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    """Batch normalisation at inference as ``scale * x + shift``: (scale, shift)."""
    scale = np.asarray(gamma, dtype=float) / np.sqrt(np.asarray(moving_var, dtype=float) + epsilon)
    return scale, np.asarray(beta, dtype=float) - scale * np.asarray(moving_mean, dtype=float)


def reference_moving_mean_after(k: int, batch_mean: float, momentum: float = 0.99, start: float = 0.0) -> float:
    """Moving mean after ``k`` steps on batches that all have mean ``batch_mean``."""
    return float(batch_mean + (start - batch_mean) * momentum**k)


def reference_bn_network_params(input_dim: int, hidden_units: Sequence[int], outputs: int,
                                 use_bias: bool = True) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) parameters of Dense -> BN -> ReLU -> Dropout blocks and a Dense output."""
    trainable = non_trainable = 0
    previous = input_dim
    for units in hidden_units:
        trainable += previous * units + (units if use_bias else 0) + 2 * units
        non_trainable += 2 * units
        previous = units
    trainable += (previous + 1) * outputs
    return trainable + non_trainable, trainable, non_trainable


# ----------------------------------------------------------------------------- question 1
_Q1_X = np.array([[1.0, -2.0, 3.0, 4.0], [0.5, 6.0, -1.0, 2.0], [3.0, 3.0, -4.0, 1.5]])
_Q1_U = np.array([[0.10, 0.80, 0.35, 0.60], [0.05, 0.45, 0.90, 0.20], [0.70, 0.15, 0.55, 0.30]])


def _array_result(value: Any, shape: tuple, what: str) -> np.ndarray:
    __tracebackhide__ = True
    if value is None:
        fail(f"{what} returned None: did you forget `return`?", tag="returned_none")
    array = check_finite(value, f"What {what} returned")
    if array.shape != shape:
        fail(f"{what} returned an array of shape {array.shape}; it should have the shape of x, {shape}.", tag="result_shape")
    return array


def check_dropout(dropout_fn: Callable, x=None, u=None, rate: float = 0.25) -> None:
    """Question 1: inverted dropout (and the original, non-inverted one) with a given array of uniform
    numbers ``u``; called as ``dropout_fn(x, rate, u, training, inverted)``."""
    __tracebackhide__ = True
    x = _Q1_X if x is None else np.asarray(x, dtype=float)
    u = _Q1_U if u is None else np.asarray(u, dtype=float)
    what = "`dropout`"
    try:
        first = check_implemented(dropout_fn, what, x.copy(), rate, u.copy(), True, True)
    except TypeError as error:
        first, problem = None, str(error)
    else:
        problem = ""
    if problem:
        fail(f"Calling `dropout(x, rate, u, True, True)` raised a TypeError ({problem}). Does your function "
             "take the five arguments of the question, `inverted` last?", tag="dropout_signature")
    got = _array_result(first, x.shape, what)
    want = reference_dropout(x, rate, u)
    keep = u >= rate
    if not np.allclose(got, want):
        if np.allclose(got, np.where(keep, x, 0.0)):
            fail("`dropout` zeroes the right values but does not rescale the ones it keeps: the mean of the "
                 "layer's output would shrink during training.", tag="dropout_no_rescale")
        if np.allclose(got, np.where(~keep, x / (1 - rate), 0.0)) or np.allclose(got, np.where(~keep, x / rate, 0.0)) \
                or np.allclose(got, np.where(~keep, x, 0.0)):
            fail("`dropout` keeps the values it should drop: a value is dropped where u < rate, "
                 "so `rate` is the probability of dropping, not of keeping.", tag="dropout_keeps_dropped")
        if np.allclose(got, np.where(keep, x / rate, 0.0)):
            fail("`dropout` rescales the kept values by the wrong factor (it divides by the drop rate): "
                 "the rescaling must keep each value's expected size unchanged.", tag="dropout_divides_by_rate")
        if np.allclose(got, np.where(keep, x * (1 - rate), 0.0)):
            fail("`dropout` multiplies the kept values where it should make up for the dropped ones: "
                 "the expected value of each output must equal its input.", tag="dropout_multiplies")
        if np.count_nonzero(got == 0) != np.count_nonzero(~keep) or np.any(got[~keep] != 0):
            fail("`dropout` does not zero exactly the values where u < rate; use the given `u`, "
                 "not new random numbers.", tag="dropout_new_random")
        fail("`dropout` returns the wrong values for the kept entries.", tag="dropout_kept_wrong")
    got = _array_result(check_implemented(dropout_fn, what, x.copy(), rate, u.copy(), False, True), x.shape,
                        f"{what}(..., training=False)")
    if not np.allclose(got, x):
        fail("With training=False, `dropout` changes its input: at prediction time inverted dropout must do "
             "nothing (and no rescaling either, because the training outputs were already rescaled).",
             tag="dropout_at_inference")
    # the original dropout (inverted=False)
    what_original = "`dropout(..., inverted=False)`"
    got = _array_result(check_implemented(dropout_fn, what, x.copy(), rate, u.copy(), True, False), x.shape,
                        what_original)
    if not np.allclose(got, reference_dropout(x, rate, u, True, False)):
        if np.allclose(got, want):
            fail(f"{what_original} in training mode gives what inverted dropout gives: it rescales the "
                 "kept values. Does your function use its argument `inverted`?", tag="original_rescales")
        if np.count_nonzero(got == 0) != np.count_nonzero(~keep) or np.any(got[~keep] != 0):
            fail(f"{what_original} in training mode does not zero exactly the values where u < rate; it "
                 "drops the same values as inverted dropout.", tag="original_drops_wrong")
        fail(f"{what_original} in training mode changes the kept values; the original dropout leaves "
             "them as they are during training.", tag="original_kept_changed")
    got = _array_result(check_implemented(dropout_fn, what, x.copy(), rate, u.copy(), False, False), x.shape,
                        "`dropout(..., training=False, inverted=False)`")
    if not np.allclose(got, reference_dropout(x, rate, u, False, False)):
        if np.allclose(got, x):
            fail("`dropout(..., training=False, inverted=False)` returns its input unchanged: then the next "
                 "layer sees larger inputs on average at prediction time than it saw in training, where "
                 "a share `rate` of them was zero.", tag="original_inference_unchanged")
        if np.allclose(got, x / (1 - rate)):
            fail("`dropout(..., training=False, inverted=False)` scales its input up; compare the mean of a "
                 "training output with its input, and correct in the other direction.",
                 tag="original_inference_up")
        fail("`dropout(..., training=False, inverted=False)` is wrong: at inference nothing is dropped, and the "
             "output must have, for every value, the mean that training gave it.", tag="original_inference_wrong")


# ----------------------------------------------------------------------------- question 2
def _q2_example():
    rng = np.random.default_rng(11)
    x = rng.normal([5.0, -1.0, 0.0], [2.0, 0.5, 3.0], size=(6, 3))
    return x, np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, 1.0]), \
        np.array([1.0, 2.0, 4.0])


def _q2_sequence_example():
    """A batch of 4 sequences of 5 steps with 3 units each: shape (4, 5, 3), the units last."""
    rng = np.random.default_rng(12)
    x = rng.normal([2.0, -3.0, 0.5], [1.0, 4.0, 0.3], size=(4, 5, 3))
    return x, np.array([0.5, 1.5, 2.0]), np.array([1.0, 0.0, -0.5]), np.array([0.0, -1.0, 0.2]), \
        np.array([2.0, 1.0, 0.5])


def check_batchnorm_train(bn_fn: Callable, x=None, gamma=None, beta=None, moving_mean=None,
                          moving_var=None, momentum: float = 0.9, epsilon: float = 0.01) -> None:
    """Question 2: batch normalisation in training mode, with the update of the moving averages.

    Without ``x`` it checks its own two batches: a matrix ``(m, units)`` and a batch of sequences
    ``(m, steps, units)``.
    """
    __tracebackhide__ = True
    if x is None:
        for example in (_q2_example(), _q2_sequence_example()):
            check_batchnorm_train(bn_fn, *example, momentum=momentum, epsilon=epsilon)
        return
    x = np.asarray(x, dtype=float)
    args = [np.asarray(a, dtype=float).copy() for a in (x, gamma, beta, moving_mean, moving_var)]
    result = check_implemented(bn_fn, "`batchnorm_train`", *args, momentum, epsilon)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail("`batchnorm_train` should return a tuple of three arrays: "
             "(output, new_moving_mean, new_moving_var).", tag="bn_train_not_triple")
    out = _array_result(result[0], x.shape, "`batchnorm_train` (the output)")
    units = (x.shape[-1],)
    axes = tuple(range(x.ndim - 1))
    if x.ndim > 2:
        g, b = np.asarray(gamma, dtype=float), np.asarray(beta, dtype=float)
        per_step = g * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon) + b
        if np.allclose(out, per_step, atol=1e-6):
            fail(f"For a batch of shape {x.shape} the output standardises each (step, unit) pair over the "
                 "examples only. A unit has one mean and one variance: which values of the batch belong to "
                 "one unit?", tag="bn_stats_first_axis_only")
    new_mean = check_finite(result[1], "new_moving_mean")
    new_var = check_finite(result[2], "new_moving_var")
    for value, name in ((new_mean, "new_moving_mean"), (new_var, "new_moving_var")):
        if value.shape != units:
            fail(f"{name} has shape {value.shape}; it should have one value per unit, shape {units}.", tag="bn_train_stat_shape")
    want_out, want_mean, want_var = reference_batchnorm_train(x, gamma, beta, moving_mean, moving_var,
                                                              momentum, epsilon)
    gamma, beta = np.asarray(gamma, dtype=float), np.asarray(beta, dtype=float)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    if not np.allclose(out, want_out, atol=1e-6):
        rows = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + epsilon)
        if np.allclose(out, gamma * rows + beta, atol=1e-6):
            fail("The output standardises each example (row); batch normalisation standardises each unit "
                 "(column) over the examples of the batch.", tag="bn_per_example")
        if np.allclose(out, gamma * (x - mu) / np.sqrt(x.var(axis=axes, ddof=1) + epsilon) + beta, atol=1e-6):
            fail("The output uses the sample variance (dividing by m - 1); batch normalisation, like "
                 "np.var, divides by the batch size m.", tag="bn_sample_variance")
        if np.allclose(out, gamma * (x - mu) / np.sqrt(var) + beta, atol=1e-6):
            fail("The output ignores epsilon.", tag="bn_no_epsilon")
        if np.allclose(out, (x - mu) / np.sqrt(var + epsilon), atol=1e-6):
            fail("The output is standardised but not scaled by gamma and shifted by beta.", tag="bn_no_gamma_beta")
        if np.allclose(out, gamma * (x - moving_mean) / np.sqrt(np.asarray(moving_var) + epsilon) + beta,
                       atol=1e-6):
            fail("The output uses the moving averages; in training mode batch normalisation uses the "
                 "statistics of the batch itself.", tag="bn_uses_moving")
        if np.allclose(out, gamma * (x - mu) / (var + epsilon) + beta, atol=1e-6):
            fail("The output divides by the variance; standardising divides by a standard deviation.", tag="bn_divides_by_variance")
        fail("The output of `batchnorm_train` is not right.", tag="bn_output_wrong")
    if not np.allclose(new_mean, want_mean, atol=1e-6) or not np.allclose(new_var, want_var, atol=1e-6):
        swapped_mean = (1 - momentum) * np.asarray(moving_mean) + momentum * mu
        if np.allclose(new_mean, swapped_mean, atol=1e-6):
            fail("The moving averages weigh the new batch with `momentum` and the old value with "
                 "1 - momentum; it is the other way round: momentum is how much of the old value is kept.", tag="bn_momentum_swapped")
        if np.allclose(new_mean, mu) and np.allclose(new_var, var):
            fail("The moving averages jump to the batch's statistics; they should move only a little "
                 "towards them.", tag="bn_moving_jumps")
        if np.allclose(new_mean, want_mean, atol=1e-6) and np.allclose(
                new_var, momentum * np.asarray(moving_var) + (1 - momentum) * np.sqrt(var), atol=1e-6):
            fail("new_moving_var averages the batch's standard deviation; it should average the variance.", tag="bn_moving_var_of_std")
        if np.allclose(new_mean, want_mean, atol=1e-6):
            fail("new_moving_mean is right but new_moving_var is not.", tag="bn_moving_var_wrong")
        fail("new_moving_mean is not right.", tag="bn_moving_mean_wrong")


# ----------------------------------------------------------------------------- question 3
def check_bn_affine(affine_fn: Callable, gamma=None, beta=None, moving_mean=None, moving_var=None,
                    epsilon: float = 0.01) -> None:
    """Question 3: batch normalisation at inference as a scale and a shift per unit."""
    __tracebackhide__ = True
    if gamma is None:
        gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, -2.0, 0.5])
        moving_mean, moving_var = np.array([3.0, -1.0, 0.5, 2.0]), np.array([4.0, 0.25, 1.0, 9.0])
    args = [np.asarray(a, dtype=float) for a in (gamma, beta, moving_mean, moving_var)]
    result = check_implemented(affine_fn, "`bn_affine`", *[a.copy() for a in args], epsilon)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail("`bn_affine` should return a tuple of two arrays: (scale, shift).", tag="affine_not_pair")
    units = args[0].shape
    scale, shift = (check_finite(r, name) for r, name in zip(result, ("scale", "shift")))
    for value, name in ((scale, "scale"), (shift, "shift")):
        if value.shape != units:
            fail(f"{name} has shape {value.shape}; it should have one value per unit, shape {units}.", tag="affine_shape")
    gamma, beta, mean, var = args
    want_scale, want_shift = reference_bn_affine(gamma, beta, mean, var, epsilon)
    if not np.allclose(scale, want_scale, atol=1e-7):
        if np.allclose(scale, gamma / np.sqrt(var), atol=1e-7):
            fail("scale ignores epsilon.", tag="affine_scale_no_epsilon")
        if np.allclose(scale, gamma / (var + epsilon), atol=1e-7):
            fail("scale divides by the variance; standardising divides by a standard deviation.", tag="affine_scale_variance")
        if np.allclose(scale, 1 / np.sqrt(var + epsilon), atol=1e-7):
            fail("scale forgets gamma.", tag="affine_scale_no_gamma")
        fail("scale is not right: scale * x + shift should give the layer's output in inference mode.", tag="affine_scale_wrong")
    if not np.allclose(shift, want_shift, atol=1e-7):
        if np.allclose(shift, beta + want_scale * mean, atol=1e-7):
            fail("shift has the wrong sign for the mean: the moving mean is subtracted before scaling.", tag="affine_shift_sign")
        if np.allclose(shift, beta - mean, atol=1e-7) or np.allclose(shift, beta - gamma * mean, atol=1e-7):
            fail("shift subtracts the mean without scaling it like x.", tag="affine_shift_unscaled")
        if np.allclose(shift, -want_scale * mean, atol=1e-7):
            fail("shift forgets beta.", tag="affine_shift_no_beta")
        fail("shift is not right: scale * x + shift should give the layer's output in inference mode.", tag="affine_shift_wrong")


# ----------------------------------------------------------------------------- question 4
def check_moving_mean_after(fn: Callable, cases=None) -> None:
    """Question 4: the moving mean after k steps on batches with the same mean."""
    __tracebackhide__ = True
    if cases is None:
        cases = [(1, 4.0, 0.9, 0.0), (10, 4.0, 0.9, 0.0), (50, -2.0, 0.95, 1.0), (0, 3.0, 0.99, 0.5)]
    for k, batch_mean, momentum, start in cases:
        value = check_implemented(fn, "`moving_mean_after`", k, batch_mean, momentum, start)
        if value is None:
            fail("`moving_mean_after` returned None: did you forget `return`?", tag="moving_mean_none")
        value = float(check_finite(value, "What `moving_mean_after` returned").reshape(-1)[0]) \
            if np.size(value) == 1 else fail("`moving_mean_after` should return one number.", tag="moving_mean_not_number")
        want = reference_moving_mean_after(k, batch_mean, momentum, start)
        if np.isclose(value, want, rtol=1e-6, atol=1e-9):
            continue
        call = f"moving_mean_after({k}, {batch_mean}, momentum={momentum}, start={start})"
        if np.isclose(value, reference_moving_mean_after(k, batch_mean, 1 - momentum, start)):
            fail(f"{call} is {value:.6g}: momentum and 1 - momentum are swapped; momentum is the "
                 "weight of the old value.", tag="moving_mean_momentum_swapped")
        if k > 0 and (np.isclose(value, reference_moving_mean_after(k - 1, batch_mean, momentum, start))
                      or np.isclose(value, reference_moving_mean_after(k + 1, batch_mean, momentum, start))):
            fail(f"{call} is {value:.6g}, one step off: after k = 0 steps the moving mean is still `start`.", tag="moving_mean_off_by_one")
        if np.isclose(value, reference_moving_mean_after(k, batch_mean, momentum, 0.0)):
            fail(f"{call} is {value:.6g}: the moving mean does not start at `start`.", tag="moving_mean_start_ignored")
        fail(f"{call} is {value:.6g}, which is not right.", tag="moving_mean_wrong")


# ----------------------------------------------------------------------------- question 5
def check_bn_network_params(fn: Callable, cases=None) -> None:
    """Question 5: (total, trainable, non-trainable) parameters of a network with batch normalisation."""
    __tracebackhide__ = True
    if cases is None:
        cases = [(11, [64], 1, True), (8, [16, 4], 3, True), (8, [16, 4], 3, False)]
    for input_dim, hidden, outputs, use_bias in cases:
        call = f"count_bn_network({input_dim}, {hidden}, {outputs}, use_bias={use_bias})"
        result = check_implemented(fn, "`count_bn_network`", input_dim, list(hidden), outputs, use_bias)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            fail("`count_bn_network` should return three whole numbers: (total, trainable, non_trainable).", tag="count_not_triple")
        try:
            got = tuple(int(v) for v in result)
        except (TypeError, ValueError):
            fail(f"{call} should return three whole numbers, not {result!r:.80}.", tag="count_not_three_ints")
        if any(int(v) != v for v in result):
            fail(f"{call} should return whole numbers, not {result!r:.80}.", tag="count_not_ints")
        total, trainable, non_trainable = want = reference_bn_network_params(input_dim, hidden, outputs, use_bias)
        if got == want:
            continue
        if got[0] != got[1] + got[2]:
            fail(f"{call} returns a total of {got[0]}, which is not trainable + non-trainable "
                 f"({got[1]} + {got[2]}).", tag="count_total_mismatch")
        bn = 4 * sum(hidden)
        if got[0] == total - bn // 2 and got[2] == 0:
            fail(f"{call}: you count two parameters per batch-normalised unit; the moving mean and moving "
                 "variance are parameters too (non-trainable ones).", tag="count_bn_two_per_unit")
        if got[0] == total - bn:
            fail(f"{call}: the batch normalisation layers' parameters are missing.", tag="count_bn_missing")
        if got[2] != non_trainable and got[0] == total:
            fail(f"{call}: the total is right but the split into trainable and non-trainable is not; "
                 "which of a BatchNormalization layer's four parameters per unit does gradient descent train?", tag="count_split_wrong")
        if not use_bias and got[0] == reference_bn_network_params(input_dim, hidden, outputs, True)[0]:
            fail(f"{call}: with use_bias=False the hidden Dense layers have no biases.", tag="count_biases_with_bn")
        if use_bias and got[0] == reference_bn_network_params(input_dim, hidden, outputs, False)[0] - outputs:
            fail(f"{call}: the Dense layers' biases are missing.", tag="count_biases_missing")
        fail(f"{call} returns {got}, which is not right.", tag="count_wrong")


# ----------------------------------------------------------------------------- question 6
def check_spec_model(model: Any, input_dim: int = 11, units: Sequence[int] = (64, 32), rate: float = 0.25,
                     what: str = "`model`") -> None:
    """Question 6: hidden blocks Dense -> BatchNormalization -> ReLU -> Dropout(rate), then Dense(1).

    The ReLU may be the Dense layer's activation (Dense(relu) -> BN -> Dropout) or an Activation
    layer right after the BatchNormalization layer (Dense -> BN -> Activation(relu) -> Dropout).
    """
    __tracebackhide__ = True
    import keras

    dense = check_dense_stack(model, input_dim, list(units) + [1], [...] * len(units) + ["linear"],
                              ignore=("Dropout", "BatchNormalization", "Activation", "ReLU"), what=what)
    layers = list(model.layers)
    for i, layer in enumerate(dense):
        start = layers.index(layer)
        stop = layers.index(dense[i + 1]) if i + 1 < len(dense) else len(layers)
        block = layers[start + 1:stop]
        kinds = [type(b).__name__ for b in block]
        if i == len(dense) - 1:
            if block:
                fail(f"Your model has a {kinds[0]} layer after the output layer; the output is the last layer.", tag="spec_layer_after_output")
            continue
        name = f"{ordinal(i)} hidden Dense layer"
        if kinds.count("BatchNormalization") != 1:
            fail(f"Your {name} is followed by {kinds.count('BatchNormalization')} BatchNormalization layers; "
                 "the specification asks for exactly one per hidden layer.", tag="spec_bn_count")
        if kinds.count("Dropout") != 1:
            fail(f"Your {name} is followed by {kinds.count('Dropout')} Dropout layers; the specification asks "
                 "for exactly one per hidden layer.", tag="spec_dropout_count")
        if kinds[0] != "BatchNormalization":
            fail(f"Your {name} is followed by a {kinds[0]} layer; the specification puts BatchNormalization "
                 "directly after each hidden Dense layer.", tag="spec_bn_not_first")
        drop = block[kinds.index("Dropout")]
        if not np.isclose(float(drop.rate), rate):
            fail(f"The Dropout after your {name} has rate {drop.rate}; the specification asks for {rate}.", tag="spec_dropout_rate")
        if kinds[-1] != "Dropout":
            fail(f"Your {name}'s block ends with a {kinds[-1]} layer; the specification puts Dropout last, "
                 "after the activation.", tag="spec_dropout_not_last")
        in_dense = activation_name(layer)
        extra = [b for b in block if type(b).__name__ in ("Activation", "ReLU")]
        if in_dense not in ("linear", "relu"):
            fail(f"Your {name} uses activation {in_dense!r}; the specification asks for ReLU.", tag="spec_activation_not_relu")
        if in_dense == "relu" and extra:
            fail(f"Your {name} applies ReLU twice (in the Dense layer and in a separate layer).", tag="spec_relu_twice")
        if in_dense == "linear":
            if len(extra) != 1:
                fail(f"Your {name} has no activation: give it ReLU, in the Dense layer or as an Activation "
                     "layer after its BatchNormalization.", tag="spec_no_activation")
            act = extra[0]
            act_name = "relu" if isinstance(act, keras.layers.ReLU) else activation_name(act)
            if act_name != "relu":
                fail(f"The activation after your {name} is {act_name!r}; the specification asks for ReLU.", tag="spec_activation_layer_not_relu")
            if kinds[:3] != ["BatchNormalization", type(act).__name__, "Dropout"]:
                fail(f"Your {name}'s block is {' -> '.join(kinds)}; the specification asks for "
                     "BatchNormalization, then the activation, then Dropout.", tag="spec_order_bn_act")
        elif kinds != ["BatchNormalization", "Dropout"]:
            fail(f"Your {name}'s block is {' -> '.join(kinds)}; the specification asks for BatchNormalization "
                 "then Dropout after a Dense layer with ReLU.", tag="spec_order_bn_dropout")


def _trainable(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def reference_block_trainable(input_dim: int, hidden_units: Sequence[int]) -> int:
    """Trainable parameters of question 6's network: per block Dense(no bias) + BN's gamma and beta,
    then Dense(1) with a bias."""
    widths = [input_dim] + list(hidden_units)
    return int(sum(a * b + 2 * b for a, b in zip(widths, widths[1:])) + widths[-1] + 1)


def reference_widest(budget: int, input_dim: int = 11, blocks: int = 2) -> int:
    """The largest width w whose network of ``blocks`` equal blocks has at most ``budget`` trainable parameters."""
    width = 0
    while reference_block_trainable(input_dim, [width + 1] * blocks) <= budget:
        width += 1
    return width


def check_block_network(build: Callable, cases=(([64, 32], 0.25), ([16], 0.5), ([], 0.3))) -> None:
    """Question 6: ``build(hidden_units, rate)`` gives, per width, Dense(width, use_bias=False) ->
    BatchNormalization -> ReLU -> Dropout(rate), then Dense(1) with a bias, for 11 features."""
    __tracebackhide__ = True
    for units, rate in cases:
        model = check_implemented(build, "`build_block_network`", list(units), rate)
        if model is None:
            fail("`build_block_network` returned None: did you forget `return`?", tag="block_none")
        check_spec_model(model, 11, units, rate, what=f"build_block_network({list(units)}, {rate})")
        import keras

        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        for i, layer in enumerate(dense[:-1]):
            name = f"{ordinal(i)} hidden Dense layer of build_block_network({list(units)}, {rate})"
            if activation_name(layer) != "linear":
                fail(f"The {name} applies the ReLU itself, so BatchNormalization normalises the ReLU's output; "
                     "the specification puts the ReLU after BatchNormalization, as a layer of its own.",
                     tag="block_relu_in_dense")
            if layer.use_bias:
                fail(f"The {name} has a bias. BatchNormalization follows it directly: what happens to that "
                     "bias there, and which of its parameters takes its role?", tag="block_dense_bias")
        if not dense[-1].use_bias:
            fail("The output layer of `build_block_network` has no bias; only the Dense layers that "
                 "BatchNormalization follows lose theirs.", tag="block_output_no_bias")


def check_widest(widest: Any, build: Callable | None = None, budget: int = 10_000, rate: float = 0.3) -> None:
    """Question 6: the largest width w such that two blocks of width w stay within ``budget`` trainable
    parameters; with ``build``, the student's own networks are counted too."""
    __tracebackhide__ = True
    if widest is None:
        fail("`widest` is still None.", tag="widest_none")
    if isinstance(widest, bool) or not isinstance(widest, (int, np.integer)):
        fail(f"`widest` should be a whole number (an int), not a {type(widest).__name__}.", tag="widest_not_int")
    w = int(widest)
    count = reference_block_trainable(11, [w, w])
    if count > budget:
        fail(f"With two blocks of width {w} the network has more than {budget:,} trainable parameters: "
             "`widest` is too large. Which of the parameters of a block does gradient descent train?",
             tag="widest_too_large")
    if reference_block_trainable(11, [w + 1, w + 1]) <= budget:
        fail(f"Two blocks of width {w + 1} would still stay within {budget:,} trainable parameters: "
             "`widest` is too small. Did you count parameters that are not trained, or a bias that the "
             "blocks do not have?", tag="widest_too_small")
    if build is not None:
        for width in (w, w + 1):
            model = check_implemented(build, "`build_block_network`", [width, width], rate)
            fits = _trainable(model) <= budget
            if fits != (width == w):
                fail(f"build_block_network([{width}, {width}], {rate}) has {_trainable(model):,} trainable "
                     "parameters, which does not agree with the network the question specifies.",
                     tag="widest_build_disagrees")


# ----------------------------------------------------------------------------- question 8
def dropout_histories(seed: int = 8, num_epochs: int = 40):
    """Question 8's runs: two networks on the wines, without dropout and with Dropout(0.5).

    Synthetic curves, made to look like such runs: per epoch, the history's ``loss`` (the mean of the
    batch losses in training mode), ``val_loss`` and ``train_evaluated`` (the training MSE that a
    callback measured with ``model.evaluate`` at the end of the epoch). A pandas DataFrame indexed by
    (network, epoch).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    epoch = np.arange(1, num_epochs + 1)
    frames = {}
    # network: (evaluated training floor, its time constant, validation floor, validation rise per epoch,
    #           extra of the training-mode loss over the evaluated one)
    for name, (train_floor, tau, val_floor, rise, extra) in {
        "no dropout": (0.10, 14.0, 0.445, 0.0012, 0.01),
        "Dropout(0.5)": (0.355, 10.0, 0.445, 0.0, 0.21),
    }.items():
        evaluated = train_floor + (0.62 - train_floor) * np.exp(-(epoch - 1) / tau)
        val = val_floor + 0.2 * np.exp(-(epoch - 1) / 3) + rise * np.maximum(epoch - 8, 0)
        loss = evaluated + extra + 0.25 * np.exp(-(epoch - 1) / 1.5)   # early epochs: weights still moving
        frames[name] = pd.DataFrame({
            "loss": np.round(loss + rng.normal(0, 0.006, num_epochs), 3),
            "val_loss": np.round(val + rng.normal(0, 0.006, num_epochs), 3),
            "train_evaluated": np.round(evaluated + rng.normal(0, 0.004, num_epochs), 3),
        }, index=pd.Index(epoch, name="epoch"))
    return pd.concat(frames, names=["network"])


# ----------------------------------------------------------------------------- question 7
def check_rescue(model: Any, history: Any, X, y, threshold: float = 0.55, max_epochs: int = 30,
                 what: str = "validation") -> None:
    """Question 7: SGD(0.01) on unscaled inputs, rescued by batch normalisation, beats ``threshold``."""
    __tracebackhide__ = True
    import keras

    if model is None:
        fail("`model` is still None: build the network, train it and assign it to `model`.", tag="rescue_model_none")
    if not isinstance(model, keras.Model):
        fail(f"`model` should be a Keras model, but it is a {type(model).__name__}.", tag="rescue_not_model")
    kinds = [type(layer).__name__ for layer in model.layers]
    if "BatchNormalization" not in kinds:
        fail("`model` has no BatchNormalization layer; this question is about what batch normalisation does.", tag="rescue_no_bn")
    for banned in ("Normalization", "Rescaling", "Lambda"):
        if banned in kinds:
            fail(f"`model` contains a {banned} layer; let BatchNormalization do the rescaling.", tag="rescue_banned_layer")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or type(optimizer).__name__ != "SGD":
        fail(f"`model` is compiled with {type(optimizer).__name__}; the question asks for plain "
             "keras.optimizers.SGD(learning_rate=0.01).", tag="rescue_optimizer")
    config = optimizer.get_config()
    if not np.isclose(float(config["learning_rate"]), 0.01) or float(config.get("momentum", 0.0)) != 0.0:
        fail("The optimiser should be SGD with learning_rate=0.01 and no momentum.", tag="rescue_sgd_settings")
    if history is None:
        fail("`history` is still None: store what `model.fit(...)` returns in it.", tag="rescue_history_none")
    values = getattr(history, "history", history)
    if not isinstance(values, dict) or "loss" not in values:
        fail(f"`history` should be what `model.fit` returns, not a {type(history).__name__}.", tag="rescue_history_not_history")
    if len(values["loss"]) > max_epochs:
        fail(f"Your model trained for {len(values['loss'])} epochs; the budget is at most {max_epochs}.", tag="rescue_epochs_over_budget")
    if not np.all(np.isfinite(values["loss"])):
        fail("The training loss in `history` contains NaN or infinity: training diverged.", tag="rescue_diverged")
    y = np.asarray(y, dtype=float)
    predictions = predict_or_fail(model, X, "`model.predict` failed on the unscaled wines")
    if predictions.shape not in {(len(y),), (len(y), 1)}:
        fail(f"Your model outputs shape {predictions.shape} for {len(y)} wines; it should output one number each.", tag="rescue_output_shape")
    predictions = check_finite(predictions.reshape(-1), "The model's predictions")
    mse = float(np.mean((predictions - y) ** 2))
    if mse >= threshold:
        fail(f"Your model's {what} MSE on the unscaled wines is {mse:.3f}; the target is below {threshold}. "
             "Did you feed the model the unscaled features, train in training mode, and give batch "
             "normalisation a chance to see the raw features?", tag="rescue_mse_high")
