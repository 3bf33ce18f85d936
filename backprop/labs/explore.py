"""Kernel-free twins of the widgets: precomputed figures that run in a browser.

A widget recomputes when a reader moves it, so it needs a kernel. Its *twin*
is a Plotly figure holding the widget's results over a grid of its settings,
computed in advance by the same labs code, with Plotly's own controls to move
through them: it works in the HTML book with no kernel and no network, and in
JupyterLab through the Plotly extension. :func:`grid_figure` builds one:

* a **slider** over one setting. Each step *restyles* the traces (replaces
  their data); frames and ``animate`` are not used (they throw in the
  browser on the first drag);
* optionally a **dropdown** over a second setting (or over combinations of
  several). Each choice has its own copy of the traces and its own slider,
  and the dropdown switches which copy and which slider are visible, so each
  slider always shows the state it last set.

Every state must have the same traces (same count and types); only their
data changes. Traces that never change (the data points, say) go in
``static``. A figure with no dropdown may also change layout items per step
(``layout_at``, e.g. annotations); with a dropdown it may not, because a
dropdown button cannot know where the slider it reveals was left.

:func:`show` displays the figure as one output with four representations:
Plotly's JSON (JupyterLab renders it live), an HTML ``div`` (the book's
``_ext/interactive_figures.py`` draws it with the book's own copy of
plotly.js), a static PNG (print, PDF, readers without JavaScript; JupyterLab
shows it until the pointer enters the figure) and a line of plain text.

Stored outputs are compared by nbval on other CPUs, so numbers are stored at
a fixed, CPU-independent precision: float arrays as float32 (``"f4"``) or
``quantised`` to uint8 over a stated range, both as base64 typed arrays
(Plotly's ``{"dtype", "bdata"}`` form), and the ``div`` id is a hash of the
figure, so re-running gives the same output byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Quantised", "Rounded", "typed_array", "decode", "grid_figure",
           "figure_json", "html_snippet", "show", "compare", "PLOTLY_MIME", "CONFIG",
           "RTOL"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Plotly's own options for every twin: no logo, no link to a web service,
#: no mode bar (its buttons would sit on the title; hover still works);
#: responsive to the column width.
CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
          "displayModeBar": False}


@dataclass(frozen=True)
class Quantised:
    """Values in ``[lo, hi]`` stored as uint8 (0 to 255): 256 levels.

    For a surface whose colour is what the reader looks at: a 31 x 31 map
    takes 961 bytes instead of 3,844 as float32. Hover text should then
    come from elsewhere (the exact values at the data points, say).
    """

    values: np.ndarray
    lo: float = 0.0
    hi: float = 1.0

    def codes(self) -> np.ndarray:
        v = np.asarray(self.values, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError("Quantised: values must be finite")
        scaled = (np.clip(v, self.lo, self.hi) - self.lo) / (self.hi - self.lo)
        return np.rint(scaled * 255).astype(np.uint8)


@dataclass(frozen=True)
class Rounded:
    """Values stored as float64 rounded to ``digits`` significant digits.

    For data whose range float32 cannot hold (a gradient norm of 1e-49 is
    0 in float32) or that hover text shows to more digits.
    """

    values: np.ndarray
    digits: int = 6

    def rounded(self) -> np.ndarray:
        v = np.asarray(self.values, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError("Rounded: values must be finite")
        return np.array([float(f"{x:.{self.digits}g}") for x in v.ravel()]).reshape(v.shape)


def typed_array(values) -> dict:
    """A NumPy array (or :class:`Quantised`) as Plotly's base64 typed array.

    Floats are stored as float32, integers as int32, quantised values as
    uint8; a 2-D array carries its ``shape`` (Plotly reads it for ``z``).
    """
    if isinstance(values, Quantised):
        arr, dtype = values.codes(), "u1"
    elif isinstance(values, Rounded):
        arr, dtype = values.rounded().astype("<f8"), "f8"
    else:
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError("typed_array: float values must be finite "
                                 "(Plotly's typed arrays have no NaN policy here)")
            tiny = np.abs(arr[arr != 0])
            if tiny.size and (tiny.min() < 1e-30 or tiny.max() > 1e30):
                raise ValueError("typed_array: float32 cannot hold values from "
                                 f"{tiny.min():.1e} to {tiny.max():.1e}; wrap them in Rounded")
            arr, dtype = arr.astype("<f4"), "f4"
        elif arr.dtype.kind in "iub":
            arr, dtype = arr.astype("<i4"), "i4"
        else:
            raise TypeError(f"typed_array: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"typed_array: expected a 1-D or 2-D array, got shape {arr.shape}")
    spec = {"dtype": dtype,
            "bdata": base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")}
    if arr.ndim == 2:
        spec["shape"] = f"{arr.shape[0]}, {arr.shape[1]}"
    return spec


def decode(spec) -> np.ndarray:
    """The array a :func:`typed_array` spec holds (codes, for uint8); for tests."""
    dtypes = {"f4": "<f4", "f8": "<f8", "i4": "<i4", "u1": "u1"}
    arr = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtypes[spec["dtype"]])
    if "shape" in spec:
        arr = arr.reshape([int(s) for s in spec["shape"].split(",")])
    return arr


def _encode(obj):
    """JSON-ready copy: arrays become typed arrays, NumPy scalars Python numbers."""
    if isinstance(obj, (np.ndarray, Quantised, Rounded)):
        return typed_array(obj)
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if not np.isfinite(obj):
            raise ValueError(f"figure values must be finite, got {obj}")
        return float(f"{obj:.6g}")   # six significant digits: CPU-independent
    return obj


def _flatten(trace: dict, prefix="") -> dict:
    """``{"marker": {"color": c}}`` -> ``{"marker.color": c}`` (Plotly's attribute paths)."""
    out = {}
    for key, value in trace.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _same(a, b) -> bool:
    return json.dumps(_encode(a), sort_keys=True) == json.dumps(_encode(b), sort_keys=True)


def _restyle_args(states: list[list[dict]]) -> tuple[list[str], list[list[dict]]]:
    """The attribute paths that differ between states, and each state's values of them."""
    n_traces = len(states[0])
    for k, traces in enumerate(states):
        if len(traces) != n_traces:
            raise ValueError(f"every state must draw the same number of traces: state 0 "
                             f"draws {n_traces}, state {k} draws {len(traces)}")
        for t0, t in zip(states[0], traces):
            if t.get("type") != t0.get("type"):
                raise ValueError(f"state {k} changes a trace's type from "
                                 f"{t0.get('type')!r} to {t.get('type')!r}")
    flat = [[_flatten(t) for t in traces] for traces in states]
    paths = sorted({p for traces in flat for t in traces for p in t})
    varying = [p for p in paths
               if any(not _same(flat[0][i].get(p), traces[i].get(p))
                      for traces in flat[1:] for i in range(n_traces))]
    for p in varying:
        for i in range(n_traces):
            sets = [p in traces[i] for traces in flat]
            if any(sets) and not all(sets):
                k = sets.index(False)
                raise ValueError(f"attribute {p!r} changes between states, so a trace that "
                                 f"sets it must set it in every state; state {k} trace {i} "
                                 "does not")
    # a trace that never sets a changing attribute gets None: Plotly's default
    values = [[{p: t.get(p) for p in varying} for t in traces] for traces in flat]
    return varying, values


def grid_figure(draw, steps, *, groups=None, static=(), layout=None,
                layout_at=None, slider_label="", menu_label="", default=None,
                menu_y=1.0, slider_pad=40, hide_static=None):
    """A Plotly figure (as a dict) that moves through precomputed states.

    draw: ``draw(group, step) -> list of trace dicts``, the traces of one
        state (``group`` is ``None`` without a dropdown). Arrays in them
        are stored as typed arrays (float32, or uint8 via :class:`Quantised`).
    steps: ``[(label, step), ...]``, the slider's positions in order.
    groups: ``[(label, group), ...]`` for a dropdown, or ``None``.
    static: traces drawn once, in every state (on top of the others).
    hide_static: ``hide_static(group) -> indices into static`` of the static
        traces that dropdown choice hides (a choice that redraws a panel hides
        its shared copy); all are shown by default.
    layout: Plotly layout dict (axes, title, size...).
    layout_at: ``layout_at(step) -> dict`` of layout items for that step
        (only without ``groups``), applied with the slider's ``update``.
    default: ``(group, step)`` shown first; the first of each by default.
    menu_y: where the dropdown's bottom edge sits, in plot-area heights
        (1.0: on top of the plot area; leave the layout a top margin for it).
    slider_pad: pixels between the plot area's bottom edge (where the x axis
        title sits) and the slider. With a dropdown the bottom margin is made
        at least ``slider_pad + 100`` pixels, so the slider is not clipped.
    Returns the figure as a plain dict ``{"data", "layout", "config"}``.
    """
    if not steps:
        raise ValueError("grid_figure: steps must name at least one slider position")
    if groups is not None and layout_at is not None:
        raise ValueError("grid_figure: layout_at needs a figure without a dropdown "
                         "(a dropdown cannot restore another slider's layout)")
    group_list = groups if groups is not None else [("", None)]
    step_keys = [s for _, s in steps]
    group_keys = [g for _, g in group_list]
    g_default, s_default = default if default is not None else (group_keys[0], step_keys[0])
    if s_default not in step_keys:
        raise ValueError(f"default step {s_default!r} is not one of the steps {step_keys}")
    if g_default not in group_keys:
        raise ValueError(f"default group {g_default!r} is not one of the groups {group_keys}")
    active = step_keys.index(s_default)

    data, sliders, spans = [], [], []
    for gi, (_, group) in enumerate(group_list):
        states = [list(draw(group, step)) for step in step_keys]
        varying, values = _restyle_args(states)
        first = len(data)
        indices = list(range(first, first + len(states[0])))
        for trace in states[active]:
            data.append(dict(trace, visible=(group == g_default)))
        spans.append(indices)
        slider_steps = []
        for (label, step), state in zip(steps, values):
            restyle = {p: [t[p] for t in state] for p in varying}
            if layout_at is not None:
                slider_steps.append({"label": str(label), "method": "update",
                                     "args": [restyle, layout_at(step), indices]})
            else:
                slider_steps.append({"label": str(label), "method": "restyle",
                                     "args": [restyle, indices]})
        sliders.append({"active": active, "steps": slider_steps,
                        "visible": group == g_default,
                        "currentvalue": {"prefix": slider_label + " "},
                        "pad": {"t": slider_pad}, "x": 0.0, "len": 1.0})
    n_dynamic = len(data)
    hidden = (lambda group: ()) if hide_static is None else hide_static
    data.extend(dict(t, visible=False) if i in set(hidden(g_default)) else t
                for i, t in enumerate(static))

    fig_layout = dict(layout or {})
    if layout_at is not None:
        fig_layout.update(layout_at(s_default))
    fig_layout["sliders"] = sliders
    if groups is not None:
        # Plotly 7.1 throws on showing a hidden heat map or contour when the
        # margins may grow (it redraws before computing the new trace): a
        # figure with a dropdown keeps the margins its layout gives.
        margin = {**fig_layout.get("margin", {}), "autoexpand": False}
        margin["b"] = max(margin.get("b", 80), slider_pad + 100)
        fig_layout["margin"] = margin
        buttons = []
        for gi, (label, _) in enumerate(group_list):
            off = set(hidden(group_keys[gi]))
            visible = ([i in spans[gi] for i in range(n_dynamic)]
                       + [i not in off for i in range(len(static))])
            shown = {f"sliders[{k}].visible": k == gi for k in range(len(group_list))}
            buttons.append({"label": str(label), "method": "update",
                            "args": [{"visible": visible}, shown]})
        fig_layout["updatemenus"] = [{
            "type": "dropdown", "buttons": buttons, "active": group_keys.index(g_default),
            "x": 0.0, "xanchor": "left", "y": menu_y, "yanchor": "bottom",
            "pad": {"b": 8}, "showactive": True}]
        if menu_label:
            fig_layout.setdefault("annotations", [])
            fig_layout["annotations"] = list(fig_layout["annotations"]) + [{
                "text": menu_label, "showarrow": False, "xref": "paper",
                "yref": "paper", "x": 0.0, "y": menu_y, "xanchor": "right",
                "yanchor": "bottom", "yshift": 12, "xshift": -4}]
    return {"data": _encode(data), "layout": _encode(fig_layout), "config": dict(CONFIG)}


def figure_json(fig: dict) -> str:
    """The figure as compact JSON with sorted keys: the same bytes on every run."""
    return json.dumps(fig, sort_keys=True, separators=(",", ":"), allow_nan=False)


def html_snippet(fig: dict, alt: str) -> str:
    """The book's representation: an empty div and the figure's JSON beside it."""
    text = figure_json(fig)
    fid = "bp-explore-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    # "</" cannot end the script element early: JSON allows "<\/"
    payload = text.replace("</", "<\\/")
    height = fig["layout"].get("height", 450)
    return (f'<div class="bp-explore" id="{fid}" style="min-height:{height}px" '
            f'role="figure" aria-label="{html.escape(alt, quote=True)}"></div>\n'
            f'<script type="application/json" class="bp-explore-spec" '
            f'data-for="{fid}">{payload}</script>\n')


def show(fig: dict, png: bytes, alt: str | None = None) -> None:
    """Display the twin: Plotly JSON, the book's HTML, the static PNG, plain text.

    ``png`` is the static picture (the widget's own figure at the default
    settings, e.g. from :func:`backprop.labs.style.png_bytes`); ``alt``
    labels the interactive figure for screen readers (default: its title;
    the static picture's alt text is the cell's ``mystnb.image.alt``).
    """
    from IPython.display import display

    if not isinstance(png, (bytes, bytearray)) or not bytes(png).startswith(b"\x89PNG"):
        raise TypeError("show: png must be the PNG bytes of the static figure")
    title = fig["layout"].get("title", {})
    title = title.get("text", "") if isinstance(title, dict) else str(title)
    alt = alt or title
    if not alt or not isinstance(alt, str):
        raise ValueError("show: give the figure a title or an alt text")
    bundle = {
        PLOTLY_MIME: fig,
        "text/html": html_snippet(fig, alt),
        "image/png": base64.b64encode(bytes(png)).decode("ascii"),
        "text/plain": f"<interactive figure: {title or alt}>",
    }
    display(bundle, raw=True)


#: How far a re-run's twin may differ from the stored one (see :func:`compare`).
RTOL = 1e-3


def _compare(a, b, path, problems):
    if len(problems) >= 10:
        return
    if isinstance(a, dict) and "bdata" in a and "dtype" in a:
        if not (isinstance(b, dict) and b.get("dtype") == a["dtype"]
                and b.get("shape") == a.get("shape")):
            problems.append(f"{path}: typed array {a['dtype']} {a.get('shape')} became "
                            f"{b.get('dtype') if isinstance(b, dict) else type(b).__name__}")
            return
        x, y = decode(a).astype(np.float64), decode(b).astype(np.float64)
        if x.shape != y.shape:
            problems.append(f"{path}: {x.size} values became {y.size}")
        elif a["dtype"] == "u1":
            if np.abs(x - y).max(initial=0) > 1:
                problems.append(f"{path}: quantised values differ by more than one level")
        elif a["dtype"] == "i4":
            if not np.array_equal(x, y):
                problems.append(f"{path}: integers differ")
        elif not np.allclose(x, y, rtol=RTOL, atol=1e-6 * np.abs(x).max(initial=0)):
            worst = np.argmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-300))
            problems.append(f"{path}[{worst}]: {x.flat[worst]:.6g} became {y.flat[worst]:.6g}")
    elif isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            problems.append(f"{path}: keys {sorted(a)} became "
                            f"{sorted(b) if isinstance(b, dict) else type(b).__name__}")
            return
        for k in a:
            _compare(a[k], b[k], f"{path}.{k}", problems)
    elif isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            problems.append(f"{path}: a list of {len(a)} became "
                            f"{len(b) if isinstance(b, list) else type(b).__name__}")
            return
        for i, (u, v) in enumerate(zip(a, b)):
            _compare(u, v, f"{path}[{i}]", problems)
    elif isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if not np.isclose(a, b, rtol=RTOL, atol=0):
            problems.append(f"{path}: {a!r} became {b!r}")
    elif isinstance(a, str) and isinstance(b, str) and a != b:
        if not _same_text(a, b):
            problems.append(f"{path}: {a!r} became {b!r}")
    elif a != b or type(a) is not type(b):
        problems.append(f"{path}: {a!r} became {b!r}")


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _unit(token: str) -> float:
    """One unit in the last digit a number was printed with: 1e-2 for "2.61"."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def _same_text(a: str, b: str) -> bool:
    """The same words, and numbers that differ by at most one unit in their
    last printed digit (a value near a rounding boundary, printed on another
    CPU: "ratio 2.6e-01" against "ratio 2.5e-01")."""
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
        if abs(float(x) - float(y)) > max(_unit(x), _unit(y)) * (1 + 1e-9):
            return False
    return True


def compare(stored: dict, fresh: dict) -> list[str]:
    """What differs between a stored twin output bundle and a re-run's; [] if they agree.

    Used by the repository's ``conftest.py`` in place of nbval's exact
    comparison for these outputs, in both CI runs. A twin holds thousands of
    numbers, some from computations that amplify rounding (a deep tanh
    network at large gain, a training run at a large step) so that another
    BLAS kernel moves their 6th digit. Here numbers agree within
    ``RTOL`` = 1e-3 relative (uint8 maps within one level, integer arrays
    exactly), far below what a figure can show and far above rounding; text
    agrees word for word, and a number printed in it (a ratio in a legend) to
    one unit of its last printed digit.
    The stored HTML must carry exactly the stored JSON, and the plain text
    and the PNG's presence must match.
    """
    problems = []
    _compare(stored.get(PLOTLY_MIME), fresh.get(PLOTLY_MIME), "figure", problems)
    for name, bundle in (("stored", stored), ("re-run", fresh)):
        payload = figure_json(bundle.get(PLOTLY_MIME, {})).replace("</", "<\\/")
        if payload not in bundle.get("text/html", ""):
            problems.append(f"the {name} HTML does not carry the {name} figure's JSON")
    if stored.get("text/plain") != fresh.get("text/plain"):
        problems.append(f"text/plain {stored.get('text/plain')!r} became {fresh.get('text/plain')!r}")
    if set(stored) != set(fresh):
        problems.append(f"representations {sorted(stored)} became {sorted(fresh)}")
    return problems
