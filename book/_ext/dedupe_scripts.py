"""Drop duplicated ``<script>`` tags from every HTML page of the book.

Under Sphinx 7.4, sphinx-thebe 0.3.1 registers its inline configuration script
(``const THEBE_JS_URL = ...``) twice, so each page declares the same ``const`` twice
and the browser console reports ``SyntaxError: Identifier 'THEBE_JS_URL' has already
been declared``. (Sphinx's own de-duplication misses it: one copy has the file name ``None``, the
other ``''``.) This extension keeps the first of identical script entries (same
file, same attributes, same inline body) and drops the rest.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    # The registry copy of an inline script has filename None, the builder's copy ''.
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    # Late priority: after every extension (sphinx-thebe, myst-nb, the theme) has added its scripts.
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
