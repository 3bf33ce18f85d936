"""A tiny scalar computational graph, for chapter 2 (the chain rule).

A :class:`Node` holds a value, the nodes it was computed from (its
parents) and the local partial derivatives of its value with respect to
each parent. Nothing else: no tensors, no broadcasting. The point is to
*see* the chain rule and to *count* what the two modes of automatic
differentiation cost:

* :func:`reverse_mode` sweeps the graph once, from the output back to the
  inputs, and returns the gradient with respect to every input at once;
* :func:`forward_mode` pushes one tangent from the inputs to the output, so
  a full gradient needs one sweep per input.

Both return an :class:`OpCount`, incremented by the sweeps themselves as
they do the arithmetic (one evaluation per local partial, one multiply and
one add per edge), so the cost is measured, not asserted.
``backprop.labs.graph_plot`` draws these graphs and plots the counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Node", "OpCount", "var", "const", "add", "mul", "maximum", "sub", "neg", "exp",
    "log", "sin", "tanh", "sigmoid", "square", "topological_order", "evaluate_count",
    "reverse_mode", "forward_mode", "logistic_loss_graph", "measure_op_counts",
]


class Node:
    """One scalar in a computational graph.

    ``parents`` are the input nodes, ``partials`` are functions of no
    argument returning d(self)/d(parent) at the current values, in the same
    order. ``grad`` is filled by :func:`reverse_mode`.
    """

    def __init__(self, value, parents=(), partials=(), op="input", label=None):
        self.value = float(value)
        self.parents = tuple(parents)
        self.partials = tuple(partials)
        self.op = op
        self.label = label if label is not None else op
        self.grad = 0.0
        self.is_input = op == "input"

    def __repr__(self):
        return f"Node({self.label}, value={self.value:.6g}, grad={self.grad:.6g})"

    # Operators, so expressions read like the mathematics.
    def __add__(self, other):
        return add(self, other)

    __radd__ = __add__

    def __mul__(self, other):
        return mul(self, other)

    __rmul__ = __mul__

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(_as_node(other), self)

    def __neg__(self):
        return neg(self)


def var(value, label):
    """An input (a leaf we want the gradient with respect to)."""
    return Node(value, op="input", label=label)


def const(value):
    """A constant leaf (its gradient is computed but usually not wanted)."""
    return Node(value, op="const", label=f"{float(value):g}")


def _as_node(x):
    if isinstance(x, Node):
        return x
    if isinstance(x, (int, float, np.floating, np.integer)):
        return const(x)
    raise ValueError(f"expected a Node or a real number, got {type(x).__name__}")


def add(a, b, label=None):
    a, b = _as_node(a), _as_node(b)
    return Node(a.value + b.value, (a, b), (lambda: 1.0, lambda: 1.0), "+", label)


def sub(a, b, label=None):
    a, b = _as_node(a), _as_node(b)
    return Node(a.value - b.value, (a, b), (lambda: 1.0, lambda: -1.0), "-", label)


def mul(a, b, label=None):
    a, b = _as_node(a), _as_node(b)
    # d(ab)/da = b and d(ab)/db = a: each input's partial is the other
    # input, read at sweep time from the values the forward pass kept.
    partials = (lambda: b.value, lambda: a.value)
    return Node(a.value * b.value, (a, b), partials, "*", label)


def maximum(a, b, label=None):
    a, b = _as_node(a), _as_node(b)
    # The larger input has partial 1, the smaller 0: the gradient is routed.
    if a.value == b.value:  # no derivative at a tie: split, as torch.maximum
        d_a = d_b = 0.5
    else:
        d_a = 1.0 if a.value > b.value else 0.0
        d_b = 1.0 - d_a
    partials = (lambda: d_a, lambda: d_b)
    return Node(max(a.value, b.value), (a, b), partials, "max", label)


def neg(a, label=None):
    a = _as_node(a)
    return Node(-a.value, (a,), (lambda: -1.0,), "neg", label)


def square(a, label=None):
    a = _as_node(a)
    return Node(a.value ** 2, (a,), (lambda: 2.0 * a.value,), "sq", label)


def exp(a, label=None):
    a = _as_node(a)
    out = math.exp(a.value)
    return Node(out, (a,), (lambda: out,), "exp", label)


def log(a, label=None):
    a = _as_node(a)
    if a.value <= 0:
        raise ValueError(f"log expects a positive value, got {a.value!r}")
    return Node(math.log(a.value), (a,), (lambda: 1.0 / a.value,), "log", label)


def sin(a, label=None):
    a = _as_node(a)
    return Node(math.sin(a.value), (a,), (lambda: math.cos(a.value),), "sin", label)


def tanh(a, label=None):
    a = _as_node(a)
    out = math.tanh(a.value)
    return Node(out, (a,), (lambda: 1.0 - out * out,), "tanh", label)


def sigmoid(a, label=None):
    a = _as_node(a)
    v = a.value
    # Stable by sign: exp is only ever taken of a non-positive number.
    out = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    return Node(out, (a,), (lambda: out * (1.0 - out),), "sigmoid", label)


def topological_order(output):
    """All nodes that ``output`` depends on, each after all of its parents."""
    if not isinstance(output, Node):
        raise ValueError(f"expected a Node, got {type(output).__name__}")
    order, seen, stack = [], set(), [(output, False)]
    while stack:  # iterative DFS: deep graphs must not hit the recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in reversed(node.parents):
            if id(p) not in seen:
                stack.append((p, False))
    return order


@dataclass
class OpCount:
    """Arithmetic done by a sweep: local partials evaluated, multiplies, adds."""

    partials: int = 0
    muls: int = 0
    adds: int = 0
    sweeps: int = 0

    @property
    def total(self):
        return self.partials + self.muls + self.adds


def evaluate_count(output):
    """Number of primitive operations in the forward evaluation of ``output``.

    One per operation node (leaves cost nothing). This is the unit in which
    the cost of the derivative sweeps is compared.
    """
    return sum(1 for n in topological_order(output) if n.parents)


def reverse_mode(output, inputs=None):
    """Reverse-mode sweep: d(output)/d(node) for every node, in one pass.

    Sets ``node.grad`` on every node of the graph and returns
    ``(grads, count)`` where ``grads`` is a list with d(output)/d(x) for
    each node of ``inputs`` (default: the ``var`` leaves, in topological
    order). A node used twice receives the sum of both contributions.
    """
    order = topological_order(output)
    if inputs is None:
        inputs = [n for n in order if n.is_input]
    for n in order:
        n.grad = 0.0
    output.grad = 1.0
    count = OpCount(sweeps=1)
    for node in reversed(order):
        for parent, partial in zip(node.parents, node.partials):
            local = partial()
            count.partials += 1
            parent.grad += local * node.grad  # chain rule; fan-out sums
            count.muls += 1
            count.adds += 1
    return [x.grad for x in inputs], count


def forward_mode(output, inputs=None):
    """Forward-mode (tangent) sweeps: one per input.

    For input ``x_i`` every node's tangent d(node)/d(x_i) is pushed from the
    leaves to the output. Returns ``(grads, count)`` with the same meaning
    as :func:`reverse_mode`. Does not touch ``node.grad``.
    """
    order = topological_order(output)
    if inputs is None:
        inputs = [n for n in order if n.is_input]
    count = OpCount()
    grads = []
    for x in inputs:
        tangent = {}
        for node in order:
            if not node.parents:
                tangent[id(node)] = 1.0 if node is x else 0.0
                continue
            t = 0.0
            for parent, partial in zip(node.parents, node.partials):
                local = partial()
                count.partials += 1
                t += local * tangent[id(parent)]
                count.muls += 1
                count.adds += 1
            tangent[id(node)] = t
        count.sweeps += 1
        grads.append(tangent[id(output)])
    return grads, count


def logistic_loss_graph(w, x, y):
    """Graph of the logistic loss ``log(1 + exp(-y * sum_i w_i x_i))``.

    ``w`` and ``x`` are sequences of n floats (only ``w`` are inputs),
    ``y`` is +1 or -1. Returns ``(loss_node, weight_nodes)``. The graph has
    2n + 3 operation nodes (n products, n - 1 sums, then -y s, exp, 1 + . and
    log), so it grows linearly with n.
    """
    w = [float(v) for v in w]
    x = [float(v) for v in x]
    if len(w) != len(x) or not w:
        raise ValueError("expected w and x of the same length n >= 1, "
                         f"got {len(w)} and {len(x)}")
    if y not in (1, -1):
        raise ValueError(f"expected y in {{+1, -1}}, got {y!r}")
    ws = [var(v, f"w{i + 1}") for i, v in enumerate(w)]
    s = mul(ws[0], x[0], label="w1 x1")
    for i in range(1, len(ws)):
        term = mul(ws[i], x[i], label=f"w{i + 1} x{i + 1}")
        s = add(s, term, label="s" if i == len(ws) - 1 else "+")
    m = mul(s, -float(y), label="-y s")
    e = exp(m, label="exp")
    loss = log(add(e, 1.0, label="1 + exp"), label="L")
    return loss, ws


def measure_op_counts(ns, seed=0):
    """Run both modes on :func:`logistic_loss_graph` for each n and count.

    Returns a list of dicts, one per n, with the keys ``n``, ``evaluate``
    (operations of one forward evaluation), ``reverse`` and ``forward``
    (:attr:`OpCount.total` of each mode), ``reverse_sweeps``,
    ``forward_sweeps`` and ``max_abs_diff`` (largest difference between the
    two modes' gradients).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        loss, ws = logistic_loss_graph(rng.normal(size=n), rng.normal(size=n), 1)
        rev, rc = reverse_mode(loss, ws)
        fwd, fc = forward_mode(loss, ws)
        rows.append({"n": int(n), "evaluate": evaluate_count(loss), "reverse": rc.total,
                     "forward": fc.total, "reverse_sweeps": rc.sweeps,
                     "forward_sweeps": fc.sweeps,
                     "max_abs_diff": float(np.max(np.abs(np.subtract(rev, fwd))))})
    return rows
