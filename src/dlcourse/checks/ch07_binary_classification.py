"""Student-facing checks for Chapter 7, ``ch07_binary_classification``.

Each check raises ``AssertionError`` with a message that names the mistake without giving
the answer. Checks test properties on their own inputs, so that a hard-coded answer fails.
The references are plain NumPy; only :func:`check_classifier` and :func:`check_suspect`
touch Keras models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import call_for_number, check_finite, check_implemented, fail

EPSILON = 1e-7  # Keras's clipping of probabilities in the binary cross-entropy


# ----------------------------------------------------------------------------- references
def reference_bce(y_true, p, epsilon: float = EPSILON) -> float:
    """Mean binary cross-entropy with the probabilities clipped to [epsilon, 1 - epsilon]."""
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.clip(np.asarray(p, dtype=float).reshape(-1), epsilon, 1 - epsilon)
    return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))


def reference_confusion(y_true, p, threshold: float = 0.5, normalize: bool = False) -> np.ndarray:
    """2 x 2 counts, true class in the rows and predicted class in the columns, order 0 then 1; with
    ``normalize``, each row divided by its true class's count (scikit-learn's ``normalize="true"``)."""
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_pred = (np.asarray(p, dtype=float).reshape(-1) >= threshold).astype(int)
    counts = np.array([[np.sum((y_true == t) & (y_pred == q)) for q in (0, 1)] for t in (0, 1)])
    return counts / counts.sum(axis=1, keepdims=True) if normalize else counts


def reference_scores(y_true, y_pred, positive) -> tuple[float, float, float]:
    """(precision, recall, F1) of the class ``positive``."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    tp = np.sum((y_pred == positive) & (y_true == positive))
    fp = np.sum((y_pred == positive) & (y_true != positive))
    fn = np.sum((y_pred != positive) & (y_true == positive))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return float(precision), float(recall), float(2 * precision * recall / (precision + recall))


def recall_at(y_true, p, threshold: float) -> float:
    """Recall of class 1 when ``p >= threshold`` is predicted positive."""
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    return float(np.mean(np.asarray(p, dtype=float).reshape(-1)[y_true == 1] >= threshold))


def reference_threshold_for_recall(y_true, p, min_recall: float = 0.95) -> float:
    """The largest threshold whose recall of class 1 is at least ``min_recall``."""
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    positives = np.sort(np.asarray(p, dtype=float).reshape(-1)[y_true == 1])[::-1]
    needed = math.ceil(min_recall * len(positives) - 1e-9)
    return float(positives[max(needed, 1) - 1])


def _predictions(p, threshold) -> np.ndarray:
    return np.asarray(p, dtype=float).reshape(-1) >= float(threshold)


def _number(func: Callable, what: str, *args: Any, hint: str = "") -> float:
    """Call the student's function; a None result gets its own message, then one finite number."""
    __tracebackhide__ = True
    if check_implemented(func, what, *args) is None:
        fail(f"{what} returned None: did you forget `return`?", tag="returned_none")
    return call_for_number(func, what, *args, hint=hint)


# ----------------------------------------------------------------------------- question 1
_BCE_EXAMPLE = (np.array([1, 0, 1, 1, 0, 0]), np.array([0.9, 0.3, 0.6, 0.2, 0.05, 0.7]))
_BCE_EDGES = (np.array([1, 0, 1, 0, 1]), np.array([0.0, 1.0, 0.8, 0.0, 1.0]))


def check_bce(bce_fn: Callable, example=None, edges=None) -> None:
    """Question 1: the mean binary cross-entropy, safe for probabilities of exactly 0 or 1."""
    __tracebackhide__ = True
    y, p = _BCE_EXAMPLE if example is None else example
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    value = _number(bce_fn, "`binary_cross_entropy`", y.copy(), p.copy(), hint=" (the mean)")
    want = reference_bce(y, p)
    per_example = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    if np.isclose(value, -want, rtol=1e-5):
        fail("`binary_cross_entropy` is negative: the logarithm of a probability is negative, "
             "so the loss needs a minus sign in front.", tag="bce_negative")
    if np.isclose(value, float(np.sum(per_example)), rtol=1e-5):
        fail("`binary_cross_entropy` returned the sum over the examples; the loss is the mean.", tag="bce_sum")
    if np.isclose(value, float(np.mean(-y * np.log(p))), rtol=1e-5):
        fail("`binary_cross_entropy` ignores the examples whose label is 0: each label 0 should "
             "cost more the closer p is to 1.", tag="bce_ignores_label_0")
    if np.isclose(value, float(np.mean(-(1 - y) * np.log(1 - p))), rtol=1e-5):
        fail("`binary_cross_entropy` ignores the examples whose label is 1.", tag="bce_ignores_label_1")
    if np.isclose(value, float(np.mean(-(y * np.log(1 - p) + (1 - y) * np.log(p)))), rtol=1e-5):
        fail("`binary_cross_entropy` treats p as the probability of class 0: p is the probability "
             "of the positive class, label 1.", tag="bce_p_of_class_0")
    for base in (10, 2):
        if np.isclose(value, want / np.log(base), rtol=1e-5):
            fail(f"`binary_cross_entropy` uses the base-{base} logarithm; the cross-entropy uses the "
                 "natural logarithm, np.log.", tag="bce_wrong_log_base")
    if not np.isclose(value, want, rtol=1e-5, atol=1e-9):
        fail(f"`binary_cross_entropy` returned {value:.6g} on an example of six labels, which is "
             "not the mean binary cross-entropy.", tag="bce_wrong")
    y, p = _BCE_EDGES if edges is None else edges
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    raw = check_implemented(bce_fn, "`binary_cross_entropy`", y.copy(), p.copy())
    value = np.asarray(raw, dtype=float) if raw is not None else np.array(np.nan)
    if value.size != 1 or not np.all(np.isfinite(value)):
        fail("With a probability of exactly 0 or 1 your loss is infinite or NaN: log(0) is minus "
             "infinity. Keep the probabilities away from 0 and 1 before taking logarithms.", tag="bce_not_clipped")
    value = float(value.reshape(()))
    if not np.isclose(value, reference_bce(y, p), rtol=1e-2):
        fail(f"With probabilities of exactly 0 or 1 your loss is {value:.4g}, far from what Keras "
             "gives: keep the probabilities inside the range that the question states.", tag="bce_clip_wrong")


# ----------------------------------------------------------------------------- question 2
_CONFUSION_EXAMPLE = (
    np.array([1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0]),
    np.array([0.9, 0.8, 0.35, 0.5, 0.6, 0.1, 0.7, 0.2, 0.3, 0.45, 0.95, 0.05]),
)


def _matrix(result: Any, what: str) -> np.ndarray:
    __tracebackhide__ = True
    if result is None:
        fail(f"{what} returned None: did you forget `return`?", tag="matrix_none")
    array = check_finite(result, f"What {what} returned")
    if array.shape != (2, 2):
        fail(f"{what} should return a 2 x 2 array of counts, not shape {array.shape}.", tag="matrix_shape")
    return array


def check_confusion(confusion_fn: Callable, example=None, thresholds=(0.5, 0.3), rates: bool = True) -> None:
    """Question 2: confusion counts, true class in the rows, predicted class in the columns; with
    ``rates``, also the matrix that ``normalize=True`` gives, rows divided by the true classes' counts."""
    __tracebackhide__ = True
    y, p = _CONFUSION_EXAMPLE if example is None else example
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    what = "`confusion`"
    for threshold in thresholds:
        got = _matrix(check_implemented(confusion_fn, what, y.copy(), p.copy(), threshold), what)
        want = reference_confusion(y, p, threshold)
        if np.array_equal(got, want):
            continue
        if got.sum() != len(y):
            fail(f"The four counts of {what} add up to {got.sum():g}, but there are {len(y)} examples.", tag="confusion_count_mismatch")
        if np.array_equal(got, want.T):
            fail(f"{what} has its axes swapped: the rows are the true classes and the columns the "
                 "predicted classes.", tag="confusion_axes_swapped")
        if np.array_equal(got, want[::-1, ::-1]) or np.array_equal(got, want[::-1, ::-1].T):
            fail(f"{what} puts class 1 first: the order is class 0, then class 1, so the true "
                 "positives sit in the bottom right.", tag="confusion_class_1_first")
        strict = reference_confusion(y, p - 1e-12 * (p == threshold), threshold)
        if np.any(p == threshold) and np.array_equal(got, strict):
            fail(f"{what} calls an example with a probability exactly at the threshold negative; "
                 "it is positive when p >= threshold.", tag="confusion_threshold_boundary")
        if threshold != 0.5 and np.array_equal(got, reference_confusion(y, p, 0.5)):
            fail(f"{what} ignores its `threshold` argument.", tag="confusion_threshold_ignored")
        fail(f"{what}(y_true, p, threshold={threshold}) gives {got.astype(int).tolist()}, which is "
             "not right.", tag="confusion_wrong")
    if rates:
        _check_rates(confusion_fn, y, p, thresholds)


def _check_rates(confusion_fn: Callable, y, p, thresholds) -> None:
    __tracebackhide__ = True
    what = "`confusion`"
    for threshold in thresholds:
        call = f"`confusion(y_true, p, threshold={threshold}, normalize=True)`"
        problem = None
        try:
            result = check_implemented(confusion_fn, what, y.copy(), p.copy(), threshold, True)
        except AssertionError:
            raise
        except TypeError as error:  # most often: no `normalize` argument
            problem = f"{type(error).__name__}: {error}"[:300]
        if problem is not None:  # fail outside the handler: one traceback, not two
            fail(f"{call} raised {problem}. `confusion` takes a fourth argument, `normalize`, that is False "
                 "unless given.", tag="normalize_argument")
        if result is None:
            fail(f"{call} returned None: did you forget `return`?", tag="rates_none")
        got = check_finite(result, f"What {call} returned")
        if got.shape != (2, 2):
            fail(f"{call} should return a 2 x 2 array, not shape {got.shape}.", tag="rates_shape")
        counts = reference_confusion(y, p, threshold)
        want = reference_confusion(y, p, threshold, normalize=True)
        if np.allclose(got, want):
            continue
        if np.allclose(got, counts):
            fail(f"{call} returned the counts: with normalize=True it returns rates.", tag="normalize_ignored")
        if np.allclose(got, counts / counts.sum()):
            fail(f"{call} divided every count by the number of all examples; the rates asked for are shares of "
                 "each *true* class, so that each row sums to 1.", tag="normalised_by_total")
        if np.allclose(got, counts / counts.sum(axis=0, keepdims=True)):
            fail(f"{call} made each *column* sum to 1: those are shares of the predicted classes. The rates "
                 "asked for are shares of each true class.", tag="normalised_by_predicted")
        fail(f"{call} gives {np.round(got, 4).tolist()}, which is not right.", tag="rates_wrong")


# ----------------------------------------------------------------------------- question 3
_SCORES_EXAMPLE = (
    np.array(["b", "g", "g", "g", "b", "b", "b", "b", "g", "b", "b", "g"]),
    np.array(["b", "b", "g", "b", "b", "b", "g", "b", "b", "g", "b", "g"]),
)


def check_scores(scores_fn: Callable, example=None, positive: Any = "b") -> None:
    """Question 3: (precision, recall, F1) for the class named ``positive``."""
    __tracebackhide__ = True
    y_true, y_pred = _SCORES_EXAMPLE if example is None else example
    what = "`precision_recall_f1`"
    result = check_implemented(scores_fn, what, np.array(y_true), np.array(y_pred), positive)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{what} should return three numbers: (precision, recall, f1).", tag="scores_not_triple")
    try:
        got = np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        got = None
    if got is not None and np.any(np.isnan(got)):
        fail(f"{what} returned NaN, a division of 0 by 0: no example was counted as positive. "
             f"Compare the labels with `positive` (here {positive!r}), not with 1.", tag="scores_nan")
    got = check_finite(result, f"What {what} returned")
    want = np.array(reference_scores(y_true, y_pred, positive))
    if np.allclose(got, want):
        return
    others = [label for label in np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
              if label != positive]
    if others and np.allclose(got, reference_scores(y_true, y_pred, others[0])):
        fail(f"{what} scored the other class: precision, recall and F1 are computed for the class "
             f"named by `positive` (here {positive!r}).", tag="scores_other_class")
    if np.allclose(got, want[[1, 0, 2]]):
        fail(f"{what} swapped precision and recall: precision counts the mistakes among the "
             "predicted positives, recall among the actual positives.", tag="scores_precision_recall_swapped")
    if np.allclose(got[:2], want[:2]) and np.isclose(got[2], (want[0] + want[1]) / 2):
        fail(f"{what}: the F1 score is the harmonic mean of precision and recall, not the "
             "arithmetic mean.", tag="scores_f1_arithmetic_mean")
    names = ("precision", "recall", "F1")
    wrong = [name for name, a, b in zip(names, got, want) if not np.isclose(a, b)]
    fail(f"{what} with positive={positive!r}: {', '.join(wrong)} not right.", tag="scores_wrong")


def check_radar_scores(scores_b: Any, radar: Any) -> None:
    """Question 3: the scores of class "b" on the shipped radar returns at threshold 0.5."""
    __tracebackhide__ = True
    if scores_b is None:
        fail("`scores_b` is still None: compute the three scores on the radar returns.", tag="radar_scores_none")
    if not isinstance(scores_b, (tuple, list)) or len(scores_b) != 3:
        fail("`scores_b` should be the three numbers (precision, recall, f1).", tag="radar_scores_not_triple")
    got = check_finite(np.asarray(scores_b, dtype=float), "`scores_b`")
    y_true = np.asarray(radar["class"])
    p_good = np.asarray(radar["p_good"], dtype=float)
    y_pred = np.where(p_good >= 0.5, "g", "b")
    want = np.array(reference_scores(y_true, y_pred, "b"))
    if np.allclose(got, want):
        return
    if np.allclose(got, reference_scores(y_true, y_pred, "g")):
        fail("`scores_b` are the scores of class 'g'; the question asks for class 'b'.", tag="radar_scores_class_g")
    if np.allclose(got, reference_scores(y_true, np.where(p_good >= 0.5, "b", "g"), "b")):
        fail("`p_good` is the probability of 'g': a return is predicted 'g' when p_good >= 0.5, "
             "and 'b' otherwise.", tag="radar_p_good_misread")
    fail("`scores_b` are not the precision, recall and F1 of class 'b' at the threshold 0.5.", tag="radar_scores_wrong")


# ----------------------------------------------------------------------------- question 4
# Scores with four decimals, off any grid of round numbers; just below the largest threshold for
# each recall of the check (0.2237, 0.5532 and 0.7718) lies a negative's score, so a threshold that
# stops short of the largest one (a grid point, say) calls that negative positive and is caught.
_RECALL_EXAMPLE = (
    np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
    np.array([0.9712, 0.9134, 0.8826, 0.8307, 0.7718, 0.7146, 0.6259, 0.5532, 0.4118, 0.2237,
              0.8561, 0.7703, 0.6437, 0.5507, 0.3869, 0.2215, 0.1274, 0.0436]),
)


def _stops_short(subject: str, t: float, best: float, p, min_recall: float, where: str) -> str:
    """The message for a threshold that reaches the recall but is below the largest one that does."""
    extra = int(np.sum(_predictions(p, t)) - np.sum(_predictions(p, best)))
    return (f"{subject} {t:.4g} reaches the recall {min_recall} {where}, but it "
            f"is not the largest threshold that does: a larger one would still reach it and call "
            f"{extra} fewer example{'s' if extra != 1 else ''} positive. The recall changes only "
            "where the threshold passes one of the scores, so a threshold taken from a grid of "
            "round numbers usually stops short of the largest one.")


def check_threshold_for_recall(threshold_fn: Callable, example=None,
                               min_recalls=(0.95, 0.8, 0.5)) -> None:
    """Question 4: the largest threshold whose recall is at least ``min_recall``.

    Any threshold that gives the same predictions as the largest one is accepted; one that
    reaches the recall but stops below the largest (a point of a fixed grid) is rejected.
    """
    __tracebackhide__ = True
    y, p = _RECALL_EXAMPLE if example is None else example
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    what = "`threshold_for_recall`"
    for min_recall in min_recalls:
        t = _number(threshold_fn, what, y.copy(), p.copy(), min_recall)
        best = reference_threshold_for_recall(y, p, min_recall)
        if np.array_equal(_predictions(p, t), _predictions(p, best)):
            continue
        recall = recall_at(y, p, t)
        if recall < min_recall:
            fail(f"With min_recall={min_recall} your threshold {t:.4g} finds only {recall:.0%} of "
                 "the positives: the recall must be at least min_recall.", tag="recall_too_low")
        fail(_stops_short(f"With min_recall={min_recall} your threshold", t, best, p, min_recall,
                          "on the check's example"), tag="threshold_stops_short")


def check_chosen_threshold(chosen: Any, y_val, p_val, y_test, p_test, min_recall: float = 0.95) -> None:
    """Question 4: the threshold chosen on the validation data, not on the test data."""
    __tracebackhide__ = True
    if chosen is None:
        fail("`chosen_threshold` is still None: choose it with your function.", tag="chosen_threshold_none")
    t = float(check_finite(chosen, "`chosen_threshold`").reshape(-1)[0])
    best_val = reference_threshold_for_recall(y_val, p_val, min_recall)
    if np.array_equal(_predictions(p_val, t), _predictions(p_val, best_val)):
        return
    best_test = reference_threshold_for_recall(y_test, p_test, min_recall)
    if np.isclose(t, best_test) or np.array_equal(_predictions(p_test, t), _predictions(p_test, best_test)):
        fail("`chosen_threshold` was chosen on the test data. Choose it on the validation data; the "
             "test data are only for reporting.", tag="chosen_on_test")
    recall = recall_at(y_val, p_val, t)
    if recall < min_recall:
        fail(f"`chosen_threshold` finds only {recall:.1%} of the ill validation patients: the clinic "
             f"requires a recall of at least {min_recall}.", tag="chosen_recall_too_low")
    fail(_stops_short("`chosen_threshold`", t, best_val, p_val, min_recall,
                      "on the validation patients"), tag="chosen_stops_short")


def check_test_recall(test_recall: Any, chosen: Any, y_test, p_test) -> None:
    """Question 4: the recall on the test data of the chosen threshold."""
    __tracebackhide__ = True
    if test_recall is None:
        fail("`test_recall` is still None: report the recall on the test data.", tag="test_recall_none")
    value = float(check_finite(test_recall, "`test_recall`").reshape(-1)[0])
    if not np.isclose(value, recall_at(y_test, p_test, float(chosen))):
        fail(f"`test_recall` is {value:.4g}, which is not the recall of `chosen_threshold` on the "
             "test data (the share of the test positives with p >= chosen_threshold).", tag="test_recall_wrong")


# ----------------------------------------------------------------------------- question 5
def _probabilities(model: Any, X, what: str = "`model`") -> np.ndarray:
    __tracebackhide__ = True
    X = np.asarray(X, dtype="float32")
    problem = None
    try:
        out = np.asarray(model(X, training=False), dtype=float)
    except Exception as error:  # a wrong input shape, an unbuilt model ...
        problem = f"{type(error).__name__}: {error}".strip()[:400]
    if problem is not None:
        fail(f"Calling {what} on the returns failed: {problem}", tag="classifier_call_failed")
    if out.shape not in {(len(X),), (len(X), 1)}:
        fail(f"{what} outputs shape {out.shape} for {len(X)} returns; a binary classifier outputs one "
             "probability per example, so it ends in a layer with one unit.", tag="classifier_output_shape")
    return check_finite(out.reshape(-1), f"The outputs of {what}")


def check_classifier(model: Any, X, y, min_accuracy: float = 0.85, what: str = "`model`",
                     logits: bool = False) -> float:
    """Question 5: a Keras binary classifier, accurate on ``X``, ``y``; its output is the probability of the
    positive class, or with ``logits`` the logit z (no activation on the output unit).

    Returns the accuracy at the threshold 0.5 on the probability (z >= 0 for logits).
    """
    __tracebackhide__ = True
    import keras

    if model is None:
        fail(f"{what} is still None: build and train a Keras model and store it in {what}.", tag="classifier_none")
    if not isinstance(model, keras.Model):
        fail(f"{what} should be a Keras model, but it is a {type(model).__name__}.", tag="classifier_not_model")
    p = _probabilities(model, X, what)
    if logits:
        if p.min() >= 0 and p.max() <= 1:
            fail(f"{what} outputs only values between 0 and 1, as a probability does; this question asks for "
                 "the logit z, which can be any number. What is the last thing your output unit does?",
                 tag="output_is_probability")
        scores, cut, said = p, 0.0, "at the logit that corresponds to p = 0.5"
    else:
        if np.allclose(p, 1.0):
            fail(f"{what} outputs 1 for every return: a softmax over a single unit always gives 1. "
                 "Use an activation that gives a probability per unit.", tag="single_unit_softmax")
        if p.min() < 0 or p.max() > 1:
            fail(f"{what} outputs values outside [0, 1]; its output should be a probability of the "
                 "positive class.", tag="output_not_probability")
        scores, cut, said = p, 0.5, "at the threshold 0.5"
    y = np.asarray(y).reshape(-1).astype(int)
    accuracy = float(np.mean((scores >= cut) == (y == 1)))
    baseline = max(np.mean(y), 1 - np.mean(y))
    if accuracy < min_accuracy:
        if logits:
            fail(f"{what} classifies {accuracy:.1%} of these returns correctly {said} (always answering the "
                 f"majority class: {baseline:.1%}); the target is at least {min_accuracy:.0%}. Are the inputs "
                 "the standardised ones, and was the loss told that the model outputs logits?",
                 tag="logit_accuracy_low")
        fail(f"{what} classifies {accuracy:.1%} of these returns correctly at the threshold 0.5 "
             f"(always answering the majority class: {baseline:.1%}); the target is at least "
             f"{min_accuracy:.0%}. Are the inputs the standardised ones, and is the loss the binary "
             "cross-entropy?", tag="accuracy_low")
    return accuracy


# ----------------------------------------------------------------------------- question 6
def loss_on(loss: Any, y, p) -> float:
    """The mean of a Keras loss (a name or a callable) on one-unit probabilities, as a float."""
    return float(np.mean(np.asarray(loss(np.asarray(y, "float32").reshape(-1, 1),
                                         np.asarray(p, "float32").reshape(-1, 1)))))


def check_suspect(suspect_loss: Any, fixed_loss: Any) -> None:
    """Question 6: a one-unit sigmoid output compiled with the categorical cross-entropy.

    ``suspect_loss`` is the loss it reports (about 0 whatever the data); ``fixed_loss`` names a
    loss that Keras accepts and that equals the binary cross-entropy on one-unit outputs.
    """
    __tracebackhide__ = True
    import warnings

    import keras

    if suspect_loss is None:
        fail("`suspect_loss` is still None: what loss does `suspect` report while it trains?", tag="suspect_loss_none")
    value = check_finite(suspect_loss, "`suspect_loss`")
    if value.size != 1:
        fail("`suspect_loss` should be one number: the loss that `suspect` reports, the same on "
             "every batch.", tag="suspect_loss_not_number")
    if not np.isclose(float(value.reshape(())), 0.0, atol=1e-4):
        fail(f"`suspect_loss` is {float(value.reshape(())):.4g}: look at the losses in "
             "`suspect_history.history`.", tag="suspect_loss_wrong")
    if fixed_loss is None:
        fail("`fixed_loss` is still None: name the loss that `suspect` should be compiled with.", tag="fixed_loss_none")
    if not isinstance(fixed_loss, str):
        fail("`fixed_loss` should be the name of a Keras loss, a string.", tag="fixed_loss_not_string")
    try:
        loss = keras.losses.get(fixed_loss.strip())
    except (ValueError, TypeError):
        loss = None
    if loss is None:
        fail(f"`fixed_loss` is {fixed_loss!r}, which Keras does not know as a loss.", tag="fixed_loss_unknown")
    y = np.array([1, 0, 1, 0, 1])
    p = np.array([0.9, 0.2, 0.4, 0.7, 0.6])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = loss_on(loss, y, p)
            moved = loss_on(loss, y, np.array([0.8, 0.2, 0.4, 0.7, 0.6]))
    except Exception:  # a loss for other targets, e.g. class indices of several classes
        got = moved = None
    if got is None or not np.isfinite(got):
        fail(f"`fixed_loss` is {fixed_loss!r}, which fails on labels 0 and 1 and one "
             "probability per example.", tag="fixed_loss_fails")
    if np.isclose(got, moved):
        fail(f"`fixed_loss` is {fixed_loss!r}: with a single output unit that loss does not change "
             "when the output does, so it cannot train the model either.", tag="fixed_loss_constant")
    if not np.isclose(got, reference_bce(y, p), rtol=1e-4):
        fail(f"`fixed_loss` is {fixed_loss!r}, which is not the loss of a binary classifier with one "
             "probability per example.", tag="fixed_loss_wrong")


# ----------------------------------------------------------------------------- data of question 5
_SPLIT_SEED = 2026
_N_HELD_OUT, _N_VAL = 70, 53


def _ionosphere_rows():
    from dlcourse.data import load_ionosphere

    iono = load_ionosphere()
    X = iono.drop(columns="class").to_numpy(dtype="float32")
    y = (iono["class"] == "g").to_numpy(dtype="int64")
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(X))
    held_out, val = order[:_N_HELD_OUT], order[_N_HELD_OUT:_N_HELD_OUT + _N_VAL]
    train = order[_N_HELD_OUT + _N_VAL:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    return X, y, (train, val, held_out), (mean, std)


def ionosphere_exercise_data():
    """Question 5's data: standardised ``X_train, y_train, X_val, y_val`` (positive class "g" = 1).

    Seventy further returns are kept back for grading and are not returned.
    """
    X, y, (train, val, _), (mean, std) = _ionosphere_rows()
    return (X[train] - mean) / std, y[train], (X[val] - mean) / std, y[val]


def ionosphere_held_out():
    """The seventy returns that question 5 keeps back, standardised like the training data."""
    X, y, (_, _, held_out), (mean, std) = _ionosphere_rows()
    return (X[held_out] - mean) / std, y[held_out]
