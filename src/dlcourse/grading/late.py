"""The course's late-submission penalty: points off per started hour late (Instructors' guide).

nbgrader's own ``LateSubmissionPlugin`` knows two methods only, no penalty or zero points. This plugin
is the "SubMarks" example of nbgrader's documentation, made configurable: a submission ``h`` started
hours after the due date loses ``points_per_hour * h`` points per notebook, at most ``max_penalty``
(when set) and never more than the notebook's score (nbgrader's ``AssignLatePenalties`` caps it). One
second late is one started hour. In the course's ``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "dlcourse.grading.late.SubMarksPerHour"
    c.SubMarksPerHour.points_per_hour = 2.0
    c.SubMarksPerHour.max_penalty = 10.0      # optional

and a due date: ``nbgrader db assignment add ch01_learning_from_data --duedate="2026-12-14 23:59 UTC"``.
``dlcourse-grade`` applies it as it records each result (and reports the late seconds and the points
taken off); the gradebook, the formgrader, the export and the feedback then show the reduced score.
"""

from __future__ import annotations

import math

from nbgrader.plugins import BasePlugin
from traitlets import Float


class SubMarksPerHour(BasePlugin):
    """``points_per_hour`` points off per started hour late, per notebook (at most ``max_penalty``)."""

    points_per_hour = Float(1.0, help="Points taken off per started hour after the due date.").tag(config=True)
    max_penalty = Float(0.0, help="The most points taken off one notebook (0: no cap but its score)."
                        ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if not total_seconds_late or total_seconds_late <= 0:
            return None
        penalty = self.points_per_hour * math.ceil(total_seconds_late / 3600)
        if self.max_penalty > 0:
            penalty = min(penalty, self.max_penalty)
        self.log.info("%s: %.0f s late, %g points off", student_id, total_seconds_late, penalty)
        return penalty
