"""Interactive figures in the book, offline: the pages' side of ``backprop.labs.explore``.

A twin figure is one notebook output with four representations: Plotly's
JSON (for JupyterLab), an HTML ``div`` with the figure's JSON beside it, a
static PNG and plain text. In the HTML book this extension

* keeps the static PNG next to the ``div`` (myst-nb would keep only the
  HTML): it stays visible until the figure is drawn, so readers without
  JavaScript, and print, still get the figure;
* serves plotly.js from the book itself (``_static/plotly.min.js``, copied
  from the ``plotly`` package, the version the figures were made with) and
  adds it, with a small loader (``explore/bp-explore.js``) and its CSS,
  only to the pages that have a twin;
* silences exactly one warning: myst-nb's "skipping unknown output mime
  type" for Plotly's JSON, which the book does not need (it draws the
  ``div``). Any other unknown mime type still fails the strict build.

Other builders (LaTeX/PDF) pick the PNG, as myst-nb does by default.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PLOTLY_MIME = "application/vnd.plotly.v1+json"
MARKER = 'class="bp-explore"'
HERE = Path(__file__).parent / "explore"
ASSETS = ("bp-explore.js", "bp-explore.css")
SILENCED = f"skipping unknown output mime type: {PLOTLY_MIME}"


class _SilencePlotlyMime(logging.Filter):
    """Drop myst-nb's warning for the Plotly mime type, and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(SILENCED)


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package ({path})")
    return path


def _is_twin(bundle) -> bool:
    for child in bundle.children:
        if child.get("mime_type") == "text/html":
            return any(MARKER in node.astext() for node in child.findall(nodes.raw))
    return False


class KeepStaticFallback(SphinxPostTransform):
    """Before myst-nb picks one representation, put the PNG beside the HTML."""

    default_priority = 3  # myst-nb's SelectMimeType runs at 4
    formats = ("html",)

    def run(self, **kwargs) -> None:
        def is_bundle(node):
            return (isinstance(node, nodes.container)
                    and node.get("nb_element", "") == "mime_bundle")

        for bundle in list(self.document.findall(is_bundle)):
            if not _is_twin(bundle):
                continue
            by_type = {c["mime_type"]: c for c in bundle.children}
            wrap = nodes.container(classes=["bp-explore-wrap"])
            wrap.extend(by_type["text/html"].children)
            if "image/png" in by_type:
                static = nodes.container(classes=["bp-explore-static"])
                static.extend(by_type["image/png"].children)
                wrap.append(static)
            bundle.replace_self(wrap)


def _page_assets(app, pagename, templatename, context, doctree) -> None:
    if doctree is None or not any(
            "bp-explore-wrap" in n.get("classes", []) for n in doctree.findall(nodes.container)):
        return
    app.add_js_file("plotly.min.js", priority=400)
    app.add_js_file("explore/bp-explore.js", priority=410)
    app.add_css_file("explore/bp-explore.css")


def _copy_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    (static / "explore").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_plotly_js(), static / "plotly.min.js")
    for name in ASSETS:
        shutil.copyfile(HERE / name, static / "explore" / name)


def setup(app):
    _plotly_js()  # fail at once, with the path, if plotly is not installed
    silence = _SilencePlotlyMime()
    # Sphinx's handlers are on the "sphinx" logger; myst-nb logs through
    # per-document children of it. A handler filter sees them all, and must
    # come before the filter that turns warnings into errors.
    for handler in logging.getLogger("sphinx").handlers:
        if not any(isinstance(f, _SilencePlotlyMime) for f in handler.filters):
            handler.filters.insert(0, silence)
    app.add_post_transform(KeepStaticFallback)
    app.connect("html-page-context", _page_assets)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
