"""Chapter 3 helpers: a glass-box 2-2-1 network with every number shown.

``trace`` runs one forward and one backward pass of a 2-2-1 sigmoid network
on a single example with the package's pairs and records every intermediate
number. ``draw_step`` draws the network with those numbers on its nodes and
edges, revealing them one step at a time in the order backpropagation
computes them; ``glassbox_widget`` puts a slider on the step.

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
    "draw_step",
    "glassbox_widget",
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

#: Step titles, in the order the widget reveals them.
STEPS = (
    "0. input x",
    "1. hidden pre-activation z1 = x W1 + b1",
    "2. hidden activation a1 = sigmoid(z1)",
    "3. output pre-activation z2 = a1 W2 + b2",
    "4. output a2 = sigmoid(z2), loss L = (a2 - y)^2",
    "5. output delta: delta2 = dL/da2 * a2 (1 - a2)",
    "6. output weights: dW2[j] = a1[j] * delta2",
    "7. hidden delta: delta1 = (delta2 W2^T) * a1 (1 - a1)",
    "8. input weights: dW1[i, j] = x[i] * delta1[j]",
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
_FWD, _BWD, _DIM = "tab:blue", "tab:red", "0.75"


def _node_text(kind, j, t, step):
    if kind == "x":
        return f"$x_{j + 1}$\n{t['x'][0, j]:.3f}"
    if kind == "h":
        lines = [f"$h_{j + 1}$"]
        if step >= 1:
            lines.append(f"z={t['z1'][0, j]:.3f}")
        if step >= 2:
            lines.append(f"a={t['a1'][0, j]:.3f}")
        if step >= 7:
            lines.append(f"$\\delta$={t['delta1'][0, j]:.4f}")
        return "\n".join(lines)
    if kind == "o":
        lines = ["out"]
        if step >= 3:
            lines.append(f"z={t['z2'][0, 0]:.3f}")
        if step >= 4:
            lines.append(f"a={t['a2'][0, 0]:.3f}")
        if step >= 5:
            lines.append(f"$\\delta$={t['delta2'][0, 0]:.4f}")
        return "\n".join(lines)
    lines = ["L", f"y={t['y'][0, 0]:g}"]
    if step >= 4:
        lines.append(f"L={t['loss']:.4f}")
    return "\n".join(lines)


def _edge_text(layer, i, j, t, step):
    """Label of the edge for weight W{layer}[i, j]: its value, then its gradient."""
    W = t["W1"] if layer == 1 else t["W2"]
    text = f"w={W[i, j]:+.2f}"
    if layer == 2 and step >= 6:
        text += (f"\n{t['a1'][0, i]:.3f}$\\times$({t['delta2'][0, j]:+.4f})"
                 f"\n= {t['dW2'][i, j]:+.4f}")
    if layer == 1 and step >= 8:
        text += (f"\n{t['x'][0, i]:.2f}$\\times$({t['delta1'][0, j]:+.4f})"
                 f"\n= {t['dW1'][i, j]:+.4f}")
    return text


def draw_step(t, step, ax=None):
    """Draw the network of a ``trace`` with the numbers known after ``step``.

    Nodes and edges the current step computes are coloured (blue forward, red
    backward); everything not yet computed is shown without numbers.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    step = int(step)
    if not 0 <= step < len(STEPS):
        raise ValueError(f"draw_step: step must be in [0, {len(STEPS) - 1}], got {step}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 6))
    fig = ax.figure
    active_nodes = {
        0: [("x", 0), ("x", 1)], 1: [("h", 0), ("h", 1)], 2: [("h", 0), ("h", 1)],
        3: [("o", 0)], 4: [("o", 0), ("L", 0)], 5: [("o", 0)], 6: [], 7: [("h", 0), ("h", 1)],
        8: [],
    }[step]
    color = _FWD if step <= 4 else _BWD
    edge_layer_active = {1: 1, 3: 2, 6: 2, 8: 1}.get(step)

    # edges W1 (input -> hidden) and W2 (hidden -> output), labelled near the start
    for layer, src, dst, n_src, n_dst in ((1, "x", "h", 2, 2), (2, "h", "o", 2, 1)):
        for i in range(n_src):
            for j in range(n_dst):
                (x0, y0), (x1, y1) = _POS[(src, i)], _POS[(dst, j)]
                on = edge_layer_active == layer
                ax.plot([x0, x1], [y0, y1], color=color if on else _DIM, lw=3 if on else 1.5,
                        zorder=1)
                # crossing edges of layer 1 are labelled near their start, where they
                # are far apart; straight edges a little past their middle
                frac = 0.5 if layer == 2 else (0.55 if i == j else 0.25)
                lx, ly = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
                ax.text(lx, ly, _edge_text(layer, i, j, t, step), fontsize=9.5, ha="center",
                        va="center", zorder=4,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white",
                                  ec=color if on else _DIM, lw=1))
    ax.plot([4.0, 5.4], [0.8, 0.8], color=_DIM, lw=1.5, ls="--", zorder=1)

    for (kind, j), (px, py) in _POS.items():
        on = (kind, j) in active_nodes
        ax.text(px, py, _node_text(kind, j, t, step), ha="center", va="center", fontsize=10,
                zorder=5, bbox=dict(boxstyle="circle,pad=0.8" if kind != "L" else "square,pad=0.5",
                                    fc="#fff3e0" if on else "white",
                                    ec=color if on else "black", lw=2.5 if on else 1))

    # the biases' gradients, once they are known
    notes = []
    if step >= 6:
        notes.append(f"db2 = delta2 = {t['db2'][0]:+.4f}")
    if step >= 8:
        notes.append(f"db1 = delta1 = ({t['db1'][0]:+.4f}, {t['db1'][1]:+.4f})")
    if notes:
        ax.text(5.4, 0.1, "\n".join(notes), ha="center", va="top", fontsize=10)
    ax.set_xlim(-0.45, 6.3)
    ax.set_ylim(-0.55, 2.1)
    ax.set_xticks([0, 2, 4, 5.4], ["input x (D=2)", "hidden (H=2)", "output (M=1)", "loss"],
                  fontsize=10)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("layer (forward: left to right; backward: right to left)", fontsize=10)
    ax.set_title(f"Glass-box 2-2-1 network, step {STEPS[step]}", fontsize=12)
    return fig


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
