"""The course outside this repository (issue 14): clean pages, launch buttons, publishing.

* Pages show the course, not its machinery: no ``glue(`` or ``NBVAL`` in the code a reader
  sees, code lines of at most 88 characters (the rendered side: ``test_browser_book.py``).
* Every page starts its code with the current launch cell (``tools/launch_cell.py``), which
  follows ``repository.url`` in ``_config.yml``; it does nothing where the course is
  installed, and installs the package with its data, offline here, from a local clone.
* Binder's files, the GitHub Pages workflow and ``make publish`` / ``make student-kit``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT, unavailable

sys.path.insert(0, str(ROOT / "tools"))
import launch_cell  # noqa: E402
import tidy_pages  # noqa: E402

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("ch*/index.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"]
MAX_LINE = 88


def _visible_code_cells(nb):
    return [c for c in nb.cells
            if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]


# --------------------------------------------------------------------------------------------------
# Pages: no machinery in the code readers study


@pytest.mark.parametrize("page", PAGES)
def test_page_code_shows_no_test_machinery(page):
    nb = nbformat.read(ROOT / page, as_version=4)
    for cell in _visible_code_cells(nb):
        assert "glue(" not in cell.source and "from myst_nb" not in cell.source, (
            f"move glue into a cell tagged remove-cell (tools/tidy_pages.py):\n{cell.source[:300]}"
        )
        assert "NBVAL" not in cell.source, "use the cell tag nbval-check-output, not a comment"
        long = [line for line in cell.source.splitlines() if len(line) > MAX_LINE]
        assert not long, f"code lines over {MAX_LINE} characters: {long}"
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert "nbval-check-output" in tags, "tag at least one deterministic cell nbval-check-output"


def _hidden_statement_allowed(node) -> bool:
    """Glue, assertions of the text's claims (``assert``, and ``check_within`` of a live run against its
    recorded runs), and the assignments that prepare glued values."""
    import ast

    if tidy_pages._is_glue_stmt(node) or isinstance(
            node, (ast.Assert, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.FunctionDef)):
        return True
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "check_within"):
        return True
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)  # a glued sentence's parts
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in ("append", "extend")
            and isinstance(node.value.func.value, ast.Name)):
        return True
    if isinstance(node, ast.ImportFrom) and node.module in ("myst_nb", "dlcourse.experiments"):
        return True
    if isinstance(node, ast.ImportFrom) and node.module == "IPython.display" and \
            {a.name for a in node.names} <= {"Markdown"}:  # a glued sentence with Markdown formatting
        return True
    if isinstance(node, (ast.Continue, ast.Break, ast.Pass)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Attribute):  # probing an attribute
        return True
    if isinstance(node, ast.Try):
        return all(_hidden_statement_allowed(n) for n in
                   [*node.body, *node.orelse, *node.finalbody, *(s for h in node.handlers for s in h.body)])
    if isinstance(node, (ast.For, ast.If)):
        return all(_hidden_statement_allowed(n) for n in [*node.body, *node.orelse])
    return False


@pytest.mark.parametrize("page", PAGES)
def test_hidden_cells_change_nothing_a_reader_sees(page):
    """A remove-cell (besides the launch cell) only glues, asserts the text's claims and prepares glued
    values: it prints and plots nothing, and no visible cell reads a name that it assigns."""
    import ast

    nb = nbformat.read(ROOT / page, as_version=4)
    hidden_names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("id") == launch_cell.CELL_ID:
            continue
        tree = ast.parse(cell.source)
        if "remove-cell" in cell.metadata.get("tags", []):
            for node in tree.body:
                assert _hidden_statement_allowed(node), (
                    f"{page}: a hidden cell does more than glue and check:\n{ast.unparse(node)}")
            assert all(o.output_type == "display_data" for o in cell.outputs), f"{page}: a hidden cell prints"
            hidden_names |= tidy_pages._stores(tree) - {"glue"}
        else:
            own = tidy_pages._stores(tree)  # a name the visible cell assigns itself is its own
            own |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            own |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                    for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a}
            read = (tidy_pages._loads(tree) - own) & hidden_names
            assert not read, f"{page}: a visible cell reads {sorted(read)}, assigned only in a hidden cell"
            hidden_names -= own


def test_hidden_cell_rule_can_fail():
    import ast

    assert not _hidden_statement_allowed(ast.parse("print(1)").body[0])
    assert not _hidden_statement_allowed(ast.parse("model.fit(X, y)").body[0])
    assert _hidden_statement_allowed(ast.parse("for k in d:\n    glue(k, d[k], display=False)").body[0])


def test_tidy_pages_has_nothing_left_to_do():
    assert tidy_pages.main(["--check"]) == 0


def test_tidy_pages_moves_glue_and_markers(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom myst_nb import glue"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nx = 2\nprint(x)\nglue('x', x, display=False)"),
    ])
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="2\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "2"},
                               metadata={"scrapbook": {"name": "x"}}),
    ]
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    assert tidy_pages.main([str(path), "--check"]) == 1
    assert tidy_pages.main([str(path)]) == 0
    assert tidy_pages.main([str(path), "--check"]) == 0  # idempotent
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source for c in cells] == [
        "import numpy as np", "from myst_nb import glue", "x = 2\nprint(x)", "glue('x', x, display=False)"]
    assert cells[2].metadata.tags == ["nbval-check-output"]
    assert [c.outputs[0].output_type for c in cells[2:]] == ["stream", "display_data"]
    assert cells[3].metadata.tags == ["remove-cell"]


def test_tidy_pages_refuses_glue_of_a_value_changed_later(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\nglue('x', x)\nx = 2")])
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(SystemExit, match="reassigned"):
        tidy_pages.main([str(path)])


# --------------------------------------------------------------------------------------------------
# One setting: repository.url


def test_repository_url_is_set_in_one_place():
    """The URL appears only in _config.yml and in the launch cells generated from it."""
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        unavailable("not a git checkout")
    owner_repo = REPOSITORY.split("github.com/", 1)[1]
    found = []
    for rel in tracked.stdout.split():
        path = ROOT / rel
        if rel.startswith("book/_vendor") or not path.is_file() or path.suffix in (".png", ".npz"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if owner_repo not in text:
            continue
        if rel == "_config.yml":
            continue
        if rel.startswith("book/") and rel.endswith("index.ipynb"):
            nb = nbformat.reads(text, as_version=4)
            others = [c for c in nb.cells if c.get("id") != launch_cell.CELL_ID and owner_repo in c.source]
            if not others:
                continue
        found.append(rel)
    assert not found, f"the repository URL is repeated outside _config.yml: {found}"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_starts_with_the_current_launch_cell(page):
    nb = nbformat.read(ROOT / page, as_version=4)
    assert launch_cell.is_current(nb), "run: python tools/launch_cell.py"
    first = _first_code(nb)
    assert REPOSITORY in first.source and CONFIG["repository"]["branch"] in first.source
    assert first.metadata["tags"] == ["remove-cell"] and not first.outputs


def _first_code(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def test_launch_cell_follows_the_config_and_the_tool_is_idempotent(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://github.com/some-school/keras-course/\n  branch: spring\n")
    source = launch_cell.cell_source(tmp_path)
    assert '"https://github.com/some-school/keras-course"' in source
    assert '"spring"' in source and 'Path.home() / "keras-course"' in source
    compile(source, "launch", "exec")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                         nbformat.v4.new_code_cell("import numpy")])
    launch_cell.apply(nb, tmp_path)
    launch_cell.apply(nb, tmp_path)
    assert [c.get("id") for c in nb.cells].count(launch_cell.CELL_ID) == 1
    assert nb.cells[1].id == launch_cell.CELL_ID and launch_cell.is_current(nb, tmp_path)
    assert not launch_cell.is_current(nb)  # another repository: the course's pages are stale


def test_launch_cell_does_nothing_where_the_course_is_installed(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "DLCOURSE_REPO": str(tmp_path / "nowhere")}
    result = subprocess.run([sys.executable, "-c", launch_cell.cell_source()], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and not list(tmp_path.iterdir())


def test_launch_cell_stands_in_for_myst_nb_where_it_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "myst_nb" else real(name, *a))
    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    namespace: dict = {}
    exec(launch_cell.cell_source(), namespace)
    from myst_nb import glue

    assert glue("x", 1, display=False) is None
    monkeypatch.delitem(sys.modules, "myst_nb")


@pytest.mark.slow
def test_launch_cell_installs_the_package_and_its_data_offline(tmp_path):
    """What Colab does, offline: a Python without dlcourse runs the cell against a local clone.

    The clone is a git repository of the students' kit (what repository.url names); pip may use
    no index. The numerical stack comes from the course environment, dlcourse does not.
    """
    import student_kit

    kit = student_kit.write_kit(tmp_path / "kit")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    branch = CONFIG["repository"]["branch"]
    for args in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "kit"]):
        subprocess.run([*git, *args], cwd=kit, check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    course_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    # A plain path entry: the course's own .pth files (its editable dlcourse) are not processed.
    Path(site, "course_env.pth").write_text(course_site + "\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "DLCOURSE_REPO": str(kit), "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    probe = subprocess.run([str(python), "-c", "import dlcourse"], env=env, capture_output=True)
    assert probe.returncode != 0, "dlcourse must be missing before the cell runs"
    script = launch_cell.cell_source() + (
        "\nimport dlcourse\nfrom dlcourse.data import load_red_wine\n"
        "print('package', dlcourse.__file__)\nprint('wine', load_red_wine().shape)\n")
    result = subprocess.run([str(python), "-c", script], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    clone = home / REPOSITORY.rstrip("/").split("/")[-1]
    assert f"dlcourse is not installed here: installing it and its data from {kit}" in result.stdout
    assert re.search(rf"done: 5 data files in {re.escape(str(clone / 'datasets'))}, sha256 checked",
                     result.stdout), result.stdout
    assert f"package {clone / 'src' / 'dlcourse' / '__init__.py'}" in result.stdout
    assert "wine (1599, 12)" in result.stdout
    # A new kernel (a new process) finds the installed package and its data without the cell.
    again = subprocess.run([str(python), "-c", "from dlcourse.data import get_data_dir, "
                            "load_ionosphere; load_ionosphere(); print(get_data_dir())"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == str(clone / "datasets")
    # The kit has no grading code, so neither has the installed package.
    assert not (clone / "src" / "dlcourse" / "grading.py").exists()
    assert not (clone / "src" / "dlcourse" / "grading").exists()
    # A corrupt data file is caught by the checksum.
    (clone / "datasets" / "winequality_red.csv").write_text("quality\n5\n")
    bad = subprocess.run([str(python), "-c", "from dlcourse.data import load_red_wine; load_red_wine()"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "winequality_red.csv" in bad.stderr


# --------------------------------------------------------------------------------------------------
# Binder, JupyterHub, the Pages workflow and the Makefile


def test_binder_builds_the_course_environment():
    requirements = (ROOT / "binder" / "requirements.txt").read_text().split()
    assert requirements == ["-r", "../requirements.txt"], requirements
    root_lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert root_lines[-1] == "-e .", "the course package installs in place (it finds datasets/)"
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    version = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert version and 10 <= int(version.group(1)) <= 12, runtime


def test_jupyterhub_button_is_hidden_until_configured():
    url = CONFIG["launch_buttons"].get("jupyterhub_url") or ""
    assert "example.org" not in url
    assert url == "" or url.startswith("https://")


def _makefile_targets(path: Path) -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", path.read_text(), re.M))


def _make_calls(run: str) -> list[str]:
    return re.findall(r"\bmake\s+([A-Za-z][\w-]*)", run)


def test_pages_workflow_parses_and_calls_make_targets_that_exist():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    # YAML 1.1 reads the key `on` as True
    triggers = workflow.get("on", workflow.get(True))
    assert "push" in triggers and "workflow_dispatch" in triggers
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    build = workflow["jobs"]["build"]
    steps = build["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    calls = [target for run in runs for target in _make_calls(run)]
    assert calls == ["book"], runs
    targets = _makefile_targets(ROOT / "Makefile")
    assert set(calls) <= targets
    # `make book` is the README's command and strict.
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme
    assert re.search(r"^book:.*\n\t.*jupyter-book build --all -W -n --keep-going \.", (ROOT / "Makefile").read_text(), re.M)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(s.get("with", {}).get("path") == "_build/.jupyter_cache" for s in steps)
    assert next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))[
        "with"]["path"] == "_build/html"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert build["timeout-minutes"] <= 90


def test_makefile_publish_and_student_kit_targets():
    text = (ROOT / "Makefile").read_text()
    targets = _makefile_targets(ROOT / "Makefile")
    assert {"publish", "student-kit"} <= targets
    assert re.search(r"^publish: book\n(\t.*\n)*\t\$\(BIN\)/ghp-import .*_build/html", text, re.M)
    assert "tools/student_kit.py $(DEST)" in text
    dry = subprocess.run(["make", "-n", "student-kit"], cwd=ROOT, capture_output=True, text=True)
    if dry.returncode == 127 or "No rule" in dry.stderr:
        pytest.fail(dry.stderr)
    kit = ROOT / "tools" / "kit" / "Makefile"
    assert {"lab", "book"} <= _makefile_targets(kit)
    assert "jupyter-book build --all -W -n --keep-going ." in kit.read_text()


def test_readme_and_instructors_page_say_what_to_change_when_publishing():
    for path in (ROOT / "README.md", ROOT / "book" / "instructors.md"):
        text = path.read_text(encoding="utf-8")
        for needle in ("repository.url", "_config.yml", "python tools/launch_cell.py",
                       "make student-kit DEST=", "GitHub Actions", "jupyterhub_url"):
            assert needle in text, f"{path.name} does not mention {needle}"
    assert "Two repositories" in (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
