"""The time budgets of the course (issue 20), held against the measurements in ``book/timings.json``.

``make bench ARGS="--no-book --no-base --grading 0 --record"`` writes that file: every page executed on
2 cores, every solution on one core (pinned, one TensorFlow thread). Nothing here times anything: the
tests check that the recorded figures meet the budgets and that every sentence quoting them quotes the
record, so that a slower notebook, or a claim that drifted, fails here.
"""

from __future__ import annotations

import json
import math
import re
import sys

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT, solution_path

sys.path.insert(0, str(ROOT / "tools"))
from benchmark import page_budget, solution_budget  # noqa: E402  (the one definition of the budgets)

sys.path.remove(str(ROOT / "tools"))

TIMINGS = json.loads((ROOT / "book" / "timings.json").read_text(encoding="utf-8"))
PAGES = sorted(p.parent.name for p in (ROOT / "book").glob("ch*/index.ipynb"))
SLOWEST_CELL = 100  # a third of the book build's cell timeout (_config.yml)


def up_to_five(seconds: float) -> int:
    """A measured time as the course quotes it: rounded up to a multiple of 5 s."""
    return int(5 * math.ceil(seconds / 5))


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_solution_runs_within_its_budget_on_one_core(key):
    measured = TIMINGS["solutions"][key]
    assert measured["status"] == "ok"
    assert measured["cpu_seconds"] <= solution_budget(key), measured


@pytest.mark.parametrize("key", PAGES)
def test_page_executes_within_its_budget(key):
    measured = TIMINGS["pages"][key]
    assert measured["status"] == "ok"
    assert measured["seconds"] <= page_budget(key), measured
    assert measured["slowest_cell"] <= SLOWEST_CELL, measured


def test_book_cell_timeout_leaves_three_times_the_slowest_cell():
    timeout = int(re.search(r"^\s+timeout:\s*(\d+)", (ROOT / "_config.yml").read_text(), re.M).group(1))
    assert timeout >= 3 * SLOWEST_CELL


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_notebook_header_quotes_its_measured_time(key):
    header = nbformat.read(solution_path(key), as_version=4).cells[0].source
    stated = re.search(r"runs in about (\d+) s on one laptop core", header)
    assert stated, "the header says how long the notebook runs, as measured"
    assert int(stated.group(1)) == up_to_five(TIMINGS["solutions"][key]["cpu_seconds"]), (
        "the header's time is not the recorded one (book/timings.json); rerun make bench --record or fix it")


@pytest.mark.parametrize("document", ["README.md", "book/intro.md"])
def test_course_wide_time_claims_quote_the_slowest_solution(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    assert "well under a minute" not in text and "about a minute" not in text
    stated = re.findall(r"at most (\d+) s on one laptop core", text)
    slowest = max(m["cpu_seconds"] for m in TIMINGS["solutions"].values())
    assert stated and all(int(s) == up_to_five(slowest) for s in stated), (stated, slowest)
