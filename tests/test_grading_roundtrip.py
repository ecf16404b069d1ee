"""Grading round trip with plain nbgrader, per chapter: exact scores from the exported grades."""

from __future__ import annotations

import pytest

from conftest import ASSIGNMENTS, release_path
from course import (
    autograded_points,
    export_scores,
    graded_cells,
    make_course,
    question_scores,
    replace_cell,
    run,
    solution_notebook,
    submit,
)
from grading_cases import CASES

import nbformat

pytestmark = pytest.mark.slow


def test_every_assignment_has_grading_cases():
    assert sorted(CASES) == ASSIGNMENTS


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_grading_round_trip_gives_exact_scores(key, tmp_path):
    cases = CASES[key]
    solution = solution_notebook(key)
    full = autograded_points(solution)
    total = sum(graded_cells(solution).values())

    course = make_course(tmp_path, [key])
    submit(course, key, "alice", solution)
    submit(course, key, "bob", nbformat.read(release_path(key), as_version=4))
    cell, code, wrong_score = cases.wrong_answer
    submit(course, key, "carol", replace_cell(solution, cell, code))
    cell, code, test_cell, tampered_score = cases.tampered
    submit(course, key, "dave", replace_cell(replace_cell(solution, cell, code), test_cell, "pass\n"))
    cell, loop_score = cases.infinite_loop
    looping = "while True:\n    pass\n" + next(
        c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell
    )
    submit(course, key, "erin", replace_cell(solution, cell, looping))

    run(["nbgrader", "autograde", key, "--force", f"--Execute.timeout={cases.cell_timeout}"], cwd=course)
    scores = export_scores(course)

    assert scores == {
        "alice": (full, total),
        "bob": (0.0, total),
        "carol": (wrong_score, total),
        "dave": (tampered_score, total),
        "erin": (loop_score, total),
    }
    # the loop cost exactly its own question, and the tampered test was restored and failed
    assert question_scores(course, key, "erin")[f"{cases.infinite_loop[0]}_test"] == 0.0
    assert question_scores(course, key, "dave")[cases.tampered[2]] == 0.0
    autograded = course / "autograded" / "dave" / key / f"{key}.ipynb"
    restored = next(
        c for c in nbformat.read(autograded, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == cases.tampered[2]
    )
    assert restored.source != "pass\n"
