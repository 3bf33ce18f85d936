"""Tests for backprop.labs.batchnorm_lab: chapter 9's BatchNorm experiments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from backprop.batchnorm import (batchnorm_backward, batchnorm_forward,  # noqa: E402
                                batchnorm_init_state)
from backprop.labs import batchnorm_lab as bl  # noqa: E402
from backprop.losses import softmax_cross_entropy  # noqa: E402

SIZES = [6, 5, 5, 5, 3]


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, SIZES[0])), rng.integers(0, SIZES[-1], n)


def test_source_post_backward_is_exact_but_returns_dx_only():
    rng = np.random.default_rng(0)
    x = 2 * rng.standard_normal((12, 4)) + 1
    gamma, dout = rng.uniform(0.5, 2, 4), rng.standard_normal((12, 4))
    _, cache, _ = batchnorm_forward(x, gamma, np.zeros(4), batchnorm_init_state(4))
    dx = batchnorm_backward(dout, cache)[0]
    post = bl.source_post_backward(dout, x, gamma)
    assert isinstance(post, np.ndarray) and post.shape == x.shape
    np.testing.assert_allclose(post, dx, rtol=1e-9, atol=1e-12)
    # with a different eps it is a different function: the comparison has teeth
    assert not np.allclose(bl.source_post_backward(dout, x, gamma, eps=1.0), dx)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_net_gradients_match_torch_float64(batchnorm):
    X, y = _data(16)
    params, states = bl.make_net(SIZES, batchnorm, np.random.default_rng(1))
    logits, caches, new_states = bl.net_forward(X, params, states)
    loss, dlogits = softmax_cross_entropy(logits, y)
    grads = bl.net_backward(dlogits, caches)
    assert set(grads) == set(params)

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    a = torch.tensor(X)
    for i in range(len(SIZES) - 1):
        a = a @ tp[f"{i}.W"] + tp[f"{i}.b"]
        if i < len(SIZES) - 2:
            if batchnorm:
                a = F.batch_norm(a, None, None, tp[f"{i}.gamma"], tp[f"{i}.beta"],
                                 training=True, eps=1e-5)
            a = torch.relu(a)
    tloss = F.cross_entropy(a, torch.tensor(y))
    tloss.backward()
    assert float(loss) == pytest.approx(tloss.item(), rel=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], tp[k].grad.numpy(), rtol=1e-9, atol=1e-12)
    if batchnorm:       # a bias before BatchNorm gets no gradient
        assert max(np.abs(grads[f"{i}.b"]).max() for i in range(3)) < 1e-12
        assert all(s is not None for s in new_states)
    else:
        assert all(s is None for s in new_states) and "0.gamma" not in params


def test_eval_mode_uses_running_statistics():
    X, _ = _data(20)
    params, states = bl.make_net(SIZES, True, np.random.default_rng(2))
    out_a, _, _ = bl.net_forward(X[:5], params, states, train=False)
    out_b, _, _ = bl.net_forward(X, params, states, train=False)
    np.testing.assert_allclose(out_a, out_b[:5], rtol=1e-12)        # batch-independent
    out_t, _, _ = bl.net_forward(X[:5], params, states, train=True)
    out_u, _, _ = bl.net_forward(X, params, states, train=True)
    assert not np.allclose(out_t, out_u[:5])                        # batch-dependent


def test_train_net_is_pure_learns_and_flags_divergence():
    X, y = _data(64)
    params, states = bl.make_net(SIZES, True, np.random.default_rng(3))
    snapshot = {k: v.copy() for k, v in params.items()}
    run = bl.train_net(X, y, params, states, lr=0.1, epochs=6, batch_size=16)
    for k in params:
        np.testing.assert_array_equal(params[k], snapshot[k])
    assert not run["diverged"] and len(run["losses"]) == 6
    assert run["losses"][-1] < run["losses"][0]
    assert run["states"][0]["running_mean"] is not states[0]["running_mean"]
    plain, pstates = bl.make_net(SIZES, False, np.random.default_rng(3), gain=3.0)
    bad = bl.train_net(X, y, plain, pstates, lr=50.0, epochs=3, batch_size=16)
    assert bad["diverged"] and len(bad["losses"]) < 3


def test_largest_lr_that_trains():
    lrs = [0.1, 1.0, 10.0]
    final = np.array([[0.5, 0.9, np.nan],
                      [0.4, 1.2, 0.3]])
    assert bl.largest_lr_that_trains(lrs, final) == 0.1
    assert bl.largest_lr_that_trains(lrs, final[:1]) == 1.0
    assert bl.largest_lr_that_trains(lrs, np.full((2, 3), 2.0)) is None


def test_lr_sweep_shapes_and_runs():
    X, y = _data(32)
    sw = bl.lr_sweep(X, y, SIZES, True, [0.01, 0.1], (0, 1), epochs=2, batch_size=16)
    assert sw["final"].shape == (2, 2)
    assert set(sw["runs"]) == {(s, lr) for s in (0, 1) for lr in (0.01, 0.1)}
    assert sw["final"][1, 0] == sw["runs"][1, 0.01]["losses"][-1]


def test_jacobian_matches_the_closed_form():
    rng = np.random.default_rng(4)
    x, gamma = 3 * rng.standard_normal((7, 2)) + 1, np.array([0.7, 1.5])
    J = bl.jacobian(x, gamma, train=True)
    Je = bl.jacobian(x, gamma, train=False)
    assert J.shape == Je.shape == (2, 7, 7)
    for j in range(2):
        var = x[:, j].var()
        s = 1 / np.sqrt(var + 1e-5)
        h = (x[:, j] - x[:, j].mean()) * s
        expected = gamma[j] * s / 7 * (7 * np.eye(7) - 1 - np.outer(h, h))
        np.testing.assert_allclose(J[j], expected, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(Je[j], gamma[j] * s * np.eye(7), rtol=1e-12, atol=0)
        # rows of the training-mode block sum to zero (shifting x changes nothing)
        np.testing.assert_allclose(J[j].sum(axis=1), 0, atol=1e-12)


def test_figures_have_titles_and_labels():
    X, y = _data(32)
    lrs = [0.01, 0.1, 1.0]
    finals = {"a": np.array([[1.5, 0.5, np.nan]]), "b": np.array([[0.9, 0.2, 0.3]])}
    figs = [bl.plot_lr_sweep(lrs, finals, {"a": 0.1, "b": 1.0}),
            bl.plot_loss_curves({("a", 0.1): [2.0, 1.0], ("a", 1.0): []}),
            bl.plot_grad_norms({"x": np.array([1.0, 0.5, 0.2])}),
            bl.explorer_figure(X, y, SIZES, lr=0.1, gain=1.0, epochs=2, batch_size=16),
            bl.plot_jacobian(bl.jacobian(X[:4, :1], np.ones(1)),
                             bl.jacobian(X[:4, :1], np.ones(1), train=False))]
    for fig in figs:
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert any(ax.get_title() for ax in axes) or fig._suptitle is not None
        assert all(ax.get_xlabel() for ax in axes)
        plt.close(fig)


def test_explorer_widget_draws_and_reuses_runs():
    pytest.importorskip("ipywidgets")
    X, y = _data(32)
    box = bl.explorer_widget(X, y, SIZES, epochs=2, batch_size=16)
    first = box.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    n_runs = len(bl._EXPLORER_RUNS)
    box.lr.value = 1.0
    assert box.image.value != first and len(bl._EXPLORER_RUNS) == n_runs + 2
    box.lr.value = 0.1                       # back to the default: memoised, no new run
    assert len(bl._EXPLORER_RUNS) == n_runs + 2
