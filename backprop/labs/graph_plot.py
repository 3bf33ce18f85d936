"""Pictures for chapter 2: a scalar graph with its values and gradients, and
the operation counts of the two modes of automatic differentiation.

The graphs and the counts come from :mod:`backprop.labs.graph`; this module
only draws them.
"""

from __future__ import annotations

import numpy as np

from backprop.labs.graph import topological_order

__all__ = ["plot_op_counts", "draw_graph"]


def plot_op_counts(rows, title="Cost of the gradient of a scalar loss with n inputs", ax=None):
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
    """x = longest path from a leaf (depth), y = spread within a depth."""
    depth = {}
    for n in order:
        depth[id(n)] = 1 + max((depth[id(p)] for p in n.parents), default=-1)
    columns = {}
    for n in order:
        columns.setdefault(depth[id(n)], []).append(n)
    pos = {}
    for d, nodes in columns.items():
        k = len(nodes)
        for j, n in enumerate(nodes):
            pos[id(n)] = (float(d), (k - 1) / 2.0 - j)
    return pos


def draw_graph(output, title="Computational graph", ax=None, show_grad=True,
               show_partials=True, figsize=(9, 4)):
    """Draw the graph of ``output`` left to right, value and gradient at each node.

    Each box shows the node's value ``v`` and, after :func:`reverse_mode`,
    its gradient ``g`` = d(output)/d(node); each edge is labelled with its
    local partial d(child)/d(parent). Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    order = topological_order(output)
    pos = _layout(order)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(min(ys) - 0.7, -1.0), max(max(ys) + 0.7, 1.0))
    w, h = 0.3, 0.28
    to_display, to_data = ax.transData.transform, ax.transData.inverted().transform
    for node in order:
        x1, y1 = pos[id(node)]
        for k, (parent, partial) in enumerate(zip(node.parents, node.partials)):
            x0, y0 = pos[id(parent)]
            # Bend an edge that skips a column, or the second edge of x * x,
            # so that it does not run under another node or its twin.
            repeat = node.parents[:k].count(parent)
            rad = 0.5 * repeat if repeat else (-0.35 if x1 - x0 > 1 else 0.0)
            start, end = (x0 + w, y0), (x1 - w, y1)
            ax.annotate("", xy=end, xytext=start,
                        arrowprops=dict(arrowstyle="->", color="0.45", lw=1.2,
                                        connectionstyle=f"arc3,rad={rad}"))
            if show_partials:
                # The local partial at the middle of the (quadratic Bezier) edge;
                # matplotlib's arc3 bends in display coordinates.
                (px, py), (qx, qy) = to_display(start), to_display(end)
                mid = ((px + qx) / 2 + 0.5 * rad * (qy - py), (py + qy) / 2 - 0.5 * rad * (qx - px))
                tx, ty = to_data(mid)
                ax.text(tx, ty, f"{partial():.3g}", ha="center", va="center", fontsize=8,
                        color="#1c4587", bbox=dict(facecolor="white", edgecolor="none", pad=0.3))
    for node in order:
        x, y = pos[id(node)]
        if node.is_input:
            face = "#cfe2f3"
        elif node.op == "const":
            face = "#eeeeee"
        elif node is output:
            face = "#f4cccc"
        else:
            face = "#fff2cc"
        ax.add_patch(FancyBboxPatch((x - w, y - h), 2 * w, 2 * h, boxstyle="round,pad=0.02",
                                    facecolor=face, edgecolor="0.3"))
        lines = [node.label] if node.op in ("input", "const") or node.label == node.op \
            else [f"{node.label}  [{node.op}]"]
        if node.op != "const":
            lines.append(f"v = {node.value:.4g}")
            if show_grad:
                lines.append(f"g = {node.grad:.4g}")
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8.5,
                family="monospace")
    ax.set_xticks(sorted(set(xs)))
    ax.set_yticks([])
    ax.set_xlabel("depth (operations from the inputs)")
    ax.set_ylabel("nodes at that depth")
    ax.set_title(title)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig
