"""Late submissions: the course's late-penalty plugin (``dlcourse.grading.late.SubMarksPerHour``) applied where
``dlcourse-grade`` records each result, with exact numbers (issue 25, "Bad input and faults").

No notebook runs here: each "autograded" notebook is chapter 1's release, its test cells without outputs
(nbgrader scores a test cell without an error as passed) or with an error in each (zero points). The
end-to-end run on the hub (tests/test_hub.py) checks the same penalty on real submissions and feedback.
"""

from __future__ import annotations

import csv
import datetime as dt

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from conftest import ROOT
from dlcourse.grading import gradebook
from dlcourse.grading.cli import _duration
from dlcourse.grading.late import SubMarksPerHour
from grading_fixtures import KEY, full_marks, gid, graded_test_ids, release

DUE = dt.datetime(2026, 12, 1, 12, 0, 0)


def _config(points_per_hour: float, max_penalty: float = 0.0) -> Config:
    config = Config()
    config.AssignLatePenalties.plugin_class = "dlcourse.grading.late.SubMarksPerHour"
    config.SubMarksPerHour.points_per_hour = points_per_hour
    config.SubMarksPerHour.max_penalty = max_penalty
    return config


def _failing(nb):
    """Every autograded test with an error: zero points."""
    nb = nbformat.from_dict(nb)
    tests = set(graded_test_ids())
    for cell in nb.cells:
        if gid(cell) in tests:
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no", traceback=[])]
    return nb


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('late') / 'gradebook.db'}"
    gradebook.ensure_assignment(ROOT, "solutions", KEY, url)
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(KEY, duedate=DUE)
    return url


def test_the_plugin_takes_points_per_started_hour():
    plugin = SubMarksPerHour(config=_config(1.5).copy())
    plugin.points_per_hour = 1.5
    assert plugin.late_submission_penalty("s", 10.0, 0) is None
    assert [plugin.late_submission_penalty("s", 10.0, s) for s in (1, 3600, 3601, 7200, 86400)] == \
        [1.5, 1.5, 3.0, 3.0, 36.0]
    plugin.max_penalty = 4.0
    assert plugin.late_submission_penalty("s", 10.0, 86400) == 4.0


@pytest.mark.parametrize("student, late_by, config, failing, expected_penalty", [
    ("ontime", dt.timedelta(seconds=-5), _config(1.5), False, 0.0),
    ("second", dt.timedelta(seconds=1), _config(1.5), False, 1.5),
    ("twohours", dt.timedelta(hours=1, seconds=1), _config(1.5), False, 3.0),
    ("capped", dt.timedelta(days=3), _config(1.5, max_penalty=4.0), False, 4.0),
    ("zero", dt.timedelta(hours=5), _config(1.5), True, 0.0),  # never below zero: capped at the score
    ("noplugin", dt.timedelta(hours=5), None, False, 0.0),  # nbgrader's default: flagged, no penalty
])
def test_a_late_submission_is_flagged_and_loses_exactly_the_penalty(db_url, tmp_path, student, late_by, config,
                                                                    failing, expected_penalty):
    nb = _failing(release()) if failing else release()
    gradebook.record_result(db_url, KEY, student, {KEY: nbformat.writes(nb)}, DUE + late_by, config)
    seconds_late, penalty = gradebook.lateness(db_url, KEY, student)
    assert seconds_late == max(0.0, late_by.total_seconds())
    assert penalty == expected_penalty
    raw = sum(v for v in gradebook.scores(db_url, KEY, student).values() if v is not None)
    assert raw == (0.0 if failing else full_marks())
    with Gradebook(db_url) as gb:  # what the formgrader and nbgrader's feedback show: score less penalty
        sub = gb.find_submission(KEY, student)
        assert (sub.score - sub.late_submission_penalty) == raw - expected_penalty
    out = tmp_path / "grades.csv"
    gradebook.export_csv(db_url, [KEY], out)
    row = next(r for r in csv.DictReader(open(out)) if r["student_id"] == student)
    assert (float(row["late_penalty"]), float(row["total"])) == (expected_penalty, raw - expected_penalty)


def test_the_report_says_how_late():
    assert [_duration(s) for s in (40, 61, 3601, 3 * 86400 + 7200)] == ["40 s", "1 min", "1 h 0 min", "3 d 2 h"]
