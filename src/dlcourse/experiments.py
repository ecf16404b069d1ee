"""Recorded runs: experiments too slow for a page, run once by a script and read back by the page.

Introduced in Chapter 5 (``ch05_overfitting``); Chapters 8 and 9 use it too. This is the pattern of
DESIGN.md, "Experiments and claims" (fast pages, recorded runs):

* The experiment's code is part of the page, so the reader sees it: the code cells tagged
  ``experiment:NAME`` (the set-up and data cells it needs included). One of them defines a function
  ``NAME(seeds=...)`` that returns a list of rows (dicts of plain values); its default ``seeds`` is
  the full grid.
* ``make experiments`` (``tools/experiments.py``) executes those cells in a fresh namespace, in the
  page's folder, calls ``NAME()`` and writes ``book/<chapter>/results/NAME.json``: the rows, the
  code's hash (:func:`code_hash`), the versions, the machine and how long it took.
* The page calls ``NAME(seeds=[0])`` live, plots and quotes the recorded rows
  (:func:`load_results`), and :func:`check_within` asserts that the live rows lie inside the
  recorded spread, so a page whose code no longer produces its recorded numbers fails to build.
* ``tests/test_experiments.py`` fails when the tagged code (or a ``dlcourse`` module it imports)
  changed and the results file was not regenerated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = [
    "TAG_PREFIX",
    "StaleResultsError",
    "experiment_names",
    "experiment_cells",
    "code_hash",
    "results_path",
    "run_experiment",
    "write_results",
    "read_record",
    "load_results",
    "check_within",
]

#: Cells tagged ``experiment:NAME`` hold the code of experiment NAME.
TAG_PREFIX = "experiment:"

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parents[1]
_BOOK = _ROOT / "book"


class StaleResultsError(Exception):
    """A results file is missing, unreadable or was recorded for other code. Introduced in Chapter 5."""


def _read_notebook(notebook: str | os.PathLike) -> dict:
    return json.loads(Path(notebook).read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def experiment_names(notebook: str | os.PathLike) -> list[str]:
    """Names of the experiments a page defines (its ``experiment:NAME`` tags), in order of appearance.

    Introduced in Chapter 5.
    """
    names: list[str] = []
    for cell in _read_notebook(notebook)["cells"]:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith(TAG_PREFIX) and tag[len(TAG_PREFIX):] not in names:
                names.append(tag[len(TAG_PREFIX):])
    return names


def experiment_cells(notebook: str | os.PathLike, name: str) -> list[str]:
    """Sources of the code cells tagged ``experiment:NAME``, in page order. Introduced in Chapter 5."""
    cells = [_source(c) for c in _read_notebook(notebook)["cells"]
             if c.get("cell_type") == "code" and TAG_PREFIX + name in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise StaleResultsError(f"{notebook}: no code cell is tagged {TAG_PREFIX}{name}")
    return cells


def _imported_modules(sources: Iterable[str]) -> list[Path]:
    """Files of the ``dlcourse`` modules the code imports (their changes can change the results)."""
    names: set[str] = set()
    for source in sources:
        for match in re.finditer(r"\bdlcourse\.(\w+)|from\s+dlcourse\s+import\s+([\w ,]+)", source):
            if match.group(1):
                names.add(match.group(1))
            else:
                names.update(n.strip() for n in match.group(2).split(","))
    files = []
    for name in sorted(names):
        module, package = _PACKAGE / f"{name}.py", _PACKAGE / name / "__init__.py"
        if module.exists():
            files.append(module)
        elif package.exists():
            files.append(package)
    return files


def code_hash(notebook: str | os.PathLike, name: str) -> str:
    """sha256 of experiment NAME's tagged cells and of the ``dlcourse`` modules they import.

    Trailing spaces and blank lines do not count. Introduced in Chapter 5.
    """
    cells = experiment_cells(notebook, name)
    h = hashlib.sha256()
    for text in cells + [p.read_text(encoding="utf-8") for p in _imported_modules(cells)]:
        lines = [line.rstrip() for line in text.strip().splitlines()]
        h.update("\n".join(lines).encode("utf-8") + b"\n\x00")
    return h.hexdigest()


def results_path(notebook: str | os.PathLike, name: str) -> Path:
    """Where experiment NAME of a page keeps its results: ``<page folder>/results/NAME.json``.

    Introduced in Chapter 5.
    """
    return Path(notebook).resolve().parent / "results" / f"{name}.json"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for module in ("numpy", "pandas", "tensorflow", "keras", "sklearn"):
        if module in sys.modules:
            versions[module] = getattr(sys.modules[module], "__version__", "?")
    return versions


def _plain(value: Any) -> Any:
    """Rows as JSON: NumPy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def run_experiment(notebook: str | os.PathLike, name: str, seeds: Sequence[int] | None = None) -> dict:
    """Execute experiment NAME of a page and return its record (rows, code hash, versions, seconds).

    The tagged cells run in a fresh namespace with the page's folder as working directory, as in
    the book build; then ``NAME()`` (or ``NAME(seeds=seeds)``) is called. Introduced in Chapter 5.
    """
    notebook = Path(notebook).resolve()
    cells = experiment_cells(notebook, name)
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict[str, Any] = {"__name__": f"experiment_{name}"}
    cwd = os.getcwd()
    start = time.perf_counter()
    try:
        os.chdir(notebook.parent)
        for index, source in enumerate(cells):
            exec(compile(source, f"<{notebook.parent.name} {TAG_PREFIX}{name} cell {index + 1}>", "exec"),
                 namespace)
        function = namespace.get(name)
        if not callable(function):
            raise StaleResultsError(f"{notebook}: the cells tagged {TAG_PREFIX}{name} define no function {name}()")
        rows = function() if seeds is None else function(seeds=list(seeds))
    finally:
        os.chdir(cwd)
    seconds = time.perf_counter() - start
    return {
        "experiment": name,
        "page": notebook.relative_to(_ROOT).as_posix() if notebook.is_relative_to(_ROOT) else str(notebook),
        "code_sha256": code_hash(notebook, name),
        "recorded": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds, 1),
        "machine": {"cpus": os.cpu_count(), "processor": platform.machine(),
                    "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default")},
        "versions": _versions(),
        "rows": _plain(list(rows)),
    }


def write_results(record: dict, notebook: str | os.PathLike) -> Path:
    """Write a record made by :func:`run_experiment` next to its page. Introduced in Chapter 5."""
    path = results_path(notebook, record["experiment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_record(path: str | os.PathLike) -> dict:
    """The whole record of a results file; a missing or malformed file says which and why.

    Introduced in Chapter 5.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleResultsError(f"{path}: results file is missing; run `make experiments`") from None
    except (OSError, ValueError) as exc:
        raise StaleResultsError(f"{path}: results file is unreadable ({exc}); run `make experiments`") from exc
    if not isinstance(record, dict) or not isinstance(record.get("rows"), list) or not record["rows"]:
        raise StaleResultsError(f"{path}: results file has no rows; run `make experiments`")
    return record


def load_results(chapter: str, name: str, *, book_dir: str | os.PathLike | None = None):
    """The recorded rows of experiment NAME of a chapter as a pandas DataFrame.

    ``chapter`` is the chapter key (``"ch09_transfer_learning"``); the file is
    ``book/<chapter>/results/<name>.json`` of the course. Introduced in Chapter 5.
    """
    import pandas as pd

    folder = Path(book_dir) if book_dir is not None else _BOOK
    record = read_record(folder / chapter / "results" / f"{name}.json")
    return pd.DataFrame(record["rows"])


def check_within(live, recorded, by: Sequence[str], value: str, *, slack: float = 0.0) -> None:
    """Assert that every live row's ``value`` lies inside the recorded spread of its group.

    The spread of a group (the rows sharing the columns ``by``) is its recorded minimum to maximum,
    widened by one standard deviation of the group, and at least by ``slack``: one seed run live on
    another machine differs from the recorded one by rounding, and a recorded run of five seeds does
    not show the extremes. Raises ``AssertionError`` naming the group otherwise. Introduced in
    Chapter 5.
    """
    by = list(by)
    groups = recorded.groupby(by)[value]
    stats = groups.agg(["min", "max", "std", "count"])
    problems = []
    for _, row in live.iterrows():
        key = tuple(row[c] for c in by)
        key = key[0] if len(by) == 1 else key
        if key not in stats.index:
            problems.append(f"{dict(zip(by, row[by]))}: no recorded runs")
            continue
        low, high, sd, _ = stats.loc[key]
        margin = max(0.0 if sd != sd else float(sd), slack)
        if not low - margin <= row[value] <= high + margin:
            problems.append(f"{dict(zip(by, row[by]))}: live {value} {row[value]:.4g} outside the recorded "
                            f"[{low:.4g}, {high:.4g}] +/- {margin:.2g}")
    if problems:
        raise AssertionError("the live run does not reproduce the recorded runs (code or data changed? "
                             "run `make experiments`):\n" + "\n".join(problems))
