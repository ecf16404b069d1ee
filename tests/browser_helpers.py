"""Helpers shared by the book-build and browser tests.

* :func:`build_book` is the strict book build (``jupyter-book build --all -W -n --keep-going``) into the
  repository's ``_build/``, once per test run, also under pytest-xdist. ``conftest.py`` starts it in the
  background (:func:`start_build`) as soon as tests that need it are collected; :func:`build_book`
  waits for it. ``make book`` builds into the same folder, so both share the notebook execution cache
  (``_build/.jupyter_cache``), which is cleared when the helper package, the data or the requirements
  change (:func:`environment_fingerprint`).
* :func:`executed_page` returns a page as the build executed it (from that cache), so that the nbval
  comparison of ``test_book_notebooks.py`` needs no second execution.
* :func:`toc_pages` lists the pages of ``_toc.yml``.
* :func:`serve` serves a folder over HTTP on 127.0.0.1 in a thread.
* :func:`launch_chromium` starts Debian's Chromium through Playwright (never ``playwright install``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUILD_DIR = ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
SCREENSHOT_DIR = BUILD_DIR / "screenshots"

#: The maintainers' strict build (the same as ``make book``). ``--all`` re-reads every page, so the
#: warnings of unchanged pages are reported again; executed notebooks still come from the cache.
BUILD_COMMAND = ["jupyter-book", "build", "--all", "-W", "-n", "--keep-going", "."]
BUILD_TIMEOUT_S = 1800

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------------------------------
# The table of contents


def _toc_files(entries: list[dict]) -> list[str]:
    files: list[str] = []
    for entry in entries or []:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("chapters", "sections", "parts"):
            files.extend(_toc_files(entry.get(key, [])))
    return files


def toc_pages(root: Path = ROOT) -> list[str]:
    """The docnames of every page in ``_toc.yml`` (e.g. ``book/intro``), in reading order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    files += _toc_files(toc.get("parts", []))
    files += _toc_files(toc.get("chapters", []))
    files += _toc_files(toc.get("sections", []))
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def page_source(docname: str, root: Path = ROOT) -> Path:
    """The source file of a toc page (``.ipynb`` or ``.md``)."""
    for suffix in (".ipynb", ".md"):
        path = root / f"{docname}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no source for toc entry {docname!r}")


def page_html(docname: str, root: Path = ROOT) -> Path:
    """Where the build writes a page; the root page is also written as ``index.html``."""
    return root / "_build" / "html" / f"{docname}.html"


def page_slug(docname: str) -> str:
    """A file-name-safe name of a page, for screenshots: ``book/ch01_x/index`` -> ``ch01_x``."""
    parts = [p for p in docname.split("/") if p not in ("book", "index")]
    return "-".join(parts) or "index"


# --------------------------------------------------------------------------------------------------
# The strict book build, once per test run, started in the background


@dataclass(frozen=True)
class BuildResult:
    returncode: int
    log: str
    seconds: float
    html_dir: Path
    started: float = 0.0

    @property
    def warnings(self) -> list[str]:
        """Sphinx's warning and error lines of the build log (not the kernels' own log lines)."""
        return [
            line
            for line in self.log.splitlines()
            if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE):", line)
            or "Traceback" in line
            or "build finished with problems" in line
        ]


def _run_id() -> str:
    # The same for every xdist worker of one run; different for each run.
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; run the book tests without xdist there.
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Kernels must use the inline backend: with MPLBACKEND=Agg inherited, plt.show() outputs nothing and
    # every figure (and its label) disappears from the book.
    env.pop("MPLBACKEND", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_build(root: Path = ROOT, extra_args: tuple[str, ...] = (), timeout: int = BUILD_TIMEOUT_S):
    """Run the strict build of the book in ``root``; return (returncode, log, seconds)."""
    command = [str(BIN / BUILD_COMMAND[0]), *BUILD_COMMAND[1:-1], *extra_args, str(root)]
    start = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=root,
        env=_build_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, _ANSI.sub("", proc.stdout), time.perf_counter() - start


#: Where myst-nb keeps the executed notebooks (``execute_notebooks: cache``).
CACHE_DIR = BUILD_DIR / ".jupyter_cache"
#: The state of this run's build: ``started.json`` when it starts, ``result.json`` when it ends.
STATE_DIR = BUILD_DIR / ".test-book-build"
#: Everything besides a page's code that changes what its cells print; the execution cache is cleared
#: when it changes (jupyter-cache itself only looks at the code cells).
FINGERPRINT_FILES = ("requirements.txt", "src/dlcourse/**/*.py", "datasets/*")


def environment_fingerprint(root: Path = ROOT) -> str:
    """A hash of the helper package (but its grading code), the data and the pinned requirements."""
    import hashlib

    digest = hashlib.sha256()
    for pattern in FINGERPRINT_FILES:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and not path.name.startswith("grading"):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _stop(pid: int) -> None:
    """End a background build that this checkout's tests started (its process group: the kernels too)."""
    import signal

    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


def _unfinished_build() -> dict:
    """``started.json`` of a build that has not written its result (empty when there is none)."""
    started = _read_json(STATE_DIR / "started.json")
    if started and _read_json(STATE_DIR / "result.json").get("run") != started.get("run"):
        return started
    return {}


def start_build() -> None:
    """Start this run's strict build in the background, unless it already started (once per run).

    ``conftest.py`` calls it as soon as tests that need the book are collected, so the pages execute
    while the other tests run; :func:`build_book` waits for it. The execution cache is cleared first
    when the helper package, the data or the requirements changed since it was filled. A build left
    running by an interrupted earlier run is ended first (one test run at a time per checkout).
    """
    with _file_lock(STATE_DIR / "lock"):
        if _read_json(STATE_DIR / "started.json").get("run") == _run_id():
            return
        leftover = _unfinished_build()
        if leftover.get("pid"):
            _stop(leftover["pid"])
        (STATE_DIR / "result.json").unlink(missing_ok=True)
        fingerprint = environment_fingerprint()
        stamp = CACHE_DIR / "dlcourse-fingerprint"
        if CACHE_DIR.exists() and (not stamp.exists() or stamp.read_text() != fingerprint):
            import shutil

            shutil.rmtree(CACHE_DIR)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--build", _run_id()],
            cwd=ROOT, env=_build_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        (STATE_DIR / "started.json").write_text(
            json.dumps({"run": _run_id(), "started": time.time(), "pid": process.pid}), encoding="utf-8"
        )


def stop_unfinished_build(since: float) -> None:
    """At the end of a test run: end the background build if this run started it and it still runs
    (the run was interrupted, or no test waited for the build)."""
    leftover = _unfinished_build()
    if leftover.get("pid") and leftover.get("started", 0) >= since:
        _stop(leftover["pid"])


def _build_in_background(run: str) -> None:
    """The background process: build, then write the log and ``result.json`` for the waiting tests."""
    started = time.time()
    try:
        returncode, log, seconds = run_build(ROOT)
    except Exception as exc:  # noqa: BLE001  (the waiting tests must learn about any failure)
        returncode, log, seconds = -1, f"the build could not run: {type(exc).__name__}: {exc}", 0.0
    (BUILD_DIR / "book-build.log").write_text(log, encoding="utf-8")
    result = {"run": run, "returncode": returncode, "log": log, "seconds": seconds, "started": started}
    scratch = STATE_DIR / f"result.{os.getpid()}.json"
    scratch.write_text(json.dumps(result), encoding="utf-8")
    scratch.replace(STATE_DIR / "result.json")


@functools.lru_cache(maxsize=None)
def build_book() -> BuildResult:
    """The strict build of this test run (shared by all xdist workers): waits for it, starting it if needed."""
    if not (BIN / "jupyter-book").exists():
        pytest.fail(f"jupyter-book is not installed in {BIN} (requirements.txt)")
    start_build()
    waiting_since = time.monotonic()
    deadline = waiting_since + BUILD_TIMEOUT_S + 120
    while time.monotonic() < deadline:
        done = _read_json(STATE_DIR / "result.json")
        if done.get("run") == _run_id():
            _note_wait(time.monotonic() - waiting_since)
            return BuildResult(done["returncode"], done["log"], done["seconds"], HTML_DIR, done["started"])
        time.sleep(1)
    pytest.fail(f"the book build did not finish within {BUILD_TIMEOUT_S + 120} s")


def _note_wait(seconds: float) -> None:
    """Note how long this test process waited for the build (for the timing report)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (STATE_DIR / f"waited.{worker}.json").write_text(
        json.dumps({"run": _run_id(), "worker": worker, "seconds": seconds}), encoding="utf-8")


def build_timeline(since: float) -> dict:
    """The build of the test run that started at ``since`` (epoch seconds): when it started and ended,
    and how long each test process waited for it; empty when that run built nothing."""
    result = _read_json(STATE_DIR / "result.json")
    if result.get("started", 0) < since:
        return {}
    waits = [_read_json(path) for path in sorted(STATE_DIR.glob("waited.*.json"))]
    return {"started": result["started"], "ended": result["started"] + result["seconds"],
            "waits": {w["worker"]: w["seconds"] for w in waits if w.get("run") == result["run"]}}


def built_html() -> Path:
    """The built HTML folder; fails (rather than skips) when the build produced no HTML at all."""
    result = build_book()
    if not (result.html_dir / "index.html").exists():
        pytest.fail("the book build produced no _build/html/index.html:\n" + result.log[-4000:])
    return result.html_dir


@dataclass(frozen=True)
class Execution:
    """One page's execution, as the build's jupyter-cache recorded it."""

    notebook: object  # nbformat.NotebookNode with this run's outputs
    seconds: float | None
    in_this_build: bool  # False: reused from an earlier build of the same code


def executed_page(path: Path) -> Execution | None:
    """The executed copy of a book page from the build's execution cache; None when it did not execute.

    A page is cached only when it executed without an error, so None means it raised, timed out, or is
    not in ``_toc.yml``.
    """
    import datetime as dt

    import nbformat
    from jupyter_cache import get_cache

    result = build_book()
    if not CACHE_DIR.exists():
        return None
    cache = get_cache(str(CACHE_DIR))
    try:
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return None
    created = record.created.replace(tzinfo=dt.timezone.utc).timestamp()
    notebook = cache.get_cache_bundle(record.pk).nb
    return Execution(notebook, record.data.get("execution_seconds"), created >= result.started - 1)


# --------------------------------------------------------------------------------------------------
# Serving HTML and driving Chromium


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the signature of the base class)
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 on a free port; yields the base URL (ending in ``/``)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def chromium_path() -> str:
    """Debian's Chromium; skipped locally when missing, a failure in CI (``require`` in conftest)."""
    from conftest import require

    if Path(CHROMIUM).exists():
        return CHROMIUM
    return require("chromium")


@contextlib.contextmanager
def launch_chromium():
    """Yield a headless Chromium browser driven by Playwright."""
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------------------------------
# Colour contrast (WCAG 2)


def _channel(c: float) -> float:
    c = c / 255.0
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = (_channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def parse_css_colour(text: str) -> tuple[float, float, float, float]:
    """Parse ``rgb(...)``/``rgba(...)`` as returned by ``getComputedStyle``."""
    numbers = [float(v) for v in re.findall(r"[\d.]+", text)]
    if len(numbers) == 3:
        numbers.append(1.0)
    return tuple(numbers[:4])  # type: ignore[return-value]


if __name__ == "__main__" and sys.argv[1:2] == ["--build"]:
    _build_in_background(sys.argv[2])
