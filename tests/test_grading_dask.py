"""``dlcourse-grade --scheduler``: the same grading on a Dask distributed cluster."""

from __future__ import annotations

import pytest

from grading_fixtures import KEY, full_marks, make_course, max_score, partial, partial_score, solution, submit

pytestmark = pytest.mark.slow


def test_grading_on_a_dask_cluster_gives_the_same_scores(tmp_path):
    distributed = pytest.importorskip("distributed")
    from dlcourse.grading import grade_class

    course = make_course(tmp_path / "course")
    submit(course, "alice", solution())
    submit(course, "carol", partial())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        results = grade_class(course, KEY, scheduler=cluster.scheduler_address, cell_timeout=15,
                              memory_bytes=1536 << 20, progress=False)
    assert [(r["student"], r["score"], r["max_score"], r["status"]) for r in results] == [
        ("alice", full_marks(), max_score(), "graded"),
        ("carol", partial_score(), max_score(), "graded"),
    ]
    assert (course / "autograded" / "carol" / KEY / f"{KEY}.ipynb").is_file()
    # the class report reads a class graded through Dask like any other (issue 26): q1's blank answer
    # fails a check with its tag, q3's hard-coded mse a bare assert of the hidden tests (no tag)
    from dlcourse.grading.insights import collect

    data = collect(course, KEY, f"sqlite:///{course / 'gradebook.db'}")
    groups = {q["id"]: [(g["kind"], g["tag"], g["count"]) for g in q["groups"]] for q in data["questions"] if not q["manual"]}
    assert groups == {**{q: [] for q in groups}, "q1_task_types": [("check", "not_implemented", 1)],
                      "q3_mse": [("check", None, 1)]}
