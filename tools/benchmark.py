#!/usr/bin/env python
"""Benchmark report of the course: book build, notebook execution, grading throughput, test suite.

Usage (from the repository root, in the course environment; ``make bench`` runs the defaults):

    python tools/benchmark.py                  # book build (clean + cached), every notebook, grading 8 submissions of ch01
    python tools/benchmark.py --tests          # ... and the whole test suite (long), per file and notebook
    python tools/benchmark.py --last-tests --no-book --no-notebooks --grading 0
                                               # only the timing report of the last test run
    python tools/benchmark.py --grading 0      # skip the grading throughput
    python tools/benchmark.py --no-book        # skip the book builds
    python tools/benchmark.py --no-book --grading 0 --no-base --pages-from-build --record
                                               # the pages' times from the last (idle) `make book`
    python tools/benchmark.py --no-book --grading 0 --no-base --record
                                               # pages (2 cores) and solutions (one core) only, recorded in
                                               # book/timings.json, which the pages and notebook headers quote

Writes a Markdown report to ``_build/benchmark.md`` and prints it. Nothing here is a test: the numbers
depend on the machine. The clean build goes to a temporary folder, so the book in ``_build/html`` and
its execution cache are left alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEY_GLOB = "ch*_*"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.pop("MPLBACKEND", None)  # kernels use the inline backend, as in the book and in JupyterLab
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def timed(command: list[str], cwd: Path, timeout: int = 3600) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=environment(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return time.perf_counter() - start, proc.returncode, re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)


def sphinx_warnings(log: str) -> list[str]:
    """Sphinx's warning and error lines (not the kernels' own log lines)."""
    return [l.strip() for l in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE):", l)]


def status(returncode: int) -> str:
    return "ok" if returncode == 0 else f"exit {returncode}"


# --------------------------------------------------------------------------------------------------


def bench_book() -> list[tuple[str, str, str]]:
    """Clean build (empty execution cache) and cached rebuild, both into a temporary folder."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        command = [str(BIN / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going",
                   "--path-output", tmp, "."]
        for label in ("clean (executes every notebook)", "cached (execution cache reused)"):
            seconds, code, log = timed(command, ROOT)
            note = status(code)
            warnings = sphinx_warnings(log)
            if code or warnings:
                note += f"; {len(warnings)} warnings, first: {warnings[0][:160] if warnings else log[-160:]}"
            rows.append((f"book build, {label}", f"{seconds:.1f}", note))
    return rows


def toc_notebooks() -> list[Path]:
    import yaml

    def files(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            for key in ("chapters", "sections", "parts"):
                yield from files(entry.get(key))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"], *files(toc.get("parts")), *files(toc.get("chapters"))]
    return [ROOT / f"{n}.ipynb" for n in names if (ROOT / f"{n}.ipynb").exists()]


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = dt.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def execute(path: Path, timeout: int = 300, one_core: bool = False) -> dict:
    """Execute a copy of a notebook with nbclient in the notebook's folder.

    Returns wall seconds, the kernel's CPU seconds, the slowest cell's seconds and a status. With
    ``one_core`` the kernel is pinned to one CPU and TensorFlow to one thread: a student's laptop core.
    """
    import resource

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ.update({k: v for k, v in environment().items() if k.startswith(("TF_", "PYTHONHASH"))})
    os.environ.pop("MPLBACKEND", None)
    affinity = os.sched_getaffinity(0)
    threads = {k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    if one_core:  # the kernel inherits both
        os.sched_setaffinity(0, {min(affinity)})
        os.environ.update(dict.fromkeys(threads, "1"))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        client.execute()
        result = "ok"
    except CellExecutionError as error:
        result = "error: " + str(error).strip().splitlines()[-1][:120]
    finally:
        os.sched_setaffinity(0, affinity)
        for key, value in threads.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    slowest = max((_cell_seconds(c) for c in nb.cells if c.cell_type == "code"), default=0.0)
    return {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "slowest_cell": round(slowest, 1),
            "status": result}


#: The budgets of issue 20, in seconds: a page on 2 idle cores, a solution's CPU on one core
#: (tests/test_timings.py holds the recorded times to them).
PAGE_BUDGET = {"ch08_convnets": 180, "ch09_transfer_learning": 180}
SOLUTION_BUDGET = {"ch08_convnets": 60, "ch09_transfer_learning": 60}


def page_budget(key: str) -> int:
    return PAGE_BUDGET.get(key, 120)


def solution_budget(key: str) -> int:
    return SOLUTION_BUDGET.get(key, 45)
TIMINGS = ROOT / "book" / "timings.json"


def bench_notebooks(record: bool = False, only: str = "") -> list[tuple[str, str, str]]:
    """Every page on all cores, every solution on one core; ``record`` writes ``book/timings.json``.

    ``only="pages"`` or ``"solutions"`` measures one kind and keeps the other's recorded times.
    """
    rows = []
    measured = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    measured.setdefault("pages", {})
    measured.setdefault("solutions", {})
    targets = [] if only == "solutions" else [("book", p, False) for p in toc_notebooks()]
    if only != "pages":
        targets += [("solution", p, True) for p in sorted((ROOT / "solutions").glob(f"{KEY_GLOB}/*.ipynb"))]
    for kind, path, one_core in targets:
        result = execute(path, one_core=one_core)
        key = path.parent.name
        if key.startswith("ch"):
            measured["pages" if kind == "book" else "solutions"][key] = result
        budget = solution_budget(key) if one_core else page_budget(key)
        note = (f"{result['status']}; CPU {result['cpu_seconds']} s, slowest cell {result['slowest_cell']} s, "
                f"budget {budget} s{' (one core)' if one_core else ''}")
        rows.append((f"{kind}: `{path.relative_to(ROOT)}`", f"{result['seconds']:.1f}", note))
    if record:
        kinds = ["pages", "solutions"] if not only else [only]
        for kind in kinds:
            measured[f"{kind}_measured"] = {
                "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
                "cpus": len(os.sched_getaffinity(0)), "processor": platform.machine(),
                "load_average_1min": round(os.getloadavg()[0], 1)}
        TIMINGS.write_text(json.dumps(measured, indent=1) + "\n", encoding="utf-8")
    return rows


def pages_from_build(record: bool = False) -> list[tuple[str, str, str]]:
    """Each page's execution time and slowest cell from the last ``make book`` (its execution cache).

    The strict build executes the pages one after another in one process each, as a reader's ``make
    book`` does; run it on an idle machine, then this records what it measured.
    """
    import nbformat
    from jupyter_cache import get_cache

    cache_dir = ROOT / "_build" / ".jupyter_cache"
    if not cache_dir.exists():
        return [("pages from the last build", "-", "no build: run `make book` first")]
    cache = get_cache(str(cache_dir))
    measured = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {"pages": {}, "solutions": {}}
    rows = []
    for path in toc_notebooks():
        key = path.parent.name
        try:
            entry = cache.match_cache_notebook(nbformat.read(path, as_version=4))  # matched by code
        except KeyError:
            rows.append((f"book (last build): `{path.relative_to(ROOT)}`", "-", "not in the cache: it changed "
                         "since the build, or raised"))
            continue
        seconds = float(entry.data.get("execution_seconds") or 0)
        page = nbformat.read(path, as_version=4)  # the build keeps no cell timings; the stored execution has them
        slowest = max((_cell_seconds(c) for c in page.cells if c.cell_type == "code"), default=0.0)
        if key.startswith("ch"):
            measured["pages"][key] = {"seconds": round(seconds, 1), "slowest_cell": round(slowest, 1),
                                      "status": "ok"}
        rows.append((f"book (last build): `{path.relative_to(ROOT)}`", f"{seconds:.1f}",
                     f"ok; slowest cell {slowest:.1f} s, budget {page_budget(key)} s"))
    if record:
        measured["pages_measured"] = {"how": "make book (strict build, one page at a time); the slowest cell is "
                                             "read from the page's stored execution (the cache keeps no "
                                             "cell timings): execute the pages on a quiet machine first",
                                      "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
                                      "cpus": len(os.sched_getaffinity(0)), "processor": platform.machine()}
        TIMINGS.write_text(json.dumps(measured, indent=1) + "\n", encoding="utf-8")
    return rows


def bench_grading(n: int, workers: int | None, every_chapter: bool) -> list[tuple[str, str, str]]:
    """Autograde ``n`` copies of a solution with dlcourse-grade in a temporary course folder.

    Only the first chapter unless ``every_chapter``. ``tools/bench_grading.py`` compares this with plain,
    sequential ``nbgrader autograde``.
    """
    rows = []
    sources = sorted((ROOT / "solutions").glob(KEY_GLOB))
    for source in sources if every_chapter else sources[:1]:
        key = source.name
        with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
            course = Path(tmp)
            shutil.copy(ROOT / "nbgrader_config.py", course)
            shutil.copytree(source, course / "solutions" / key)
            _, code, log = timed([str(BIN / "nbgrader"), "generate_assignment", key, "--force"], course)
            if code:
                rows.append((f"grading `{key}`", "-", f"generate_assignment failed: {log[-160:]}"))
                continue
            for i in range(n):
                folder = course / "submitted" / f"student{i:03d}" / key
                folder.mkdir(parents=True)
                shutil.copy(source / f"{key}.ipynb", folder)
            command = [str(BIN / "dlcourse-grade"), key, "--course-root", str(course), "--no-progress",
                       "--report", str(course / "report.json")]
            if workers:
                command += ["--workers", str(workers)]
            seconds, code, log = timed(command, course)
            note = status(code)
            report = course / "report.json"
            if report.exists():
                results = json.loads(report.read_text())
                graded = sum(r.get("status") == "graded" for r in results)
                note += f"; {graded}/{n} graded"
            rows.append((f"grading `{key}`: {n} submissions, {workers or 'default'} workers",
                         f"{seconds:.1f}", f"{note}; {60 * n / seconds:.0f} submissions/min"))
    return rows


def bench_tests(jobs: int) -> list[tuple[str, str, str]]:
    """The whole suite, then the per-file and per-notebook rows of its timing report (``tests/conftest.py``)."""
    command = [str(BIN / "python"), "-m", "pytest", "-q", "-n", str(jobs), "--dist", "loadscope", "--no-loadscope-reorder"]
    seconds, code, log = timed(command, ROOT, timeout=7200)
    summary = next((l for l in reversed(log.splitlines()) if " in " in l and ("passed" in l or "failed" in l)), "")
    rows = [(f"test suite (`pytest -n {jobs} --dist loadscope`)", f"{seconds:.1f}", f"{status(code)}; {summary.strip('= ')}")]
    return rows + timing_rows()


def timing_rows(path: Path = ROOT / "_build" / "test-timings.md") -> list[tuple[str, str, str]]:
    """The rows of the last test run's timing report: seconds per test file and per notebook execution."""
    if not path.exists():
        return []
    rows = []
    section = "test file"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = "execution"
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 2 or cells[0] in {"test file", "notebook"}:
            continue
        note = cells[2] if len(cells) > 2 else ""
        rows.append((f"{section}: {cells[0]}", cells[1], f"ok; {note}" if note else "ok"))
    return rows


def report(rows: list[tuple[str, str, str]]) -> str:
    lines = [
        "# Benchmark",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {platform.platform()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs",
        "",
        "| what | seconds | result |",
        "|---|---:|---|",
    ]
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines += [f"| {cell(what)} | {seconds} | {cell(result)} |" for what, seconds, result in rows]
    return "\n".join(lines) + "\n"


def bench_base() -> list[tuple[str, str, str]]:
    """Chapter 9's pretrained base rebuilt by its script into a temporary folder (limit: 5 minutes)."""
    with tempfile.TemporaryDirectory() as tmp:
        seconds, code, _ = timed([sys.executable, "tools/train_base.py", "--out", str(Path(tmp) / "base")], ROOT)
    return [("script: `tools/train_base.py` (Chapter 9's base)", f"{seconds:.1f}", status(code))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-book", action="store_true", help="skip the book builds")
    parser.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")
    parser.add_argument("--record", action="store_true",
                        help="write the notebooks' times to book/timings.json (what pages and headers quote)")
    parser.add_argument("--pages-from-build", action="store_true",
                        help="the pages' times from the last `make book` instead of executing them again")
    parser.add_argument("--only", choices=["pages", "solutions"], default="",
                        help="execute only the book's pages or only the solutions")
    parser.add_argument("--no-base", action="store_true", help="skip rebuilding Chapter 9's pretrained base")
    parser.add_argument("--grading", type=int, default=8, metavar="N",
                        help="autograde N copies of a solution (default 8; 0 skips)")
    parser.add_argument("--grading-all", action="store_true", help="grading throughput of every chapter, not only the first")
    parser.add_argument("--workers", type=int, default=None, help="dlcourse-grade workers (default: its own)")
    parser.add_argument("--tests", action="store_true", help="also time the whole test suite (long)")
    parser.add_argument("--jobs", type=int, default=2, help="pytest-xdist workers for --tests (default 2)")
    parser.add_argument("--last-tests", action="store_true",
                        help="include the timing report of the last test run (_build/test-timings.md)")
    parser.add_argument("--output", type=Path, default=ROOT / "_build" / "benchmark.md")
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str]] = []
    steps = []
    if not args.no_book:
        steps.append(("book", bench_book))
    if args.pages_from_build:
        steps.append(("pages from the last build", lambda: pages_from_build(args.record)))
    elif not args.no_notebooks:
        steps.append(("notebooks", lambda: bench_notebooks(args.record, args.only)))
    if not args.no_base:
        steps.append(("base", bench_base))
    if args.grading > 0:
        steps.append(("grading", lambda: bench_grading(args.grading, args.workers, args.grading_all)))
    if args.tests:
        steps.append(("tests", lambda: bench_tests(args.jobs)))
    elif args.last_tests:
        steps.append(("last test run", timing_rows))
    for name, step in steps:
        print(f"== {name}", file=sys.stderr, flush=True)
        rows += step()
    text = report(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output})")
    return 0 if all(r[2].startswith("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
