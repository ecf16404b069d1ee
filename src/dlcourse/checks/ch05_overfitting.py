"""Student-facing checks for Chapter 5, ``ch05_overfitting`` (overfitting and regularisation).

Each check raises ``AssertionError`` with a message that names the mistake without giving the
answer. Checks test properties on their own inputs, so that a hard-coded answer does not pass
them. The reference computations are plain NumPy; the checks of Keras models import Keras only
when they are called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._common import call_for_number, check_finite, check_implemented, fail
from ._models import check_dense_stack, ordinal

#: The labels of question 1.
LABELS = ("underfitting", "overfitting", "good fit")
_ALIASES = {"underfit": "underfitting", "overfit": "overfitting", "good": "good fit", "goodfit": "good fit",
            "good_fit": "good fit", "good-fit": "good fit"}


# ----------------------------------------------------------------------------- data
def wine_split():
    """The exercise notebook's red-wine data: ``X_train, y_train, X_val, y_val, X_test, y_test``.

    The course's one split, :func:`dlcourse.data.split_red_wine` (duplicate wines removed; 951
    training, 204 validation and 204 test wines), standardised with the training part's mean and
    standard deviation. The test wines are held out: the notebook never uses them, the hidden tests
    score on them.
    """
    from dlcourse.data import split_red_wine

    parts = split_red_wine().arrays()
    return tuple(parts[f"{a}_{part}"] for part in ("train", "val", "test") for a in ("X", "y"))


def held_out_wines():
    """``(X_test, y_test)``: the wines that the exercise notebook never trains or validates on."""
    return wine_split()[4:]


# ----------------------------------------------------------------------------- question 7
def error_table(seed: int = 7):
    """Question 7's table: training and validation MSE of three models at three training-set sizes.

    Synthetic numbers, made to look like runs on another noisy regression task whose validation MSE
    of predicting the mean is 1.00: each model's error on new data is a noise level plus an
    approximation error that falls with capacity plus an estimation error that grows with capacity
    and shrinks like 1/n; its training error is below the noise by an amount that also shrinks like
    1/n (least squares' sigma^2 (1 - p/n)). A pandas DataFrame with the columns ``model``,
    ``training examples``, ``train MSE`` and ``val MSE``.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    noise = 0.35
    # model: (approximation error, estimation factor on new data, overfit factor on training data)
    models = {"linear": (0.27, 12.0, 9.0), "1 x 64": (0.05, 40.0, 60.0), "3 x 256": (0.02, 120.0, 300.0)}
    rows = []
    for name, (approximation, estimation, fitted) in models.items():
        for n in (250, 1000, 4000):
            floor = noise + approximation
            train = max(0.02, floor - fitted / n) + rng.normal(0, 0.004)
            val = floor + estimation / n + rng.normal(0, 0.004)
            rows.append({"model": name, "training examples": n, "train MSE": round(float(train), 2),
                         "val MSE": round(float(val), 2)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- question 1
def make_runs(seed: int = 5, num_epochs: int = 60) -> dict:
    """The three training runs plotted in question 1 as ``{name: {"loss": [...], "val_loss": [...]}}``."""
    rng = np.random.default_rng(seed)
    epoch = np.arange(1, num_epochs + 1)

    def noisy(curve):
        return [round(float(v), 4) for v in curve + rng.normal(0, 0.006, num_epochs)]

    return {
        "A": {"loss": noisy(0.06 + 0.62 * np.exp(-epoch / 9)),
              "val_loss": noisy(0.43 + 0.35 * np.exp(-epoch / 4) + 0.0035 * np.maximum(epoch - 12, 0))},
        "B": {"loss": noisy(0.60 + 0.35 * np.exp(-epoch / 3)),
              "val_loss": noisy(0.615 + 0.33 * np.exp(-epoch / 3))},
        "C": {"loss": noisy(0.37 + 0.55 * np.exp(-epoch / 5)),
              "val_loss": noisy(0.415 + 0.5 * np.exp(-epoch / 5))},
    }


#: The thresholds of question 1, as fractions of the baseline MSE (the question states them).
TURNED_UP, GAP, NOT_BELOW_BASELINE, LAST_EPOCHS = 0.10, 0.25, 0.85, 5


def reference_diagnosis(run: Mapping, baseline: float) -> str:
    """'overfitting', 'underfitting' or 'good fit' for one run, given the MSE of predicting the mean.

    Overfitting: averaged over the last epochs, the validation loss ends more than 10 % of the baseline
    above its minimum, and more than 25 % of the baseline above the training loss. Underfitting,
    otherwise: the validation loss never gets below 85 % of the baseline.
    """
    loss, val_loss = np.asarray(run["loss"], float), np.asarray(run["val_loss"], float)
    val_end, train_end = val_loss[-LAST_EPOCHS:].mean(), loss[-LAST_EPOCHS:].mean()
    if val_end - val_loss.min() > TURNED_UP * baseline and val_end - train_end > GAP * baseline:
        return "overfitting"
    if val_loss.min() > NOT_BELOW_BASELINE * baseline:
        return "underfitting"
    return "good fit"


def make_history(kind: str, seed: int = 0, num_epochs: int = 60, baseline: float = 0.6,
                 noise: float = 0.01) -> dict:
    """A history ``{"loss": [...], "val_loss": [...]}`` of the given kind, far from the question's thresholds.

    ``kind`` is one of "overfitting", "underfitting", "good fit" or "noisy good fit" (a good fit whose
    validation loss wobbles by several times ``noise`` from epoch to epoch). Losses scale with
    ``baseline``; ``noise`` is a fraction of it.

    Two more kinds test the smoothing rule (the mean of the last 5 epochs): "spiked good fit", a good fit
    whose last validation loss jumps up for one epoch, and "dipped overfitting", an overfitting run whose
    last validation loss drops back near its minimum for one epoch. Read from the last epoch alone, the
    first looks like overfitting and the second does not; read from the last 5 epochs, they keep their kind.
    """
    if kind in ("spiked good fit", "dipped overfitting"):
        base = make_history(kind.split(" ", 1)[1], seed=seed, num_epochs=num_epochs, baseline=1.0,
                            noise=noise / 2)
        train, val = np.asarray(base["loss"]), np.asarray(base["val_loss"])
        if kind == "spiked good fit":
            # one epoch 0.25 above the level of the last epochs: +0.05 on their mean
            val[-1] = np.mean(val[-5:-1]) + 0.25
        else:
            # one epoch 0.04 above the minimum: still 0.3 or more on the mean of the last epochs
            val[-1] = val.min() + 0.04
        return {"loss": [round(float(v * baseline), 5) for v in train],
                "val_loss": [round(float(v * baseline), 5) for v in val]}
    rng = np.random.default_rng(seed)
    e = np.arange(1, num_epochs + 1) / num_epochs  # training progress, 0 to 1
    jitter = rng.uniform(0.9, 1.1, size=4)
    if kind == "overfitting":
        start = rng.uniform(0.15, 0.35)
        train = 0.12 * jitter[0] + 1.2 * np.exp(-e * 7 * jitter[1])
        val = 0.7 * jitter[2] + 0.6 * np.exp(-e * 15) + 0.45 * jitter[3] * np.maximum(e - start, 0) / (1 - start)
    elif kind == "underfitting":
        level = rng.uniform(0.93, 1.0)
        train = level - 0.02 + 0.5 * np.exp(-e * 20 * jitter[0])
        val = level + 0.5 * np.exp(-e * 20 * jitter[1])
    elif kind in ("good fit", "noisy good fit"):
        level = rng.uniform(0.55, 0.7)
        train = level - 0.06 * jitter[0] + 0.9 * np.exp(-e * 12 * jitter[1])
        val = level + 0.9 * np.exp(-e * 12 * jitter[1])
        if kind == "noisy good fit":
            noise *= 4
    else:
        raise ValueError(kind)
    curves = {"loss": train + rng.normal(0, noise / 2, num_epochs), "val_loss": val + rng.normal(0, noise, num_epochs)}
    return {name: [round(float(v * baseline), 5) for v in curve] for name, curve in curves.items()}


#: The visible check's own runs: (history, baseline, what a wrong label on it shows). Question 1's
#: plotted runs are among them.
def _diagnosis_cases() -> list:
    runs = make_runs()
    return [
        (runs["A"], 0.6, "its validation loss turns back up while the training loss keeps falling"),
        (runs["B"], 0.6, "its two curves agree, but at the level of the baseline"),
        (runs["C"], 0.6, "its curves level off together, well below the baseline"),
        (make_history("noisy good fit", seed=4), 0.6,
         "its validation loss only wobbles around its lowest value, and the two curves end close together: "
         "one epoch above the minimum is noise, not a trend"),
        (make_history("overfitting", seed=2, num_epochs=40, baseline=0.1), 0.1,
         "its curves are on a small scale (baseline 0.1): measure 'clearly' against the baseline"),
        (make_history("noisy good fit", seed=6, baseline=3.0), 3.0,
         "its curves are on a large scale (baseline 3.0): measure 'clearly' against the baseline"),
        (make_history("underfitting", seed=3, num_epochs=100, baseline=1.5), 1.5,
         "its two curves agree, but at the level of the baseline (1.5 here)"),
        (make_history("spiked good fit", seed=7, num_epochs=50, baseline=0.6), 0.6,
         "its validation loss jumps in the last epoch only. How does the question say to read the end "
         "of a noisy run?"),
        (make_history("dipped overfitting", seed=8, num_epochs=70, baseline=0.8), 0.8,
         "its validation loss rose for many epochs and dips back in the last epoch only. How does the "
         "question say to read the end of a noisy run?"),
    ]


def normalise_label(value: Any) -> Any:
    """A label of question 1 in lower case with single spaces ('Good  fit' -> 'good fit', 'overfit' ->
    'overfitting'); anything that is not a string is returned unchanged."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.strip().lower().split())
    return _ALIASES.get(text, text)


def check_diagnose(fn: Callable, cases: list | None = None) -> None:
    """Question 1: ``diagnose(history, baseline_mse)`` labels any run from its learning curves."""
    __tracebackhide__ = True
    if not callable(fn):
        fail(f"`diagnose` should be a function of a run's history, but it is a {type(fn).__name__}: it must "
             "label any run, not only the three plotted.", tag="diagnose_not_function")
    for history, baseline, why in (_diagnosis_cases() if cases is None else cases):
        got = check_implemented(fn, "`diagnose`", {k: list(v) for k, v in history.items()}, float(baseline))
        if got is None:
            fail("`diagnose` returned None: did you forget `return`?", tag="diagnose_none")
        if not isinstance(got, str) or normalise_label(got) not in LABELS:
            fail(f"`diagnose` returned {got!r:.40}; it should return one of the strings {list(LABELS)}.", tag="diagnose_bad_label")
        want = reference_diagnosis(history, baseline)
        if normalise_label(got) != want:
            n = len(history["val_loss"])
            fail(f"`diagnose` labels a run of {n} epochs {got!r}, which is not right: {why}.", tag="diagnose_wrong")

# ----------------------------------------------------------------------------- question 2
def reference_early_stopping(val_loss, patience: int, min_delta: float = 0.0,
                             start_from_epoch: int = 0) -> tuple[int, int]:
    """``(last_epoch, restored_epoch)``, counted from 1, of Keras's ``EarlyStopping``.

    Replays ``EarlyStopping(monitor="val_loss", min_delta=min_delta, patience=patience,
    restore_best_weights=True, start_from_epoch=start_from_epoch)`` on recorded validation losses:
    the first ``start_from_epoch`` epochs are not watched at all (never an improvement, never counted
    towards the patience, never restored); after them, an epoch improves when its value is below the
    best so far by more than ``min_delta`` (the first watched epoch always does); training stops at
    the end of the epoch that is ``patience`` epochs after the last improvement. ``last_epoch`` is
    the last epoch trained (``len(val_loss)`` when it never stops) and ``restored_epoch`` the last
    improving epoch, whose weights are restored (0 when no epoch was watched).
    """
    best, best_epoch = None, 0
    values = [float(v) for v in val_loss]
    for epoch, value in enumerate(values, start=1):
        if epoch <= start_from_epoch:
            continue
        if best is None or value + abs(min_delta) < best:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(values), best_epoch


def _example_history() -> dict:
    # a sub-min_delta improvement at epoch 7 is the overall minimum; the training loss keeps falling
    val_loss = [1.10, 0.82, 0.70, 0.66, 0.61, 0.63, 0.605, 0.64, 0.62, 0.66, 0.68, 0.70, 0.69, 0.72]
    loss = [1.30 * 0.85**e for e in range(len(val_loss))]
    return {"loss": loss, "val_loss": val_loss}


def _epoch_pair(result: Any, what: str) -> tuple[int, int]:
    __tracebackhide__ = True
    if result is None:
        fail(f"{what} returned None: did you forget `return`?", tag="epochs_none")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"{what} should return a tuple of two epochs, (last_epoch, restored_epoch), "
             f"not {type(result).__name__}.", tag="epochs_not_pair")
    for name, value in zip(("last_epoch", "restored_epoch"), result):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            fail(f"{what}: {name} should be a whole number (an int), not a {type(value).__name__}.", tag="epochs_not_int")
    return int(result[0]), int(result[1])


def _warmup_history() -> dict:
    # the lowest value falls in the first epochs, which a warm-up of 4 epochs does not watch
    val_loss = [0.55, 0.52, 0.60, 0.66, 0.71, 0.63, 0.60, 0.585, 0.59, 0.61, 0.64, 0.66, 0.62, 0.65, 0.68]
    loss = [1.0 * 0.85**e for e in range(len(val_loss))]
    return {"loss": loss, "val_loss": val_loss}


def check_early_stopping_epochs(fn: Callable, history: Mapping | None = None, patience: int = 3,
                                min_delta: float = 0.01, start_from_epoch: int = 0) -> None:
    """Question 2: predict where EarlyStopping(min_delta, patience, restore_best_weights=True,
    start_from_epoch) ends."""
    __tracebackhide__ = True
    what = "`early_stopping_epochs`"
    cases = [(history, patience, min_delta, start_from_epoch)] if history is not None else [
        (_example_history(), 3, 0.01, 0),
        ({"loss": [0.9, 0.7, 0.6, 0.55, 0.5], "val_loss": [1.0, 0.8, 0.7, 0.65, 0.62]}, 2, 0.0, 0),
        (_warmup_history(), 3, 0.01, 4),
    ]
    for hist, pat, delta, start in cases:
        hist = {key: list(value) for key, value in hist.items()}
        got = _epoch_pair(check_implemented(fn, what, hist, pat, delta, start), what)
        want = reference_early_stopping(hist["val_loss"], pat, delta, start)
        if got == want:
            continue
        n = len(hist["val_loss"])
        setting = f"patience={pat}, min_delta={delta}, start_from_epoch={start}"
        if got == (want[0] - 1, want[1] - 1):
            fail(f"{what} returned {got}: both epochs are one too small. Count epochs from 1, as Keras's "
                 "log and history_frame do, not from 0 as Python's positions do.", tag="epochs_from_zero")
        if start and got == reference_early_stopping(hist["val_loss"], pat, delta, 0):
            fail(f"{what} returned {got} for {setting}, what it would be without the warm-up: the "
                 f"first {start} epochs are not watched at all, so they are never an improvement, "
                 "never count towards the patience, and their weights are never restored.",
                 tag="warmup_ignored")
        if start and got[1] <= start:
            fail(f"{what} returned {got} for {setting}: the restored epoch lies in the warm-up, whose "
                 "epochs the callback never watches, so their weights are never kept.",
                 tag="warmup_epoch_restored")
        if start and got[1] == want[1] and got[0] != want[0]:
            fail(f"{what} returned {got} for {setting}: the restored epoch is right but not the last "
                 "one. Does the patience count only the watched epochs after the last improvement?",
                 tag="warmup_patience_counted")
        if "loss" in hist and got == reference_early_stopping(hist["loss"], pat, delta, start):
            fail(f"{what} returned {got}, which is what the *training* loss would give. EarlyStopping "
                 "here monitors the validation loss.", tag="train_curve_read")
        if got == reference_early_stopping(hist["val_loss"], pat, 0.0, start):
            fail(f"{what} returned {got}: an epoch counts as an improvement only if it beats the best "
                 "value so far by more than min_delta.", tag="min_delta_ignored")
        if got[1] == want[1] and got[0] in (want[0] - 1, want[0] + 1):
            fail(f"{what}: the restored epoch is right but training stops one epoch "
                 f"{'too early' if got[0] < want[0] else 'too late'}. Training stops once `patience` "
                 "epochs in a row have brought no improvement.", tag="stop_epoch_off_by_one")
        if got[0] == want[0] and got[1] == int(np.argmin(hist["val_loss"][start:])) + start + 1:
            fail(f"{what}: the last epoch is right, but the weights restored are those of the last epoch "
                 "that counted as an improvement (by more than min_delta), which need not be the lowest value.", tag="restored_epoch_wrong")
        if want[0] == n and got[0] != n:
            fail(f"{what} returned {got}, but in this history the patience never runs out: training then "
                 "runs to the last epoch.", tag="patience_never_runs_out")
        fail(f"{what} returned {got} for {setting}, which is not right.", tag="epochs_wrong")


# ----------------------------------------------------------------------------- question 3
def reference_l2_penalty(weights, lam) -> float:
    """lam * sum(W**2) over every kernel (2-D array) in ``weights``; biases (1-D) are not penalised.

    ``lam`` is one strength for every kernel, or a list with one strength per kernel, in order (0 for a
    layer without a penalty).
    """
    kernels = [np.asarray(w, float) for w in weights if np.ndim(w) == 2]
    lams = [float(lam)] * len(kernels) if np.ndim(lam) == 0 else [float(v) for v in lam]
    if len(lams) != len(kernels):
        raise ValueError(f"{len(lams)} strengths for {len(kernels)} kernels")
    return float(sum(strength * np.sum(kernel**2) for strength, kernel in zip(lams, kernels)))


#: Question 3's cases with one strength per Dense layer (the output layer of question 4 has none).
_PER_LAYER_CASES = ((3, (4, 3, 2, 1), [0.01, 0.0, 0.02]), (4, (3, 5, 1), [0.003, 0.0]))


def _example_weights(seed: int = 3, sizes=(4, 3, 2, 1)) -> list:
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        weights += [rng.normal(0, 0.8, (n_in, n_out)), rng.normal(0, 0.5, n_out)]
    return weights


def check_l2_penalty(fn: Callable, weights=None, lam: float = 0.01) -> None:
    """Question 3: the L2 penalty that Keras adds for weights whose every kernel has L2(lam)."""
    __tracebackhide__ = True
    cases = [(weights, lam)] if weights is not None else [(_example_weights(), 0.01),
                                                          (_example_weights(4, (3, 5, 1)), 0.002)]
    for ws, lam_ in cases:
        ws = [np.array(w, dtype="float32") for w in ws]
        got = call_for_number(fn, "`l2_penalty`", [w.copy() for w in ws], lam_)
        want = reference_l2_penalty(ws, lam_)
        if np.isclose(got, want, rtol=1e-4):
            continue
        kernels = [w.astype(float) for w in ws if w.ndim == 2]
        everything = [w.astype(float) for w in ws]
        if np.isclose(got, lam_ * sum(np.sum(w**2) for w in everything), rtol=1e-4):
            fail("`l2_penalty` also penalises the biases (the 1-D arrays); kernel_regularizer penalises "
                 "only each layer's kernel, its weight matrix.", tag="l2_biases_penalised")
        if np.isclose(got, want / lam_, rtol=1e-4):
            fail("`l2_penalty` does not multiply by the strength `lam`.", tag="l2_no_lam")
        if np.isclose(got, want / 2, rtol=1e-4):
            fail("`l2_penalty` is half of Keras's: Keras's L2 has no factor 1/2.", tag="l2_half")
        if np.isclose(got, lam_ * sum(np.sqrt(np.sum(w**2)) for w in kernels), rtol=1e-4):
            fail("`l2_penalty` uses the length of each kernel; the penalty uses the *squared* weights.", tag="l2_norm_not_squared")
        if np.isclose(got, lam_ * sum(np.mean(w**2) for w in kernels), rtol=1e-4):
            fail("`l2_penalty` averages the squared weights; the penalty sums them.", tag="l2_mean")
        if np.isclose(got, lam_ * sum(np.sum(np.abs(w)) for w in kernels), rtol=1e-4):
            fail("`l2_penalty` sums the absolute weights, which is an L1 penalty, not L2.", tag="l2_is_l1")
        if any(np.isclose(got, lam_ * np.sum(w**2), rtol=1e-4) for w in kernels):
            fail("`l2_penalty` counts only one kernel; every layer's kernel adds its own penalty.", tag="l2_one_kernel")
        fail(f"`l2_penalty` returned {got:.6g} for these weights and lam={lam_}, which is not right.", tag="l2_wrong")
    if weights is None:
        for seed, sizes, lams in _PER_LAYER_CASES:
            check_l2_penalty_per_layer(fn, _example_weights(seed, sizes), lams)


def check_l2_penalty_per_layer(fn: Callable, weights, lams) -> None:
    """Question 3: ``l2_penalty(weights, lams)`` with an array of strengths, one per Dense layer."""
    __tracebackhide__ = True
    ws = [np.array(w, dtype="float32") for w in weights]
    lams = [float(v) for v in lams]
    got = check_implemented(fn, "`l2_penalty`", [w.copy() for w in ws], np.array(lams))
    if got is None:
        fail("`l2_penalty` returned None: did you forget `return`?", tag="no_return")
    if np.size(got) != 1:
        fail(f"With an array of {len(lams)} strengths, `l2_penalty` returned {np.size(got)} numbers instead of one "
             "total. Which kernel does each strength belong to?", tag="strengths_not_paired")
    got = float(np.asarray(check_finite(got, "What `l2_penalty` returned")).reshape(()))
    want = reference_l2_penalty(ws, lams)
    if np.isclose(got, want, rtol=1e-4):
        return
    kernels = [w.astype(float) for w in ws if w.ndim == 2]
    if any(np.isclose(got, lam * sum(np.sum(k**2) for k in kernels), rtol=1e-4) for lam in lams):
        fail(f"For lam={lams}, one strength per Dense layer, `l2_penalty` uses one of them for every kernel; "
             "each layer's kernel has its own.", tag="one_strength_for_all")
    fail(f"`l2_penalty` returned {got:.6g} for lam={lams} (one strength per Dense layer, in order), which is "
         "not right. Which strength belongs to which array of `weights`?", tag="per_layer_strengths_wrong")


# ----------------------------------------------------------------------------- question 4
def _regularisers(layer) -> dict:
    return {kind: getattr(layer, f"{kind}_regularizer", None) for kind in ("kernel", "bias", "activity")}


def _strengths(regulariser) -> tuple[float, float]:
    """(l1, l2) of a Keras regulariser object (0 for a missing one)."""
    if regulariser is None:
        return 0.0, 0.0
    config = regulariser.get_config() if hasattr(regulariser, "get_config") else {}
    return float(config.get("l1", 0.0) or 0.0), float(config.get("l2", 0.0) or 0.0)


def kernel_penalty(model) -> float:
    """The sum of ``model.losses``: the penalties of a built Keras model's weights, as a float."""
    return float(sum(float(np.asarray(p)) for p in model.losses))


def _lower(what: str) -> str:
    return what if what.startswith("`") else what[0].lower() + what[1:]


def check_regularised_layers(model: Any, lam: float, *, what: str = "The model",
                             hidden: tuple = (64, 64), l1: float = 0.0) -> None:
    """Question 4 (and 6): Dense(64, relu) x 2 and Dense(1); an L2(lam) kernel penalty on every hidden
    layer only, and an L1(l1) kernel penalty on the first hidden layer as well."""
    __tracebackhide__ = True
    dense = check_dense_stack(model, 11, (*hidden, 1), ("relu",) * len(hidden) + (None,), what=what)
    regs = [_regularisers(layer) for layer in dense]
    hidden_regs, output_regs = regs[:-1], regs[-1]
    if any(r["activity"] is not None for r in regs) and not any(r["kernel"] is not None for r in hidden_regs):
        fail(f"{what} uses activity_regularizer, which penalises a layer's outputs, not its weights; "
             "the exercise asks for a penalty on the weights (the kernel).", tag="activity_regularizer")
    if all(r["kernel"] is None for r in hidden_regs) and output_regs["kernel"] is not None:
        fail(f"{what} regularises only the output layer; the exercise asks for a penalty on every hidden layer.", tag="output_layer_only")
    if all(r["kernel"] is None for r in hidden_regs) and any(r["bias"] is not None for r in regs):
        fail(f"{what} penalises biases (bias_regularizer); the exercise asks for a penalty on the kernels.", tag="bias_regularizer")
    for i, r in enumerate(hidden_regs):
        if r["kernel"] is None:
            fail(f"The {ordinal(i)} hidden layer of {_lower(what)} has no kernel_regularizer: every hidden "
                 "layer needs its own penalty.", tag="hidden_layer_unregularised")
    if output_regs["kernel"] is not None:
        fail(f"{what} also penalises the output layer's kernel; the exercise asks for the hidden layers only.", tag="output_layer_penalised")
    if any(r["activity"] is not None or r["bias"] is not None for r in regs):
        fail(f"{what} has an activity_regularizer or bias_regularizer as well; penalise the kernels only.", tag="extra_regularizer")
    l1_used = [_strengths(r["kernel"])[0] for r in hidden_regs]
    if l1 == 0 and any(v > 0 for v in l1_used):
        fail(f"{what} uses an L1 penalty (the sum of absolute weights) with l1=0; the exercise asks for "
             "L2 only in that case.", tag="l1_regularizer")
    kernels = [np.asarray(layer.kernel, float) for layer in dense[:-1]]
    squares = [float(np.sum(k**2)) for k in kernels]
    absolute = [float(np.sum(np.abs(k))) for k in kernels]
    penalty = kernel_penalty(model)
    want = lam * sum(squares) + l1 * absolute[0]
    if np.isclose(penalty, want, rtol=1e-4, atol=1e-9):
        return
    if l1 > 0 and np.isclose(penalty, lam * sum(squares), rtol=1e-4, atol=1e-9):
        fail(f"The penalty of {_lower(what)} in model.losses is the L2 part alone: the first hidden "
             f"layer's L1 penalty of strength l1={l1} is missing.", tag="l1_part_missing")
    if l1 > 0 and np.isclose(penalty, want + l1 * sum(absolute[1:]), rtol=1e-4, atol=1e-9):
        fail(f"{what} puts the L1 penalty on every hidden layer; the exercise asks for it on the first "
             "hidden layer only, the one that sees the features.", tag="l1_every_layer")
    if l1 > 0 and np.isclose(penalty, l1 * absolute[0] + lam * sum(squares[1:]), rtol=1e-4, atol=1e-9):
        fail(f"The first hidden layer of {_lower(what)} has its L1 penalty instead of its L2 penalty; "
             "it should have both, added.", tag="l1_replaces_l2")
    fail(f"The penalty of {_lower(what)} in model.losses is "
         f"{penalty:.5g}, which does not match the penalties asked for (L2 of strength lam={lam} on both "
         f"hidden kernels, L1 of strength l1={l1} on the first). Do the strengths come from the "
         "arguments?", tag="penalty_not_l2")


def check_build_regularised(build: Callable, cases=((0.01, 0.0), (0.003, 0.002)),
                            output_bias: float | None = None) -> None:
    """Question 4: ``build_regularised(lam, l1)`` returns the specified network with L2(lam) on the
    hidden layers and L1(l1) on the first; with ``output_bias``, the output layer's bias must start at
    that value (within 0.01)."""
    __tracebackhide__ = True
    for lam, l1 in cases:
        model = check_implemented(build, "`build_regularised`", lam, l1)
        if model is None:
            fail("`build_regularised` returned None: did you forget `return model`?", tag="build_none")
        what = f"The model of build_regularised({lam}, l1={l1})"
        check_regularised_layers(model, lam, what=what, l1=l1)
        if output_bias is not None:
            bias = float(np.asarray(model.layers[-1].bias, dtype=float).reshape(-1)[0])
            if abs(bias - output_bias) > 0.01:
                fail(f"The output bias of {_lower(what)} starts at {bias:.3g}; start it at the mean "
                     "training quality, so that training does not spend its first epochs getting there.", tag="output_bias_start")


# ----------------------------------------------------------------------------- question 5
def history_dict(history: Any, what: str = "`history`") -> dict:
    """The dict of lists inside a Keras ``History`` (or the dict itself)."""
    __tracebackhide__ = True
    if history is None:
        fail(f"{what} is still None: store the result of `model.fit(...)` in it.", tag="history_none")
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping) or "loss" not in values:
        fail(f"{what} should be what `model.fit` returns (a Keras History), not a {type(history).__name__}.", tag="history_not_history")
    return {key: [float(v) for v in value] for key, value in values.items()}


def _predict(model: Any, X, what: str = "`model`") -> np.ndarray:
    __tracebackhide__ = True
    problem = None
    try:
        predictions = np.asarray(model.predict(np.asarray(X, dtype="float32"), verbose=0), dtype=float)
    except Exception as error:  # a wrong input shape, a model that is not a model ...
        problem = f"{type(error).__name__}: {error}".strip()[:300]
    if problem is not None:
        fail(f"{what}.predict(X_val) failed: {problem}", tag="predict_failed_val")
    if predictions.shape not in {(len(X),), (len(X), 1)}:
        fail(f"{what} outputs shape {predictions.shape} for {len(X)} wines; end it with Dense(1).", tag="output_shape")
    return check_finite(predictions.reshape(-1), f"The predictions of {what}")


#: The names under which Keras records the mean absolute error in a history: ``metrics=["mae"]`` gives
#: ``mae``; ``metrics=["mean_absolute_error"]`` and ``metrics=[keras.metrics.MeanAbsoluteError()]`` give
#: ``mean_absolute_error``.
MAE_NAMES = ("mae", "mean_absolute_error", "MAE")


def mae_key(values: Mapping) -> str | None:
    """The key of the training MAE in a history dict (``"mae"``, ``"mean_absolute_error"`` or ``"MAE"``: the
    names under which Keras records ``metrics=["mae"]``, ``["mean_absolute_error"]``,
    ``[keras.metrics.MeanAbsoluteError()]``, ``[keras.losses.mean_absolute_error]`` and ``["MAE"]``), or None."""
    return next((name for name in MAE_NAMES if name in values), None)


def check_early_stopped(model: Any, history: Any, X_val, y_val, *, max_epochs: int = 200,
                        target_mae: float = 0.56) -> None:
    """Question 5: early stopping on the validation MAE, best weights restored, better than the baseline.

    The MAE may be compiled under any of Keras's names for it (:data:`MAE_NAMES`).
    """
    __tracebackhide__ = True
    if model is None:
        fail("`model` is still None: build, compile and train a Keras model and store it in `model`.", tag="model_none")
    values = history_dict(history)
    key = mae_key(values)
    if key is None:
        fail("`history` has no mean absolute error: compile the model with the MAE as a metric "
             "(`metrics=[...]`).", tag="no_mae_metric")
    if f"val_{key}" not in values:
        fail("`history` has no validation values: pass validation data to `fit`. Without it early "
             "stopping has nothing to watch, and Keras only warns.", tag="history_no_validation")
    params = getattr(history, "params", None) or {}
    if params.get("epochs") not in (None, max_epochs):
        fail(f"Call `fit` with epochs={max_epochs}, the limit that early stopping should stop before "
             f"(you passed epochs={params.get('epochs')}).", tag="epochs_limit_wrong")
    epochs = len(values["loss"])
    if epochs >= max_epochs:
        fail(f"Training ran all {epochs} epochs: early stopping never stopped it. Does it watch the validation "
             "MAE? The training loss and training MAE keep falling, so monitor=\"loss\" rarely stops.", tag="early_stopping_never_stopped")
    val_mae = np.asarray(values[f"val_{key}"], float)
    mae = float(np.mean(np.abs(_predict(model, X_val) - np.asarray(y_val, float))))
    if np.isclose(mae, val_mae.min(), rtol=2e-4, atol=1e-5):
        if mae >= target_mae:
            fail(f"Your model's validation MAE is {mae:.3f}; the target is below {target_mae}. Start the "
                 "output at the mean quality and give the network enough capacity.", tag="val_mae_high")
        return
    if np.isclose(mae, val_mae[-1], rtol=2e-4, atol=1e-5):
        fail("Your model has the weights of the last epoch, not of the best one: set "
             "restore_best_weights=True.", tag="last_epoch_weights")
    if "val_loss" in values and np.isclose(mae, val_mae[int(np.argmin(values["val_loss"]))], rtol=2e-4, atol=1e-5):
        fail("Your model has the weights of the epoch with the lowest validation *loss*; the exercise asks "
             "for the lowest validation MAE. Which quantity does your callback monitor?", tag="monitors_val_loss")
    fail(f"Your model's validation MAE is {mae:.4f}, but the lowest val_mae in `history` is "
         f"{val_mae.min():.4f}: the weights restored are not those of the best epoch. Monitor the "
         "validation MAE, keep min_delta at 0 and restore the best weights.", tag="weights_not_best")


# ----------------------------------------------------------------------------- question 6
def sum_of_squared_kernels(model: Any, layers: slice = slice(None, -1)) -> float:
    """sum(W**2) over the kernels of a model's Dense layers (by default all but the output layer)."""
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return float(sum(np.sum(np.asarray(layer.kernel, float) ** 2) for layer in dense[layers]))


def training_steps(model: Any) -> int:
    """How many steps a compiled Keras model's optimiser has taken (0 when it has none)."""
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    return 0 if iterations is None else int(np.asarray(iterations))


#: Two networks started from the same weights keep correlated first-layer kernels after question 6's
#: training (0.73-0.77 over 5 seeds of the solution, 30 epochs); networks from different seeds do not (|r| < 0.05).
SAME_START = 0.3


def same_start_correlation(model_a: Any, model_b: Any) -> float:
    """The correlation of two networks' first-layer kernels: high when both started from the same weights."""
    import keras

    kernels = [np.asarray(next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense)).kernel,
                          float).ravel() for model in (model_a, model_b)]
    if kernels[0].shape != kernels[1].shape or kernels[0].std() == 0 or kernels[1].std() == 0:
        return 0.0
    return float(np.corrcoef(*kernels)[0, 1])


def check_weight_decay(model_plain: Any, model_l2: Any, X_val, y_val, *, lam: float = 0.01,
                       max_mse: float = 0.52) -> None:
    """Question 6: the L2 network ends with much smaller hidden weights than its unregularised twin."""
    __tracebackhide__ = True
    for name, model in (("model_plain", model_plain), ("model_l2", model_l2)):
        if model is None:
            fail(f"`{name}` is still None: build it with build_regularised and train it.", tag="decay_model_none")
    if model_plain is model_l2:
        fail("`model_plain` and `model_l2` are the same object; build and train two separate models.", tag="decay_same_model")
    check_regularised_layers(model_l2, lam, what="`model_l2`")
    check_dense_stack(model_plain, 11, (64, 64, 1), ("relu", "relu", None), what="`model_plain`")
    if kernel_penalty(model_plain) > 1e-12:
        fail("`model_plain` has a penalty in model.losses; build it with lam=0.", tag="plain_model_penalised")
    steps = {name: training_steps(model) for name, model in (("model_plain", model_plain), ("model_l2", model_l2))}
    for name, count in steps.items():
        if count == 0:
            fail(f"`{name}` has not been trained: its optimiser has taken no step. Call `fit` on it.",
                 tag="twin_untrained")
    if steps["model_plain"] != steps["model_l2"]:
        fail(f"`model_plain` took {steps['model_plain']} training steps and `model_l2` took {steps['model_l2']}: "
             "they were not trained the same way. With different epochs (or batch sizes) the comparison "
             "measures the training time as well as the penalty.", tag="twins_trained_differently")
    if same_start_correlation(model_plain, model_l2) < SAME_START:
        fail("The first-layer weights of `model_plain` and `model_l2` are unrelated: the two networks did "
             "not start from the same weights, so the comparison measures the starting point as well as the "
             "penalty. What decides a new network's starting weights?", tag="twins_started_differently")
    for name, model in (("model_plain", model_plain), ("model_l2", model_l2)):
        mse = float(np.mean((_predict(model, X_val, f"`{name}`") - np.asarray(y_val, float)) ** 2))
        if mse >= max_mse:
            fail(f"`{name}` has a validation MSE of {mse:.3f}; the exercise asks for less than {max_mse}. "
                 "Both too few epochs and so many that the network overfits miss it: how does its "
                 "validation loss change from epoch to epoch?", tag="twin_mse_too_high")
    plain, l2 = sum_of_squared_kernels(model_plain), sum_of_squared_kernels(model_l2)
    if not l2 < 0.5 * plain:
        fail(f"The hidden kernels of `model_l2` have a sum of squares of {l2:.1f}, against {plain:.1f} for "
             "`model_plain`: the penalty should have shrunk them to well under half. Is the strength of "
             "`model_l2`'s penalty the one the question asks for?", tag="penalty_did_not_shrink")
