"""axe-core's accessibility check of every page of the built book, in headless Chromium.

With axe-core available offline (``AXE_CORE_JS=/path/to/axe.min.js``, which ``.ci/run`` fetches, or
``node_modules/axe-core``), every page of ``_toc.yml`` is checked against WCAG 2 A and AA and axe's best
practices. All findings go to ``_build/accessibility.md``; the test fails on any serious or critical
finding in the book's own content (the page's article), and reports the theme's chrome only.

A module of its own, so that under xdist it runs beside ``test_browser_book.py`` once the book is built.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

from browser_helpers import ROOT, toc_pages
from conftest import unavailable

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = toc_pages()

_AXE_JS = """
async () => {
  const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact,
    targets: v.nodes.map(n => n.target.join(' ')),
    // "content" when a node lies in the page's article (the book's text), else the theme's chrome.
    inContent: v.nodes.some(n => { const e = document.querySelector(n.target[0]);
                                   return e && e.closest('article.bd-article') !== null; }),
  }));
}
"""


def _axe_script() -> Path | None:
    candidates = [os.environ.get("AXE_CORE_JS", ""), ROOT / "node_modules" / "axe-core" / "axe.min.js"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def test_axe_accessibility_report(browser, site):
    """Run axe-core on every page when it is available offline; write _build/accessibility.md."""
    script = _axe_script()
    if script is None:
        unavailable("axe-core not available (set AXE_CORE_JS to axe.min.js, e.g. from `npm pack axe-core`; "
                    ".ci/run fetches it)")
    rows = []
    page = browser.new_page()
    try:
        for docname in PAGES:
            page.goto(urllib.parse.urljoin(site, f"{docname}.html"), wait_until="load")
            page.add_script_tag(path=str(script))
            violations = page.evaluate(_AXE_JS)
            for v in violations:
                rows.append((docname, v["id"], v["impact"], len(v["targets"]),
                             "content" if v["inContent"] else "theme", "; ".join(v["targets"][:3])))
    finally:
        page.close()
    lines = ["| page | rule | impact | nodes | where | examples |", "|---|---|---|---|---|---|"]
    lines += [f"| {d} | {r} | {i} | {n} | {w} | `{e[:120]}` |" for d, r, i, n, w, e in rows]
    report = ROOT / "_build" / "accessibility.md"
    report.write_text("# axe-core findings\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    # The theme's chrome is reported only; the book's own content must have no serious problem.
    serious = [row for row in rows if row[4] == "content" and row[2] in ("serious", "critical")]
    assert not serious, f"serious accessibility problems in the book's content: {serious}"
