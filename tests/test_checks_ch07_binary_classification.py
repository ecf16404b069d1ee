"""The Chapter 7 checks accept right answers and reject wrong ones with a message that teaches."""

import math

import numpy as np
import pandas as pd
import pytest

from dlcourse.checks import ch07_binary_classification as checks


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ question 1: binary cross-entropy
def right_bce(y, p):
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def right_bce_where(y, p):
    """Another correct answer: pick the active term per example, clip with minimum/maximum."""
    p = np.minimum(np.maximum(np.asarray(p, dtype=float), 1e-7), 1 - 1e-7)
    return np.mean(np.where(np.asarray(y) == 1, -np.log(p), -np.log(1 - p)))


def plain_bce(y, p):
    """The chapter page's version, without clipping."""
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_bce_reference_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 2, 30), rng.uniform(0.01, 0.99, 30)
    want = float(keras.losses.BinaryCrossentropy()(y[:, None].astype("float32"), p[:, None]))
    assert np.isclose(checks.reference_bce(y, p), want, rtol=1e-5)
    y, p = np.array([1, 0, 1, 0]), np.array([0.0, 1.0, 0.3, 0.0])
    want = float(keras.losses.BinaryCrossentropy()(y[:, None].astype("float32"), p[:, None]))
    assert np.isclose(checks.reference_bce(y, p), want, rtol=1e-2)


@pytest.mark.parametrize("right", [right_bce, right_bce_where])
def test_bce_accepts_clipped_cross_entropy(right):
    checks.check_bce(right)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y, p: -right_bce(y, p), "minus sign"),
        (lambda y, p: right_bce(y, p) * len(y), "sum"),
        (lambda y, p: np.mean(-y * np.log(np.clip(p, 1e-7, 1))), "label is 0"),
        (lambda y, p: np.mean(-(1 - y) * np.log(np.clip(1 - p, 1e-7, 1))), "label is 1"),
        (lambda y, p: right_bce(1 - y, p), "probability of class 0"),
        (lambda y, p: right_bce(y, p) / np.log(10), "base-10"),
        (lambda y, p: right_bce(y, p) / np.log(2), "base-2"),
        (lambda y, p: np.mean(p), "not the mean binary cross-entropy"),
        (plain_bce, "exactly 0 or 1"),
        (lambda y, p: right_bce(y, p) if np.all((p > 0) & (p < 1)) else None, "exactly 0 or 1"),
        (lambda y, p: plain_bce(y, np.clip(p, 1e-15, 1 - 1e-15)), "range that the question states"),
        (lambda y, p: np.array([right_bce(y, p)] * 2), "one number"),
        (lambda y, p: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_bce_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_bce(wrong)


# ------------------------------------------------------------------ question 2: confusion matrix
def right_confusion(y, p, threshold=0.5, normalize=False):
    pred = (np.asarray(p) >= threshold).astype(int)
    tn = np.sum((y == 0) & (pred == 0))
    fp = np.sum((y == 0) & (pred == 1))
    fn = np.sum((y == 1) & (pred == 0))
    tp = np.sum((y == 1) & (pred == 1))
    counts = np.array([[tn, fp], [fn, tp]])
    return counts / counts.sum(axis=1, keepdims=True) if normalize else counts


def sklearn_confusion(y, p, threshold=0.5, normalize=False):
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1], normalize="true" if normalize else None)


def page_confusion(y_val, p_val, threshold=0.5):
    """The chapter's cell, wrapped in a function: counts only."""
    y_pred = (p_val >= threshold).astype(int)
    TP = int(np.sum((y_pred == 1) & (y_val == 1)))
    TN = int(np.sum((y_pred == 0) & (y_val == 0)))
    FP = int(np.sum((y_pred == 1) & (y_val == 0)))
    FN = int(np.sum((y_pred == 0) & (y_val == 1)))
    return np.array([[TN, FP], [FN, TP]])


@pytest.mark.parametrize("right", [right_confusion, sklearn_confusion])
def test_confusion_accepts_the_sklearn_layout(right):
    checks.check_confusion(right)


def test_confusion_reference_matches_sklearn():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 2, 40), rng.uniform(size=40)
    assert np.array_equal(checks.reference_confusion(y, p, 0.4), confusion_matrix(y, p >= 0.4, labels=[0, 1]))
    assert np.allclose(checks.reference_confusion(y, p, 0.4, normalize=True),
                       confusion_matrix(y, p >= 0.4, labels=[0, 1], normalize="true"))


def test_the_page_cell_passes_the_counts_only():
    checks.check_confusion(page_confusion, rates=False)
    with pytest.raises(AssertionError, match="raised TypeError.*fourth argument"):
        checks.check_confusion(page_confusion)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n).T, "axes swapped"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n)[::-1, ::-1], "class 1 first"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n)[::-1, ::-1].T, "class 1 first"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p - 1e-12 * (p == t), t, n), "exactly at the threshold"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, 0.5, n), "ignores its `threshold`"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n) * 2, "add up to"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n)[[1, 0]][:, [0, 1]], "not right"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n).ravel(), "2 x 2"),
        (lambda y, p, t=0.5, n=False: None, "forget `return`"),
        (not_written, "not written yet"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t), "returned the counts"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t) / (len(y) if n else 1), "number of all examples"),
        (lambda y, p, t=0.5, n=False: (right_confusion(y, p, t) / right_confusion(y, p, t).sum(axis=0)) if n
         else right_confusion(y, p, t), "each \\*column\\* sum to 1"),
        (lambda y, p, t=0.5, n=False: right_confusion(y, p, t, n) ** (2 if n else 1), "normalize=True\\)` gives"),
    ],
)
def test_confusion_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_confusion(wrong)


# ------------------------------------------------------------------ question 3: precision, recall, F1
def right_scores(y_true, y_pred, positive):
    tp = np.sum((y_pred == positive) & (y_true == positive))
    precision = tp / np.sum(y_pred == positive)
    recall = tp / np.sum(y_true == positive)
    return precision, recall, 2 * precision * recall / (precision + recall)


def sklearn_scores(y_true, y_pred, positive):
    from sklearn import metrics

    return tuple(f(y_true, y_pred, pos_label=positive)
                 for f in (metrics.precision_score, metrics.recall_score, metrics.f1_score))


def page_scores(y_true, y_pred, positive):
    """The chapter page's code, which counts class 1 as positive."""
    TP = np.sum((y_pred == 1) & (y_true == 1))
    FP = np.sum((y_pred == 1) & (y_true == 0))
    FN = np.sum((y_pred == 0) & (y_true == 1))
    precision, recall = TP / (TP + FP), TP / (TP + FN)
    return precision, recall, 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("right", [right_scores, sklearn_scores])
def test_scores_accept_any_positive_class(right):
    checks.check_scores(right)
    checks.check_scores(right, (np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1, 1])), positive=1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda t, q, pos: right_scores(t, q, "g" if pos == "b" else "b"), "other class"),
        (lambda t, q, pos: tuple(np.array(right_scores(t, q, pos))[[1, 0, 2]]), "swapped precision and recall"),
        (lambda t, q, pos: (*right_scores(t, q, pos)[:2], sum(right_scores(t, q, pos)[:2]) / 2), "harmonic"),
        (lambda t, q, pos: (right_scores(t, q, pos)[0], 0.5, 0.5), "recall, F1 not right"),
        (lambda t, q, pos: right_scores(t, q, pos)[:2], "three numbers"),
        (page_scores, "Compare the labels with `positive`"),
        (not_written, "not written yet"),
    ],
)
def test_scores_name_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_scores(wrong)


RADAR = pd.DataFrame({"class": list("gggbbbgbgb"),
                      "p_good": [0.9, 0.6, 0.4, 0.2, 0.55, 0.1, 0.8, 0.3, 0.35, 0.05]})


def test_radar_scores_accept_class_b():
    pred = np.where(RADAR["p_good"] >= 0.5, "g", "b")
    checks.check_radar_scores(right_scores(RADAR["class"].to_numpy(), pred, "b"), RADAR)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (right_scores(RADAR["class"].to_numpy(), np.where(RADAR["p_good"] >= 0.5, "g", "b"), "g"), "class 'g'"),
        (right_scores(RADAR["class"].to_numpy(), np.where(RADAR["p_good"] >= 0.5, "b", "g"), "b"), "probability of 'g'"),
        ((0.5, 0.5, 0.5), "not the precision"),
        (None, "still None"),
        ((0.5, 0.5), "three numbers"),
    ],
)
def test_radar_scores_name_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_radar_scores(wrong, RADAR)


# ------------------------------------------------------------------ question 4: threshold for a recall
def right_threshold(y, p, min_recall=0.95):
    positives = np.sort(p[y == 1])[::-1]
    return positives[math.ceil(min_recall * len(positives)) - 1]


def right_threshold_by_loop(y, p, min_recall=0.95):
    """Another correct answer: try every probability, from the highest down."""
    for t in sorted(set(p), reverse=True):
        if np.mean(p[y == 1] >= t) >= min_recall:
            return t


def right_threshold_just_below(y, p, min_recall=0.95):
    """Any threshold that gives the same predictions is as good."""
    return right_threshold(y, p, min_recall) - 1e-6


@pytest.mark.parametrize("right", [right_threshold, right_threshold_by_loop, right_threshold_just_below])
def test_threshold_for_recall_accepts_the_highest_threshold(right):
    checks.check_threshold_for_recall(right)


def test_the_page_grid_fails_the_visible_check_and_the_hidden_data_alike():
    """Visible and hidden agree: the grid answer is rejected on the check's own example."""
    with pytest.raises(AssertionError, match="a larger one would still reach it"):
        checks.check_threshold_for_recall(page_grid_threshold)
    rejected = 0
    for seed, r in [(400, 0.95), (401, 0.9), (402, 0.99)]:
        y, p = clinic(seed, 150)
        best = checks.reference_threshold_for_recall(y, p, r)
        rejected += not np.array_equal(p >= page_grid_threshold(y, p, r), p >= best)
    assert rejected >= 1


def test_threshold_reference_reaches_the_recall_and_no_more():
    rng = np.random.default_rng(4)
    for _ in range(20):
        y, p = rng.integers(0, 2, 50), rng.uniform(size=50)
        for r in (0.5, 0.9, 0.95, 1.0):
            t = checks.reference_threshold_for_recall(y, p, r)
            assert checks.recall_at(y, p, t) >= r
            assert checks.recall_at(y, p, np.nextafter(t, 2)) < r


def page_cost_threshold(y, p, min_recall=0.95):
    """The chapter page's sweep: the cheapest threshold for 4 FP + FN on a grid."""
    grid = np.round(np.arange(0.05, 1.0, 0.01), 2)
    costs = [4 * np.sum((p >= t) & (y == 0)) + np.sum((p < t) & (y == 1)) for t in grid]
    return float(grid[int(np.argmin(costs))])


def page_grid_threshold(y, p, min_recall=0.95):
    """The chapter page's sweep over a grid of thresholds, kept for the largest with the recall."""
    grid = np.round(np.arange(0.05, 1.0, 0.01), 2)
    recalls = pd.Series([np.mean(p[y == 1] >= t) for t in grid], index=grid)
    return float(recalls[recalls >= min_recall].index.max())


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y, p, r=0.95: right_threshold(y, p, r) + 0.0001, "finds only"),
        (lambda y, p, r=0.95: 0.5, "finds only|not the largest"),
        (lambda y, p, r=0.95: right_threshold(y, p, r) - 0.1, "not the largest"),
        (lambda y, p, r=0.95: 0.0, "not the largest"),
        (page_cost_threshold, "finds only|not the largest"),
        (page_grid_threshold, "grid of round numbers"),
        (lambda y, p, r=0.95: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_threshold_for_recall_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_threshold_for_recall(wrong)


def clinic(seed, n=200):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.3).astype(int)
    return y, np.round(np.where(y == 1, rng.beta(4, 1.5, n), rng.beta(1.5, 4, n)), 4)


def test_chosen_threshold_on_validation_data_passes_and_on_test_data_fails():
    (yv, pv), (yt, pt) = clinic(40), clinic(41)
    chosen = right_threshold(yv, pv)
    checks.check_chosen_threshold(chosen, yv, pv, yt, pt)
    checks.check_test_recall(np.mean(pt[yt == 1] >= chosen), chosen, yt, pt)
    with pytest.raises(AssertionError, match="chosen on the test data"):
        checks.check_chosen_threshold(right_threshold(yt, pt), yv, pv, yt, pt)
    with pytest.raises(AssertionError, match="finds only"):
        checks.check_chosen_threshold(0.5, yv, pv, yt, pt)
    with pytest.raises(AssertionError, match="on the validation patients.*grid of round numbers"):
        checks.check_chosen_threshold(page_grid_threshold(yv, pv), yv, pv, yt, pt)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_chosen_threshold(None, yv, pv, yt, pt)
    with pytest.raises(AssertionError, match="not the recall"):
        checks.check_test_recall(np.mean(pv[yv == 1] >= chosen), chosen, yt, pt)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_test_recall(None, chosen, yt, pt)


# ------------------------------------------------------------------ question 5: a classifier
@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def small_model(keras, activation="sigmoid", seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape=(33,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1, activation=activation)])


@pytest.fixture(scope="module")
def data():
    return checks.ionosphere_exercise_data()


@pytest.fixture(scope="module")
def trained(keras, data):
    X_train, y_train, X_val, y_val = data
    model = small_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)
    return model


def test_exercise_data_keeps_seventy_returns_back(data):
    X_train, y_train, X_val, y_val = data
    X_held, y_held = checks.ionosphere_held_out()
    assert (len(X_train), len(X_val), len(X_held)) == (228, 53, 70)
    assert len(X_train) + len(X_val) + len(X_held) == 351
    rows = {tuple(r) for r in np.round(np.concatenate([X_train, X_val]), 4)}
    assert not any(tuple(r) in rows for r in np.round(X_held, 4))
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-5)


def test_classifier_accepts_a_trained_sigmoid_network(trained, data):
    _, _, X_val, y_val = data
    assert checks.check_classifier(trained, X_val, y_val) >= 0.85
    X_held, y_held = checks.ionosphere_held_out()
    assert checks.check_classifier(trained, X_held, y_held, min_accuracy=0.78) >= 0.78


def test_classifier_accepts_dense_followed_by_activation(keras, data):
    X_train, y_train, X_val, y_val = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(33,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1), keras.layers.Activation("sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)
    checks.check_classifier(model, X_val, y_val)


@pytest.fixture(scope="module")
def logit_model(keras, data):
    X_train, y_train, X_val, y_val = data
    model = small_model(keras, None)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)
    return model


def test_classifier_of_logits_accepts_a_linear_output_trained_from_logits(logit_model, data):
    _, _, X_val, y_val = data
    assert checks.check_classifier(logit_model, X_val, y_val, logits=True) >= 0.85
    X_held, y_held = checks.ionosphere_held_out()
    assert checks.check_classifier(logit_model, X_held, y_held, min_accuracy=0.78, logits=True) >= 0.78


def test_classifier_of_logits_names_the_mistakes(keras, trained, data):
    X_train, y_train, X_val, y_val = data
    with pytest.raises(AssertionError, match="only values between 0 and 1"):   # the chapter's model, copied
        checks.check_classifier(trained, X_val, y_val, logits=True)
    keras.utils.set_random_seed(0)
    told_nothing = small_model(keras, None)        # a linear output trained as if it gave probabilities
    told_nothing.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    told_nothing.fit(X_train, y_train, epochs=5, batch_size=32, verbose=0)
    try:
        checks.check_classifier(told_nothing, X_val, y_val, logits=True)
    except AssertionError as error:
        assert "told that the model outputs logits" in str(error) or "between 0 and 1" in str(error)
    with pytest.raises(AssertionError, match="told that the model outputs logits"):
        checks.check_classifier(small_model(keras, None, seed=3), X_val, y_val, logits=True)


def test_classifier_names_the_mistakes(keras, data):
    _, _, X_val, y_val = data
    with pytest.raises(AssertionError, match="softmax over a single unit"):
        checks.check_classifier(small_model(keras, "softmax"), X_val, y_val)
    with pytest.raises(AssertionError, match="outside \\[0, 1\\]"):
        checks.check_classifier(small_model(keras, None), X_val, y_val)
    with pytest.raises(AssertionError, match="the target is at least 85%"):
        checks.check_classifier(small_model(keras, "sigmoid", seed=3), X_val, y_val)
    two = keras.Sequential([keras.Input(shape=(33,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(AssertionError, match="one unit"):
        checks.check_classifier(two, X_val, y_val)
    wrong_input = keras.Sequential([keras.Input(shape=(11,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(AssertionError, match="failed"):
        checks.check_classifier(wrong_input, X_val, y_val)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_classifier(None, X_val, y_val)
    with pytest.raises(AssertionError, match="Keras model"):
        checks.check_classifier(lambda X: X, X_val, y_val)


# ------------------------------------------------------------------ question 6: categorical loss, one unit
@pytest.mark.parametrize(
    "loss, fixed",
    [(0.0, "binary_crossentropy"), (1e-7, " BinaryCrossentropy"), (np.float32(0.0), "bce")],
)
def test_suspect_accepts_zero_and_the_binary_cross_entropy(loss, fixed):
    checks.check_suspect(loss, fixed)


@pytest.mark.parametrize(
    "loss, fixed, message",
    [
        (None, "binary_crossentropy", "suspect_loss` is still None"),
        (0.62, "binary_crossentropy", "suspect_history"),
        (np.zeros(5), "binary_crossentropy", "one number"),
        (0.0, None, "fixed_loss` is still None"),
        (0.0, "categorical_crossentropy", "does not change"),
        (0.0, "mse", "not the loss of a binary classifier"),
        (0.0, "hinge", "not the loss of a binary classifier"),
        (0.0, "sparse_categorical_crossentropy", "fails on labels|not the loss|does not change"),
        (0.0, "sigmoid", "does not know"),
        (0.0, 3, "string"),
    ],
)
def test_suspect_names_the_mistake(loss, fixed, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_suspect(loss, fixed)


def test_one_unit_categorical_cross_entropy_is_zero_for_any_output():
    keras = pytest.importorskip("keras")
    import warnings

    rng = np.random.default_rng(6)
    y, p = rng.integers(0, 2, 30), rng.uniform(0.01, 0.99, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = checks.loss_on(keras.losses.CategoricalCrossentropy(), y, p)
    assert abs(value) < 1e-6
