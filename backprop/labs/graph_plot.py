"""Pictures for chapter 2: a scalar graph with its values and gradients, and
the operation counts of the two modes of automatic differentiation.

The graphs and the counts come from :mod:`backprop.labs.graph`; this module
only draws them.
"""

from __future__ import annotations

import numpy as np

from backprop.labs.graph import topological_order

__all__ = ["plot_op_counts", "draw_graph"]


def plot_op_counts(rows, title="Cost of the gradient of a scalar loss with n inputs",
                   ax=None):
    """Log-log plot of the counts from :func:`measure_op_counts`; returns the Figure."""
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("expected at least one row from measure_op_counts, got none")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
    else:
        fig = ax.figure
    n = np.array([r["n"] for r in rows])
    for key, label, style in (("forward", "forward mode (n sweeps)", "s-"),
                              ("reverse", "reverse mode (1 sweep)", "o-"),
                              ("evaluate", "one evaluation of the loss", "^--")):
        ax.loglog(n, [r[key] for r in rows], style, label=label, base=2)
    ax.set_xlabel("number of inputs n")
    ax.set_ylabel("arithmetic operations (counted)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return fig


def _layout(order):
    """Positions (x, y) of the nodes, left to right, the output at y = 0.

    x: an operation sits one column right of its deepest parent; a leaf sits
    just left of its first consumer (so an input does not wait in column 0
    with a long wire to a late gate). y: from the output backwards, each
    node's parents fan out around it; a node used twice keeps its first place.
    """
    consumers = {id(n): [] for n in order}
    for n in order:
        for p in n.parents:
            consumers[id(p)].append(n)
    x = {}
    for n in order:
        x[id(n)] = 1 + max((x[id(p)] for p in n.parents), default=-1)
    for n in order:
        if not n.parents:
            x[id(n)] = min((x[id(c)] for c in consumers[id(n)]), default=1) - 1
    low = min(x.values())
    # Operations first, from the output backwards; then each leaf beside the
    # first gate that reads it.
    y = {id(order[-1]): 0.0}
    for n in reversed(order):
        ops = [p for p in n.parents if p.parents]
        for j, p in enumerate(ops):
            y.setdefault(id(p), y[id(n)] + 0.9 * ((len(ops) - 1) / 2.0 - j))
    for n in order:
        k = len(n.parents)
        for j, p in enumerate(n.parents):
            if not p.parents:
                y.setdefault(id(p), y[id(n)] + 0.9 * ((k - 1) / 2.0 - j))
    # Nodes that collide in a column are pushed apart.
    columns = {}
    for n in order:
        columns.setdefault(x[id(n)], []).append(n)
    for nodes in columns.values():
        nodes.sort(key=lambda n: -y[id(n)])
        for above, below in zip(nodes, nodes[1:]):
            if y[id(above)] - y[id(below)] < 0.9:
                y[id(below)] = y[id(above)] - 0.9
    return {id(n): (float(x[id(n)] - low), y[id(n)]) for n in order}


_OP_SYMBOL = {"*": "×", "+": "+", "-": "−", "sigmoid": "σ"}


def _node_text(node, show_grad, digits):
    if node.op in ("input", "const") or node.label == node.op:
        lines = [node.label]
    else:
        lines = [f"{node.label} [{_OP_SYMBOL.get(node.op, node.op)}]"]
    if node.op != "const":
        lines.append(f"= {node.value:.{digits}g}")
        if show_grad:
            # the adjoint in the book's notation, e.g. "ū = -2" (mathtext)
            lines.append(rf"$\bar{{{node.label}}}$ = {node.grad:.{digits}g}")
    return "\n".join(lines)


def draw_graph(output, title="Computational graph", ax=None, show_grad=True,
               show_partials=True, figsize=(7.4, 3.6), fontsize=11, digits=3):
    """Draw the graph of ``output`` left to right, value and adjoint at each node.

    Each box shows the node's name, its value ("= 3") and, after
    :func:`reverse_mode`, its adjoint, drawn as the name with a bar
    ("ū = -2", d(output)/d(node)); each edge is labelled with its
    local partial d(child)/d(parent). Numbers have ``digits`` significant
    digits; boxes are sized to their text (``fontsize`` points, edge labels
    one point smaller). Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    order = topological_order(output)
    pos = _layout(order)
    created = ax is None
    if created:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.55, max(xs) + 0.55)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_xticks(sorted(set(xs)))
    ax.set_yticks([])
    ax.set_xlabel("depth (operations from the inputs)")
    ax.set_title(title, fontsize=fontsize + 1)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    faces = {"input": "#cfe2f3", "const": "#eeeeee"}
    labels = {}
    for node in order:
        x, y = pos[id(node)]
        face = "#f4cccc" if node is output else faces.get(node.op, "#fff2cc")
        text = ax.text(x, y, _node_text(node, show_grad, digits), ha="center",
                       va="center", fontsize=fontsize, family="monospace", zorder=3)
        labels[id(node)] = (text, face)
    # Measure the text (after the layout engine has fixed the axes): each box
    # is as wide as its text, all are as tall as the tallest, so wires line up.
    fig.canvas.draw()
    if created:
        fig.set_layout_engine("none")  # keep the measured geometry from here on
    to_data = ax.transData.inverted().transform
    w, h = {}, 0.0
    for key, (text, _) in labels.items():
        (x0, y0), (x1, y1) = to_data(text.get_window_extent().get_points())
        w[key], h = (x1 - x0) / 2 + 0.05, max(h, (y1 - y0) / 2 + 0.06)
    for node in order:
        x, y = pos[id(node)]
        ax.add_patch(FancyBboxPatch((x - w[id(node)], y - h), 2 * w[id(node)], 2 * h,
                                    boxstyle="round,pad=0.02", zorder=2,
                                    facecolor=labels[id(node)][1], edgecolor="0.3"))
    to_display = ax.transData.transform
    for node in order:
        x1, y1 = pos[id(node)]
        for k, (parent, partial) in enumerate(zip(node.parents, node.partials)):
            x0, y0 = pos[id(parent)]
            # Bend an edge that skips a column, or the second edge of x * x,
            # so that it does not run under another node or its twin.
            repeat = node.parents[:k].count(parent)
            rad = 0.5 * repeat if repeat else (-0.35 if x1 - x0 > 1 else 0.0)
            start, end = (x0 + w[id(parent)], y0), (x1 - w[id(node)], y1)
            ax.annotate("", xy=end, xytext=start, zorder=1,
                        arrowprops=dict(arrowstyle="->", color="0.45", lw=1.2,
                                        connectionstyle=f"arc3,rad={rad}"))
            if show_partials:
                # The local partial at the middle of the (quadratic Bezier)
                # edge; matplotlib's arc3 bends in display coordinates.
                (px, py), (qx, qy) = to_display(start), to_display(end)
                mid = ((px + qx) / 2 + 0.5 * rad * (qy - py),
                       (py + qy) / 2 - 0.5 * rad * (qx - px))
                # Just above the wire, so that a short wire stays visible.
                ax.annotate(f"{partial():.{digits}g}", to_data(mid), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom",
                            fontsize=fontsize - 1, color="#1c4587", zorder=4,
                            bbox=dict(facecolor="white", edgecolor="none", pad=0.5,
                                      alpha=0.8))
    return fig
