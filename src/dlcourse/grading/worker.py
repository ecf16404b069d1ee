"""Grade one submission in its own temporary course folder (Instructors' guide).

:func:`make_job` packs everything one submission needs into a plain dictionary of bytes (so it
can travel to a Dask worker on another machine); :func:`run_job` unpacks it into a fresh
temporary course folder, the *only* files there being the course's ``nbgrader_config.py``, a
gradebook holding the assignment alone, the released notebook, the source folder's non-notebook
files and this one submission, and runs nbgrader's autograde on it in a child process with a
time limit for the whole notebook. The kernel starts in the sandbox of
:mod:`dlcourse.grading.sandbox`. The result (the autograded notebooks, or the reason they could
not be graded) goes back to the caller, which alone writes the real gradebook.

Fail closed: an autograded notebook counts only when the grading process recorded, in a
progress file outside the notebook, that its execution finished. When that process dies, is
killed (the out-of-memory killer) or times out, the test cells it completed keep their outputs
and every other test cell gets an error (zero points); the status is ``failed`` and the reason
says why. The notebook nbgrader sanitised before executing (no outputs, which nbgrader would
score as passed) never counts as graded.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from . import sandbox
from .submission import NOT_FETCHED, read_submission, wrong_assignment

_OVERRIDES = '''
# --- added by dlcourse-grade for this one submission ---
from nbgrader.preprocessors import (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
    CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades, AssignLatePenalties)
from nbconvert.preprocessors import ClearMetadataPreprocessor
from dlcourse.grading.preprocessors import HardenedExecute, RestoreMissingCells
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.db_url = "sqlite:///" + {root!r} + "/gradebook.db"
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
    RestoreMissingCells, OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [HardenedExecute, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.RestoreMissingCells.release_directory = {release!r}
c.HardenedExecute.release_directory = {release!r}
c.Execute.timeout = {cell_timeout}
c.HardenedExecute.slow_cell_timeout = {slow_cell_timeout}
c.Execute.interrupt_on_timeout = True
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {ipc!r}
'''


def _read_tree(folder: Path, skip_notebooks: bool = False) -> dict[str, bytes]:
    """The instructor's files of ``folder`` (regular files only, links never followed)."""
    return read_submission(folder, max_files=10_000, max_bytes=1 << 40, skip_notebooks=skip_notebooks).files


def make_job(
    course_root: Path,
    dirs: dict[str, str],
    assignment: str,
    student: str,
    seed_db: bytes,
    notebooks: list[str],
    options: dict,
) -> dict:
    """Everything needed to grade ``student``'s submission, as plain data (Instructors' guide).

    The submission is read by :func:`dlcourse.grading.submission.read_submission`: regular files
    only, capped (``options["max_files"]``, ``options["max_bytes"]``); what was refused and why
    travel with the job.
    """
    sub = read_submission(course_root / dirs["submitted"] / student / assignment,
                          max_files=options.get("max_files", 200), max_bytes=options.get("max_bytes", 64 << 20))
    return {
        "assignment": assignment,
        "student": student,
        "notebooks": notebooks,
        "config": (course_root / "nbgrader_config.py").read_text(),
        "seed_db": seed_db,
        "release": _read_tree(course_root / dirs["release"] / assignment),
        "source_extra": _read_tree(course_root / dirs["source"] / assignment, skip_notebooks=True),
        "submission": sub.files,
        "rejected": sub.rejected,
        "submission_problem": sub.problem,
        "course_root": str(course_root),
        "options": options,
    }


@functools.lru_cache(maxsize=1)
def capabilities() -> sandbox.Capabilities:
    """Isolation features of the machine this process runs on, probed once (Instructors' guide)."""
    return sandbox.probe()


def kernel_needs() -> list[str]:
    """Folders a kernel must read: the Python environment, the ``dlcourse`` package and the datasets."""
    import dlcourse

    paths = {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parents[1]),
             str(Path(dlcourse.__file__).resolve().parents[1])}
    try:
        from dlcourse.data import get_data_dir

        paths.add(str(get_data_dir()))
    except Exception:  # noqa: BLE001  (a course without datasets)
        pass
    return sorted(paths)


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        if not path.resolve().is_relative_to(folder.resolve()):
            continue  # a file name like ../../x must not escape the job folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _diagnose(job: dict) -> str | None:
    """Why a submission cannot be graded at all, in words, or None."""
    names = [f"{n}.ipynb" for n in job["notebooks"]]
    present = [rel for rel in job["submission"] if rel.endswith(".ipynb")]
    for name in names:
        if name in present:
            try:
                nb = nbformat.reads(job["submission"][name].decode("utf-8", "replace"), as_version=4)
            except Exception as exc:  # noqa: BLE001
                return f"{name} is not a valid notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
            released = job.get("release", {}).get(name)
            if released is not None:
                try:
                    template = json.loads(released)
                except ValueError:
                    continue
                wrong = wrong_assignment(nb, template, job.get("assignment", ""), name,
                                         job.get("options", {}).get("others"))
                if wrong:
                    return wrong
    missing = [n for n in names if n not in present]
    if missing:
        found = ", ".join(present) or "no notebook"
        others = job.get("options", {}).get("others") or {}
        theirs = [f"{rel} is {rel[:-6]}'s notebook" for rel in present
                  if rel[:-6] in others and rel[:-6] != job.get("assignment")]
        return f"missing {', '.join(missing)} (submitted: {found}" + (f"; {', '.join(theirs)}" if theirs else "") + ")"
    return None


#: Modules the fork server imports once, so that each submission's process starts warm
#: (importing nbgrader costs about 3 s of CPU, as much as grading a short notebook).
PRELOAD = ["nbgrader.apps", "nbgrader.preprocessors", "dlcourse.grading.preprocessors", "dlcourse.grading.interface",
           "traitlets.config.loader", "numpy", "pandas", "matplotlib.pyplot"]
#: Also preloaded when the assignment's notebooks use Keras: the grader runs their set-up cell and
#: rebuilds the students' models, and importing TensorFlow costs seconds per submission otherwise.
PRELOAD_KERAS = ["keras"]
#: The course's own modules that set-up cells import, and the assignment's checks
#: (``dlcourse.checks.<assignment>``): imported once per run instead of once per submission.
PRELOAD_COURSE = ["dlcourse.setup", "dlcourse.data", "dlcourse.training", "dlcourse.plotting"]
_forkserver = None


def _forkserver_context(keras: bool = False, assignment: str | None = None):
    global _forkserver
    if _forkserver is None:
        ctx = multiprocessing.get_context("forkserver")
        course = PRELOAD_COURSE + ([f"dlcourse.checks.{assignment}"] if assignment else [])
        ctx.set_forkserver_preload(PRELOAD + (PRELOAD_KERAS if keras else []) + course)  # failed imports are skipped
        _forkserver = ctx
    return _forkserver


def _autograde_child(root: str, assignment: str, student: str, env: dict, log_path: str) -> None:
    os.setsid()  # its own process group, killed as a whole on timeout
    # ... and killed with the fork server, which exits when dlcourse-grade dies (a grading run killed
    # midway leaves no grading behind; its kernels die with this process in turn).
    sandbox._libc.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:
        os._exit(1)  # the fork server was gone already
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(root)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    code = main([root, assignment, student])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _autograde(root: Path, assignment: str, student: str, env: dict, log_path: Path, limit: float) -> tuple[bool, int | None]:
    """Run nbgrader's autograde for one submission in a child process: (finished in time, exit status).

    A fork of a warm fork server where multiprocessing allows it, else a fresh ``python -m
    dlcourse.grading.worker`` (inside daemonic processes, such as Dask's workers). The exit status
    is negative for a child killed by a signal (``-9``: the out-of-memory killer, say).
    """
    if multiprocessing.current_process().daemon:
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "dlcourse.grading.worker", str(root), assignment, student],
                                    cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                return True, proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return False, proc.returncode
    proc = _forkserver_context(keras=env.get("DLCOURSE_USES_KERAS") == "1", assignment=assignment).Process(
        target=_autograde_child, args=(str(root), assignment, student, env, str(log_path)), daemon=False
    )
    proc.start()
    proc.join(timeout=limit)
    if proc.is_alive():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.join()
        return False, proc.exitcode
    return True, proc.exitcode


def read_progress(path: Path) -> dict[str, dict]:
    """What the grading process recorded per notebook: ``{"complete": bool, "tests": {grade_id: outputs}}``.

    Written by :class:`dlcourse.grading.preprocessors.HardenedExecute` as each test cell finishes
    (Instructors' guide); a torn last line (the process killed while writing) is ignored.
    """
    out: dict[str, dict] = {}
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("notebook"), str):
            continue
        entry = out.setdefault(record["notebook"], {"complete": False, "tests": {}, "incidents": [], "verdicts": {}})
        if record.get("complete") is True:
            entry["complete"] = True
            entry["incidents"] = record.get("incidents") or []
        elif isinstance(record.get("test"), str) and isinstance(record.get("outputs"), list):
            entry["tests"][record["test"]] = record["outputs"]
            if isinstance(record.get("verdict"), dict):
                entry["verdicts"][record["test"]] = record["verdict"]
    return out


def unfinished_notebook(nb: nbformat.NotebookNode, completed: dict[str, list], why: str,
                        verdicts: dict[str, dict] | None = None) -> tuple[nbformat.NotebookNode, list[str]]:
    """``nb`` with every graded test cell that did not complete failed (zero points), and their ids.

    Instructors' guide. ``completed`` maps the grade ids of the test cells that finished to their
    outputs (computed by the grader, so kept); every other test cell gets an error output saying
    ``why``, so that nbgrader scores it zero. Outputs stored in the submission never count.
    The class report's record of each test (cell metadata ``dlcourse_grading``) is the
    grader's ``verdicts`` for the tests that finished and ``not_graded`` for the others.
    """
    from nbgrader import utils

    from .preprocessors import INCIDENTS_KEY

    verdicts = verdicts or {}
    failed = []
    for cell in nb.cells:
        cell.get("metadata", {}).pop(INCIDENTS_KEY, None)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            continue
        gid = meta.get("grade_id", "")
        if gid in completed:
            cell.outputs = [nbformat.from_dict(o) for o in completed[gid]]
            if isinstance(verdicts.get(gid), dict):
                cell.metadata[INCIDENTS_KEY] = verdicts[gid]
        else:
            failed.append(gid)
            cell.outputs = [nbformat.v4.new_output("error", ename="NotGraded", evalue=why,
                                                   traceback=[f"NotGraded: {why}"])]
            cell.metadata[INCIDENTS_KEY] = {"outcome": "failed", "kind": "not_graded", "tag": None, "ename": "NotGraded"}
        cell.execution_count = None
    return nb, failed


def _log_tail(log: str) -> str:
    """The last three lines of nbgrader's log, on one line (a failure's reason)."""
    return " | ".join(line for line in log.strip().splitlines()[-3:])[-300:]


def _stopped_why(finished: bool, exitcode: int | None, limit: float) -> str:
    if not finished:
        return f"grading took longer than {limit} s and was stopped"
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the grading process was killed ({name}) before it finished"
    return f"the grading process stopped (exit status {exitcode}) before it finished"


def _kill_launchers(folder: Path) -> None:
    """Kill the sandbox launchers of a stopped submission (their kernels die with them)."""
    for entry in folder.iterdir() if folder.is_dir() else []:
        try:
            os.kill(int(entry.name), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


def _remove_cgroup(folder: Path | None) -> None:
    """Remove the kernels' cgroup of a finished submission (killing what is left in it)."""
    if folder is None or not folder.is_dir():
        return
    try:
        (folder / "cgroup.kill").write_text("1")
    except OSError:  # cgroup v1 has no cgroup.kill: kill its processes one by one
        try:
            pids = (folder / "cgroup.procs").read_text().split()
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except OSError:
            time.sleep(0.1)


#: Each submission is graded in a folder ``<tmp>/dlcourse-grade-*`` that names the grading process.
TMP_PREFIX = "dlcourse-grade-"
OWNER_FILE = "grader.pid"


def sweep_stale(tmp_dir: str | None = None) -> list[str]:
    """Remove the grading folders of this user that a killed run left behind: those whose grading process
    (named in the folder) is gone; the folders removed. A folder that names no process is left alone."""
    removed = []
    for folder in Path(tmp_dir or tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            owner = folder / OWNER_FILE
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid() \
                    or owner.is_symlink() or not owner.is_file():
                continue
            pid = int(owner.read_text().strip() or 0)
            if pid <= 0:
                continue
            try:
                os.kill(pid, 0)
                continue  # still grading
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        except (OSError, ValueError):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        for group in _cgroups_of(folder.name):  # and its kernels' (empty) cgroups
            _remove_cgroup(group)
        removed.append(str(folder))
    return removed


def _cgroups_of(name: str) -> list[Path]:
    """The cgroup folders :func:`run_job` makes for the kernels graded in the folder ``name``."""
    caps = capabilities()
    bases = {b for b in (caps.cgroup, caps.cpu_cgroup, *caps.cgroups_v1.values()) if b}
    return [Path(b, f"dlcourse-{name}") for b in sorted(bases)]


def run_job(job: dict) -> dict:
    """Grade one submission packed by :func:`make_job`; a JSON-able result (Instructors' guide).

    The result has ``student``, ``status`` (``graded`` or ``failed``), ``reason``, ``notebooks``
    (name to autograded notebook, as JSON text), ``incidents`` (timeouts, crashes, memory, tampering),
    ``timestamp``, ``seconds`` and ``grader_peak_mb`` (the grading process's peak resident memory,
    None where it did not finish).
    """
    opts = job["options"]
    start = time.monotonic()
    result = {"student": job["student"], "status": "graded", "reason": "", "notebooks": {}, "incidents": [],
              "timestamp": job["submission"].get("timestamp.txt", b"").decode().strip() or None}
    base = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=opts.get("tmp_dir")))
    (base / OWNER_FILE).write_text(str(os.getpid()))  # a run killed midway leaves it: sweep_stale removes it
    cgroup: Path | None = None  # the kernels' own cgroup, where the machine has one
    cpu_cgroup: Path | None = None  # and their own CPU cgroup (the same folder under cgroup v2)
    v1_groups: list[Path] = []  # or their own cgroup v1 memory and pids groups
    try:
        root = base / "course"
        a, s = job["assignment"], job["student"]
        ipc = base / "ipc"
        for folder in (root / "release" / a, root / "source" / a, root / "submitted" / s / a, base / "runtime", ipc):
            folder.mkdir(parents=True)
        ipc.chmod(0o1777)  # the kernel (user nobody) creates its sockets here
        base.chmod(0o711)
        (root / "gradebook.db").write_bytes(job["seed_db"])
        _write_tree(root / "release" / a, job["release"])
        _write_tree(root / "source" / a, job["source_extra"])
        _write_tree(root / "submitted" / s / a, job["submission"])
        (root / "nbgrader_config.py").write_text(job["config"] + _OVERRIDES.format(
            root=str(root), release=str(root / "release" / a), cell_timeout=int(opts.get("cell_timeout", 120)),
            slow_cell_timeout=int(opts.get("slow_cell_timeout") or 0), ipc=str(ipc / "kernel"),
        ))
        if job.get("submission_problem"):
            result.update(status="failed", reason=job["submission_problem"])
            return result
        problem = _diagnose(job)
        if job.get("rejected"):
            refused = "; ".join(f"rejected {p}: {why}" for p, why in job["rejected"][:5])
            problem = f"{problem}; {refused}" if problem else refused
        if problem and ("not a valid notebook" in problem or NOT_FETCHED in problem or not any(
                f"{n}.ipynb" in job["submission"] for n in job["notebooks"])):
            result.update(status="failed", reason=problem)  # nothing nbgrader could grade
            return result
        caps = capabilities()
        policy = sandbox.make_policy(
            caps, keep_ro=kernel_needs() + list(opts.get("expose", [])), keep_rw=[str(ipc)],
            memory_bytes=opts.get("memory_bytes"), file_size_bytes=opts.get("file_size_bytes", 256 << 20),
        )
        policy.pid_dir = str(base / "pids")
        policy.pythonpath = [str(Path(__file__).resolve().parents[2])]  # the dlcourse package graded with
        if caps.cgroup:
            cgroup = Path(caps.cgroup, f"dlcourse-{base.name}")  # the names _cgroups_of finds again
            policy.cgroup = str(cgroup)
        policy.cgroups_v1 = {c: str(Path(b, f"dlcourse-{base.name}")) for c, b in caps.cgroups_v1.items()}
        v1_groups = [Path(f) for f in policy.cgroups_v1.values()]
        if caps.cpu_cgroup:
            cpu_cgroup = Path(caps.cpu_cgroup, f"dlcourse-{base.name}")
            policy.cpu_cgroup = str(cpu_cgroup)
            policy.cpu_cores = opts.get("kernel_cpus", 1.0)
        (base / "pids").mkdir()
        policy.dump(base / "policy.json")
        uses_keras = any(b"import keras" in data or b"import tensorflow" in data
                         for rel, data in job["release"].items() if rel.endswith(".ipynb"))
        env = dict(os.environ, DLCOURSE_SANDBOX_POLICY=str(base / "policy.json"),
                   JUPYTER_RUNTIME_DIR=str(base / "runtime"), PYTHONHASHSEED="0",
                   DLCOURSE_USES_KERAS="1" if uses_keras else "0",
                   DLCOURSE_GRADER_MEMORY=str(opts.get("memory_bytes") or 0))
        limit = opts.get("notebook_timeout", 1800)
        log_path = base / "autograde.log"
        env["DLCOURSE_GRADING_PROGRESS"] = str(base / "progress.jsonl")
        finished, exitcode = _autograde(root, a, s, env, log_path, limit)
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        _kill_launchers(base / "pids")  # nothing of a stopped (or finished) grading outlives it
        result["log"] = log[-20000:]
        progress = read_progress(base / "progress.jsonl")
        result["grader_peak_mb"] = grader_peak_mb(base / "progress.jsonl")
        why = _stopped_why(finished, exitcode, limit)
        if finished and exitcode and exitcode > 0:
            why = f"nbgrader autograde failed: {_log_tail(log)}"
        stopped = []  # (notebook, tests scored zero because grading stopped before them)
        for name in job["notebooks"]:
            path = root / "autograded" / s / a / f"{name}.ipynb"
            done = progress.get(name, {"complete": False, "tests": {}, "incidents": [], "verdicts": {}})
            text = path.read_text() if path.is_file() and not path.is_symlink() else None
            if done["complete"] and text is not None:
                nb = json.loads(text)
                result["notebooks"][name] = text
                meta = nb.get("metadata", {}).get("dlcourse_grading", {})
                result["incidents"] += meta.get("incidents", [])
                if meta.get("restored_cells"):
                    result["incidents"].append({"cell": ", ".join(meta["restored_cells"]), "kind": "restored",
                                                "detail": "deleted cells were restored"})
                continue
            # Execution never finished: the notebook on disk (if any) is the sanitised submission,
            # whose test cells have no outputs, which nbgrader would score as passed. Fail closed.
            release = job["release"].get(f"{name}.ipynb")
            if text is None and release is None:
                continue
            try:
                nb = nbformat.reads(text if text is not None else release.decode(), as_version=4)
            except Exception:  # noqa: BLE001  (a torn write)
                nb = nbformat.reads(release.decode(), as_version=4) if release is not None else None
            if nb is None:
                continue
            nb, zeroed = unfinished_notebook(nb, done["tests"], f"{why}; this test did not run and scores zero",
                                             done.get("verdicts"))
            result["notebooks"][name] = nbformat.writes(nb)
            stopped.append((name, zeroed))
            result["incidents"].append({"cell": name, "kind": "grading_stopped",
                                        "detail": f"{why}; {len(zeroed)} tests did not run and score zero"})
        if stopped or not finished:
            zeroed = [g for _, z in stopped for g in z]
            detail = (f"; {len(zeroed)} tests not completed score zero ({', '.join(zeroed[:3])}"
                      + (f" and {len(zeroed) - 3} more" if len(zeroed) > 3 else "") + ")") if zeroed else ""
            result.update(status="failed", reason=why + detail)
            return result
        if not result["notebooks"] and not problem:
            result.update(status="failed", reason=f"nbgrader autograde failed: {_log_tail(log)}")
        else:
            kinds: dict[str, list[str]] = {}
            for inc in result["incidents"]:
                cells = kinds.setdefault(inc["kind"], [])
                if inc["cell"] not in cells:
                    cells.append(inc["cell"])
            reasons = [problem] if problem else []
            reasons += [f"{k} in {', '.join(v[:3])}" + (f" and {len(v) - 3} more" if len(v) > 3 else "")
                        for k, v in kinds.items()]
            result["reason"] = "; ".join(reasons)
            if "tampered" in kinds:
                result["status"] = "tampered"
        return result
    finally:
        result["seconds"] = round(time.monotonic() - start, 1)
        _remove_cgroup(cgroup)
        for folder in ([cpu_cgroup] if cpu_cgroup != cgroup else []) + v1_groups:
            _remove_cgroup(folder)
        shutil.rmtree(base, ignore_errors=True)


def _record_peak_memory() -> None:
    """Append this grading process's peak resident memory to the progress file (the report's ``grader_peak_mb``)."""
    path = os.environ.get("DLCOURSE_GRADING_PROGRESS")
    if path:
        import resource

        with open(path, "a") as fh:
            fh.write(json.dumps({"grader_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}) + "\n")


def grader_peak_mb(path: Path) -> float | None:
    """The grading process's peak resident memory in MiB, as it recorded it; None if it did not finish."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and type(record.get("grader_peak_kb")) is int:
            return round(record["grader_peak_kb"] / 1024, 1)
    return None


def main(argv: list[str] | None = None) -> int:
    """Child process: ``python -m dlcourse.grading.worker COURSE_ROOT ASSIGNMENT STUDENT`` (Instructors' guide)."""
    root, assignment, student = argv or sys.argv[1:]
    limit = int(os.environ.get("DLCOURSE_GRADER_MEMORY", "0") or 0)
    if limit > 0:  # the grader decodes what kernels send: a flood of data fails here, not the machine
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    api = NbGraderAPI(config=config)
    out = api.autograde(assignment, student, force=True, create=True)
    _record_peak_memory()
    print(out.get("log", ""))
    if not out.get("success"):
        print(out.get("error", ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
