"""Every exercise notebook follows the conventions, and the release in notebooks/ is exactly what
nbgrader generates from solutions/.

That the solution earns full marks and passes nbval, and that the untouched release earns none, is
proved by the one execution of each exercise notebook: the grading round trip
(``test_grading_roundtrip.py``)."""

from __future__ import annotations

import json

import nbformat
import pytest

from conftest import ASSIGNMENTS, release_path, solution_path
from course import autograded_points, graded_cells, make_course

def test_there_is_at_least_one_assignment():
    assert "ch01_learning_from_data" in ASSIGNMENTS


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_exercise_notebook_follows_the_conventions(key):
    nb = nbformat.read(solution_path(key), as_version=4)
    header = nb.cells[0].source
    cells = graded_cells(nb)
    total = sum(cells.values())
    assert f"**Total: {total:g} points**" in header, "the header must state the total points"
    assert f"{autograded_points(nb):g} graded automatically" in header
    assert 5 <= len(cells) <= 10, "5 to 10 graded questions"
    answers = {c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            gid = meta["grade_id"]
            assert gid.endswith("_test") and gid[: -len("_test")] in answers, f"{gid} has no answer cell"
            assert cell.source.startswith('"""'), f"{gid} must start with a one-line docstring"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{gid} has no hidden tests"
    manual = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert manual, "at least one manually graded written answer"
    questions = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Question")]
    assert questions and all("<details><summary>Hint</summary>" in q for q in questions)


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_cells_that_import_keras_or_train_are_marked_slow(key):
    """dlcourse-grade gives unmarked cells the short cell timeout (a stuck answer costs little); a cell
    that imports TensorFlow or trains needs the slow-cell deadline on a busy machine."""
    nb = nbformat.read(solution_path(key), as_version=4)
    unmarked = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells
                if cell.cell_type == "code" and not cell.metadata.get("dlcourse", {}).get("slow")
                and any(s in cell.source for s in (".fit(", "import keras", "import tensorflow"))]
    assert unmarked == [], f"mark these cells slow (metadata dlcourse.slow): {unmarked}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A course where nbgrader has just released every assignment from solutions/."""
    return make_course(tmp_path_factory.mktemp("release"), ASSIGNMENTS)


@pytest.mark.slow
@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_release_is_exactly_what_nbgrader_generates(key, generated):
    course = generated
    fresh = json.loads((course / "notebooks" / key / f"{key}.ipynb").read_text())
    committed = json.loads(release_path(key).read_text())
    assert committed == fresh, f"notebooks/{key} is stale: run `make release` (never edit it by hand)"
    generated = sorted(p.relative_to(course / "notebooks" / key) for p in (course / "notebooks" / key).rglob("*"))
    shipped = sorted(p.relative_to(release_path(key).parent) for p in release_path(key).parent.rglob("*"))
    assert generated == shipped
