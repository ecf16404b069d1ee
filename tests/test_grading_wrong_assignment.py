"""A notebook handed in for the wrong assignment (issue 25, "Malformed submissions"): chapter 2's notebook under
chapter 1's name, or a notebook made anew. The student is told at submit time (``CheckedSubmit``, the submit
``make hub`` configures) and the grader reports it (``dlcourse-grade``'s reason); a notebook of the
assignment with cells deleted is not mistaken for one. No notebook runs here; the hub's end-to-end test
(tests/test_hub.py) submits one through the hub and grades the class around it.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT, release_path
from dlcourse.grading.cli import released_key_ids
from dlcourse.grading.submission import NOT_FETCHED, key_ids, wrong_assignment
from dlcourse.grading.worker import _diagnose
from grading_fixtures import KEY, delete, release

OTHER = "ch02_neurons"


def _json(nb) -> dict:
    return json.loads(nbformat.writes(nb))


def other_release() -> nbformat.NotebookNode:
    return nbformat.read(release_path(OTHER), as_version=4)


def test_key_ids_are_the_answer_and_test_cells():
    ids = key_ids(_json(release()))
    assert "q3_mse" in ids and "q3_mse_test" in ids
    assert "setup" not in ids and "header" not in ids  # shared by every chapter
    assert not set(ids) & set(key_ids(_json(other_release())))


def test_another_assignments_notebook_is_named():
    others = released_key_ids(ROOT, "notebooks")
    assert set(others) >= {KEY, OTHER}
    why = wrong_assignment(_json(other_release()), _json(release()), KEY, f"{KEY}.ipynb", others)
    assert why is not None and f"({OTHER})" in why and NOT_FETCHED in why, why
    assert f"belongs to {KEY}" in why and key_ids(_json(other_release()))[0] in why


def test_a_new_notebook_is_not_the_fetched_one():
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def mse(a, b):\n    return 0.0")])
    why = wrong_assignment(_json(blank), _json(release()), KEY, f"{KEY}.ipynb", {})
    assert why is not None and NOT_FETCHED in why and "none of" in why


def test_the_assignments_own_notebook_passes_even_with_cells_deleted():
    nb = release()
    assert wrong_assignment(_json(nb), _json(release()), KEY, f"{KEY}.ipynb") is None
    for grade_id in ("q1_task_types", "q1_task_types_test", "q3_mse", "q3_mse_test"):
        nb = delete(nb, grade_id)
    assert wrong_assignment(_json(nb), _json(release()), KEY, f"{KEY}.ipynb") is None


def _job(files: dict[str, bytes]) -> dict:
    return {"assignment": KEY, "notebooks": [KEY], "submission": files,
            "release": {f"{KEY}.ipynb": release_path(KEY).read_bytes()},
            "options": {"others": released_key_ids(ROOT, "notebooks")}}


def test_the_grader_reports_it():
    wrong = _diagnose(_job({f"{KEY}.ipynb": release_path(OTHER).read_bytes()}))
    assert wrong is not None and f"({OTHER})" in wrong and NOT_FETCHED in wrong
    renamed = _diagnose(_job({f"{OTHER}.ipynb": release_path(OTHER).read_bytes()}))
    assert renamed == f"missing {KEY}.ipynb (submitted: {OTHER}.ipynb; {OTHER}.ipynb is {OTHER}'s notebook)"
    assert _diagnose(_job({f"{KEY}.ipynb": release_path(KEY).read_bytes()})) is None


@pytest.fixture
def exchange(tmp_path):
    """nbgrader's exchange with chapters 1 and 2 released, and a student's folder with chapter 1 fetched."""
    root = tmp_path / "exchange"
    for assignment in (KEY, OTHER):
        shutil.copytree(release_path(assignment).parent, root / "dl-keras" / "outbound" / assignment)
    (root / "dl-keras" / "inbound").mkdir(parents=True)
    os.chmod(root / "dl-keras" / "inbound", 0o1777)
    home = tmp_path / "home"
    shutil.copytree(release_path(KEY).parent, home / KEY)
    return root, home


def _submit(root, home, checked: bool = True) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "nbgrader", "submit", KEY, "--course", "dl-keras", f"--Exchange.root={root}",
            f"--Exchange.cache={home / '.cache'}"]
    if checked:
        args.append("--ExchangeFactory.submit=dlcourse.grading.exchange.CheckedSubmit")
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTER_CONFIG_PATH="")
    return subprocess.run(args, cwd=home, env=env, capture_output=True, text=True, timeout=120)


def test_submit_refuses_another_assignments_notebook_and_says_why(exchange):
    root, home = exchange
    shutil.copy(release_path(OTHER), home / KEY / f"{KEY}.ipynb")
    out = _submit(root, home)
    assert out.returncode != 0
    said = out.stdout + out.stderr
    assert f"Assignment {KEY} not submitted" in said and f"({OTHER})" in said and NOT_FETCHED in said, said
    assert not os.listdir(root / "dl-keras" / "inbound")
    # nbgrader's own submit takes it: the grader then reports it (test_the_grader_reports_it)
    assert _submit(root, home, checked=False).returncode == 0
    assert len(os.listdir(root / "dl-keras" / "inbound")) == 1


def test_submit_takes_the_right_notebook(exchange):
    root, home = exchange
    nb = copy.deepcopy(release())
    nbformat.write(delete(nb, "q3_mse"), home / KEY / f"{KEY}.ipynb")
    out = _submit(root, home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(os.listdir(root / "dl-keras" / "inbound")) == 1
