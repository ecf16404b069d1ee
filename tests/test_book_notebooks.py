"""Book pages execute, and their deterministic outputs still match what is stored (nbval's rules).

Each page executes once per test run, in the strict book build (``browser_helpers.build_book``); the
comparison reads the executed copy from the build's execution cache instead of running the page again
(``nbval_compare``). A page that raises fails the build and has no executed copy, so it fails here too.
"""

from __future__ import annotations

import re
import sys

import nbformat
import pytest

from browser_helpers import build_book, executed_page
from conftest import ASSIGNMENTS, ROOT, record_execution, solution_path
from course import graded_cells
from nbval_compare import checked_cells, compare

sys.path.insert(0, str(ROOT / "tools"))
from benchmark import _cell_seconds  # noqa: E402  (a cell's execution time, as the benchmark reads it)
from tidy_pages import exercise_list, questions  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

BOOK_NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("ch*/*.ipynb"))
WORDS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_book_notebook_tags_a_deterministic_cell(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    assert checked_cells(nb), "tag at least one deterministic cell nbval-check-output"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_book_notebook_runs_and_matches_its_stored_outputs(notebook, request):
    execution = executed_page(ROOT / notebook)
    if execution is None:
        log = build_book().log
        mentions = [line for line in log.splitlines() if notebook.removesuffix(".ipynb") in line]
        pytest.fail(
            f"{notebook} did not execute successfully in the book build: it raised, timed out or is not "
            "in _toc.yml (log in _build/book-build.log)\n" + "\n".join(mentions[-10:]) + "\n" + log[-3000:]
        )
    slowest = max((_cell_seconds(c) for c in execution.notebook.cells if c.cell_type == "code"), default=0)
    record_execution(request, f"book: {notebook}", execution.seconds,
                     ("book build" if execution.in_this_build else "cached by an earlier build of the same code")
                     + f"; slowest cell {slowest:.0f} s")
    problems = compare(nbformat.read(ROOT / notebook, as_version=4), execution.notebook, label=notebook)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_chapter_page_links_its_exercises_and_quotes_their_size(key):
    page = nbformat.read(ROOT / "book" / key / "index.ipynb", as_version=4)
    text = "\n".join(c.source for c in page.cells if c.cell_type == "markdown")
    assert f"notebooks/{key}/{key}.ipynb" in text, "the page links the student notebook"
    exercises = nbformat.read(solution_path(key), as_version=4)
    cells = graded_cells(exercises)
    assert f"{WORDS[len(cells)]} questions worth {sum(cells.values()):g} points" in text


@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_book_figures_have_captions_and_alt_text(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    figures = [c for c in nb.cells if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})]
    assert len(figures) >= 4, "a chapter page has at least four figures"
    for cell in figures:
        assert cell.metadata.mystnb.figure.get("caption"), cell.source[:60]
        assert cell.metadata.mystnb.figure.get("name", "").startswith("fig-")
        assert len(cell.metadata.mystnb.get("image", {}).get("alt", "")) > 20, cell.source[:60]
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), "figure cells keep their output"


def _headings(nb) -> list[tuple[int, str]]:
    return [(i, line[3:].strip()) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
            for line in c.source.splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_book_page_ends_with_its_summary_then_its_exercises(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    headings = _headings(nb)
    assert [title for _, title in headings[-2:]] == ["Summary", "Exercises"], (
        f"the last sections are {[t for _, t in headings[-3:]]}; Summary and Exercises go last")
    summary_cell = headings[-2][0]
    after = [c for c in nb.cells[summary_cell:] if c.cell_type == "code"
             and "remove-cell" not in c.metadata.get("tags", [])]
    assert not after, "no code (a table, a figure) after the Summary"


@pytest.mark.parametrize("key", ASSIGNMENTS)
def test_chapter_page_lists_the_exercise_notebooks_own_questions(key):
    assert len(questions(key)) >= 5, "the notebook's questions are headed '## Question N — Title (P points)'"
    page = nbformat.read(ROOT / "book" / key / "index.ipynb", as_version=4)
    exercises = page.cells[_headings(page)[-1][0]].source.split("## Exercises", 1)[-1]
    assert exercise_list(key) in exercises, (
        "the page's list of questions is not the notebook's: run `python tools/tidy_pages.py`")


# A compared output must not depend on rounding: no negative zero, no digits beyond what a float carries.
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?:\.0+)?(?![\d.]*[1-9])(?![\w.])")
TOO_MANY_DIGITS = re.compile(r"\d*\.\d{16,}|\d+\.\d*e[-+]?\d+", re.I)


def rounding_noise(text: str) -> list[str]:
    """The tokens of an output that show rounding noise: ``-0.0`` or a float printed with 16+ decimals."""
    found = [m.group(0) for m in NEGATIVE_ZERO.finditer(text)]
    found += [m.group(0) for m in TOO_MANY_DIGITS.finditer(text)
              if len(re.sub(r"\D", "", m.group(0).lower().split("e")[0]).lstrip("0")) > 15]
    return found


def test_rounding_noise_detector_finds_negative_zeros_and_long_floats():
    assert rounding_noise("w = [-0.0, 0.5]") == ["-0.0"]
    assert rounding_noise("b = -0.000 and -0") == ["-0.000", "-0"]
    assert rounding_noise("0.30000000000000004") == ["0.30000000000000004"]
    assert rounding_noise("-0.05, -0.0012, 10-0, 1.0e-05, 0.1234567890123") == []


NOTEBOOKS_WITH_STORED_OUTPUTS = BOOK_NOTEBOOKS + [solution_path(k).relative_to(ROOT).as_posix() for k in ASSIGNMENTS]


@pytest.mark.parametrize("notebook", NOTEBOOKS_WITH_STORED_OUTPUTS)
def test_compared_outputs_carry_no_rounding_noise(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    noisy = {}
    for i in checked_cells(nb):
        text = "\n".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                         for o in nb.cells[i].outputs)
        if rounding_noise(text):
            noisy[i] = rounding_noise(text)
    assert not noisy, f"compared cells print rounding noise (format them): {noisy}"
