"""``dlcourse-grade --missing``: after a grading run was killed midway, a rerun grades only what is missing.

Every result is written to the gradebook and to ``autograded/`` as it completes, by the command itself;
a killed run leaves the submissions it finished graded and the others without an autograded copy. These
tests check which submissions a rerun with ``--missing`` picks (the grading itself is the class tests').
"""

from __future__ import annotations

import os
import time

from dlcourse.grading.cli import already_graded, build_parser

KEY = "ch01_learning_from_data"


def _write(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _course(tmp_path):
    for student in ("done", "killed", "resubmitted", "new_stamp", "renamed"):
        _write(tmp_path / "submitted" / student / KEY / f"{KEY}.ipynb")
        _write(tmp_path / "submitted" / student / KEY / "timestamp.txt", "2026-12-07 10:00:00 UTC")
    past = time.time() - 60
    for student in ("done", "resubmitted", "new_stamp"):
        nb = tmp_path / "submitted" / student / KEY / f"{KEY}.ipynb"
        os.utime(nb, (past, past))
        _write(tmp_path / "autograded" / student / KEY / f"{KEY}.ipynb")
        _write(tmp_path / "autograded" / student / KEY / "timestamp.txt", "2026-12-07 10:00:00 UTC")
    # submitted again after grading: its notebook is newer than the autograded copy
    os.utime(tmp_path / "autograded" / "resubmitted" / KEY / f"{KEY}.ipynb", (past - 60, past - 60))
    # collected again with another submission time
    _write(tmp_path / "submitted" / "new_stamp" / KEY / "timestamp.txt", "2026-12-07 11:00:00 UTC")
    # the run was killed before this one's notebook was written
    (tmp_path / "autograded" / "killed" / KEY).mkdir(parents=True)
    return tmp_path


def test_a_rerun_with_missing_grades_only_what_has_no_up_to_date_result(tmp_path):
    course = _course(tmp_path)
    picked = {s: not already_graded(course, "submitted", "autograded", KEY, s)
              for s in ("done", "killed", "resubmitted", "new_stamp", "renamed")}
    assert picked == {"done": False, "killed": True, "resubmitted": True, "new_stamp": True, "renamed": True}


def test_the_option_exists():
    assert build_parser().parse_args([KEY, "--missing"]).missing


def test_a_rerun_removes_what_a_killed_run_left_in_the_temporary_folder(tmp_path):
    """A killed run leaves its grading folders (students' files) behind; the next run removes those whose
    grading process is gone, and never a folder of a run still going or one that names no process."""
    import subprocess
    import sys

    from dlcourse.grading.worker import OWNER_FILE, TMP_PREFIX, sweep_stale

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for name, pid in (("killed", gone.pid), ("running", os.getpid()), ("unnamed", None)):
        folder = tmp_path / f"{TMP_PREFIX}{name}"
        _write(folder / "course" / "submitted" / "s" / KEY / f"{KEY}.ipynb")
        if pid is not None:
            (folder / OWNER_FILE).write_text(str(pid))
    (tmp_path / "other").mkdir()
    assert sweep_stale(str(tmp_path)) == [str(tmp_path / f"{TMP_PREFIX}killed")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dlcourse-grade-running", "dlcourse-grade-unnamed", "other"]


def test_a_rerun_removes_the_cgroups_a_killed_run_left(tmp_path):
    """The kernels' cgroups of a killed run's grading folder go with the folder (empty ones; killed first)."""
    import subprocess
    import sys

    from dlcourse.grading import worker

    groups_of = worker._cgroups_of(f"{worker.TMP_PREFIX}killed")
    if not groups_of:
        from conftest import unavailable

        unavailable("no writable cgroup for the grader here", required_in_ci=os.geteuid() == 0)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / f"{worker.TMP_PREFIX}killed"
    folder.mkdir()
    (folder / worker.OWNER_FILE).write_text(str(gone.pid))
    for group in groups_of:
        group.mkdir()
    try:
        assert worker.sweep_stale(str(tmp_path)) == [str(folder)]
        assert [g for g in groups_of if g.exists()] == []
    finally:
        for group in groups_of:
            if group.exists():
                group.rmdir()
