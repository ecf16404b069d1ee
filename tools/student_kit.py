"""Write the students' kit: a folder ready to push as the course's public repository.

    python tools/student_kit.py DEST [--no-build]      (or: make student-kit DEST=...)

The kit holds what students need and nothing an instructor keeps private:

* ``notebooks/`` (the release notebooks nbgrader generated), ``book/`` with ``_config.yml``
  and ``_toc.yml`` (the book's sources), ``datasets/``, ``binder/`` and the GitHub Pages
  workflow (``.github/workflows/book.yml``), so the public repository publishes its book;
* ``src/dlcourse`` with its checks but WITHOUT the grading code (``grading*.py`` and
  ``grading/``), and a ``pyproject.toml`` without the ``dlcourse-grade`` command;
* ``requirements.txt``, ``LICENSE``, a students' ``Makefile`` (``lab``, ``book``) and README
  (``tools/kit/``).

Never copied: ``solutions/`` (answers, hidden tests), ``nbgrader_config.py``, gradebooks,
``submitted/``, ``autograded/``, ``feedback/``, ``tests/``, ``tools/``. The tool refuses to
finish if a solution or hidden-test marker is found in the kit.

Unless ``--no-build``, the kit's book is built in ``DEST/_build`` with the maintainers' strict
command. The kit's pages are byte-for-byte the course's, so the course's notebook execution
cache (``_build/.jupyter_cache``, written by ``make book``) is copied first and no page is
executed again; without that cache every page runs once.

``DEST`` must not exist, be empty, or hold a kit this tool wrote before (it is replaced).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIT_TEMPLATES = ROOT / "tools" / "kit"
MARKER_FILE = ".student-kit"

#: Copied as they are (those missing are skipped).
FILES = ["_config.yml", "_toc.yml", "LICENSE", "requirements.txt"]
DIRS = ["book", "datasets", "notebooks", "binder", ".github"]

#: Never part of the kit, wherever they are.
IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".ipynb_checkpoints", "_build", ".jupyter_cache", "*.egg-info",
    "gradebook.db*", "grades.csv",
)
#: Grading code inside the helper package (modules today, a subpackage soon).
GRADING = re.compile(r"^grading(_\w+)?(\.py)?$")

#: A solution or hidden-test marker at the start of a line of code.
MARKER = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\b")

BUILD_COMMAND = ["jupyter-book", "build", "--all", "-W", "-n", "--keep-going", "."]


def _ignore_package(directory: str, names: list[str]) -> set[str]:
    skipped = set(IGNORE(directory, names))
    if Path(directory).name == "dlcourse":
        skipped |= {n for n in names if GRADING.match(n)}
    return skipped


def _pyproject(text: str) -> str:
    """The course's pyproject.toml without console scripts (``dlcourse-grade`` is not shipped)."""
    text = re.sub(r"\[project\.scripts\]\n(?:[^\[\n][^\n]*\n|\n)*", "", text)
    return text.replace("student-facing checks, grading.", "student-facing checks.")


def marker_lines(root: Path) -> list[str]:
    """``path:line`` of every solution or hidden-test marker in the text files under ``root``."""
    import json

    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "_build" in path.relative_to(root).parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".ipynb":
            lines = [
                line
                for cell in json.loads(text).get("cells", [])
                for line in "".join(cell.get("source", "")).splitlines()
            ]
        else:
            lines = text.splitlines()
        found += [f"{path.relative_to(root)}: {line.strip()}" for line in lines if MARKER.match(line)]
    return found


def _prepare(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER_FILE).exists():
            raise SystemExit(f"{dest} is not empty and is not a student kit; choose another DEST")
        for child in dest.iterdir():
            if child.name == ".git":  # keep the public repository's history
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    dest.mkdir(parents=True, exist_ok=True)


def write_kit(dest: Path, root: Path = ROOT) -> Path:
    """Copy the kit into ``dest`` (no build); return ``dest``."""
    dest = dest.resolve()
    if dest == root or root in dest.parents:
        raise SystemExit("DEST must be outside the course repository")
    _prepare(dest)
    for name in FILES:
        if (root / name).exists():
            shutil.copy2(root / name, dest / name)
    for name in DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, dest / name, ignore=IGNORE)
    shutil.copytree(root / "src" / "dlcourse", dest / "src" / "dlcourse", ignore=_ignore_package)
    (dest / "pyproject.toml").write_text(
        _pyproject((root / "pyproject.toml").read_text(encoding="utf-8")), encoding="utf-8"
    )
    for template in sorted(KIT_TEMPLATES.iterdir()):
        target = ".gitignore" if template.name == "gitignore" else template.name
        shutil.copy2(template, dest / target)
    (dest / MARKER_FILE).write_text(
        "Written by tools/student_kit.py of the instructors' course repository; regenerate it "
        "there (make student-kit DEST=...) instead of editing it.\n",
        encoding="utf-8",
    )
    markers = marker_lines(dest)
    if markers:
        raise SystemExit("solution or hidden-test markers in the kit:\n" + "\n".join(markers))
    return dest


def build_book(dest: Path, root: Path = ROOT, timeout: int = 3600) -> tuple[int, str, float]:
    """Build the kit's book strictly, reusing the course's notebook execution cache."""
    cache = root / "_build" / ".jupyter_cache"
    if cache.is_dir():
        shutil.copytree(cache, dest / "_build" / ".jupyter_cache", dirs_exist_ok=True)
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MPLBACKEND", None)
    for key, value in (("TF_CPP_MIN_LOG_LEVEL", "3"), ("TF_ENABLE_ONEDNN_OPTS", "0"),
                       ("PYTHONHASHSEED", "0")):
        env.setdefault(key, value)
    # The kit's own helper package, not the course's.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(dest / "src")] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                               if p and Path(p).resolve() != (root / "src").resolve()]
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [str(bindir / BUILD_COMMAND[0]), *BUILD_COMMAND[1:]], cwd=dest, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    return proc.returncode, proc.stdout, time.perf_counter() - start


def size_mb(path: Path, skip_build: bool = False) -> float:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not (skip_build and "_build" in p.relative_to(path).parts):
            total += p.stat().st_size
    return total / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--no-build", action="store_true", help="do not build the kit's book")
    args = parser.parse_args(argv)
    dest = write_kit(args.dest)
    print(f"kit written to {dest}: {size_mb(dest):.1f} MB")
    if not args.no_build:
        returncode, log, seconds = build_book(dest)
        (dest / "_build").mkdir(exist_ok=True)
        (dest / "_build" / "book-build.log").write_text(log, encoding="utf-8")
        executed = log.count("Executing notebook")
        print(f"book built in {seconds:.0f} s ({executed} pages executed, the rest from the cache);"
              f" kit with its build: {size_mb(dest):.1f} MB")
        if returncode != 0:
            print(log[-4000:])
            return returncode
    print("next: push it to the public repository named by repository.url in _config.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
