"""The simulated class of the class-report tests (issue 26): ch01 submissions, each with known mistakes.

Every student id starts with ``zyx`` so that the privacy test can look for any of them in the report.
Each faulty submission is the solution with wrong answers in different questions (a mistake per
question, with the tag its check must name), the round trip's faulty submission (a wrong answer, a
tampered test and an infinite loop), the untouched release and a crash.
"""

from __future__ import annotations

import nbformat

from conftest import release_path
from course import replace_cell, solution_notebook, submit
from test_grading_roundtrip import faulty_submission

KEY = "ch01_learning_from_data"
PREFIX = "zyx"

MSE_ABSOLUTE = "def mse(y_true, y_pred):\n    return float(np.mean(np.abs(np.asarray(y_pred) - np.asarray(y_true))))\n"
MSE_SUM = "def mse(y_true, y_pred):\n    return float(np.sum((np.asarray(y_pred) - np.asarray(y_true)) ** 2))\n"
STEP_UPHILL = ("def gradient_step(a, b, x, y, lr):\n    residual = a * x + b - y\n"
               "    return a + lr * 2 * np.mean(residual * x), b + lr * 2 * np.mean(residual)\n")
BOUNDARY_PROBABILITY_AS_Z = "def decision_boundary(w, b, threshold=0.5):\n    return float((threshold - b) / w)\n"
BOUNDARY_SIGN = ("def decision_boundary(w, b, threshold=0.5):\n"
                 "    return float((b - np.log(threshold / (1 - threshold))) / w)\n")
#: the student's own error, whose message names the student: anonymised in the report
TASK_TYPE_RAISES = "def task_type(labels, max_classes=10):\n    raise ValueError('zyx_mix2 cannot tell')\n"
CRASH = "import os\nos._exit(1)\n"


def class_notebooks() -> dict[str, nbformat.NotebookNode]:
    """Student id -> submitted notebook."""
    solution = solution_notebook(KEY)
    mix1 = replace_cell(solution, "q3_mse", MSE_ABSOLUTE)
    mix1 = replace_cell(mix1, "q4_gradient_step", STEP_UPHILL)
    mix1 = replace_cell(mix1, "q7_threshold", BOUNDARY_PROBABILITY_AS_Z)
    mix2 = replace_cell(solution, "q3_mse", MSE_SUM)
    mix2 = replace_cell(mix2, "q7_threshold", BOUNDARY_SIGN)
    mix2 = replace_cell(mix2, "q1_task_types", TASK_TYPE_RAISES)
    crash_source = next(c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q2_split")
    crash = replace_cell(solution, "q2_split", CRASH + crash_source)
    return {
        f"{PREFIX}_faulty": faulty_submission(KEY),
        f"{PREFIX}_solution": solution,
        f"{PREFIX}_blank": nbformat.read(release_path(KEY), as_version=4),
        f"{PREFIX}_mix1": mix1,
        f"{PREFIX}_mix2": mix2,
        f"{PREFIX}_crash": crash,
    }


def build_class(course) -> None:
    for student, nb in class_notebooks().items():
        submit(course, KEY, student, nb)
