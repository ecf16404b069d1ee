"""nbval's own checks, applied to a notebook that something else already executed.

The book build (its jupyter-cache) and the grading round trip (``autograded/``) each execute a
notebook once; nbval would execute it a second time just to compare outputs. These helpers take
the executed copy instead and apply nbval's rules to it, with nbval's own code:

* which cells are compared: nbval's cell tags (``nbval-check-output``, ``nbval-skip``,
  ``nbval-ignore-output``, ``raises-exception``) and comment markers (``# NBVAL_CHECK_OUTPUT``);
  unmarked cells are not compared, as with ``--nbval-lax``;
* how outputs are compared: ``nbval.plugin.IPyNbCell.compare_outputs`` with nbval's stream
  coalescing and the sanitize file ``tests/nbval_sanitize.cfg`` (``--nbval-sanitize-with``);
* a cell that raised fails, unless it is marked ``raises-exception``; a reference cell that was
  never run must not have stored outputs.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

from nbval.plugin import (
    IPyNbCell,
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    nocolors,
)

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")

#: What nbval leaves out of a comparison (``IPyNbFile.skip_compare`` without ``--nbdime``).
SKIP_COMPARE = (
    "metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
    "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg",
)


def cell_options(cell) -> dict:
    """nbval's options of one code cell under ``--nbval-lax`` (``IPyNbFile.collect``)."""
    options = defaultdict(bool, find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    options.setdefault("check", False)
    return options


def checked_cells(nb) -> list[int]:
    """Indices (among all cells) of the code cells whose outputs nbval compares."""
    return [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell_options(cell)["check"] and not cell_options(cell)["skip"]
    ]


class _Cell:
    """Just enough of an ``IPyNbCell`` for nbval's comparison methods to run on it."""

    colors = nocolors
    compare_outputs = IPyNbCell.compare_outputs
    sanitize = IPyNbCell.sanitize
    format_output_compare = IPyNbCell.format_output_compare

    def __init__(self, patterns):
        self.parent = SimpleNamespace(sanitize_patterns=patterns, skip_compare=SKIP_COMPARE)
        self.config = None
        # no pytest assertion rewriting here: nbval falls back to printing both outputs in full
        self.ihook = SimpleNamespace(pytest_assertrepr_compare=lambda **kwargs: [])
        self.comparison_traceback: list[str] = []


def _sanitize_patterns(sanitize_file: Path | None) -> dict[str, str]:
    if sanitize_file is None:
        return {}
    return dict(get_sanitize_patterns(Path(sanitize_file).read_text(encoding="utf-8")))


def _first_line(source: str) -> str:
    """The first line of code of a cell (not a comment), to name it in a failure."""
    lines = [line for line in source.strip().splitlines() if line.strip()]
    code = [line for line in lines if not line.lstrip().startswith("#")]
    return ((code or lines or [""])[0])[:70]


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def compare(reference, executed, sanitize_file: Path | None = SANITIZE_FILE, label: str = "") -> list[str]:
    """nbval's verdict on ``executed`` (an executed copy of ``reference``); one message per failed cell.

    ``reference`` holds the stored outputs (the notebook in the repository); ``executed`` the outputs
    of this run, cell for cell. An empty list means that nbval (``--nbval-lax``) would pass.
    """
    patterns = _sanitize_patterns(sanitize_file)
    ref_cells, run_cells = _code_cells(reference), _code_cells(executed)
    if [c.source for c in ref_cells] != [c.source for c in run_cells]:
        return [f"{label}: the executed notebook is not a copy of the stored one (code cells differ)"]
    problems = []
    for number, (ref, run) in enumerate(zip(ref_cells, run_cells)):
        options = cell_options(ref)
        if options["skip"]:
            continue
        where = f"{label} cell {number}: {_first_line(ref.source)}"
        errors = [o for o in run.get("outputs", []) if o.get("output_type") == "error"]
        if errors and not options["check_exception"]:
            error = errors[0]
            problems.append(f"{where}\n  raised {error.get('ename')}: {error.get('evalue')}")
            continue
        if ref.get("execution_count") is None and ref.get("outputs"):
            problems.append(f"{where}\n  unrun reference cell has outputs")
            continue
        if options["check"] and ref.get("execution_count") is not None:
            cell = _Cell(patterns)
            test = coalesce_streams(copy.deepcopy(run.get("outputs", [])))
            stored = coalesce_streams(copy.deepcopy(ref.get("outputs", [])))
            if not cell.compare_outputs(test, stored):
                problems.append(f"{where}\n  outputs differ:\n" + "\n".join(map(str, cell.comparison_traceback)))
    return problems
