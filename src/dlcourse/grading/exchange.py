"""nbgrader's submit with one more check: the notebook handed in is this assignment's (Instructors' guide).

``make hub`` configures it for every user (``c.ExchangeFactory.submit``). Before copying anything into the
exchange it does what nbgrader's own submit does (warn about missing and extra notebooks, refuse files over
the size limit) and then refuses a submission whose notebook, under the released name, is not this
assignment's: another assignment's notebook (e.g. chapter 2's saved as chapter 1's), or a notebook made anew
(:func:`dlcourse.grading.submission.wrong_assignment`). The student reads why, in the Assignment List's
error dialog or in the terminal, and can submit the right notebook; nothing reaches the instructor. The
check is a courtesy, not a safeguard: a student can submit with nbgrader's plain class, and
``dlcourse-grade`` makes the same check and reports such a submission as failed, with the reason.
"""

from __future__ import annotations

import json
import os

from nbgrader.exchange.default.submit import ExchangeSubmit

from .submission import key_ids_by_assignment, wrong_assignment


class CheckedSubmit(ExchangeSubmit):
    """nbgrader's ``ExchangeSubmit``, refusing a notebook of another assignment."""

    def _released_key_ids(self) -> dict[str, list[str]]:
        """The key ids of the course's other released assignments the student can read (to name one)."""
        return key_ids_by_assignment(os.path.dirname(self.release_path))

    def check_filename_diff(self):
        super().check_filename_diff()
        problems = []
        others = None
        for entry in sorted(os.listdir(self.release_path)):
            submitted = os.path.join(self.src_path, entry)
            if not entry.endswith(".ipynb") or not os.path.isfile(submitted):
                continue
            try:
                with open(os.path.join(self.release_path, entry), encoding="utf-8") as handle:
                    released = json.load(handle)
                with open(submitted, encoding="utf-8") as handle:
                    nb = json.load(handle)
            except (OSError, ValueError):
                continue  # not a notebook nbgrader can read: the grader reports it
            if others is None:
                others = self._released_key_ids()
            problem = wrong_assignment(nb, released, self.coursedir.assignment_id, entry, others)
            if problem:
                problems.append(problem)
        if problems:
            self.fail(f"Assignment {self.coursedir.assignment_id} not submitted: " + "; ".join(problems) + ".")
