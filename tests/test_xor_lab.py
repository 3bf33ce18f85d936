"""Tests for backprop.labs.xor: batched training against the package's pairs and PyTorch."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop.labs import xor as xl  # noqa: E402

X, Y = xl.XOR_X, xl.XOR_Y


def _one(params, s):
    return {k: v[s] for k, v in params.items()}


def test_xor_data():
    np.testing.assert_array_equal(Y.ravel(), np.logical_xor(X[:, 0], X[:, 1]).astype(float))


def test_init_params_draws_each_seed_from_its_own_generator():
    p = xl.init_params([3, 11], hidden=5, scale=0.01)
    assert p["W1"].shape == (2, 2, 5) and p["W2"].shape == (2, 5, 1)
    rng = np.random.default_rng(11)
    np.testing.assert_array_equal(p["W1"][1], 0.01 * rng.standard_normal((2, 5)))
    np.testing.assert_array_equal(p["W2"][1], 0.01 * rng.standard_normal((5, 1)))
    assert not p["b1"].any() and not p["b2"].any()
    q = xl.init_params([0], hidden=4, scale="lecun")
    r = xl.init_params([0], hidden=4, scale=1.0)
    np.testing.assert_allclose(q["W1"], r["W1"] / np.sqrt(2))
    np.testing.assert_allclose(q["W2"], r["W2"] / 2)
    g = xl.init_params([0], hidden=4, scale="glorot")
    np.testing.assert_allclose(g["W1"], r["W1"] * np.sqrt(2 / 6))
    with pytest.raises(ValueError, match="scale"):
        xl.init_params([0], scale="he")
    with pytest.raises(ValueError, match="scale"):
        xl.init_params([0], scale="fan_in")  # named after who proposed it: "lecun"


@pytest.mark.parametrize("gradient", ["mse", "half"])
@pytest.mark.parametrize("scale", [0.01, "lecun", "glorot"])
def test_batched_training_matches_package_pairs(gradient, scale):
    params = xl.init_params([0, 1, 2], hidden=3, scale=scale)
    final, hist = xl.train_seeds(params, X, Y, lr=0.5, epochs=200, gradient=gradient)
    for s in range(3):
        ref, losses = xl.train_pairs(_one(params, s), X, Y, lr=0.5, epochs=200, gradient=gradient)
        np.testing.assert_allclose(hist["loss"][:, s], losses, rtol=1e-12, atol=1e-15)
        for k in ref:
            np.testing.assert_allclose(final[k][s], ref[k], rtol=1e-10, atol=1e-14)
    # train_seeds must not write into its argument
    np.testing.assert_array_equal(params["W1"], xl.init_params([0, 1, 2], 3, scale)["W1"])


def _torch_sgd(p, epochs, lr, half):
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    opt = torch.optim.SGD(t.values(), lr=lr)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(epochs):
        a2 = torch.sigmoid(torch.sigmoid(Xt @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])
        loss = torch.nn.functional.mse_loss(a2, Yt)
        opt.zero_grad()
        (0.5 * loss if half else loss).backward()
        opt.step()
    return {k: v.detach().numpy() for k, v in t.items()}


@pytest.mark.parametrize("gradient", ["mse", "half"])
def test_pairs_training_matches_torch_float64(gradient):
    # "mse" is torch's MSELoss; "half" is the gradient of half of it
    p = _one(xl.init_params([5], hidden=4, scale="lecun"), 0)
    ours, _ = xl.train_pairs(p, X, Y, lr=0.5, epochs=50, gradient=gradient)
    theirs = _torch_sgd(p, 50, 0.5, half=gradient == "half")
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-12)


def test_half_gradient_is_half_the_mse_gradient():
    p = xl.init_params([4], hidden=4, scale=1.0)
    _, h_mse = xl.train_seeds(p, X, Y, epochs=1, gradient="mse")
    _, h_half = xl.train_seeds(p, X, Y, epochs=1, gradient="half")
    np.testing.assert_allclose(h_half["grad_norm_W1"], 0.5 * h_mse["grad_norm_W1"], rtol=1e-12)
    np.testing.assert_allclose(h_half["grad_norm_W2"], 0.5 * h_mse["grad_norm_W2"], rtol=1e-12)
    # so training on L / 2 is training on L at half the learning rate
    half, _ = xl.train_seeds(p, X, Y, lr=0.5, epochs=100, gradient="half")
    slow, _ = xl.train_seeds(p, X, Y, lr=0.25, epochs=100, gradient="mse")
    for k in half:
        np.testing.assert_allclose(half[k], slow[k], rtol=1e-10, atol=1e-14)


def test_half_gradient_with_several_outputs_matches_torch():
    # M = 2: "half" is the gradient of L / 2 for any M, not only for one output
    rng = np.random.default_rng(3)
    y2 = rng.random((4, 2))
    p = {"W1": rng.standard_normal((2, 3)), "b1": np.zeros(3),
         "W2": rng.standard_normal((3, 2)), "b2": np.zeros(2)}
    ours, _ = xl.train_pairs(p, X, y2, lr=0.5, epochs=20, gradient="half")
    batched, _ = xl.train_seeds({k: v[None] for k, v in p.items()}, X, y2, lr=0.5, epochs=20,
                                gradient="half")
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    opt = torch.optim.SGD(t.values(), lr=0.5)
    for _ in range(20):
        a2 = torch.sigmoid(torch.sigmoid(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])
        opt.zero_grad()
        (0.5 * torch.nn.functional.mse_loss(a2, torch.tensor(y2))).backward()
        opt.step()
    for k in ours:
        np.testing.assert_allclose(ours[k], t[k].detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(batched[k][0], ours[k], rtol=1e-10, atol=1e-14)


def test_solved_uses_the_half_threshold():
    p = xl.init_params([0], hidden=2, scale=0.0)  # output 0.5 everywhere: not solved
    assert not xl.solved(p)[0]
    # a hand-made XOR network: h1 = OR, h2 = AND, out = h1 AND NOT h2
    good = {"W1": np.array([[20.0, 20.0], [20.0, 20.0]]), "b1": np.array([-10.0, -30.0]),
            "W2": np.array([[20.0], [-20.0]]), "b2": np.array([-10.0])}
    assert xl.solved(good)[0]
    bad = dict(good, W2=-good["W2"], b2=-good["b2"])
    assert not xl.solved(bad)[0]


def test_small_init_stalls_and_lecun_init_learns():
    # a scaled-down version of the chapter's experiment, 10 seeds x 5000 epochs
    small, h_small = xl.train_seeds(xl.init_params(range(10), scale=0.01), X, Y, 0.5, 5000,
                                    "half")
    big, h_big = xl.train_seeds(xl.init_params(range(10), scale="lecun"), X, Y, 0.5, 5000,
                                "half")
    assert xl.solved(small).sum() == 0
    np.testing.assert_allclose(h_small["loss"][-1], 0.25, atol=1e-4)
    assert xl.solved(big).sum() >= 8
    # the ~100x claim: at the start W1's gradient is far smaller than W2's
    ratio = h_small["grad_norm_W1"][0] / h_small["grad_norm_W2"][0]
    assert np.all(ratio < 0.05)


def test_bad_arguments_raise():
    p = xl.init_params([0])
    with pytest.raises(ValueError, match="gradient"):
        xl.train_seeds(p, X, Y, gradient="sse")
    with pytest.raises(ValueError, match="same N"):
        xl.train_seeds(p, X, Y[:3])


def test_explorer_figure_and_widget():
    import ipywidgets as w

    fig, n = xl.explorer_figure(scale="lecun", epochs=500, n_seeds=4)
    assert 0 <= n <= 4 and str(n) in fig.axes[0].get_title()
    assert fig.axes[0].get_xlabel() == "epoch" and fig.axes[1].get_xlabel() == "$x_1$"
    plt.close(fig)
    widget = xl.xor_explorer(epochs=200, n_seeds=2)
    names = {c.description for c in widget.children if isinstance(c, w.ValueWidget)}
    assert {"init scale", "lr", "hidden H", "epochs"} <= names
    plt.close("all")


def test_decision_boundary_only_where_the_output_varies():
    from matplotlib.contour import ContourSet

    good = {"W1": np.array([[20.0, 20.0], [20.0, 20.0]]), "b1": np.array([-10.0, -30.0]),
            "W2": np.array([[20.0], [-20.0]]), "b2": np.array([-10.0])}
    flat = dict(good, W2=good["W2"] * 1e-6, b2=np.array([0.0]))  # 0.5 +- 1e-5 everywhere
    for params, contours in ((good, 2), (flat, 1)):  # contourf, plus the 0.5 line
        fig, ax = plt.subplots()
        xl.plot_decision_boundary(params, ax, "t")
        assert sum(isinstance(c, ContourSet) for c in ax.collections) == contours
        plt.close(fig)


# --- the explorer's kernel-free twin (issue 9) ---------------------------------

def _flat(trace, prefix=""):
    out = {}
    for key, value in trace.items():
        if isinstance(value, dict) and "bdata" not in value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _twin_state(fig, group_label, step_label):
    """The traces of one grid point, as the dropdown and the slider show them."""
    labels = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    slider = fig["layout"]["sliders"][labels.index(group_label)]
    step = next(s for s in slider["steps"] if s["label"] == step_label)
    restyle, indices = step["args"]
    traces = []
    for k, i in enumerate(indices):
        t = _flat(fig["data"][i])
        t.update({path: values[k] for path, values in restyle.items()})
        traces.append(t)
    return traces


def _assert_twin_matches(traces, state, n_seeds):
    from backprop.labs.explore import decode

    loss = state["loss"]
    curves = {t["hovertemplate"].split("<br>")[0]: t
              for t in traces if t.get("mode") == "lines"}
    assert set(curves) == {f"seed {s}" for s in range(n_seeds)} | {"median over seeds"}
    ep = decode(curves["seed 0"]["x"])
    np.testing.assert_array_equal(ep, xl.twin_epochs(loss.shape[0]))
    # 4 significant digits (stored as float32): within 5e-4 relative
    for s in range(n_seeds):
        np.testing.assert_allclose(decode(curves[f"seed {s}"]["y"]), loss[ep - 1, s],
                                   rtol=5e-4)
    np.testing.assert_allclose(decode(curves["median over seeds"]["y"]),
                               np.median(loss[ep - 1], axis=1), rtol=5e-4)
    (text,) = [t for t in traces if t.get("mode") == "text"]
    assert text["text"] == [f"<b>{state['n_solved']} of {n_seeds} seeds solve XOR</b>"]
    (plane,) = [t for t in traces if t["type"] == "contour"]
    assert np.abs(decode(plane["z"]) / 255 - state["plane"]).max() <= 0.5 / 255 + 1e-12
    assert (plane["line.width"] > 0) == xl._has_boundary(state["plane"])
    seed0 = {k: v[0] for k, v in state["params"].items()}
    for t in traces:
        if t.get("mode") == "markers":
            x = np.column_stack([decode(t["x"]), decode(t["y"])])
            np.testing.assert_allclose(decode(t["customdata"]),
                                       xl.predict(seed0, x)[:, 0], rtol=5e-3)


def test_twin_grid_point_equals_a_live_explorer_state():
    # a small grid: 2 x 2 groups, 2 learning rates, 300 epochs, 3 seeds
    fig = xl.twin_figure(scales=(0.1, 1.0), hidden=(2, 4), lrs=(0.5, 2.0), epochs=300,
                         n_seeds=3, default=(0.1, 4, 0.5))
    labels = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["init scale 0.1, H = 2", "init scale 0.1, H = 4",
                      "init scale 1, H = 2", "init scale 1, H = 4"]
    assert fig["layout"]["updatemenus"][0]["active"] == 1
    assert [s["label"] for s in fig["layout"]["sliders"][0]["steps"]] == ["0.5", "2"]
    for group, step, args in (("init scale 1, H = 4", "2", (1.0, 2.0, 4)),
                              ("init scale 0.1, H = 2", "0.5", (0.1, 0.5, 2))):
        live = xl.explorer_state(*args, epochs=300, n_seeds=3, resolution=31)
        _assert_twin_matches(_twin_state(fig, group, step), live, 3)
    # every trace is drawn in every state; a dropdown choice shows its own copy
    n = len(fig["data"])
    visible = [t["visible"] for t in fig["data"][:n - 1]]
    assert sum(visible) == len(visible) // 4


def test_exercise_twin_has_one_h_and_labels_the_scale_alone():
    fig = xl.twin_figure(scales=(0.01, 1.0), hidden=(4,), lrs=(0.5,), epochs=50, n_seeds=2)
    labels = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["init scale 0.01", "init scale 1"]
    assert fig["layout"]["title"]["text"] == "XOR explorer: 2 seeds, 50 epochs"


def test_exercise_twin_counts_the_exercises_criterion():
    """Exercise 4 grades "final loss below 0.01"; its twin counts exactly that."""
    kw = dict(scales=(1.0,), hidden=(4,), lrs=(0.1, 2.0), epochs=300, n_seeds=4,
              default=(1.0, 4, 0.1))
    fig = xl.twin_figure(**kw, loss_below=0.05)
    texts = [t["text"][0] for t in fig["data"] if t.get("mode") == "text"]
    (state,) = xl.explorer_states((1.0,), 0.1, 4, 300, 4)
    expected = int((state["loss"][-1] < 0.05).sum())
    assert texts == [f"<b>{expected} of 4 seeds reach loss < 0.05</b>"]
    steps = fig["layout"]["sliders"][0]["steps"]
    (state2,) = xl.explorer_states((1.0,), 2.0, 4, 300, 4)
    expected2 = int((state2["loss"][-1] < 0.05).sum())
    assert steps[1]["args"][0]["text"][[i for i, t in enumerate(fig["data"])
                                        if t.get("mode") == "text"][0]] == [
        f"<b>{expected2} of 4 seeds reach loss < 0.05</b>"]
    plain = xl.twin_figure(**kw)
    assert [t["text"][0] for t in plain["data"] if t.get("mode") == "text"] == [
        f"<b>{state['n_solved']} of 4 seeds solve XOR</b>"]


def test_chapter_twin_as_stored_equals_a_live_explorer_state():
    # the twin that chapter 4 stores (and the book shows), at one grid point
    import json
    from pathlib import Path

    from backprop.labs.explore import PLOTLY_MIME

    nb = json.loads((Path(__file__).parents[1] / "chapters" / "04_training_xor.ipynb")
                    .read_text())
    (fig,) = [o["data"][PLOTLY_MIME] for c in nb["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if PLOTLY_MIME in o.get("data", {})]
    live = xl.explorer_state(0.1, 2.0, 4, 5000, 20, resolution=31)
    _assert_twin_matches(_twin_state(fig, "init scale 0.1, H = 4", "2"), live, 20)
    assert fig["layout"]["updatemenus"][0]["buttons"][
        fig["layout"]["updatemenus"][0]["active"]]["label"] == "init scale 0.01, H = 4"


def test_widget_and_twin_share_explorer_states(monkeypatch):
    calls = []
    real = xl.explorer_states

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(xl, "explorer_states", spy)
    fig, n = xl.explorer_figure(scale=1.0, lr=0.5, hidden=2, epochs=100, n_seeds=2)
    plt.close(fig)
    assert calls == [([1.0], 0.5, 2, 100, 2, "mse", 101)]
    # the twin: one call per H and learning rate, with every scale
    xl.twin_figure(scales=(0.1, 1.0), hidden=(2, 4), lrs=(0.5, 2.0), epochs=100,
                   n_seeds=2, default=(1.0, 2, 0.5))
    assert sorted(calls[1:]) == sorted(((0.1, 1.0), lr, h, 100, 2)
                                       for h in (2, 4) for lr in (0.5, 2.0))
    png = xl.twin_png(scale=1.0, lr=0.5, hidden=2, epochs=100, n_seeds=2)
    assert png.startswith(b"\x89PNG") and len(calls) == 6


def test_explorer_states_train_each_scale_as_alone():
    # several scales in one batch: each seed's numbers as in a batch of its own
    both = xl.explorer_states([0.01, 1.0], lr=2.0, hidden=3, epochs=300, n_seeds=3,
                              resolution=7)
    for scale, state in zip((0.01, 1.0), both):
        alone = xl.explorer_state(scale, 2.0, 3, 300, 3, resolution=7)
        np.testing.assert_allclose(state["loss"], alone["loss"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state["plane"], alone["plane"], rtol=1e-12, atol=1e-15)
        assert state["n_solved"] == alone["n_solved"]


def test_explorer_state_plane_is_seed_0s_output():
    state = xl.explorer_state(1.0, 0.5, 4, 200, 3, resolution=5)
    g, out = state["grid"], state["plane"]
    np.testing.assert_array_equal(g, np.linspace(-0.5, 1.5, 5))
    seed0 = {k: v[0] for k, v in state["params"].items()}
    # out[i, j] is the output at x1 = g[j], x2 = g[i]
    np.testing.assert_allclose(out[1, 3], xl.predict(seed0, np.array([[g[3], g[1]]]))[0, 0])
    assert state["loss"].shape == (200, 3)
    assert state["n_solved"] == int(xl.solved(state["params"]).sum())
