"""The built book as a reader sees it, in headless Chromium.

Every page of ``_toc.yml`` is opened once (one browser, one build shared with ``test_book_build.py``)
and checked for: console errors and failed requests, rendered math, figures that load and have alt text,
headings in order, text contrast, launch and download buttons on notebook pages, internal links and
anchors that resolve, and a layout that fits a phone. A screenshot of each page is saved to
``_build/screenshots/<page>.png``. Also: search, favicon, logo, light mode and numbered chapters.

The served book (``site``) and the browser come from ``conftest.py``; axe-core's accessibility check
is ``test_browser_accessibility.py``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from browser_helpers import (
    ROOT,
    SCREENSHOT_DIR,
    contrast_ratio,
    page_slug,
    page_source,
    parse_css_colour,
    serve,
    toc_pages,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if page_source(p).suffix == ".ipynb"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
#: The one setting behind the launch buttons and the edit, issue and repository links.
REPOSITORY = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
LAUNCH_SITES = {
    "Binder": CONFIG["launch_buttons"]["binderhub_url"].rstrip("/") + "/",
    "Colab": CONFIG["launch_buttons"]["colab_url"].rstrip("/") + "/",
}
#: Shown only once an institution sets its hub (hidden while empty).
JUPYTERHUB = (CONFIG["launch_buttons"].get("jupyterhub_url") or "").rstrip("/")
if JUPYTERHUB:
    LAUNCH_SITES["JupyterHub"] = JUPYTERHUB + "/"
#: WCAG 2 AA: 4.5:1 for body text.
MIN_CONTRAST = 4.5

# What a page reports about itself once loaded and typeset (run in the page).
_INSPECT_JS = """
async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(c)) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const textSamples = Array.from(article.querySelectorAll('p, li, td, th, figcaption, dd, dt, a, h1, h2, h3'))
      .filter(e => e.offsetParent !== null && e.textContent.trim().length > 0)
      // the theme's "#" permalinks appear on hover only (reported by axe-core, not enforced here)
      .filter(e => !e.classList.contains('headerlink'))
      .slice(0, 200)
      .map(e => ({tag: e.tagName.toLowerCase(), text: e.textContent.trim().slice(0, 40),
                  color: getComputedStyle(e).color, background: background(e),
                  size: parseFloat(getComputedStyle(e).fontSize),
                  weight: getComputedStyle(e).fontWeight}));
  return {
    title: document.title,
    theme: document.documentElement.dataset.theme || '',
    mode: document.documentElement.dataset.mode || '',
    mathSource: article.querySelectorAll('.math').length,
    mathRendered: article.querySelectorAll('mjx-container').length,
    mathErrors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
    images: imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth, alt: (i.getAttribute('alt') || '').trim(),
                            inArticle: article.contains(i)})),
    headings: Array.from(article.querySelectorAll('h1, h2, h3, h4, h5, h6'))
      .map(h => ({level: +h.tagName[1], text: h.textContent.trim().slice(0, 60)})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    icons: Array.from(document.querySelectorAll('link[rel~="icon"]')).map(l => l.href),
    stylesheets: Array.from(document.querySelectorAll('link[rel="stylesheet"]')).map(l => l.href),
    inlineStyles: Array.from(document.querySelectorAll('style')).map(s => s.textContent.slice(0, 200)),
    textSamples,
    sidebar: Array.from(document.querySelectorAll('.bd-sidebar-primary nav a')).map(a => a.textContent.trim()),
  };
}
"""


# What a reader sees that is not the course: code boxes that scroll sideways on a desktop
# screen, and the tests' machinery (myst-nb's glue calls, nbval's markers) in the page's text.
DESKTOP_WIDTH = 1440
READER_VIEW_JS = """
() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const wide = Array.from(article.querySelectorAll('div.highlight pre'))
    .filter(p => !p.closest('.cell_output, .output'))
    .filter(p => p.scrollWidth - p.clientWidth > 1)
    .map(p => ({overflow: p.scrollWidth - p.clientWidth,
                line: p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')}));
  const text = article.innerText;
  const machinery = ['glue(', 'NBVAL', 'nbval'].filter(word => text.includes(word));
  return {wideCode: wide, machinery};
}
"""


@dataclass
class PageReport:
    docname: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    phone_overflow_px: int = 0
    screenshot: Path | None = None
    #: Code blocks that scroll sideways at desktop width, and test machinery in the text.
    reader_view: dict = field(default_factory=dict)


class BookVisitor:
    """Opens each page once in one browser and keeps what it saw."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.reports: dict[str, PageReport] = {}
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})

    def url(self, docname: str) -> str:
        return urllib.parse.urljoin(self.base_url, f"{docname}.html")

    def visit(self, docname: str) -> PageReport:
        if docname in self.reports:
            return self.reports[docname]
        report = PageReport(docname, self.url(docname))
        page = self.context.new_page()
        page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: report.failed_requests.append(f"{r.url} ({r.failure})"))
        page.on(
            "response",
            lambda r: report.failed_requests.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None,
        )
        try:
            page.goto(report.url, wait_until="load")
            page.wait_for_load_state("networkidle")
            report.info = page.evaluate(_INSPECT_JS)
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            report.screenshot = SCREENSHOT_DIR / f"{page_slug(docname)}.png"
            page.screenshot(path=str(report.screenshot), full_page=True)
            # A desktop screen: from 1440 px the theme's content column has its full width
            # (a 786 px code box: 92 characters with book/_static/code.css; at 1280 px, 79).
            page.set_viewport_size({"width": DESKTOP_WIDTH, "height": 900})
            page.wait_for_timeout(200)
            report.reader_view = page.evaluate(READER_VIEW_JS)
            # A phone: nothing may make the page scroll sideways.
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(200)
            report.phone_overflow_px = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            page.screenshot(path=str(SCREENSHOT_DIR / f"{page_slug(docname)}-phone.png"))
        finally:
            page.close()
        self.reports[docname] = report
        return report


@pytest.fixture(scope="module")
def visitor(browser, site):
    visitor = BookVisitor(browser, site)
    yield visitor
    visitor.context.close()


# --------------------------------------------------------------------------------------------------
# Every page


@pytest.mark.parametrize("docname", PAGES)
def test_page_loads_without_console_errors_or_failed_requests(visitor, docname):
    report = visitor.visit(docname)
    assert not report.console_errors, f"{docname}: console errors:\n" + "\n".join(report.console_errors)
    assert not report.failed_requests, f"{docname}: failed requests:\n" + "\n".join(report.failed_requests)
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0


@pytest.mark.parametrize("docname", PAGES)
def test_math_is_typeset(visitor, docname):
    info = visitor.visit(docname).info
    assert not info["mathErrors"], f"{docname}: MathJax errors {info['mathErrors']}"
    if info["mathSource"] == 0:
        assert info["mathRendered"] == 0
        return
    assert info["mathRendered"] >= info["mathSource"], (
        f"{docname}: {info['mathSource']} math elements but only {info['mathRendered']} typeset by MathJax"
    )


@pytest.mark.parametrize("docname", PAGES)
def test_every_image_loads_and_has_alt_text(visitor, docname):
    images = visitor.visit(docname).info["images"]
    broken = [i["src"] for i in images if i["width"] == 0]
    no_alt = [i["src"] for i in images if not i["alt"]]
    assert not broken, f"{docname}: images that did not load: {broken}"
    assert not no_alt, f"{docname}: images without alt text: {no_alt}"


def test_figures_of_notebook_pages_have_alt_text_from_the_notebook(visitor):
    """myst-nb puts ``mystnb.image.alt`` on each figure; a default alt ("png") would not help anyone."""
    for docname in NOTEBOOK_PAGES:
        figures = [i for i in visitor.visit(docname).info["images"] if i["inArticle"]]
        for image in figures:
            assert len(image["alt"]) >= 15 and not re.fullmatch(r"(png|image|figure|.*\.png)", image["alt"]), (
                f"{docname}: {image['src']} has alt text {image['alt']!r}"
            )


@pytest.mark.parametrize("docname", PAGES)
def test_headings_start_at_h1_and_skip_no_level(visitor, docname):
    headings = visitor.visit(docname).info["headings"]
    assert headings and headings[0]["level"] == 1, f"{docname}: the page should start with one h1: {headings[:3]}"
    assert sum(h["level"] == 1 for h in headings) == 1, f"{docname}: more than one h1"
    for before, after in zip(headings, headings[1:]):
        assert after["level"] <= before["level"] + 1, (
            f"{docname}: heading {after['text']!r} (h{after['level']}) follows "
            f"{before['text']!r} (h{before['level']}) and skips a level"
        )


@pytest.mark.parametrize("docname", PAGES)
def test_text_keeps_the_themes_contrast(visitor, docname):
    info = visitor.visit(docname).info
    assert info["mode"] == "light" or info["theme"] == "light", f"{docname}: not in light mode ({info})"
    own_css = [s for s in info["stylesheets"] if "/_static/" not in s or "custom" in s.rsplit("/", 1)[-1]]
    assert not own_css, f"{docname}: style sheets that are not the theme's or an extension's: {own_css}"
    low = []
    for sample in info["textSamples"]:
        fg, bg = parse_css_colour(sample["color"]), parse_css_colour(sample["background"])
        ratio = contrast_ratio(fg[:3], bg[:3])
        large = sample["size"] >= 24 or (sample["size"] >= 18.66 and int(sample["weight"]) >= 700)
        if ratio < (3.0 if large else MIN_CONTRAST):
            low.append(f"<{sample['tag']}> {sample['text']!r}: {sample['color']} on {sample['background']} = {ratio:.2f}")
    assert info["textSamples"], f"{docname}: no text found"
    assert not low, f"{docname}: text below WCAG AA contrast:\n" + "\n".join(low[:20])


@pytest.mark.parametrize("docname", PAGES)
def test_page_fits_a_phone_screen(visitor, docname):
    overflow = visitor.visit(docname).phone_overflow_px
    assert overflow <= 1, f"{docname} scrolls sideways by {overflow}px on a 390px-wide screen"


@pytest.mark.parametrize("docname", PAGES)
def test_page_shows_no_test_machinery_and_no_code_scrolls_sideways(visitor, docname):
    """On a desktop screen every code box fits its lines (88 characters); no glue( or NBVAL."""
    view = visitor.visit(docname).reader_view
    assert not view["machinery"], f"{docname} shows test machinery: {view['machinery']}"
    wide = [f"{w['overflow']}px: {w['line'][:100]}" for w in view["wideCode"]]
    assert not wide, f"{docname}: code blocks scroll sideways on a desktop screen:\n" + "\n".join(wide)


def test_reader_view_check_catches_wide_code_and_machinery(browser, tmp_path):
    """The check above can fail: a page with a long line and a glue call is caught."""
    long_line = "x = [" + ", ".join(["123456789"] * 20) + "]"
    (tmp_path / "page.html").write_text(
        "<html><body><article class='bd-article' style='width: 700px'>"
        f"<div class='highlight'><pre>{long_line}\nglue('n', 3, display=False)</pre></div>"
        "<div class='highlight'><pre>print(1)</pre></div></article></body></html>"
    )
    with serve(tmp_path) as base:
        page = browser.new_page()
        try:
            page.goto(base + "page.html")
            view = page.evaluate(READER_VIEW_JS)
        finally:
            page.close()
    assert view["machinery"] == ["glue("]
    assert len(view["wideCode"]) == 1 and view["wideCode"][0]["line"] == long_line


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


_checked: dict[str, str | None] = {}
_anchors: dict[str, set[str]] = {}


def _check_link(url: str) -> str | None:
    """None if ``url`` (same site) resolves, including its #fragment; else what is wrong."""
    if url in _checked:
        return _checked[url]
    target, _, fragment = url.partition("#")
    problem = None
    try:
        if target not in _anchors:
            with urllib.request.urlopen(target, timeout=10) as response:
                body = response.read()
                kind = response.headers.get_content_type()
            parser = _Anchors()
            if kind == "text/html":
                parser.feed(body.decode("utf-8", errors="replace"))
            _anchors[target] = parser.ids
        if fragment and urllib.parse.unquote(fragment) not in _anchors[target]:
            problem = f"no element with id {fragment!r}"
    except urllib.error.HTTPError as error:
        problem = f"HTTP {error.code}"
    except OSError as error:
        problem = str(error)
    _checked[url] = problem
    return problem


@pytest.mark.parametrize("docname", PAGES)
def test_internal_links_and_anchors_resolve(visitor, site, docname):
    links = {link for link in visitor.visit(docname).info["links"] if link.startswith(site)}
    assert links, f"{docname}: no internal links at all?"
    broken = {link: problem for link in sorted(links) if (problem := _check_link(link))}
    assert not broken, f"{docname}: broken internal links:\n" + "\n".join(f"{k}: {v}" for k, v in broken.items())


# --------------------------------------------------------------------------------------------------
# Notebook pages and the book as a whole


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_notebook_page_has_launch_and_download_buttons(visitor, site, docname):
    links = visitor.visit(docname).info["links"]
    source = f"{docname}.ipynb"
    owner_repo = REPOSITORY.split("github.com/", 1)[1]
    for name, prefix in LAUNCH_SITES.items():
        hits = [link for link in links if link.startswith(prefix)]
        assert hits, f"{docname}: no {name} launch button"
        assert any(owner_repo in h and source in urllib.parse.unquote(h) for h in hits), hits
    if not JUPYTERHUB:
        assert not any("jupyterhub" in link.lower() or "hub/user-redirect" in link
                       for link in links), f"{docname}: a JupyterHub button without a hub"
    download = urllib.parse.urljoin(site, f"_sources/{source}")
    assert download in links, f"{docname}: no 'download .ipynb' button"
    with urllib.request.urlopen(download, timeout=10) as response:
        notebook = json.loads(response.read())
    assert notebook["nbformat"] == 4 and notebook["cells"]
    edit = f"{REPOSITORY}/edit/{BRANCH}/{source}"
    assert edit in links, f"{docname}: no 'edit this page' button"
    assert REPOSITORY in links, "no repository button"
    assert any(link.startswith(f"{REPOSITORY}/issues") for link in links), "no issue button"


def test_search_finds_a_chapter_keyword(browser, site):
    page = browser.new_page()
    try:
        page.goto(urllib.parse.urljoin(site, "search.html?q=gradient"), wait_until="load")
        page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    finally:
        page.close()
    assert any("ch01_learning_from_data" in hit for hit in hits), f"search for 'gradient' found {hits}"


def test_chapters_are_numbered_in_the_navigation(visitor):
    sidebar = visitor.visit(PAGES[0]).info["sidebar"]
    chapters = [p for p in PAGES if re.match(r"book/ch\d\d_", p)]
    numbered = [text for text in sidebar if re.match(r"^\d+\.\s", text)]
    assert len(numbered) >= len(chapters), f"chapters in the sidebar are not numbered: {sidebar}"
    assert not any(re.match(r"^\d+\.\s", t) for t in sidebar if t in ("Glossary", "Grading with nbgrader"))


def test_favicon_and_logo(visitor, site):
    info = visitor.visit(PAGES[0]).info
    assert info["icons"], "no favicon link"
    for icon in info["icons"]:
        assert icon.startswith(site) and _check_link(icon) is None
    logos = [i for i in info["images"] if "logo" in i["src"] and i["src"].startswith(site)]
    assert logos and all(i["width"] > 0 and i["alt"] for i in logos)


def test_glossary_defines_the_course_terms(visitor):
    page = "book/glossary"
    assert page in PAGES
    html = (ROOT / "_build" / "html" / f"{page}.html").read_text(encoding="utf-8")
    for term in ("neuron", "weight", "bias", "activation-function", "loss", "mean-squared-error",
                 "gradient-descent", "learning-rate", "epoch", "batch", "overfitting", "training-set",
                 "validation-set", "test-set", "regression", "classification", "logistic-regression",
                 "sigmoid", "threshold", "parameter", "dense-layer"):
        assert f'id="term-{term}"' in html, f"the glossary does not define {term!r}"
