"""Grading a class with nbgrader, isolated and with verdicts outside the students' kernels (Instructors' guide).

Modules:

* :mod:`~dlcourse.grading.cli`: the ``dlcourse-grade`` command (:func:`main`, :func:`grade_class`);
* :mod:`~dlcourse.grading.worker`: grades one submission in its own temporary course folder;
* :mod:`~dlcourse.grading.submission`: what a submission may contain;
* :mod:`~dlcourse.grading.sandbox`: confines the student's kernel (namespaces, mounts, limits);
* :mod:`~dlcourse.grading.preprocessors`: nbgrader preprocessors (execution, restored cells, feedback);
* :mod:`~dlcourse.grading.interface`: the narrow interface through which test cells, run in the
  trusted grader process, read the student's names (plain data, remote calls, models);
* :mod:`~dlcourse.grading.agent`: its counterpart inside the student's kernel (a data source only);
* :mod:`~dlcourse.grading.gradebook`: the single writer of the real gradebook.

This package imports nothing heavy on import, so the kernel-side agent stays light; the command
line's functions are loaded on first use.
"""

from __future__ import annotations

_CLI = {"main", "grade_class", "generate_feedback", "summary_table", "parse_size", "absolute_db_url",
        "find_submissions", "load_config", "build_parser"}


def __getattr__(name: str):
    if name in _CLI:
        from . import cli

        return getattr(cli, name)
    raise AttributeError(f"module 'dlcourse.grading' has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point ``dlcourse-grade`` (Instructors' guide)."""
    from .cli import main as _main

    return _main(argv)
