"""The glossary and the pages' links to it (issue 13).

* Every ``{term}`` role in the book names a glossary entry, matched as Sphinx matches it: the exact
  term first, then case-insensitively (Sphinx 7.4, ``StandardDomain._resolve_term_xref``); there is no
  plural rule, so a plural links with an explicit target, ``{term}`weights <weight>```. Whitespace inside
  a role, a line break included, counts as one space.
* Every entry is linked from at least one page other than the glossary itself: a term that no page uses
  does not belong in the course's glossary, and a page that uses a term links it at its first use.
* The entries are written in the order in which ``:sorted:`` shows them, so that the source reads the same.

The strict book build (``-n``) also fails on a dangling ``{term}``; this test says which page and term at
once, without a build.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import ROOT

GLOSSARY = ROOT / "book" / "glossary.md"
ROLE = re.compile(r"(?<!`)\{term\}`([^`]+)`")  # not inside inline code: `{term}`
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)


def glossary_terms(text: str) -> list[str]:
    """The terms of the ``{glossary}`` directive in a MyST file, in source order.

    A term is a line that starts in column 0 inside the directive; its definition is indented below it.
    Several term lines in a row before one definition are synonyms, each an entry of its own.
    """
    match = re.search(r"^```\{glossary\}\n(?P<body>.*?)^```", text, re.S | re.M)
    assert match, "no ```{glossary} directive found"
    return [line.strip() for line in match["body"].splitlines()
            if line.strip() and not line[0].isspace() and not line.startswith(":")]


def role_targets(text: str) -> list[str]:
    """The target of every ``{term}`` role in a text: the part in <...> if given, else the text."""
    targets = []
    for role in ROLE.finditer(text):
        explicit = EXPLICIT.match(role[1])
        target = explicit["target"] if explicit else role[1]
        targets.append(" ".join(target.split()))
    return targets


def resolves(target: str, terms: list[str]) -> bool:
    """Sphinx's rule: an exact match, else a case-insensitive one."""
    return target in terms or target.lower() in {t.lower() for t in terms}


def page_texts() -> dict[str, str]:
    """The prose of every page of the book: markdown cells of notebooks and MyST files (glossary included)."""
    texts = {}
    for path in sorted((ROOT / "book").rglob("*")):
        if "_build" in path.parts or path.name.startswith("."):
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        elif path.suffix == ".md":
            text = path.read_text(encoding="utf-8")
        else:
            continue
        texts[path.relative_to(ROOT).as_posix()] = text
    return texts


TERMS = glossary_terms(GLOSSARY.read_text(encoding="utf-8"))
TEXTS = page_texts()
GLOSSARY_PAGE = GLOSSARY.relative_to(ROOT).as_posix()


def test_glossary_has_the_course_terms():
    expected = {"activation function", "Adam", "backpropagation", "ReLU", "tanh", "mean absolute error",
                "Huber loss", "minibatch", "kernel", "hidden layer", "loss", "epoch", "batch"}
    assert expected <= set(TERMS), sorted(expected - set(TERMS))
    assert len({t.lower() for t in TERMS}) == len(TERMS), "two entries differ only in case"


@pytest.mark.parametrize("page", sorted(TEXTS))
def test_every_term_role_names_an_entry(page):
    dangling = sorted({t for t in role_targets(TEXTS[page]) if not resolves(t, TERMS)})
    assert not dangling, (
        f"{page}: {{term}} roles without a glossary entry: {dangling}; add the entry to book/glossary.md "
        "or link a plural or inflected form with an explicit target, {term}`weights <weight>`")


def test_every_entry_is_linked_from_a_page():
    linked = {t.lower() for page, text in TEXTS.items() if page != GLOSSARY_PAGE for t in role_targets(text)}
    unlinked = [t for t in TERMS if t.lower() not in linked]
    assert not unlinked, f"glossary entries that no page links with {{term}}: {unlinked}"


def test_chapters_1_to_4_link_the_glossary():
    for key in ("ch01_learning_from_data", "ch02_neurons", "ch03_activations", "ch04_sgd"):
        assert role_targets(TEXTS[f"book/{key}/index.ipynb"]), f"{key} links no glossary term"


def test_glossary_source_is_in_sorted_order():
    def key(term):
        return unicodedata.normalize("NFD", term.lower())

    assert TERMS == sorted(TERMS, key=key), "write the entries in the order that :sorted: shows them"


def test_the_rules_can_fail():
    text = """```{glossary}
:sorted:

weight
  A number.

bias
  Another number.
```
"""
    terms = glossary_terms(text)
    assert terms == ["weight", "bias"]
    assert terms != sorted(terms)
    page = "the {term}`Weights <weight>` and the {term}`bias`, then {term}`weights`, {term}`Bias`,\n" \
           "{term}`a\n  long <Weight>` and {term}`kernel`; the `{term}` role."
    targets = role_targets(page)
    assert targets == ["weight", "bias", "weights", "Bias", "Weight", "kernel"]
    assert [resolves(t, terms) for t in targets] == [True, True, False, True, True, False]
