"""A simulated class on the course's JupyterHub: the time of each step of the weekly cycle, and the hub's memory.

Run as root with the course environment (after ``make hub-install``)::

    python tools/hub_class.py [--students 30] [--workers 2] [--assignment ch01_learning_from_data]

It sets up a throw-away hub with ``tools/hub.py`` (a scratch state folder, accounts ``dlhubc-*``), logs
every student in through the hub's login form (without starting their servers), and runs each step as the
students and the instructor would from their terminals on the hub: release, N fetches, N submits (a third
answer everything, a third leave it blank, a third get one question wrong), collect, autograde with
``dlcourse-grade``, feedback (generate, release, N fetches). It prints the seconds of each step, the
resident memory of the hub and its proxy, and the scores; then removes the hub and its accounts.
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat

import hub  # tools/hub.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
HUB_TOOL = ROOT / "tools" / "hub.py"
PREFIX = "dlhubc"


def tool(hub_dir: Path, *args: str) -> None:
    out = subprocess.run([sys.executable, str(HUB_TOOL), "--hub-dir", str(hub_dir), *args],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"tools/hub.py {' '.join(args)} failed:\n{out.stdout}{out.stderr}")


def as_user(hub_dir: Path, user: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    role = "instructor" if user.endswith("-teach") else "student"
    return hub.as_user(user, list(args), cwd=cwd, timeout=None, hub_dir=hub_dir, role=role)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def hub_memory(hub_dir: Path) -> dict[str, float]:
    out = {}
    for name, pid_file in (("hub", "jupyterhub.pid"), ("proxy", "jupyterhub-proxy.pid")):
        path = hub_dir / pid_file
        out[name] = rss_mb(int(path.read_text().strip())) if path.exists() else 0.0
    return out


def login(url: str, user: str, password: str) -> None:
    """The hub's login form, as a browser posts it; the redirect to the user's server is not followed."""
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(f"{url}hub/login").read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    try:
        opener.open(f"{url}hub/login", data=data)
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            raise SystemExit(f"login of {user} failed: HTTP {exc.code}")


def answers(key: str):
    release = nbformat.read(ROOT / "notebooks" / key / f"{key}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / key / f"{key}.ipynb", as_version=4)
    full = hub.filled_in(release, solution)
    wrong = nbformat.from_dict(json.loads(nbformat.writes(full)))
    graded = [c for c in wrong.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    graded[-1].source = "raise ValueError('a wrong answer')"
    return {"full": full, "blank": release, "wrong": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignment", default="ch01_learning_from_data")
    parser.add_argument("--cell-timeout", type=int, default=60)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the class has real Unix accounts")
    leftovers = [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(PREFIX)]
    if leftovers:
        raise SystemExit(f"accounts of an earlier run are still there: {leftovers}")
    key = args.assignment
    hub_dir = Path(tempfile.mkdtemp(prefix="dlcourse-hub-class-", dir="/tmp"))
    os.chmod(hub_dir, 0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    teach = f"{PREFIX}-teach"
    students = [f"{PREFIX}-s{i:02d}" for i in range(1, args.students + 1)]
    kinds = {s: ("full", "blank", "wrong")[i % 3] for i, s in enumerate(students)}
    passwords = {s: secrets.token_urlsafe(10) for s in students}
    notebooks = answers(key)
    times: list[tuple[str, float]] = []
    memory: list[tuple[str, dict]] = []

    def timed(name: str, fn):
        start = time.perf_counter()
        result = fn()
        times.append((name, time.perf_counter() - start))
        print(f"{name}: {times[-1][1]:.1f} s", file=sys.stderr, flush=True)
        return result

    try:
        roster = hub_dir / "roster.csv"
        with open(roster, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "first_name", "last_name", "email", "password"])
            writer.writerows([s, s, "Student", f"{s}@example.org", passwords[s]] for s in students)
        timed("set-up (make hub: accounts, course copy, exchange)",
              lambda: tool(hub_dir, "setup", "--instructor", teach, "--group", f"{PREFIX}-course",
                           "--port", str(port)))
        timed(f"roster of {len(students)} (make hub-users)", lambda: tool(hub_dir, "users", str(roster)))
        timed("hub start", lambda: tool(hub_dir, "start", "--background"))
        memory.append(("hub started", hub_memory(hub_dir)))
        timed(f"{len(students)} logins (no servers started)",
              lambda: [login(url, s, passwords[s]) for s in students])
        memory.append((f"{len(students)} users logged in", hub_memory(hub_dir)))
        settings = json.loads((hub_dir / "hub.json").read_text())
        course_dir, course = settings["course_dir"], settings["course_id"]

        def check(result):
            if result.returncode:
                raise SystemExit(f"{result.args} failed:\n{result.stdout}{result.stderr}")

        timed("release", lambda: check(as_user(hub_dir, teach, "nbgrader", "release_assignment", key,
                                               cwd=course_dir)))
        timed(f"{len(students)} fetches", lambda: [check(as_user(hub_dir, s, "nbgrader", "fetch_assignment", key,
                                                                 "--course", course)) for s in students])
        for s in students:
            path = Path(pwd.getpwnam(s).pw_dir) / key / f"{key}.ipynb"
            nbformat.write(notebooks[kinds[s]], path)
            os.chown(path, pwd.getpwnam(s).pw_uid, pwd.getpwnam(s).pw_gid)
        timed(f"{len(students)} submits", lambda: [check(as_user(hub_dir, s, "nbgrader", "submit", key,
                                                                 "--course", course)) for s in students])
        timed("collect", lambda: check(as_user(hub_dir, teach, "nbgrader", "collect", key, cwd=course_dir)))
        grading = timed(f"autograde (dlcourse-grade, {args.workers} workers)",
                        lambda: as_user(hub_dir, teach, str(Path(sys.executable).parent / "dlcourse-grade"), key,
                                        "--workers", str(args.workers), "--cell-timeout", str(args.cell_timeout),
                                        "--no-progress", "--report", "report.json", cwd=course_dir))
        report = json.loads(Path(course_dir, "report.json").read_text())
        timed("feedback: generate", lambda: check(as_user(hub_dir, teach, "nbgrader", "generate_feedback", key,
                                                          cwd=course_dir)))
        timed("feedback: release", lambda: check(as_user(hub_dir, teach, "nbgrader", "release_feedback", key,
                                                         cwd=course_dir)))
        timed(f"feedback: {len(students)} fetches",
              lambda: [check(as_user(hub_dir, s, "nbgrader", "fetch_feedback", key, "--course", course))
                       for s in students])
        memory.append(("after the cycle", hub_memory(hub_dir)))
        fetched = sum(bool(list((Path(pwd.getpwnam(s).pw_dir) / key / "feedback").glob(f"*/{key}.html")))
                      for s in students)

        print(f"\n# A class of {len(students)} on the hub: {key}, {os.cpu_count()} cores\n")
        print("| step | seconds |\n|---|---:|")
        for name, seconds in times:
            print(f"| {name} | {seconds:.1f} |")
        print("\n| hub memory (resident) | JupyterHub MB | proxy MB |\n|---|---:|---:|")
        for name, mem in memory:
            print(f"| {name} | {mem['hub']:.0f} | {mem['proxy']:.0f} |")
        scores: dict[str, list[float]] = {}
        for row in report:
            scores.setdefault(kinds[row["student"]], []).append(row["score"])
        print(f"\nscores by kind of submission: "
              + ", ".join(f"{k}: {sorted(set(v))} x{len(v)}" for k, v in sorted(scores.items())))
        print(f"dlcourse-grade exit status {grading.returncode}; feedback fetched by {fetched} of {len(students)}")
    finally:
        subprocess.run([sys.executable, str(HUB_TOOL), "--hub-dir", str(hub_dir), "teardown"],
                       capture_output=True, text=True)


if __name__ == "__main__":
    main()
