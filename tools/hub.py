"""Run the course on a JupyterHub on this machine: ``make hub``, ``make hub-users``, ``make hub-stop``.

Subcommands (run as root, with the course environment's Python):

``setup``      the hub's state folder (default ``/srv/dlcourse-hub``): ``hub.json`` (read by
               ``hub/jupyterhub_config.py``), the Jupyter configuration of each role (nbgrader's exchange
               and course id for everyone; the formgrader for instructors only), the exchange root, the
               Unix group of the course, the instructor's account and the instructor's course directory,
               a copy of this course in the instructor's home (``~/<course id>``).
``start``      JupyterHub in the foreground (``--background``: in the background, pid in the state folder).
``users FILE`` accounts for the students of an nbgrader roster CSV (``id,first_name,last_name,email``):
               each gets a Unix account in the course's group and is added to the gradebook. New accounts
               get a random password, written to ``initial-passwords.csv`` in the state folder (root only),
               unless the CSV has a ``password`` column (tests) or ``--no-passwords`` (external login).
``stop``       stops the hub (it stops every user's server and the proxy).
``teardown``   stops the hub, ends the processes of the accounts that this tool created, removes those
               accounts and the state folder. Accounts that existed before are never removed.

Only accounts created by this tool are listed in ``created-users.txt`` and removed by ``teardown``.
"""

from __future__ import annotations

import argparse
import csv
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HUB_DIR = Path("/srv/dlcourse-hub")
#: The course's own folders copied into the instructor's course directory.
COURSE_ITEMS = ("nbgrader_config.py", "solutions", "notebooks")
#: runuser, by its path: commands run as a user get a PATH without /usr/sbin.
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
#: The students' submit: nbgrader's, refusing a notebook that belongs to another assignment.
SUBMIT_CLASS = "dlcourse.grading.exchange.CheckedSubmit"
ROSTER_FIELDS = ("id", "first_name", "last_name", "email", "lms_user_id")


class HubError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"make hub: {message}")


# --------------------------------------------------------------------------------------------------
# Small helpers


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise HubError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def course_id() -> str:
    """The course id of ``nbgrader_config.py``."""
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    return str(config.CourseDirectory.course_id)


def settings(hub_dir: Path) -> dict:
    path = hub_dir / "hub.json"
    if not path.exists():
        raise HubError(f"{path} does not exist: run `make hub` (tools/hub.py setup) first")
    return json.loads(path.read_text(encoding="utf-8"))


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def as_user(user: str, args: list[str], *, cwd: str | None = None, env: dict | None = None,
            timeout: float | None = 600, hub_dir: Path | None = None, role: str = "student",
            ) -> subprocess.CompletedProcess:
    """Run a command as a Unix user (``runuser``), with the course environment first on the PATH;
    with ``hub_dir``, as in that user's terminal on the hub (the ``role``'s nbgrader configuration)."""
    environment = user_env(user, hub_dir=hub_dir, role=role, env=env)
    return subprocess.run([RUNUSER, "-u", user, "--", *args], cwd=cwd or environment["HOME"],
                          env=environment, capture_output=True, text=True, timeout=timeout)


def user_env(user: str, *, hub_dir: Path | None = None, role: str = "student", env: dict | None = None) -> dict:
    """The environment of :func:`as_user` (for a command started with ``runuser`` by other means)."""
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": pwd.getpwnam(user).pw_dir,
        "USER": user,
        "LOGNAME": user,
        "LANG": "C.UTF-8",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "PYTHONHASHSEED": "0",
    }
    if hub_dir is not None:
        environment["JUPYTER_CONFIG_PATH"] = f"{hub_dir}/etc/{role}:{hub_dir}/etc/common"
    environment.update(env or {})
    return environment


def filled_in(release, solution):
    """The released notebook with every answer cell filled in from the solution (without the solution
    markers and the written answer's mark scheme): what a student who answers everything hands in."""
    import copy
    import re

    nb = copy.deepcopy(release)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in solution.cells}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            text = re.sub(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===\n*", "",
                          answers[meta["grade_id"]].source, flags=re.S)
            cell.source = "\n".join(ln for ln in text.splitlines()
                                    if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def _created(hub_dir: Path) -> list[str]:
    path = hub_dir / "created-users.txt"
    return path.read_text().split() if path.exists() else []


def _note_created(hub_dir: Path, name: str) -> None:
    with open(hub_dir / "created-users.txt", "a") as handle:
        handle.write(name + "\n")


def create_user(hub_dir: Path, name: str, group: str, password: str | None) -> bool:
    """A Unix account with a home folder (mode 700) in ``group``; False when it already existed (it is
    then only added to the group)."""
    if user_exists(name):
        _run(["usermod", "-a", "-G", group, name])
        return False
    _run(["useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, name])
    _note_created(hub_dir, name)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    if password:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    return True


def shared_paths() -> list[Path]:
    """What every user's server reads: the interpreter, the course environment, and this checkout (the
    helper package and datasets/)."""
    return [Path(os.path.realpath(sys.executable)), Path(sys.prefix), ROOT / "datasets"]


def blocked_folders() -> list[Path]:
    """Folders on the way to :func:`shared_paths` that other users cannot enter (no o+x)."""
    blocked = []
    for path in shared_paths():
        for folder in [*reversed(path.parents), path]:
            if folder.is_dir() and not os.stat(folder).st_mode & 0o001 and folder not in blocked:
                blocked.append(folder)
    return blocked


def share_env(hub_dir: Path) -> None:
    """Make the blocked folders searchable by other users (o+x: they can enter, not list them), and note
    their modes so that teardown restores them."""
    record = hub_dir / "restore-modes.json"
    modes = json.loads(record.read_text()) if record.exists() else {}
    for folder in blocked_folders():
        mode = os.stat(folder).st_mode & 0o7777
        modes.setdefault(str(folder), mode)
        os.chmod(folder, mode | 0o001)
        print(f"made {folder} searchable by other users (o+x) for the hub; make hub-clean restores it")
    record.write_text(json.dumps(modes, indent=2))


def restore_modes(hub_dir: Path) -> None:
    record = hub_dir / "restore-modes.json"
    if record.exists():
        for folder, mode in json.loads(record.read_text()).items():
            if Path(folder).exists():
                os.chmod(folder, mode)


def preflight() -> None:
    """What the hub needs on this machine; a clear message for what is missing."""
    if os.geteuid() != 0:
        raise HubError("run as root: the hub starts each user's server as that user (real Unix accounts)")
    for program in ("useradd", "userdel", "usermod", "groupadd", "runuser", "chpasswd"):
        if shutil.which(program) is None:
            raise HubError(f"{program} is missing (Debian package passwd/util-linux)")
    if not Path("/etc/pam.d").is_dir():
        raise HubError("no PAM configuration (/etc/pam.d): the default login (PAM) cannot work here")
    try:
        import pamela  # noqa: F401
    except ImportError as exc:
        raise HubError(f"pamela does not import ({exc}): install requirements-hub.txt") from exc
    # Every user's server runs the course environment as that user: it must be readable by them.
    blocked = blocked_folders()
    if blocked:
        raise HubError(f"other users cannot reach the course environment ({sys.executable}) or its data: "
                       f"{', '.join(map(str, blocked))} not searchable by them. Put the course and its Python "
                       f"in a shared place, or let setup make these folders searchable (o+x, not readable) "
                       f"until make hub-clean: make hub without HUB_ARGS=--no-share-env")
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import nbgrader, jupyterhub"],
                           capture_output=True, text=True, cwd="/")
    if probe.returncode != 0:
        raise HubError(f"other users cannot run the course environment {sys.executable}:\n{probe.stderr[-2000:]}")


# --------------------------------------------------------------------------------------------------
# setup


def _server_extensions(instructor: bool) -> str:
    """nbgrader's server extensions of a user's server: the formgrader and course list for the instructor only."""
    return json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": instructor,
        "nbgrader.server_extensions.course_list": instructor,
        "nbgrader.server_extensions.assignment_list": True,
        "nbgrader.server_extensions.validate_assignment": True,
    }}}, indent=2)


def write_role_config(hub_dir: Path, course: str, exchange: Path, instructor: str, course_dir: Path) -> None:
    etc = hub_dir / "etc"
    common, student, instructor_dir = etc / "common", etc / "student", etc / "instructor"
    for folder in (common, student / "labconfig", instructor_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (common / "nbgrader_config.py").write_text(
        "# Written by tools/hub.py setup: the course's exchange, for every user of the hub.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "# A submission is copied whole into the exchange: refuse files over 5 MiB (nbgrader's option, kB).\n"
        "c.CourseDirectory.max_file_size = 5120\n"
        "# nbgrader's submit, refusing another assignment's notebook with a message (dlcourse.grading.exchange).\n"
        f"c.ExchangeFactory.submit = {SUBMIT_CLASS!r}\n",
        encoding="utf-8")
    # Students: no formgrader, no "create assignment" toolbar, no course list; the Assignment List and
    # the Validate button stay.
    (student / "jupyter_server_config.json").write_text(_server_extensions(instructor=False), encoding="utf-8")
    (student / "labconfig" / "page_config.json").write_text(json.dumps({
        "disabledExtensions": {
            "@jupyter/nbgrader:formgrader": True,
            "@jupyter/nbgrader:create-assignment": True,
            "@jupyter/nbgrader:course-list": True,
        }}, indent=2), encoding="utf-8")
    # The instructor's formgrader and nbgrader commands find the course directory from any folder.
    (instructor_dir / "nbgrader_config.py").write_text(
        "# Written by tools/hub.py setup: the instructor's course directory.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n",
        encoding="utf-8")
    (instructor_dir / "jupyter_server_config.json").write_text(_server_extensions(instructor=True),
                                                               encoding="utf-8")
    for path in etc.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def copy_course(instructor: str, course_dir: Path) -> None:
    """The instructor's course directory: a copy of this course (its nbgrader configuration, sources and
    release; the helper package and the data come from the course environment), owned by the instructor and closed to everyone else. An existing one is kept (it holds the
    gradebook and the submissions)."""
    if course_dir.exists():
        return
    course_dir.mkdir(parents=True)
    for item in COURSE_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, course_dir / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
        elif source.exists():
            shutil.copy2(source, course_dir / item)
    # Absolute paths: the formgrader and the Assignment List read this file from other folders.
    with open(course_dir / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write(
            "\n# Added by make hub: the course directory on the hub, as absolute paths.\n"
            f"c.CourseDirectory.root = {str(course_dir)!r}\n"
            f"c.CourseDirectory.db_url = {'sqlite:///' + str(course_dir / 'gradebook.db')!r}\n")
    owner = pwd.getpwnam(instructor)
    for dirpath, dirnames, filenames in os.walk(course_dir):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in dirnames + filenames)]:
            os.chown(name, owner.pw_uid, owner.pw_gid)
    os.chmod(course_dir, 0o700)


def cmd_setup(args) -> None:
    hub_dir: Path = args.hub_dir
    if os.geteuid() == 0:
        hub_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(hub_dir, 0o755)
        blocked = blocked_folders()
        if blocked and args.share_env is None:
            # The default: a course environment under a private folder (a pyenv or venv under /root) is
            # made reachable, with a message; --no-share-env refuses instead.
            print(f"make hub: every user's server runs {sys.executable}, but other users cannot enter "
                  f"{', '.join(map(str, blocked))}. Making them searchable by other users (o+x: they can "
                  f"open paths inside they already know, not list them) until make hub-clean, which restores "
                  f"their modes; files in them that are world-readable become readable by path. To keep "
                  f"them closed, install the course in a shared place instead (e.g. /opt) and pass "
                  f"HUB_ARGS=--no-share-env.", file=sys.stderr)
        if blocked and args.share_env is not False:
            share_env(hub_dir)
    preflight()
    course = course_id()
    group = args.group or course
    try:
        grp.getgrnam(group)
    except KeyError:
        _run(["groupadd", group])
        with open(hub_dir / "created-groups.txt", "a") as handle:
            handle.write(group + "\n")
    for instructor in args.instructor:
        create_user(hub_dir, instructor, group, args.instructor_password)
    instructor = args.instructor[0]
    course_dir = Path(pwd.getpwnam(instructor).pw_dir) / course
    copy_course(instructor, course_dir)

    # The exchange: its root open to all (nbgrader's layout, sticky so nobody removes another's folder);
    # the course's folder owned by the instructor and open only to the course's group, so that someone
    # not on the roster cannot even list the released assignments.
    exchange = hub_dir / "exchange"
    exchange.mkdir(exist_ok=True)
    os.chmod(exchange, 0o1777)
    course_exchange = exchange / course
    course_exchange.mkdir(exist_ok=True)
    owner = pwd.getpwnam(instructor)
    os.chown(course_exchange, owner.pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(course_exchange, 0o750)

    write_role_config(hub_dir, course, exchange, instructor, course_dir)
    proxy = ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        raise HubError(f"{proxy} is missing: make hub installs it (npm ci in hub/)")
    state = {
        "course_id": course,
        "group": group,
        "instructors": list(args.instructor),
        "course_dir": str(course_dir),
        "exchange": str(exchange),
        "python": sys.executable,
        "proxy": str(proxy),
        "ip": args.ip,
        "port": args.port,
        "authenticator": args.authenticator,
    }
    (hub_dir / "hub.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    print(f"hub state in {hub_dir}; course directory {course_dir} (instructor {instructor}); "
          f"exchange {exchange}")


# --------------------------------------------------------------------------------------------------
# users


def read_roster(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "id" not in rows[0]:
        raise HubError(f"{path}: an nbgrader roster needs a header with an `id` column "
                       f"(id,first_name,last_name,email)")
    for row in rows:
        name = row["id"].strip()
        if not name or not name.replace("-", "").replace("_", "").isalnum() or not name[0].isalpha() \
                or name != name.lower() or len(name) > 32:
            raise HubError(f"{path}: {name!r} is not a valid account name (lower-case letters, digits, - and _, "
                           f"starting with a letter)")
    return rows


def cmd_users(args) -> None:
    preflight()
    hub_dir: Path = args.hub_dir
    state = settings(hub_dir)
    rows = read_roster(args.file)
    new_passwords = []
    for row in rows:
        name = row["id"].strip()
        password = (row.get("password") or "").strip() or None
        if password is None and not args.no_passwords and not user_exists(name):
            password = secrets.token_urlsafe(12)
            new_passwords.append((name, password))
        create_user(hub_dir, name, state["group"], password)
    if new_passwords:
        out = hub_dir / "initial-passwords.csv"
        fresh = not out.exists()
        with open(out, "a", newline="") as handle:
            os.chmod(out, 0o600)
            writer = csv.writer(handle)
            if fresh:
                writer.writerow(["id", "password"])
            writer.writerows(new_passwords)
        print(f"{len(new_passwords)} new accounts; their first passwords are in {out} (root only)")
    # The gradebook: nbgrader's own import, run by the instructor in the course directory.
    instructor = state["instructors"][0]
    course_dir = state["course_dir"]
    roster = Path(course_dir) / ".roster-import.csv"
    fields = [f for f in ROSTER_FIELDS if f in rows[0]]
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    owner = pwd.getpwnam(instructor)
    os.chown(roster, owner.pw_uid, owner.pw_gid)
    try:
        result = as_user(instructor, ["nbgrader", "db", "student", "import", str(roster)], cwd=course_dir)
        if result.returncode != 0:
            raise HubError(f"nbgrader db student import failed:\n{result.stdout}{result.stderr}")
    finally:
        roster.unlink(missing_ok=True)
    print(f"{len(rows)} students in the group {state['group']} and in the gradebook of {course_dir}")


# --------------------------------------------------------------------------------------------------
# start, stop, teardown


def hub_command(hub_dir: Path) -> list[str]:
    return [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(ROOT / "hub" / "jupyterhub_config.py")]


def hub_env(hub_dir: Path) -> dict:
    env = dict(os.environ)
    env["DLCOURSE_HUB_DIR"] = str(hub_dir)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def wait_until_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HubError(f"jupyterhub exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}hub/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise HubError(f"the hub did not answer at {url} within {timeout:.0f} s")


def cmd_start(args) -> None:
    preflight()
    hub_dir: Path = args.hub_dir
    state = settings(hub_dir)
    url = f"http://{state['ip'] if state['ip'] not in ('0.0.0.0', '') else '127.0.0.1'}:{state['port']}/"
    if not args.background:
        print(f"JupyterHub for {state['course_id']} at {url} (instructors: {', '.join(state['instructors'])}); "
              f"Ctrl-C stops it")
        os.chdir(hub_dir)
        os.execve(hub_command(hub_dir)[0], hub_command(hub_dir), hub_env(hub_dir))
    log = open(hub_dir / "jupyterhub.log", "ab")
    proc = subprocess.Popen(hub_command(hub_dir), cwd=hub_dir, env=hub_env(hub_dir), stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (hub_dir / "hub-process.pid").write_text(str(proc.pid))
    wait_until_up(url, proc)
    print(f"JupyterHub at {url} (pid {proc.pid}, log {hub_dir / 'jupyterhub.log'})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmd_stop(args) -> None:
    hub_dir: Path = args.hub_dir
    for name in ("hub-process.pid", "jupyterhub.pid"):
        path = hub_dir / name
        if not path.exists():
            continue
        pid = int(path.read_text().strip() or 0)
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)  # the hub stops the users' servers and the proxy, then exits
            deadline = time.monotonic() + 60
            while _pid_alive(pid) and time.monotonic() < deadline:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.2)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)
    proxy_pid = hub_dir / "jupyterhub-proxy.pid"
    if proxy_pid.exists():
        pid = int(proxy_pid.read_text().strip() or 0)
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
        proxy_pid.unlink(missing_ok=True)


def processes_of(uid: int) -> list[int]:
    """The processes that run as ``uid`` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def cmd_teardown(args) -> None:
    hub_dir: Path = args.hub_dir
    if not hub_dir.exists():
        return
    cmd_stop(args)
    for name in _created(hub_dir):
        if not user_exists(name):
            continue
        uid = pwd.getpwnam(name).pw_uid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in processes_of(uid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    groups = hub_dir / "created-groups.txt"
    for group in (groups.read_text().split() if groups.exists() else []):
        subprocess.run(["groupdel", group], capture_output=True, text=True)
    restore_modes(hub_dir)
    shutil.rmtree(hub_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub-dir", type=Path, default=Path(os.environ.get("HUB_DIR") or DEFAULT_HUB_DIR),
                        help="the hub's state folder (default %(default)s; $HUB_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup")
    setup.add_argument("--instructor", action="append", default=None,
                       help="the instructor's account (repeatable; default: instructor)")
    setup.add_argument("--instructor-password", default=None,
                       help="the password of a new instructor account (default: none; set one with passwd)")
    setup.add_argument("--group", default=None, help="the Unix group of the course (default: the course id)")
    setup.add_argument("--ip", default="127.0.0.1", help="where the hub listens (default %(default)s)")
    setup.add_argument("--port", type=int, default=8000)
    setup.add_argument("--share-env", dest="share_env", action="store_true", default=None,
                       help="make the folders above the course environment searchable by other users (o+x) "
                            "until teardown, where they are not (e.g. a Python under /root); the default, "
                            "with a message, when they are not")
    setup.add_argument("--no-share-env", dest="share_env", action="store_false",
                       help="never change those folders' modes: stop with a message instead")
    setup.add_argument("--authenticator", default="pam",
                       help="JupyterHub's authenticator_class (default pam; e.g. github, generic-oauth, lti)")
    users = sub.add_parser("users")
    users.add_argument("file", type=Path)
    users.add_argument("--no-passwords", action="store_true",
                       help="create the accounts without passwords (the institution's login is used)")
    start = sub.add_parser("start")
    start.add_argument("--background", action="store_true")
    sub.add_parser("stop")
    sub.add_parser("teardown")
    args = parser.parse_args(argv)
    args.hub_dir = args.hub_dir.resolve()
    if args.command == "setup" and not args.instructor:
        args.instructor = ["instructor"]
    {"setup": cmd_setup, "users": cmd_users, "start": cmd_start, "stop": cmd_stop,
     "teardown": cmd_teardown}[args.command](args)


if __name__ == "__main__":
    main()
