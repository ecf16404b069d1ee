"""Helpers for tests that drive nbgrader on a temporary copy of the course directory."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from conftest import ROOT, solution_path

def run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it exits non-zero."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def make_course(tmp: Path, keys: list[str], *, generate: bool = True) -> Path:
    """A fresh course directory with the config and the given assignments' sources, released.

    ``generate=False`` copies the committed release instead of running ``nbgrader generate_assignment``
    (``test_assignments.py`` proves that the two are the same).
    """
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for key in keys:
        shutil.copytree(ROOT / "solutions" / key, course / "solutions" / key)
        if not generate:
            shutil.copytree(ROOT / "notebooks" / key, course / "notebooks" / key)
    if generate and keys:
        # One nbgrader run releases them all: the assignment id is a glob over the source folders.
        run(["nbgrader", "generate_assignment", "*", "--force"], cwd=course)
    return course


def validate(path: Path, timeout: int = 120) -> dict:
    """nbgrader's Validator result for one notebook (the CLI exits 0 even when validation fails)."""
    from nbgrader.validator import Validator

    validator = Validator()
    validator.config.Execute.timeout = timeout
    return validator.validate(str(path))


def graded_cells(nb) -> dict[str, float]:
    """grade_id -> points of every graded cell (autograded tests and manually graded answers)."""
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader.get("points", 0))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def autograded_points(nb) -> float:
    return sum(
        float(c.metadata.nbgrader["points"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    )


def replace_cell(nb, grade_id: str, source: str):
    """A copy of ``nb`` whose cell ``grade_id`` has the given source."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
            return nb
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def submit(course: Path, key: str, student: str, nb) -> None:
    folder = course / "submitted" / student / key
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{key}.ipynb")


def question_scores(course: Path, key: str, student: str) -> dict[str, float]:
    """grade_id of each graded cell -> the score that student got for it, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(key, key, student)
        return {grade.name: float(grade.score) for grade in nb.grades}


@dataclass
class ClassRun:
    """One ``dlcourse-grade`` run over a course folder: its report, exit status and output."""

    key: str
    course: Path
    report: dict[str, dict]  # student -> score, max_score, status, reason, seconds
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def autograded(self, student: str):
        return nbformat.read(self.course / "autograded" / student / self.key / f"{self.key}.ipynb", as_version=4)

    def question_scores(self, student: str) -> dict[str, float]:
        return question_scores(self.course, self.key, student)


def grade_class(course: Path, key: str, *, cell_timeout: int, workers: int | None = None,
                timeout: float = 1800) -> ClassRun:
    """Autograde every submission of ``key`` in ``course`` in one ``dlcourse-grade`` run (in parallel)."""
    workers = workers or min(5, os.cpu_count() or 1)
    command = [str(Path(sys.executable).parent / "dlcourse-grade"), key, "--workers", str(workers),
               "--cell-timeout", str(cell_timeout), "--no-progress", "--report", "report.json",
               "--export", "grades.csv"]
    start = time.perf_counter()
    out = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    report_file = course / "report.json"
    if not report_file.exists():
        raise AssertionError(f"dlcourse-grade wrote no report (exit {out.returncode})\n{out.stdout}\n{out.stderr}")
    report = {r["student"]: r for r in json.loads(report_file.read_text())}
    return ClassRun(key, course, report, out.returncode, out.stdout, out.stderr, seconds)


@dataclass(frozen=True)
class GradingCases:
    """Per-chapter submissions for the grading round trip, with the exact scores they must get."""

    #: (grade_id of an answer cell, wrong code, autograded score it must get)
    wrong_answer: tuple[str, str, float]
    #: (answer cell made wrong, its wrong code, the test cell that is then edited to pass, score)
    tampered: tuple[str, str, str, float]
    #: (answer cell that gets an infinite loop, score)
    infinite_loop: tuple[str, float]
    #: per-cell timeout for the infinite-loop case (longer than the slowest cell of the solution)
    cell_timeout: int = 30
    #: test cells of other questions that a fault makes fail too (a later answer built on a wrong one)
    also_lost: tuple[str, ...] = ()


def solution_notebook(key: str):
    return nbformat.read(solution_path(key), as_version=4)
