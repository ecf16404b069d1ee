"""Book pages execute, and their deterministic outputs still match what is stored (nbval's rules).

Each page executes once per test run, in the strict book build (``browser_helpers.build_book``); the
comparison reads the executed copy from the build's execution cache instead of running the page again
(``nbval_compare``). A page that raises fails the build and has no executed copy, so it fails here too.
"""

from __future__ import annotations

import nbformat
import pytest

from browser_helpers import build_book, executed_page
from conftest import ASSIGNMENTS, ROOT, record_execution, solution_path
from course import graded_cells
from nbval_compare import checked_cells, compare

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
    record_execution(request, f"book: {notebook}", execution.seconds,
                     "book build" if execution.in_this_build else "cached by an earlier build of the same code")
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
