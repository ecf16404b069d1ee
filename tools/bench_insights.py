"""Time the class report (``dlcourse-grade --insights``) for a class of N graded submissions (issue 26).

Graded once, reported many times: from a course folder where a class has been graded (its gradebook
and ``autograded/``), this builds a synthetic class of N submissions in a scratch folder, each a copy
of one of the graded notebooks, written into a fresh SQLite gradebook with nbgrader's own
``SaveAutoGrades`` (:func:`dlcourse.grading.gradebook.record_result`); the building is not timed.
It then times the report step, in the process (:func:`dlcourse.grading.insights.report`) and as
the command an instructor runs (``dlcourse-grade ASSIGNMENT --skip-grading --insights DIR``, Python's
start and imports included), and prints the seconds (the median of ``--repeat`` runs)::

    python tools/bench_insights.py --course /path/to/graded/course --assignment ch01_learning_from_data -n 200
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def synthetic_class(course: Path, assignment: str, n: int, scratch: Path) -> Path:
    """A copy of ``course``'s configuration and release with ``n`` graded copies of its graded notebooks."""
    from dlcourse.grading import gradebook
    from dlcourse.grading.cli import absolute_db_url, load_config

    _, coursedir = load_config(course)
    db_url = absolute_db_url(coursedir.db_url, course)
    root = scratch / "course"
    root.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", root)
    for folder in (coursedir.release_directory, coursedir.source_directory):
        if (course / folder / assignment).is_dir():
            shutil.copytree(course / folder / assignment, root / folder / assignment)
    gradebook.write_seed(db_url, assignment, root / "gradebook.db")
    new_db = f"sqlite:///{root / 'gradebook.db'}"
    names = gradebook.notebook_names(new_db, assignment)
    graded = sorted(p.parent.name for p in (course / coursedir.autograded_directory).glob(f"*/{assignment}"))
    if not graded:
        raise SystemExit(f"no graded submissions of {assignment} in {course / coursedir.autograded_directory}")
    for i, source in zip(range(n), itertools.cycle(graded)):
        student = f"synthetic{i:04d}"
        notebooks = {}
        for name in names:
            path = course / coursedir.autograded_directory / source / assignment / f"{name}.ipynb"
            if path.is_file():
                notebooks[name] = path.read_text()
        folder = root / "autograded" / student / assignment
        folder.mkdir(parents=True)
        for name, text in notebooks.items():
            (folder / f"{name}.ipynb").write_text(text)
        gradebook.record_result(new_db, assignment, student, notebooks, None)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", required=True, type=Path, help="a course folder with a graded class")
    parser.add_argument("--assignment", default="ch01_learning_from_data")
    parser.add_argument("-n", type=int, default=200, help="submissions in the synthetic class (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each kind (default 3)")
    args = parser.parse_args(argv)

    from dlcourse.grading import insights

    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-insights-") as tmp:
        start = time.perf_counter()
        root = synthetic_class(args.course.resolve(), args.assignment, args.n, Path(tmp))
        print(f"built a class of {args.n} graded submissions in {time.perf_counter() - start:.1f} s (not timed)")
        db_url = f"sqlite:///{root / 'gradebook.db'}"
        inside, command = [], []
        for k in range(args.repeat):
            start = time.perf_counter()
            insights.report(root, args.assignment, db_url, root / f"report{k}")
            inside.append(time.perf_counter() - start)
        cli = [str(Path(sys.executable).parent / "dlcourse-grade"), args.assignment, "--skip-grading",
               "--insights", "report-cli"]
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(cli, cwd=root, check=True, capture_output=True)
            command.append(time.perf_counter() - start)
        data = insights.collect(root, args.assignment, db_url)
        assert data["submissions"] == args.n
    print(f"report of {args.n} submissions, in the process: {statistics.median(inside):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in inside)})")
    print(f"report of {args.n} submissions, dlcourse-grade --skip-grading --insights: "
          f"{statistics.median(command):.2f} s (runs: {', '.join(f'{t:.2f}' for t in command)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
