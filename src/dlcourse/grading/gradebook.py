"""The one real gradebook of a class run: seed, single writer and per-question export (Instructors' guide).

Workers never open the course's gradebook. Each grades in a private SQLite copy that holds
the assignment only (:func:`write_seed`); the parent process alone writes results into the
real gradebook (:func:`record_result`, :func:`record_failure`), one submission at a time, with
nbgrader's own ``SaveAutoGrades`` and ``AssignLatePenalties``. So SQLite never sees two
writers, and a PostgreSQL URL (``postgresql://...``) works the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades


def has_assignment(db_url: str, assignment: str) -> bool:
    """Whether the gradebook at ``db_url`` knows ``assignment`` (Instructors' guide)."""
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
            return True
        except MissingEntry:
            return False


def _has_notebooks(db_url: str, assignment: str) -> bool:
    with Gradebook(db_url) as gb:
        try:
            return bool(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def ensure_assignment(course_root: Path, source_dir: str, assignment: str, db_url: str) -> None:
    """Add ``assignment`` to the gradebook from its source, as ``nbgrader generate_assignment`` does.

    Instructors' guide. Runs in a scratch copy so that the course's release folder is untouched. An
    assignment that is in the gradebook without notebooks (``nbgrader db assignment add`` to set a due
    date before anything was generated) gets them; its due date stays.
    """
    if _has_notebooks(db_url, assignment):
        return
    with tempfile.TemporaryDirectory(prefix="dlcourse-seed-") as tmp:
        shutil.copytree(course_root / source_dir / assignment, Path(tmp, "source", assignment))
        shutil.copy(course_root / "nbgrader_config.py", tmp)
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
            "--CourseDirectory.source_directory=source", "--CourseDirectory.release_directory=release",
            f"--CourseDirectory.db_url={db_url}", f"--CourseDirectory.root={tmp}",
        ]
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if out.returncode != 0 or not _has_notebooks(db_url, assignment):
            raise RuntimeError(f"could not add {assignment} to the gradebook:\n{out.stderr[-2000:]}")


def write_seed(db_url: str, assignment: str, path: Path) -> None:
    """Copy the definition of ``assignment`` (no students) into a new SQLite file (Instructors' guide)."""
    path.unlink(missing_ok=True)
    with Gradebook(db_url) as src, Gradebook(f"sqlite:///{path}") as dst:
        a = src.find_assignment(assignment)
        dst.update_or_create_assignment(a.name, duedate=a.duedate)
        for nb in a.notebooks:
            dst.update_or_create_notebook(nb.name, a.name, kernelspec=nb.kernelspec)
            for c in nb.grade_cells:
                dst.update_or_create_grade_cell(c.name, nb.name, a.name, max_score=c.max_score, cell_type=c.cell_type)
            for c in nb.solution_cells:
                dst.update_or_create_solution_cell(c.name, nb.name, a.name)
            for c in nb.task_cells:
                dst.update_or_create_task_cell(c.name, nb.name, a.name, max_score=c.max_score, cell_type=c.cell_type)
            for c in nb.source_cells:
                dst.update_or_create_source_cell(
                    c.name, nb.name, a.name, cell_type=c.cell_type, locked=c.locked, source=c.source, checksum=c.checksum
                )


def notebook_names(db_url: str, assignment: str) -> list[str]:
    """Names of the notebooks of ``assignment`` (Instructors' guide)."""
    with Gradebook(db_url) as gb:
        return [nb.name for nb in gb.find_assignment(assignment).notebooks]


def _submission(gb: Gradebook, assignment: str, student: str, timestamp: dt.datetime | None):
    gb.update_or_create_student(student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy autoflush chatter, harmless
        warnings.simplefilter("ignore")
        return gb.update_or_create_submission(assignment, student, **kwargs)


def record_result(db_url: str, assignment: str, student: str, notebooks: dict, timestamp: dt.datetime | None,
                  config=None) -> None:
    """Write one graded submission into the real gradebook (Instructors' guide).

    ``notebooks`` maps notebook names to autograded notebooks (JSON text). Scores come from the graded cells'
    outputs, exactly as ``nbgrader autograde`` derives them; a notebook that is missing scores zero. The late
    penalty is nbgrader's ``AssignLatePenalties`` with the course's ``config`` (its ``plugin_class``, e.g.
    :class:`dlcourse.grading.late.SubMarksPerHour`; without one, nbgrader's default: no penalty).
    """
    with Gradebook(db_url) as gb:
        _submission(gb, assignment, student, timestamp)
    for name in notebook_names(db_url, assignment):
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student, "db_url": db_url}}
        if name in notebooks:
            nb = nbformat.reads(notebooks[name], as_version=4)
            SaveAutoGrades().preprocess(nb, resources)
            (AssignLatePenalties(config=config) if config is not None else AssignLatePenalties()
             ).preprocess(nb, resources)
        else:
            _zero(db_url, assignment, student, [name])


def _zero(db_url: str, assignment: str, student: str, names: list[str]) -> None:
    with Gradebook(db_url) as gb:
        for name in names:
            for grade in gb.find_submission_notebook(name, assignment, student).grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def record_failure(db_url: str, assignment: str, student: str, timestamp: dt.datetime | None) -> None:
    """Record a submission that could not be graded at all, with zero points (Instructors' guide)."""
    with Gradebook(db_url) as gb:
        _submission(gb, assignment, student, timestamp)
    _zero(db_url, assignment, student, notebook_names(db_url, assignment))


def scores(db_url: str, assignment: str, student: str) -> dict[str, float | None]:
    """Points per graded cell of one submission: the manual score where given, else the automatic one."""
    out = {}
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                out[g.name] = g.score if (g.manual_score is not None or g.auto_score is not None) else None
    return out


def lateness(db_url: str, assignment: str, student: str) -> tuple[float, float]:
    """Seconds a submission was late (0 when on time or without a due date) and the points its late
    penalty takes off, all notebooks together (Instructors' guide)."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return float(sub.total_seconds_late or 0), float(sub.late_submission_penalty or 0)


def max_scores(db_url: str, assignment: str) -> dict[str, float]:
    """Maximum points per graded cell of ``assignment`` (Instructors' guide)."""
    with Gradebook(db_url) as gb:
        a = gb.find_assignment(assignment)
        return {c.name: c.max_score for nb in a.notebooks for c in nb.grade_cells + nb.task_cells}


def export_csv(db_url: str, assignments: list[str], path: str | os.PathLike) -> int:
    """Write one row per student and assignment with the points of every question; the number of rows.

    Instructors' guide. Columns: ``student_id, assignment, <grade_id>..., late_penalty, total, max_score``;
    an empty question cell means "not graded yet" (a written answer awaiting manual grading); ``total`` is
    the points less the late penalty.
    """
    rows = []
    columns: list[str] = []
    with Gradebook(db_url) as gb:
        students = sorted(s.id for s in gb.students)
    for assignment in assignments:
        maxima = max_scores(db_url, assignment)
        columns += [c for c in maxima if c not in columns]
        for student in students:
            try:
                got = scores(db_url, assignment, student)
            except MissingEntry:
                continue
            _, penalty = lateness(db_url, assignment, student)
            total = sum(v for v in got.values() if v is not None) - penalty
            rows.append({"student_id": student, "assignment": assignment, **got, "late_penalty": penalty,
                         "total": total, "max_score": sum(maxima.values())})
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["student_id", "assignment", *columns, "late_penalty", "total", "max_score"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return len(rows)


__all__ = [
    "ensure_assignment", "export_csv", "has_assignment", "lateness", "max_scores", "notebook_names",
    "record_failure", "record_result", "scores", "write_seed",
]
