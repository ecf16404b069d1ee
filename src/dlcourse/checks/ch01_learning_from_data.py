"""Student-facing checks for Chapter 1, ``ch01_learning_from_data``.

Each check raises ``AssertionError`` with a message that teaches. Checks test
properties on their own inputs, so a hard-coded answer does not pass them, and
their messages name the mistake without giving the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ._common import call_for_number, check_close, check_finite, check_implemented, check_type, fail

TASK_TYPES = ("regression", "classification")


# ----------------------------------------------------------------------------- question 1
def reference_task_type(labels, max_classes: int = 10) -> str:
    """The rule of thumb of question 1: categories, or numbers on a continuous scale."""
    values = np.asarray(labels)
    categories = values.dtype.kind not in "iuf"  # words, booleans, a mixture
    if not categories:
        categories = not np.any(np.mod(values, 1) != 0) and np.unique(values).size <= max_classes
    return TASK_TYPES[1] if categories else TASK_TYPES[0]


#: (labels, max_classes, what a wrong answer on them shows)
TASK_CASES = (
    (["spam", "not spam", "spam", "spam"], 10, "these labels are words"),
    (np.array([True, False, False, True]), 10, "these labels are booleans (yes/no)"),
    ([201350.5, 180000.0, 99500.25, 310000.0], 10, "these labels have a fractional part"),
    (np.array([7, 2, 0, 9, 4, 4, 1]), 10, "these labels are a few whole numbers"),
    ([4.0, 6.0, 5.0, 6.0, 5.0], 10, "these labels are whole numbers stored as floats: their values matter, "
     "not their dtype"),
    (list(range(120, 3000, 50)), 10, "these labels are whole numbers, but many different ones"),
    (np.arange(10), 10, "exactly `max_classes` distinct values is still a few"),
    (np.arange(12), 12, "these labels are whole numbers; count the distinct values against `max_classes`, "
     "not against 10"),
    ([-3, -1, 0, 2], 10, "negative whole numbers are whole numbers too"),
)


def check_task_type(fn: Callable, cases=TASK_CASES) -> None:
    """Question 1: ``task_type(labels, max_classes)`` applies the rule of thumb to any label column."""
    __tracebackhide__ = True
    for labels, max_classes, why in cases:
        got = check_implemented(fn, "`task_type`", labels, max_classes)
        if got is None:
            fail("`task_type` returned None: did you forget `return`?", tag="task_type_none")
        if got not in TASK_TYPES:
            fail(f"`task_type` returned {got!r}; it must return the string 'regression' or "
                 "'classification' (lower case).", tag="task_type_bad_label")
        if got != reference_task_type(labels, max_classes):
            shown = list(labels) if len(labels) <= 8 else f"[{labels[0]}, {labels[1]}, ..., {labels[-1]}]"
            fail(f"task_type({shown}, max_classes={max_classes}) returned {got!r}, which is not right: "
                 f"{why}.", tag="task_type_wrong")


# ----------------------------------------------------------------------------- question 2
def example_keys(df: pd.DataFrame) -> list[tuple]:
    """One hashable key per row: rows with the same key are copies of one example."""
    return [tuple(row) for row in df.itertuples(index=False, name=None)]


def frame_with_copies(n_distinct: int = 80, n_copied: int = 25, seed: int = 5, first_index: int = 100,
                      n_columns: int = 3) -> pd.DataFrame:
    """A shuffled DataFrame of ``n_distinct`` examples, ``n_copied`` of them present 2 to 4 times."""
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({f"f{j}": np.round(rng.normal(size=n_distinct), 3) for j in range(n_columns - 1)})
    base["quality"] = rng.integers(3, 9, size=n_distinct)
    base.iloc[:, 0] = np.arange(n_distinct) * 0.5  # every example distinct
    repeats = np.ones(n_distinct, dtype=int)
    repeats[rng.choice(n_distinct, size=n_copied, replace=False)] += rng.integers(1, 4, size=n_copied)
    frame = base.loc[np.repeat(np.arange(n_distinct), repeats)]
    frame = frame.iloc[rng.permutation(len(frame))]
    return frame.set_axis(pd.RangeIndex(first_index, first_index + len(frame)), axis=0)


def _same_values(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal values row by row (dtypes aside: a frame rebuilt elsewhere may store its numbers differently)."""
    try:
        return bool(np.array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True))
    except (TypeError, ValueError):
        return bool((a.astype(object).to_numpy() == b.astype(object).to_numpy()).all())


def _distinct_in_order(keys: list[tuple]) -> list[tuple]:
    return list(dict.fromkeys(keys))


def check_split(split_fn: Callable, df: pd.DataFrame | None = None, seed: int = 0,
                val_fraction: float = 0.2) -> None:
    """Question 2: a seeded train/validation split that keeps every copy of an example on one side."""
    __tracebackhide__ = True
    if df is None:
        df = frame_with_copies()
    n = len(df)
    parts = check_implemented(split_fn, "`split_data`", df.copy(), seed, val_fraction)
    if isinstance(parts, tuple) and len(parts) == 3:
        fail("`split_data` returned three parts; this question asks for two, (train, val).", tag="split_three_parts")
    if not isinstance(parts, tuple) or len(parts) != 2:
        fail("`split_data` should return a tuple of two DataFrames: (train, val).", tag="split_not_two_frames")
    for name, part in zip(("train", "val"), parts):
        check_type(part, pd.DataFrame, f"The {name} part")
    train, val = parts
    if list(train.columns) != list(df.columns) or list(val.columns) != list(df.columns):
        fail("Keep every column: both parts should have the columns of the input DataFrame.", tag="split_columns_lost")
    index = np.concatenate([train.index.to_numpy(), val.index.to_numpy()])
    if not set(index) <= set(df.index):
        fail("The parts have index labels that the input does not have: keep the original index.", tag="split_index_changed")
    if len(index) != len(set(index)):
        fail("Some rows appear twice (in both parts or twice in one): each row belongs to one part only.", tag="split_rows_twice")
    if len(index) != n:
        fail(f"The two parts together have {len(index)} rows, the input {n}: every row belongs to a part.", tag="split_rows_lost")
    for name, part in zip(("train", "val"), parts):
        if not _same_values(part, df.loc[part.index]):
            fail(f"The {name} part's rows do not match the input's rows with the same index labels.", tag="split_rows_changed")
    train_keys, val_keys = set(example_keys(train)), set(example_keys(val))
    leaked = [k for k in example_keys(val) if k in train_keys]
    if leaked:
        fail(f"{len(leaked)} validation rows have an identical copy in train: the model would be scored "
             "on examples it was fitted to. Copies of one example must all go to the same part.", tag="split_copies_leak")
    distinct = _distinct_in_order(example_keys(df))
    want = math.floor(val_fraction * len(distinct))
    if len(val_keys) != want:
        if len(val) == math.floor(val_fraction * n):
            fail(f"Your validation part has a fraction {val_fraction} of the *rows*; the question asks for that "
                 "fraction of the *distinct examples* (with all their copies).", tag="split_fraction_of_rows")
        fail(f"Your validation part holds {len(val_keys)} distinct examples of the {len(distinct)} in the input; "
             f"that is not a fraction {val_fraction} of them, rounded down.", tag="split_fraction_wrong")
    if val_keys in (set(distinct[:want]), set(distinct[len(distinct) - want:])):
        fail("Your validation examples are the first (or last) ones of the input: shuffle before splitting.", tag="split_not_shuffled")
    again = split_fn(df.copy(), seed, val_fraction)
    if not (again[1].index.sort_values().equals(val.index.sort_values())):
        fail("Two calls with the same seed gave different splits: use the seed for the shuffle.", tag="split_seed_ignored")
    other = split_fn(df.copy(), seed + 1, val_fraction)
    if other[1].index.sort_values().equals(val.index.sort_values()):
        fail("A different seed gave the same split: the seed should change the shuffle.", tag="split_seed_no_effect")


# ----------------------------------------------------------------------------- question 3
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
    want = float(np.mean(errors**2))
    if np.isclose(value, np.mean(np.abs(errors))) and not np.isclose(value, want):
        fail("`mse` returned the mean *absolute* error; this loss squares the errors.", tag="mse_absolute")
    if np.isclose(value, np.sum(errors**2)) and len(errors) > 1:
        fail("`mse` returned the *sum* of the squared errors, not their mean.", tag="mse_sum")
    if np.isclose(value, np.sqrt(want)) and not np.isclose(value, want):
        fail("`mse` returned the root of the mean squared error (the RMSE), not the MSE.", tag="mse_root")
    check_close(value, want, "`mse(y_true, y_pred)`")


# ----------------------------------------------------------------------------- question 4
def reference_gradients(a: float, b: float, x, y) -> tuple[float, float]:
    """Gradient of the MSE of the line y = a x + b with respect to (a, b)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    residual = a * x + b - y
    return float(2 * np.mean(residual * x)), float(2 * np.mean(residual))


def _rows(x, batch):
    return x if batch is None else x[np.asarray(batch, dtype=int)]


def reference_step(a: float, b: float, x, y, lr: float, batch=None) -> tuple[float, float]:
    """One gradient-descent step on the MSE of the examples ``batch`` (all of them when None)."""
    x = _rows(np.asarray(x, dtype=float), batch)
    y = _rows(np.asarray(y, dtype=float), batch)
    gradient = np.array(reference_gradients(a, b, x, y))
    new_a, new_b = np.array([a, b]) - lr * gradient
    return float(new_a), float(new_b)


#: (a, b, x, y, lr, batch) of the visible check: a step on all examples, then on a minibatch.
STEP_EXAMPLE = (0.5, -1.0, np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 3.2, 4.9, 7.1, 9.0, 10.8]),
                0.1, np.array([4, 1, 5]))


def _call_step(step_fn: Callable, args: tuple, batch) -> tuple[float, float]:
    __tracebackhide__ = True
    problem = None
    try:
        result = check_implemented(step_fn, "`gradient_step`", *args, *(() if batch is None else (batch,)))
    except AssertionError:
        raise
    except TypeError as error:  # most often: no `batch` argument
        problem = f"{type(error).__name__}: {error}"[:300]
    if problem is not None:  # fail outside the handler: one traceback, not two
        where = "without a batch" if batch is None else f"with batch={np.asarray(batch).tolist()}"
        fail(f"`gradient_step` called {where} raised {problem}. It takes a sixth argument, `batch`, that is "
             "None unless given.", tag="step_batch_argument")
    if not isinstance(result, tuple) or len(result) != 2:
        fail("`gradient_step` should return a tuple of two numbers: (new_a, new_b).", tag="step_not_a_pair")
    return tuple(float(check_finite(v, "each returned value")) for v in result)


def check_gradient_step(step_fn: Callable, a=None, b=None, x=None, y=None, lr=None, batch=None) -> None:
    """Question 4: one gradient-descent step for the line y = a x + b under the MSE loss of a minibatch.

    Without arguments: the visible example, a step on all examples and one on a minibatch. With them: one
    step on ``batch`` (all examples when ``batch`` is None).
    """
    __tracebackhide__ = True
    if x is None:
        a, b, x, y, lr, example_batch = STEP_EXAMPLE
        check_gradient_step(step_fn, a, b, x, y, lr, None)
        check_gradient_step(step_fn, a, b, x, y, lr, example_batch)
        return
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    new_a, new_b = _call_step(step_fn, (a, b, x.copy(), y.copy(), lr), batch)
    want_a, want_b = reference_step(a, b, x, y, lr, batch)
    grad_a, grad_b = (a - want_a) / lr, (b - want_b) / lr
    if np.isclose(new_a, want_a, rtol=1e-6, atol=1e-9) and np.isclose(new_b, want_b, rtol=1e-6, atol=1e-9):
        return  # right (from (0, 0), say, the step alone is the answer too)
    on = "all examples" if batch is None else f"the minibatch {np.asarray(batch).tolist()}"
    if batch is not None:  # the step on all examples instead of the minibatch
        full_a, full_b = reference_step(a, b, x, y, lr)
        if np.isclose(new_a, full_a) and np.isclose(new_b, full_b) and not np.isclose(full_a, want_a):
            fail(f"Your step on {on} used every example: a minibatch step sees only the examples of the batch.",
                 tag="batch_ignored")
        rows, n = len(np.asarray(batch)), len(x)
        if (np.isclose(new_a, a - lr * grad_a * rows / n) and np.isclose(new_b, b - lr * grad_b * rows / n)
                and rows != n):
            fail(f"Your step on {on} averaged over all {n} examples, not over the {rows} of the batch: the loss "
                 "of a step is the mean over its own examples.", tag="batch_mean_over_all")
    if np.isclose(new_a, a + lr * grad_a) and np.isclose(new_b, b + lr * grad_b):
        fail("You stepped *up* the gradient, so the loss grows: gradient descent goes downhill.",
             tag="step_uphill")
    if np.isclose(new_a, a - lr * grad_a / 2) and np.isclose(new_b, b - lr * grad_b / 2):
        fail("Your step is half as long as it should be: check the derivative of the squared error.",
             tag="step_half")
    size = len(x) if batch is None else len(np.asarray(batch))
    if size > 1 and np.isclose(new_a, a - lr * grad_a * size) and np.isclose(new_b, b - lr * grad_b * size):
        fail("Your step is n times too long: the loss is a mean over the examples, not a sum.",
             tag="step_sum_not_mean")
    if np.isclose(new_a, -lr * grad_a) and np.isclose(new_b, -lr * grad_b):
        fail("You returned the step only: the new parameters are the old ones plus the step.",
             tag="step_only")
    check_close(new_a, want_a, f"The new slope `a` (a step on {on})",
                hint="Check dL/da: which factor does the slope's derivative have that the intercept's has not?")
    check_close(new_b, want_b, f"The new intercept `b` (a step on {on})")


# ----------------------------------------------------------------------------- question 5
def line_data() -> tuple[np.ndarray, np.ndarray]:
    """Question 5's data, ``(x_line, y_line)``, made as the notebook's locked cell makes them."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 4, size=50)
    return x, 3 * x + 2 + rng.normal(0, 0.2, size=50)


def descent_curves(x, y, rates, num_steps: int = 30) -> dict:
    """Question 6's sweep: ``{rate: [loss after each step]}`` of full-batch gradient descent from (0, 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sweep = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for rate in rates:
            a = b = 0.0
            sweep[rate] = []
            for _ in range(num_steps):
                grad_a, grad_b = reference_gradients(a, b, x, y)
                a, b = a - rate * grad_a, b - rate * grad_b
                sweep[rate].append(float(np.mean((a * x + b - y) ** 2)))
    return sweep


def replay_losses(step_fn: Callable, x, y, lr: float, num_steps: int):
    """Run ``step_fn`` from (0, 0) for ``num_steps`` steps; the MSE after each step and the final line."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    a, b, curve = 0.0, 0.0, []
    for _ in range(num_steps):
        a, b = (float(v) for v in step_fn(a, b, x, y, lr))
        curve.append(float(np.mean((a * x + b - y) ** 2)))
    return curve, a, b


def check_fit(step_fn: Callable, lr, a, b, losses, x, y, threshold: float, max_steps: int = 300) -> None:
    """Question 5: gradient descent from (0, 0) at rate ``lr`` brought the training MSE below ``threshold``.

    The loss curve is replayed with the student's own ``gradient_step``: made-up losses, or a line
    fitted another way, do not pass.
    """
    __tracebackhide__ = True
    if lr is None:
        fail("`lr` is still None: set it to the learning rate you used.", tag="lr_none")
    lr = float(check_finite(lr, "`lr`"))
    if lr <= 0:
        fail(f"`lr` is {lr}; a learning rate is a positive number.", tag="lr_not_positive")
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1 or losses.size < 2:
        fail("`losses` should be a list with the loss after every step (at least two steps).", tag="losses_not_list")
    if losses.size > max_steps:
        fail(f"You took {losses.size} steps; the budget is at most {max_steps}.", tag="steps_over_budget")
    if not np.all(np.isfinite(losses)):
        fail("`losses` contains NaN or infinity: your run diverged. Look at how the loss changes "
             "from step to step.", tag="fit_diverged")
    a = float(check_finite(a, "`a_fit`"))
    b = float(check_finite(b, "`b_fit`"))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    final = float(np.mean((a * x + b - y) ** 2))
    if final >= threshold:
        if losses[-1] > losses[0]:
            fail(f"The fitted line has a training MSE of {final:.4g}, and your loss grew from the first step "
                 "to the last: the run diverged.", tag="fit_loss_grew")
        fail(f"The fitted line has a training MSE of {final:.4g}; the target is below {threshold}. "
             "Your run has not converged yet.", tag="fit_not_converged")
    curve, a_end, b_end = replay_losses(step_fn, x, y, lr, losses.size)
    bad = np.flatnonzero(~np.isclose(losses, curve, rtol=1e-6, atol=1e-9))
    if bad.size:
        fail(f"losses[{bad[0]}] is not the training MSE after step {bad[0] + 1} of your `gradient_step` "
             f"from a = 0, b = 0 at lr = {lr}: record the loss of the line after every step of that run.", tag="losses_not_mse")
    if not (np.isclose(a, a_end, rtol=1e-6, atol=1e-9) and np.isclose(b, b_end, rtol=1e-6, atol=1e-9)):
        fail(f"`a_fit` and `b_fit` are not where {losses.size} steps of your `gradient_step` from "
             f"a = 0, b = 0 at lr = {lr} end.", tag="fit_params_mismatch")


# ----------------------------------------------------------------------------- question 6
def reference_diverging_lr(curves: Mapping) -> float | None:
    """The smallest learning rate whose loss curve ends above its start or overflows; None if none does."""
    blown = []
    for rate, curve in curves.items():
        values = np.asarray(curve, dtype=float)
        if not np.all(np.isfinite(values)) or values[-1] > values[0]:
            blown.append(float(rate))
    return min(blown) if blown else None


NAN = float("nan")
INF = float("inf")

#: (curves, what a wrong answer on them shows)
DIVERGENCE_CASES = (
    ({0.01: [9.0, 8.6, 8.2, 7.9, 7.6], 0.3: [9.0, 4.0, 1.8, 0.9, 0.5], 0.9: [9.0, 15.0, 41.0, 120.0, 370.0]},
     "one run's loss grows step after step"),
    ({0.7: [6.0, 40.0, 900.0, 2e4, 5e5], 0.05: [6.0, 5.1, 4.4, 3.8, 3.3], 0.4: [6.0, 11.0, 25.0, 60.0, 140.0],
      0.2: [6.0, 2.5, 1.1, 0.5, 0.2]}, "two runs diverge here"),
    ({0.5: [3.0, 2e150, 5e300, INF, NAN], 0.1: [3.0, 1.9, 1.2, 0.8, 0.5]},
     "one run's loss overflowed to inf and NaN"),
    ({0.02: [2.0, 1.9, 1.8, 1.7, 1.6], 0.08: [2.0, 3.1, 1.7, 0.6, 0.2], 0.04: [2.0, 1.5, 1.2, 0.9, 0.7]},
     "a loss that rises for a step and then falls below where it started has not diverged"),
    ({0.1: [1.0, 0.5, 0.3, 0.2, 0.1], 0.01: [1.0, 0.9, 0.8, 0.75, 0.7]},
     "no run diverges in this example"),
    ({0.6: [5.0, 4.0, 6.0, 6.0, 9.0], 0.15: [5.0, 3.0, 2.0, 1.5, 1.2]},
     "a loss that ends above where it started has diverged, even if it dips or stalls on the way"),
)


def check_diverging_lr(fn: Callable, cases=DIVERGENCE_CASES) -> None:
    """Question 6: ``diverging_lr(curves)`` finds the smallest diverging learning rate of any sweep."""
    __tracebackhide__ = True
    if not callable(fn):
        fail(f"`diverging_lr` should be a function of the curves, but it is a {type(fn).__name__}: "
             "it must give the answer for any sweep, not only the one plotted.", tag="diverging_not_function")
    for curves, why in cases:
        got = check_implemented(fn, "`diverging_lr`", {k: list(v) for k, v in curves.items()})
        want = reference_diverging_lr(curves)
        shown = ", ".join(f"{k}: [{', '.join(f'{v:g}' for v in c)}]" for k, c in curves.items())
        if want is None:
            if got is not None:
                fail(f"For the curves {{{shown}}} `diverging_lr` returned {got!r}, but {why}: return None then.", tag="diverging_none_expected")
            continue
        if got is None:
            fail(f"`diverging_lr` returned None for the curves {{{shown}}}: {why}.", tag="diverging_returned_none")
        value = float(check_finite(got, "What `diverging_lr` returned"))
        if not any(np.isclose(value, float(k)) for k in curves):
            fail(f"`diverging_lr` returned {value}, which is not one of the learning rates of the sweep.", tag="diverging_not_a_rate")
        if not np.isclose(value, want):
            fail(f"For the curves {{{shown}}} `diverging_lr` returned {value}, which is not right: {why}.", tag="diverging_wrong")


# ----------------------------------------------------------------------------- question 7
def reference_boundary(w: float, b: float, threshold: float = 0.5) -> float:
    """The feature value where sigma(w x + b) equals ``threshold``."""
    return (math.log(threshold / (1 - threshold)) - b) / w


#: (w, b, threshold) of the hidden tests: other weights, a negative slope, other thresholds.
BOUNDARY_CASES = ((0.8, -2.0, 0.5), (-1.5, 0.3, 0.5), (2.0, 1.0, 0.9), (0.5, 0.0, 0.2), (-0.25, -1.0, 0.75))


def check_boundary(boundary_fn: Callable, cases=((1.2, -3.0, 0.5), (1.2, -3.0, 0.7), (-2.0, 1.0, 0.3))) -> None:
    """Question 7: ``decision_boundary(w, b, threshold)`` is where sigma(w x + b) crosses the threshold."""
    __tracebackhide__ = True
    for w, b, threshold in cases:
        case = f"decision_boundary(w={w}, b={b}, threshold={threshold})"
        got = call_for_number(boundary_fn, "`decision_boundary`", w, b, threshold)
        want = reference_boundary(w, b, threshold)
        if np.isclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        if np.isclose(got, -b / w) and threshold != 0.5:
            fail(f"{case} returned {got:.6g}: where the probability is 0.5, not {threshold}. Your answer "
                 "ignores the threshold.", tag="boundary_threshold_ignored")
        if np.isclose(got, (threshold - b) / w):
            fail(f"{case} returned {got:.6g}: there w x + b equals the threshold, but the threshold is a "
                 "probability, compared with sigma(w x + b), not with w x + b.", tag="boundary_probability_as_z")
        if np.isclose(got, -want) or np.isclose(got, b / w) and not np.isclose(b, 0):
            fail(f"{case} returned {got:.6g}, which has the wrong sign: check the signs when you solve for x.",
                 tag="boundary_sign")
        p = 1 / (1 + math.exp(-(w * got + b))) if abs(w * got + b) < 700 else float(w * got + b > 0)
        fail(f"{case} returned {got:.6g}, where the model's probability is {p:.4g}, not {threshold}.",
             tag="boundary_wrong")
