"""Recorded experiments (``dlcourse.experiments``): every page's results file is current, and the
mechanism detects changed code, reruns the tagged cells and checks a live run against the record."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from conftest import ROOT
from dlcourse import experiments
from dlcourse.experiments import (
    StaleResultsError, check_within, code_hash, experiment_names, read_record, results_path, run_experiment,
    write_results,
)

PAGES = sorted((ROOT / "book").glob("ch*/index.ipynb"))
RECORDED = [(page, name) for page in PAGES for name in experiment_names(page)]


def test_some_pages_record_their_slow_experiments():
    assert {page.parent.name for page, _ in RECORDED} >= {"ch09_transfer_learning"}


@pytest.mark.parametrize("page,name", RECORDED, ids=[f"{p.parent.name}-{n}" for p, n in RECORDED])
def test_results_file_was_recorded_with_the_pages_current_code(page, name):
    record = read_record(results_path(page, name))
    assert record["experiment"] == name
    assert record["code_sha256"] == code_hash(page, name), (
        f"the code of {page.parent.name}'s experiment {name} changed since its results were recorded: "
        f"run `make experiments ARGS=\"{page.parent.name} {name}\"` and commit the results file")
    assert {"python", "numpy", "tensorflow", "keras"} <= set(record["versions"])
    assert record["seconds"] > 0


@pytest.mark.parametrize("page,name", RECORDED, ids=[f"{p.parent.name}-{n}" for p, n in RECORDED])
def test_every_recorded_comparison_has_several_seeds(page, name):
    rows = pd.DataFrame(read_record(results_path(page, name))["rows"])
    assert "seed" in rows, "every row names its seed"
    conditions = [c for c in rows.columns if c != "seed" and rows[c].dtype.kind in "OUSbi"]
    seeds = rows.groupby(conditions)["seed"].nunique() if conditions else pd.Series([rows.seed.nunique()])
    assert seeds.min() >= 3, f"a condition has only {seeds.min()} seeds (DESIGN.md: at least 3, or 5)"


@pytest.mark.parametrize("page,name", RECORDED, ids=[f"{p.parent.name}-{n}" for p, n in RECORDED])
def test_page_checks_its_live_run_against_the_record(page, name):
    source = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "code")
    assert f'load_results("{page.parent.name}", "{name}")' in source, "the page reads its recorded results"
    assert "check_within(" in source, "the page asserts that its live run lies in the recorded spread"


# --- the mechanism, on a tiny page -----------------------------------------------------------------

def _page(tmp_path, body="    return [{'seed': s, 'method': 'a', 'score': 0.5 + s / 100} for s in seeds]"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom dlcourse.training import to_dataset",
                                  metadata={"tags": ["experiment:toy"]}),
        nbformat.v4.new_code_cell("print('not part of it')"),
        nbformat.v4.new_code_cell(f"def toy(seeds=range(3)):\n{body}", metadata={"tags": ["experiment:toy"]}),
    ]
    page = tmp_path / "ch99_toy" / "index.ipynb"
    page.parent.mkdir(parents=True)
    nbformat.write(nb, page)
    return page


def test_run_experiment_executes_only_the_tagged_cells_and_records_versions(tmp_path):
    page = _page(tmp_path)
    assert experiment_names(page) == ["toy"]
    record = run_experiment(page, "toy")
    assert [row["seed"] for row in record["rows"]] == [0, 1, 2]
    assert record["code_sha256"] == code_hash(page, "toy")
    assert record["versions"]["numpy"]
    path = write_results(record, page)
    assert path == page.parent / "results" / "toy.json"
    assert read_record(path)["rows"] == record["rows"]


def test_code_hash_changes_with_the_tagged_code_and_the_modules_it_imports(tmp_path, monkeypatch):
    page = _page(tmp_path)
    before = code_hash(page, "toy")
    other = _page(tmp_path / "b", body="    return [{'seed': s, 'score': 0.6} for s in seeds]")
    assert code_hash(other, "toy") != before
    nb = nbformat.read(page, as_version=4)
    nb.cells[1].source = "print('an untagged cell may change')"
    nb.cells[2].source += "\n\n"
    nbformat.write(nb, page)
    assert code_hash(page, "toy") == before
    fake = tmp_path / "pkg"
    fake.mkdir()
    (fake / "training.py").write_text("changed = True\n")
    monkeypatch.setattr(experiments, "_PACKAGE", fake)
    assert code_hash(page, "toy") != before


def test_missing_or_broken_results_file_names_the_file(tmp_path):
    with pytest.raises(StaleResultsError, match="missing.*make experiments"):
        read_record(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(StaleResultsError, match="broken.json.*unreadable"):
        read_record(broken)
    broken.write_text(json.dumps({"rows": []}))
    with pytest.raises(StaleResultsError, match="no rows"):
        read_record(broken)


def test_check_within_accepts_the_spread_and_names_the_group_outside_it():
    recorded = pd.DataFrame({"method": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
                             "score": [0.50, 0.52, 0.54, 0.80, 0.80, 0.80]})
    check_within(pd.DataFrame({"method": ["a", "b"], "score": [0.56, 0.80]}), recorded, ["method"], "score")
    with pytest.raises(AssertionError, match="'method': 'b'.*outside"):
        check_within(pd.DataFrame({"method": ["b"], "score": [0.79]}), recorded, ["method"], "score")
    check_within(pd.DataFrame({"method": ["b"], "score": [0.79]}), recorded, ["method"], "score", slack=0.02)
    with pytest.raises(AssertionError, match="no recorded runs"):
        check_within(pd.DataFrame({"method": ["c"], "score": [0.5]}), recorded, ["method"], "score")
