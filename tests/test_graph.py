"""Tests for backprop.labs.graph: gradients against PyTorch autograd (float64)
and central differences, fan-out accumulation, and the operation counts."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop.labs import graph as g  # noqa: E402
from backprop.labs import graph_plot as gp  # noqa: E402

# Each case: (builder on graph nodes, the same expression in torch, inputs).
CASES = {
    "mul_add": (lambda a, b: a * b + a, lambda a, b: a * b + a, [1.3, -0.7]),
    "sub_neg": (lambda a, b: -(a - b) * b, lambda a, b: -(a - b) * b, [0.4, 2.1]),
    "exp_log": (lambda a, b: g.log(g.exp(a) + g.square(b)),
                lambda a, b: torch.log(torch.exp(a) + b ** 2), [0.2, -1.5]),
    "sin_tanh": (lambda a, b: g.sin(a * b) * g.tanh(b),
                 lambda a, b: torch.sin(a * b) * torch.tanh(b), [0.9, 0.6]),
    "sigmoid_pos": (lambda a, b: g.sigmoid(a * b + 2.0), lambda a, b: torch.sigmoid(a * b + 2.0), [1.1, 0.5]),
    "sigmoid_neg": (lambda a, b: g.sigmoid(a - 3.0 * b), lambda a, b: torch.sigmoid(a - 3.0 * b), [-0.4, 1.7]),
    "fan_out": (lambda a, b: g.tanh(a) * g.tanh(a) + a * b * a,
                lambda a, b: torch.tanh(a) * torch.tanh(a) + a * b * a, [0.7, -1.2]),
    "rsub": (lambda a, b: 1.0 - a * b, lambda a, b: 1.0 - a * b, [0.3, 0.8]),
}


def _torch_grad(fn, values):
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


def _central_diff(build, values, h=1e-6):
    grads = []
    for i in range(len(values)):
        up, down = list(values), list(values)
        up[i] += h
        down[i] -= h
        f_up = build(*[g.var(v, "x") for v in up]).value
        f_down = build(*[g.var(v, "x") for v in down]).value
        grads.append((f_up - f_down) / (2 * h))
    return grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_modes_match_torch_and_central_differences(name):
    build, torch_fn, values = CASES[name]
    xs = [g.var(v, f"x{i}") for i, v in enumerate(values)]
    out = build(*xs)
    rev, _ = g.reverse_mode(out, xs)
    fwd, _ = g.forward_mode(out, xs)
    t_val, t_grad = _torch_grad(torch_fn, values)
    assert out.value == pytest.approx(t_val, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(rev, t_grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fwd, t_grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rev, _central_diff(build, values), rtol=1e-6, atol=1e-8)
    # node.grad of the inputs is what reverse_mode returned
    assert [x.grad for x in xs] == rev


def test_fan_out_gradients_add():
    # y = x * x uses x twice; dy/dx = 2x, not x (which one path alone would give).
    x = g.var(3.0, "x")
    y = g.mul(x, x)
    (dx,), _ = g.reverse_mode(y, [x])
    assert dx == 6.0
    # A value feeding two branches: L = sin(u) + u**2 with u = 2x.
    x = g.var(0.5, "x")
    u = g.mul(x, 2.0)
    L = g.sin(u) + g.square(u)
    (dx,), _ = g.reverse_mode(L, [x])
    assert dx == pytest.approx(2 * math.cos(1.0) + 2 * 2 * 1.0, rel=1e-14)
    assert u.grad == pytest.approx(math.cos(1.0) + 2.0, rel=1e-14)


def test_reverse_mode_resets_grads_between_calls():
    x = g.var(1.0, "x")
    y = g.exp(x)
    first, _ = g.reverse_mode(y, [x])
    second, _ = g.reverse_mode(y, [x])
    assert first == second == [math.e]


def test_default_inputs_are_the_var_leaves_in_order():
    loss, ws = g.logistic_loss_graph([0.1, 0.2, 0.3], [1.0, -1.0, 2.0], -1)
    order = g.topological_order(loss)
    assert [n for n in order if n.is_input] == ws
    # constants are leaves but not inputs
    assert any(n.op == "const" for n in order)


def test_topological_order_puts_parents_first_and_handles_deep_graphs():
    x = g.var(0.1, "x")
    y = x
    for _ in range(5000):  # deeper than Python's default recursion limit
        y = g.add(y, 1e-4)
    order = g.topological_order(y)
    index = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            assert index[id(p)] < index[id(n)]
    (dx,), _ = g.reverse_mode(y, [x])
    assert dx == 1.0


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_logistic_loss_graph_matches_torch(n):
    rng = np.random.default_rng(n)
    w, x = rng.normal(size=n), rng.normal(size=n)
    for y in (1, -1):
        loss, ws = g.logistic_loss_graph(w, x, y)
        grads, _ = g.reverse_mode(loss, ws)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        lt = torch.nn.functional.softplus(-y * (wt @ torch.tensor(x, dtype=torch.float64)))
        lt.backward()
        assert loss.value == pytest.approx(lt.item(), rel=1e-12)
        np.testing.assert_allclose(grads, wt.grad.numpy(), rtol=1e-11, atol=1e-14)


def test_operation_counts_scale_as_claimed():
    """Reverse mode: one sweep whose cost grows like the graph (linear in n).
    Forward mode: n sweeps, so its cost grows like n times the graph."""
    rev_totals, fwd_totals, evals = [], [], []
    ns = [4, 8, 16, 32, 64]
    for n in ns:
        loss, ws = g.logistic_loss_graph(np.ones(n) * 0.1, np.ones(n), 1)
        _, rc = g.reverse_mode(loss, ws)
        _, fc = g.forward_mode(loss, ws)
        assert rc.sweeps == 1 and fc.sweeps == n
        # every edge of the graph is touched exactly once per sweep
        edges = sum(len(node.parents) for node in g.topological_order(loss))
        assert rc.muls == rc.adds == rc.partials == edges
        assert fc.muls == n * edges
        rev_totals.append(rc.total)
        fwd_totals.append(fc.total)
        evals.append(g.evaluate_count(loss))
    ratio_rev = np.array(rev_totals) / np.array(evals)
    ratio_fwd = np.array(fwd_totals) / np.array(evals)
    # reverse mode costs a bounded multiple of one evaluation ...
    assert ratio_rev.max() < 6 and ratio_rev.max() - ratio_rev.min() < 0.5
    # ... forward mode a multiple that grows linearly with n
    np.testing.assert_allclose(ratio_fwd / np.array(ns), ratio_rev, rtol=1e-12)


def test_forward_mode_does_not_touch_grad():
    x = g.var(2.0, "x")
    y = g.square(x)
    g.forward_mode(y, [x])
    assert x.grad == 0.0 and y.grad == 0.0


def test_validation_errors():
    with pytest.raises(ValueError, match="Node or a real number"):
        g.add(g.var(1.0, "x"), "2")
    with pytest.raises(ValueError, match="positive"):
        g.log(g.var(-1.0, "x"))
    with pytest.raises(ValueError, match="same length"):
        g.logistic_loss_graph([1.0, 2.0], [1.0], 1)
    with pytest.raises(ValueError, match="y in"):
        g.logistic_loss_graph([1.0], [1.0], 0)
    with pytest.raises(ValueError, match="expected a Node"):
        g.topological_order(3.0)


def test_sigmoid_is_stable_for_large_inputs():
    big = g.sigmoid(g.var(1000.0, "x"))
    small = g.sigmoid(g.var(-1000.0, "x"))
    assert big.value == 1.0 and small.value == 0.0  # no OverflowError from math.exp


def test_draw_graph_writes_value_gradient_and_partials():
    a, b = g.var(1.5, "a"), g.var(-0.5, "b")
    L = g.sigmoid(g.tanh(a * b, label="d") + a, label="L")
    g.reverse_mode(L)
    fig = gp.draw_graph(L, title="test graph")
    try:
        ax = fig.axes[0]
        texts = [t.get_text() for t in ax.texts]
        assert ax.get_title() == "test graph"
        # the x axis counts depth; the y axis has no meaning, so no label
        assert ax.get_xlabel() and not ax.get_ylabel()
        # the adjoint in the book's notation, the value after "= "
        assert any(rf"$\bar{{a}}$ = {a.grad:.3g}" in t for t in texts)
        assert any(f"\n= {L.value:.3g}" in t for t in texts)
        assert not any("v =" in t or "g =" in t for t in texts)
        # one partial label per edge: a*b (2), tanh (1), + (2), sigmoid (1)
        edge_labels = [t for t in texts if t and "\n" not in t]
        assert len(edge_labels) == 6
    finally:
        plt.close(fig)


def test_measure_op_counts_and_plot():
    rows = g.measure_op_counts([2, 8, 32], seed=1)
    assert [r["n"] for r in rows] == [2, 8, 32]
    for r in rows:
        assert r["reverse_sweeps"] == 1 and r["forward_sweeps"] == r["n"]
        assert r["max_abs_diff"] < 1e-12
        # forward mode repeats the same per-sweep work n times
        assert r["forward"] == r["n"] * r["reverse"]
    # the graph grows linearly: n products, n - 1 sums, then -y*s, exp, 1 + e, log
    assert [r["evaluate"] for r in rows] == [2 * n + 3 for n in (2, 8, 32)]
    fig = gp.plot_op_counts(rows, title="counts")
    try:
        ax = fig.axes[0]
        assert ax.get_title() == "counts" and ax.get_xscale() == "log"
        assert len(ax.get_lines()) == 3
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [r["forward"] for r in rows])
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one row"):
        gp.plot_op_counts([])


@pytest.mark.parametrize("a,b", [(2.0, -1.0), (-3.0, 0.5), (0.7, 0.7)])
def test_maximum_routes_the_gradient_like_torch(a, b):
    # The larger input gets the whole upstream gradient, the other none; at a
    # tie max has no derivative and, like torch.maximum, we split it evenly.
    xa, xb = g.var(a, "a"), g.var(b, "b")
    out = g.maximum(xa, xb) * 3.0  # upstream gradient 3
    rev, _ = g.reverse_mode(out, [xa, xb])
    fwd, _ = g.forward_mode(out, [xa, xb])
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    (torch.maximum(ta, tb) * 3.0).backward()
    assert out.value == 3.0 * max(a, b)
    assert rev == fwd == [ta.grad.item(), tb.grad.item()]
    assert sum(rev) == 3.0  # routed, never duplicated or lost
    if a != b:
        assert sorted(rev) == [0.0, 3.0]


def test_gate_patterns_on_a_circuit():
    # L = (max(x y, z) + w) u: mul swaps, max routes, add distributes.
    x, y, z, w, u = (g.var(v, n) for v, n in
                     [(2.0, "x"), (1.5, "y"), (1.0, "z"), (-1.0, "w"), (-2.0, "u")])
    p = x * y
    m = g.maximum(p, z)
    s = m + w
    L = s * u
    g.reverse_mode(L)
    assert (u.grad, s.grad) == (s.value, u.value)          # mul swaps
    assert m.grad == w.grad == s.grad                      # add distributes
    assert (p.grad, z.grad) == (m.grad, 0.0)               # max routes (p > z)
    assert (x.grad, y.grad) == (p.grad * y.value, p.grad * x.value)


def test_draw_graph_places_leaves_beside_their_gate_and_boxes_do_not_overlap():
    x, y, z = g.var(3.0, "x"), g.var(-1.0, "y"), g.var(-2.0, "z")
    q = g.add(x, y, label="q")
    f = g.mul(q, z, label="f")
    fig = gp.draw_graph(f, title="t", show_grad=False, show_partials=False)
    try:
        ax = fig.axes[0]
        centre = {t.get_text().split("\n")[0]: t.get_position() for t in ax.texts}
        # z is read by the second gate only, so it sits in the column of q
        assert centre["z"][0] == centre["q [+]"][0] == 1.0
        assert centre["x"][0] == centre["y"][0] == 0.0
        # the first operand is drawn above the second
        assert centre["x"][1] > centre["y"][1] and centre["q [+]"][1] > centre["z"][1]
        boxes = [p.get_extents() for p in ax.patches]
        assert len(boxes) == 5
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b)
        # no gradient was asked for
        assert not any(r"$\bar" in t.get_text() for t in ax.texts)
    finally:
        plt.close(fig)
