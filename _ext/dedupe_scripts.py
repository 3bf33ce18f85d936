"""Drop duplicate <script> tags from the HTML pages.

Under Jupyter Book 1, sphinx-thebe and sphinx-togglebutton register their
inline configuration scripts twice (their ``env-before-read-docs`` handlers
run for each read pass, once with filename None and once with ""). The second ``const THEBE_JS_URL = ...`` is a
SyntaxError in the browser console of every page. Identical scripts are
removed here, keeping the first of each.
"""

from __future__ import annotations


def _key(script) -> tuple:
    # An inline script is registered once with filename None and once with
    # "": the same script.
    attrs = tuple(sorted((k, str(v)) for k, v in script.attributes.items()))
    return (str(script.filename or ""), script.priority, attrs)


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: handlers that run later (MathJax) append to this same list.
    scripts[:] = unique


def setup(app):
    # Early: html-page-context stops at the first handler that returns a value.
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
