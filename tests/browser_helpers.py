"""Helpers shared by the book-build and browser tests.

* :func:`build_book` runs the strict book build (``jupyter-book build --all -W -n --keep-going``) into
  the repository's ``_build/`` at most once per test run, also under pytest-xdist: the first process
  builds while holding a file lock, the others wait and reuse its result. ``make book`` builds into the
  same folder, so both share the notebook execution cache (``_build/.jupyter_cache``).
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
# The strict book build, once per test run


@dataclass(frozen=True)
class BuildResult:
    returncode: int
    log: str
    seconds: float
    html_dir: Path

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


@functools.lru_cache(maxsize=None)
def build_book() -> BuildResult:
    """Build the book into ``_build/`` once per test run (shared by all xdist workers) and return the result."""
    if not (BIN / "jupyter-book").exists():
        pytest.fail(f"jupyter-book is not installed in {BIN} (requirements.txt)")
    stamp = BUILD_DIR / ".test-book-build.json"
    with _file_lock(BUILD_DIR / ".test-book-build.lock"):
        if stamp.exists():
            try:
                done = json.loads(stamp.read_text(encoding="utf-8"))
            except ValueError:
                done = {}
            if done.get("run") == _run_id():
                return BuildResult(done["returncode"], done["log"], done["seconds"], HTML_DIR)
        returncode, log, seconds = run_build(ROOT)
        (BUILD_DIR / "book-build.log").write_text(log, encoding="utf-8")
        stamp.write_text(
            json.dumps({"run": _run_id(), "returncode": returncode, "log": log, "seconds": seconds}),
            encoding="utf-8",
        )
        return BuildResult(returncode, log, seconds, HTML_DIR)


def built_html() -> Path:
    """The built HTML folder; fails (rather than skips) when the build produced no HTML at all."""
    result = build_book()
    if not (result.html_dir / "index.html").exists():
        pytest.fail("the book build produced no _build/html/index.html:\n" + result.log[-4000:])
    return result.html_dir


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
