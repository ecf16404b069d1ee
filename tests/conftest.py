"""Shared fixtures: paths of the course, the chapters, and tools that CI must have."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# nbgrader and jupyter-book start programs by name; they must come from this environment.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

#: Every chapter key that has an exercise notebook, e.g. ``ch01_learning_from_data``.
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").glob("ch*_*") if p.is_dir())


def solution_path(key: str) -> Path:
    return ROOT / "solutions" / key / f"{key}.ipynb"


def release_path(key: str) -> Path:
    return ROOT / "notebooks" / key / f"{key}.ipynb"


def unavailable(message: str, *, required_in_ci: bool = True) -> None:
    """Skip a test whose tool or feature is missing here; fail instead in CI, where it must exist."""
    if required_in_ci and os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require(program: str) -> str:
    """Return the path of ``program``; skip when it is missing, but fail in CI where it must exist."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"{program} is not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# --------------------------------------------------------------------------------------------------
# The book build starts in the background as soon as tests that need it are collected


@pytest.fixture(scope="module")
def site():
    """The built book, served over HTTP on 127.0.0.1 (waits for this run's build)."""
    from browser_helpers import built_html, serve

    with serve(built_html()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (through Playwright)."""
    from browser_helpers import launch_chromium

    with launch_chromium() as chromium:
        yield chromium


def _uses_book_build(item) -> bool:
    """A test in a module that uses the built book (``built_html`` or ``build_book``), or one that
    asks for the served book (``site``)."""
    module = getattr(item, "module", None)
    return ("site" in getattr(item, "fixturenames", ())
            or module is not None and any(hasattr(module, name) for name in ("built_html", "build_book")))


def _needs_book_build(item) -> bool:
    """A slow or browser test in a module that uses the built book."""
    return _uses_book_build(item) and bool(item.get_closest_marker("slow") or item.get_closest_marker("browser"))


_SESSION_START = time.time()


def pytest_sessionfinish(session, exitstatus):
    if not hasattr(session.config, "workerinput"):  # the controller, after every xdist worker is done
        from browser_helpers import stop_unfinished_build

        stop_unfinished_build(since=_SESSION_START)


# --------------------------------------------------------------------------------------------------
# Scheduling under xdist (``make test``: ``--dist loadscope --no-loadscope-reorder``). A work unit is a
# test file, or a test class: the grading round trip has one class per chapter, so that both workers share
# the chapters' class runs. Units go out in the order below: the longest file first, then the chapters'
# class runs (later chapters train more), the tests that wait for the background book build last, so a
# worker waits for the build only when nothing else is left. Within a rank, a file keeps pytest's order.


#: Files that are one long unit: first, so that they never finish last.
LONG_FILES = ("tests/test_grading_class.py",)


def _schedule_rank(item) -> tuple:
    file, chapter = item.nodeid.split("::")[0], getattr(getattr(item, "cls", None), "key", None)
    if file in LONG_FILES:
        return (0, LONG_FILES.index(file))
    if chapter:
        return (1, -int(chapter[2:4]))  # chNN_slug: ch09 before ch01
    return (3,) if _uses_book_build(item) else (2,)


def _work_unit(item) -> str:
    """The unit that ``--dist loadscope`` gives one worker: the test's class, or else its file."""
    return item.nodeid.rsplit("::", 1)[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    # A unit goes out where its first test stands, so all its tests take the unit's latest rank: a file
    # with one test that waits for the build waits at the end, not in the middle of the run.
    ranks: dict[str, tuple] = {}
    for item in items:
        ranks[_work_unit(item)] = max(ranks.get(_work_unit(item), ()), _schedule_rank(item))
    items[:] = sorted(items, key=lambda item: ranks[_work_unit(item)])  # stable: a unit keeps its order


def pytest_collection_finish(session):
    if session.config.option.collectonly or os.environ.get("DLCOURSE_NO_EARLY_BUILD"):
        return
    if any(_needs_book_build(item) for item in session.items):
        from browser_helpers import start_build

        start_build()


# --------------------------------------------------------------------------------------------------
# Timing report: seconds per test file and per notebook execution


#: test file -> seconds (setup + call + teardown of all its tests, as the workers measured them)
_FILE_SECONDS: dict[str, float] = {}
#: one row per notebook execution that a test recorded with ``record_execution``
_EXECUTIONS: list[dict] = []
#: other timed steps (the book build) recorded with ``record_step``
_STEPS: list[dict] = []
TIMINGS_REPORT = ROOT / "_build" / "test-timings.md"


def record_execution(request, what: str, seconds: float | None, note: str = "") -> None:
    """Report one notebook execution (a book page, a graded submission) in the timing report.

    ``request`` is the test's pytest fixture; the row travels with the test's report (also from xdist
    workers) as a user property, without ``record_property``'s warning under ``--junitxml``.
    """
    request.node.user_properties.append(("notebook_execution", {"what": what, "seconds": seconds, "note": note}))


def record_step(request, what: str, seconds: float | None, note: str = "") -> None:
    """Report a timed step that is not one notebook execution (the whole book build)."""
    request.node.user_properties.append(("timed_step", {"what": what, "seconds": seconds, "note": note}))


def pytest_runtest_logreport(report):
    file = report.nodeid.split("::")[0]
    _FILE_SECONDS[file] = _FILE_SECONDS.get(file, 0.0) + report.duration
    if report.when == "call":
        for name, value in report.user_properties:
            if name == "notebook_execution":
                _EXECUTIONS.append(dict(value))
            elif name == "timed_step":
                _STEPS.append(dict(value))


def timing_report() -> str:
    lines = ["# Test timings", "", f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
             "", "| test file | seconds |", "|---|---:|"]
    for file, seconds in sorted(_FILE_SECONDS.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {file} | {seconds:.1f} |")
    lines += ["", f"## Notebook executions ({len(_EXECUTIONS)}) and other steps", "",
              "| notebook | seconds | note |", "|---|---:|---|"]
    for row in sorted(_EXECUTIONS, key=lambda r: -(r["seconds"] or 0)) + _STEPS:
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.1f}"
        lines.append(f"| {row['what']} | {seconds} | {row['note']} |")
    return "\n".join(lines + ["", book_build_timeline(), "", critical_path()]) + "\n"


def critical_path() -> str:
    """The book build executes its pages one after another: their sum is the build's long chain."""
    pages = [r for r in _EXECUTIONS if r["what"].startswith("book: ") and r["seconds"]]
    steps = [r for r in _STEPS if r["seconds"]]
    if not pages:
        return ""
    total = sum(r["seconds"] for r in pages)
    build = f" of the build's {steps[0]['seconds']:.0f} s" if steps else ""
    chain = ", ".join(f"{r['what'][6:].split('/')[1]} {r['seconds']:.0f} s"
                      for r in sorted(pages, key=lambda r: -r["seconds"]))
    return f"Critical path: the pages execute one after another in the build, {total:.0f} s{build}: {chain}."


def book_build_timeline() -> str:
    """When the background book build ran within this test run, and how long tests waited for it:
    the build is the run's critical path when the run ends soon after it, or when tests waited long."""
    from browser_helpers import build_timeline

    timeline = build_timeline(since=_SESSION_START)
    if not timeline:
        return "No book build in this run."
    now = time.time()
    waits = ", ".join(f"{worker} {s:.0f} s" for worker, s in sorted(timeline["waits"].items())) or "none"
    return (f"Book build: from {timeline['started'] - _SESSION_START:.0f} s to "
            f"{timeline['ended'] - _SESSION_START:.0f} s of a {now - _SESSION_START:.0f} s test run; "
            f"the tests that need it waited for it: {waits}.")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not _FILE_SECONDS:
        return
    text = timing_report()
    TIMINGS_REPORT.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS_REPORT.write_text(text, encoding="utf-8")
    terminalreporter.write_sep("=", "seconds per test file")
    for file, seconds in sorted(_FILE_SECONDS.items(), key=lambda kv: -kv[1])[:15]:
        terminalreporter.write_line(f"{seconds:8.1f}  {file}")
    for row in _STEPS:
        terminalreporter.write_line(f"{row['seconds'] or 0:8.1f}  {row['what']} ({row['note']})")
    terminalreporter.write_line(book_build_timeline())
    terminalreporter.write_line(f"{len(_EXECUTIONS)} notebook executions; full report: {TIMINGS_REPORT.relative_to(ROOT)}")
