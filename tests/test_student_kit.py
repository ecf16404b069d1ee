"""The students' kit (``make student-kit``, ``tools/student_kit.py``) in a temporary folder.

One kit is written per test run and checked for three things (issue 14):

* nothing of the instructors' side: no solution or hidden-test marker, no line of solution code
  (or model answer) that the release notebook does not contain, no solutions/, no grading code,
  no gradebook, no nbgrader course config;
* every import of the release notebooks works there, with the kit's own helper package (the
  round trips execute the release notebooks themselves, against the course's package);
* the book builds there, strictly, from the course's notebook execution cache
  (``test_student_kit_book.py``: it waits for the course's build, so it runs at the end).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT, release_path, solution_path

sys.path.insert(0, str(ROOT / "tools"))
import student_kit  # noqa: E402

pytestmark = pytest.mark.slow

MIN_SECRET_LENGTH = 8

#: Lines a check module shares with a solution without giving anything away (argument coercion).
GENERIC = re.compile(r"^(import \w+|from [\w.]+ import [\w, ]+|for \w+ in \w+:"
                     r"|\w+ = np\.asarray\(\w+, dtype=float\)"
                     r"|error = np\.abs\(np\.asarray\(y_pred, dtype=float\) - np\.asarray\(y_true, dtype=float\)\))$")

#: (file in the kit, line) pairs allowed to repeat a solution line; empty: checks hold no answer key
KNOWN_LEAKS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    kit = student_kit.write_kit(tmp_path_factory.mktemp("kit") / "course-kit")
    print(f"\nstudent kit without its build: {student_kit.size_mb(kit):.1f} MB")
    return kit


def _lines(path: Path) -> list[str]:
    """Source lines of a notebook's cells, or lines of a text file ([] for binary files)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    if path.suffix == ".ipynb":
        return [line for cell in json.loads(text)["cells"]
                for line in "".join(cell.get("source", "")).splitlines()]
    return text.splitlines()


def _public_lines() -> set[str]:
    """Lines the book shows anyway (a solution may repeat a line of its chapter's page)."""
    lines: set[str] = set()
    for path in (ROOT / "book").rglob("*"):
        if path.suffix in (".ipynb", ".md") and "_vendor" not in path.parts:
            lines |= {line.strip() for line in _lines(path)}
    return lines


def _secret_lines(key: str, public: set[str]) -> set[str]:
    """Lines of the solution notebook (answers, hidden tests, model answers) that no release shows."""
    release = {line.strip() for other in ASSIGNMENTS for line in _lines(release_path(other))}
    return {
        line.strip() for line in _lines(solution_path(key))
        if len(line.strip()) >= MIN_SECRET_LENGTH and line.strip() not in release | public
        and not student_kit.MARKER.match(line) and not GENERIC.match(line.strip())
    }


def _leaks(folder: Path, secrets: set[str]) -> set[tuple[str, str]]:
    leaks = set()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "_build" not in path.relative_to(folder).parts:
            leaks |= {(path.relative_to(folder).as_posix(), line.strip())
                      for line in _lines(path) if line.strip() in secrets}
    return leaks


def test_kit_has_what_students_need(kit):
    for rel in ("README.md", "Makefile", "requirements.txt", "pyproject.toml", "_config.yml",
                "_toc.yml", "LICENSE", ".gitignore", "binder/requirements.txt",
                ".github/workflows/book.yml", "datasets/README.md", "book/intro.md",
                "src/dlcourse/data.py", "src/dlcourse/checks/__init__.py"):
        assert (kit / rel).is_file(), rel
    for key in ASSIGNMENTS:
        assert (kit / "notebooks" / key / f"{key}.ipynb").read_bytes() == release_path(key).read_bytes()
        assert (kit / "book" / key / "index.ipynb").read_bytes() == (
            ROOT / "book" / key / "index.ipynb").read_bytes()
        assert (kit / "src" / "dlcourse" / "checks" / f"{key}.py").is_file()
    for name in os.listdir(ROOT / "datasets"):
        assert (kit / "datasets" / name).read_bytes() == (ROOT / "datasets" / name).read_bytes()
    assert re.search(r"^lab:", (kit / "Makefile").read_text(), re.M)
    assert re.search(r"^book:", (kit / "Makefile").read_text(), re.M)


def test_kit_holds_nothing_of_the_instructors(kit):
    names = {p.relative_to(kit).as_posix() for p in kit.rglob("*")}
    for forbidden in ("solutions", "nbgrader_config.py", "tests", "tools", "gradebook.db",
                      "submitted", "autograded", "feedback", "grades.csv", ".ci"):
        assert not any(n == forbidden or n.startswith(forbidden + "/") for n in names), forbidden
    grading = [n for n in names if re.search(r"(^|/)grading(_\w+)?(\.py|/|$)", n)]
    assert not grading, f"grading code in the kit: {grading}"
    assert "dlcourse-grade" not in (kit / "pyproject.toml").read_text()
    assert student_kit.marker_lines(kit) == []
    # the kit's package imports without the grading code
    check = subprocess.run(
        [sys.executable, "-c", "import dlcourse, dlcourse.data, dlcourse.checks, dlcourse.plotting, "
         "dlcourse.setup, dlcourse.training, dlcourse.models; print(dlcourse.__file__)"],
        env={**os.environ, "PYTHONPATH": str(kit / "src")}, capture_output=True, text=True, timeout=300,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(kit / "src" / "dlcourse" / "__init__.py")


def test_no_line_of_solution_code_is_in_the_kit(kit):
    public = _public_lines()
    secrets = set().union(*(_secret_lines(key, public) for key in ASSIGNMENTS))
    # the check can fail: the instructors' solutions are full of such lines
    assert len(secrets) > 20 * len(ASSIGNMENTS)
    assert _leaks(ROOT / "solutions", secrets)
    leaks = _leaks(kit, secrets)
    new = sorted(leaks - KNOWN_LEAKS)
    assert not new, "solution code in the kit:\n" + "\n".join(f"{p}: {line}" for p, line in new[:20])
    gone = sorted(KNOWN_LEAKS - leaks)
    assert not gone, f"no longer leaked, remove from KNOWN_LEAKS: {gone}"


def test_marker_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n    ### BEGIN SOLUTION\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert x")])
    nbformat.write(nb, tmp_path / "b.ipynb")
    (tmp_path / "c.md").write_text("Between `### BEGIN SOLUTION` and `### END SOLUTION` in prose.\n")
    assert len(student_kit.marker_lines(tmp_path)) == 2


def _imports(path: Path) -> list[str]:
    """The import statements of a notebook's code cells, as source lines."""
    import ast

    nb = nbformat.read(path, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    return lines


def test_release_notebooks_import_only_what_the_kit_ships(kit):
    # The round trips execute every release notebook against the course's package (the blank
    # submission); here one process runs all their imports against the kit's package alone, which
    # has no grading code: a notebook or check that needs it fails with ModuleNotFoundError.
    imports = sorted({line for key in ASSIGNMENTS for line in _imports(kit / "notebooks" / key / f"{key}.ipynb")})
    assert any("dlcourse.checks" in line for line in imports)
    script = "import dlcourse, sys\nassert dlcourse.__file__.startswith(sys.argv[1]), dlcourse.__file__\n"
    script += "\n".join(imports) + "\nimport dlcourse.checks\n"
    script += "\n".join(f"import dlcourse.checks.{key}" for key in ASSIGNMENTS) + "\n"
    env = dict(os.environ, PYTHONPATH=str(kit / "src"))
    proc = subprocess.run([sys.executable, "-c", script, str(kit / "src")], env=env, cwd=kit,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
