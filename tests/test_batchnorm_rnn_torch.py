"""BatchNorm running statistics and the RNN against torch.nn modules."""

import numpy as np
import pytest
import torch

import torch_ref as T
from backprop.batchnorm import (batchnorm_backward, batchnorm_forward,
                                batchnorm_init_state)
from backprop.gradcheck import rel_error
from backprop.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward


# --- BatchNorm vs torch.nn.BatchNorm1d ------------------------------------

@pytest.mark.parametrize("momentum", [0.1, 0.3, 1.0])
@pytest.mark.parametrize("N", [2, 7])
def test_batchnorm_running_stats_match_torch(N, momentum):
    rng = np.random.default_rng(N)
    D = 4
    gamma, beta = rng.uniform(0.5, 2, D), rng.standard_normal(D)
    bn = torch.nn.BatchNorm1d(D, momentum=momentum, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    state = batchnorm_init_state(D, np.float64)
    rv_unbiased, rv_biased = np.ones(D), np.ones(D)     # hand-kept recurrences
    np.testing.assert_array_equal(state["running_mean"], bn.running_mean.numpy())
    np.testing.assert_array_equal(state["running_var"], bn.running_var.numpy())
    for step in range(5):
        x = rng.standard_normal((N, D)) * (step + 1) + 3.0   # statistics move every step
        out, _, state = batchnorm_forward(x, gamma, beta, state, train=True, momentum=momentum)
        rv_unbiased = (1 - momentum) * rv_unbiased + momentum * x.var(axis=0, ddof=1)
        rv_biased = (1 - momentum) * rv_biased + momentum * x.var(axis=0, ddof=0)
        t_out = bn(torch.tensor(x)).detach().numpy()
        assert rel_error(out, t_out) < 1e-9
        assert rel_error(state["running_mean"], bn.running_mean.numpy()) < 1e-12
        assert rel_error(state["running_var"], bn.running_var.numpy()) < 1e-12
    # The running variance is the unbiased one; a biased update would differ.
    np.testing.assert_allclose(state["running_var"], rv_unbiased, rtol=1e-12)
    assert rel_error(state["running_var"], rv_biased) > 1e-3

    bn.eval()
    x = rng.standard_normal((3, D))
    dout = rng.standard_normal((3, D))
    out, cache, new_state = batchnorm_forward(x, gamma, beta, state, train=False)
    xt = torch.tensor(x, requires_grad=True)
    t_out = bn(xt)
    (t_out * torch.tensor(dout)).sum().backward()
    assert rel_error(out, t_out.detach().numpy()) < 1e-9
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert rel_error(dx, xt.grad.numpy()) < 1e-9
    assert rel_error(dgamma, bn.weight.grad.numpy()) < 1e-9
    assert rel_error(dbeta, bn.bias.grad.numpy()) < 1e-9
    # Eval mode leaves the statistics unchanged, in new arrays.
    for k in state:
        np.testing.assert_array_equal(new_state[k], state[k])
        assert new_state[k] is not state[k]


def test_batchnorm_eval_differs_from_train():
    """Eval normalises with the running statistics, not the batch's."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3)) * 4 + 2
    state = batchnorm_init_state(3)
    ones, zeros = np.ones(3), np.zeros(3)
    out_eval, _, _ = batchnorm_forward(x, ones, zeros, state, train=False)
    np.testing.assert_allclose(out_eval, x / np.sqrt(1 + 1e-5), rtol=1e-12)
    out_train, _, _ = batchnorm_forward(x, ones, zeros, state, train=True)
    np.testing.assert_allclose(out_train.mean(axis=0), 0, atol=1e-12)


def test_batchnorm_train_needs_two_samples():
    state = batchnorm_init_state(3)
    x = np.ones((1, 3))
    with pytest.raises(ValueError, match=r"more than 1 value"):
        batchnorm_forward(x, np.ones(3), np.zeros(3), state, train=True)
    bn = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    with pytest.raises(ValueError):       # torch refuses too
        bn(torch.tensor(x))
    batchnorm_forward(x, np.ones(3), np.zeros(3), state, train=False)   # eval is fine


def test_batchnorm_keeps_state_dtype_and_float32():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    state = batchnorm_init_state(3, np.float32)
    out, cache, new_state = batchnorm_forward(x, np.ones(3, np.float32),
                                              np.zeros(3, np.float32), state)
    assert out.dtype == np.float32
    assert new_state["running_mean"].dtype == np.float32
    assert new_state["running_var"].dtype == np.float32
    dx, dgamma, dbeta = batchnorm_backward(np.ones_like(out), cache)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == np.float32


# --- RNN vs torch.nn.RNN ----------------------------------------------------

def _rnn_inputs(rng, N, T_, D, H):
    return dict(x=rng.standard_normal((N, T_, D)), h0=rng.standard_normal((N, H)),
                Wx=0.5 * rng.standard_normal((D, H)), Wh=0.5 * rng.standard_normal((H, H)),
                b=0.5 * rng.standard_normal(H))


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 1, 3, 4), (3, 7, 2, 5), (4, 12, 3, 6)])
def test_rnn_matches_torch_nn_rnn(shape):
    rng = np.random.default_rng(sum(shape))
    p = _rnn_inputs(rng, *shape)
    dh = rng.standard_normal(shape[:2] + (shape[3],))
    h, cache = rnn_forward(**p)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    rnn = T.make_torch_rnn(p["Wx"], p["Wh"], p["b"])
    xt = torch.tensor(p["x"], requires_grad=True)
    h0t = torch.tensor(p["h0"][None], requires_grad=True)    # (1, N, H): one layer
    out, h_last = rnn(xt, h0t)
    (out * torch.tensor(dh)).sum().backward()

    assert rel_error(h, out.detach().numpy()) < 1e-9
    assert rel_error(h[:, -1], h_last[0].detach().numpy()) < 1e-9
    assert rel_error(dx, xt.grad.numpy()) < 1e-9
    assert rel_error(dh0, h0t.grad[0].numpy()) < 1e-9
    assert rel_error(dWx, rnn.weight_ih_l0.grad.numpy().T) < 1e-9
    assert rel_error(dWh, rnn.weight_hh_l0.grad.numpy().T) < 1e-9
    # torch's two biases receive the same gradient, which is ours.
    assert rel_error(db, rnn.bias_ih_l0.grad.numpy()) < 1e-9
    assert rel_error(db, rnn.bias_hh_l0.grad.numpy()) < 1e-9


def test_rnn_forward_is_a_chain_of_steps_and_uses_h0_at_t0():
    """The sequence equals rnn_step repeated; h0 (not h[:, -1]) enters step 0."""
    rng = np.random.default_rng(5)
    p = _rnn_inputs(rng, 2, 4, 3, 3)
    h, cache = rnn_forward(**p)
    dh = np.zeros_like(h)
    dh[:, 0] = rng.standard_normal((2, 3))    # gradient at the first state only
    _, dh0, _, dWh, _ = rnn_backward(dh, cache)
    prev, caches = p["h0"], []
    for t in range(4):
        prev, c = rnn_step_forward(p["x"][:, t], prev, p["Wx"], p["Wh"], p["b"])
        caches.append(c)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-13, atol=1e-15)
    _, dh_prev, _, dWh_step, _ = rnn_step_backward(dh[:, 0], caches[0])
    np.testing.assert_allclose(dh0, dh_prev, rtol=1e-12)
    # dWh at step 0 is h0.T @ da; reading h[:, -1] instead would differ.
    np.testing.assert_allclose(dWh, dWh_step, rtol=1e-12)
    assert not np.allclose(h[:, -1], p["h0"])


# --- truncated BPTT ---------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_truncated_bptt_matches_torch_detach(k):
    rng = np.random.default_rng(10 + k)
    N, T_, D, H = 2, 6, 3, 4
    p = _rnn_inputs(rng, N, T_, D, H)
    dh = rng.standard_normal((N, T_, H))
    h, cache = rnn_forward(**p)
    ours = dict(zip(["x", "h0", "Wx", "Wh", "b"], rnn_backward(dh, cache, truncate=k)))
    t_out, t_grads = T.vjp(T.rnn_truncated, p, dh, wrt=list(p), k=k)
    assert rel_error(h, t_out) < 1e-12          # same forward values
    for name in p:
        assert rel_error(ours[name], t_grads[name]) < 1e-9, name
    # Truncation changes the answer (k < T), so the comparison has teeth.
    full = rnn_backward(dh, cache)
    assert rel_error(ours["Wh"], full[3]) > 1e-3
    if k < T_:
        # Gradients entering at t >= k never reach h0.
        dh_late = dh.copy()
        dh_late[:, :k] = 0
        assert np.all(rnn_backward(dh_late, cache, truncate=k)[1] == 0)


@pytest.mark.parametrize("k", [6, 7, 100])
def test_truncate_at_least_T_is_full_bptt(k):
    rng = np.random.default_rng(3)
    p = _rnn_inputs(rng, 2, 6, 3, 4)
    dh = rng.standard_normal((2, 6, 4))
    h, cache = rnn_forward(**p)
    full = rnn_backward(dh, cache)
    trunc = rnn_backward(dh, cache, truncate=k)
    for a, b in zip(full, trunc):
        assert rel_error(a, b) < 1e-12


def test_truncate_1_is_one_step_per_entry():
    """truncate=1: each dh[:, t] only reaches step t (hand-built reference)."""
    rng = np.random.default_rng(4)
    p = _rnn_inputs(rng, 2, 5, 3, 4)
    dh = rng.standard_normal((2, 5, 4))
    h, cache = rnn_forward(**p)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache, truncate=1)
    prev = p["h0"]
    ref_dWh = np.zeros_like(p["Wh"])
    for t in range(5):
        _, c = rnn_step_forward(p["x"][:, t], prev, p["Wx"], p["Wh"], p["b"])
        gx, gprev, _, gWh, _ = rnn_step_backward(dh[:, t], c)
        np.testing.assert_allclose(dx[:, t], gx, rtol=1e-12)
        if t == 0:
            np.testing.assert_allclose(dh0, gprev, rtol=1e-12)
        ref_dWh += gWh
        prev = h[:, t]
    np.testing.assert_allclose(dWh, ref_dWh, rtol=1e-12)
