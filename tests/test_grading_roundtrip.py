"""Grading round trip, per chapter: one ``dlcourse-grade`` class run grades every case in parallel.

The class of each chapter is the solution, the untouched release, and one faulty submission that carries
the three faults of ``grading_cases.py`` at once: a wrong answer, a tampered test cell and an infinite loop.
Each fault's score alone is written out by hand; the faults sit in different questions, so the faulty
submission must lose exactly the sum of their losses, its faults' own tests scoring zero and every other
test full marks (one notebook execution instead of three: the per-question scores tell the faults
apart). The same run is the
one execution of the exercise notebooks in the test suite: the solution's graded copy proves that it
earns full marks and passes nbval (``--nbval-lax``: no cell raises, cells tagged
``nbval-check-output`` match their stored outputs); the release's graded copy proves that every
graded test fails with a message rather than a NameError.
"""

from __future__ import annotations

import nbformat
import pytest

from conftest import ASSIGNMENTS, record_execution, release_path
from course import (
    autograded_points,
    grade_class,
    graded_cells,
    make_course,
    replace_cell,
    solution_notebook,
    submit,
)
from grading_cases import CASES
from nbval_compare import compare

pytestmark = pytest.mark.slow

#: Graded in name order, two at a time: the faulty submission, which waits out the loop's timeout,
#: starts first, next to the solution; the quick untouched release follows the solution.
FAULTY, SOLUTION, BLANK = "ada", "alice", "bob"
#: The infinite loop sleeps: the timeout interrupts it like a busy loop, without burning a core for
#: ``cell_timeout`` seconds per chapter (``test_grading_class.py`` interrupts busy and stuck loops).
LOOP_CODE = "import time\nwhile True:\n    time.sleep(0.5)\n"


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def faulty_submission(key: str):
    """The solution with the chapter's three faults (``grading_cases.py``), each in its own question."""
    cases = CASES[key]
    wrong_cell, wrong_code, _ = cases.wrong_answer
    tampered_cell, tampered_code, test_cell, _ = cases.tampered
    loop_cell, _ = cases.infinite_loop
    assert len({wrong_cell, tampered_cell, loop_cell}) == 3, f"{key}: two faults share a question"
    solution = solution_notebook(key)
    looping = LOOP_CODE + next(c.source for c in solution.cells if grade_id(c) == loop_cell)
    notebook = replace_cell(solution, wrong_cell, wrong_code)
    notebook = replace_cell(notebook, tampered_cell, tampered_code)
    notebook = replace_cell(notebook, test_cell, "pass\n")
    return replace_cell(notebook, loop_cell, looping)


def faulty_score(key: str, full: float) -> float:
    """Full marks less each fault's loss alone: the faults are independent."""
    cases = CASES[key]
    scores = (cases.wrong_answer[2], cases.tampered[3], cases.infinite_loop[1])
    return full - sum(full - score for score in scores)


def build_class(course, key: str) -> None:
    """Submit the round-trip cases of ``key`` into ``course/submitted/``."""
    submit(course, key, SOLUTION, solution_notebook(key))
    submit(course, key, BLANK, nbformat.read(release_path(key), as_version=4))
    submit(course, key, FAULTY, faulty_submission(key))


def test_every_assignment_has_grading_cases():
    assert sorted(CASES) == ASSIGNMENTS


class RoundTrip:
    """One chapter's round trip: its class run, and what each case must score. A subclass per chapter
    (below) makes each chapter its own test class, the unit that ``--dist loadscope`` gives one worker."""

    key: str

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory):
        """The chapter's one class run, shared by the tests of its class."""
        key = cls.key
        course = make_course(tmp_path_factory.mktemp(key), [key], generate=False)
        build_class(course, key)
        return grade_class(course, key, cell_timeout=CASES[key].cell_timeout)

    def test_every_case_gets_its_exact_score(self, graded, request):
        key = graded.key
        solution = solution_notebook(key)
        full, total = autograded_points(solution), sum(graded_cells(solution).values())
        for student, row in sorted(graded.report.items()):
            record_execution(request, f"graded: {key} ({student})", row.get("seconds"), row["status"])
        got = {s: (r["score"], r["max_score"], r["status"]) for s, r in graded.report.items()}
        assert got == {
            SOLUTION: (full, total, "graded"),
            BLANK: (0.0, total, "graded"),
            FAULTY: (faulty_score(key, full), total, "graded"),
        }, graded.stdout + graded.stderr[-3000:]

    def test_the_faults_cost_their_own_questions_and_nothing_else(self, graded):
        """Every test cell of the faulty submission scores what the solution's does, but the faults' own
        tests and the later ones they break (``also_lost``); together they cost the hand-written losses."""
        key, cases = graded.key, CASES[graded.key]
        lost = {f"{cases.wrong_answer[0]}_test", cases.tampered[2], f"{cases.infinite_loop[0]}_test",
                *cases.also_lost}
        tests = {gid: points for gid, points in graded_cells(solution_notebook(key)).items() if gid.endswith("_test")}
        assert lost <= set(tests), f"{key}: {sorted(lost - set(tests))} are not graded test cells"
        scores = graded.question_scores(FAULTY)
        assert {gid: scores[gid] for gid in tests} == {gid: 0.0 if gid in lost else p for gid, p in tests.items()}
        full = autograded_points(solution_notebook(key))
        assert sum(tests[gid] for gid in lost) == full - faulty_score(key, full)

    def test_the_loop_is_interrupted_and_fails_its_own_test(self, graded):
        cell = CASES[graded.key].infinite_loop[0]
        assert graded.question_scores(FAULTY)[f"{cell}_test"] == 0.0
        assert "timeout" in graded.report[FAULTY]["reason"], graded.report[FAULTY]

    def test_the_tampered_test_is_restored_and_fails(self, graded):
        test_cell = CASES[graded.key].tampered[2]
        assert graded.question_scores(FAULTY)[test_cell] == 0.0
        restored = next(c for c in graded.autograded(FAULTY).cells if grade_id(c) == test_cell)
        assert restored.source != "pass\n"

    def test_solution_earns_full_marks_and_passes_nbval(self, graded):
        """The exercise notebook's one execution: every graded test passes, no cell raises, stored outputs match."""
        solution = solution_notebook(graded.key)
        scores = graded.question_scores(SOLUTION)
        autograded = {gid: points for gid, points in graded_cells(solution).items() if gid.endswith("_test")}
        assert {gid: scores[gid] for gid in autograded} == autograded, "failing test cells in the solution"
        problems = compare(solution, graded.autograded(SOLUTION), label=f"solutions/{graded.key}")
        assert not problems, "\n\n".join(problems)

    def test_every_failure_a_check_finds_names_its_mistake(self, graded):
        """The class report of the round-trip class (issue 26): every failure found by a check carries
        its mistake's tag; the loop's failure is of the kind timeout."""
        from dlcourse.grading.insights import collect

        data = collect(graded.course, graded.key, f"sqlite:///{graded.course / 'gradebook.db'}")
        untagged = [(q["id"], g["pattern"][:80]) for q in data["questions"] for g in q["groups"]
                    if g["kind"] == "check" and not g["tag"]]
        assert data["failures"]["tagged"] == data["failures"]["checks"] > 0, untagged
        loop = CASES[graded.key].infinite_loop[0]
        kinds = {g["kind"] for q in data["questions"] if q["id"] == loop for g in q["groups"]}
        assert "timeout" in kinds, kinds

    def test_release_fails_every_graded_test_with_a_message(self, graded):
        """The untouched release: every graded test cell fails, and a student sees why (no NameError)."""
        release = graded.autograded(BLANK)
        tests = [c for c in release.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
        assert tests
        for cell in tests:
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            assert errors, f"{grade_id(cell)} passes on the untouched release"
            text = " ".join(f"{o.get('ename')} {o.get('evalue')}" for o in errors)
            assert "NameError" not in text and "SyntaxError" not in text, f"{grade_id(cell)}: {text}"
        assert set(graded.question_scores(BLANK).values()) <= {0.0, None}


for _key in ASSIGNMENTS:
    globals()[f"TestRoundTrip_{_key}"] = type(f"TestRoundTrip_{_key}", (RoundTrip,), {"key": _key})
