"""Tests for backprop.labs.initialisation: variance per layer, symmetry (chapter 8)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop.labs import initialisation as il  # noqa: E402

TORCH_ACT = {"linear": lambda z: z, "tanh": torch.tanh, "relu": torch.relu}


@pytest.mark.parametrize("activation", list(il.ACTIVATIONS))
def test_forward_backward_matches_torch_float64(activation):
    rng = np.random.default_rng(1)
    X, G = rng.standard_normal((6, 5)), rng.standard_normal((6, 4))
    Ws = il.init_weights([5, 7, 3, 4], "he", rng)
    zs, deltas = il.forward_backward(X, Ws, activation, G)
    a, tz = torch.tensor(X, requires_grad=True), []
    for W in Ws:
        z = a @ torch.tensor(W)
        z.retain_grad()
        tz.append(z)
        a = TORCH_ACT[activation](z)
    (a * torch.tensor(G)).sum().backward()
    assert [z.shape for z in zs] == [(6, 7), (6, 3), (6, 4)]
    for z, d, t in zip(zs, deltas, tz):
        np.testing.assert_allclose(z, t.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(d, t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_linear_regime_predictions_are_the_closed_forms():
    w = [64] * 11
    p = il.predicted_profile(w, "linear", "lecun")
    np.testing.assert_allclose(p["forward"], 1.0)
    np.testing.assert_allclose(p["backward"], 1.0)
    p = il.predicted_profile(w, "relu", "he")
    np.testing.assert_allclose(p["forward"], 2.0)       # q_1 = 64 (2/64) E[x^2] = 2
    np.testing.assert_allclose(p["backward"], 0.5)      # g_K = E[relu'^2] = 1/2
    p = il.predicted_profile(w, "linear", "torch")
    np.testing.assert_allclose(p["forward"], 3.0 ** -np.arange(1, 11))
    p = il.predicted_profile(w, "relu", "lecun")
    np.testing.assert_allclose(p["forward"], 2.0 ** -np.arange(0, 10))
    # Glorot's 3/4 per pair of alternating layers 128 -> 384 -> 128
    p = il.predicted_profile([128, 384, 128, 384, 128], "linear", "glorot")
    assert p["forward"][3] / p["forward"][1] == pytest.approx(0.75, rel=1e-12)
    # LeCun's backward factors telescope to H_K / H_1
    p = il.predicted_profile([256, 128, 384, 128, 384], "linear", "lecun")
    assert p["backward"][0] == pytest.approx(384 / 128, rel=1e-12)


def test_gaussian_gains_against_direct_integration():
    z = np.linspace(-12, 12, 200001)
    for q in (0.01, 0.5, 2.0):
        pdf = np.exp(-z * z / (2 * q)) / np.sqrt(2 * np.pi * q)
        f = np.trapezoid(np.tanh(z) ** 2 * pdf, z) / q
        b = np.trapezoid((1 - np.tanh(z) ** 2) ** 2 * pdf, z)
        assert il.gaussian_gains("tanh", q) == pytest.approx((f, b), rel=1e-6)
    assert il.gaussian_gains("relu", 3.0) == (0.5, 0.5)
    assert il.gaussian_gains("linear", 3.0) == (1.0, 1.0)
    # small q: E[tanh(z)^2] ~ q - 2 q^2
    assert il.gaussian_gains("tanh", 1e-3)[0] == pytest.approx(1 - 2e-3, abs=1e-5)


@pytest.mark.parametrize("activation, init_name", [("linear", "lecun"), ("relu", "he"),
                                                   ("relu", "glorot")])
def test_prediction_is_the_average_over_networks(activation, init_name):
    """Exact in expectation for linear and ReLU layers: the mean over 60 shallow networks
    is within 10 % (several standard errors) of the prediction."""
    widths = [64] * 6
    runs = [il.variance_profile(activation=activation, init_name=init_name, n=32, seed=s,
                                widths=widths) for s in range(60)]
    pred = il.predicted_profile(widths, activation, init_name)
    for key in ("forward", "backward"):
        mean = np.mean([r[key] for r in runs], axis=0)
        np.testing.assert_allclose(mean, pred[key], rtol=0.1)


def test_tanh_leaves_the_linear_regime_and_gaussian_prediction_follows():
    m = il.variance_profile(depth=30, width=128, activation="tanh", init_name="lecun", n=32)
    lin = il.predicted_profile([128] * 31, "tanh", "lecun", "linear")
    gau = il.predicted_profile([128] * 31, "tanh", "lecun", "gaussian")
    assert lin["forward"][-1] == pytest.approx(1.0)
    assert m["forward"][-1] < 0.1                                  # far from 1
    assert m["forward"][-1] == pytest.approx(gau["forward"][-1], rel=0.35)


def test_variance_profile_shapes_determinism_and_forward_only():
    a = il.variance_profile(depth=4, width=8, n=5, seed=3)
    b = il.variance_profile(depth=4, width=8, n=5, seed=3)
    assert a["forward"].shape == a["backward"].shape == (4,)
    np.testing.assert_array_equal(a["forward"], b["forward"])
    c = il.variance_profile(depth=4, width=8, n=5, seed=3, backward=False)
    assert set(c) == {"forward"}
    np.testing.assert_array_equal(a["forward"], c["forward"])


@pytest.mark.parametrize("kwargs", [dict(activation="sigmoid"), dict(init_name="zero"),
                                    dict(depth=0), dict(widths=[5])])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        il.variance_profile(**{"depth": 3, "width": 4, "n": 2, **kwargs})


def test_weight_variance_rules():
    assert il.weight_variance("lecun", 100, 300) == pytest.approx(1 / 100)
    assert il.weight_variance("glorot", 100, 300) == pytest.approx(2 / 400)
    assert il.weight_variance("he", 100, 300) == pytest.approx(2 / 100)
    assert il.weight_variance("torch", 100, 300) == pytest.approx(1 / 300)
    for name in il.INITS:
        W = il.init_weights([300, 400], name, np.random.default_rng(0))[0]
        assert W.var() == pytest.approx(il.weight_variance(name, 300, 400), rel=0.03)


def _digits_like(n=60, d=12, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, c, size=n)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_symmetric_start_stays_exactly_symmetric(activation):
    X, y = _digits_like()
    p0 = il.symmetric_params(12, 5, 3, np.random.default_rng(1))
    copy = [a.copy() for a in p0]
    p, h = il.train_two_layer(X, y, p0, activation, lr=0.5, steps=40)
    assert all(np.array_equal(a, b) for a, b in zip(p0, copy))        # params untouched
    assert np.all(h["spread"] == 0.0) and il.unit_spread(p) == 0.0
    assert h["loss"][-1] < h["loss"][0]                                 # it does train


def test_random_start_splits_and_zero_start_learns_only_b2():
    X, y = _digits_like()
    _, h = il.train_two_layer(X, y, il.random_params(12, 5, 3, np.random.default_rng(1)),
                              "tanh", lr=0.5, steps=20)
    assert h["spread"].min() > 0.01
    (W1, b1, W2, b2), _ = il.train_two_layer(X, y, il.constant_params(12, 5, 3, 0.0),
                                             "tanh", lr=0.5, steps=20)
    assert not (W1.any() or b1.any() or W2.any()) and b2.any()


def test_torch_default_profile_and_prediction():
    q, share = il.torch_default_profile(depth=6, width=128, activation="relu", n=64)
    pred = il.torch_default_prediction(6, 128, "relu")
    assert pred[0] == pytest.approx(1 / 3 + 1 / (3 * 128))
    assert q[0] == pytest.approx(pred[0], rel=0.1)
    assert q.shape == share.shape == (6,)
    assert share[0] > 0.9 and share[-1] < 1e-2                        # the input fades
    # the floor of a linear stack: q = q/3 + 1/(3H) -> 1/(2H)
    assert il.torch_default_prediction(200, 128, "linear")[-1] == pytest.approx(1 / 256)


def test_figures_and_widget():
    w = [16] * 5
    measured = {(a, i): il.variance_profile(activation=a, init_name=i, widths=w, n=4)
                for a in ("linear", "relu") for i in ("lecun", "he")}
    predicted = {k: il.predicted_profile(w, *k) for k in measured}
    fig = il.plot_profiles(measured, predicted, ("linear", "relu"), ("lecun", "he"))
    assert len(fig.axes) == 4 and all(ax.get_title() for ax in fig.axes)
    plt.close(fig)
    X, y = _digits_like()
    _, h = il.train_two_layer(X, y, il.constant_params(12, 5, 3, 0.0), steps=3)
    fig = il.plot_symmetry({"zero": h})
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = il.explorer_figure(depth=5, activation="tanh", init_name="lecun", width=16, n=4)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3     # measured, 2 predictions
    plt.close(fig)
    box = il.variance_widget(depth=3)
    first = box.image.value
    assert first[:4] == b"\x89PNG"
    box.activation.value = "tanh"
    assert box.image.value != first
    assert math.isfinite(len(box.image.value))
