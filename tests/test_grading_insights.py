"""The class report (``dlcourse-grade --insights``, issue 26) on a small simulated class of ch01, graded once.

The class (``insights_class.py``): the solution, the untouched release, the round trip's faulty
submission (a wrong answer, a tampered test, an infinite loop), two submissions with a known mistake in
each of three questions (one of them with a forged verdict in a test cell's metadata) and a crash
(``os._exit`` in an answer cell). Each count of the report is written out by hand from those mistakes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import solution_path
from course import grade_class, make_course
from insights_class import KEY, PREFIX, class_notebooks, submit

pytestmark = pytest.mark.slow

#: (question, tag or kind) -> submissions, written out from the class's mistakes
EXPECTED = {
    "q1_task_types": {"not_implemented": 1, "timeout": 1, "student_exception": 1},
    "q2_split": {"not_implemented": 1, "kernel_died": 1},
    # the tampered mse returns 0.0 whatever it is given: the shared helper's generic tag
    "q3_mse": {"mse_absolute": 1, "mse_sum": 1, "not_implemented": 1, "wrong_value": 1},
    "q4_gradient_step": {"not_implemented": 1, "step_uphill": 1},
    # q5 replays the student's own mse and gradient_step: a wrong mse (faulty, mix2) or an uphill step (mix1)
    "q5_fit": {"losses_not_mse": 2, "fit_loss_grew": 1, "lr_none": 1},
    "q6_diverging_lr": {"not_implemented": 1},
    "q7_threshold": {"boundary_threshold_ignored": 1, "boundary_probability_as_z": 1, "boundary_sign": 1,
                     "not_implemented": 1},
}
TOTALS = {"blank": 0.0, "crash": 13.0, "faulty": 8.0, "mix1": 7.0, "mix2": 8.0, "solution": 16.0}
#: Screenshots for the instructors' page (book/_static/), written to _build/screenshots/ by the render test
SCREENSHOT, SCREENSHOT_QUESTION = "insights-ch01.png", "insights-ch01-q5.png"


def _report(course: Path, out: str, *extra: str) -> Path:
    command = [str(Path(sys.executable).parent / "dlcourse-grade"), KEY, "--skip-grading", "--insights", out, *extra]
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return course / out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once, its report written anonymously and with names."""
    course = make_course(tmp_path_factory.mktemp("insights"), [KEY], generate=False)
    notebooks = class_notebooks()
    forged = notebooks[f"{PREFIX}_mix2"]
    for cell in forged.cells:  # a verdict in the submission never counts: the grader writes its own
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q7_threshold_test":
            cell.metadata["dlcourse_grading"] = {"outcome": "passed", "kind": "check", "tag": "forged_tag"}
    for student, nb in notebooks.items():
        submit(course, KEY, student, nb)
    run = grade_class(course, KEY, cell_timeout=15, workers=2)
    anonymous = _report(course, "report")
    named = _report(course, "report-named", "--names")
    return run, anonymous, named


def _data(folder: Path) -> dict:
    return json.loads((folder / "insights.json").read_text())


def test_the_class_scores_what_its_mistakes_cost(graded):
    run, _, _ = graded
    got = {s[len(PREFIX) + 1:]: r["score"] for s, r in run.report.items()}
    assert got == TOTALS, run.stdout + run.stderr[-3000:]


def test_counts_per_tag_and_kind_are_exact(graded):
    data = _data(graded[1])
    got = {}
    for q in data["questions"]:
        if not q["manual"]:
            got[q["id"]] = {g["tag"] or g["kind"]: g["count"] for g in q["groups"]}
    assert got == EXPECTED
    kinds = {(q["id"], g["kind"]) for q in data["questions"] for g in q["groups"] if g["kind"] != "check"}
    assert kinds == {("q1_task_types", "timeout"), ("q1_task_types", "student_exception"), ("q2_split", "kernel_died")}
    # every failure that a check found names its mistake
    assert data["failures"] == {"total": 20, "checks": 17, "tagged": 17}
    assert data["totals"] == {str(v): 1 for v in TOTALS.values() if v != 8.0} | {"8.0": 2}


def test_questions_have_shares_times_and_the_manual_state(graded):
    data = _data(graded[1])
    q7 = next(q for q in data["questions"] if q["id"] == "q7_threshold")
    assert (q7["full"], q7["partial"], q7["zero"], q7["submissions"]) == (2, 0, 4, 6)
    assert q7["seconds"]["max"] is not None and q7["hint"]
    manual = [q for q in data["questions"] if q["manual"]]
    assert [q["id"] for q in manual] == ["q8_validation_written"] and not manual[0]["groups"]
    assert sum(manual[0]["formgrader"].values()) == 6 and "needs manual grading" in manual[0]["formgrader"]
    together = data["fail_together"]
    i, j = together["questions"].index("q3_mse"), together["questions"].index("q5_fit")
    assert together["both"][i][j] == 4  # a wrong mse fails q5 too; so do the blank and the uphill step


def test_verdicts_travel_in_the_metadata_and_the_student_sees_the_same_message(graded):
    run, _, _ = graded
    nb = run.autograded(f"{PREFIX}_mix2")
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q7_threshold_test")
    verdict = cell.metadata["dlcourse_grading"]
    assert {k: verdict[k] for k in ("outcome", "kind", "tag", "ename")} == {
        "outcome": "failed", "kind": "check", "tag": "boundary_sign", "ename": "AssertionError"}
    assert set(verdict) == {"outcome", "kind", "tag", "ename", "seconds"}  # no message, no test line
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert error.evalue == ("decision_boundary(w=1.2, b=-3.0, threshold=0.5) returned -2.5, which has the wrong "
                            "sign: check the signs when you solve for x.")
    assert "boundary_sign" not in json.dumps(cell.outputs)


def test_the_report_names_no_student_and_shows_no_hidden_test(graded):
    from dlcourse.grading.preprocessors import secret_lines

    _, anonymous, named = graded
    secrets = [line for cell in nbformat.read(solution_path(KEY), as_version=4).cells
               for line in secret_lines(cell.source)]
    assert secrets
    texts = {p.name: p.read_text() for p in anonymous.iterdir() if p.suffix in (".html", ".json", ".csv")}
    assert set(texts) == {"index.html", "insights.json", "failures.csv"}
    for name, text in texts.items():
        assert PREFIX not in text, f"{name} names a student"
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{name} shows hidden-test lines: {leaked[:3]}"
        assert "forged_tag" not in text
    assert f"{PREFIX}_mix1" in (named / "index.html").read_text()
    students = {r["student"]: r for r in _data(named)["students"]}
    assert students[f"{PREFIX}_mix1"]["failed"] == {"q3_mse": "mse_absolute", "q4_gradient_step": "step_uphill",
                                                    "q5_fit": "fit_loss_grew",
                                                    "q7_threshold": "boundary_probability_as_z"}


def test_the_page_renders_in_chromium_with_alt_text(graded):
    from browser_helpers import SCREENSHOT_DIR, launch_chromium, serve
    from test_browser_accessibility import _axe_script

    _, anonymous, _ = graded
    with serve(anonymous) as url, launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 1100})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "index.html", wait_until="load")
        images = page.evaluate("""() => Array.from(document.images).map(i => ({
            alt: i.getAttribute('alt') || '', loaded: i.complete && i.naturalWidth > 0}))""")
        assert len(images) == 10  # the totals, eight questions and the fail-together heat map
        assert all(i["loaded"] and len(i["alt"]) > 20 for i in images), images
        assert not errors, errors
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / SCREENSHOT))
        page.locator('section[aria-labelledby="q5_fit"]').screenshot(path=str(SCREENSHOT_DIR / SCREENSHOT_QUESTION))
        script = _axe_script()
        if script is not None:
            page.add_script_tag(path=str(script))
            found = page.evaluate("""async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}))
                .violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)""")
            assert not found, found
