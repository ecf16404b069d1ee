"""Grading throughput: plain ``nbgrader autograde`` (one at a time) against ``dlcourse-grade --workers W``.

Instructors' guide. For each chapter asked for (default: 40 submissions of ch01 and 20 of ch04,
in the same run) it builds a synthetic class (the solution, the untouched release and the
chapter's wrong answer from ``tests/grading_cases.py``, in turn), grades it first sequentially
with plain ``nbgrader autograde`` (no sandbox, tests in the kernel), then with ``dlcourse-grade``
in a fresh copy, checks that both gave the same total per student, and prints times, speed-up,
seconds per submission, and what the verdicts-in-the-grader interface (requests, bytes, seconds,
the set-up cell run in the grader) and the sandbox's start (a confined ``python -c pass``
against a plain one) cost per submission. Not a test::

    .venv/bin/python tools/bench_grading.py                       # ch01 x 40 and ch04 x 20, 2 workers
    .venv/bin/python tools/bench_grading.py --class ch01_learning_from_data:8 --workers 2
    .venv/bin/python tools/bench_grading.py --cpu-escape 6   # neighbours beside 6 burners in new sessions

``--cpu-escape B`` instead grades one ch01 class twice, with the kernels' CPU quota off
(``--kernel-cpus 0``) and on (the default, one core): one submission starts B CPU burners, each in
a session of its own (which takes them out of ``nice``'s reach on a kernel with autogroup), and
sleeps while its honest neighbours are graded beside it; it prints each neighbour's seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402

from conftest import release_path  # noqa: E402
from course import make_course, replace_cell, solution_notebook, submit  # noqa: E402
from grading_cases import CASES  # noqa: E402

BIN = Path(sys.executable).parent


def build(course: Path, key: str, n: int) -> None:
    sol = solution_notebook(key)
    cell, code, _ = CASES[key].wrong_answer
    kinds = [("sol", sol), ("blank", nbformat.read(release_path(key), as_version=4)),
             ("wrong", replace_cell(sol, cell, code))]
    for i in range(n):
        name, nb = kinds[i % 3]
        submit(course, key, f"{name}_{i:03d}", nb)


def totals(course: Path, key: str) -> dict[str, str]:
    subprocess.run([str(BIN / "dlcourse-grade"), key, "--skip-grading", "--export", "totals.csv"],
                   cwd=course, check=True, capture_output=True)
    return {r["student_id"]: r["total"] for r in csv.DictReader(open(course / "totals.csv"))}


def interface_cost(course: Path, key: str) -> dict[str, float]:
    """Mean per submission of what the autograded notebooks recorded about the interface."""
    rows = []
    for path in (course / "autograded").glob(f"*/{key}/{key}.ipynb"):
        meta = json.loads(path.read_text()).get("metadata", {}).get("dlcourse_grading", {}).get("interface")
        if meta:
            rows.append(meta)
    keys = ("requests", "bytes", "seconds", "setup_seconds")
    return {k: statistics.mean(r.get(k, 0) for r in rows) for k in keys} if rows else {}


def sandbox_start_cost(repeat: int = 5) -> tuple[float, float]:
    """Seconds to start ``python -c pass`` confined by the sandbox and plainly (medians)."""
    from dlcourse.grading import sandbox, worker

    caps = worker.capabilities()
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-sb-") as tmp:
        policy = sandbox.make_policy(caps, keep_ro=worker.kernel_needs(), keep_rw=[], memory_bytes=None,
                                     file_size_bytes=None)
        policy.pythonpath = [str(ROOT / "src")]
        policy.dump(Path(tmp, "policy.json"))
        confined, plain = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", str(Path(tmp, "policy.json")),
                            "--", sys.executable, "-c", "pass"], cwd=tmp, check=True)
            confined.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], cwd=tmp, check=True)
            plain.append(time.perf_counter() - start)
    return statistics.median(confined), statistics.median(plain)


def bench(key: str, n: int, workers: int, cell_timeout: int, env: dict, tmp: Path) -> dict:
    for run in ("sequential", "parallel"):
        (tmp / key / run).mkdir(parents=True)
    seq, par = (make_course(tmp / key / run, [key], generate=False) for run in ("sequential", "parallel"))
    build(seq, key, n)
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", key, "--force"], cwd=seq, env=env,
                   check=True, capture_output=True)
    shutil.copy(seq / "gradebook.db", par / "gradebook.db")
    shutil.copytree(seq / "submitted", par / "submitted")

    start = time.perf_counter()
    subprocess.run([str(BIN / "nbgrader"), "autograde", key, "--force", f"--Execute.timeout={cell_timeout}"],
                   cwd=seq, env=env, check=True, capture_output=True)
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    out = subprocess.run([str(BIN / "dlcourse-grade"), key, "--workers", str(workers), "--no-progress",
                          "--cell-timeout", str(cell_timeout)], cwd=par, env=env, capture_output=True, text=True)
    t_par = time.perf_counter() - start
    if out.returncode != 0:
        print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
    return {"key": key, "n": n, "seq": t_seq, "par": t_par, "same": totals(seq, key) == totals(par, key),
            "rc": out.returncode, "interface": interface_cost(par, key)}


BURNERS = """
import subprocess, sys, time
burn = "import time\\nend = time.time() + 60\\nwhile time.time() < end: pass\\n"
procs = [subprocess.Popen([sys.executable, "-c", burn], start_new_session=True) for _ in range({n})]
time.sleep(45)
"""


def cpu_escape(burners: int, neighbours: int, workers: int, env: dict, tmp: Path) -> dict:
    """Neighbours' grading seconds beside a kernel whose burners start new sessions, quota off and on."""
    key = "ch01_learning_from_data"
    sol = solution_notebook(key)
    first = next(c.metadata["nbgrader"]["grade_id"] for c in sol.cells
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    seconds = {}
    for cpus in ("0", "1"):
        (tmp / f"cpus{cpus}").mkdir()
        course = make_course(tmp / f"cpus{cpus}", [key])
        submit(course, key, "a_burner", replace_cell(sol, first, BURNERS.format(n=burners)))
        for i in range(neighbours):
            submit(course, key, f"b_neighbour_{i}", sol)
        subprocess.run([str(BIN / "dlcourse-grade"), key, "--workers", str(workers), "--cell-timeout", "60",
                        "--kernel-cpus", cpus, "--report", "report.json", "--no-progress"],
                       cwd=course, env=env, check=True, capture_output=True)
        rows = json.loads((course / "report.json").read_text())
        seconds[cpus] = {r["student"]: (r["score"], r["seconds"]) for r in rows}
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--class", dest="classes", action="append", metavar="KEY:N",
                   help="chapter and number of submissions (repeatable; default ch01 x 40 and ch04 x 20)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cell-timeout", type=int, default=120)
    p.add_argument("--cpu-escape", type=int, default=0, metavar="B",
                   help="measure the CPU quota instead: neighbours beside B burners in new sessions")
    p.add_argument("--neighbours", type=int, default=4, help="honest neighbours for --cpu-escape (default 4)")
    args = p.parse_args()
    classes = [(c.split(":")[0], int(c.split(":")[1])) for c in args.classes or
               ["ch01_learning_from_data:40", "ch04_sgd:20"]]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    load_before = os.getloadavg()
    if args.cpu_escape:
        with tempfile.TemporaryDirectory(prefix="dlcourse-bench-cpu-") as tmp:
            seconds = cpu_escape(args.cpu_escape, args.neighbours, args.workers, env, Path(tmp))
        print(f"neighbours beside {args.cpu_escape} burners in new sessions, dlcourse-grade --workers {args.workers}, "
              f"{os.cpu_count()} CPU cores")
        print("| kernels' CPU quota | burner (points, s) | neighbours' seconds | neighbours' points |")
        print("|---|---|---|---|")
        for cpus, label in (("0", "off (--kernel-cpus 0)"), ("1", "one core each (default)")):
            rows = seconds[cpus]
            near = [v for k, v in sorted(rows.items()) if k != "a_burner"]
            print(f"| {label} | {rows['a_burner'][0]:g}, {rows['a_burner'][1]:.1f} | "
                  f"{', '.join(f'{s:.1f}' for _, s in near)} | {', '.join(f'{p:g}' for p, _ in near)} |")
        print(f"load average: {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
        return 0
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        results = [bench(key, n, args.workers, args.cell_timeout, env, Path(tmp)) for key, n in classes]
    confined, plain = sandbox_start_cost()
    ok = True
    print(f"grading throughput, {os.cpu_count()} CPU cores, dlcourse-grade --workers {args.workers}")
    print("| chapter | submissions | nbgrader sequential (s) | dlcourse-grade (s) | speed-up | s per submission "
          "(dlcourse-grade) | same totals |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['key']} | {r['n']} | {r['seq']:.1f} | {r['par']:.1f} | {r['seq'] / r['par']:.2f}x | "
              f"{r['par'] / r['n']:.1f} | {r['same']} |")
        ok &= r["same"] and r["rc"] == 0
    print("\nper submission, mean: the interface (test cells in the grader) and the set-up cell run in the grader")
    for r in results:
        i = r["interface"]
        if i:
            print(f"  {r['key']}: {i['requests']:.0f} requests, {i['bytes'] / 1e3:.0f} kB of replies, "
                  f"{i['seconds']:.2f} s in test cells (of which set-up in the grader {i['setup_seconds']:.2f} s)")
    print(f"sandbox start: confined python -c pass {confined:.3f} s against plain {plain:.3f} s "
          f"(+{confined - plain:.3f} s per kernel start)")
    print(f"load average: {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, "
          f"on {os.cpu_count()} cores (other work slows both runs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
