"""Every forward/backward pair against numerical gradients and PyTorch.

STYLE rule 15: one parametrized helper, one line per op. Each op checks
every gradient (i) against central differences, ``numerical_gradient_array``
(rel_error < 1e-7), and (ii) against PyTorch autograd in float64
(rel_error < 1e-9), over several shapes including N = 1 (except batchnorm in
training mode), D = 1, T = 1 and a nonzero h0.
"""

import numpy as np
import pytest

import test_dropout as D
import torch_ref as T
from backprop.activations import (relu_backward, relu_forward, sigmoid_backward,
                                  sigmoid_forward, tanh_backward, tanh_forward)
from backprop.batchnorm import (batchnorm_backward, batchnorm_backward_staged,
                                batchnorm_forward)
from backprop.gradcheck import numerical_gradient_array, rel_error
from backprop.layers import (dense_backward, dense_forward, dense_relu_backward,
                             dense_relu_forward)
from backprop.losses import bce_with_logits, mse_loss, softmax_cross_entropy
from backprop.rnn import (rnn_backward, rnn_forward, rnn_step_backward,
                          rnn_step_forward)

NUM_TOL = 1e-7
TORCH_TOL = 1e-9


# --- input generators: rng, shape -> (differentiable inputs, constants) ---

def _normal(rng, *shape):
    return rng.standard_normal(shape)


def gen_dense(rng, shape):
    N, D, M = shape
    return {"x": _normal(rng, N, D), "W": _normal(rng, D, M), "b": _normal(rng, M)}, {}


def gen_x(rng, shape):
    return {"x": _normal(rng, *shape)}, {}


def gen_x_away_from_zero(rng, shape):
    # |x| in [0.1, 2]: the kink of ReLU is 10^5 steps h away.
    sign = rng.choice([-1.0, 1.0], size=shape)
    return {"x": sign * rng.uniform(0.1, 2.0, size=shape)}, {}


def gen_mse(rng, shape):
    return {"pred": _normal(rng, *shape)}, {"y": _normal(rng, *shape)}


def gen_ce(rng, shape):
    # Moderate logits: every softmax probability stays near 1/C, so no
    # gradient element is so small that the 1e-10 rounding error of central
    # differences dominates its relative error (extreme logits: test_inputs).
    N, C = shape
    return {"logits": 0.5 * _normal(rng, N, C)}, {"y": rng.integers(0, C, size=N)}


def gen_bce(rng, shape):
    return {"logits": 2 * _normal(rng, *shape)}, {"y": rng.uniform(0, 1, size=shape)}


def gen_bn(rng, shape):
    # Training mode needs N >= 2, and N = 2 is degenerate: xhat = +-1 whatever
    # x is, so dx is O(eps) and drowns in central-difference rounding. N >= 3.
    N, D = shape
    state = {"running_mean": _normal(rng, D), "running_var": rng.uniform(0.5, 2, D)}
    x = 1.5 * _normal(rng, N, D) + 0.3
    return {"x": x, "gamma": rng.uniform(0.5, 1.5, D), "beta": _normal(rng, D)}, state


def gen_rnn_step(rng, shape):
    N, D, H = shape
    return {"x": _normal(rng, N, D), "h_prev": _normal(rng, N, H),
            "Wx": 0.5 * _normal(rng, D, H), "Wh": 0.5 * _normal(rng, H, H),
            "b": 0.5 * _normal(rng, H)}, {}


def gen_rnn(rng, shape):
    N, T_, D, H = shape
    return {"x": _normal(rng, N, T_, D), "h0": _normal(rng, N, H),   # nonzero h0
            "Wx": 0.5 * _normal(rng, D, H), "Wh": 0.5 * _normal(rng, H, H),
            "b": 0.5 * _normal(rng, H)}, {}


# --- adapters: every op as forward(**inputs, **const) -> (out, cache) ---

def loss_pair(loss_fn):
    """A loss as a pair: out = loss, cache = dpred, backward = dout * dpred."""
    return (lambda **kw: loss_fn(**kw)), (lambda dout, dpred: (dout * dpred,))


def bn_pair(train):
    def forward(x, gamma, beta, running_mean, running_var):
        state = {"running_mean": running_mean, "running_var": running_var}
        out, cache, _ = batchnorm_forward(x, gamma, beta, state, train=train)
        return out, cache
    return forward, batchnorm_backward


def bn_torch(train):
    return lambda **kw: T.batchnorm(**kw, train=train)


def one(backward):
    return lambda dout, cache: (backward(dout, cache),)


# name, forward, backward, torch reference, input generator, shapes
OPS = [
    ("dense", dense_forward, dense_backward, T.dense, gen_dense, [(1, 3, 2), (4, 1, 3), (5, 4, 1), (3, 4, 2)]),
    ("dense_relu", dense_relu_forward, dense_relu_backward, lambda x, W, b: T.relu(T.dense(x, W, b)), gen_dense, [(1, 3, 2), (4, 1, 3), (5, 4, 1), (3, 4, 2)]),
    ("sigmoid", sigmoid_forward, one(sigmoid_backward), T.sigmoid, gen_x, [(1,), (1, 1), (3, 4), (2, 3, 2)]),
    ("tanh", tanh_forward, one(tanh_backward), T.tanh, gen_x, [(1,), (1, 1), (3, 4), (2, 3, 2)]),
    ("relu", relu_forward, one(relu_backward), T.relu, gen_x_away_from_zero, [(1,), (1, 1), (3, 4), (2, 3, 2)]),
    ("mse", *loss_pair(mse_loss), T.mse, gen_mse, [(1, 1), (1, 3), (4, 1), (3, 4), (2, 3, 2)]),
    ("softmax_ce", *loss_pair(softmax_cross_entropy), T.softmax_ce, gen_ce, [(1, 3), (4, 1), (5, 4), (3, 10)]),
    ("bce", *loss_pair(bce_with_logits), T.bce, gen_bce, [(1, 1), (4, 1), (3, 4), (2, 3, 2)]),
    ("batchnorm_train", *bn_pair(True), bn_torch(True), gen_bn, [(3, 1), (3, 4), (5, 3), (8, 6)]),
    ("batchnorm_eval", *bn_pair(False), bn_torch(False), gen_bn, [(1, 1), (1, 3), (4, 1), (5, 3)]),
    ("batchnorm_staged", bn_pair(True)[0], batchnorm_backward_staged, bn_torch(True), gen_bn, [(3, 1), (3, 4), (5, 3), (8, 6)]),
    ("rnn_step", rnn_step_forward, rnn_step_backward, T.rnn_step, gen_rnn_step, [(1, 3, 4), (4, 1, 3), (3, 4, 1), (2, 3, 5)]),
    ("rnn", rnn_forward, rnn_backward, T.rnn_loop, gen_rnn, [(1, 1, 3, 4), (2, 3, 1, 3), (3, 4, 2, 5), (2, 6, 3, 1)]),
    ("dropout", D.dropout_forward_masked, one(D.dropout_backward), D.torch_dropout, D.gen_dropout, [(1,), (1, 1), (4, 3), (6, 5), (2, 3, 4)]),
]

CASES = [pytest.param(op, shape, id=f"{op[0]}-{'x'.join(map(str, shape))}")
         for op in OPS for shape in op[5]]


def helper_test_op(forward, backward, torch_fn, inputs, const, seed):
    """Check every gradient of one pair numerically and against torch."""
    rng = np.random.default_rng(seed)
    names = list(inputs)
    snapshot = {k: v.copy() for k, v in inputs.items()}
    out, cache = forward(**inputs, **const)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    assert len(grads) >= len(names), f"backward returned {len(grads)} gradients for {names}"
    grads = dict(zip(names, grads))

    # (i) central differences, each input perturbed in a copy.
    for name in names:
        def f(v, name=name):
            return np.asarray(forward(**{**inputs, name: v}, **const)[0])
        num = numerical_gradient_array(f, inputs[name].copy(), dout)
        err = rel_error(grads[name], num)
        assert err < NUM_TOL, f"d{name}: rel_error {err:.3e} vs numerical gradient"

    # (ii) PyTorch autograd, float64.
    t_out, t_grads = T.vjp(torch_fn, {**inputs, **const}, dout, wrt=names)
    err = rel_error(np.asarray(out), t_out)
    assert err < TORCH_TOL, f"forward output: rel_error {err:.3e} vs torch"
    for name in names:
        err = rel_error(grads[name], t_grads[name])
        assert err < TORCH_TOL, f"d{name}: rel_error {err:.3e} vs torch"

    # No pair writes into its arguments.
    for k, v in inputs.items():
        np.testing.assert_array_equal(v, snapshot[k], err_msg=f"{k} was modified")


@pytest.mark.parametrize("op, shape", CASES)
def test_op_gradients(op, shape):
    name, forward, backward, torch_fn, gen, _ = op
    seed = sum(map(ord, name)) + 31 * len(shape) + sum(shape)
    inputs, const = gen(np.random.default_rng(seed), shape)
    helper_test_op(forward, backward, torch_fn, inputs, const, seed)


def test_helper_catches_wrong_gradient():
    """The helper itself can fail: a dense backward that forgets the batch sum in db."""
    def bad_backward(dout, cache):
        dx, dW, _ = dense_backward(dout, cache)
        return dx, dW, dout[0]
    inputs, _ = gen_dense(np.random.default_rng(0), (3, 4, 2))
    with pytest.raises(AssertionError, match="db"):
        helper_test_op(dense_forward, bad_backward, T.dense, inputs, {}, 0)
