"""Every failing check names its mistake with a stable tag (issue 26: the class report groups by it).

The scan reads the checks' source (AST), so a new ``fail(`` call without a literal ``tag=`` fails
here before it reaches a class: a chapter module's tags are unique (one tag, one mistake); the shared
helpers (``_common.py``, ``_models.py``) have generic tags, reused only by calls with the same message.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT
from dlcourse.grading.interface import TAG_PATTERN

CHECKS = sorted((ROOT / "src" / "dlcourse" / "checks").glob("*.py"))
SHARED = {"_common.py", "_models.py"}


def fail_calls(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, literal tag or None, message source) of every ``fail(...)`` call in a module."""
    source = path.read_text()
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "fail":
            tag = next((k.value for k in node.keywords if k.arg == "tag"), None)
            literal = tag.value if isinstance(tag, ast.Constant) and isinstance(tag.value, str) else None
            message = ast.dump(node.args[0]) if node.args else ""
            calls.append((node.lineno, literal, message))
    return sorted(calls)


@pytest.mark.parametrize("path", [p for p in CHECKS if p.name != "__init__.py"], ids=lambda p: p.stem)
def test_every_fail_call_has_a_unique_literal_tag(path):
    calls = fail_calls(path)
    assert calls, f"{path.name} has no fail( calls"
    untagged = [line for line, tag, _ in calls if tag is None]
    assert not untagged, f"{path.name}: fail( without a literal tag= at lines {untagged}"
    bad = [(line, tag) for line, tag, _ in calls if not TAG_PATTERN.match(tag)]
    assert not bad, f"{path.name}: tags that are not short snake_case: {bad}"
    seen: dict[str, tuple[int, str]] = {}
    duplicates = []
    for line, tag, message in calls:
        if tag in seen and (path.name not in SHARED or seen[tag][1] != message):
            duplicates.append((tag, seen[tag][0], line))
        seen.setdefault(tag, (line, message))
    assert not duplicates, f"{path.name}: a tag names two mistakes (tag, first line, line): {duplicates}"


def test_the_tag_travels_on_the_error_and_not_in_the_message():
    from dlcourse.checks import _common
    from dlcourse.grading.interface import describe_failure

    with pytest.raises(AssertionError) as info:
        _common.check_finite([1.0, float("nan")], "`losses`")
    assert info.value.tag == "not_finite" and "not_finite" not in str(info.value)
    assert describe_failure(info.value) == {"outcome": "failed", "kind": "check", "tag": "not_finite",
                                            "ename": "AssertionError"}


def test_each_kind_of_failure_is_told_apart():
    from dlcourse.grading import interface

    kind = lambda error: (interface.describe_failure(error)["kind"], interface.describe_failure(error)["tag"])  # noqa: E731
    forged = AssertionError("x")
    forged.tag = "Not A Tag"
    assert kind(interface.StudentTimeout("slow")) == ("timeout", None)
    assert kind(interface.InterfaceError("bad data")) == ("tampered", None)
    assert kind(interface._student_exception("AssertionError", "mine")) == ("student_exception", None)
    assert kind(interface._student_exception("MyError", "mine")) == ("student_exception", None)
    assert kind(NameError("name 'x' is not defined")) == ("missing_name", None)
    assert kind(AssertionError("a bare assert of a hidden test")) == ("check", None)
    assert kind(forged) == ("check", None)
    assert kind(ZeroDivisionError("division by zero")) == ("exception", None)
    assert interface.describe_failure(None) == {"outcome": "passed"}


def test_messages_group_whatever_their_numbers_and_quoted_names():
    from dlcourse.grading.insights import normalise

    assert normalise("a mean of 3.2 over 10 rows") == normalise("a mean of -4.1e-3 over 12 rows")
    assert normalise("you chose 'tanh' for [0, 1]") == normalise('you chose "relu" for [2, 5]')
    assert normalise("`mse` returned the sum") != normalise("`mse` returned the root")
