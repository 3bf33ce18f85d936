"""Tests for backprop.labs.glassbox: the 2-2-1 trace against PyTorch, the drawing, the loop."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop.labs import cost  # noqa: E402
from backprop.labs import glassbox as gb  # noqa: E402


def _torch_grads(net):
    p = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=k not in ("x", "y"))
         for k, v in net.items()}
    z1 = p["x"] @ p["W1"] + p["b1"]
    z1.retain_grad()
    a1 = torch.sigmoid(z1)
    z2 = a1 @ p["W2"] + p["b2"]
    z2.retain_grad()
    a2 = torch.sigmoid(z2)
    loss = torch.nn.functional.mse_loss(a2, p["y"])
    loss.backward()
    return {"loss": loss.item(), "a1": a1.detach().numpy(), "delta1": z1.grad.numpy(),
            "delta2": z2.grad.numpy(), "W1": p["W1"].grad.numpy(), "b1": p["b1"].grad.numpy(),
            "W2": p["W2"].grad.numpy(), "b2": p["b2"].grad.numpy()}


NETS = [gb.DEFAULT_NETWORK]
_rng = np.random.default_rng(7)
NETS.append({"x": _rng.standard_normal((1, 2)), "y": np.array([[0.0]]),
             "W1": _rng.standard_normal((2, 2)), "b1": _rng.standard_normal(2),
             "W2": _rng.standard_normal((2, 1)), "b2": _rng.standard_normal(1)})


@pytest.mark.parametrize("net", NETS)
def test_trace_matches_torch_autograd(net):
    t = gb.trace(net)
    ref = _torch_grads(net)
    np.testing.assert_allclose(t["loss"], ref["loss"], rtol=1e-12)
    for ours, theirs in (("delta2", "delta2"), ("delta1", "delta1"), ("dW1", "W1"),
                         ("db1", "b1"), ("dW2", "W2"), ("db2", "b2")):
        np.testing.assert_allclose(t[ours], ref[theirs], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("net", NETS)
def test_each_weight_gradient_is_input_times_upstream_delta(net):
    # the claim the widget draws on every edge, checked against torch's gradients
    t = gb.trace(net)
    ref = _torch_grads(net)
    x = np.asarray(net["x"])
    for i in range(2):
        for j in range(2):
            assert x[0, i] * ref["delta1"][0, j] == pytest.approx(ref["W1"][i, j], rel=1e-12)
        assert t["a1"][0, i] * t["delta2"][0, 0] == pytest.approx(ref["W2"][i, 0], rel=1e-12)


def test_trace_rejects_wrong_shapes():
    bad = dict(gb.DEFAULT_NETWORK, W1=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="W1"):
        gb.trace(bad)
    with pytest.raises(ValueError, match="y"):
        gb.trace({k: v for k, v in gb.DEFAULT_NETWORK.items() if k != "y"})


def _texts(fig):
    return " ".join(t.get_text() for t in fig.axes[0].texts)


def test_draw_step_reveals_numbers_in_order():
    t = gb.trace()
    dW1 = f"{t['dW1'][0, 0]:+.4f}"
    dW2 = f"{t['dW2'][0, 0]:+.4f}"
    a2 = f"a={t['a2'][0, 0]:.3f}"
    seen = []
    for step in range(len(gb.STEPS)):
        fig = gb.draw_step(t, step)
        text = _texts(fig)
        seen.append((a2 in text, dW2 in text, dW1 in text))
        number, _, what = gb.STEPS[step].partition(". ")
        assert fig.axes[0].get_title().endswith(f"step {number}: {what}")
        plt.close(fig)
    assert seen[0] == (False, False, False)
    assert seen[4] == (True, False, False)
    assert seen[6] == (True, True, False)
    assert seen[8] == (True, True, True)


def test_draw_step_rejects_out_of_range():
    with pytest.raises(ValueError, match="step"):
        gb.draw_step(gb.trace(), len(gb.STEPS))


def test_widget_has_a_slider_over_all_steps():
    import ipywidgets as w

    box = gb.glassbox_widget()
    sliders = [c for c in box.children[0].children if isinstance(c, w.IntSlider)]
    assert len(sliders) == 1 and sliders[0].max == len(gb.STEPS) - 1
    plt.close("all")


def test_loop_equals_matmul():
    rng = np.random.default_rng(0)
    x, delta = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(cost.weight_gradient_loop(x, delta), x.T @ delta, rtol=1e-12)
    with pytest.raises(ValueError, match="same N"):
        cost.weight_gradient_loop(x, delta[:4])


def test_timing_reports_a_speedup_and_equal_results():
    r = cost.time_loop_vs_matmul(N=8, D=20, H=10, repeats=3)
    assert r["max_abs_diff"] < 1e-12
    assert r["loop_s"] > 0 and r["matmul_s"] > 0
    assert r["speedup"] > 1  # 1,600 multiply-adds in Python against one BLAS call


def test_timing_with_a_column_subset_scales_the_loop_time():
    r = cost.time_loop_vs_matmul(N=8, D=20, H=12, loop_columns=3, repeats=3)
    assert r["loop_columns"] == 3 and r["max_abs_diff"] < 1e-12
    with pytest.raises(ValueError, match="loop_columns"):
        cost.time_loop_vs_matmul(N=2, D=2, H=4, loop_columns=5)


def _random_network(sizes, N, seed):
    rng = np.random.default_rng(seed)
    params = {}
    for k, (D, M) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{k}"] = rng.standard_normal((D, M))
        params[f"b{k}"] = rng.standard_normal(M)
    return rng.standard_normal((N, sizes[0])), rng.random((N, sizes[-1])), params


@pytest.mark.parametrize("sizes", [(3, 4, 2), (5, 6, 4, 3)])
def test_network_backward_matches_torch_autograd(sizes):
    x, y, params = _random_network(sizes, N=7, seed=len(sizes))
    loss, da, caches = cost.network_forward(x, y, params)
    grads = cost.network_backward(da, caches, input_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tx = torch.tensor(x, requires_grad=True)
    a = tx
    for k in range(1, len(sizes)):
        a = torch.sigmoid(a @ tp[f"W{k}"] + tp[f"b{k}"])
    ref = torch.nn.functional.mse_loss(a, torch.tensor(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for k, t in tp.items():
        np.testing.assert_allclose(grads[k], t.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grads["x"], tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    # by default the data's gradient is skipped, the parameters' are unchanged
    plain = cost.network_backward(da, caches)
    assert "x" not in plain and plain.keys() == params.keys()
    for k in params:
        np.testing.assert_array_equal(plain[k], grads[k])


def test_network_forward_rejects_misnamed_params():
    x, y, params = _random_network((3, 4, 2), N=2, seed=0)
    with pytest.raises(ValueError, match="W1, b1"):
        cost.network_forward(x, y, {**params, "W3": params["W2"]})
    with pytest.raises(ValueError, match="W1, b1"):
        cost.network_forward(x, y, {"W": params["W1"], "b": params["b1"]})


def test_count_multiply_adds_by_hand():
    # 784-128-10 at N = 256: forward N(784*128 + 128*10); backward dW the same,
    # plus dx of the second layer only, unless the first layer's dx is asked for
    fwd = 256 * (784 * 128 + 128 * 10)
    c = cost.count_multiply_adds((784, 128, 10), N=256)
    assert c["forward"] == fwd
    assert c["backward"] == fwd + 256 * 128 * 10
    full = cost.count_multiply_adds((784, 128, 10), N=256, first_dx=True)
    assert full["backward"] == 2 * fwd
    assert [r["dx"] for r in c["layers"]] == [0, 256 * 128 * 10]
    # any depth: backward / forward lies in [1, 2]
    deep = cost.count_multiply_adds((10, 20, 30, 5), N=3)
    assert deep["forward"] <= deep["backward"] <= 2 * deep["forward"]
    with pytest.raises(ValueError, match="sizes"):
        cost.count_multiply_adds((784,), N=256)


def test_time_passes_reports_every_call_in_order():
    r = cost.time_passes((20, 8, 3), N=16, repeats=3, warmup=1)
    assert r["forward_s"] > 0 and r["backward_s"] > 0
    assert r["ratio"] == pytest.approx(r["backward_s"] / r["forward_s"])
    names = [call for _, call, _, _ in r["calls"]]
    assert names == ["dense_forward 1", "sigmoid_forward 1", "dense_forward 2",
                     "sigmoid_forward 2", "mse_loss", "sigmoid_backward 2", "dense_backward 2",
                     "sigmoid_backward 1", "dense_backward 1 (no dx)"]
    count = cost.count_multiply_adds((20, 8, 3), N=16)
    assert sum(m for p, _, m, _ in r["calls"] if p == "forward") == count["forward"]
    assert sum(m for p, _, m, _ in r["calls"] if p == "backward") == count["backward"]
    assert all(s > 0 for *_, s in r["calls"])
    with_dx = cost.time_passes((20, 8, 3), N=16, repeats=2, warmup=0, input_grad=True)
    assert with_dx["calls"][-1][1] == "dense_backward 1"
    assert with_dx["calls"][-1][2] == 2 * 16 * 20 * 8


# ---------------------------------------------------------------- the twin
# The Plotly twin (kernel-free, in the HTML book) must show exactly what the
# widget's matplotlib drawing shows at every step, from the same trace.

EDGES = [(1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1), (2, 0, 0), (2, 1, 0)]
NODES = [("x", 0), ("x", 1), ("h", 0), ("h", 1), ("o", 0), ("L", 0)]


def _twin_steps(net=None):
    fig = gb.twin_figure(net)
    (slider,) = fig["layout"]["sliders"]
    assert [s["label"] for s in slider["steps"]] == [str(k) for k in range(len(gb.STEPS))]
    return fig, slider["steps"]


def _twin_texts(layout):
    return [a["text"].replace("<br>", "\n") for a in layout["annotations"]]


@pytest.mark.parametrize("net", NETS)
def test_twin_labels_equal_the_matplotlib_drawing_at_every_step(net):
    t = gb.trace(net)
    _, steps = _twin_steps(net)
    for step, slider_step in enumerate(steps):
        assert slider_step["method"] == "update"
        layout = slider_step["args"][1]
        fig = gb.draw_step(t, step)
        ax = fig.axes[0]
        drawn = [text.get_text() for text in ax.texts]
        plt.close(fig)
        assert sorted(_twin_texts(layout)) == sorted(drawn), f"step {step}"
        assert layout["title"]["text"] == ax.get_title()
        assert not any("$" in s for s in drawn)   # plain text, no mathtext


def _numbers(line):
    import re

    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+", line)]


@pytest.mark.parametrize("net", NETS)
def test_twin_numbers_at_the_last_step_are_the_trace(net):
    # every number on the twin's labels, read back, is trace()'s value to
    # the digits shown: edges in (layer, i, j) order, then the nodes
    t = gb.trace(net)
    _, steps = _twin_steps(net)
    texts = _twin_texts(steps[-1]["args"][1])
    for (layer, i, j), text in zip(EDGES, texts[:6]):
        w, (act, delta), (grad,) = map(_numbers, text.split("\n"))
        inp = t["x"][0, i] if layer == 1 else t["a1"][0, i]
        d = t["delta1"][0, j] if layer == 1 else t["delta2"][0, j]
        dW = t[f"dW{layer}"][i, j]
        assert w == [pytest.approx(t[f"W{layer}"][i, j], abs=0.005)]
        assert act == pytest.approx(inp, abs=0.005)
        assert delta == pytest.approx(d, abs=5e-5)
        assert grad == pytest.approx(dW, abs=5e-5)
    layer_of = {"h": "1", "o": "2"}
    for (kind, j), text in zip(NODES, texts[6:12]):
        lines = text.split("\n")
        if kind == "x":
            assert lines[0] == f"x{'₁₂'[j]}"
            assert _numbers(lines[1]) == [pytest.approx(t["x"][0, j], abs=5e-4)]
            continue
        if kind == "L":
            assert lines[2] == f"L={float(t['loss']):.4f}"
            continue
        col, k = j, layer_of[kind]
        z, a, d = (_numbers(s)[0] for s in lines[1:])
        assert z == pytest.approx(t[f"z{k}"][0, col], abs=5e-4)
        assert a == pytest.approx(t[f"a{k}"][0, col], abs=5e-4)
        assert d == pytest.approx(t[f"delta{k}"][0, col], abs=5e-5)
    db = _numbers(texts[12])
    assert db == pytest.approx([t["db2"][0], t["db1"][0], t["db1"][1]], abs=5e-5)


def test_twin_hover_shows_a_gradient_only_once_it_is_computed():
    t = gb.trace()
    fig, steps = _twin_steps()
    node_trace = len(fig["data"]) - 1
    assert fig["data"][node_trace]["mode"] == "markers"
    first_delta = {("h", 0): 7, ("h", 1): 7, ("o", 0): 5}
    for step, slider_step in enumerate(steps):
        hover = slider_step["args"][0]["hovertext"][node_trace]
        assert len(hover) == len(NODES)
        for (kind, j), text in zip(NODES, hover):
            if (kind, j) in first_delta:
                assert ("δ = dL/dz" in text) == (step >= first_delta[kind, j])
        if step == len(steps) - 1:
            assert f"δ = dL/dz = {t['delta1'][0, 0]:.4f}" in hover[2]
            assert f"δ = dL/dz = {t['delta2'][0, 0]:.4f}" in hover[4]
            assert f"a = σ(z) = {t['a2'][0, 0]:.4f}" in hover[4]


def test_twin_colours_what_each_step_computes():
    from backprop.labs.explore import decode

    fig, steps = _twin_steps()
    node_trace = len(fig["data"]) - 1
    for step, slider_step in enumerate(steps):
        restyle = slider_step["args"][0]
        ring = restyle["marker.line.color"][node_trace]
        widths = decode(restyle["marker.line.width"][node_trace])
        edges = restyle["line.color"][1:node_trace]
        colour = "#1f77b4" if step <= 4 else "#d62728"   # blue forward, red backward
        active = [c == colour for c in ring]
        assert list(widths > 1) == active
        assert all(c in (colour, "black") for c in ring)
        assert set(edges) <= {colour, "#bfbfbf"}
        # steps 1 and 8 light W1's four edges, steps 3 and 6 W2's two
        lit = [c == colour for c in edges]
        assert lit == {1: [True] * 4 + [False] * 2, 3: [False] * 4 + [True] * 2,
                       6: [False] * 4 + [True] * 2, 8: [True] * 4 + [False] * 2}.get(
                           step, [False] * 6), f"step {step}"
    # it opens at the last step, like the widget: the first layout is step 8's
    assert fig["layout"]["sliders"][0]["active"] == len(gb.STEPS) - 1
    assert fig["layout"]["annotations"] == steps[-1]["args"][1]["annotations"]


def test_twin_png_is_the_drawing_at_the_default_step():
    from backprop.labs.style import png_bytes

    def drawn(step):
        fig = gb.draw_step(gb.trace(), step)
        fig.tight_layout()
        return png_bytes(fig, dpi=100)

    png = gb.twin_png()
    assert png.startswith(b"\x89PNG")
    assert png == drawn(len(gb.STEPS) - 1) and png != drawn(len(gb.STEPS) - 2)


def test_twin_is_small_and_reproducible():
    from backprop.labs.explore import figure_json

    text = figure_json(gb.twin_figure())
    assert len(text) < 100_000
    assert text == figure_json(gb.twin_figure())
