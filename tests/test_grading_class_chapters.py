"""Issue 24's attacks on chapters 2, 4 and 5: one small class per chapter, graded once by ``dlcourse-grade``.

Each class (:func:`grading_attacks.chapter_class`) holds the solution and the chapter's honest wrong
answer as neighbours and the attacks of issue 24 that apply to the chapter: answers above the locked
set-up (item 1), reference data redefined and multiplied by NaN (2), arguments written back (3), a
model that is not a model and a Lambda-layer model (4), a wrapper that records hidden inputs (5),
parked threads beside neighbours (6), huge replies and a huge Keras config (7). Every score is exact
and derived from the release's points; no attack scores above its honest base; the neighbours keep
their exact scores in the same run; the grader's peak memory stays bounded. Chapter 1's class is
``test_grading_class.py``.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import grading_attacks as attacks
from grading_cases import CASES
from grading_fixtures import hidden_lines, make_course, max_score, submit

pytestmark = pytest.mark.slow

CHAPTERS = sorted(attacks.PLANS)
#: A value that only a hidden test passes to the function that ``record_inputs`` wraps.
HIDDEN_VALUE = {"ch02_neurons": "123456", "ch04_sgd": "1599"}
#: The grader's memory limit in these runs (its address space, and each kernel's).
MEMORY_LIMIT = "3G"
#: The grading process's growth over its neighbours' largest peak, per byte the kernel may send in one test
#: cell (the reply itself, at most two replies, within MAX_CELL_BYTES), while it decodes the item-7
#: replies: the message as received, its JSON, the reply text and the decoded value live together for a
#: moment. Before issue 24, decoding took about 46 bytes per byte (a 60 MB reply of empty lists: 3.0 GB),
#: and the 400-byte Dense(50_000_000) config was built: 6.9 GB.
PEAK_PER_BYTE = 6
#: Noise in the peaks of two gradings of the same notebook (MiB).
PEAK_SLACK_MB = 64

@pytest.fixture(scope="module", params=CHAPTERS)
def chapter_run(request, tmp_path_factory):
    key = request.param
    cases = attacks.chapter_class(key)
    course = make_course(tmp_path_factory.mktemp(key) / "course", key)
    for student, case in cases.items():
        submit(course, student, case.nb, key=key)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dlcourse-grade"), key, "--workers", "2",
         "--cell-timeout", str(CASES[key].cell_timeout), "--notebook-timeout", "400",
         "--memory-limit", MEMORY_LIMIT, "--no-progress", "--report", "report.json"],
        cwd=course, capture_output=True, text=True, timeout=1500, env=dict(os.environ),
    )
    assert (course / "report.json").is_file(), out.stderr[-3000:]
    report = {r["student"]: r for r in json.loads((course / "report.json").read_text())}
    return {"key": key, "course": course, "cases": cases, "report": report, "stdout": out.stdout,
            "stderr": out.stderr}


def _outputs(run, student: str) -> str:
    """What the student's kernel printed in the graded run (the autograded notebook, which the instructor sees)."""
    key = run["key"]
    path = run["course"] / "autograded" / student / key / f"{key}.ipynb"
    if not path.is_file():
        return ""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(out.get("text", "") + "".join(out.get("traceback", [])) + json.dumps(out.get("data", {}))
                     for cell in nb.cells for out in cell.get("outputs", []))


def test_every_submission_gets_its_exact_score(chapter_run):
    report, key = chapter_run["report"], chapter_run["key"]
    assert sorted(report) == sorted(chapter_run["cases"]), chapter_run["stderr"][-3000:]
    wrong = {}
    for student, case in chapter_run["cases"].items():
        got = report[student]
        if (got["score"], got["max_score"], got["status"]) != (case.score, max_score(key), case.status) \
                or case.reason not in got["reason"]:
            wrong[student] = (got["score"], got["status"], got["reason"], "expected", case.score, case.status)
    assert not wrong, wrong


def test_no_attack_scores_above_its_honest_base_and_neighbours_keep_theirs(chapter_run):
    report = chapter_run["report"]
    for student, case in chapter_run["cases"].items():
        assert case.score <= case.base_score, (student, case)
        assert report[student]["score"] <= case.base_score, (student, report[student])
        if case.item == "neighbour":  # graded beside every attack, in the same run
            assert (report[student]["score"], report[student]["status"]) == (case.score, "graded"), report[student]


def test_the_attacks_did_what_they_tried(chapter_run):
    """The suite can fail: each attack really ran in its kernel (and would have scored without the mechanism)."""
    key, cases = chapter_run["key"], chapter_run["cases"]
    assert f"PARKED {attacks.PARKED_THREADS}" in _outputs(chapter_run, "park_threads")
    if "lookup_model" in cases:  # the kernel's look-up predicts the kept-back wines exactly
        assert "LOOKUP-MAE 0.0" in _outputs(chapter_run, "lookup_model")
    if "record_inputs" in cases:  # the wrapper recorded the hidden test's inputs in the graded run
        assert HIDDEN_VALUE[key] in _outputs(chapter_run, "record_inputs")
    for name in attacks.HUGE_REPLIES:
        if name in cases:
            assert "REPLY-BYTES" in _outputs(chapter_run, name)


def _feedback_text(run, student: str) -> str:
    from dlcourse.grading import generate_feedback

    key = run["key"]
    assert generate_feedback(run["course"], key, student=student)
    page = run["course"] / "feedback" / student / key / f"{key}.html"
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.mark.parametrize("chapter_run", [k for k in CHAPTERS if attacks.PLANS[k].recorded], indirect=True)
def test_feedback_shows_no_recorded_hidden_input(chapter_run):
    key = chapter_run["key"]
    text = _feedback_text(chapter_run, "record_inputs")
    # the printing cell's code stays, its output (the recorded calls) does not
    assert not re.search(r"RECORDED \d", text) and HIDDEN_VALUE[key] not in text
    assert "Output not shown in feedback" in text
    assert attacks.recoverable(hidden_lines(key), text) == []


@pytest.mark.parametrize("chapter_run", [k for k in CHAPTERS if attacks.PLANS[k].huge], indirect=True)
def test_grader_memory_stays_bounded_on_huge_replies_and_configs(chapter_run):
    from dlcourse.grading.interface import MAX_CELL_BYTES

    report, cases = chapter_run["report"], chapter_run["cases"]
    huge = [s for s in attacks.HUGE_REPLIES if s in cases]
    assert huge, "the plan asks for item-7 replies but the class has none"
    neighbours = [report[s]["grader_peak_mb"] for s, c in cases.items() if c.item == "neighbour"]
    assert all(isinstance(p, float) and p > 0 for p in neighbours), report
    for student in huge:
        sent = int(re.search(r"REPLY-BYTES (\d+)", _outputs(chapter_run, student)).group(1))
        allowed = max(neighbours) + PEAK_SLACK_MB + PEAK_PER_BYTE * min(2 * sent, MAX_CELL_BYTES) / 2**20
        peak = report[student]["grader_peak_mb"]
        assert isinstance(peak, float) and peak <= allowed, (student, peak, allowed, neighbours)
