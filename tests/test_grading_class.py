"""One synthetic class of chapter 1, graded once by ``dlcourse-grade``: exact scores for every case.

The class mixes honest and hostile submissions (infinite loop, kernel crash, memory bomb,
deleted and edited cells, broken files, huge outputs, patched checks, a kernel that swallows
errors, attempts to read secrets and to reach the network) with the adversarial suite of
:mod:`grading_attacks` (every attack on the grader we know of). Every student must get exactly
the points the answers deserve, no attack may score above the honest wrong answer it builds on,
and the run must go on past every bad one.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

import grading_attacks as attacks
from grading_fixtures import (
    KEY, MAE, ROOT, delete, full_marks, graded_test_ids, hidden_lines, index_of, insert_after, isolation_caps,
    make_course, max_score, partial, partial_score, placeholder, points, release, replace, solution, source_of, submit,
    visible_part, without, wrong_for_its_test,
)

pytestmark = pytest.mark.slow

READ_SECRETS = """
import glob, os
targets = [{solution!r}, {gradebook!r}, {other!r}, {repo_solution!r}, "../../../gradebook.db",
           "../../../source/{key}/{key}.ipynb", *glob.glob("/tmp/dlcourse-grade-*/course/gradebook.db")]
for path in targets:
    try:
        with open(path, "rb") as fh:
            fh.read(100)
        print("READ-OK", path)
    except OSError as exc:
        print("READ-FAIL", path, type(exc).__name__)
try:
    with open(checks.__file__, "a") as fh:
        fh.write("# tampered")
    print("WRITE-OK checks")
except OSError as exc:
    print("WRITE-FAIL checks", type(exc).__name__)
print("HISTORY", "\\n".join(In))
"""

NETWORK = """
import socket
for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("NET-OK", host, port)
    except OSError as exc:
        print("NET-FAIL", host, port, type(exc).__name__)
"""

PATCH_CHECKS = """
checks.check_task_types = lambda *a, **k: None
checks.check_mse = lambda *a, **k: None
"""

HOOKS = """
get_ipython().set_custom_exc((AssertionError, NameError), lambda *a, **k: None)
get_ipython().input_transformers_cleanup.append(
    lambda lines: [l for l in lines if not l.lstrip().startswith(("assert", "checks."))])
"""

SWALLOW = """
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
def _run_nothing(raw_cell, *args, **kwargs):
    return ExecutionResult(ExecutionInfo(raw_cell, False, False, False, None))
get_ipython().run_cell = _run_nothing
"""

SWALLOW_DEEP = """
import asyncio
_kernel = get_ipython().kernel
async def _do_nothing(code, silent, *args, **kwargs):
    return {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}
_kernel.do_execute = _do_nothing
"""

FULL, MAX, PARTIAL = full_marks(), max_score(), partial_score()
Q1, Q3, Q6 = "q1_task_types_test", "q3_mse_test", "q6_diverging_lr_test"
_TESTS = graded_test_ids()

#: student -> (autograded points, derived from the release's points; status; words the reason must contain)
EXPECTED = {
    "sol": (FULL, "graded", ""),
    "blank": (0, "graded", ""),
    "partial_1": (PARTIAL, "graded", ""),
    "partial_2": (PARTIAL, "graded", ""),
    "partial_3": (PARTIAL, "graded", ""),
    "loop": (without(Q6), "graded", "timeout in q6_diverging_lr"),
    "stuck": (without(Q6), "graded", "timeout in q6_diverging_lr; stuck in q6_diverging_lr"),
    # restarted, earlier cells replayed: nothing lost
    "crash": (FULL, "graded", f"kernel_died in cell {index_of(solution(), Q1) + 1}"),
    "membomb": (without(Q6), "graded", "memory in q6_diverging_lr"),
    "del_answer": (without(Q6), "graded", "restored in q6_diverging_lr"),
    "del_test": (without(Q1), "graded", "restored in q1_task_types_test"),
    "edit_test": (without(Q3), "graded", ""),
    "extra_cells": (FULL, "graded", ""),
    "bad_json": (0, "failed", "not a valid notebook"),
    "wrong_name": (0, "failed", f"missing {KEY}.ipynb (submitted: ch01.ipynb)"),
    "huge_output": (FULL, "graded", ""),
    "patched": (without(Q1, Q3), "graded", ""),
    # run_cell replaced by a no-op: no later answer runs in the kernel, so every test fails honestly
    "swallow": (0, "graded", ""),
    # do_execute answers "ok" to everything: the grader gets no data, fails every test and flags it
    "swallow_deep": (0, "tampered", "tampered in " + ", ".join(_TESTS[:3])
                     + (f" and {len(_TESTS) - 3} more" if len(_TESTS) > 3 else "")),
    "secrets": (FULL, "graded", ""),
    "network": (FULL, "graded", ""),
}


EXPECTED.update(attacks.EXPECTED)


def build_class(course: Path, port: int) -> None:
    sol = solution()
    submit(course, "sol", sol)
    submit(course, "blank", release())
    for i in (1, 2, 3):
        submit(course, f"partial_{i}", partial())
    q6_back = source_of(sol, "q6_diverging_lr")
    submit(course, "loop", wrong_for_its_test(sol, "q6_diverging_lr", "while True:\n    pass\n"))
    submit(course, "stuck", wrong_for_its_test(
        sol, "q6_diverging_lr", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"))
    submit(course, "crash", insert_after(sol, Q1, "import os\nos._exit(1)\n"))
    submit(course, "membomb", wrong_for_its_test(sol, "q6_diverging_lr", "_big = np.ones(500_000_000)  # 4 GB\n"))
    submit(course, "del_answer", insert_after(delete(sol, "q6_diverging_lr"), Q6, q6_back))
    submit(course, "del_test", delete(replace(sol, "q1_task_types", placeholder("q1_task_types")), Q1))
    submit(course, "edit_test", replace(wrong_for_its_test(sol, "q3_mse", "def mse(y_true, y_pred):\n    return 0.0\n"),
                                        Q3, "pass\n"))
    extra = insert_after(insert_after(sol, None, "# My notes", "markdown"), "q2_split_test", "print('extra')\nz = 1\n")
    submit(course, "extra_cells", insert_after(extra, None, "x_extra = 1\n"))
    submit(course, "bad_json", raw='{"cells": [ this is not json')
    submit(course, "wrong_name", sol, name="ch01.ipynb")
    submit(course, "huge_output", insert_after(sol, "setup", "for i in range(100_000):\n    print(i)\nprint('x' * 20_000_000)\n"))
    patched = wrong_for_its_test(replace(sol, "q1_task_types", placeholder("q1_task_types")), "q3_mse", MAE)
    submit(course, "patched", insert_after(insert_after(patched, "setup", PATCH_CHECKS), "setup", HOOKS))
    submit(course, "swallow", insert_after(sol, "setup", SWALLOW))
    submit(course, "swallow_deep", insert_after(release(), "setup", SWALLOW_DEEP))
    secrets = READ_SECRETS.format(
        solution=str(course / "solutions" / KEY / f"{KEY}.ipynb"), gradebook=str(course / "gradebook.db"),
        other=str(course / "submitted" / "sol" / KEY / f"{KEY}.ipynb"),
        repo_solution=str(ROOT / "solutions" / KEY / f"{KEY}.ipynb"), key=KEY,
    )
    submit(course, "secrets", insert_after(sol, "q7_threshold_test", secrets))
    submit(course, "network", insert_after(sol, "q7_threshold_test", NETWORK.format(port=port)))
    attacks.build(course)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    server = socket.create_server(("127.0.0.1", 0))  # a service on loopback the kernels must not reach
    port = server.getsockname()[1]
    threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()
    build_class(course, port)
    before = attacks.machine_state()
    env = dict(os.environ, **attacks.GRADER_SECRETS)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dlcourse-grade"), KEY, "--workers", "2", "--cell-timeout", "15",
         "--notebook-timeout", "240", "--memory-limit", "1536M", "--no-progress",
         "--report", "report.json", "--export", "grades.csv"],
        cwd=course, capture_output=True, text=True, timeout=1500, env=env,
    )
    server.close()
    after = attacks.machine_state()
    report = {r["student"]: r for r in json.loads((course / "report.json").read_text())}
    return {"course": course, "stdout": out.stdout, "stderr": out.stderr, "rc": out.returncode, "report": report,
            "before": before, "after": after}


def autograded(course: Path, student: str):
    return nbformat.read(course / "autograded" / student / KEY / f"{KEY}.ipynb", as_version=4)


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + "".join(out.get("traceback", [])) + str(out.get("data", "")))
    return "\n".join(parts)


def test_every_submission_is_graded_in_one_run(graded_class):
    assert sorted(graded_class["report"]) == sorted(EXPECTED), graded_class["stderr"][-3000:]
    assert graded_class["rc"] == 1  # some were flagged
    assert "Isolation of students' kernels" in graded_class["stderr"]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_exact_score_status_and_reason(graded_class, student):
    points, status, reason = EXPECTED[student]
    got = graded_class["report"][student]
    assert (got["score"], got["max_score"], got["status"]) == (points, MAX, status), got
    assert reason in got["reason"], got


def test_summary_table_lists_every_student(graded_class):
    lines = graded_class["stdout"].splitlines()
    assert lines[0].split() == ["student", "score", "max", "status", "reason"]
    for student, (points, status, _) in EXPECTED.items():
        row = next(line for line in lines if line.split()[:1] == [student])
        assert row.split()[1:4] == [f"{points:g}", f"{MAX:g}", status]


def test_same_submission_graded_three_times_gets_identical_grades(graded_class):
    rows = {r["student_id"]: r for r in csv.DictReader(open(graded_class["course"] / "grades.csv"))}
    grades = [{k: v for k, v in rows[f"partial_{i}"].items() if k != "student_id"} for i in (1, 2, 3)]
    assert grades[0] == grades[1] == grades[2]
    assert grades[0][Q1] == "0.0" and grades[0][Q3] == "0.0"
    assert float(grades[0]["total"]) == PARTIAL


def test_export_has_every_question_of_every_student(graded_class):
    rows = list(csv.DictReader(open(graded_class["course"] / "grades.csv")))
    assert [r["student_id"] for r in rows] == sorted(EXPECTED)
    header = list(rows[0])
    assert header[:2] == ["student_id", "assignment"] and header[-3:] == ["late_penalty", "total", "max_score"]
    graded = [gid for gid in points()]  # the release's graded cells, in notebook order
    assert header[2:-3] == graded
    assert {r["late_penalty"] for r in rows} == {"0.0"}  # no due date: no penalty
    sol = next(r for r in rows if r["student_id"] == "sol")
    assert [sol[q] for q in _TESTS] == [str(points()[q]) for q in _TESTS]
    assert all(sol[q] == "" for q in graded if q not in _TESTS)  # written answers await manual grading
    assert sol["max_score"] == str(MAX)
    patched = next(r for r in rows if r["student_id"] == "patched")
    assert (patched[Q1], patched[Q3], patched["total"]) == ("0.0", "0.0", str(without(Q1, Q3)))


#: Code lines of the visible parts of q1's and q3's tests: feedback shows them.
VISIBLE_TEST_LINES = [ln.strip() for gid in (Q1, Q3) for ln in visible_part(source_of(release(), gid)).splitlines()
                      if ln.strip() and not ln.strip().startswith(("#", '"""'))]


def require_isolation() -> None:
    """Skip where Linux does not permit namespaces here; in CI as root they must work."""
    isolation_caps()


def test_kernel_cannot_read_secrets_write_checks_or_see_hidden_tests(graded_class):
    require_isolation()
    text = outputs_text(autograded(graded_class["course"], "secrets"))
    printed = [ln.split()[0] for ln in text.splitlines() if ln.split()[:1] and ln.split()[0].isupper()]
    assert printed.count("READ-FAIL") == 6 and "READ-OK" not in printed
    assert "WRITE-FAIL" in printed and "WRITE-OK" not in printed
    assert "HISTORY" in printed and "BEGIN HIDDEN TESTS" not in text
    assert not [line for line in hidden_lines() if line in text]


def test_kernel_cannot_reach_the_network(graded_class):
    require_isolation()
    text = outputs_text(autograded(graded_class["course"], "network"))
    assert text.count("NET-FAIL") == 3 and "NET-OK" not in text


def test_huge_output_is_truncated_in_the_graded_notebook(graded_class):
    path = graded_class["course"] / "autograded" / "huge_output" / KEY / f"{KEY}.ipynb"
    assert path.stat().st_size < 2_000_000


def _visible_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_feedback_never_shows_hidden_tests(graded_class):
    from dlcourse.grading import generate_feedback

    course = graded_class["course"]
    hidden = hidden_lines()
    assert len(hidden) > 5
    for student in ("sol", "partial_1", "secrets"):
        assert generate_feedback(course, KEY, student=student)
        page = course / "feedback" / student / KEY / f"{KEY}.html"
        text = _visible_text(page)
        raw = page.read_text()
        assert "HIDDEN TESTS" not in text
        for line in hidden:
            assert line not in text and html.escape(line) not in raw, (student, line)
        for line in VISIBLE_TEST_LINES:  # visible tests stay
            assert line in text, (student, line)
    # partial_1 failed a hidden test of q3: the feedback says so without the test's code
    text = _visible_text(course / "feedback" / "partial_1" / KEY / f"{KEY}.html")
    assert "[hidden test]" in text


def test_plain_nbgrader_feedback_is_configured_to_strip_hidden_tests(graded_class):
    """nbgrader_config.py adds StripHiddenTests, so `nbgrader generate_feedback` (formgrader too) is safe."""

    course = graded_class["course"]
    out = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", KEY,
                          "--student", "partial_2", "--force"], cwd=course, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = _visible_text(course / "feedback" / "partial_2" / KEY / f"{KEY}.html")
    assert "[hidden test]" in text and all(line in text for line in VISIBLE_TEST_LINES)
    assert not [ln for ln in hidden_lines() if ln in text]


# --- the adversarial suite (grading_attacks): no attack beats its honest base, nothing leaks ----------

def _student_outputs(course: Path, student: str) -> str:
    """Outputs the student's kernel produced (every cell except the graded tests, which the grader wrote)."""
    if not (course / "autograded" / student / KEY / f"{KEY}.ipynb").is_file():
        return ""
    nb = autograded(course, student)
    parts = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + "".join(out.get("traceback", [])) + json.dumps(out.get("data", {})))
    return "\n".join(parts)


def test_no_attack_scores_above_its_honest_base(graded_class):
    honest = {"blank": 0, "partial_1": PARTIAL, "sol": FULL, "honest_q3": without(Q3), "honest_q6": without(Q6)}
    report = graded_class["report"]
    for base, score in honest.items():
        assert report[base]["score"] == score, report[base]
    for student, (points, _, _) in attacks.EXPECTED.items():
        base = attacks.BASE[student]
        assert report[student]["score"] == points, (student, report[student])
        assert points <= report[base]["score"], (student, points, base, report[base]["score"])


def test_attacks_read_write_and_reach_nothing_outside_the_allowlist(graded_class):
    require_isolation()
    course = graded_class["course"]
    everything = "\n".join(_student_outputs(course, s) for s in EXPECTED)
    for marker in ("READ-OK", "WRITE-OK", "LEAK-OK", "NET-OK"):  # printed at the start of a line when it worked
        assert not [ln for ln in everything.splitlines() if ln.startswith(marker)], marker
    for secret in attacks.GRADER_SECRETS.values():
        assert secret not in everything
    writes = [ln for ln in _student_outputs(course, "write_outside").splitlines() if ln.startswith("WRITE-FAIL")]
    reads = [ln for ln in _student_outputs(course, "outside_checkout").splitlines() if ln.startswith("READ-FAIL")]
    assert len(writes) == 8 and len(reads) >= 15, (writes, reads)
    env_keys = next(ln for ln in _student_outputs(course, "env_secrets").splitlines() if ln.startswith("ENV-KEYS"))
    assert "DLCOURSE_GRADER_TOKEN" not in env_keys and "AWS_SECRET_ACCESS_KEY" not in env_keys
    assert "HOSTNAME sandbox" in _student_outputs(course, "hostname")
    assert "FILES" in _student_outputs(course, "symlink_extras")
    outside = attacks.outside_dir(course)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt", "solutions"]
    assert not list(course.rglob("pwned")) and not Path(ROOT, "pwned").exists()
    assert graded_class["after"]["outside"] == graded_class["before"]["outside"]


def test_attacks_leave_nothing_running_or_allocated(graded_class):
    require_isolation()
    assert "STARTED 50" in _student_outputs(graded_class["course"], "fork_sleepers")
    assert "SHM-CREATED" in _student_outputs(graded_class["course"], "sysv_shm")
    assert graded_class["after"]["procs"] == [] and graded_class["after"]["shm"] is False
    out = subprocess.run(["pgrep", "-a", "-f", "ipykernel_launcher"], capture_output=True, text=True)
    assert str(graded_class["course"]) not in out.stdout


def test_no_hidden_test_line_is_recoverable_from_what_students_see(graded_class):
    from dlcourse.grading import generate_feedback

    course = graded_class["course"]
    hidden = hidden_lines()
    assert len(hidden) > 5
    # whatever any kernel printed, in plain form, reversed, base64 or split over lines
    for student in EXPECTED:
        assert attacks.recoverable(hidden, _student_outputs(course, student)) == [], student
    # and the feedback pages of the attacks that tried hardest
    for student in attacks.LEAKERS:
        assert generate_feedback(course, KEY, student=student)
        page = _visible_text(course / "feedback" / student / KEY / f"{KEY}.html")
        assert attacks.recoverable(hidden, page) == [], student


def test_the_detector_finds_hidden_lines_in_every_encoding():
    """The leak search itself can fail: it finds a line written plainly, reversed, in base64 or split."""
    import base64

    line = 'assert task_types["wine_quality_score"] == "regression", "wine_quality_score is wrong"'
    for text in (line, line[::-1], base64.b64encode(line.encode()).decode(),
                 "\n".join(line[i:i + 7] for i in range(0, len(line), 7))):
        assert attacks.recoverable([line], "noise " + text + " noise") == [line]
    assert attacks.recoverable([line], "nothing to see") == []
