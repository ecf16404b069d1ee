"""Move the book's test machinery out of the code readers study (issue 14).

For every ``book/ch*/index.ipynb`` given (default: all of them):

* top-level ``glue(...)`` statements (and ``for`` loops made only of them) move into a new
  code cell right after their cell, tagged ``remove-cell``; their stored ``display_data``
  outputs move with them, so no re-execution is needed;
* ``from myst_nb import glue`` moves into a ``remove-cell`` cell after the imports;
* a ``# NBVAL_CHECK_OUTPUT`` comment becomes the cell tag ``nbval-check-output``;
* the page's Exercises section gets the list of its exercise notebook's questions (titles and
  points, from ``solutions/<key>/<key>.ipynb``), between two HTML comments, so the page never
  promises questions the notebook does not ask.

A glue statement only moves when no later statement of its cell assigns a name it reads, so
the glued value is the same; otherwise the tool stops and names the cell (fix it by hand).
Cells that already follow the convention are left alone: running the tool twice changes
nothing. ``--check`` exits 1 when a page still needs it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GLUE_IMPORT = "from myst_nb import glue"
NBVAL_COMMENT = "# NBVAL_CHECK_OUTPUT"


def _is_glue_call(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "glue"
    )


def _is_glue_stmt(node: ast.stmt) -> bool:
    if _is_glue_call(node):
        return True
    return isinstance(node, ast.For) and not node.orelse and all(map(_is_glue_stmt, node.body))


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _stores(node: ast.AST) -> set[str]:
    """Names the code binds in its own (module) scope: not a function's locals, not a comprehension's
    loop variables."""
    names: set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        for child in ast.iter_child_nodes(current):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
            elif isinstance(child, ast.NamedExpr):
                names.add(child.target.id)
                todo.append(child.value)
            elif isinstance(child, _SCOPES):
                continue
            else:
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
                todo.append(child)
    return names


def _tags(cell) -> list[str]:
    return cell.metadata.setdefault("tags", [])


def _is_glue_output(output) -> bool:
    return "scrapbook" in output.get("metadata", {})


def _merge_streams(outputs: list) -> list:
    merged: list = []
    for output in outputs:
        prev = merged[-1] if merged else None
        if (prev is not None and output.output_type == prev.output_type == "stream"
                and output.name == prev.name):
            prev.text += output.text
        else:
            merged.append(output)
    return merged


def _split(cell, where: str):
    """(visible cell, glue cell or None) for one code cell."""
    lines = cell.source.split("\n")
    tree = ast.parse(cell.source)
    glue_nodes = [n for n in tree.body if _is_glue_stmt(n)]
    if not glue_nodes or "remove-cell" in cell.metadata.get("tags", []):
        return cell, None
    for node in glue_nodes:
        later = [n for n in tree.body if n.lineno > node.end_lineno and not _is_glue_stmt(n)]
        clash = _loads(node) & set().union(*map(_stores, later)) if later else set()
        if clash:
            raise SystemExit(f"{where}: glue reads {sorted(clash)}, reassigned later in the cell")
    drop = set()
    for node in glue_nodes:
        drop.update(range(node.lineno - 1, node.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    moved = [line for i, line in enumerate(lines) if i in drop]
    # no blank lines left dangling where the glue was
    text = "\n".join(kept)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    visible = copy.deepcopy(cell)
    visible.source = text.strip("\n")
    visible.outputs = _merge_streams([o for o in cell.outputs if not _is_glue_output(o)])
    glue_cell = nbformat.v4.new_code_cell("\n".join(moved).strip("\n"))
    glue_cell.metadata["tags"] = ["remove-cell"]
    glue_cell.outputs = [o for o in cell.outputs if _is_glue_output(o)]
    glue_cell.execution_count = cell.execution_count
    if "id" in cell:
        glue_cell.id = f"{cell.id}-glue"
    return visible, glue_cell


def tidy(nb, where: str = "notebook"):
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        lines = cell.source.split("\n")
        if any(line.strip() == NBVAL_COMMENT for line in lines):
            cell.source = "\n".join(l for l in lines if l.strip() != NBVAL_COMMENT)
            if "nbval-check-output" not in _tags(cell):
                _tags(cell).append("nbval-check-output")
        lines = cell.source.split("\n")
        extra = []
        if GLUE_IMPORT in lines and "remove-cell" not in cell.metadata.get("tags", []):
            cell.source = "\n".join(l for l in lines if l != GLUE_IMPORT)
            imports = nbformat.v4.new_code_cell(GLUE_IMPORT)
            imports.metadata["tags"] = ["remove-cell"]
            if "id" in cell:
                imports.id = f"{cell.id}-glue-import"
            extra.append(imports)
        visible, glue_cell = _split(cell, f"{where} cell {index}")
        if not visible.metadata.get("tags"):
            visible.metadata.pop("tags", None)
        cells.append(visible)
        cells.extend(extra)
        if glue_cell is not None:
            cells.append(glue_cell)
    nb.cells = cells
    return nb


QUESTION = re.compile(r"^##\s+Question\s+(\d+)\s+[—-]+\s+(.+?)\s+\((\d+(?:\.\d+)?\s+points?(?:,[^)]*)?)\)\s*$", re.M)
LIST_BEGIN = "<!-- questions: written by tools/tidy_pages.py from the exercise notebook -->"
LIST_END = "<!-- end of questions -->"


def questions(key: str, root: Path = ROOT) -> list[tuple[int, str, str]]:
    """(number, title, points) of the exercise notebook's "## Question N — Title (P points)" headings.

    ``points`` is the parenthesis as written, e.g. "3 points" or "2 points, graded by your instructor".
    """
    nb = nbformat.read(root / "solutions" / key / f"{key}.ipynb", as_version=4)
    return [(int(m.group(1)), m.group(2), m.group(3)) for c in nb.cells if c.cell_type == "markdown"
            for m in QUESTION.finditer(c.source)]


def exercise_list(key: str, root: Path = ROOT) -> str:
    """The Markdown list of a chapter's exercise questions, between its two marker comments."""
    items = [f"{n}. {title[:1].upper() + title[1:]} ({points})" for n, title, points in questions(key, root)]
    return "\n".join([LIST_BEGIN, *items, LIST_END])


def set_exercise_list(nb, key: str, root: Path = ROOT) -> None:
    """Write (or rewrite) the question list into the Exercises section, after its "questions worth" paragraph."""
    if not (root / "solutions" / key / f"{key}.ipynb").exists():
        return
    cells = [c for c in nb.cells if c.cell_type == "markdown" and "## Exercises" in c.source]
    if not cells:
        return
    cell = cells[-1]
    source = re.sub(r"\n*" + re.escape(LIST_BEGIN) + r".*?" + re.escape(LIST_END) + r"\n*", "\n\n",
                    cell.source, flags=re.S).strip("\n")
    head, _, section = source.partition("## Exercises")
    paragraphs = section.split("\n\n")
    at = next((i + 1 for i, text in enumerate(paragraphs) if "questions worth" in text), len(paragraphs))
    paragraphs.insert(at, exercise_list(key, root))
    cell.source = head + "## Exercises" + "\n\n".join(paragraphs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page needs tidying")
    args = parser.parse_args(argv)
    pages = args.pages or sorted((ROOT / "book").glob("ch*/index.ipynb"))
    stale = []
    for page in pages:
        nb = nbformat.read(page, as_version=4)
        before = nbformat.writes(nb)
        tidy(nb, str(page))
        set_exercise_list(nb, page.parent.name)
        nbformat.validator.normalize(nb)
        after = nbformat.writes(nb)
        if after != before:
            stale.append(page)
            if not args.check:
                page.write_text(after + "\n", encoding="utf-8")
    for page in stale:
        print(("needs tidying: " if args.check else "tidied: ") + str(page))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
