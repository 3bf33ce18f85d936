"""The ipywidgets feedback panel shown by ``check``.

The panel is displayed with a short deterministic ``text/plain`` instead of
the widget's repr. nbval skips ``application/vnd.jupyter.widget-view+json``
(model ids are random) and compares ``text/plain``, so the check cells need
no ``nbval-ignore-output`` tag.
"""

from __future__ import annotations

import html

from backprop.grade.checks.core import Result

_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "not_attempted": "#6e7781",
            "error": "#bc4c00", "timeout": "#bc4c00", "invalid": "#bc4c00"}


def panel_html(res: Result) -> str:
    colour = _COLOURS.get(res.status, "#000")
    label = res.status.replace("_", " ")
    head = (f'<div style="border-left:4px solid {colour};padding:4px 8px">'
            f'<b>{html.escape(res.question)} {html.escape(res.title)}</b>: '
            f'<span style="color:{colour};font-weight:bold">{label}</span> '
            f'({res.points:g}/{res.max_points:g} points)')
    if res.status not in ("passed", "failed") or not res.cases:
        return head + f"<br>{html.escape(res.message)}</div>"
    rows = []
    for c in res.cases:
        mark = "&#10004;" if c.passed else "&#10008;"
        col = _COLOURS["passed"] if c.passed else _COLOURS["failed"]
        hint = f'<br><i>hint: {html.escape(c.hint)}</i>' if c.hint else ""
        rows.append(f'<tr><td style="color:{col}">{mark}</td><td>{html.escape(c.name)}</td>'
                    f'<td style="text-align:left">{html.escape(c.detail)}{hint}</td></tr>')
    return head + '<table style="margin-top:4px">' + "".join(rows) + "</table></div>"


def show_panel(res: Result) -> None:
    """Display the panel (no-op outside IPython)."""
    from IPython import get_ipython
    if get_ipython() is None:
        return
    import ipywidgets as widgets
    from IPython.display import display

    box = widgets.VBox([widgets.HTML(panel_html(res))])
    bundle = box._repr_mimebundle_()
    bundle["text/plain"] = f"[feedback panel: {res.question} {res.status.replace('_', ' ')}]"
    display(bundle, raw=True)
