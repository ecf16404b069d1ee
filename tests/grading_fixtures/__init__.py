"""Synthetic classes for the grading tests: a course folder and submissions derived from the solution."""

from __future__ import annotations

import copy
import functools
import shutil
from pathlib import Path

import nbformat

from conftest import ROOT, release_path, unavailable
from course import replace_cell as replace  # noqa: F401  (re-exported for the grading tests)
from course import graded_cells, solution_notebook

KEY = "ch01_learning_from_data"


def solution(key: str = KEY) -> nbformat.NotebookNode:
    return solution_notebook(key)


def release(key: str = KEY) -> nbformat.NotebookNode:
    return nbformat.read(release_path(key), as_version=4)


def make_course(folder: Path, key: str = KEY) -> Path:
    """A course root with the repo's config and a chapter's source and release (dlcourse-grade seeds the gradebook)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    for sub in ("solutions", "notebooks"):
        shutil.copytree(ROOT / sub / key, folder / sub / key)
    return folder


def gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def index_of(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if gid(c) == grade_id)


def delete(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    del nb.cells[index_of(nb, grade_id)]
    return nb


def insert_after(nb, grade_id: str | None, source: str, cell_type: str = "code"):
    """A copy of ``nb`` with a new student cell after ``grade_id`` (or at the top when None)."""
    nb = copy.deepcopy(nb)
    new = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    nb.cells.insert(0 if grade_id is None else index_of(nb, grade_id) + 1, new)
    return nb


def submit(course: Path, student: str, nb=None, *, name: str | None = None, raw: str | None = None,
           key: str = KEY) -> None:
    folder = course / "submitted" / student / key
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{key}.ipynb")
    if raw is not None:
        path.write_text(raw)
    else:
        nbformat.write(nb, path)
    (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")


# --- scores derived from the release's nbgrader metadata ---------------------------------------
# Chapter 1 may be revised (questions, points). These tests rely only on the grade ids ``setup``,
# ``q1_task_types``(``_test``), ``q2_split_test``, ``q3_mse``(``_test``), ``q6_diverging_lr``(``_test``)
# and ``q7_threshold_test``, on ``mse(y_true, y_pred)`` returning a float and on a ``diverging_lr``
# answer; every expected score is computed from the points in the release, never written out.


@functools.lru_cache(maxsize=None)
def _points(key: str) -> tuple:
    return tuple(graded_cells(release(key)).items())


def points(key: str = KEY) -> dict[str, float]:
    """grade_id -> points of every graded cell of the release (tests and manually graded answers)."""
    return dict(_points(key))


def graded_test_ids(key: str = KEY) -> list[str]:
    """grade ids of the autograded test cells, in notebook order."""
    return [gid(c) for c in release(key).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def full_marks(key: str = KEY) -> float:
    """Autograded points of the solution (what dlcourse-grade reports as the score)."""
    p = points(key)
    return sum(p[t] for t in graded_test_ids(key))


def max_score(key: str = KEY) -> float:
    """Autograded plus manually graded points (the report's ``max_score``)."""
    return sum(points(key).values())


def without(*tests: str, key: str = KEY) -> float:
    """Full marks less the points of the given test cells."""
    p = points(key)
    return full_marks(key) - sum(p[t] for t in tests)


def source_of(nb, grade_id: str) -> str:
    return nb.cells[index_of(nb, grade_id)].source


def placeholder(grade_id: str, key: str = KEY) -> str:
    """The release's answer cell (its placeholder raises NotImplementedError): an honest blank answer."""
    return source_of(release(key), grade_id)


def wrong_for_its_test(nb, answer: str, source: str, key: str = KEY):
    """``nb`` whose answer cell ``answer`` holds ``source`` while its test runs, and the solution's answer after.

    The solution's answer is put back in a cell right after ``{answer}_test``, so that later answers
    which use the name (a fitting loop that calls ``mse``, say) are unaffected: the submission loses
    exactly the points of ``{answer}_test``, whatever the rest of the notebook does with the name.
    """
    return insert_after(replace(nb, answer, source), f"{answer}_test", source_of(solution(key), answer))


#: An honest wrong ``mse``: a float, wrong on every input.
WRONG_MSE = (
    "def mse(y_true, y_pred):\n"
    "    _d = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)\n"
    "    return float(np.mean(_d ** 2)) + 1.0\n"
)
MAE = (
    "def mse(y_true, y_pred):\n"
    "    return float(np.mean(np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))))\n"
)

HARD_CODED_MSE = """
import numpy as _np
_VISIBLE = {calls!r}
def mse(y_true, y_pred):
    _t, _p = _np.asarray(y_true, dtype=float), _np.asarray(y_pred, dtype=float)
    _right = float(_np.mean((_p - _t) ** 2))
    return _right if [_t.tolist(), _p.tolist()] in _VISIBLE else _right + 1.0
"""


def visible_part(source: str) -> str:
    return source.split("### BEGIN HIDDEN TESTS")[0]


@functools.lru_cache(maxsize=1)
def hard_coded_mse() -> str:
    """An ``mse`` right only on the inputs of the visible check of ``q3_mse_test``: it fails the hidden test.

    The visible part of the test cell runs here with a recording ``mse`` (after the set-up cell), so
    the hard-coded answer follows whatever example the visible check uses.
    """
    import numpy as np

    from dlcourse.grading.interface import run_setup

    calls: list = []

    def mse(y_true, y_pred):
        t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        calls.append([t.tolist(), p.tolist()])
        return float(np.mean((p - t) ** 2))

    ns = run_setup([source_of(solution(), "setup")])
    ns["mse"] = mse
    try:
        exec(visible_part(source_of(solution(), "q3_mse_test")), ns)  # noqa: S102  (the course's own check)
    except Exception:  # noqa: BLE001  (the check needs more than mse: the answer is then wrong everywhere)
        pass
    return HARD_CODED_MSE.format(calls=calls)


def hidden_lines(key: str = KEY) -> list[str]:
    """Every line of the solution's hidden tests that says something (not a lone ``])``)."""
    from dlcourse.grading.preprocessors import secret_lines

    return [ln for c in solution(key).cells for ln in secret_lines(c.source)]


def partial():
    """q1 left blank (fails its visible check) and an ``mse`` hard-coded on the visible example (fails
    the hidden test of q3): the points of ``q1_task_types_test`` and ``q3_mse_test`` are lost."""
    return wrong_for_its_test(replace(solution(), "q1_task_types", placeholder("q1_task_types")), "q3_mse",
                              hard_coded_mse())


def partial_score() -> float:
    return without("q1_task_types_test", "q3_mse_test")


def isolation_caps():
    """What the sandbox can use here; skip where namespaces are not permitted (in CI as root they must be)."""
    from dlcourse.grading.sandbox import probe

    caps = probe()
    if not (caps.net and caps.mount and caps.pid):
        unavailable(f"namespaces not permitted here: {caps.notes}", required_in_ci=caps.root)
    return caps
