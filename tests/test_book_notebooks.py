"""Book pages execute, and their deterministic outputs still match what is stored (nbval)."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT, solution_path
from course import graded_cells

BOOK_NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("ch*/*.ipynb"))
WORDS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


@pytest.mark.slow
@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_book_notebook_runs_and_matches_its_stored_outputs(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    assert any(
        "NBVAL_CHECK_OUTPUT" in c.source or "nbval-check-output" in c.metadata.get("tags", [])
        for c in nb.cells if c.cell_type == "code"
    ), "tag at least one deterministic cell nbval-check-output"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--nbval-lax", "--nbval-cell-timeout=300",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", notebook],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout)


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
