"""Synthetic classes for the grading tests: a course folder and submissions derived from the solution."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from conftest import ROOT, release_path, unavailable
from course import replace_cell as replace  # noqa: F401  (re-exported for the grading tests)
from course import solution_notebook

KEY = "ch01_learning_from_data"


def solution() -> nbformat.NotebookNode:
    return solution_notebook(KEY)


def release() -> nbformat.NotebookNode:
    return nbformat.read(release_path(KEY), as_version=4)


def make_course(folder: Path) -> Path:
    """A course root with the repo's config and chapter 1's source and release (dlcourse-grade seeds the gradebook)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    for sub in ("solutions", "notebooks"):
        shutil.copytree(ROOT / sub / KEY, folder / sub / KEY)
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


def submit(course: Path, student: str, nb=None, *, name: str | None = None, raw: str | None = None) -> None:
    folder = course / "submitted" / student / KEY
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{KEY}.ipynb")
    if raw is not None:
        path.write_text(raw)
    else:
        nbformat.write(nb, path)
    (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")


WRONG_Q1 = (
    'task_types = {"wine_quality_score": "classification", "spam_or_not": "classification",\n'
    '              "house_price": "regression", "digit_in_image": "classification"}\n'
)
WRONG_Q7 = "def predict_class(probabilities, threshold=0.5):\n    return (np.asarray(probabilities) > threshold).astype(int)\n"
MAE = "def mse(y_true, y_pred):\n    return float(np.mean(np.abs(np.asarray(y_pred) - np.asarray(y_true))))\n"
UNSHUFFLED = (
    "def split_data(df, seed):\n"
    "    n = len(df); k = int(0.15 * n)\n"
    "    return df.iloc[2 * k:], df.iloc[:k], df.iloc[k:2 * k]\n"
)


def partial():
    """q1 fails a hidden test only (2 points), q7 fails its visible check (2 points): 12 of 16."""
    return replace(replace(solution(), "q1_task_types", WRONG_Q1), "q7_threshold", WRONG_Q7)


def isolation_caps():
    """What the sandbox can use here; skip where namespaces are not permitted (in CI as root they must be)."""
    from dlcourse.grading.sandbox import probe

    caps = probe()
    if not (caps.net and caps.mount and caps.pid):
        unavailable(f"namespaces not permitted here: {caps.notes}", required_in_ci=caps.root)
    return caps
