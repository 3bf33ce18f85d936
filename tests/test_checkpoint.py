"""backprop.checkpoint: checkpointed gradients are the uncheckpointed ones,
bit for bit, and equal torch.utils.checkpoint's in float64; the memory model
and the sqrt(n) schedule; nothing is written into the arguments."""

import numpy as np
import pytest
import torch
from torch.utils.checkpoint import checkpoint_sequential

from backprop import checkpoint as ck
from backprop.activations import tanh_backward, tanh_forward
from backprop.layers import (dense_backward, dense_forward, dense_relu_backward,
                             dense_relu_forward)


def mlp(rng, n, width=5, D=4):
    """n dense+ReLU layers, D -> width -> ... -> width."""
    layers, d = [], D
    for _ in range(n):
        W = rng.standard_normal((d, width)) / np.sqrt(d)
        b = 0.1 * rng.standard_normal(width)
        layers.append((dense_relu_forward, dense_relu_backward, (W, b)))
        d = width
    return layers


def test_chain_matches_the_pairs_called_by_hand():
    rng = np.random.default_rng(0)
    layers = mlp(rng, 3)
    x = rng.standard_normal((6, 4))
    out, caches = ck.chain_forward(layers, x)
    dout = rng.standard_normal(out.shape)
    dx, grads = ck.chain_backward(dout, caches, layers)
    h, cs = x, []
    for _, _, (W, b) in layers:
        h, c = dense_relu_forward(h, W, b)
        cs.append(c)
    np.testing.assert_array_equal(out, h)
    d = dout
    for i in reversed(range(3)):
        d, dW, db = dense_relu_backward(d, cs[i])
        np.testing.assert_array_equal(grads[i][0], dW)
        np.testing.assert_array_equal(grads[i][1], db)
    np.testing.assert_array_equal(dx, d)


@pytest.mark.parametrize("n, starts", [
    (1, (0,)), (5, (0,)), (5, (0, 1, 2, 3, 4)), (9, (0, 3, 6)), (10, (0, 3, 6, 9)),
    (10, (0, 7)), (16, None)])
def test_checkpointed_gradients_are_identical(n, starts):
    rng = np.random.default_rng(n)
    layers = mlp(rng, n)
    starts = ck.sqrt_schedule(n) if starts is None else starts
    x = rng.standard_normal((7, 4))
    snapshot = [tuple(p.copy() for p in params) for _, _, params in layers]
    x0 = x.copy()
    out, caches = ck.chain_forward(layers, x)
    dout = rng.standard_normal(out.shape)
    dx, grads = ck.chain_backward(dout, caches, layers)
    out_c, saved = ck.checkpoint_forward(layers, x, starts)
    assert len(saved) == len(starts)
    dx_c, grads_c = ck.checkpoint_backward(dout, saved, layers, starts)
    np.testing.assert_array_equal(out_c, out)
    np.testing.assert_array_equal(dx_c, dx)
    for g, g_c in zip(grads, grads_c):
        for a, b in zip(g, g_c):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, x0)
    for (_, _, params), before in zip(layers, snapshot):
        for p, q in zip(params, before):
            np.testing.assert_array_equal(p, q)


def test_mixed_layers_and_first_layer_without_input_grad():
    rng = np.random.default_rng(3)
    W1, b1 = rng.standard_normal((4, 6)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((6, 3)), rng.standard_normal(3)
    layers = [(dense_forward, dense_backward, (W1, b1)), (tanh_forward, tanh_backward, ()),
              (dense_forward, dense_backward, (W2, b2))]
    x = rng.standard_normal((5, 4))
    out, caches = ck.chain_forward(layers, x)
    dout = rng.standard_normal(out.shape)
    dx, grads = ck.chain_backward(dout, caches, layers)
    out_c, saved = ck.checkpoint_forward(layers, x, (0, 2))
    dx_c, grads_c = ck.checkpoint_backward(dout, saved, layers, (0, 2))
    np.testing.assert_array_equal(dx_c, dx)
    assert grads_c[1] == [] and len(grads_c[0]) == 2
    for g, g_c in zip(grads, grads_c):
        for a, b in zip(g, g_c):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n, segments", [(4, 2), (9, 3), (12, 4)])
def test_equal_to_torch_utils_checkpoint_in_float64(n, segments):
    rng = np.random.default_rng(10 + n)
    layers = mlp(rng, n, width=6, D=5)
    x = rng.standard_normal((8, 5))
    k = n // segments
    starts = tuple(range(0, n, k))
    out, saved = ck.checkpoint_forward(layers, x, starts)
    dout = rng.standard_normal(out.shape)
    dx, grads = ck.checkpoint_backward(dout, saved, layers, starts)

    mods = []
    for _, _, (W, b) in layers:
        lin = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin, torch.nn.ReLU()]
    net = torch.nn.Sequential(*mods)
    tx = torch.tensor(x, requires_grad=True)
    tout = checkpoint_sequential(net, segments, tx, use_reentrant=False)
    tout.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for i, (dW, db) in enumerate(grads):
        lin = net[2 * i]
        np.testing.assert_allclose(dW, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, expected", [(1, (0,)), (4, (0, 2)), (10, (0, 3, 6, 9)),
                                         (16, (0, 4, 8, 12)), (100, tuple(range(0, 100, 10)))])
def test_sqrt_schedule(n, expected):
    assert ck.sqrt_schedule(n) == expected


def test_peak_activations_model():
    assert ck.peak_activations(16) == 17
    assert ck.peak_activations(16, (0, 8)) == 2 + 8
    assert ck.peak_activations(16, (0, 4, 8, 12)) == 4 + 4
    assert ck.peak_activations(16, range(16)) == 16 + 1   # every layer: no better
    assert ck.peak_activations(10, (0, 7)) == 2 + 7
    # sqrt(n) segments: about 2 sqrt(n), far below n + 1
    assert ck.peak_activations(100, ck.sqrt_schedule(100)) == 20
    # the sqrt schedule is the best equal-length schedule for n = 64
    best = min(ck.peak_activations(64, range(0, 64, k)) for k in range(1, 65))
    assert ck.peak_activations(64, ck.sqrt_schedule(64)) == best == 16


@pytest.mark.parametrize("starts", [(), (1, 2), (0, 0, 3), (0, 3, 2), (0, 5), "ab", None])
def test_bad_schedules_raise(starts):
    layers = mlp(np.random.default_rng(0), 5)
    with pytest.raises(ValueError, match="starts"):
        ck.checkpoint_forward(layers, np.ones((2, 4)), starts)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="positive int"):
        ck.sqrt_schedule(0)
    with pytest.raises(ValueError, match="tuple"):
        ck.chain_forward([dense_forward], np.ones((2, 3)))
    layers = mlp(np.random.default_rng(0), 4)
    with pytest.raises(ValueError, match="one checkpoint per segment"):
        ck.checkpoint_backward(np.ones((2, 5)), (np.ones((2, 4)),), layers, (0, 2))
