"""``dlcourse-grade`` with a PostgreSQL gradebook, on a real server started by the test."""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import require
from grading_fixtures import KEY, full_marks, make_course, max_score, points, release, solution, submit

pytestmark = pytest.mark.slow


def pg_bin() -> Path:
    """Debian keeps PostgreSQL's programs in /usr/lib/postgresql/<version>/bin, off PATH."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)])
    found = shutil.which("initdb", path=search) or require("initdb")
    return Path(found).resolve().parent  # a link on PATH points into that folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL server on 127.0.0.1; its URL for a fresh ``gradebook`` database."""
    bindir = pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))
    data, port = folder / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True, text=True)  # noqa: E731
    run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(bindir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "start",
        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "gradebook")
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_class_graded_into_postgresql(postgres, tmp_path):
    course = make_course(tmp_path / "course")
    submit(course, "alice", solution())
    submit(course, "bob", release())
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dlcourse-grade"), KEY, "--db-url", postgres, "--workers", "2",
         "--cell-timeout", "15", "--memory-limit", "1536M", "--no-progress", "--export", "grades.csv"],
        cwd=course, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (course / "gradebook.db").exists()  # nothing went to the SQLite default
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    assert (rows["alice"]["total"], rows["bob"]["total"], rows["alice"]["max_score"]) == (
        str(full_marks()), "0.0", str(max_score()))
    assert rows["alice"]["q3_mse_test"] == str(points()["q3_mse_test"]) and rows["bob"]["q3_mse_test"] == "0.0"

    from nbgrader.api import Gradebook

    from dlcourse.grading import absolute_db_url

    with Gradebook(absolute_db_url(postgres, course)) as gb:
        assert gb.find_submission(KEY, "alice").code_score == full_marks()
        assert gb.find_submission(KEY, "bob").code_score == 0

    # the class report reads the same PostgreSQL gradebook (issue 26)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dlcourse-grade"), KEY, "--db-url", postgres, "--skip-grading",
         "--insights", "report"], cwd=course, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((course / "report" / "insights.json").read_text())
    assert data["submissions"] == 2 and data["max_score"] == max_score()
    assert all(q["manual"] or q["full"] == 1 for q in data["questions"])  # alice full marks, bob none
