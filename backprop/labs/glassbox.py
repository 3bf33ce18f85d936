"""Chapter 3 helpers: a glass-box 2-2-1 network with every number shown.

``trace`` runs one forward and one backward pass of a 2-2-1 sigmoid network
on a single example with the package's pairs and records every intermediate
number. ``step_state`` says what the picture of one step shows (plain-text
labels, which nodes and edges are active), revealing the numbers one step at
a time in the order backpropagation computes them. ``draw_step`` draws it
with matplotlib and ``glassbox_widget`` puts a slider on the step;
``twin_figure`` draws the same states with Plotly, a kernel-free slider over
all nine steps (``backprop.labs.explore``), and ``twin_png`` is its static
picture.

Shapes (one example, N = 1): x (1, D=2), W1 (2, 2), b1 (2,), W2 (2, 1),
b2 (1,), y (1, 1). Loss: the package's ``mse_loss``.

What a backward pass costs, and the loop-vs-matmul timing, are in
``backprop.labs.cost``.
"""

import numpy as np

from backprop.activations import sigmoid_backward, sigmoid_forward
from backprop.layers import dense_backward, dense_forward
from backprop.losses import mse_loss

__all__ = [
    "DEFAULT_NETWORK",
    "STEPS",
    "trace",
    "step_state",
    "draw_step",
    "glassbox_widget",
    "twin_figure",
    "twin_png",
]

#: The example the chapter steps through: x (1, 2), y (1, 1) and parameters.
DEFAULT_NETWORK = {
    "x": np.array([[1.0, 0.5]]),
    "y": np.array([[1.0]]),
    "W1": np.array([[0.4, -0.6], [0.8, 0.3]]),
    "b1": np.array([0.1, -0.2]),
    "W2": np.array([[0.9], [-0.7]]),
    "b2": np.array([0.05]),
}

#: Step titles, in the order the widget reveals them (plain text: the same
#: strings go into the matplotlib drawing and its Plotly twin).
STEPS = (
    "0. input x",
    "1. hidden pre-activation z₁ = x W₁ + b₁",
    "2. hidden activation a₁ = σ(z₁)",
    "3. output pre-activation z₂ = a₁ W₂ + b₂",
    "4. output a₂ = σ(z₂), loss L = (a₂ − y)²",
    "5. output delta δ₂ = dL/da₂ × a₂(1 − a₂)",
    "6. output weights: dW₂[h] = a₁[h] × δ₂",
    "7. hidden delta δ₁ = (δ₂ W₂ᵀ) ⊙ a₁ ⊙ (1 − a₁)",
    "8. input weights: dW₁[i, h] = x[i] × δ₁[h]",
)


def trace(net=None):
    """Forward and backward pass of the 2-2-1 network, every number recorded.

    net: a dict like ``DEFAULT_NETWORK`` (the default). Returns a dict of
    float64 arrays: the inputs plus z1, a1 (1, 2), z2, a2 (1, 1), loss,
    dL_da2 (1, 1), delta2 (1, 1), dW2 (2, 1), db2 (1,), dL_da1 (1, 2),
    delta1 (1, 2), dW1 (2, 2), db1 (2,).
    """
    net = DEFAULT_NETWORK if net is None else net
    t = {k: np.array(v, dtype=np.float64) for k, v in net.items()}
    expected = {"x": (1, 2), "y": (1, 1), "W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    for k, shape in expected.items():
        if k not in t or t[k].shape != shape:
            got = t[k].shape if k in t else "missing"
            raise ValueError(f"trace: expected {k} of shape {shape}, got {got}")
    t["z1"], c1 = dense_forward(t["x"], t["W1"], t["b1"])
    t["a1"], s1 = sigmoid_forward(t["z1"])
    t["z2"], c2 = dense_forward(t["a1"], t["W2"], t["b2"])
    t["a2"], s2 = sigmoid_forward(t["z2"])
    t["loss"], t["dL_da2"] = mse_loss(t["a2"], t["y"])
    t["delta2"] = sigmoid_backward(t["dL_da2"], s2)
    t["dL_da1"], t["dW2"], t["db2"] = dense_backward(t["delta2"], c2)
    t["delta1"] = sigmoid_backward(t["dL_da1"], s1)
    _, t["dW1"], t["db1"] = dense_backward(t["delta1"], c1)
    return t


# node positions: inputs at x=0, hidden at x=2, output at x=4, loss at x=5.4
_POS = {
    ("x", 0): (0.0, 1.6), ("x", 1): (0.0, 0.0),
    ("h", 0): (2.0, 1.6), ("h", 1): (2.0, 0.0),
    ("o", 0): (4.0, 0.8), ("L", 0): (5.4, 0.8),
}
_FWD, _BWD, _DIM = "#1f77b4", "#d62728", "#bfbfbf"   # tab:blue, tab:red, grey
_ACTIVE_FILL = "#fff3e0"
_NOTES_XY = (5.4, 0.1)   # top centre of the biases' gradients
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
#: the nodes the current step computes (drawn coloured)
_ACTIVE_NODES = {
    0: [("x", 0), ("x", 1)], 1: [("h", 0), ("h", 1)], 2: [("h", 0), ("h", 1)],
    3: [("o", 0)], 4: [("o", 0), ("L", 0)], 5: [("o", 0)], 6: [], 7: [("h", 0), ("h", 1)],
    8: [],
}
#: the weight layer whose gradients the current step computes (forward: uses)
_ACTIVE_LAYER = {1: 1, 3: 2, 6: 2, 8: 1}


def _sub(n):
    return str(n).translate(_SUB)


def node_text(kind, j, t, step):
    """The label of node ``(kind, j)`` after ``step``: plain text, one line per number."""
    if kind == "x":
        return f"x{_sub(j + 1)}\n{t['x'][0, j]:.3f}"
    if kind == "L":
        lines = ["L", f"y={t['y'][0, 0]:g}"]
        if step >= 4:
            lines.append(f"L={t['loss']:.4f}")
        return "\n".join(lines)
    # (first step showing z, a, delta) and where they are in the trace
    z, a, d, col, steps = (("z1", "a1", "delta1", j, (1, 2, 7)) if kind == "h"
                           else ("z2", "a2", "delta2", 0, (3, 4, 5)))
    lines = [f"h{_sub(j + 1)}" if kind == "h" else "out"]
    if step >= steps[0]:
        lines.append(f"z={t[z][0, col]:.3f}")
    if step >= steps[1]:
        lines.append(f"a={t[a][0, col]:.3f}")
    if step >= steps[2]:
        lines.append(f"δ={t[d][0, col]:.4f}")
    return "\n".join(lines)


def edge_text(layer, i, j, t, step):
    """Label of the edge for weight W{layer}[i, j]: its value, then its gradient."""
    W = t["W1"] if layer == 1 else t["W2"]
    text = f"w={W[i, j]:+.2f}"
    if layer == 2 and step >= 6:
        text += (f"\n{t['a1'][0, i]:.3f}×({t['delta2'][0, j]:+.4f})"
                 f"\n= {t['dW2'][i, j]:+.4f}")
    if layer == 1 and step >= 8:
        text += (f"\n{t['x'][0, i]:.2f}×({t['delta1'][0, j]:+.4f})"
                 f"\n= {t['dW1'][i, j]:+.4f}")
    return text


def bias_text(t, step):
    """The biases' gradients once they are known ('' before step 6)."""
    notes = []
    if step >= 6:
        notes.append(f"db₂ = δ₂ = {t['db2'][0]:+.4f}")
    if step >= 8:
        notes.append(f"db₁ = δ₁ = ({t['db1'][0]:+.4f}, {t['db1'][1]:+.4f})")
    return "\n".join(notes)


def _node_hover(kind, j, t, step):
    """Hover text of a node: its forward values and, once known, its gradients."""
    if kind == "x":
        return f"input x{_sub(j + 1)} = {t['x'][0, j]:.4f}\n(data: no gradient needed)"
    if kind == "L":
        if step < 4:
            return f"loss L, target y = {t['y'][0, 0]:g}\n(computed at step 4)"
        return f"loss L = (a₂ − y)² = {t['loss']:.4f}\ntarget y = {t['y'][0, 0]:g}"
    z, a, da, d, col, steps, name = (
        ("z1", "a1", "dL_da1", "delta1", j, (1, 2, 7), f"hidden unit h{_sub(j + 1)}")
        if kind == "h" else ("z2", "a2", "dL_da2", "delta2", 0, (3, 4, 5), "output unit"))
    if step < steps[0]:
        return f"{name}\n(computed at step {steps[0]})"
    lines = [name, f"z = {t[z][0, col]:.4f}"]
    if step >= steps[1]:
        lines.append(f"a = σ(z) = {t[a][0, col]:.4f}")
    if step >= steps[2]:
        lines += [f"dL/da = {t[da][0, col]:.4f}", f"δ = dL/dz = {t[d][0, col]:.4f}"]
    else:
        lines.append(f"(gradient at step {steps[2]})")
    return "\n".join(lines)


def step_state(t, step):
    """Everything the drawing of ``step`` shows, as plain data.

    Returns a dict: ``title``; ``colour`` of what this step computes (blue
    forward, red backward); ``nodes``, a list of dicts with ``kind``, ``j``,
    ``xy``, ``text``, ``hover``, ``active``; ``edges``, a list of dicts with
    ``layer``, ``i``, ``j``, ``xy0``, ``xy1``, ``label_xy``, ``text``,
    ``active``; ``notes``, the biases' gradients ('' before step 6). Both
    :func:`draw_step` (matplotlib) and :func:`twin_figure` (Plotly) draw it.
    """
    step = int(step)
    if not 0 <= step < len(STEPS):
        raise ValueError(f"step must be in [0, {len(STEPS) - 1}], got {step}")
    nodes = [{"kind": kind, "j": j, "xy": xy, "text": node_text(kind, j, t, step),
              "hover": _node_hover(kind, j, t, step),
              "active": (kind, j) in _ACTIVE_NODES[step]}
             for (kind, j), xy in _POS.items()]
    edges = []
    for layer, src, dst, n_src, n_dst in ((1, "x", "h", 2, 2), (2, "h", "o", 2, 1)):
        for i in range(n_src):
            for j in range(n_dst):
                (x0, y0), (x1, y1) = _POS[(src, i)], _POS[(dst, j)]
                # crossing edges of layer 1 are labelled a third of the way
                # along, where they are apart; the others at their middle
                frac = 0.5 if layer == 2 or i == j else 0.33
                edges.append({"layer": layer, "i": i, "j": j, "xy0": (x0, y0),
                              "xy1": (x1, y1),
                              "label_xy": (x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)),
                              "text": edge_text(layer, i, j, t, step),
                              "active": _ACTIVE_LAYER.get(step) == layer})
    number, _, what = STEPS[step].partition(". ")
    return {"title": f"Glass-box 2-2-1 network, step {number}: {what}",
            "colour": _FWD if step <= 4 else _BWD, "nodes": nodes, "edges": edges,
            "notes": bias_text(t, step)}


def draw_step(t, step, ax=None):
    """Draw the network of a ``trace`` with the numbers known after ``step``.

    Nodes and edges the current step computes are coloured (blue forward, red
    backward); everything not yet computed is shown without numbers.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    state = step_state(t, step)   # checks the step
    color = state["colour"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 6))
    fig = ax.figure
    for e in state["edges"]:
        on = e["active"]
        (x0, y0), (x1, y1) = e["xy0"], e["xy1"]
        ax.plot([x0, x1], [y0, y1], color=color if on else _DIM, lw=3 if on else 1.5,
                zorder=1)
        ax.text(*e["label_xy"], e["text"], fontsize=9.5, ha="center", va="center",
                zorder=4, bbox=dict(boxstyle="round,pad=0.2", fc="white",
                                    ec=color if on else _DIM, lw=1))
    ax.plot([4.0, 5.4], [0.8, 0.8], color=_DIM, lw=1.5, ls="--", zorder=1)
    for n in state["nodes"]:
        on = n["active"]
        box = "circle,pad=0.8" if n["kind"] != "L" else "square,pad=0.5"
        ax.text(*n["xy"], n["text"], ha="center", va="center", fontsize=10, zorder=5,
                bbox=dict(boxstyle=box, fc=_ACTIVE_FILL if on else "white",
                          ec=color if on else "black", lw=2.5 if on else 1))
    if state["notes"]:
        ax.text(*_NOTES_XY, state["notes"], ha="center", va="top", fontsize=10)
    ax.set_xlim(-0.45, 6.3)
    ax.set_ylim(-0.55, 2.1)
    ax.set_xticks([0, 2, 4, 5.4], _TICKS, fontsize=10)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(_XLABEL, fontsize=10)
    ax.set_title(state["title"], fontsize=12)
    return fig


_TICKS = ["input x (D=2)", "hidden (H=2)", "output (M=1)", "loss"]
_XLABEL = "layer (forward: left to right; backward: right to left)"


def glassbox_widget(net=None, step=len(STEPS) - 1):
    """An ipywidgets panel: a step slider (with a play button) over ``draw_step``."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    t = trace(net)
    slider = w.IntSlider(value=step, min=0, max=len(STEPS) - 1, description="step")
    play = w.Play(value=step, min=0, max=len(STEPS) - 1, interval=1500)
    w.jslink((play, "value"), (slider, "value"))
    out = w.interactive_output(lambda step: _show(t, step, plt, display), {"step": slider})
    return w.VBox([w.HBox([play, slider]), out])


def _show(t, step, plt, display):
    fig = draw_step(t, step)
    display(fig)
    plt.close(fig)


# The widget's kernel-free twin (backprop.labs.explore): the nine steps
# precomputed, a Plotly slider over them. Every text comes from step_state.

_TWIN_NODE_SIZE = {"x": 62, "h": 84, "o": 84, "L": 62}   # marker diameters, px


def _html(text):
    return text.replace("\n", "<br>")


def _twin_traces(state):
    """One state's traces: the dashed loss link, six edges, the nodes on top.

    A slider step restyles every trace with every attribute that changes, so
    line traces also carry (unused) marker and hover attributes, and the
    node trace an (unused) line.
    """
    colour = state["colour"]
    unused = {"hovertext": "", "marker": {"color": "white",
                                          "line": {"color": "black", "width": 1.0}}}
    traces = [{"type": "scatter", "mode": "lines", "x": np.array([4.0, 5.4]),
               "y": np.array([0.8, 0.8]), "hoverinfo": "skip", "showlegend": False,
               "line": {"color": _DIM, "width": 1.5, "dash": "dash"}, **unused}]
    for e in state["edges"]:
        (x0, y0), (x1, y1) = e["xy0"], e["xy1"]
        traces.append({"type": "scatter", "mode": "lines", "x": np.array([x0, x1]),
                       "y": np.array([y0, y1]), "hoverinfo": "skip",
                       "showlegend": False, **unused,
                       "line": {"color": colour if e["active"] else _DIM,
                                "width": 3 if e["active"] else 1.5}})
    nodes = state["nodes"]
    on = [n["active"] for n in nodes]
    traces.append({
        "type": "scatter", "mode": "markers", "showlegend": False,
        "line": {"color": _DIM, "width": 1.5},
        "x": np.array([n["xy"][0] for n in nodes]),
        "y": np.array([n["xy"][1] for n in nodes]),
        "hovertext": [_html(n["hover"]) for n in nodes],
        "hovertemplate": "%{hovertext}<extra></extra>",
        "marker": {"opacity": 1.0,
                   "symbol": ["square" if n["kind"] == "L" else "circle" for n in nodes],
                   "size": np.array([_TWIN_NODE_SIZE[n["kind"]] for n in nodes]),
                   "color": [_ACTIVE_FILL if a else "white" for a in on],
                   "line": {"color": [colour if a else "black" for a in on],
                            "width": np.array([2.5 if a else 1.0 for a in on])}}})
    return traces


def _twin_annotations(state):
    """One state's labels: edges in white boxes, nodes on their own fill."""
    colour = state["colour"]
    notes = []
    for e in state["edges"]:
        notes.append({"x": e["label_xy"][0], "y": e["label_xy"][1],
                      "text": _html(e["text"]), "showarrow": False,
                      "font": {"size": 11}, "bgcolor": "white", "borderpad": 2,
                      "bordercolor": colour if e["active"] else _DIM, "borderwidth": 1})
    for n in state["nodes"]:
        notes.append({"x": n["xy"][0], "y": n["xy"][1], "text": _html(n["text"]),
                      "showarrow": False, "font": {"size": 11},
                      "bgcolor": _ACTIVE_FILL if n["active"] else "white",
                      "borderwidth": 0, "borderpad": 0})
    if state["notes"]:
        notes.append({"x": _NOTES_XY[0], "y": _NOTES_XY[1], "yanchor": "top",
                      "showarrow": False,
                      "text": _html(state["notes"]), "font": {"size": 11}})
    return notes


def twin_figure(net=None, default=len(STEPS) - 1):
    """The widget's kernel-free twin: a Plotly figure with a slider over the steps.

    Each of the nine states is :func:`step_state` of the same :func:`trace`
    the widget draws: node colours and edge colours are restyled, labels and
    title set per step. Hover on a node reads its values and, once the
    backward pass reaches it, its gradient. Opens at step ``default`` (the
    last, like the widget). Returns the figure as a dict for
    :func:`backprop.labs.explore.show`.
    """
    from backprop.labs.explore import grid_figure

    t = trace(net)
    states = [step_state(t, s) for s in range(len(STEPS))]
    layout = {
        "height": 520, "margin": {"l": 10, "r": 10, "t": 50, "b": 40},
        "template": "plotly_white", "showlegend": False, "hovermode": "closest",
        "xaxis": {"range": [-0.45, 6.3], "tickvals": [0, 2, 4, 5.4], "ticktext": _TICKS,
                  "title": {"text": _XLABEL}, "showgrid": False, "zeroline": False,
                  "showline": True, "linecolor": "black", "fixedrange": True},
        "yaxis": {"range": [-0.55, 2.1], "visible": False, "fixedrange": True},
    }

    def layout_at(step):
        return {"annotations": _twin_annotations(states[step]),
                "title": {"text": states[step]["title"], "x": 0.5, "y": 0.97,
                          "font": {"size": 14}}}

    fig = grid_figure(lambda _, step: _twin_traces(states[step]),
                      [(str(s), s) for s in range(len(STEPS))],
                      layout=layout, layout_at=layout_at, slider_label="step",
                      default=(None, default),
                      slider_pad=60)  # its value below the x-axis title
    return fig


def twin_png(net=None, step=len(STEPS) - 1):
    """The twin's static picture: the widget's drawing at ``step``, PNG bytes."""
    from backprop.labs.style import png_bytes

    fig = draw_step(trace(net), step)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
