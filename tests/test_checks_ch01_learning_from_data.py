"""The Chapter 1 checks accept right answers and reject wrong ones with a message that teaches."""

import math

import numpy as np
import pandas as pd
import pytest

from dlcourse.checks import ch01_learning_from_data as checks


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ question 1: task type from the labels
def right_task_type(labels, max_classes=10):
    values = pd.Series(list(labels))
    if values.dtype == bool or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    if (values % 1 != 0).any() or values.nunique() > max_classes:
        return "regression"
    return "classification"


def by_python_types(labels, max_classes=10):
    items = [x.item() if hasattr(x, "item") else x for x in labels]
    if any(isinstance(x, (str, bool)) for x in items):
        return "classification"
    if any(float(x) != int(x) for x in items):
        return "regression"
    return "classification" if len(set(items)) <= max_classes else "regression"


@pytest.mark.parametrize("right", [right_task_type, by_python_types])
def test_task_type_accepts_every_form_of_the_rule(right):
    checks.check_task_type(right)
    checks.check_task_type(right, cases=[(np.array([True, False]), 10, ""), (np.arange(15), 20, ""),
                                         (np.arange(15), 10, ""), (np.array([1.0, 0.0]), 10, ""),
                                         (np.array([-2, -1, 0, 1]), 4, "")])


def by_dtype(labels, max_classes=10):
    kind = np.asarray(labels).dtype.kind
    return "regression" if kind == "f" else "classification"


def ignores_max_classes(labels, max_classes=10):
    return right_task_type(labels, 10)


def strict_below(labels, max_classes=10):
    return right_task_type(labels, max_classes - 1)


def bool_as_number(labels, max_classes=10):
    values = np.asarray(labels)
    if values.dtype.kind in "OUS":
        return "classification"
    return right_task_type(values.astype(float), max_classes)


def python_types_only(labels, max_classes=10):
    """Tests Python's own types: NumPy's booleans and integers are neither bool nor int."""
    if any(isinstance(x, str) for x in labels) or all(isinstance(x, bool) for x in labels):
        return "classification"
    if all(isinstance(x, int) for x in labels) and len(set(labels)) <= max_classes:
        return "classification"
    return "regression"


@pytest.mark.parametrize(
    "wrong, message",
    [
        (python_types_only, "booleans"),
        (lambda y, m=10: "classification", "fractional part"),
        (lambda y, m=10: "regression", "words"),
        (by_dtype, "stored as floats"),
        (lambda y, m=10: right_task_type(y, 1000), "many different ones"),
        (ignores_max_classes, "against `max_classes`"),
        (strict_below, "exactly `max_classes`"),
        (lambda y, m=10: right_task_type(y, m).capitalize(), "lower case"),
        (lambda y, m=10: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_task_type_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_task_type(wrong)


def test_a_constant_dictionary_is_not_an_answer():
    with pytest.raises(AssertionError, match="should be a function"):
        checks.check_task_type({"spam_or_not": "classification"})


def test_task_type_reference_follows_the_rule():
    ref = checks.reference_task_type
    assert ref(["a", "b"]) == ref(np.array([True, False])) == "classification"
    assert ref([1.5, 2.0]) == ref(np.arange(11)) == "regression"
    assert ref(np.arange(10)) == ref(np.array([3.0, 4.0])) == "classification"
    assert ref(np.arange(11), max_classes=11) == "classification"


# ------------------------------------------------------------------ question 2: a split that keeps copies together
def right_split(df, seed, val_fraction=0.2):
    example = df.groupby(list(df.columns), sort=False, dropna=False).ngroup().to_numpy()
    n_examples = example.max() + 1
    chosen = np.random.default_rng(seed).permutation(n_examples)[: int(val_fraction * n_examples)]
    in_val = np.isin(example, chosen)
    return df[~in_val], df[in_val]


def split_by_drop_duplicates(df, seed, val_fraction=0.2):
    distinct = df.drop_duplicates()
    val_examples = distinct.sample(n=math.floor(val_fraction * len(distinct)), random_state=seed)
    keys = set(map(tuple, val_examples.to_numpy()))
    in_val = np.array([tuple(row) in keys for row in df.to_numpy()])
    return df[~in_val], df[in_val]


def page_split(df, seed=0):
    """The chapter page's 70/15/15 split, copied unchanged."""
    n = len(df)
    n_val = n_test = int(0.15 * n)
    order = np.random.default_rng(seed).permutation(n)
    return (df.iloc[order[n_val + n_test:]],
            df.iloc[order[:n_val]],
            df.iloc[order[n_val:n_val + n_test]])


def row_split(df, seed, val_fraction=0.2):
    """A plain 80/20 split of rows: copies leak across."""
    order = np.random.default_rng(seed).permutation(len(df))
    k = int(val_fraction * len(df))
    return df.iloc[order[k:]], df.iloc[order[:k]]


@pytest.mark.parametrize("right", [right_split, split_by_drop_duplicates])
def test_split_accepts_every_grouped_seeded_split(right):
    checks.check_split(right)
    checks.check_split(right, checks.frame_with_copies(150, 60, seed=11, first_index=7, n_columns=5),
                       seed=3, val_fraction=0.25)
    checks.check_split(right, checks.frame_with_copies(60, 0, seed=9), seed=12, val_fraction=0.3)


def test_example_frame_has_copies_and_a_shuffled_index():
    df = checks.frame_with_copies()
    assert df.duplicated().sum() > 20 and len(df.drop_duplicates()) == 80
    assert list(df.index) == list(range(100, 100 + len(df)))


def test_a_plain_row_split_passes_only_without_copies():
    checks.check_split(row_split, checks.frame_with_copies(60, 0, seed=9), seed=12, val_fraction=0.3)
    with pytest.raises(AssertionError, match="identical copy in train"):
        checks.check_split(row_split)


def _grouped_unshuffled(df, seed, val_fraction=0.2):
    distinct = df.drop_duplicates()
    keys = set(map(tuple, distinct.iloc[: int(val_fraction * len(distinct))].to_numpy()))
    in_val = np.array([tuple(row) in keys for row in df.to_numpy()])
    return df[~in_val], df[in_val]


def _rows_not_examples(df, seed, val_fraction=0.2):
    """Whole examples, but as many validation rows as a plain split of rows would have."""
    keys = checks.example_keys(df)
    counts = {k: keys.count(k) for k in keys}
    distinct = list(counts)
    target, rows, chosen = int(val_fraction * len(df)), 0, set()
    for i in np.random.default_rng(seed).permutation(len(distinct)):
        if rows + counts[distinct[i]] <= target:
            chosen.add(distinct[i])
            rows += counts[distinct[i]]
    in_val = np.array([k in chosen for k in keys])
    return df[~in_val], df[in_val]


@pytest.mark.parametrize(
    "split, message",
    [
        (not_written, "not written yet"),
        (lambda df, seed, f=0.2: page_split(df, seed), "three parts"),
        (lambda df, seed, f=0.2: right_split(df, seed, f)[1], "tuple of two"),
        (lambda df, seed, f=0.2: tuple(p.to_numpy() for p in right_split(df, seed, f)), "DataFrame"),
        (lambda df, seed, f=0.2: tuple(p.reset_index(drop=True) for p in right_split(df, seed, f)),
         "keep the original index"),
        (lambda df, seed, f=0.2: (right_split(df, seed, f)[0], right_split(df, seed, f)[0]), "appear twice"),
        (lambda df, seed, f=0.2: (right_split(df, seed, f)[0].iloc[1:], right_split(df, seed, f)[1]),
         "every row belongs"),
        (lambda df, seed, f=0.2: tuple(p.iloc[:, :-1] for p in right_split(df, seed, f)), "every column"),
        (row_split, "identical copy in train"),
        (lambda df, seed, f=0.2: right_split(df, seed, 0.3), "not a fraction"),
        (_grouped_unshuffled, "shuffle"),
        (lambda df, seed, f=0.2: right_split(df, 0, f), "different seed"),
        (lambda df, seed, f=0.2: right_split(df, np.random.randint(1_000_000), f), "same seed"),
    ],
)
def test_split_names_the_mistake(split, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_split(split)


def test_split_that_ignores_val_fraction_is_named():
    with pytest.raises(AssertionError, match="not a fraction"):
        checks.check_split(lambda df, seed, f=0.2: right_split(df, seed), val_fraction=0.25)


def test_split_counted_in_rows_is_named():
    with pytest.raises(AssertionError, match="\\*distinct examples\\*"):
        checks.check_split(_rows_not_examples, checks.frame_with_copies(100, 30, seed=2), seed=0)


def test_wine_has_copies_that_a_row_split_leaks():
    from dlcourse.data import load_red_wine

    wine = load_red_wine()
    checks.check_split(right_split, wine, seed=1)
    with pytest.raises(AssertionError, match="identical copy"):
        checks.check_split(row_split, wine, seed=1)


# ------------------------------------------------------------------ question 3: MSE
def right_mse(y_true, y_pred):
    return float(np.mean((y_pred - y_true) ** 2))


def test_mse_accepts_the_mean_of_squared_errors():
    checks.check_mse(right_mse)
    checks.check_mse(lambda t, p: np.mean((p - t) ** 2))  # the page's, a NumPy float
    checks.check_mse(right_mse, np.arange(5.0), np.arange(5.0) ** 2)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda t, p: np.mean(np.abs(p - t)), "absolute"),
        (lambda t, p: np.sum((p - t) ** 2), "sum"),
        (lambda t, p: np.sqrt(np.mean((p - t) ** 2)), "RMSE"),
        (lambda t, p: (p - t) ** 2, "one number"),
        (lambda t, p: np.mean(p - t), "not right"),
        (lambda t, p: 0.0, "not right"),
        (not_written, "not written yet"),
    ],
)
def test_mse_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_mse(wrong)


# ------------------------------------------------------------------ question 4: one gradient step
def right_step(a, b, x, y, lr, batch=None):
    if batch is not None:
        x, y = x[batch], y[batch]
    r = a * x + b - y
    return a - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)


def masked_step(a, b, x, y, lr, batch=None):
    """Another right answer: a boolean mask instead of indexing."""
    keep = np.ones(len(x), bool) if batch is None else np.isin(np.arange(len(x)), batch)
    r = (a * x + b - y)[keep]
    return float(a - lr * 2 * np.sum(r * x[keep]) / keep.sum()), float(b - lr * 2 * np.sum(r) / keep.sum())


def page_step(a, b, x, y, lr):
    """The chapter's loop body, copied: no batch."""
    residual = a * x + b - y
    grad_a = 2 * np.mean(residual * x)
    grad_b = 2 * np.mean(residual)
    return a - lr * grad_a, b - lr * grad_b


@pytest.mark.parametrize("right", [right_step, masked_step])
def test_gradient_step_accepts_a_step_against_the_gradient(right):
    checks.check_gradient_step(right)
    x, y = np.linspace(-1, 1, 9), np.linspace(0, 4, 9)
    checks.check_gradient_step(right, -2.0, 3.0, x, y, 0.05, None)
    checks.check_gradient_step(right, -2.0, 3.0, x, y, 0.05, np.array([8, 0, 3]))
    checks.check_gradient_step(right, 1.5, -0.5, x, y, 0.2, np.array([6]))
    checks.check_gradient_step(right, 0.0, 0.0, x, y, 0.1, np.arange(9)[::-1])   # from (0, 0): new = step


def all_examples_mean(a, b, x, y, lr, batch=None):
    keep = np.zeros(len(x)) if batch is None else np.isin(np.arange(len(x)), batch).astype(float)
    if batch is None:
        keep += 1
    r = (a * x + b - y) * keep
    return a - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (page_step, "raised TypeError.*sixth argument"),
        (lambda a, b, x, y, lr, batch=None: right_step(a, b, x, y, lr), "used every example"),
        (all_examples_mean, "averaged over all 6 examples"),
        (lambda a, b, x, y, lr, batch=None: (2 * a - right_step(a, b, x, y, lr, batch)[0],
                                             2 * b - right_step(a, b, x, y, lr, batch)[1]), "up"),
        (lambda a, b, x, y, lr, batch=None: (a - lr * np.mean((a * x + b - y) * x), b - lr * np.mean(a * x + b - y)),
         "half"),
        (lambda a, b, x, y, lr, batch=None: (a - lr * 2 * np.sum((a * x + b - y) * x),
                                             b - lr * 2 * np.sum(a * x + b - y)), "n times"),
        (lambda a, b, x, y, lr, batch=None: (right_step(a, b, x, y, lr)[0] - a, right_step(a, b, x, y, lr)[1] - b),
         "step only"),
        (lambda a, b, x, y, lr, batch=None: [*right_step(a, b, x, y, lr)], "tuple of two"),
        (lambda a, b, x, y, lr, batch=None: (right_step(a, b, x, y, lr)[0], b), "intercept"),
        (lambda a, b, x, y, lr, batch=None: (a - lr * 2 * np.mean(a * x + b - y), right_step(a, b, x, y, lr)[1]),
         "slope"),
        (not_written, "not written yet"),
    ],
)
def test_gradient_step_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_gradient_step(wrong)


# ------------------------------------------------------------------ question 5: a fit that really is gradient descent
def q5_data():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 4, size=50)
    return x, 3 * x + 2 + rng.normal(0, 0.2, size=50)


def run(x, y, lr, num_steps, step=right_step):
    a, b, losses = 0.0, 0.0, []
    for _ in range(num_steps):
        a, b = step(a, b, x, y, lr)
        losses.append(right_mse(y, a * x + b))
    return a, b, losses


def test_fit_accepts_any_learning_rate_that_gets_there():
    x, y = q5_data()
    for lr, num_steps in [(0.1, 150), (0.05, 300), (0.15, 100), (0.03, 300)]:
        a, b, losses = run(x, y, lr, num_steps)
        checks.check_fit(right_step, lr, a, b, losses, x, y, threshold=0.028, max_steps=300)


def test_fit_rejects_the_page_run_and_made_up_losses():
    x, y = q5_data()
    with np.errstate(all="ignore"):
        a, b, losses = run(x, y, 0.5, 300)  # the page's learning rate diverges on these data
    with pytest.raises(AssertionError, match="NaN or infinity"):
        checks.check_fit(right_step, 0.5, a, b, losses, x, y, threshold=0.028)
    a, b, losses = run(x, y, 0.2, 20)
    with pytest.raises(AssertionError, match="diverged"):
        checks.check_fit(right_step, 0.2, a, b, losses, x, y, threshold=0.028)
    a, b, losses = run(x, y, 0.01, 300)  # the page's small rate: too slow
    with pytest.raises(AssertionError, match="not converged"):
        checks.check_fit(right_step, 0.01, a, b, losses, x, y, threshold=0.028)
    a_ls, b_ls = np.polyfit(x, y, 1)
    fake = list(np.linspace(50, 0.0275, 100))
    with pytest.raises(AssertionError, match="losses\\[0\\] is not"):
        checks.check_fit(right_step, 0.1, a_ls, b_ls, fake, x, y, threshold=0.028)
    a, b, losses = run(x, y, 0.1, 150)
    with pytest.raises(AssertionError, match="losses\\[0\\] is not"):  # wrong lr reported
        checks.check_fit(right_step, 0.05, a, b, losses, x, y, threshold=0.028)
    with pytest.raises(AssertionError, match="are not where"):  # the line of another method
        checks.check_fit(right_step, 0.1, a_ls, b_ls, losses, x, y, threshold=0.028)
    a, b, losses = run(x, y, 0.05, 400)
    with pytest.raises(AssertionError, match="budget"):
        checks.check_fit(right_step, 0.05, a, b, losses, x, y, threshold=0.028, max_steps=300)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_fit(right_step, None, 0.0, 0.0, [], x, y, threshold=0.028)
    with pytest.raises(AssertionError, match="at least two"):
        checks.check_fit(right_step, 0.1, a, b, [], x, y, threshold=0.028)


# ------------------------------------------------------------------ question 6: the diverging learning rate
def right_diverging(curves):
    rates = [r for r, c in curves.items() if not np.all(np.isfinite(c)) or c[-1] > c[0]]
    return min(rates) if rates else None


def sorted_scan(curves):
    for rate in sorted(curves):
        c = np.asarray(curves[rate], dtype=float)
        if np.isnan(c).any() or np.isinf(c).any() or c[-1] > c[0]:
            return rate
    return None


@pytest.mark.parametrize("right", [right_diverging, sorted_scan])
def test_diverging_lr_accepts_every_right_function(right):
    checks.check_diverging_lr(right)


def last_above_first(curves):
    rates = [r for r, c in curves.items() if c[-1] > c[0]]
    return min(rates) if rates else None


def any_rise(curves):
    rates = [r for r, c in curves.items() if np.any(np.diff(c) > 0) or not np.all(np.isfinite(c))]
    return min(rates) if rates else None


def strictly_rising(curves):
    rates = [r for r, c in curves.items() if not np.all(np.isfinite(c)) or np.all(np.diff(c) > 0)]
    return min(rates) if rates else None


def first_found(curves):
    for r, c in curves.items():
        if not np.all(np.isfinite(c)) or c[-1] > c[0]:
            return r
    return None


def largest(curves):
    rates = [r for r, c in curves.items() if not np.all(np.isfinite(c)) or c[-1] > c[0]]
    return max(rates) if rates else None


@pytest.mark.parametrize(
    "wrong, message",
    [
        (0.5, "should be a function"),
        (1.2, "should be a function"),
        (None, "should be a function"),
        (lambda curves: 0.9, "not one of the learning rates"),
        (lambda curves: max(curves), "not right|None"),
        (last_above_first, "overflowed"),
        (any_rise, "rises for a step"),
        (first_found, "two runs diverge"),
        (strictly_rising, "dips or stalls"),
        (largest, "two runs diverge"),
        (lambda curves: right_diverging(curves) or min(curves), "return None then"),
        (lambda curves: 7.0 if right_diverging(curves) else None, "not one of the learning rates"),
        (not_written, "not written yet"),
    ],
)
def test_diverging_lr_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_diverging_lr(wrong)


def test_diverging_lr_reference_on_the_notebook_sweep():
    x, y = q5_data()
    curves = {rate: run(x, y, rate, 30)[2] for rate in [0.01, 0.1, 0.15, 0.16]}
    assert checks.reference_diverging_lr(curves) == 0.16
    assert checks.reference_diverging_lr({k: v for k, v in curves.items() if k != 0.16}) is None


# ------------------------------------------------------------------ question 7: the decision boundary
def right_boundary(w, b, threshold=0.5):
    return (np.log(threshold) - np.log(1 - threshold) - b) / w


def bisection_boundary(w, b, threshold=0.5):
    """Another right answer: search for the crossing numerically."""
    low, high = -1e3, 1e3
    for _ in range(200):
        mid = (low + high) / 2
        above = 1 / (1 + np.exp(-(w * mid + b))) >= threshold
        if above == (w > 0):
            high = mid
        else:
            low = mid
    return (low + high) / 2


@pytest.mark.parametrize("right", [right_boundary, bisection_boundary])
def test_boundary_accepts_every_way_to_find_it(right):
    checks.check_boundary(right)
    checks.check_boundary(right, checks.BOUNDARY_CASES)


def test_boundary_reference_is_where_the_probability_crosses():
    for w, b, t in checks.BOUNDARY_CASES:
        x = checks.reference_boundary(w, b, t)
        assert np.isclose(1 / (1 + np.exp(-(w * x + b))), t)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, b, t=0.5: -b / w, "ignores the threshold"),
        (lambda w, b, t=0.5: (t - b) / w, "is a probability"),
        (lambda w, b, t=0.5: -right_boundary(w, b, t), "wrong sign"),
        (lambda w, b, t=0.5: (np.log(t / (1 - t)) - b) * w, "probability is"),
        (lambda w, b, t=0.5: [right_boundary(w, b, t)] * 2, "one number"),
        (not_written, "not written yet"),
    ],
)
def test_boundary_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_boundary(wrong)


# ------------------------------------------------------------------ messages
def test_messages_never_state_a_formula():
    import inspect

    source = inspect.getsource(checks)
    for formula in ("2 * error", "mean of 2", ".astype(int)", "np.mean(", ">= threshold)"):
        messages = [line for line in source.splitlines() if "fail(" in line or "hint=" in line]
        assert not any(formula in line for line in messages), formula


# ------------------------------------------------------------------ the hidden tests' own copies of the data
def test_line_data_and_sweep_are_the_notebooks():
    import nbformat

    from conftest import solution_path

    nb = nbformat.read(solution_path("ch01_learning_from_data"), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q5_data")
    namespace = {"np": np}
    exec(cell.source, namespace)
    x, y = checks.line_data()
    assert np.array_equal(x, namespace["x_line"]) and np.array_equal(y, namespace["y_line"])
    sweep = checks.descent_curves(x, y, [0.01, 0.16], num_steps=30)
    assert np.allclose(sweep[0.01], run(x, y, 0.01, 30)[2]) and np.allclose(sweep[0.16], run(x, y, 0.16, 30)[2])


def test_split_compares_values_not_dtypes():
    """A frame rebuilt in another process may hold its integers as floats: still the same rows."""
    def as_floats(df, seed, val_fraction=0.2):
        return tuple(p.astype(float) for p in right_split(df, seed, val_fraction))

    checks.check_split(as_floats)
    with pytest.raises(AssertionError, match="rows do not match"):
        checks.check_split(lambda df, seed, f=0.2: tuple(p + 1 for p in right_split(df, seed, f)))
