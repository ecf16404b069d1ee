"""The book: its configuration, the vendored MathJax, and the strict build (``-W -n --keep-going``).

The build runs once per test run into ``_build/``, in the background from the start of the run (see
``browser_helpers.build_book``); it is the one execution of every page: ``test_book_notebooks.py``
compares its executed copies with the stored outputs, and the browser tests in
``test_browser_book.py`` check the same build in Chromium.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest
import yaml

from browser_helpers import (
    ROOT,
    build_book,
    built_html,
    page_html,
    page_source,
    run_build,
    toc_pages,
)
from conftest import record_step

PAGES = toc_pages()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
MATHJAX = ROOT / "book" / "_vendor" / "mathjax"
#: The one setting behind every launch button, link and install cell (see test_publishing.py).
REPOSITORY = CONFIG["repository"]["url"]

# --------------------------------------------------------------------------------------------------
# Configuration (fast)


def test_config_executes_with_cache_and_timeout():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert isinstance(execute["timeout"], int) and execute["timeout"] >= 60
    assert execute.get("allow_errors") is False
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert CONFIG["only_build_toc_files"] is True


def test_config_excludes_everything_but_the_book():
    excluded = set(CONFIG["exclude_patterns"])
    for folder in ("_build", ".venv", "solutions", "notebooks", "datasets", "src", "tests", "tools"):
        assert folder in excluded, f"{folder} must be in exclude_patterns"


def test_config_reader_buttons():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY
    assert CONFIG["repository"]["branch"] == "main"
    launch = CONFIG["launch_buttons"]
    for key in ("binderhub_url", "colab_url"):
        assert launch[key].startswith("https://"), f"launch_buttons.{key} is not set"
    # JupyterHub: hidden until an institution sets its hub
    assert launch.get("jupyterhub_url", "") == "" or launch["jupyterhub_url"].startswith("https://")
    html = CONFIG["html"]
    assert html["use_repository_button"] and html["use_edit_page_button"]
    assert (ROOT / html["favicon"]).is_file()
    assert (ROOT / CONFIG["logo"]).is_file()
    assert CONFIG["sphinx"]["config"]["html_context"]["default_mode"] == "light"


def test_config_extensions():
    sphinx = CONFIG["sphinx"]
    assert {"sphinx_exercise", "sphinx_proof"} <= set(sphinx["extra_extensions"])
    for name, folder in sphinx["local_extensions"].items():
        assert (ROOT / folder / f"{name}.py").is_file()
    enabled = set(CONFIG["parse"]["myst_enable_extensions"])
    assert {"dollarmath", "amsmath", "colon_fence", "deflist", "html_image"} <= enabled


def test_toc_is_numbered_and_every_page_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["format"] == "jb-book"
    assert toc["parts"][0]["caption"] == "Foundations"
    assert toc["parts"][0].get("numbered") is True
    for docname in PAGES:
        assert page_source(docname).is_file()
        assert docname.startswith("book/"), "every page of the book lives under book/"
    assert {"book/intro", "book/instructors", "book/glossary"} <= set(PAGES)


def test_vendored_mathjax_is_complete_and_unchanged():
    """tools/vendor_mathjax.sh writes SHA256SUMS; every listed file is present and intact."""
    sums = (MATHJAX / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert any(line.endswith("./tex-mml-chtml.js") for line in sums)
    fonts = list((MATHJAX / "output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "the CHTML output needs its woff-v2 fonts"
    for line in sums:
        digest, name = line.split(maxsplit=1)
        data = (MATHJAX / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from the vendored file"
    assert CONFIG["sphinx"]["config"]["mathjax_path"].endswith("mathjax/tex-mml-chtml.js")
    assert "book/_vendor" in CONFIG["sphinx"]["config"]["html_extra_path"]


# --------------------------------------------------------------------------------------------------
# The strict build (slow)


@pytest.mark.slow
def test_strict_build_passes_without_warnings(request):
    result = build_book()
    executed = len(re.findall(r": Executed notebook in", result.log))
    cached = len(re.findall(r"Using cached notebook", result.log))
    record_step(request, "book build (strict, in the background)", result.seconds,
                f"{executed} pages executed, {cached} from the execution cache")
    assert result.returncode == 0 and not result.warnings, (
        f"jupyter-book build -W -n --keep-going failed (exit {result.returncode}); "
        "warnings:\n" + "\n".join(result.warnings[:40]) + "\n\nend of the log:\n" + result.log[-3000:]
    )
    notebooks = [d for d in PAGES if page_source(d).suffix == ".ipynb"]
    assert executed + cached == len(notebooks), "each notebook page executes at most once per build"


@pytest.mark.slow
@pytest.mark.parametrize("docname", PAGES)
def test_every_toc_page_is_built(docname):
    html_dir = built_html()
    assert (html_dir / "index.html").is_file()
    assert page_html(docname).is_file(), f"{docname} was not built"


def _script_srcs(html: str) -> list[str]:
    return re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)


@pytest.mark.slow
def test_math_uses_the_vendored_mathjax():
    html_dir = built_html()
    pages_with_math = 0
    for docname in PAGES:
        path = page_html(docname)
        html = path.read_text(encoding="utf-8")
        mathjax = [s for s in _script_srcs(html) if "tex-mml-chtml" in s]
        if 'class="math' not in html:
            continue
        pages_with_math += 1
        assert len(mathjax) == 1, f"{docname}: expected one MathJax script, found {mathjax}"
        src = mathjax[0].split("?")[0]
        assert "://" not in src, f"{docname} loads MathJax from {src}"
        target = (path.parent / src).resolve()
        assert target == (html_dir / "mathjax" / "tex-mml-chtml.js").resolve()
        assert target.is_file()
    assert pages_with_math >= 1, "no page has math; the chapters should"
    fonts = list((html_dir / "mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) >= 20


#: Attributes through which a page loads something (links to other sites are fine).
_LOADS = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\ssrc=\"(https?:)?//[^\"]*\""
    r"|<link\b[^>]*\shref=\"(https?:)?//[^\"]*\"[^>]*>",
    re.IGNORECASE,
)
_CSS_REMOTE = re.compile(r"(?:@import\s+(?:url\()?|url\()\s*['\"]?(?:https?:)?//", re.IGNORECASE)


@pytest.mark.slow
def test_nothing_loads_from_other_sites():
    """No script, style sheet, font or image comes from a CDN: the book works offline."""
    html_dir = built_html()
    offenders = []
    for path in sorted(html_dir.rglob("*.html")):
        html = path.read_text(encoding="utf-8", errors="replace")
        for match in _LOADS.finditer(html):
            tag = match.group(0)
            if re.search(r"rel=\"(canonical|alternate|author|license)\"", tag):
                continue
            offenders.append(f"{path.relative_to(html_dir)}: {tag[:160]}")
    for path in sorted((html_dir / "_static").rglob("*.css")):
        if _CSS_REMOTE.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{path.relative_to(html_dir)} imports from another site")
    assert not offenders, "\n".join(offenders)


@pytest.mark.slow
def test_each_notebook_page_offers_its_ipynb_download():
    html_dir = built_html()
    for docname in PAGES:
        if page_source(docname).suffix != ".ipynb":
            continue
        assert (html_dir / "_sources" / f"{docname}.ipynb").is_file(), f"{docname}.ipynb not downloadable"


@pytest.mark.slow
def test_a_raising_notebook_fails_the_build(tmp_path):
    """The book's configuration turns an exception in a notebook into a failed build."""
    book = tmp_path / "book"
    (book / "book").mkdir(parents=True)
    config = dict(CONFIG)
    config.pop("logo", None)
    config["html"] = {k: v for k, v in CONFIG["html"].items() if k != "favicon"}
    config["sphinx"] = {
        "extra_extensions": CONFIG["sphinx"]["extra_extensions"],
        "config": {k: v for k, v in CONFIG["sphinx"]["config"].items() if k != "html_extra_path"},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/bad\n")
    (book / "book" / "intro.md").write_text("# Intro\n")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Bad"},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": "raise ValueError('this notebook raises on purpose')",
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (book / "book" / "bad.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    returncode, log, _ = run_build(book, timeout=600)
    shutil.rmtree(book / "_build", ignore_errors=True)
    assert returncode != 0, "a notebook that raises must fail the build:\n" + log[-2000:]
    assert "this notebook raises on purpose" in log


@pytest.mark.slow
def test_every_figure_cell_renders_a_figure():
    """A cell with ``mystnb.figure`` metadata yields a figure with an image; with a non-inline matplotlib
    backend (e.g. MPLBACKEND=Agg inherited by the kernel), plt.show() outputs nothing and figures vanish."""
    built_html()
    for docname in PAGES:
        source = page_source(docname)
        if source.suffix != ".ipynb":
            continue
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        names = [c["metadata"]["mystnb"]["figure"].get("name") for c in cells
                 if c.get("metadata", {}).get("mystnb", {}).get("figure")]
        html = page_html(docname).read_text(encoding="utf-8")
        for name in filter(None, names):
            match = re.search(rf'<figure[^>]*id="{re.escape(name)}"[^>]*>(.*?)</figure>', html, re.S)
            assert match, f"{docname}: figure {name!r} is missing from the page"
            assert "<img" in match.group(1), f"{docname}: figure {name!r} has no image"
