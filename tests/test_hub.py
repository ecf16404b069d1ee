"""A class on the course's JupyterHub, end to end, in headless Chromium through the hub's login page.

``tools/hub.py`` (what ``make hub`` and ``make hub-users`` run) sets up a hub in a scratch state folder
with real Unix accounts: an instructor, five students from an nbgrader roster CSV (three in the browser, two
at a terminal), and one account that is not on the roster. Set-up runs without ``--share-env``: where the
course environment is in a closed folder (a Python under /root), the default opens it, with a message.
Then, for ``ch01_learning_from_data``:

1. the instructor logs in (PAM) and releases the assignment from a terminal (``nbgrader release_assignment``);
2. each student logs in, in a browser context of their own, and fetches the assignment from JupyterLab's
   Assignment List; one answers everything, one leaves it blank, one gets q7 wrong; each submits from the
   Assignment List, the wrong one twice (the first time with every answer right: the second counts);
3. the instructor collects, autogrades with ``dlcourse-grade``, grades the written answer (q8) in the
   formgrader (opened in its own tab: nbgrader issue 1870), generates and releases feedback from it;
   on the way, bad input and faults: a fourth student submits a renamed notebook and a 20 MB file from a
   terminal (told at submit, reported by the grader, the class still graded); a fifth hands in chapter 2's
   notebook as chapter 1's (refused at submit with the reason; forced in with nbgrader's plain submit, it is
   reported by the grader as another assignment's); the due date is one minute before the first submission
   and the course's late plugin takes 2 points per started hour (each submission flagged late and exactly 2
   points off, none below zero, in the report, the gradebook and the feedback); the first grading run is
   killed (SIGKILL to its process group) after its first result, and a rerun with ``--missing`` grades
   exactly the others: exact scores, one submission and one grade per cell per student in the gradebook;
4. each student fetches feedback from the Assignment List and sees their own exact score and no hidden test;
5. isolation: students cannot list or read the exchange's submissions and feedback of others, other homes,
   the instructor's course directory or the formgrader, from a terminal (``runuser``, the user's own
   rights) or from a notebook (a kernel of their server); the account off the roster cannot log in or fetch;
6. the hub stops; no process of its accounts is left, and the accounts are removed.

Skipped only where a hub cannot run (not root, no PAM); in CI (``make test-hub``) it must run.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, unavailable
from grading_cases import CASES
from dlcourse.grading import gradebook
from dlcourse.grading.submission import NOT_FETCHED
from grading_fixtures import KEY, full_marks, hidden_lines, points, release, replace, solution

_spec = importlib.util.spec_from_file_location("hubtool", ROOT / "tools" / "hub.py")
hubtool = importlib.util.module_from_spec(_spec)  # tools/hub.py: the hub's set-up, and running as a user
_spec.loader.exec_module(hubtool)

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.browser]

BIN = Path(sys.executable).parent
HUB_TOOL = ROOT / "tools" / "hub.py"
PREFIX = "dlhubt"  # every account the test creates starts with it
INSTRUCTOR = f"{PREFIX}-teach"
FULL, BLANK, WRONG = f"{PREFIX}-ann", f"{PREFIX}-ben", f"{PREFIX}-cy"
OUTSIDER = f"{PREFIX}-eve"
#: A student who works from a terminal only: renames the notebook and adds a huge file before submitting.
MALFORMED = f"{PREFIX}-dan"
#: A student who hands in chapter 2's notebook as chapter 1's (terminal only).
WRONG_ID = f"{PREFIX}-fay"
OTHER = "ch02_neurons"
#: The course's late penalty in this test: points off per started hour late (dlcourse.grading.late).
PER_HOUR = 2.0
STUDENTS = (FULL, BLANK, WRONG)
WRITTEN = "q8_validation_written"
#: The instructor's marks for the written answer (q8), per student.
MANUAL = {FULL: 2.0, BLANK: 0.0, WRONG: 1.0}
SPAWN_TIMEOUT_MS = 240_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(hub_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, str(HUB_TOOL), "--hub-dir", str(hub_dir), *args],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"tools/hub.py {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out


def _as(user: str, *args: str, cwd: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """A command as a hub user, as in their terminal on the hub (the course environment, the hub's config)."""
    role = "instructor" if user == INSTRUCTOR else "student"
    return hubtool.as_user(user, list(args), cwd=cwd, timeout=timeout, hub_dir=HUB["dir"], role=role)


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _denied(user: str, *args: str) -> str:
    result = _as(user, *args)
    assert result.returncode != 0, f"{user} could run {args}:\n{result.stdout}"
    return result.stderr


# --------------------------------------------------------------------------------------------------
# The students' notebooks


def answered() -> nbformat.NotebookNode:
    """The release with every answer cell filled in from the solution (solution markers and the written
    answer's mark scheme left out), as a student who answers everything would hand it in."""
    return hubtool.filled_in(release(), solution())


def wrong() -> nbformat.NotebookNode:
    grade_id, source, _ = CASES[KEY].wrong_answer
    return replace(answered(), grade_id, source)


# --------------------------------------------------------------------------------------------------
# The hub

HUB: dict = {}
_T0 = [time.monotonic()]


def step(name: str) -> None:
    """Print how long the previous step took (pytest shows it with -s or on failure)."""
    now = time.monotonic()
    print(f"[hub test] {now - _T0[0]:6.1f} s  {name}", flush=True)
    _T0[0] = now


@pytest.fixture(scope="module")
def hub():
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        unavailable("the hub needs root: it creates Unix accounts and starts servers as them (make test-hub as root)")
    if not Path("/etc/pam.d").is_dir() or shutil.which("useradd") is None:
        unavailable("no PAM or no useradd on this machine: the hub logs users in with PAM")
    if not (BIN / "jupyterhub").exists():
        unavailable(f"jupyterhub is not installed in {BIN} (make hub-install: requirements-hub.txt)")
    if not (ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        unavailable("configurable-http-proxy is not installed (make hub-install: npm ci in hub/)")
    leftovers = [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(PREFIX)]
    assert not leftovers, f"accounts of an earlier run are still there: {leftovers}"
    hub_dir = Path(tempfile.mkdtemp(prefix="dlcourse-hub-test-", dir="/tmp"))
    os.chmod(hub_dir, 0o755)
    port = _free_port()
    group = f"{PREFIX}-course"
    passwords = {name: secrets.token_urlsafe(12) for name in (INSTRUCTOR, *STUDENTS, MALFORMED, WRONG_ID, OUTSIDER)}
    HUB.update(dir=hub_dir, port=port, url=f"http://127.0.0.1:{port}/", passwords=passwords, group=group)
    modes_before = {p: os.stat(p).st_mode for p in ("/root", "/home") if os.path.exists(p)}
    blocked = hubtool.blocked_folders()
    try:
        # No --share-env: where the course environment is in a closed folder (a Python under /root), the
        # default makes it reachable, and says so.
        out = _tool(hub_dir, "setup", "--instructor", INSTRUCTOR, "--instructor-password", passwords[INSTRUCTOR],
                    "--group", group, "--port", str(port))
        if blocked:
            assert "Making them searchable by other users" in out.stderr and str(blocked[0]) in out.stderr, out.stderr
            assert not hubtool.blocked_folders()
        roster = hub_dir / "roster.csv"
        with open(roster, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "first_name", "last_name", "email", "password"])
            for name in (*STUDENTS, MALFORMED, WRONG_ID):
                writer.writerow([name, name.split("-")[1].title(), "Student", f"{name}@example.org", passwords[name]])
        _tool(hub_dir, "users", str(roster))
        # An account on the machine that is not on the roster (not in the course's group).
        subprocess.run(["useradd", "--create-home", OUTSIDER], check=True)
        with open(hub_dir / "created-users.txt", "a") as handle:
            handle.write(OUTSIDER + "\n")
        subprocess.run(["chpasswd"], input=f"{OUTSIDER}:{passwords[OUTSIDER]}\n", text=True, check=True)
        HUB["uids"] = {name: pwd.getpwnam(name).pw_uid for name in (INSTRUCTOR, *STUDENTS, MALFORMED, WRONG_ID,
                                                                       OUTSIDER)}
        HUB["settings"] = json.loads((hub_dir / "hub.json").read_text())
        _tool(hub_dir, "start", "--background", timeout=180)
        yield HUB
    finally:
        subprocess.run([sys.executable, str(HUB_TOOL), "--hub-dir", str(hub_dir), "teardown"],
                       capture_output=True, text=True, timeout=300)
        for path, mode in modes_before.items():
            os.chmod(path, mode & 0o7777)


@pytest.fixture(scope="module")
def browser():
    from browser_helpers import launch_chromium

    with launch_chromium() as chromium:
        yield chromium


def login(browser, user: str, *, wait: bool = True):
    """Log in through the hub's login page (the hub then starts the user's server); with ``wait``, wait
    for the user's JupyterLab (:func:`wait_for_lab`)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{HUB['url']}hub/login", wait_until="domcontentloaded")
    page.fill("#username_input", user)
    page.fill("#password_input", HUB["passwords"][user])
    page.click("#login_submit")
    if wait:
        wait_for_lab(page, user)
    return context, page


def wait_for_lab(page, user: str) -> None:
    page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/lab"), timeout=SPAWN_TIMEOUT_MS)
    page.wait_for_selector("#jp-main-dock-panel", timeout=SPAWN_TIMEOUT_MS)


def api(page, method: str, path: str, body=None, *, form: dict | None = None):
    """A request from the page (its cookies and XSRF token), as JupyterLab's own extensions send them."""
    return page.evaluate(
        """async ([method, url, body, form]) => {
            const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
            const headers = {'X-XSRFToken': decodeURIComponent(xsrf)};
            let payload = undefined;
            if (form) { payload = new URLSearchParams(form); }
            else if (body !== null) { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
            const r = await fetch(url, {method, headers, body: payload, credentials: 'same-origin'});
            return {status: r.status, text: await r.text()};
        }""",
        [method, path, body, form],
    )


def run_in_kernel(page, user: str, code: str) -> str:
    """Run ``code`` in a new kernel of the user's own server (as a notebook cell would), return its output."""
    return page.evaluate(
        """async ([user, code]) => {
            const xsrf = decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '');
            const headers = {'X-XSRFToken': xsrf, 'Content-Type': 'application/json'};
            const base = `/user/${user}/api/kernels`;
            const kernel = await (await fetch(base, {method: 'POST', headers, body: '{}'})).json();
            const id = 'hub-test-' + Math.random().toString(16).slice(2);
            const ws = new WebSocket(`ws://${location.host}${base}/${kernel.id}/channels`);
            const out = await new Promise((resolve) => {
                let text = '';
                setTimeout(() => resolve(text + ' TIMEOUT'), 90000);
                ws.onopen = () => ws.send(JSON.stringify({
                    header: {msg_id: id, username: user, session: id, msg_type: 'execute_request',
                             version: '5.3', date: new Date().toISOString()},
                    parent_header: {}, metadata: {}, channel: 'shell',
                    content: {code, silent: false, store_history: false, user_expressions: {},
                              allow_stdin: false}}));
                ws.onmessage = (event) => {
                    const m = JSON.parse(event.data);
                    if (!m.parent_header || m.parent_header.msg_id !== id) return;
                    if (m.msg_type === 'stream') text += m.content.text;
                    if (m.msg_type === 'error') text += m.content.ename + ': ' + m.content.evalue;
                    if (m.msg_type === 'status' && m.content.execution_state === 'idle') resolve(text);
                };
            });
            ws.close();
            await fetch(`${base}/${kernel.id}`, {method: 'DELETE', headers});
            return out;
        }""",
        [user, code],
    )


def open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List", exact=True).click()
    page.wait_for_selector("#released_assignments_list, #fetched_assignments_list", timeout=60_000)


def click_in_list(page, list_id: str, label: str, done_label: str | None = None, timeout_ms: int = 120_000):
    """Click ``label`` on chapter 1's row of an Assignment List section and wait until the action ends."""
    page.click("#refresh_assignments_list")
    row = page.locator(f"#{list_id} .list_item", has_text=KEY).first
    button = row.locator("button", has_text=re.compile(rf"^{label}$"))
    button.wait_for(timeout=timeout_ms)
    button.click()
    if done_label:
        page.locator(f"#{list_id} .list_item", has_text=KEY).locator(
            "button", has_text=re.compile(rf"^{done_label}$")).first.wait_for(timeout=timeout_ms)


def put_notebook(page, user: str, nb) -> None:
    """The student's edits: the fetched notebook saved with their answers (the contents API JupyterLab saves with)."""
    path = f"{KEY}/{KEY}.ipynb"
    got = api(page, "GET", f"/user/{user}/api/contents/{path}?content=0")
    assert got["status"] == 200, f"{user} has no fetched {path}: {got}"
    put = api(page, "PUT", f"/user/{user}/api/contents/{path}",
              {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))})
    assert put["status"] in (200, 201), put


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.5)


def feedback_score(text: str) -> tuple[float, float]:
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html.unescape(re.sub(r"<[^>]+>", "", text)))
    assert match, "the feedback shows no score"
    return float(match.group(1)), float(match.group(2))


# --------------------------------------------------------------------------------------------------
# The class


def test_a_class_on_the_hub(hub, browser):
    settings = hub["settings"]
    course_dir = settings["course_dir"]
    exchange = Path(settings["exchange"]) / settings["course_id"]
    assert settings["course_id"] == "dl-keras"

    step("hub started")
    # 1. The instructor logs in; releases chapter 1 from a terminal. The students log in meanwhile (the
    #    hub starts the four servers at once).
    teach_ctx, teach = login(browser, INSTRUCTOR, wait=False)
    pages = {student: login(browser, student, wait=False) for student in STUDENTS}
    wait_for_lab(teach, INSTRUCTOR)
    _ok(_as(INSTRUCTOR, "nbgrader", "release_assignment", KEY, cwd=course_dir))
    assert (exchange / "outbound" / KEY / f"{KEY}.ipynb").is_file()

    step("1. instructor logged in, released")
    # 2. Three students fetch from the Assignment List, answer, submit.
    for student, notebooks in ((FULL, [answered()]), (BLANK, [release()]), (WRONG, [answered(), wrong()])):
        ctx, page = pages[student]
        wait_for_lab(page, student)
        step(f"2. {student} logged in")
        open_assignment_list(page)
        click_in_list(page, "released_assignments_list", "Fetch")
        page.locator("#fetched_assignments_list .list_item", has_text=KEY).first.wait_for(timeout=120_000)
        step(f"2. {student} fetched")
        for count, nb in enumerate(notebooks, start=1):
            put_notebook(page, student, nb)
            click_in_list(page, "fetched_assignments_list", "Submit")
            _wait_for(lambda: len(list((exchange / "inbound").glob(f"{student}+{KEY}+*"))) == count,
                      f"{student}'s submission {count} in the exchange")
            time.sleep(1.1)  # nbgrader's submission timestamps are to the second
    inbound = sorted(p.name for p in (exchange / "inbound").iterdir())
    assert len(inbound) == 4 and sum(p.startswith(WRONG + "+") for p in inbound) == 2, inbound

    step("2. submitted")
    # 5. Isolation, while the submissions are in the exchange.
    for student in STUDENTS:
        others = [s for s in STUDENTS if s != student]
        assert "Permission denied" in _denied(student, "ls", str(exchange / "inbound"))
        for other in others:
            theirs = next(p for p in inbound if p.startswith(other + "+"))
            guess = "+".join(theirs.split("+")[:3])  # without nbgrader's random suffix
            _denied(student, "cat", str(exchange / "inbound" / guess / f"{KEY}.ipynb"))
            _denied(student, "ls", pwd.getpwnam(other).pw_dir)
        _denied(student, "ls", course_dir)
        _denied(student, "cat", f"{course_dir}/gradebook.db")
        _denied(student, "ls", f"{course_dir}/solutions")
        # The formgrader is not on a student's server, and the instructor's server is not theirs.
        ctx, page = pages[student]
        assert api(page, "GET", f"/user/{student}/formgrader/api/assignments")["status"] == 404
        other_server = ctx.request.get(f"{HUB['url']}user/{INSTRUCTOR}/api/contents", max_redirects=10)
        assert other_server.status in (403, 404) or "/hub/login" in other_server.url or \
            INSTRUCTOR not in other_server.text(), (other_server.status, other_server.url)
    # ... and from a notebook: a kernel of a student's own server tries the same.
    probe = "\n".join([
        "import os",
        "for path in %r:" % ([str(exchange / "inbound"), course_dir, pwd.getpwnam(BLANK).pw_dir],),
        "    try:",
        "        os.listdir(path); print('READ', path)",
        "    except PermissionError:",
        "        print('DENIED', path)",
    ])
    printed = run_in_kernel(pages[FULL][1], FULL, probe)
    assert printed.count("DENIED") == 3 and "READ" not in printed, printed
    # Off the roster: no login, and no fetch from a terminal either.
    ctx, page = login(browser, OUTSIDER, wait=False)
    page.wait_for_load_state("domcontentloaded")
    assert f"/user/{OUTSIDER}/lab" not in page.url
    ctx.close()
    result = _as(OUTSIDER, "nbgrader", "fetch_assignment", KEY, "--course", settings["course_id"])
    assert result.returncode != 0 or not Path(pwd.getpwnam(OUTSIDER).pw_dir, KEY).exists(), result.stdout
    assert not Path(pwd.getpwnam(OUTSIDER).pw_dir, KEY).exists()

    step("5. isolation checked")
    # Bad input: a renamed notebook with a huge extra file, from a terminal. The student is told at submit.
    _ok(_as(MALFORMED, "nbgrader", "fetch_assignment", KEY, "--course", settings["course_id"]))
    folder = Path(pwd.getpwnam(MALFORMED).pw_dir) / KEY
    _ok(_as(MALFORMED, "mv", str(folder / f"{KEY}.ipynb"), str(folder / "my_answers.ipynb")))
    _ok(_as(MALFORMED, "truncate", "-s", "20M", str(folder / "huge.bin")))
    told = _ok(_as(MALFORMED, "nbgrader", "submit", KEY, "--course", settings["course_id"]))
    assert f"{KEY}.ipynb: MISSING" in told and "my_answers.ipynb: EXTRA" in told, told
    assert "huge.bin" in told, told  # left out: over the exchange's size limit
    theirs = next((exchange / "inbound").glob(f"{MALFORMED}+{KEY}+*"))
    assert not (theirs / "huge.bin").exists() and (theirs / "my_answers.ipynb").exists()
    # Bad input: another assignment's notebook (chapter 2's, saved as chapter 1's). Refused at submit, with why.
    _ok(_as(WRONG_ID, "nbgrader", "fetch_assignment", KEY, "--course", settings["course_id"]))
    theirs_nb = Path(pwd.getpwnam(WRONG_ID).pw_dir) / KEY / f"{KEY}.ipynb"
    shutil.copyfile(ROOT / "notebooks" / OTHER / f"{OTHER}.ipynb", theirs_nb)
    os.chown(theirs_nb, hub["uids"][WRONG_ID], -1)
    refused = _as(WRONG_ID, "nbgrader", "submit", KEY, "--course", settings["course_id"])
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0 and f"Assignment {KEY} not submitted" in said and NOT_FETCHED in said, said
    assert not list((exchange / "inbound").glob(f"{WRONG_ID}+*"))
    # The check is a courtesy: nbgrader's plain submit takes it, and the grader reports it.
    _ok(_as(WRONG_ID, "nbgrader", "submit", KEY, "--course", settings["course_id"],
            "--ExchangeFactory.submit=nbgrader.exchange.default.submit.ExchangeSubmit"))
    # 3. Collect.
    _ok(_as(INSTRUCTOR, "nbgrader", "collect", KEY, cwd=course_dir))
    # Late: the due date one minute before the first submission, so that every submission is late by
    # less than an hour: one started hour, PER_HOUR points off (the course's plugin, configured here).
    from nbgrader.utils import parse_utc

    stamps = [parse_utc(p.read_text().strip()) for p in Path(course_dir, "submitted").glob(f"*/{KEY}/timestamp.txt")]
    assert len(stamps) == 5, stamps
    due = min(stamps) - dt.timedelta(minutes=1)
    assert max(stamps) - due < dt.timedelta(minutes=50), "the submissions took too long for one started hour"
    _ok(_as(INSTRUCTOR, "nbgrader", "db", "assignment", "add", KEY, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC",
            cwd=course_dir))
    with open(Path(course_dir, "nbgrader_config.py"), "a", encoding="utf-8") as handle:  # the instructor's file
        handle.write("\nc.AssignLatePenalties.plugin_class = 'dlcourse.grading.late.SubMarksPerHour'\n"
                     f"c.SubMarksPerHour.points_per_hour = {PER_HOUR}\n")
    # Autograde with dlcourse-grade, and kill it midway: SIGKILL to its whole process group once the first
    # submission is graded (one at a time: the others are not).
    command = [hubtool.RUNUSER, "-u", INSTRUCTOR, "--", str(BIN / "dlcourse-grade"), KEY, "--workers", "1",
               "--cell-timeout", "60", "--no-progress", "--report", "killed.json"]
    env = hubtool.user_env(INSTRUCTOR, hub_dir=HUB["dir"], role="instructor")
    killed = subprocess.Popen(command, cwd=course_dir, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    first = Path(course_dir, "autograded", FULL, KEY, "timestamp.txt")
    _wait_for(lambda: first.exists() or killed.poll() is not None, "graded first submission", timeout=600)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "dlcourse-grade ended before it was killed"
    time.sleep(2)  # the fork server, and with it the grading of the next submission, go with it
    left = [c for c in _cmdlines(hub["uids"][INSTRUCTOR]) if "dlcourse-grade" in c or "forkserver" in c]
    assert not left, f"grading outlived the kill: {left}"
    assert not Path(course_dir, "killed.json").exists()
    done = sorted(s for s in (*STUDENTS, MALFORMED, WRONG_ID)
                  if Path(course_dir, "autograded", s, KEY, "timestamp.txt").exists())
    assert done and FULL in done and len(done) < 3, done
    from nbgrader.api import Gradebook, Grade, SubmittedAssignment, SubmittedNotebook

    auto = {FULL: full_marks(), BLANK: 0.0, WRONG: CASES[KEY].wrong_answer[2]}
    # The course's penalty, capped at the score (nbgrader's AssignLatePenalties): none below zero.
    penalty = {s: min(PER_HOUR, auto[s]) for s in STUDENTS}
    expected_auto = {s: auto[s] - penalty[s] for s in STUDENTS}

    def gradebook_state():
        with Gradebook(f"sqlite:///{course_dir}/gradebook.db") as gb:
            rows = {s: (gb.db.query(SubmittedAssignment).join(SubmittedAssignment.student)
                        .filter_by(id=s).count(),
                        gb.db.query(Grade).join(Grade.notebook).join(SubmittedNotebook.assignment)
                        .join(SubmittedAssignment.student).filter_by(id=s).count())
                    for s in (*STUDENTS, MALFORMED, WRONG_ID)}
            totals = {}
            for s in STUDENTS:
                try:
                    sub = gb.find_submission(KEY, s)
                except Exception:  # noqa: BLE001  (not graded yet)
                    continue
                totals[s] = (sub.score - sub.late_submission_penalty, sub.total_seconds_late > 0)
        return rows, totals

    rows, totals = gradebook_state()
    assert totals[FULL] == (expected_auto[FULL], True), totals  # recorded before the kill, and kept
    # The rerun with --missing grades what the killed run did not, and nothing twice.
    grading = _as(INSTRUCTOR, str(BIN / "dlcourse-grade"), KEY, "--workers", "2", "--cell-timeout", "60",
                  "--missing", "--no-progress", "--report", "report.json", cwd=course_dir, timeout=900)
    again = json.loads(Path(course_dir, "report.json").read_text())
    report = {r["student"]: r for r in again}
    assert sorted(report) == sorted({*STUDENTS, MALFORMED, WRONG_ID} - set(done)), (done, sorted(report))
    assert f"--missing: {len(done)} submissions already graded" in grading.stderr, grading.stderr[-2000:]
    # ... and removed the grading folder (a student's files) that the killed run left in /tmp.
    assert "grading folders of a run that was stopped midway" in grading.stderr, grading.stderr[-2000:]
    assert not [p for p in Path(tempfile.gettempdir()).glob("dlcourse-grade-*")
                if _uid_of(p) == hub["uids"][INSTRUCTOR]]
    assert {s: report[s]["score"] for s in report if s in STUDENTS} == \
        {s: expected_auto[s] for s in report if s in STUDENTS}, \
        (grading.stdout, {s: (r.get("reason"), (r.get("log") or "")[-1500:]) for s, r in report.items()})
    for s in report:
        if s in STUDENTS:  # flagged late, PER_HOUR off (none below zero)
            assert (report[s]["seconds_late"] > 0, report[s]["late_penalty"]) == (True, penalty[s]), report[s]
            assert "late by" in report[s]["reason"], report[s]
    # The malformed submissions are reported with their reasons; the rest of the class was graded.
    assert report[MALFORMED]["status"] != "graded" and f"{KEY}.ipynb" in report[MALFORMED]["reason"], \
        report[MALFORMED]
    assert report[WRONG_ID]["status"] == "failed" and NOT_FETCHED in report[WRONG_ID]["reason"] \
        and f"({OTHER})" in report[WRONG_ID]["reason"], report[WRONG_ID]
    assert MALFORMED in grading.stdout and WRONG_ID in grading.stdout and grading.returncode == 1
    # The gradebook: one submission per student, one grade per graded cell, the exact scores after penalty.
    rows, totals = gradebook_state()
    cells = len(gradebook.max_scores(f"sqlite:///{course_dir}/gradebook.db", KEY))
    assert rows == {s: (1, cells) for s in (*STUDENTS, MALFORMED, WRONG_ID)}, rows
    assert totals == {s: (expected_auto[s], True) for s in STUDENTS}, totals

    step("3. collected, autograded")
    teach.goto(f"{HUB['url']}user/{INSTRUCTOR}/formgrader/manage_assignments", wait_until="domcontentloaded")
    # The formgrader in a tab of its own: inside JupyterLab's iframe, JupyterHub's Content-Security-Policy
    # (frame-ancestors 'none') blanks it (nbgrader issue 1870).
    try:
        teach.wait_for_function(f"() => document.body.innerText.includes('{KEY}')", timeout=60_000)
    except Exception:
        pytest.fail(f"the formgrader does not list {KEY}: "
                    f"{api(teach, 'GET', f'/user/{INSTRUCTOR}/formgrader/api/assignments')}")
    listed = json.loads(api(teach, "GET", f"/user/{INSTRUCTOR}/formgrader/api/submitted_notebooks/{KEY}/{KEY}")["text"])
    by_student = {s["student"]: s for s in listed}
    for student in STUDENTS:
        grades = json.loads(api(teach, "GET",
                                f"/user/{INSTRUCTOR}/formgrader/api/grades?submission_id={by_student[student]['id']}")["text"])
        q8 = next(g for g in grades if g["name"] == WRITTEN)
        saved = api(teach, "PUT", f"/user/{INSTRUCTOR}/formgrader/api/grade/{q8['id']}",
                    {"manual_score": MANUAL[student], "extra_credit": None})
        assert saved["status"] == 200, saved
    for action in ("generate_feedback", "release_feedback"):
        done = api(teach, "POST", f"/user/{INSTRUCTOR}/formgrader/api/assignment/{KEY}/{action}")
        assert done["status"] == 200 and json.loads(done["text"]).get("success"), done

    step("3. graded q8, feedback released")
    # 4. Each student fetches feedback: their own exact score, no hidden test.
    max_total = sum(points().values())
    hidden = hidden_lines()
    for student in STUDENTS:
        ctx, page = pages[student]
        # The Assignment List offers feedback on the submitted row it belongs to.
        page.click("#refresh_assignments_list")
        button = page.locator("#submitted_assignments_list button", has_text=re.compile(r"^Fetch Feedback$"))
        button.first.wait_for(timeout=120_000)
        assert button.count() == 1, f"{student}: {button.count()} submissions offer feedback"
        button.first.click()
        home = Path(pwd.getpwnam(student).pw_dir)
        deadline = time.monotonic() + 60
        while not list((home / KEY / "feedback").glob(f"*/{KEY}.html")) and time.monotonic() < deadline:
            time.sleep(0.5)
        pages_html = list((home / KEY / "feedback").glob(f"*/{KEY}.html"))
        assert len(pages_html) == 1, f"{student}: {pages_html}"
        text = pages_html[0].read_text(encoding="utf-8")
        assert feedback_score(text) == (expected_auto[student] + MANUAL[student], max_total), student
        if penalty[student]:
            assert f"Late submission penalty (Score: -{penalty[student]:g}" in html.unescape(text), student
        visible = html.unescape(re.sub(r"<[^>]+>", "", text))
        assert "HIDDEN TESTS" not in visible
        assert not [ln for ln in hidden if ln in visible or html.escape(ln) in text], student
        # ... and cannot list the exchange's feedback of the others.
        _denied(student, "ls", str(exchange / "feedback"))
    for ctx, _ in pages.values():
        ctx.close()
    teach_ctx.close()

    step("4. feedback fetched and checked")
    # 6. The hub stops cleanly: no process of its accounts or its own is left; the accounts go.
    _tool(hub["dir"], "teardown")
    for name, uid in hub["uids"].items():
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
        alive = [entry.name for entry in Path("/proc").iterdir() if entry.name.isdigit()
                 and _uid_of(entry) == uid]
        assert not alive, f"processes of {name} are left: {alive}"
    left = [p for p in _cmdlines() if str(hub["dir"]) in p or "jupyterhub_config.py" in p and str(ROOT) in p]
    assert not left, left
    assert not hub["dir"].exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", hub["port"])) != 0, "the hub's port still answers"
    step("6. stopped, accounts removed")


def _uid_of(entry: Path) -> int | None:
    try:
        return entry.stat().st_uid
    except FileNotFoundError:
        return None


def _cmdlines(uid: int | None = None) -> list[str]:
    """The command lines of the machine's processes (of ``uid``'s only, with ``uid``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (uid is None or _uid_of(entry) == uid):
            try:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out
