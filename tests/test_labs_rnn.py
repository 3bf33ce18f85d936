"""backprop.labs.rnn_lab: the BPTT loop and its h[-1] slip, gradient norms through time,
the sine-wave model against finite differences and PyTorch, chunked truncated BPTT against
torch's detach(), and the twin against a live call."""

import numpy as np
import pytest
import torch

from backprop.gradcheck import numerical_gradient, rel_error
from backprop.labs import rnn_lab as lab
from backprop.rnn import rnn_backward, rnn_forward


def _sequence(seed, N=3, T=5, D=2, H=4):
    rng = np.random.default_rng(seed)
    p = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
             Wx=0.5 * rng.standard_normal((D, H)), Wh=0.5 * rng.standard_normal((H, H)),
             b=0.5 * rng.standard_normal(H))
    return p, rng.standard_normal((N, T, H))


def _lists(p, dh, h):
    T = h.shape[1]
    return ([dh[:, t] for t in range(T)], [p["x"][:, t] for t in range(T)], p["h0"],
            [h[:, t] for t in range(T)], p["Wx"], p["Wh"])


def test_bptt_loop_with_h0_is_rnn_backward():
    p, dh = _sequence(0)
    h, cache = rnn_forward(**p)
    _, _, dWx, dWh, db = rnn_backward(dh, cache)
    for a, b in zip(lab.bptt_loop(*_lists(p, dh, h), keep_h0=True), (dWx, dWh, db)):
        assert rel_error(a, b) < 1e-12


def test_the_slip_replaces_h0_by_the_last_state_in_one_term():
    """dWh_slip - dWh = (h_T - h0).T @ da_1, with da_1 = dh0 @ inv(Wh.T)."""
    p, dh = _sequence(1)
    h, cache = rnn_forward(**p)
    _, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    sWx, sWh, sdb = lab.bptt_loop(*_lists(p, dh, h), keep_h0=False)
    assert rel_error(sWx, dWx) < 1e-12 and rel_error(sdb, db) < 1e-12
    da1 = np.linalg.solve(p["Wh"], dh0.T).T          # dh0 = da1 @ Wh.T
    np.testing.assert_allclose(sWh - dWh, (h[:, -1] - p["h0"]).T @ da1, atol=1e-10)
    assert rel_error(sWh, dWh) > 1e-2


def test_spectral_matrix_has_the_radius():
    W = lab.spectral_matrix(8, 1.3, np.random.default_rng(0))
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(W)), 1.3, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 1.3, rtol=1e-12)


def test_grad_norms_match_torch_autograd():
    T, rho, H, N = 12, 1.1, 6, 3
    norms = lab.grad_norms_through_time(T, rho, H=H, N=N, x_scale=0.3, seed=4)
    # the same set-up, rebuilt from the same rng draws, through torch autograd
    rng = np.random.default_rng(4)
    Wh = lab.spectral_matrix(H, rho, rng)
    Wx = rng.standard_normal((H, H)) / np.sqrt(H)
    x = torch.tensor(0.3 * rng.standard_normal((N, T, H)))
    c = rng.standard_normal((N, H))
    c /= np.linalg.norm(c)
    hs, prev = [], torch.zeros(N, H, dtype=torch.float64, requires_grad=True)
    for t in range(T):
        prev = torch.tanh(x[:, t] @ torch.tensor(Wx) + prev @ torch.tensor(Wh))
        prev.retain_grad()
        hs.append(prev)
    (hs[-1] * torch.tensor(c)).sum().backward()
    expected = [h.grad.norm().item() for h in hs]
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


@pytest.mark.parametrize("rho", [0.8, 1.2])
def test_linear_regime_follows_rho_power(rho):
    """Tiny inputs keep tanh' ~ 1: ||dL/dh_0|| ~ rho^(T-1) (orthogonal Wh)."""
    norms = lab.grad_norms_through_time(20, rho, x_scale=1e-6)
    assert norms[-1] == pytest.approx(1.0)
    assert norms[0] == pytest.approx(rho ** 19, rel=1e-3)


def test_loss_and_grads_against_finite_differences():
    rng = np.random.default_rng(2)
    x, y = lab.sine_data(3, 6, rng)
    p = lab.init_model(1, 4, 1, rng)
    _, grads = lab.loss_and_grads(p, x, y)
    for k in lab.PARAMS:
        def f(v, k=k):
            return lab.loss_and_grads({**p, k: v}, x, y)[0]
        assert rel_error(grads[k], numerical_gradient(f, p[k].copy())) < 1e-7, k


def test_training_matches_torch_step_by_step():
    rng = np.random.default_rng(3)
    x, y = lab.sine_data(64, 10, rng)
    p = lab.init_model(1, 8, 1, rng)
    _, ours, _ = lab.train(p, x, y, 15, lr=1e-2, batch=16, seed=1)
    theirs = lab.torch_train(p, x, y, 15, lr=1e-2, batch=16, seed=1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert ours[-1] < ours[0]


def test_train_stops_above_and_clips():
    rng = np.random.default_rng(3)
    x, y = lab.sine_data(64, 10, rng)
    p = lab.init_model(1, 8, 1, rng)
    _, losses, norms = lab.train(p, x, y, 10, lr=1e-2, batch=16, stop_above=0.0)
    assert len(losses) == 1
    p1, _, n1 = lab.train(p, x, y, 1, lr=0.1, batch=16, clip=1e-3, optimizer="sgd")
    p2, _, n2 = lab.train(p, x, y, 1, lr=0.1, batch=16, optimizer="sgd")
    assert n1[0] == pytest.approx(n2[0])            # norms are before clipping
    step = np.sqrt(sum(np.sum((p1[k] - p[k]) ** 2) for k in lab.PARAMS))
    assert step == pytest.approx(0.1 * 1e-3, rel=1e-3)


def test_chunked_grads_match_torch_detach():
    rng = np.random.default_rng(5)
    x, y = lab.sine_data(2, 9, rng)
    p = lab.init_model(1, 3, 1, rng)
    k = 4
    loss, grads = lab.chunked_grads(p, x, y, k)
    rnn, lin = lab.torch_model(p)
    X, Y = torch.tensor(x), torch.tensor(y)
    h = torch.zeros(1, 2, 3, dtype=torch.float64)
    total = 0
    for s in range(0, 9, k):
        out, h = rnn(X[:, s:s + k], h.detach())
        total = total + ((lin(out) - Y[:, s:s + k]) ** 2).sum() / Y.numel()
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-12)
    assert rel_error(grads["Wh"], rnn.weight_hh_l0.grad.numpy().T) < 1e-10
    assert rel_error(grads["Wx"], rnn.weight_ih_l0.grad.numpy().T) < 1e-10
    assert rel_error(grads["b"], rnn.bias_ih_l0.grad.numpy()) < 1e-10
    assert rel_error(grads["Wy"], lin.weight.grad.numpy().T) < 1e-10
    full = lab.loss_and_grads(p, x, y)[1]
    assert rel_error(grads["Wh"], full["Wh"]) > 1e-6      # a different gradient


def test_chunks_use_less_memory():
    rng = np.random.default_rng(6)
    x, y = lab.sine_data(8, 400, rng)
    p = lab.init_model(1, 32, 1, rng)
    full = lab.peak_memory(lab.loss_and_grads, p, x, y)
    chunk = lab.peak_memory(lab.chunked_grads, p, x, y, 40)
    assert full > 8 * 400 * 32 * 8          # at least the states
    assert chunk < full / 4


def test_echo_data_is_delayed_input():
    x, y = lab.echo_data(3, 10, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(y[:, 2:], x[:, :-2])
    assert np.all(y[:, :2] == 0)


def test_twin_grid_point_matches_a_live_run():
    from backprop.labs.explore import decode

    fig = lab.twin_figure(lengths=(10, 25, 50), radii=(0.9, 1.0, 1.2))
    labels = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    g = labels.index("T = 25")
    step = next(s for s in fig["layout"]["sliders"][g]["steps"] if s["label"] == "1.20")
    restyle, indices = step["args"]
    np.testing.assert_allclose(decode(restyle["y"][0]),
                               lab.grad_norms_through_time(25, 1.2), rtol=5e-4)
    np.testing.assert_allclose(decode(restyle["y"][1]), 1.2 ** (24.0 - np.arange(25)),
                               rtol=5e-4)


def test_twin_png_is_a_png():
    assert lab.twin_png(T=10).startswith(b"\x89PNG")


def test_truncate_reaches_h0_exactly_when_t_minus_k_is_below_zero():
    """rnn_backward's docstring: with 0-based t, the gradient entering at
    h[:, t] is added to dh0 iff t - k <= -1, and then it equals full BPTT's."""
    p, _ = _sequence(7)
    h, cache = rnn_forward(**p)
    rng, k = np.random.default_rng(8), 2
    for t in range(h.shape[1]):
        dh = np.zeros_like(h)
        dh[:, t] = rng.standard_normal(h[:, t].shape)
        dh0_k = rnn_backward(dh, cache, truncate=k)[1]
        if t - k <= -1:
            np.testing.assert_allclose(dh0_k, rnn_backward(dh, cache)[1],
                                       rtol=1e-12)
        else:
            assert np.all(dh0_k == 0)
