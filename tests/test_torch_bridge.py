"""Tests for backprop.torch_bridge: package pairs inside torch.autograd."""

import numpy as np
import pytest

import torch  # noqa: E402  (the book environment pins torch==2.13.0)

from backprop import activations, layers, losses  # noqa: E402
from backprop.torch_bridge import loss_function, pair_function, torch_gradcheck  # noqa: E402

from torch.autograd.gradcheck import GradcheckError  # noqa: E402


def _rng():
    return np.random.default_rng(0)


def _dense_args(rng, N=4, D=3, M=5):
    return rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)


ACTIVATION_PAIRS = [
    (activations.sigmoid_forward, activations.sigmoid_backward, torch.sigmoid),
    (activations.tanh_forward, activations.tanh_backward, torch.tanh),
    (activations.relu_forward, activations.relu_backward, torch.relu),
]


def _away_from_zero(rng, shape):
    # ReLU's kink at 0 defeats finite differences: keep |x| >= 0.1.
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


def test_dense_pair_passes_torch_gradcheck():
    assert torch_gradcheck(layers.dense_forward, layers.dense_backward, *_dense_args(_rng()))


@pytest.mark.parametrize("fwd,bwd,_", ACTIVATION_PAIRS)
def test_activation_pairs_pass_torch_gradcheck(fwd, bwd, _):
    assert torch_gradcheck(fwd, bwd, _away_from_zero(_rng(), (3, 4)))


def test_losses_pass_torch_gradcheck():
    rng = _rng()
    apply_mse = loss_function(losses.mse_loss)
    pred, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    assert torch.autograd.gradcheck(apply_mse, (torch.tensor(pred, requires_grad=True), y))
    apply_ce = loss_function(losses.softmax_cross_entropy)
    logits, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    assert torch.autograd.gradcheck(apply_ce, (torch.tensor(logits, requires_grad=True), labels))


def test_bridged_gradients_equal_real_torch_ops():
    # The wrapped NumPy pair and PyTorch's own ops give the same gradients.
    x, W, b = _dense_args(_rng())
    g = _rng().standard_normal((4, 5))
    ours = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    out_ours = pair_function(layers.dense_forward, layers.dense_backward)(*ours)
    out_ref = ref[0] @ ref[1] + ref[2]
    torch.testing.assert_close(out_ours, out_ref, rtol=1e-12, atol=1e-12)
    (out_ours * torch.tensor(g)).sum().backward()
    (out_ref * torch.tensor(g)).sum().backward()
    for a, r in zip(ours, ref):
        torch.testing.assert_close(a.grad, r.grad, rtol=1e-12, atol=1e-12)
    for fwd, bwd, torch_op in ACTIVATION_PAIRS:
        xa = _away_from_zero(_rng(), (3, 4))
        t1, t2 = torch.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
        pair_function(fwd, bwd)(t1).pow(2).sum().backward()
        torch_op(t2).pow(2).sum().backward()
        torch.testing.assert_close(t1.grad, t2.grad, rtol=1e-12, atol=1e-12)


def test_broken_backward_is_caught():
    def doubled_dW(dout, cache):
        dx, dW, db = layers.dense_backward(dout, cache)
        return dx, 2 * dW, db

    args = _dense_args(_rng())
    with pytest.raises(GradcheckError, match="with respect to input 1"):
        torch_gradcheck(layers.dense_forward, doubled_dW, *args)
    assert torch_gradcheck(layers.dense_forward, doubled_dW, *args, raise_exception=False) is False
    # Checking only x and b, the bug in dW goes unnoticed: wrt really selects.
    assert torch_gradcheck(layers.dense_forward, doubled_dW, *args, wrt=[0, 2])


def test_wrong_number_or_shape_of_gradients():
    args = _dense_args(_rng())
    with pytest.raises(ValueError, match="expected 3"):
        torch_gradcheck(layers.dense_forward, lambda d, c: layers.dense_backward(d, c)[:2], *args)
    with pytest.raises(ValueError, match="shape"):
        torch_gradcheck(layers.dense_forward,
                        lambda d, c: (*layers.dense_backward(d, c)[:2], np.zeros(2)), *args)
    with pytest.raises(ValueError, match="wrt"):
        torch_gradcheck(layers.dense_forward, layers.dense_backward, *args, wrt=[5])
    with pytest.raises(ValueError, match="wrt"):
        torch_gradcheck(layers.dense_forward, layers.dense_backward, *args, wrt=[])


def test_output_keeps_dtype_and_forward_values():
    x = _away_from_zero(_rng(), (2, 3))
    out = pair_function(activations.tanh_forward, activations.tanh_backward)(torch.tensor(x))
    assert out.dtype == torch.float64
    np.testing.assert_array_equal(out.numpy(), np.tanh(x))
