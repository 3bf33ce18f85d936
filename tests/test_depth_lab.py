"""Tests for backprop.labs.depth: gradient norms against depth (chapter 6)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402  (the book environment pins torch==2.13.0)

from backprop.labs import depth as dl  # noqa: E402
from backprop.init import he_std, xavier_std  # noqa: E402

TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


@pytest.mark.parametrize("activation", list(dl.ACTIVATIONS))
def test_mlp_gradients_match_torch_float64(activation):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, size=6)
    params = dl.make_mlp([5, 7, 7, 3], "xavier", rng, bias=0.1)
    out, caches, _ = dl.mlp_forward(X, params, activation)
    loss, dout = dl.softmax_cross_entropy(out, y)
    grads, deltas = dl.mlp_backward(dout, caches, activation)

    tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    a = torch.tensor(X)
    zs = []
    for i, (W, b) in enumerate(tp):
        z = a @ W + b
        z.retain_grad()
        zs.append(z)
        a = TORCH_ACT[activation](z) if i < len(tp) - 1 else z
    tloss = torch.nn.functional.cross_entropy(a, torch.tensor(y))
    tloss.backward()
    assert float(loss) == pytest.approx(tloss.item(), rel=1e-12)
    for (dW, db), (W, b), d, z in zip(grads, tp, deltas, zs):
        np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(d, z.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_make_mlp_scales_and_bias():
    rng = np.random.default_rng(0)
    p = dl.make_mlp([400, 300, 200], "xavier", rng)
    assert p[0][0].shape == (400, 300) and p[1][1].shape == (200,)
    assert np.std(p[0][0]) == pytest.approx(xavier_std(400, 300), rel=0.02)
    p = dl.make_mlp([400, 300], "he", rng, gain=2.0, bias=-1.0)
    assert np.std(p[0][0]) == pytest.approx(2 * he_std(400), rel=0.02)
    assert np.all(p[0][1] == -1.0)
    p = dl.make_mlp([400, 300], "normal", rng, std=0.01)
    assert np.std(p[0][0]) == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match="init_name"):
        dl.make_mlp([3, 3], "lecun", rng)


def test_sigmoid_derivative_is_at_most_a_quarter():
    x = np.linspace(-10, 10, 2001)
    out, cache = dl.ACTIVATIONS["sigmoid"][0](x)
    d = dl.ACTIVATIONS["sigmoid"][1](np.ones_like(x), cache)
    assert d.max() == pytest.approx(0.25, abs=1e-12)
    assert x[np.argmax(d)] == pytest.approx(0.0, abs=1e-9)


def test_small_init_vanishes_at_the_linear_rate():
    # With W ~ N(0, s^2) and tanh in its linear regime (tanh' ~ 1), one
    # backward step multiplies ||delta|| by about s sqrt(H): 19 steps for depth 20.
    s, H, depth = 0.01, 64, 20
    norms = dl.layer_gradient_norms(depth, H, "tanh", "normal", std=s, quantity="delta")
    predicted = (s * np.sqrt(H)) ** (depth - 1)
    assert abs(np.log10(dl.norm_ratio(norms)) - np.log10(predicted)) < 0.5


def test_vanishing_and_exploding_regimes():
    r = lambda act, ini, **kw: dl.norm_ratio(dl.layer_gradient_norms(20, 64, act, ini, quantity="delta", **kw))
    # sigmoid' <= 1/4: even Xavier cannot keep 19 layers from vanishing.
    assert r("sigmoid", "xavier") < 1e-6
    # He init keeps a ReLU net's backward signal within an order of magnitude.
    assert 0.1 < r("relu", "he") < 10
    # Xavier's variance is half of He's: ReLU loses about sqrt(2) per layer.
    assert r("relu", "xavier") < 1e-2
    # Large init explodes.
    assert r("relu", "normal", std=0.5) > 1e4
    assert r("tanh", "normal", std=0.5) > 1e2


def test_dW_norms_differ_from_delta_norms_and_are_deterministic():
    a = dl.layer_gradient_norms(8, 16, "tanh", "xavier")
    b = dl.layer_gradient_norms(8, 16, "tanh", "xavier")
    c = dl.layer_gradient_norms(8, 16, "tanh", "xavier", quantity="delta")
    assert a.shape == (8,) and np.array_equal(a, b) and not np.allclose(a, c)
    with pytest.raises(ValueError, match="depth"):
        dl.layer_gradient_norms(1)
    with pytest.raises(ValueError, match="quantity"):
        dl.layer_gradient_norms(3, quantity="dz")
    with pytest.raises(ValueError, match="activation"):
        dl.layer_gradient_norms(3, activation="gelu")
    with pytest.raises(ValueError, match="norms"):
        dl.norm_ratio([1.0])


def test_experiment_network_is_the_measured_network():
    X, y, params = dl.experiment_network(5, 16, "he", n=32, n_classes=4, seed=3)
    assert X.shape == (32, 16) and y.shape == (32,) and set(np.unique(y)) <= set(range(4))
    assert [W.shape for W, _ in params] == [(16, 16)] * 4 + [(16, 4)]
    X2, y2, params2 = dl.experiment_network(5, 16, "he", n=32, n_classes=4, seed=3)
    assert np.array_equal(X, X2) and all(np.array_equal(W, W2) for (W, _), (W2, _) in zip(params, params2))
    # layer_gradient_norms measures exactly this network: recompute ||dW_l|| from it
    out, caches, _ = dl.mlp_forward(X, params, "tanh")
    grads, _ = dl.mlp_backward(dl.softmax_cross_entropy(out, y)[1], caches, "tanh")
    expected = [np.linalg.norm(dW) for dW, _ in grads]
    got = dl.layer_gradient_norms(5, 16, "tanh", "he", n=32, n_classes=4, seed=3)
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(dl.experiment_network(5, 16, "he", seed=4)[0][:32], X)
    with pytest.raises(ValueError, match="depth"):
        dl.experiment_network(1)


def test_dead_units_and_training():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, size=50)
    dead = dl.dead_unit_fraction(X, dl.make_mlp([4, 8, 3], "he", rng, bias=-100.0))
    assert dead.tolist() == [1.0]
    p0 = dl.make_mlp([4, 16, 3], "he", np.random.default_rng(3))
    assert dl.dead_unit_fraction(X, p0)[0] < 0.5
    copy = [(W.copy(), b.copy()) for W, b in p0]
    p1, losses = dl.train_mlp(X, y, p0, "relu", 0.1, 30)
    assert losses[-1] < losses[0]
    for (W, b), (W0, b0) in zip(p0, copy):  # pure: params untouched
        assert np.array_equal(W, W0) and np.array_equal(b, b0)
    assert not np.array_equal(p1[0][0], p0[0][0])


def test_clip_cosines():
    g = {"a": np.array([3.0, 0.2]), "b": np.array([[-0.1, 5.0]])}
    cos = dl.clip_cosines(g, 1.0)
    assert cos["norm"] == pytest.approx(1.0, abs=1e-12)
    # by value gives (1, 0.2, -0.1, 1): compute its cosine by hand.
    u, v = np.array([3.0, 0.2, -0.1, 5.0]), np.array([1.0, 0.2, -0.1, 1.0])
    assert cos["value"] == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v), rel=1e-12)
    assert cos["value"] < 0.99  # the direction changed
    assert dl.clip_cosines(g, 10.0)["value"] == pytest.approx(1.0, abs=1e-12)


def _check_axes(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_figures_have_titles_and_labels():
    fig = dl.plot_activations()
    assert len(fig.axes) == 2
    for ax in fig.axes:
        _check_axes(ax)
        assert len(ax.get_lines()) >= 3
    plt.close(fig)
    fig = dl.plot_layer_norms({"x": [1.0, 0.1, 0.01]})
    _check_axes(fig.axes[0])
    assert fig.axes[0].get_yscale() == "log"
    # layers are counted: no tick at layer 1.5
    ticks = fig.axes[0].get_xticks()
    assert np.all(ticks == np.round(ticks))
    plt.close(fig)
    fig = dl.plot_layer_norms({"x": [1.0, 0.1]}, ylabel="||dL/dz_l||", legend=False)
    assert fig.axes[0].get_ylabel() == "||dL/dz_l||" and fig.axes[0].get_legend() is None
    plt.close(fig)
    fig = dl.plot_clipping_2d()
    _check_axes(fig.axes[0])
    plt.close(fig)
    fig = dl.explorer_figure(depth=5)
    _check_axes(fig.axes[0])
    assert "depth 5" in fig.axes[0].get_title()
    plt.close(fig)


def test_widget_controls_and_defaults():
    w = dl.gradient_norm_widget()
    values = {c.description: c.value for c in w.children if hasattr(c, "description") and c.description}
    assert values == {"depth": 20, "activation": "tanh", "init": "xavier", "init scale": 1.0}
    plt.close("all")


def test_twin_grid_point_matches_a_live_run():
    """The book's twin stores what the widget computes: relu, He, gain 2."""
    from backprop.labs.explore import decode

    fig = dl.twin_figure()
    groups = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    g = groups.index("relu, He")
    steps = fig["layout"]["sliders"][g]["steps"]
    step = next(s for s in steps if s["label"] == "2")
    restyle, indices = step["args"]
    live = dl.twin_state("relu", "he", 2.0)
    assert len(indices) == len(live)
    for k, (d, norms) in enumerate(live.items()):
        stored = decode(restyle["y"][k])
        np.testing.assert_allclose(stored, norms, rtol=5e-4)   # 4 significant digits
        ratios = decode(restyle["customdata"][k])
        np.testing.assert_allclose(ratios[0], dl.norm_ratio(norms), rtol=5e-4)
        assert restyle["name"][k] == f"depth {d}: ratio {dl.norm_ratio(norms):.1e}"
        assert fig["data"][indices[k]]["visible"] is False      # not the default choice
    default = fig["data"][[b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
                          .index("tanh, Xavier") * len(live)]
    assert default["visible"] is True
    np.testing.assert_allclose(decode(default["y"]),
                               dl.twin_state("tanh", "xavier", 1.0)[10], rtol=5e-4)
