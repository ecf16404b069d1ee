#!/usr/bin/env python
"""Run the book's recorded experiments and write their results files (``make experiments``).

Usage, from the repository root in the course environment:

    python tools/experiments.py                      # every experiment of every page
    python tools/experiments.py ch09                 # the experiments of pages whose key starts so
    python tools/experiments.py ch09 label_budget    # one experiment
    python tools/experiments.py --list               # every experiment, and whether its results are current
    python tools/experiments.py --stale              # only those whose code changed since they were recorded

An experiment is the code cells of a page tagged ``experiment:NAME`` (see ``dlcourse.experiments``);
its results go to ``book/<chapter>/results/NAME.json``. Each experiment runs in its own process, so
one's TensorFlow state cannot leak into the next, and the script prints how long each took.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dlcourse.experiments import (  # noqa: E402
    StaleResultsError, code_hash, experiment_names, read_record, results_path, run_experiment, write_results,
)


def pages(prefix: str = "") -> list[Path]:
    return sorted(p for p in (ROOT / "book").glob("ch*/index.ipynb") if p.parent.name.startswith(prefix))


def status(page: Path, name: str) -> str:
    try:
        record = read_record(results_path(page, name))
    except StaleResultsError:
        return "missing"
    return "current" if record.get("code_sha256") == code_hash(page, name) else "stale"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", nargs="?", default="", help="a chapter key or its prefix (ch09)")
    parser.add_argument("name", nargs="?", help="one experiment of that page")
    parser.add_argument("--list", action="store_true", help="list the experiments and their state")
    parser.add_argument("--stale", action="store_true", help="run only missing or stale experiments")
    parser.add_argument("--one", nargs=2, metavar=("PAGE", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:  # the child process of one experiment
        page = Path(args.one[0])
        record = run_experiment(page, args.one[1])
        path = write_results(record, page)
        print(f"{path.relative_to(ROOT)}: {len(record['rows'])} rows in {record['seconds']:.0f} s")
        return 0

    todo = [(page, name) for page in pages(args.page) for name in experiment_names(page)
            if args.name in (None, name)]
    if not todo:
        print(f"no experiment matches {args.page!r} {args.name or ''}".rstrip())
        return 1
    if args.list:
        for page, name in todo:
            print(f"{page.parent.name:28} {name:24} {status(page, name)}")
        return 0
    if args.stale:
        todo = [(p, n) for p, n in todo if status(p, n) != "current"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", PYTHONHASHSEED="0",
               MPLBACKEND="Agg")
    failed = 0
    for page, name in todo:
        print(f"== {page.parent.name} {name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--one", str(page), name], env=env, cwd=ROOT)
        seconds = time.perf_counter() - start
        if proc.returncode:
            failed += 1
            print(f"   FAILED after {seconds:.0f} s (exit {proc.returncode})", flush=True)
        else:
            print(f"   done in {seconds:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
