"""Serve MathJax from the built book itself, so that math typesets offline.

The copy comes with the Python install: ``django-static-mathjax`` (a
requirement of the book; plain static files, no Django needed) ships
MathJax 3.2.2. When the build starts, this extension points Sphinx's
``mathjax_path`` at ``_static/mathjax/tex-svg-full.js``; when the build
finishes, it copies MathJax there. SVG output needs no web fonts, so pages
typeset the same from a server, an intranet or a ``file://`` URL.

If the package is missing, the book falls back to the CDN and says so, once,
in the build log (as information, not a warning, so that a strict build
still passes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

ENTRY = "tex-svg-full.js"
CDN = f"https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/{ENTRY}"


def _bundle() -> Path | None:
    try:
        import mathjax  # django-static-mathjax
    except ImportError:
        return None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    return es5 if (es5 / ENTRY).is_file() else None


def _configure(app, config) -> None:
    if _bundle() is None:
        config.mathjax_path = CDN
        logger.info(
            "offline_mathjax: django-static-mathjax is not installed; the book "
            "loads MathJax from the CDN (%s) and needs a connection to typeset "
            "math. `make setup` installs it.", CDN)
        return
    config.mathjax_path = f"mathjax/{ENTRY}"


def _copy(app, exception) -> None:
    bundle = _bundle()
    if exception is not None or bundle is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / ENTRY).is_file():
        shutil.copytree(bundle, target, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
