"""backprop.autodiff: every op against central differences and torch float64,
accumulation at fan-out, the topological order, and the engine's boundary."""

import numpy as np
import pytest
import torch

from backprop import autodiff as ad
from backprop.batchnorm import batchnorm_init_state
from backprop.gradcheck import numerical_gradient, rel_error

rng = np.random.default_rng(12)
r = rng.standard_normal


def _y_ce(n, c):
    return np.arange(n) % c


# (name, engine f(*tensors) -> 0-d tensor, torch f(*tensors) -> 0-d tensor,
#  input arrays). Every loss is sum(op(...) * R) with a fixed R, so each
# output element gets its own upstream weight.
def _weighted(shape):
    return r(shape)


R23, R3, R4, R2 = _weighted((2, 3)), _weighted(3), _weighted((4, 3)), _weighted(())
Y_MSE = r((4, 3))
Y_CE = _y_ce(4, 3)
BN = batchnorm_init_state(3)

CASES = [
    ("add same shape", lambda a, b: ad.sum(ad.mul(ad.add(a, b), R23)),
     lambda a, b: ((a + b) * torch.tensor(R23)).sum(), [r((2, 3)), r((2, 3))]),
    ("add broadcast row", lambda a, b: ad.sum(ad.mul(ad.add(a, b), R23)),
     lambda a, b: ((a + b) * torch.tensor(R23)).sum(), [r((2, 3)), r(3)]),
    ("add broadcast (2,1)+(1,3)", lambda a, b: ad.sum(ad.mul(ad.add(a, b), R23)),
     lambda a, b: ((a + b) * torch.tensor(R23)).sum(), [r((2, 1)), r((1, 3))]),
    ("mul broadcast scalar", lambda a, b: ad.sum(ad.mul(ad.mul(a, b), R23)),
     lambda a, b: ((a * b) * torch.tensor(R23)).sum(), [r((2, 3)), r(())]),
    ("mul broadcast column", lambda a, b: ad.sum(ad.mul(ad.mul(a, b), R23)),
     lambda a, b: ((a * b) * torch.tensor(R23)).sum(), [r((2, 1)), r((2, 3))]),
    ("sum axis 0", lambda a: ad.sum(ad.mul(ad.sum(a, axis=0), R3)),
     lambda a: (a.sum(0) * torch.tensor(R3)).sum(), [r((2, 3))]),
    ("sum axis 1 keepdims", lambda a: ad.sum(ad.mul(ad.sum(a, 1, True), R23)),
     lambda a: (a.sum(1, keepdim=True) * torch.tensor(R23)).sum(),
     [r((2, 3))]),
    ("sum all", lambda a: ad.mul(ad.sum(a), R2),
     lambda a: a.sum() * torch.tensor(R2), [r((2, 3))]),
    ("dense", lambda x, W, b: ad.sum(ad.mul(ad.dense(x, W, b), R4)),
     lambda x, W, b: ((x @ W + b) * torch.tensor(R4)).sum(),
     [r((4, 2)), r((2, 3)), r(3)]),
    ("sigmoid", lambda x: ad.sum(ad.mul(ad.sigmoid(x), R23)),
     lambda x: (torch.sigmoid(x) * torch.tensor(R23)).sum(), [r((2, 3))]),
    ("tanh", lambda x: ad.sum(ad.mul(ad.tanh(x), R23)),
     lambda x: (torch.tanh(x) * torch.tensor(R23)).sum(), [r((2, 3))]),
    ("relu", lambda x: ad.sum(ad.mul(ad.relu(x), R23)),
     lambda x: (torch.relu(x) * torch.tensor(R23)).sum(),
     [np.array([[0.5, -1.0, 2.0], [-0.3, 0.7, -2.0]])]),
    ("mse", lambda p: ad.mse(p, Y_MSE),
     lambda p: torch.nn.functional.mse_loss(p, torch.tensor(Y_MSE)),
     [r((4, 3))]),
    ("cross_entropy", lambda z: ad.cross_entropy(z, Y_CE),
     lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(Y_CE)),
     [r((4, 3))]),
    ("batchnorm_train",
     lambda x, g, b: ad.sum(ad.mul(ad.batchnorm_train(x, g, b, BN)[0], R4)),
     lambda x, g, b: (torch.nn.functional.batch_norm(
         x, None, None, g, b, training=True, eps=1e-5)
         * torch.tensor(R4)).sum(),
     [r((4, 3)), r(3), r(3)]),
    ("rnn_step",
     lambda x, h, Wx, Wh, b: ad.sum(ad.mul(ad.rnn_step(x, h, Wx, Wh, b), R4)),
     lambda x, h, Wx, Wh, b: (torch.tanh(x @ Wx + h @ Wh + b)
                              * torch.tensor(R4)).sum(),
     [r((4, 2)), r((4, 3)), r((2, 3)), r((3, 3)), r(3)]),
]


def engine_grads(f, arrays):
    leaves = [ad.Tensor(a.copy()) for a in arrays]
    ad.backward(f(*leaves))
    return [t.grad for t in leaves]


@pytest.mark.parametrize("name, f, ft, arrays", CASES, ids=[c[0] for c in CASES])
def test_op_matches_finite_differences_and_torch(name, f, ft, arrays):
    grads = engine_grads(f, arrays)
    for a, g in zip(arrays, grads):
        assert g.shape == a.shape
    assert max(ad.gradient_check(f, *arrays)) < 1e-7
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ft(*ts).backward()
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_check_catches_a_wrong_rule():
    def wrong_mul(a, b):       # forgets the sum over the broadcast axis
        a, b = ad._tensors(a, b)
        rule = lambda d: (d * b.data, ad.unbroadcast(d * a.data, b.shape))
        return ad.Tensor(a.data * b.data, (a, b), rule, "mul")
    f = lambda a, b: ad.sum(wrong_mul(a, b))
    with pytest.raises(ValueError):   # the (2, 3) gradient meets a (3,) leaf
        ad.gradient_check(f, r(3), r((2, 3)))
    g = lambda a, b: ad.sum(ad.mul(wrong_mul(a, b), 2.0))
    assert max(ad.gradient_check(g, r((2, 3)), r((2, 3)))) < 1e-7
    half = lambda a: ad.Tensor(a.data, (a,), lambda d: (0.5 * d,), "bad")
    assert max(ad.gradient_check(lambda a: ad.sum(half(a)), r(3))) > 0.3


def test_fan_out_accumulates():
    # y = x * x + x: dy/dx = 2x + 1, x reaches y by three edges.
    x = ad.Tensor(np.array([1.5, -2.0]))
    ad.backward(ad.sum(ad.add(ad.mul(x, x), x)))
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)
    # a second backward adds to .grad, as torch; zero_grad clears it
    ad.backward(ad.sum(ad.add(ad.mul(x, x), x)))
    np.testing.assert_allclose(x.grad, 2 * (2 * x.data + 1))
    ad.zero_grad(x)
    assert x.grad is None


def test_shared_weight_sums_over_uses():
    x, W, b = r((3, 2)), r((2, 2)), r(2)
    tW = ad.Tensor(W.copy())
    h = ad.tanh(ad.dense(ad.tanh(ad.dense(x, tW, b)), tW, b))
    ad.backward(ad.sum(h))
    t = torch.tensor(W, requires_grad=True)
    bt, xt = torch.tensor(b), torch.tensor(x)
    torch.tanh(torch.tanh(xt @ t + bt) @ t + bt).sum().backward()
    np.testing.assert_allclose(tW.grad, t.grad.numpy(), rtol=1e-10)


def test_topological_order_on_a_diamond():
    #      x
    #    /   \
    #   u     v      u = tanh(x), v = sigmoid(x)
    #    \   /
    #      w         w = u * v, out = sum(w)
    x = ad.Tensor(r(3))
    u, v = ad.tanh(x), ad.sigmoid(x)
    w = ad.mul(u, v)
    out = ad.sum(w)
    order = ad.topological_order(out)
    assert len(order) == 5 and len({id(t) for t in order}) == 5
    pos = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for p in t.parents:
            assert pos[id(p)] < pos[id(t)]
    assert order[0] is x and order[-1] is out
    ad.backward(out)
    s = 1 / (1 + np.exp(-x.data))
    th = np.tanh(x.data)
    expected = (1 - th**2) * s + th * s * (1 - s)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_deep_chain_needs_no_recursion():
    x = ad.Tensor(np.array(0.5))
    y = x
    for _ in range(5000):
        y = ad.mul(y, 1.0)
    ad.backward(y)
    assert x.grad == 1.0


def test_constants_and_scalars_are_leaves():
    x = ad.Tensor(r((2, 2)))
    out = ad.sum(2.0 * x + 1.0)
    ad.backward(out)
    np.testing.assert_allclose(x.grad, 2.0)


def test_backward_needs_a_scalar():
    with pytest.raises(ValueError, match="one number"):
        ad.backward(ad.Tensor(r((2, 2))))
    with pytest.raises(ValueError, match="Tensor"):
        ad.backward(np.zeros(()))


def test_gradient_check_uses_the_package_numerical_gradient():
    a = r((2, 3))
    f = lambda t: ad.sum(ad.mul(ad.tanh(t), t))
    g = engine_grads(f, [a])[0]
    num = numerical_gradient(lambda v: float(np.sum(np.tanh(v) * v)), a.copy())
    assert rel_error(g, num) < 1e-8


def test_float32_stays_float32_and_integers_become_float64():
    x = ad.Tensor(np.ones((2, 3), dtype=np.float32))
    W = ad.Tensor(np.ones((3, 2), dtype=np.float32))
    b = ad.Tensor(np.zeros(2, dtype=np.float32))
    out = ad.sum(ad.sigmoid(ad.dense(x, W, b)))
    ad.backward(out)
    assert out.data.dtype == np.float32 and W.grad.dtype == np.float32
    assert ad.Tensor(np.arange(3)).data.dtype == np.float64
    with pytest.raises(ValueError, match="floating-point"):
        ad.Tensor(np.ones(2, dtype=complex))
