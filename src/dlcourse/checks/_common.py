"""Assertion helpers shared by every chapter's checks (introduced in Chapter 1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def fail(message: str, tag: str | None = None) -> None:
    """Raise the AssertionError that a student sees, with a message that teaches (Chapter 1).

    ``tag`` names the mistake in a stable short word (``epochs_from_zero``); it travels on the
    exception as ``.tag`` for the class report and is never shown to the student.
    """
    __tracebackhide__ = True
    error = AssertionError(message)
    error.tag = tag
    raise error


def check_type(value: Any, expected: type | tuple[type, ...], what: str) -> None:
    """Fail unless ``value`` is an instance of ``expected``."""
    __tracebackhide__ = True
    if not isinstance(value, expected):
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        fail(f"{what} should be a {names}, but it is a {type(value).__name__}.", tag="wrong_type")


def check_implemented(func: Callable, what: str, *args: Any) -> Any:
    """Call ``func(*args)`` and turn ``NotImplementedError`` into a friendly failure."""
    __tracebackhide__ = True
    if not callable(func):
        fail(f"{what} should be a function, but it is a {type(func).__name__}.", tag="not_a_function")
    try:
        return func(*args)
    except NotImplementedError:
        pass  # fail outside the handler, so the student sees one traceback, not two
    fail(f"{what} is not written yet: replace `raise NotImplementedError()` with your code.", tag="not_implemented")


def call_returning_arguments(func: Callable, what: str, *args: Any) -> tuple[Any, list]:
    """Call ``func(*args)``; (its result, the arguments as the call left them).

    In a notebook the arguments are the objects passed (changed in place). In the course's grader,
    ``func`` runs in the student's kernel and its arguments go by value: the grader's objects never
    change, and the arguments after the call are the student's copies, new objects that a check may
    read but must never reuse as a reference.
    """
    __tracebackhide__ = True
    if not callable(func):
        fail(f"{what} should be a function, but it is a {type(func).__name__}.", tag="not_a_function")
    remote = getattr(type(func), "_call_returning_arguments", None)
    try:
        if remote is not None:
            return remote(func, *args)
        return func(*args), list(args)
    except NotImplementedError:
        pass  # fail outside the handler, so the student sees one traceback, not two
    fail(f"{what} is not written yet: replace `raise NotImplementedError()` with your code.", tag="not_implemented")


def check_finite(value: Any, what: str) -> np.ndarray:
    """Fail unless ``value`` converts to a NumPy array of finite numbers; return the array."""
    __tracebackhide__ = True
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(f"{what} should be numbers, but it is {type(value).__name__}: {value!r:.80}", tag="not_numbers")
    if not np.all(np.isfinite(array)):
        fail(f"{what} contains NaN or infinity; check for a division by zero or a diverging loop.", tag="not_finite")
    return array


def call_for_number(func: Callable, what: str, *args: Any, hint: str = "") -> float:
    """Call the student's ``func(*args)`` and require one finite number; return it as a float.

    ``what`` names the function as the student wrote it, e.g. "`mse`". Introduced in Chapter 1.
    """
    __tracebackhide__ = True
    value = check_finite(check_implemented(func, what, *args), f"What {what} returned")
    if value.size != 1:
        fail(f"{what} should return one number{hint}, but it returned an array of shape {value.shape}.", tag="not_one_number")
    return float(value.reshape(()))


def check_shape(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Fail unless ``value`` has exactly ``shape``; return it as an array."""
    __tracebackhide__ = True
    array = np.asarray(value)
    if array.shape != tuple(shape):
        fail(f"{what} has shape {array.shape}; the exercise asks for shape {tuple(shape)}.", tag="wrong_shape")
    return array


def check_close(
    value: Any, expected: Any, what: str, *, rtol: float = 1e-6, atol: float = 1e-9, hint: str = ""
) -> None:
    """Fail unless ``value`` is numerically close to ``expected`` (arrays or scalars).

    The message gives the student's value, never the expected one.
    """
    __tracebackhide__ = True
    got = check_finite(value, what)
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape:
        fail(f"{what} has shape {got.shape}; it should have shape {want.shape}.", tag="close_wrong_shape")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        shown = np.array2string(got, precision=4, threshold=6) if got.ndim else f"{float(got):.6g}"
        fail(f"{what} is {shown}, which is not right. {hint}".strip(), tag="wrong_value")


def predict_or_fail(model: Any, X: Any, failure: str) -> np.ndarray:
    """``model.predict(X)`` as float predictions; an exception becomes one failure, ``failure: error``.

    ``X`` is passed as float32, as Keras expects. Introduced in Chapter 4; Chapter 6 reuses it.
    """
    __tracebackhide__ = True
    problem = None
    try:
        return np.asarray(model.predict(np.asarray(X, dtype="float32"), verbose=0), dtype=float)
    except Exception as error:  # a wrong input shape, an uncompiled model ...
        problem = f"{type(error).__name__}: {error}".strip()[:400]
    fail(f"{failure}: {problem}", tag="predict_failed")  # outside the handler: the student sees one traceback, not two
