"""Student-facing checks for Chapter 1, ``ch01_learning_from_data``.

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ._common import call_for_number, check_close, check_finite, check_implemented, check_type, fail

#: The scenarios of question 1 and the two task types a student may choose from.
TASK_SCENARIOS = (
    "wine_quality_score",
    "spam_or_not",
    "house_price",
    "digit_in_image",
)
TASK_TYPES = ("regression", "classification")


def check_task_types(answers: Mapping[str, str]) -> None:
    """Question 1: every scenario is labelled with one of the two task types."""
    __tracebackhide__ = True
    check_type(answers, Mapping, "`task_types`")
    missing = [s for s in TASK_SCENARIOS if s not in answers]
    if missing:
        fail(f"`task_types` has no entry for {missing}; label every scenario.")
    for scenario in TASK_SCENARIOS:
        value = answers[scenario]
        if value is None:
            fail(f"task_types[{scenario!r}] is still None: replace it with your answer.")
        if value not in TASK_TYPES:
            fail(
                f"task_types[{scenario!r}] is {value!r}; it must be the string "
                "'regression' or 'classification' (lower case)."
            )


def _toy_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.arange(n) % 3})


def expected_split_sizes(n: int) -> tuple[int, int, int]:
    """Sizes of a 70/15/15 split of ``n`` rows: validation and test rounded down, train the rest."""
    n_val = int(n * 0.15)
    n_test = int(n * 0.15)
    return n - n_val - n_test, n_val, n_test


def check_split(split_fn: Callable, n: int = 200, seed: int = 0) -> None:
    """Question 2: a reproducible, shuffled, disjoint and complete 70/15/15 split of a DataFrame."""
    __tracebackhide__ = True
    df = _toy_frame(n)
    parts = check_implemented(split_fn, "`split_data`", df, seed)
    if not isinstance(parts, tuple) or len(parts) != 3:
        fail("`split_data` should return a tuple of three DataFrames: (train, val, test).")
    for name, part in zip(("train", "val", "test"), parts):
        check_type(part, pd.DataFrame, f"The {name} part")
    sizes = tuple(len(p) for p in parts)
    if sizes != expected_split_sizes(n):
        fail(
            f"For {n} rows your parts have sizes {sizes}. Use 15% (rounded down) for validation "
            "and for test, and put every remaining row in train."
        )
    if list(parts[0].columns) != list(df.columns):
        fail("Keep every column: the parts should have the same columns as the input DataFrame.")
    index = np.concatenate([p.index.to_numpy() for p in parts])
    if len(set(index)) != n:
        fail("Some rows appear in more than one part: the three parts must not overlap.")
    if set(index) != set(df.index):
        fail("The parts together should contain every row of the input exactly once.")
    if np.array_equal(parts[0].index.to_numpy(), df.index[: sizes[0]].to_numpy()):
        fail("Your train part is the first rows in their original order: shuffle before splitting.")
    again = split_fn(df, seed)
    if any(not a.index.equals(b.index) for a, b in zip(parts, again)):
        fail("Two calls with the same seed gave different splits: use the seed for the shuffle.")
    other = split_fn(df, seed + 1)
    if other[0].index.equals(parts[0].index):
        fail("A different seed gave the same split: the seed should change the shuffle.")


def check_mse(mse_fn: Callable, y_true=None, y_pred=None) -> None:
    """Question 3: mean squared error of two 1-D arrays."""
    __tracebackhide__ = True
    if y_true is None:
        y_true = np.array([1.0, 2.0, 3.0, 4.0])
        y_pred = np.array([1.5, 2.0, 2.0, 6.0])
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    value = call_for_number(mse_fn, "`mse`", y_true, y_pred)
    errors = y_pred - y_true
    if np.isclose(value, np.mean(np.abs(errors))) and not np.isclose(value, np.mean(errors**2)):
        fail("`mse` returned the mean *absolute* error; square the errors instead.")
    if np.isclose(value, np.sum(errors**2)) and len(errors) > 1:
        fail("`mse` returned the *sum* of squared errors; take the mean instead.")
    if np.isclose(value, np.sqrt(np.mean(errors**2))) and not np.isclose(value, np.mean(errors**2)):
        fail("`mse` returned the root of the mean squared error; do not take the square root.")
    check_close(value, np.mean(errors**2), "`mse(y_true, y_pred)`", hint="Average the squared errors.")


def reference_gradients(a: float, b: float, x, y) -> tuple[float, float]:
    """Gradient of the MSE of the line y = a x + b with respect to (a, b)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    residual = a * x + b - y
    return float(2 * np.mean(residual * x)), float(2 * np.mean(residual))


def check_gradient_step(step_fn: Callable, a=0.5, b=-1.0, x=None, y=None, lr=0.1) -> None:
    """Question 4: one gradient-descent step for the line y = a x + b under the MSE loss."""
    __tracebackhide__ = True
    if x is None:
        x = np.array([0.0, 1.0, 2.0, 3.0])
        y = np.array([1.0, 3.0, 5.0, 7.0])
    result = check_implemented(step_fn, "`gradient_step`", a, b, x, y, lr)
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`gradient_step` should return a tuple of two numbers: (new_a, new_b).")
    new_a, new_b = (float(check_finite(v, "each returned value")) for v in result)
    grad_a, grad_b = reference_gradients(a, b, x, y)
    if np.isclose(new_a, a + lr * grad_a) and np.isclose(new_b, b + lr * grad_b):
        fail("You stepped *up* the gradient: subtract lr times the gradient to go downhill.")
    if np.isclose(new_a, a - lr * grad_a / 2) and np.isclose(new_b, b - lr * grad_b / 2):
        fail("Your step is half as long as it should be: the derivative of (error)^2 is 2 * error.")
    check_close(
        new_a, a - lr * grad_a, "The new slope `a`",
        hint="dL/da is the mean of 2 * (a*x + b - y) * x.",
    )
    check_close(new_b, b - lr * grad_b, "The new intercept `b`", hint="dL/db is the mean of 2 * (a*x + b - y).")


def check_fit(a: float, b: float, losses, x, y, threshold: float) -> None:
    """Question 5: gradient descent ran until the training MSE fell below ``threshold``."""
    __tracebackhide__ = True
    losses = check_finite(losses, "`losses`")
    if losses.ndim != 1 or losses.size < 2:
        fail("`losses` should be a list with the loss after every step (at least two steps).")
    a = float(check_finite(a, "`a_fit`"))
    b = float(check_finite(b, "`b_fit`"))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    final = float(np.mean((a * x + b - y) ** 2))
    if final >= threshold:
        fail(
            f"The fitted line has a training MSE of {final:.4g}; keep stepping until it is below "
            f"{threshold}. A larger number of steps or a better learning rate helps."
        )
    if losses[-1] > losses[0]:
        fail("Your loss went up from the first step to the last: the learning rate is too large.")


def check_diverging_lr(choice: float, options) -> None:
    """Question 6: the answer is one of the learning rates that were plotted."""
    __tracebackhide__ = True
    if choice is None:
        fail(f"`diverging_lr` is still None: set it to one of the plotted learning rates {list(options)}.")
    value = float(check_finite(choice, "`diverging_lr`"))
    if not any(np.isclose(value, o) for o in options):
        fail(f"`diverging_lr` is {value}; choose one of the plotted learning rates {list(options)}.")


def check_threshold(classify_fn: Callable, probabilities=None, threshold: float = 0.5) -> None:
    """Question 7: probabilities at or above the threshold become class 1, the rest class 0."""
    __tracebackhide__ = True
    if probabilities is None:
        probabilities = np.array([0.1, 0.49, 0.5, 0.51, 0.9])
    probabilities = np.asarray(probabilities, dtype=float)
    got = check_implemented(classify_fn, "`predict_class`", probabilities, threshold)
    got = np.asarray(got)
    if got.shape != probabilities.shape:
        fail(f"`predict_class` returned shape {got.shape}; return one class per probability.")
    if not np.issubdtype(got.dtype, np.integer):
        fail(f"`predict_class` returned {got.dtype} values; return integers 0 and 1 (use .astype(int)).")
    expected = (probabilities >= threshold).astype(int)
    if np.array_equal(got, 1 - expected):
        fail("Your classes are swapped: probabilities at or above the threshold are class 1.")
    at = probabilities == threshold
    if at.any() and np.array_equal(got[~at], expected[~at]) and not np.array_equal(got[at], expected[at]):
        fail("A probability exactly equal to the threshold should be class 1 (use >=).")
    if not np.array_equal(got, expected):
        fail(f"`predict_class` gave {got.tolist()} for probabilities {probabilities.tolist()}.")
