"""Tests for backprop.labs.stability (chapter 7): the naive formulas fail as the chapter
says, the stable reference functions do not, and the float32 experiment measures what
it claims."""

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from backprop.activations import sigmoid  # noqa: E402
from backprop.gradcheck import gradient_check  # noqa: E402
from backprop.labs import stability as st  # noqa: E402
from backprop.losses import bce_with_logits, softmax_cross_entropy  # noqa: E402

X = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])


def test_record_warnings_captures_under_warnings_as_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, caught = st.record_warnings(st.sigmoid_naive, X)
    assert caught == ["overflow encountered in exp"]
    np.testing.assert_allclose(out, sigmoid(X), rtol=1e-15)


def test_where_over_two_branches_warns_three_overflows_and_one_invalid():
    out, caught = st.record_warnings(st.sigmoid_where, X)
    assert caught.count("overflow encountered in exp") == 3
    assert caught.count("invalid value encountered in divide") == 1
    np.testing.assert_allclose(out, sigmoid(X), rtol=1e-15)


def test_ratio_form_is_nan_at_plus_1000():
    out, caught = st.record_warnings(st.sigmoid_ratio, X)
    assert np.isnan(out[-1]) and caught


def test_stable_functions_silent_at_extremes():
    logits = 1e4 * np.array([[1.0, -1.0, 0.5], [0.2, -0.7, 1.0]])
    y = np.array([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="warn", divide="warn", invalid="warn"):
            sigmoid(X)
            loss, d = softmax_cross_entropy(logits, y)
            bl, bd = bce_with_logits(logits, (logits > 0) * 1.0)
    assert np.isfinite(loss) and np.isfinite(d).all() and np.isfinite(bl)


def test_naive_and_unfused_ce_fail_fused_matches_torch():
    logits = 1e4 * np.array([[1.0, -1.0, 0.5, -0.5]] * 2)
    y = np.array([0, 1])
    (naive, dn), c1 = st.record_warnings(st.softmax_ce_naive, logits, y)
    (unf, du), c2 = st.record_warnings(st.softmax_ce_unfused, logits, y)
    assert np.isnan(naive) and np.isnan(dn).any() and c1
    assert np.isinf(unf) and np.isfinite(du).all() and c2
    t = torch.tensor(logits, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(y))
    tl.backward()
    loss, d = softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(du, t.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=1e-12, atol=0)


def test_bce_on_probabilities_inf_and_nan_on_wrong_side():
    x = np.array([-1e4, 1e4])
    y = np.array([1.0, 0.0])
    (loss, grad), caught = st.record_warnings(st.bce_on_probabilities, x, y)
    assert np.isinf(loss) and np.isnan(grad).all() and caught


def test_exp_limits_are_where_exp_overflows_and_vanishes():
    for dtype in (np.float64, np.float32):
        lim = st.exp_limits(dtype)
        with np.errstate(over="ignore"):
            assert np.isfinite(np.exp(dtype(lim["overflow"] * (1 - 1e-6))))
            assert np.isinf(np.exp(dtype(lim["overflow"] * (1 + 1e-6))))
        assert np.exp(dtype(lim["zero"] * 1.01)) == 0
        assert np.exp(dtype(lim["underflow"] * 1.01)) < np.finfo(dtype).tiny


def test_loss_forms_fail_where_the_target_probability_underflows():
    s = np.array([1.0, 300.0, 380.0, 1000.0])
    res = st.loss_forms(s, np.float64, target=2)
    np.testing.assert_allclose(res["fused"], res["exact"], rtol=1e-12)
    assert np.isfinite(res["naive"][:2]).all() and np.isfinite(res["unfused"][:2]).all()
    assert not np.isfinite(res["naive"][2:]).any()
    assert not np.isfinite(res["unfused"][2:]).any()   # e^(-2s) = 0 once 2s > 745


def test_mlp_gradients_match_torch_and_central_differences():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (5, 6))
    y = rng.integers(0, 3, size=5)
    params = [(rng.standard_normal((6, 4)), 0.1 * rng.standard_normal(4)),
              (rng.standard_normal((4, 3)), 0.1 * rng.standard_normal(3))]
    loss, grads, (a_last, delta) = st.mlp_loss_and_grads(params, X, y)
    tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
          for W, b in params]
    h = torch.tanh(torch.tensor(X) @ tp[0][0] + tp[0][1])
    tl = F.cross_entropy(h @ tp[1][0] + tp[1][1], torch.tensor(y))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    for (dW, db), (W, b) in zip(grads, tp):
        np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a_last.T @ delta, grads[-1][0], rtol=1e-12)

    flat = {"W0": params[0][0], "b0": params[0][1], "W1": params[1][0], "b1": params[1][1]}

    def fwd(W0, b0, W1, b1):
        loss, g, _ = st.mlp_loss_and_grads([(W0, b0), (W1, b1)], X, y)
        return loss, g

    check = gradient_check(fwd, lambda d, g: tuple(d * a for pair in g for a in pair), flat,
                           tol=1e-6)
    assert check, str(check)


def test_mlp_keeps_float32():
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((4, 3)).astype(np.float32), np.zeros(3, np.float32))]
    loss, grads, _ = st.mlp_loss_and_grads(params, rng.standard_normal((2, 4)).astype(np.float32),
                                           np.array([0, 2]))
    assert np.asarray(loss).dtype == np.float32
    assert all(g.dtype == np.float32 for pair in grads for g in pair)


def test_precision_run_short():
    rec = st.precision_run(n=64, steps=21, every=10)
    assert list(rec["at"]) == [0, 10, 20]
    assert rec["loss64"][-1] < rec["loss64"][0]
    # float32 differs from float64, but only at float32 rounding level
    assert 0 < rec["grad_err_same"].max() < 1e-4
    assert np.max(np.abs(rec["loss32"] - rec["loss64"]) / rec["loss64"]) < 1e-4
    # kappa = ||p|| / ||p - Y|| is at least ||p|| / (||p|| + ||Y||) and grows as the fit improves
    assert rec["kappa"][-1] > rec["kappa"][0]


def test_figures_and_widget_build():
    rec = st.precision_run(n=32, steps=11, every=5)
    for fig in (st.plot_precision_run(rec), st.plot_loss_forms(scales=np.logspace(-1, 3, 9))):
        assert fig.axes and all(ax.get_title() and ax.get_xlabel() for ax in fig.axes)
        plt.close(fig)
    box = st.loss_forms_widget()
    image = box.children[1]
    assert image.value[:4] == b"\x89PNG"
    box.children[0].children[0].value = "float32"
    assert image.value[:4] == b"\x89PNG"
