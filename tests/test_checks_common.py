"""The shared assertion helpers fail with messages that show the student's value, never the answer."""

import numpy as np
import pytest

from dlcourse.checks import _common


def test_check_close_passes_close_values_and_hides_the_expected_one():
    _common.check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12], "x")
    with pytest.raises(AssertionError) as info:
        _common.check_close(3.0, 4.25, "`answer`", hint="Try again.")
    assert "3" in str(info.value) and "4.25" not in str(info.value) and "Try again." in str(info.value)


def test_check_close_reports_shape_and_non_finite_values():
    with pytest.raises(AssertionError, match="shape"):
        _common.check_close([1.0, 2.0], [1.0], "x")
    with pytest.raises(AssertionError, match="NaN or infinity"):
        _common.check_close([np.nan], [1.0], "x")
    with pytest.raises(AssertionError, match="should be numbers"):
        _common.check_close("abc", 1.0, "x")


def test_check_implemented_turns_not_implemented_into_a_hint():
    def todo():
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not written yet"):
        _common.check_implemented(todo, "`f`")
    with pytest.raises(AssertionError, match="should be a function"):
        _common.check_implemented(3, "`f`")
    assert _common.check_implemented(lambda v: v + 1, "`f`", 1) == 2


def test_check_type_and_shape_name_what_was_found():
    with pytest.raises(AssertionError, match="should be a dict or list, but it is a int"):
        _common.check_type(1, (dict, list), "`v`")
    with pytest.raises(AssertionError, match=r"shape \(2,\)"):
        _common.check_shape([1, 2], (3,), "`v`")


def test_not_written_yet_failure_carries_no_chained_traceback():
    def todo():
        raise NotImplementedError()

    with pytest.raises(AssertionError) as info:
        _common.check_implemented(todo, "`f`")
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_call_for_number_returns_a_float_or_says_what_came_back():
    assert _common.call_for_number(lambda a: np.array([[a]]), "`f`", 2.5) == 2.5
    with pytest.raises(AssertionError, match=r"`f` should return one number \(the mean\), .* shape \(2,\)"):
        _common.call_for_number(lambda: np.ones(2), "`f`", hint=" (the mean)")
    with pytest.raises(AssertionError, match="NaN or infinity"):
        _common.call_for_number(lambda: np.inf, "`f`")


def test_a_students_traceback_hides_the_checks_internals():
    """IPython (what JupyterLab shows) skips frames that set __tracebackhide__."""
    import sys

    from IPython.core.ultratb import FormattedTB

    from dlcourse.checks import ch01_learning_from_data as ch01

    def mse(y_true, y_pred):
        raise NotImplementedError()

    try:
        ch01.check_mse(mse)
    except AssertionError:
        text = "".join(FormattedTB(mode="Context", theme_name="nocolor").structured_traceback(*sys.exc_info()))
    assert "`mse` is not written yet" in text
    assert "skipping hidden" in text
    assert "check_implemented(" not in text and "in check_mse" not in text
