"""The first code cell of every book page: set-up for Colab, Binder and fresh machines.

A page opened from a launch button (Colab) or downloaded has no course package and no
``datasets/``. The cell this tool writes installs both, but only when ``dlcourse`` cannot
be imported, and says what it does: it clones the course repository (``repository.url``
and ``repository.branch`` in ``_config.yml``, the one setting behind every button and
link of the book), installs the helper package from the clone with
``pip install --editable`` (so the data loaders find the clone's ``datasets/``, in this
kernel and in later ones) and checks every data file's sha256 (the loaders' own check,
``dlcourse.data.dataset_path``). Locally, in CI and on Binder (which installs
``requirements.txt``, ending in ``-e .``) the package is importable and the cell does
nothing, so nothing is ever downloaded there.

Pages also ``from myst_nb import glue`` (in cells the book hides); where myst-nb is not
installed (Colab) the cell registers a stand-in whose ``glue`` does nothing.

    python tools/launch_cell.py            # insert or update the cell in every page
    python tools/launch_cell.py --check    # exit 1 if a page lacks the current cell
    python tools/launch_cell.py book/ch05_overfitting/index.ipynb   # some pages only

The cell (id ``dlcourse-launch``, tagged ``remove-cell`` so the rendered book does not show
it) goes right before the page's first other code cell; running the tool again changes
nothing. ``DLCOURSE_REPO`` overrides the repository for a test (a local clone, offline).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "dlcourse-launch"
TAGS = ["remove-cell"]

TEMPLATE = '''\
# Set-up for Colab, Binder or a fresh Python: when the course's helper package
# `dlcourse` is missing, install it and the course data from the repository below.
# Where the course is installed (make lab, make book), this cell does nothing.
import importlib.util
import sys
import types

# the course repository: repository.url in the book's _config.yml
REPOSITORY = "{url}"

if importlib.util.find_spec("myst_nb") is None:  # glue() feeds the book's text only
    sys.modules["myst_nb"] = types.SimpleNamespace(glue=lambda *args, **kwargs: None)

if importlib.util.find_spec("dlcourse") is None:
    import os
    import subprocess
    from pathlib import Path

    repo = os.environ.get("DLCOURSE_REPO", REPOSITORY)
    clone = Path.home() / "{name}"
    print(f"dlcourse is not installed here: installing it and its data from {{repo}}")
    if not clone.exists():
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{branch}",
                        repo, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--editable", str(clone)], check=True)
    sys.path.insert(0, str(clone / "src"))  # this kernel; new ones find the install
    importlib.invalidate_caches()
    from dlcourse.data import dataset_path, get_data_dir

    files = [dataset_path(p.name) for p in sorted(get_data_dir().glob("*.*"))
             if p.suffix in (".csv", ".npz")]
    print(f"done: {{len(files)}} data files in {{get_data_dir()}}, sha256 checked")
'''


def load_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def repository(root: Path = ROOT) -> tuple[str, str]:
    """(url, branch) of the course repository, from ``_config.yml``."""
    repo = load_config(root)["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def cell_source(root: Path = ROOT) -> str:
    """The launch cell's code for the repository named in ``root``'s ``_config.yml``."""
    url, branch = repository(root)
    name = url.rstrip("/").split("/")[-1].removesuffix(".git") or "course"
    return TEMPLATE.format(url=url, branch=branch, name=name).rstrip("\n")


def new_cell(root: Path = ROOT):
    cell = nbformat.v4.new_code_cell(cell_source(root))
    cell.id = CELL_ID
    cell.metadata["tags"] = list(TAGS)
    return cell


def is_current(nb, root: Path = ROOT) -> bool:
    """True when the first code cell of ``nb`` is the current launch cell."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and code[0].get("id") == CELL_ID and code[0].source == cell_source(
        root) and code[0].metadata.get("tags") == TAGS and not code[0].outputs and sum(
        c.get("id") == CELL_ID for c in nb.cells) == 1


def apply(nb, root: Path = ROOT):
    """Insert or update the launch cell of ``nb`` (in place); returns ``nb``."""
    cells = [c for c in nb.cells if c.get("id") != CELL_ID]
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cells.insert(first_code, new_cell(root))
    nb.cells = cells
    return nb


def pages(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("ch*/index.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    args = parser.parse_args(argv)
    stale = []
    for page in args.pages or pages():
        nb = nbformat.read(page, as_version=4)
        if is_current(nb):
            continue
        stale.append(page)
        if not args.check:
            apply(nb)
            page.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    for page in stale:
        print(("stale launch cell: " if args.check else "launch cell written: ") + str(page))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
