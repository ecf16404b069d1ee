"""``dlcourse-grade``: autograde a whole class in parallel, isolated, on top of nbgrader (Instructors' guide).

Run from the course root (the folder with ``nbgrader_config.py``)::

    dlcourse-grade ch01_learning_from_data                      # all of submitted/*/ch01_.../
    dlcourse-grade ch01_learning_from_data --workers 8 --export grades.csv --feedback
    dlcourse-grade ch01_learning_from_data --scheduler tcp://10.0.0.5:8786     # a Dask cluster
    dlcourse-grade ch01_learning_from_data --db-url postgresql://grader@db/gradebook
    dlcourse-grade ch01_learning_from_data --skip-grading --export grades.csv  # export only
    dlcourse-grade ch01_learning_from_data --skip-grading --insights report/   # what the class got wrong

How it works: the parent process reads the assignment from the gradebook (adding it from the
source directory, ``solutions/``, when missing), packs each submission (regular files only, see
:mod:`dlcourse.grading.submission`) with a private copy of the assignment's definition
(:mod:`dlcourse.grading.worker`) and hands the packs to a local pool of ``--workers`` (default:
one per CPU core) or to a Dask cluster. Each pack is graded by nbgrader's autograde in its own
temporary course folder: the student's cells run in a kernel confined by
:mod:`dlcourse.grading.sandbox`, the graded test cells run in the grader itself and read the
student's names through :mod:`dlcourse.grading.interface`
(:class:`dlcourse.grading.preprocessors.HardenedExecute`). The parent is the single writer of
the real gradebook (:mod:`dlcourse.grading.gradebook`) and of ``autograded/``. A progress bar
counts done and failed submissions; a table of student, score, maximum, status and reason ends
the run. Exit status: 0 when every submission was graded, 1 when some failed or were flagged.

Feedback (``--feedback``) is nbgrader's ``generate_feedback`` with
:class:`~dlcourse.grading.preprocessors.StripHiddenTests` added, so the HTML never shows hidden
tests. The export (``--export FILE``) has one row per student with the points of every question.
The class report (``--insights DIR``, :mod:`dlcourse.grading.insights`) groups the class's failures
per question by the mistake each check names; it names no student unless ``--names``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import gradebook
from .worker import capabilities, make_job, run_job, sweep_stale

FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "dlcourse.grading.preprocessors.StripHiddenTests",
]


def parse_size(text: str) -> int | None:
    """``"4G"``, ``"512M"`` or ``"none"`` as a number of bytes (Instructors' guide)."""
    text = text.strip().upper()
    if text in {"", "0", "NONE", "OFF"}:
        return None
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def absolute_db_url(db_url: str, course_root: Path) -> str:
    """A gradebook URL that works from any folder (Instructors' guide).

    A relative SQLite URL (``sqlite:///gradebook.db``) is made absolute from the course root.
    A plain ``postgresql://`` URL gets the driver that is installed: SQLAlchemy 2.1 picks
    ``psycopg`` (version 3) by default, the course environment has ``psycopg2``.
    """
    if db_url.startswith("postgresql://"):
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + db_url[len("postgresql://"):]
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and not os.path.isabs(db_url[len(prefix):]):
        return prefix + str(course_root / db_url[len(prefix):])
    return db_url


def load_config(course_root: Path):
    """The course's nbgrader configuration, read from ``nbgrader_config.py`` (Instructors' guide)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return config, CourseDirectory(config=config)


def find_submissions(course_root: Path, submitted_dir: str, assignment: str, only: list[str] | None = None) -> list[str]:
    """Student ids with a folder ``submitted/<student>/<assignment>/`` (Instructors' guide)."""
    base = course_root / submitted_dir
    found = sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())
    return [s for s in found if not only or s in only]


def released_key_ids(course_root: Path, release_dir: str) -> dict[str, list[str]]:
    """Assignment -> the grade ids of its answer and test cells, from the course's release folder: the grader
    names the assignment a notebook handed in for another one belongs to."""
    from .submission import key_ids_by_assignment

    return key_ids_by_assignment(course_root / release_dir)


def already_graded(course_root: Path, submitted_dir: str, autograded_dir: str, assignment: str,
                   student: str) -> bool:
    """Whether a submission's autograded copy is there, complete and not older than it: each of its
    notebooks in ``autograded/`` written after the submitted one, and the same submission time. A rerun
    with ``--missing`` (after a grading run was killed midway) skips these."""
    sub = course_root / submitted_dir / student / assignment
    out = course_root / autograded_dir / student / assignment
    notebooks = sorted(sub.glob("*.ipynb"))
    if not notebooks or not out.is_dir():
        return False
    for nb in notebooks:
        done = out / nb.name
        if not done.is_file() or done.stat().st_mtime < nb.stat().st_mtime:
            return False
    stamp, graded_stamp = sub / "timestamp.txt", out / "timestamp.txt"
    if stamp.is_file() and (not graded_stamp.is_file()
                            or graded_stamp.read_text().strip() != stamp.read_text().strip()):
        return False
    return True


def _parse_timestamp(text: str | None):
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except Exception:  # noqa: BLE001  (a garbled timestamp file is the student's, not a reason to stop)
        return None


def _save_autograded(course_root: Path, autograded_dir: str, assignment: str, result: dict,
                     submitted_dir: str = "submitted") -> None:
    folder = course_root / autograded_dir / result["student"] / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in result["notebooks"].items():
        (folder / f"{name}.ipynb").write_text(nb)
    # A submission collected from nbgrader's exchange carries the secret that names its feedback there;
    # nbgrader's feedback steps read it from autograded/ (release_feedback fails without it), as after
    # `nbgrader autograde`, which copies it.
    secret = course_root / submitted_dir / result["student"] / assignment / "submission_secret.txt"
    if secret.is_file() and not secret.is_symlink():
        shutil.copyfile(secret, folder / "submission_secret.txt")
    # The timestamp last: a run killed before it leaves this copy out of date for --missing.
    if result.get("timestamp"):
        (folder / "timestamp.txt").write_text(result["timestamp"])


def _executor(workers: int, scheduler: str | None):
    """``submit(job)`` and ``as_completed(futures)`` for a local pool or a Dask cluster."""
    if scheduler:
        from distributed import Client, as_completed

        client = Client(scheduler)
        return client, (lambda job: client.submit(run_job, job, pure=False)), as_completed
    pool = cf.ThreadPoolExecutor(max_workers=workers)  # each job is a child process; threads just wait
    return pool, (lambda job: pool.submit(run_job, job)), cf.as_completed


def grade_class(
    course_root: str | os.PathLike,
    assignment: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    db_url: str | None = None,
    students: list[str] | None = None,
    cell_timeout: int | None = None,
    slow_cell_timeout: int | None = None,
    notebook_timeout: int = 1800,
    memory_bytes: int | None = 8 << 30,
    kernel_cpus: float = 1.0,
    expose: tuple[str, ...] = (),
    progress: bool = True,
    max_files: int = 200,
    max_bytes: int = 64 << 20,
    only_missing: bool = False,
) -> list[dict]:
    """Autograde every submission of ``assignment``; the per-student results, in student order.

    Instructors' guide. Each result has ``student``, ``score``, ``max_score``, ``status``
    (``graded``, ``failed`` or ``tampered``), ``reason``, ``seconds``, ``seconds_late`` and ``late_penalty``
    (the score is after the penalty of the course's late-submission plugin, :mod:`dlcourse.grading.late`).
    """
    from tqdm import tqdm

    root = Path(course_root).resolve()
    config, coursedir = load_config(root)
    db_url = absolute_db_url(db_url or coursedir.db_url, root)
    dirs = {"source": coursedir.source_directory, "release": coursedir.release_directory,
            "submitted": coursedir.submitted_directory}
    gradebook.ensure_assignment(root, dirs["source"], assignment, db_url)
    names = gradebook.notebook_names(db_url, assignment)
    maximum = sum(gradebook.max_scores(db_url, assignment).values())
    with tempfile.TemporaryDirectory(prefix="dlcourse-seed-") as tmp:
        seed = Path(tmp, "seed.db")
        gradebook.write_seed(db_url, assignment, seed)
        seed_db = seed.read_bytes()
    options = {
        "cell_timeout": cell_timeout or int(config.Execute.get("timeout", 120) or 120),
        "slow_cell_timeout": slow_cell_timeout or 0,
        "notebook_timeout": notebook_timeout,
        "memory_bytes": memory_bytes,
        "kernel_cpus": kernel_cpus,
        "expose": [str(Path(p).resolve()) for p in expose],
        "max_files": max_files,
        "max_bytes": max_bytes,
    }
    options["others"] = released_key_ids(root, dirs["release"])  # to name another assignment's notebook
    todo = find_submissions(root, dirs["submitted"], assignment, students)
    stale = sweep_stale()  # what a run killed midway left in the temporary folder (students' files)
    if stale:
        print(f"removed {len(stale)} grading folders of a run that was stopped midway", file=sys.stderr)
    if only_missing:
        done = [s for s in todo if already_graded(root, dirs["submitted"], coursedir.autograded_directory,
                                                  assignment, s)]
        todo = [s for s in todo if s not in done]
        print(f"--missing: {len(done)} submissions already graded, {len(todo)} to grade", file=sys.stderr)
    workers = workers or os.cpu_count() or 1
    executor, submit, as_completed = _executor(workers, scheduler)
    results = {}
    try:
        futures = {submit(make_job(root, dirs, assignment, s, seed_db, names, options)): s for s in todo}
        bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="nb", disable=not progress, file=sys.stderr)
        failed = 0
        for future in as_completed(list(futures)):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001  (one broken job must not stop the class)
                result = {"student": futures[future], "status": "failed", "notebooks": {}, "incidents": [],
                          "reason": f"grader error: {type(exc).__name__}: {exc}", "timestamp": None, "seconds": 0}
            student = result["student"]
            stamp = _parse_timestamp(result.get("timestamp"))
            # The single writer: only this loop touches the real gradebook and autograded/.
            if result["notebooks"] and result["status"] != "tampered":
                gradebook.record_result(db_url, assignment, student, result["notebooks"], stamp, config)
            else:
                gradebook.record_failure(db_url, assignment, student, stamp)
            if result["notebooks"]:
                _save_autograded(root, coursedir.autograded_directory, assignment, result,
                                 coursedir.submitted_directory)
            got = gradebook.scores(db_url, assignment, student)
            late, penalty = gradebook.lateness(db_url, assignment, student)
            result.update(score=sum(v for v in got.values() if v is not None) - penalty, max_score=maximum,
                          seconds_late=late, late_penalty=penalty)
            if late > 0:
                note = f"late by {_duration(late)}" + (f", {penalty:g} points off" if penalty else "")
                result["reason"] = "; ".join(x for x in (result.get("reason"), note) if x)
            result.pop("notebooks")
            if result["status"] == "graded":
                result.pop("log", None)  # kept for the report only where something went wrong
            results[student] = result
            failed += result["status"] != "graded"
            bar.update(1)
            bar.set_postfix(done=len(results), failed=failed)
        bar.close()
    finally:
        if scheduler:
            executor.close()
        else:
            executor.shutdown(wait=True, cancel_futures=True)
    return [results[s] for s in sorted(results)]


def _duration(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``12 min`` or ``40 s``: how late a submission was."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def summary_table(results: list[dict]) -> str:
    """The end-of-run table: student, score, max, status and reason (Instructors' guide)."""
    rows = [("student", "score", "max", "status", "reason")]
    for r in results:
        rows.append((r["student"], f"{r['score']:g}", f"{r['max_score']:g}", r["status"], r.get("reason", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ------")
    return "\n".join(line.rstrip() for line in lines)


def generate_feedback(
    course_root: str | os.PathLike, assignment: str, db_url: str | None = None, student: str | None = None
) -> bool:
    """nbgrader's ``generate_feedback`` for every graded student, hidden tests stripped (Instructors' guide)."""
    from nbgrader.apps import NbGraderAPI

    config, coursedir = load_config(Path(course_root).resolve())
    config.CourseDirectory.db_url = absolute_db_url(db_url or coursedir.db_url, Path(course_root).resolve())
    config.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
    cwd = os.getcwd()
    os.chdir(course_root)
    try:
        out = NbGraderAPI(config=config).generate_feedback(assignment, student_id=student, force=True)
    finally:
        os.chdir(cwd)
    if not out.get("success"):
        print(out.get("log", "") + out.get("error", ""), file=sys.stderr)
    return bool(out.get("success"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlcourse-grade", description=__doc__.split("\n\n")[0])
    p.add_argument("assignment", help="assignment name, e.g. ch01_learning_from_data")
    p.add_argument("--workers", type=int, default=None, help="parallel submissions (default: CPU cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--db-url", default=None, help="gradebook URL (default: nbgrader_config.py's, SQLite)")
    p.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: Execute.timeout)")
    p.add_argument("--slow-cell-timeout", type=int, default=None, help="seconds per cell that the release "
                   "marks slow (metadata dlcourse.slow; default: four times --cell-timeout)")
    p.add_argument("--notebook-timeout", type=int, default=1800, help="seconds per submission (default 1800)")
    p.add_argument("--memory-limit", default="8G", help="address-space limit of each kernel (default 8G; 'none')")
    p.add_argument("--kernel-cpus", type=float, default=1.0, help="CPU quota of each kernel's processes "
                   "together, in cores, where a cgroup CPU controller is writable (default 1)")
    p.add_argument("--expose", action="append", default=[], help="extra folder the kernel may read")
    p.add_argument("--hide", action="append", default=[], help="no longer needed, accepted for old scripts: "
                   "the kernel sees only the allowlist and the --expose folders")
    p.add_argument("--max-files", type=int, default=200, help="most files in one submission (default 200)")
    p.add_argument("--max-size", default="64M", help="largest submission, all files together (default 64M)")
    p.add_argument("--course-root", default=".", help="course folder (default: current folder)")
    p.add_argument("--export", default=None, metavar="CSV", help="write per-question grades of all students")
    p.add_argument("--feedback", action="store_true", help="generate feedback HTML (hidden tests stripped)")
    p.add_argument("--report", default=None, metavar="JSON", help="write the per-student results as JSON")
    p.add_argument("--insights", default=None, metavar="DIR", help="write the class report (what the class got "
                   "wrong, per question and mistake) into DIR: index.html, insights.json, failures.csv")
    p.add_argument("--names", action="store_true", help="name the students in the --insights report "
                   "(default: anonymous, shareable with teaching assistants)")
    p.add_argument("--skip-grading", action="store_true", help="only export, generate feedback and/or report")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--missing", action="store_true", help="grade only the submissions without an up-to-date "
                   "autograded copy (a rerun after an interrupted run)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Console entry point ``dlcourse-grade`` (Instructors' guide)."""
    args = build_parser().parse_args(argv)
    root = Path(args.course_root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        print(f"dlcourse-grade: no nbgrader_config.py in {root}; run it from the course root", file=sys.stderr)
        return 2
    status = 0
    if not args.skip_grading:
        caps = capabilities()
        print("Isolation of students' kernels:\n" + caps.summary(), file=sys.stderr)
        started = dt.datetime.now()
        results = grade_class(
            root, args.assignment, workers=args.workers, scheduler=args.scheduler, db_url=args.db_url,
            students=args.student, cell_timeout=args.cell_timeout,
            slow_cell_timeout=args.slow_cell_timeout, notebook_timeout=args.notebook_timeout,
            memory_bytes=parse_size(args.memory_limit), kernel_cpus=args.kernel_cpus, expose=tuple(args.expose),
            progress=not args.no_progress, max_files=args.max_files,
            max_bytes=parse_size(args.max_size) or (64 << 20), only_missing=args.missing,
        )
        print(summary_table(results))
        if args.report:
            Path(args.report).write_text(json.dumps(results, indent=1))
        seconds = (dt.datetime.now() - started).total_seconds()
        bad = sum(r["status"] != "graded" for r in results)
        print(f"\n{len(results)} submissions in {seconds:.0f} s; {len(results) - bad} graded, {bad} failed or flagged")
        status = 1 if bad else 0
    if args.feedback:
        status |= 0 if generate_feedback(root, args.assignment, args.db_url) else 1
    if args.export:
        _, coursedir = load_config(root)
        n = gradebook.export_csv(absolute_db_url(args.db_url or coursedir.db_url, root), [args.assignment], args.export)
        print(f"wrote {n} rows to {args.export}")
    if args.insights:
        from . import insights

        _, coursedir = load_config(root)
        page = insights.report(root, args.assignment, absolute_db_url(args.db_url or coursedir.db_url, root),
                               args.insights, names=args.names, autograded_dir=coursedir.autograded_directory,
                               release_dir=coursedir.release_directory, source_dir=coursedir.source_directory)
        print(f"wrote the class report to {page}")
    return status


if __name__ == "__main__":
    sys.exit(main())
