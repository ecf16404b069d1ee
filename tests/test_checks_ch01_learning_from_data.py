"""The Chapter 1 checks accept right answers and reject wrong ones with a message that teaches."""

import numpy as np
import pytest

from dlcourse.checks import ch01_learning_from_data as checks


def right_split(df, seed):
    n = len(df)
    n_hold = int(0.15 * n)
    order = np.random.default_rng(seed).permutation(n)
    return df.iloc[order[2 * n_hold :]], df.iloc[order[:n_hold]], df.iloc[order[n_hold : 2 * n_hold]]


def right_mse(y_true, y_pred):
    return float(np.mean((y_pred - y_true) ** 2))


def right_step(a, b, x, y, lr):
    r = a * x + b - y
    return a - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)


def right_classes(p, threshold=0.5):
    return (np.asarray(p) >= threshold).astype(int)


def not_written(*args):
    raise NotImplementedError()


ANSWERS = {
    "wine_quality_score": "regression",
    "spam_or_not": "classification",
    "house_price": "regression",
    "digit_in_image": "classification",
}


def test_task_types_accepts_a_complete_labelling():
    checks.check_task_types(ANSWERS)


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"spam_or_not": "classification"}, "no entry"),
        ({**ANSWERS, "house_price": "Regression"}, "lower case"),
        ([("house_price", "regression")], "should be a Mapping"),
    ],
)
def test_task_types_rejects_incomplete_or_misspelt_labels(answers, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_task_types(answers)


@pytest.mark.parametrize("n, seed", [(200, 0), (1599, 7), (41, 3)])
def test_split_accepts_a_seeded_70_15_15_split(n, seed):
    checks.check_split(right_split, n=n, seed=seed)


def test_expected_split_sizes_round_holdout_parts_down():
    assert checks.expected_split_sizes(1599) == (1121, 239, 239)
    assert checks.expected_split_sizes(200) == (140, 30, 30)


@pytest.mark.parametrize(
    "split, message",
    [
        (not_written, "not written yet"),
        (lambda df, seed: right_split(df, seed)[:2], "tuple of three"),
        (lambda df, seed: (df.iloc[:140], df.iloc[140:170], df.iloc[170:]), "shuffle"),
        (lambda df, seed: right_split(df, 0), "different seed"),
        (
            lambda df, seed: tuple(p.reset_index(drop=True) for p in right_split(df, seed)),
            "more than one part",
        ),
        (
            lambda df, seed: (lambda t, v, s: (t, v, v))(*right_split(df, seed)),
            "more than one part",
        ),
        (
            lambda df, seed: (lambda o: (df.iloc[o[:160]], df.iloc[o[160:180]], df.iloc[o[180:]]))(
                np.random.default_rng(seed).permutation(len(df))
            ),
            "sizes",
        ),
        (lambda df, seed: tuple(p.values for p in right_split(df, seed)), "DataFrame"),
    ],
)
def test_split_rejects_wrong_splits_with_a_reason(split, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_split(split)


def test_split_rejects_an_unseeded_shuffle():
    def unseeded(df, seed):
        return right_split(df, np.random.randint(1_000_000))

    with pytest.raises(AssertionError, match="same seed"):
        checks.check_split(unseeded)


def test_mse_accepts_the_mean_of_squared_errors():
    checks.check_mse(right_mse)
    checks.check_mse(right_mse, np.arange(5.0), np.arange(5.0) ** 2)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda t, p: np.mean(np.abs(p - t)), "absolute"),
        (lambda t, p: np.sum((p - t) ** 2), "sum"),
        (lambda t, p: np.sqrt(np.mean((p - t) ** 2)), "square root"),
        (lambda t, p: (p - t) ** 2, "one number"),
        (lambda t, p: np.mean(p - t), "not right"),
        (not_written, "not written yet"),
    ],
)
def test_mse_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_mse(wrong)


def test_gradient_step_accepts_a_step_against_the_gradient():
    checks.check_gradient_step(right_step)
    checks.check_gradient_step(right_step, a=-2.0, b=3.0, x=np.linspace(-1, 1, 9), y=np.linspace(0, 4, 9), lr=0.05)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda a, b, x, y, lr: (2 * a - right_step(a, b, x, y, lr)[0], 2 * b - right_step(a, b, x, y, lr)[1]), "up"),
        (
            lambda a, b, x, y, lr: (
                a - lr * np.mean((a * x + b - y) * x),
                b - lr * np.mean(a * x + b - y),
            ),
            "half",
        ),
        (lambda a, b, x, y, lr: [*right_step(a, b, x, y, lr)], "tuple of two"),
        (lambda a, b, x, y, lr: (right_step(a, b, x, y, lr)[0], b), "intercept"),
    ],
)
def test_gradient_step_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_gradient_step(wrong)


def test_fit_accepts_a_converged_line_and_rejects_a_short_run():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 50)
    y = 3 * x + 2 + rng.normal(0, 0.1, 50)
    a, b, losses = 0.0, 0.0, []
    for _ in range(300):
        a, b = right_step(a, b, x, y, 0.5)
        losses.append(right_mse(y, a * x + b))
    checks.check_fit(a, b, losses, x, y, threshold=0.02)
    with pytest.raises(AssertionError, match="keep stepping"):
        checks.check_fit(*right_step(0.0, 0.0, x, y, 0.01), losses[:3], x, y, threshold=0.02)
    with pytest.raises(AssertionError, match="at least two"):
        checks.check_fit(a, b, [], x, y, threshold=0.02)


def test_diverging_lr_must_be_one_of_the_plotted_rates():
    checks.check_diverging_lr(0.5, [0.01, 0.5, 1.2])
    with pytest.raises(AssertionError, match="choose one of"):
        checks.check_diverging_lr(2.0, [0.01, 0.5, 1.2])


def test_threshold_accepts_integer_classes_at_or_above_the_threshold():
    checks.check_threshold(right_classes)
    checks.check_threshold(right_classes, [0.2, 0.7, 0.69], threshold=0.7)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, t=0.5: (np.asarray(p) > t).astype(int), "exactly equal"),
        (lambda p, t=0.5: (np.asarray(p) < t).astype(int), "swapped"),
        (lambda p, t=0.5: np.asarray(p) >= t, "integers"),
        (lambda p, t=0.5: (np.asarray(p) >= 0.5).astype(int), "gave"),
        (lambda p, t=0.5: [1], "shape"),
    ],
)
def test_threshold_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_threshold(wrong, [0.1, 0.5, 0.6, 0.75, 0.9] if message == "gave" else None,
                               threshold=0.7 if message == "gave" else 0.5)


def test_unanswered_scaffolds_get_a_message_not_a_crash():
    with pytest.raises(AssertionError, match="still None"):
        checks.check_task_types(dict.fromkeys(checks.TASK_SCENARIOS))
    with pytest.raises(AssertionError, match="still None"):
        checks.check_diverging_lr(None, [0.01, 0.5, 1.2])
