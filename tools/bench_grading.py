"""Grading throughput: plain ``nbgrader autograde`` (one at a time) against ``dlcourse-grade`` (parallel).

Instructors' guide. Builds a synthetic class of N submissions of chapter 1 (a mix of the
solution, the untouched release and a partial answer), grades it first sequentially with
``nbgrader autograde``, then with ``dlcourse-grade --workers W`` in a fresh copy, checks that
both gave the same total per student, and prints times, speed-up and submissions per minute.
Not a test::

    .venv/bin/python tools/bench_grading.py -n 40 [--workers 2] [--cell-timeout 60]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from grading_fixtures import KEY, make_course, partial, release, solution, submit  # noqa: E402

BIN = Path(sys.executable).parent


def build(course: Path, n: int) -> None:
    kinds = [("sol", solution()), ("blank", release()), ("partial", partial())]
    for i in range(n):
        name, nb = kinds[i % 3]
        submit(course, f"{name}_{i:03d}", nb)


def totals(course: Path) -> dict[str, str]:
    subprocess.run([str(BIN / "dlcourse-grade"), KEY, "--skip-grading", "--export", "totals.csv"],
                   cwd=course, check=True, capture_output=True)
    return {r["student_id"]: r["total"] for r in csv.DictReader(open(course / "totals.csv"))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=40, help="number of submissions (default 40)")
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--cell-timeout", type=int, default=60)
    args = p.parse_args()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        seq, par = make_course(Path(tmp, "sequential")), make_course(Path(tmp, "parallel"))
        build(seq, args.n)
        # Both runs start from a gradebook that already holds the assignment.
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", KEY, "--force"], cwd=seq, env=env,
                       check=True, capture_output=True)
        shutil.copy(seq / "gradebook.db", par / "gradebook.db")
        shutil.copytree(seq / "submitted", par / "submitted")

        start = time.perf_counter()
        subprocess.run([str(BIN / "nbgrader"), "autograde", KEY, "--force", f"--Execute.timeout={args.cell_timeout}"],
                       cwd=seq, env=env, check=True, capture_output=True)
        t_seq = time.perf_counter() - start

        start = time.perf_counter()
        out = subprocess.run([str(BIN / "dlcourse-grade"), KEY, "--workers", str(args.workers), "--no-progress",
                              "--cell-timeout", str(args.cell_timeout)], cwd=par, env=env, capture_output=True, text=True)
        t_par = time.perf_counter() - start
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
        same = totals(seq) == totals(par)

    n = args.n
    print(f"grading throughput, {KEY}, {n} submissions, {os.cpu_count()} CPU cores")
    print(f"  nbgrader autograde (sequential, no sandbox): {t_seq:7.1f} s  {60 * n / t_seq:6.1f} submissions/min")
    print(f"  dlcourse-grade --workers {args.workers} (sandboxed):  {t_par:7.1f} s  {60 * n / t_par:6.1f} submissions/min")
    print(f"  speed-up: {t_seq / t_par:.2f}x; same totals per student: {same}")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows both runs)")
    return 0 if same and out.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
