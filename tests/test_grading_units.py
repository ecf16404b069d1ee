"""Unit tests of the grading machinery: helpers, preprocessors and the kernel sandbox."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
import sys

import nbformat
import pytest

from conftest import unavailable
from grading_fixtures import (KEY, delete, full_marks, index_of, isolation_caps, make_course, points, release,
                              replace, solution, source_of, submit)

from dlcourse import grading
from dlcourse.grading import gradebook as grading_gradebook, sandbox as grading_sandbox, worker as grading_worker
from dlcourse.grading.preprocessors import RestoreMissingCells, StripHiddenTests, hidden_test_lines, secret_lines


def test_parse_size():
    assert grading.parse_size("4G") == 4 << 30
    assert grading.parse_size("512M") == 512 << 20
    assert grading.parse_size("1.5k") == 1536
    assert grading.parse_size("1000") == 1000
    assert grading.parse_size("none") is None and grading.parse_size("0") is None


def test_relative_sqlite_url_is_made_absolute_from_the_course_root(tmp_path):
    assert grading.absolute_db_url("sqlite:///gradebook.db", tmp_path) == f"sqlite:///{tmp_path}/gradebook.db"
    assert grading.absolute_db_url("sqlite:////x/g.db", tmp_path) == "sqlite:////x/g.db"
    assert grading.absolute_db_url("postgresql+psycopg2://u@h/db", tmp_path) == "postgresql+psycopg2://u@h/db"
    driver = "postgresql://" if importlib.util.find_spec("psycopg") else "postgresql+psycopg2://"
    assert grading.absolute_db_url("postgresql://u@h/db", tmp_path) == f"{driver}u@h/db"


def test_find_submissions(tmp_path):
    for student in ("bob", "alice"):
        (tmp_path / "submitted" / student / KEY).mkdir(parents=True)
    (tmp_path / "submitted" / "carol" / "other").mkdir(parents=True)
    assert grading.find_submissions(tmp_path, "submitted", KEY) == ["alice", "bob"]
    assert grading.find_submissions(tmp_path, "submitted", KEY, ["bob"]) == ["bob"]


def test_summary_table():
    table = grading.summary_table([
        {"student": "alice", "score": 16.0, "max_score": 18.0, "status": "graded", "reason": ""},
        {"student": "bo", "score": 0, "max_score": 18.0, "status": "failed", "reason": "x.ipynb is not a valid notebook"},
    ])
    assert table.splitlines() == [
        "student  score  max  status  reason",
        "-------  -----  ---  ------  ------",
        "alice    16     18   graded",
        "bo       0      18   failed  x.ipynb is not a valid notebook",
    ]


def test_hidden_test_lines_of_chapter_1():
    """Every non-blank line between the markers of every hidden region, and nothing else."""
    expected, inside = [], False
    for cell in solution().cells:
        for line in cell.source.splitlines():
            if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                inside = line.strip().startswith("### BEGIN")
            elif inside and line.strip():
                expected.append(line.strip())
    lines = [ln for c in solution().cells for ln in hidden_test_lines(c.source)]
    assert len(lines) > 20 and lines == expected
    assert lines[0] == "checks.check_task_type(task_type, cases=["
    assert not any("HIDDEN" in ln for ln in lines)
    assert secret_lines("### BEGIN HIDDEN TESTS\ncall(x, [\n    1,\n])\n### END HIDDEN TESTS\n") == ["call(x, ["]


def _graded_nb(source: str, outputs):
    cell = nbformat.v4.new_code_cell(source, outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "locked": True,
                                 "solution": False, "schema_version": 3}
    return nbformat.v4.new_notebook(cells=[cell])


def test_strip_hidden_tests_removes_regions_and_redacts_outputs():
    source = 'check(x)\n### BEGIN HIDDEN TESTS\nassert secret_fn(3) == 9, "wrong"\n### END HIDDEN TESTS'
    traceback = ["\x1b[0;31mAssertionError\x1b[0m", "----> 3 \x1b[38;5;28;01massert\x1b[39;00m secret_fn(3) == 9, \"wrong\""]
    nb = _graded_nb(source, [
        nbformat.v4.new_output("stream", name="stdout", text='leak: assert secret_fn(3) == 9, "wrong"\n'),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=traceback),
    ])
    nb, _ = StripHiddenTests().preprocess(nb, {})
    cell = nb.cells[0]
    assert cell.source == "check(x)"
    assert cell.outputs[0].text == "leak: [hidden test]\n"
    assert cell.outputs[1].traceback == ["AssertionError", "----> 3 [hidden test]"]
    assert cell.outputs[1].evalue == "wrong"


def test_feedback_shows_no_kernel_output_produced_after_the_tests_sent_their_inputs():
    """Issue 24, item 5: a student's cell that ran after a test called its code (it may print what the
    tests sent), and the student's own error message raised on a hidden input, stay out of feedback;
    a message raised on a visible line, and the instructor's autograded notebook, keep them."""
    source = 'check(f)\n### BEGIN HIDDEN TESTS\nassert f(secret) == 9, "wrong"\n### END HIDDEN TESTS'
    hidden_tb = ["ValueError", '----> 3 assert f(secret) == 9, "wrong"', "ValueError: got [4, 2, 7]"]
    visible_tb = ["ValueError", "----> 1 check(f)", "ValueError: got [1, 2]"]
    nb = _graded_nb(source, [nbformat.v4.new_output("error", ename="ValueError", evalue="got [4, 2, 7]",
                                                    traceback=hidden_tb)])
    visible = _graded_nb(source, [nbformat.v4.new_output("error", ename="ValueError", evalue="got [1, 2]",
                                                         traceback=visible_tb)]).cells[0]
    visible.metadata.nbgrader["grade_id"] = "t2"
    later = nbformat.v4.new_code_cell("print(seen)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="[4, 2, 7]\n")])
    nb.cells += [visible, later]
    nb.metadata["dlcourse_grading"] = {"after_test_calls": [2], "message_from_kernel": [0, 1]}
    nb, _ = StripHiddenTests().preprocess(nb, {})
    text = json.dumps(nb)
    assert "4, 2, 7" not in text
    assert nb.cells[0].outputs[0].evalue.startswith("(your code raised this error on an input of the hidden tests")
    assert nb.cells[1].outputs[0].evalue == "got [1, 2]"
    assert nb.cells[2].outputs[0].text.startswith("(Output not shown in feedback")


def test_restore_missing_cells_puts_deleted_cells_back_in_place(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    nbformat.write(release(), folder / f"{KEY}.ipynb")
    template_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in release().cells]
    damaged = delete(delete(delete(solution(), "setup"), "q6_diverging_lr"), "q3_mse_test")
    pre = RestoreMissingCells(release_directory=str(folder))
    nb, _ = pre.preprocess(damaged, {"nbgrader": {"notebook": KEY}})
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells] == template_ids
    assert nb.metadata["dlcourse_grading"]["restored_cells"] == ["setup", "q3_mse_test", "q6_diverging_lr"]
    assert "raise NotImplementedError" in nb.cells[template_ids.index("q6_diverging_lr")].source
    # an intact notebook is left alone
    nb, _ = pre.preprocess(solution(), {"nbgrader": {"notebook": KEY}})
    assert "dlcourse_grading" not in nb.metadata


def test_diagnose_names_the_problem():
    job = {"notebooks": [KEY], "submission": {f"{KEY}.ipynb": b"{not json"}}
    assert grading_worker._diagnose(job).startswith(f"{KEY}.ipynb is not a valid notebook (")
    job = {"notebooks": [KEY], "submission": {"ch01.ipynb": b"{}", "timestamp.txt": b"x"}}
    assert grading_worker._diagnose(job) == f"missing {KEY}.ipynb (submitted: ch01.ipynb)"
    job = {"notebooks": [KEY], "submission": {f"{KEY}.ipynb": nbformat.writes(solution()).encode()}}
    assert grading_worker._diagnose(job) is None


def test_capabilities_summary_says_what_is_off():
    caps = grading_sandbox.Capabilities(net=False, mount=True, pid=True, notes=["net namespaces are not permitted"])
    text = caps.summary()
    assert "network isolation: OFF" in text and "file isolation (private mounts): on" in text
    assert "notice: net namespaces are not permitted" in text
    policy = grading_sandbox.make_policy(caps, keep_ro=[], keep_rw=[], memory_bytes=1, file_size_bytes=2)
    assert (policy.net, policy.mount, policy.pid, policy.user) == (False, True, True, None)


# --- the sandbox itself: what the module docstring claims, tested on this machine ---------------

PROBE = r"""
import os, socket, sys
def attempt(label, fn):
    try:
        fn()
        print(label, "OK")
    except (OSError, MemoryError) as exc:
        print(label, "FAIL", type(exc).__name__)
attempt("net-loopback", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
attempt("read-secret", lambda: open(sys.argv[2]).read())
attempt("write-kept", lambda: open(os.path.join(sys.argv[3], "x"), "w"))
attempt("write-cwd", lambda: open("scratch.txt", "w").write("x"))
attempt("memory", lambda: bytearray(3 << 30))
print("uid", os.getuid(), "pid", os.getpid(), "cwd", os.getcwd(), "files", sorted(os.listdir(".")))
"""


SLEEPER = "import time; time.sleep(300)"


def sleepers(marker: str) -> list[str]:
    """PIDs of live ``python -c SLEEPER marker`` processes (not the launcher whose argv also names it)."""
    pattern = f"^{re.escape(sys.executable)} -c {re.escape(SLEEPER)} {marker}$"
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


@pytest.fixture(scope="module")
def caps():
    return isolation_caps()


def test_sandbox_confines_network_files_memory_and_user(caps, tmp_path):
    secret_dir, kept, work = tmp_path / "secret", tmp_path / "kept", tmp_path / "work"
    for d in (secret_dir, kept, work):
        d.mkdir()
    (secret_dir / "gradebook.db").write_text("top secret")
    (work / "submission.txt").write_text("mine")
    kept.chmod(0o777)
    server = socket.create_server(("127.0.0.1", 0))
    policy = grading_sandbox.make_policy(
        caps, keep_ro=[*grading_worker.kernel_needs(), str(kept)],
        keep_rw=[], memory_bytes=2 << 30, file_size_bytes=1 << 20,
    )
    policy.dump(tmp_path / "policy.json")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", str(tmp_path / "policy.json"), "--",
         sys.executable, "-c", PROBE, str(server.getsockname()[1]), str(secret_dir / "gradebook.db"), str(kept)],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    stdout, stderr = launcher.communicate(timeout=60)
    server.close()
    assert launcher.returncode == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith("net-loopback FAIL")
    assert lines[1:5] == [
        "read-secret FAIL FileNotFoundError",
        "write-kept FAIL OSError",
        "write-cwd OK",
        "memory FAIL MemoryError",
    ]
    # its own uid (issue 24): no other kernel's processes count against its RLIMIT_NPROC
    uid = policy.uid_base + launcher.pid if caps.drop_user else os.getuid()
    assert lines[5] == f"uid {uid} pid 1 cwd {work} files ['scratch.txt', 'submission.txt']"
    assert sorted(os.listdir(work)) == ["submission.txt"]  # the kernel's writes stay in its private copy


def test_sandbox_kills_everything_the_kernel_started(caps, tmp_path):
    policy = grading_sandbox.make_policy(caps, keep_ro=grading_worker.kernel_needs(),
                                         keep_rw=[], memory_bytes=None, file_size_bytes=None)
    policy.dump(tmp_path / "policy.json")
    marker = f"dlcourse-orphan-{os.getpid()}"
    code = (f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}, {marker!r}], "
            "start_new_session=True); time.sleep(1)")
    subprocess.run([sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", str(tmp_path / "policy.json"), "--",
                    sys.executable, "-c", code], cwd=tmp_path, timeout=60, check=True)
    assert sleepers(marker) == []


BURN_IN_NEW_SESSIONS = r"""
import subprocess, sys
burn = ("import os, time\nassert os.getsid(0) == os.getpid()\n"
        "print([l for l in open('/proc/self/cgroup') if 'cpu' in l.split(':')[1].split(',')][0].strip(), flush=True)\n"
        "end = time.process_time() + 1.5\nwhile time.process_time() < end: pass\n")
burners = [subprocess.Popen([sys.executable, "-c", burn], start_new_session=True) for _ in range(2)]
for b in burners:
    b.wait()
"""


def test_a_kernel_and_processes_it_starts_in_new_sessions_share_one_cpu_quota(caps, tmp_path):
    """Issue 24: burners in sessions of their own escape ``nice`` (autogroup), never the kernel's CPU cgroup."""
    if not caps.cpu_cgroup:
        unavailable(f"no writable CPU controller: {caps.notes}", required_in_ci=caps.root)
    policy = grading_sandbox.make_policy(caps, keep_ro=grading_worker.kernel_needs(),
                                         keep_rw=[], memory_bytes=None, file_size_bytes=None)
    folder = Path(caps.cpu_cgroup, f"dlcourse-test-cpu-{os.getpid()}")
    policy.cpu_cgroup, policy.cpu_cores = str(folder), 1.0
    policy.dump(tmp_path / "policy.json")
    try:
        out = subprocess.run([sys.executable, "-m", "dlcourse.grading.sandbox", "--policy",
                              str(tmp_path / "policy.json"), "--", sys.executable, "-c", BURN_IN_NEW_SESSIONS],
                             cwd=tmp_path, timeout=60, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert len(lines) == 2 and all(line.endswith("/" + folder.name) for line in lines), lines
        if (folder / "cpu.max").exists():
            assert (folder / "cpu.max").read_text().split() == ["100000", "100000"]
        else:
            assert (folder / "cpu.cfs_quota_us").read_text().strip() == "100000"
            assert (folder / "cpu.cfs_period_us").read_text().strip() == "100000"
        stat = dict(line.split() for line in (folder / "cpu.stat").read_text().splitlines())
        if (os.cpu_count() or 1) >= 2:  # two burners want two cores; the quota held them to one
            assert int(stat["nr_throttled"]) > 0, stat
    finally:
        grading_worker._remove_cgroup(folder)
    assert not folder.exists()


def test_a_kernel_gets_its_own_memory_and_process_limits_over_all_its_processes(caps, tmp_path):
    """Issue 24: memory and process counts capped per kernel (cgroup v2, else the v1 hierarchies)."""
    if not (caps.cgroup or caps.cgroups_v1):
        unavailable(f"no writable memory or pids cgroup: {caps.notes}", required_in_ci=caps.root)
    policy = grading_sandbox.make_policy(caps, keep_ro=grading_worker.kernel_needs(),
                                         keep_rw=[], memory_bytes=3 << 30, file_size_bytes=None)
    name = f"dlcourse-test-mem-{os.getpid()}"
    if caps.cgroup:
        policy.cgroup = str(Path(caps.cgroup, name))
        limits = {Path(policy.cgroup, "memory.max"): str(3 << 30), Path(policy.cgroup, "pids.max"): "1024"}
    else:
        policy.cgroups_v1 = {c: str(Path(b, name)) for c, b in caps.cgroups_v1.items()}
        files = {"memory": "memory.limit_in_bytes", "pids": "pids.max"}
        limits = {Path(f, files[c]): str(3 << 30) if c == "memory" else "1024" for c, f in policy.cgroups_v1.items()}
    policy.dump(tmp_path / "policy.json")
    groups = [Path(f).parent for f in limits]
    try:
        out = subprocess.run([sys.executable, "-m", "dlcourse.grading.sandbox", "--policy",
                              str(tmp_path / "policy.json"), "--", sys.executable, "-c",
                              "print(open('/proc/self/cgroup').read())"],
                             cwd=tmp_path, timeout=60, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert sum(line.endswith("/" + name) for line in out.stdout.splitlines()) == len(set(groups)), out.stdout
        assert {f: f.read_text().strip() for f in limits} == limits
    finally:
        for folder in set(groups):
            grading_worker._remove_cgroup(folder)
    assert not any(folder.exists() for folder in groups)


def test_kernel_dies_when_its_launcher_is_killed(caps, tmp_path):
    """A SIGKILLed launcher (a stuck kernel's restart, a submission timeout) leaves no kernel behind.

    Dropping to ``nobody`` clears the parent-death signal, so the launcher must re-arm it after.
    """
    policy = grading_sandbox.make_policy(caps, keep_ro=grading_worker.kernel_needs(),
                                         keep_rw=[], memory_bytes=None, file_size_bytes=None)
    policy.dump(tmp_path / "policy.json")
    marker = f"dlcourse-kernel-{os.getpid()}"
    launcher = subprocess.Popen([sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", str(tmp_path / "policy.json"),
                                 "--", sys.executable, "-c", SLEEPER, marker], cwd=tmp_path)
    try:
        for _ in range(100):
            if sleepers(marker):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the confined process never started")
        launcher.kill()
        launcher.wait(timeout=10)
        for _ in range(50):
            if not sleepers(marker):
                break
            time.sleep(0.1)
        assert sleepers(marker) == [], "the kernel outlived its launcher"
    finally:
        for pid in sleepers(marker):
            os.kill(int(pid), 9)


def _one_job(tmp_path, student: str, notebook, options: dict, release_nb=None):
    """A course with one submission and the grading job for it (its gradebook seeded); ``release_nb``
    replaces the course's released notebook."""
    course = make_course(tmp_path / "course")
    if release_nb is not None:
        nbformat.write(release_nb, course / "notebooks" / KEY / f"{KEY}.ipynb")
    submit(course, student, notebook)
    db = f"sqlite:///{course}/gradebook.db"
    grading_gradebook.ensure_assignment(course, "solutions", KEY, db)
    grading_gradebook.write_seed(db, KEY, tmp_path / "seed.db")
    dirs = {"source": "solutions", "release": "notebooks", "submitted": "submitted"}
    return course, grading_worker.make_job(course, dirs, KEY, student, (tmp_path / "seed.db").read_bytes(),
                                           [KEY], options)


@pytest.mark.slow
def test_a_submission_that_takes_too_long_is_stopped_and_reported(tmp_path):
    _, job = _one_job(tmp_path, "slow", replace(solution(), "q1_task_types", "while True:\n    pass\n"),
                      {"cell_timeout": 120, "notebook_timeout": 8})
    result = grading_worker.run_job(job)
    assert result["status"] == "failed" and result["seconds"] < 30
    assert result["reason"].startswith("grading took longer than 8 s and was stopped; ")
    # the unexecuted notebook's test cells fail: every test scores zero, never the stored outputs
    assert _autograded_score(result["notebooks"][KEY]) == 0


@pytest.mark.slow
def test_only_cells_the_release_marks_slow_get_the_slow_deadline(tmp_path):
    """A stuck answer costs the short cell timeout; the cells the release marks slow (``dlcourse.slow``:
    the set-up, training) get four times it. The mark is read from the release, so a submission that
    marks its own cell slow still gets the short deadline. Honest base: the solution with q1's answer
    sleeping 6 s, under a 3 s timeout."""
    sleepy = replace(solution(), "q1_task_types", "import time\ntime.sleep(6)\n" + source_of(solution(), "q1_task_types"))
    sleepy.cells[index_of(sleepy, "q1_task_types")].metadata["dlcourse"] = {"slow": True}
    options = {"cell_timeout": 3, "notebook_timeout": 200}
    _, job = _one_job(tmp_path / "unmarked", "sleepy", sleepy, options)
    result = grading_worker.run_job(job)
    assert result["status"] == "graded", result
    assert _autograded_score(result["notebooks"][KEY]) == full_marks() - points()["q1_task_types_test"]
    marked = release()
    marked.cells[index_of(marked, "q1_task_types")].metadata["dlcourse"] = {"slow": True}
    _, job = _one_job(tmp_path / "marked", "sleepy", sleepy, options, release_nb=marked)
    result = grading_worker.run_job(job)
    assert result["status"] == "graded", result
    assert _autograded_score(result["notebooks"][KEY]) == full_marks()


@pytest.mark.slow
def test_a_test_cell_has_one_deadline_for_all_its_requests(tmp_path):
    """Issue 24: each call of q3's test answers within the cell timeout (3 s of 5), but the test makes
    four calls; the test as a whole runs out of time and scores zero, flagged; the tests
    before it keep their points."""
    from nbgrader.utils import determine_grade

    slow_mse = "import time\n\ndef mse(y_true, y_pred):\n    time.sleep(3.0)\n" \
               "    return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))\n"
    _, job = _one_job(tmp_path, "slowcalls", replace(solution(), "q3_mse", slow_mse),
                      {"cell_timeout": 5, "notebook_timeout": 300})
    result = grading_worker.run_job(job)
    nb = nbformat.reads(result["notebooks"][KEY], as_version=4)
    scores = {c.metadata.nbgrader["grade_id"]: determine_grade(c)[0] for c in nb.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    p = points()
    assert scores["q3_mse_test"] == 0
    assert scores["q1_task_types_test"] == p["q1_task_types_test"] and scores["q2_split_test"] == p["q2_split_test"]
    assert any(i["cell"] == "q3_mse_test" and i["kind"] == "timeout" for i in result["incidents"]), result["incidents"]


def _autograded_score(text: str) -> float:
    """nbgrader's own score of the graded test cells of an autograded notebook (JSON text)."""
    from nbgrader.utils import determine_grade

    nb = nbformat.reads(text, as_version=4)
    return sum(determine_grade(c)[0] or 0 for c in nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))


def _ancestors(pid: int) -> list[int]:
    out = []
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
        out.append(pid)
    return out


KILL_MARKER = f"dlcourse-kill-grader-{os.getpid()}"
#: A cell after the second test: leaves a marked process for the test to find, then keeps the kernel busy.
PARK = ("import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', {KILL_MARKER!r}])\ntime.sleep(60)\n")


@pytest.mark.slow
def test_a_killed_grading_process_scores_zero_for_every_test_it_did_not_complete(tmp_path):
    """Issue 24, item 8: the grader's child that runs the test cells is killed (as the out-of-memory
    killer would): the tests it completed keep their grades, every other test scores zero, the
    reason says why, and nothing is taken from the unexecuted notebook. Honest base: the full
    solution, of which only q1 and q2's tests ran before the kill."""
    import threading

    from grading_fixtures import insert_after, points

    _, job = _one_job(tmp_path, "killed", insert_after(solution(), "q2_split_test", PARK),
                      {"cell_timeout": 120, "notebook_timeout": 200})
    killed = []

    def killer():
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not killed:
            found = subprocess.run(["pgrep", "-f", KILL_MARKER], capture_output=True, text=True).stdout.split()
            for pid in found:
                for parent in _ancestors(int(pid)):
                    try:
                        cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
                    except OSError:
                        continue
                    if b"forkserver" in cmdline or b"dlcourse.grading.worker" in cmdline:
                        os.kill(parent, 9)  # the grader's child that runs the test cells
                        killed.append(parent)
                        break
                if killed:
                    break
            time.sleep(0.2)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = grading_worker.run_job(job)
    thread.join()
    for pid in subprocess.run(["pgrep", "-f", KILL_MARKER], capture_output=True, text=True).stdout.split():
        os.kill(int(pid), 9)
    assert killed, "the grading process was never found"
    assert result["status"] == "failed" and result["seconds"] < 100
    assert result["reason"].startswith("the grading process was killed (SIGKILL) before it finished; ")
    p = points()
    assert _autograded_score(result["notebooks"][KEY]) == p["q1_task_types_test"] + p["q2_split_test"]
    assert any(i["kind"] == "grading_stopped" for i in result["incidents"])


def test_the_grading_process_records_its_peak_memory_for_the_report(tmp_path, monkeypatch):
    """Issue 24, item 7: the report carries the grading process's peak memory (``grader_peak_mb``),
    which the class-run suites bound; a process that did not finish recorded none."""
    progress = tmp_path / "progress.jsonl"
    assert grading_worker.grader_peak_mb(progress) is None
    progress.write_text('{"notebook": "nb", "test": "q1", "outputs": []}\n')
    assert grading_worker.grader_peak_mb(progress) is None
    monkeypatch.setenv("DLCOURSE_GRADING_PROGRESS", str(progress))
    grading_worker._record_peak_memory()
    import resource

    peak = grading_worker.grader_peak_mb(progress)
    assert isinstance(peak, float) and abs(peak - resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024) < 64
    with progress.open("a") as fh:
        fh.write('{"grader_peak_kb": "lots"}\n{"grader_pe')  # not a number, and a torn line: ignored
    assert grading_worker.grader_peak_mb(progress) == peak
    assert set(grading_worker.read_progress(progress)) == {"nb"}


ENV_AND_IPC = r"""
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
print("shm", libc.shmget(int(os.sys.argv[1]), ctypes.c_size_t(1 << 20), 0o1000 | 0o600) >= 0)
print("host", socket.gethostname())
print("env", sorted(os.environ))
print("threads", os.environ.get("TF_NUM_INTRAOP_THREADS"), os.environ.get("TF_NUM_INTEROP_THREADS"))
print("root", sorted(os.listdir("/")))
"""


def test_sandbox_environment_is_allowlisted_and_ipc_and_host_name_are_private(caps, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_TEST_SECRET_TOKEN", "s3cret")
    policy = grading_sandbox.make_policy(caps, keep_ro=grading_worker.kernel_needs(), keep_rw=[], memory_bytes=None,
                                         file_size_bytes=None)
    policy.dump(tmp_path / "policy.json")
    key = 0x5EC000 + os.getpid() % 4096
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", str(tmp_path / "policy.json"), "--",
         sys.executable, "-c", ENV_AND_IPC, str(key)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["shm"] == "True" and lines["host"] == "sandbox"
    env = eval(lines["env"])  # noqa: S307  (a list of names printed by our own probe)
    assert "DLCOURSE_TEST_SECRET_TOKEN" not in env and set(env) >= {"PATH", "HOME", "TMPDIR"}
    assert lines["threads"] == "1 1", "a graded kernel gets explicit TensorFlow thread counts"
    assert set(env) <= set(grading_sandbox.ENV_ALLOWLIST) | {
        "PATH", "HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "KERAS_HOME", "JUPYTER_RUNTIME_DIR",
        "PYDEVD_DISABLE_FILE_VALIDATION", "PYTHONPATH", "USER", "LOGNAME",
        "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"}
    needed = {Path(p).parts[1] for p in grading_worker.kernel_needs()}  # e.g. usr, work (the venv), root (pyenv)
    assert set(eval(lines["root"])) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev",  # noqa: S307
                                        "proc", "tmp"} | needed
    assert f"0x{key:08x}" not in subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout


def test_a_kernel_message_over_the_size_cap_is_dropped_at_the_socket(monkeypatch):
    """Issue 24, item 7: a reply far over the cap never reaches the grader's memory; its request times out."""
    import queue

    import zmq
    from jupyter_core.utils import run_sync

    monkeypatch.setattr(grading_sandbox, "MAX_MESSAGE_BYTES", 1 << 20)
    monkeypatch.delenv("DLCOURSE_SANDBOX_POLICY", raising=False)  # a plain kernel: the cap is the client's
    km = grading_sandbox.SandboxedKernelManager(kernel_name="python3")
    run_sync(km.start_kernel)()
    kc = km.client()
    try:
        kc.start_channels()
        run_sync(kc.wait_for_ready)(timeout=60)
        assert kc.shell_channel.socket.getsockopt(zmq.MAXMSGSIZE) == 1 << 20
        small = kc.execute("", silent=True, user_expressions={"r": "'x' * 1000"})
        reply = run_sync(kc.get_shell_msg)(timeout=30)
        assert reply["parent_header"]["msg_id"] == small
        assert len(reply["content"]["user_expressions"]["r"]["data"]["text/plain"]) == 1002
        kc.execute("", silent=True, user_expressions={"r": "'x' * 3_000_000"})
        with pytest.raises(queue.Empty):
            run_sync(kc.get_shell_msg)(timeout=5)
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
