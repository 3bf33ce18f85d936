"""backprop.dropout and model.Dropout: the pair against torch's own
F.dropout (its mask recovered from the same seed), the statistics of the
mask, purity, dtype, validation, and the layer in both modes.

The gradient line in tests/test_gradients.py uses ``dropout_forward_masked``,
``gen_dropout`` and ``torch_dropout`` from here: the torch reference is
``F.dropout`` itself, not a copy of our formula.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop import model
from backprop.dropout import dropout_backward, dropout_forward, dropout_mask

P = 0.3


def torch_mask(shape, p, seed):
    """The keep-mask torch's F.dropout draws after ``torch.manual_seed(seed)``
    for a float64 input of ``shape`` (read from dropout of a tensor of ones)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ones = torch.ones(shape, dtype=torch.float64)
        return (F.dropout(ones, p, training=True) != 0).numpy()


def torch_dropout(x, mask, p, seed):
    """torch's own dropout with the same seed: it draws the same mask."""
    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        return F.dropout(x, float(p), training=True)


def dropout_forward_masked(x, mask, p, seed):
    return dropout_forward(x, p, mask=mask)


def gen_dropout(rng, shape):
    seed = int(rng.integers(2**31))
    x = rng.standard_normal(shape)
    return {"x": x}, {"mask": torch_mask(shape, P, seed), "p": P, "seed": seed}


def test_forward_and_backward_equal_torch_dropout_with_its_mask():
    rng = np.random.default_rng(0)
    for shape, p in [((5, 7), 0.3), ((64, 32), 0.5), ((3,), 0.1), ((2, 3, 4), 0.8)]:
        x = rng.standard_normal(shape)
        mask = torch_mask(shape, p, seed=11)
        assert 0 < mask.mean() < 1 or mask.size < 5
        out, cache = dropout_forward(x, p, mask=mask)
        xt = torch.tensor(x, requires_grad=True)
        ot = torch_dropout(xt, None, p, 11)
        np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-15, atol=0)
        dout = rng.standard_normal(shape)
        (ot * torch.tensor(dout)).sum().backward()
        np.testing.assert_allclose(dropout_backward(dout, cache), xt.grad.numpy(),
                                   rtol=1e-15, atol=0)


def test_kept_entries_are_scaled_by_one_over_keep_probability():
    x = np.ones((200, 50))
    out, (mask, p) = dropout_forward(x, 0.25, rng=np.random.default_rng(1))
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    np.testing.assert_array_equal(out != 0, mask)
    # E[out] = x: the mean of 10^4 entries is 1 within a few standard errors
    # (std of one entry sqrt(p / (1 - p)) = 0.577, so the error is ~0.006).
    assert abs(out.mean() - 1) < 0.03
    assert abs(mask.mean() - 0.75) < 0.02


def test_backward_uses_the_cached_mask_not_a_new_draw():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 9))
    out, cache = dropout_forward(x, 0.5, rng=rng)
    dx = dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx != 0, out != 0)
    np.testing.assert_array_equal(dx, np.where(cache[0], 2.0, 0.0))


def test_p_zero_is_the_identity_and_rng_draws_the_documented_mask():
    x = np.random.default_rng(3).standard_normal((4, 5))
    out, _ = dropout_forward(x, 0.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)
    m = dropout_mask((4, 5), 0.4, np.random.default_rng(7))
    np.testing.assert_array_equal(m, np.random.default_rng(7).random((4, 5)) >= 0.4)
    a, _ = dropout_forward(x, 0.4, rng=np.random.default_rng(7))
    b, _ = dropout_forward(x, 0.4, mask=m)
    np.testing.assert_array_equal(a, b)


def test_pure_and_keeps_dtype():
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    snapshot = x.copy()
    out, cache = dropout_forward(x, 0.5, rng=np.random.default_rng(0))
    dx = dropout_backward(np.ones((3, 4), dtype=np.float32), cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    np.testing.assert_array_equal(x, snapshot)


@pytest.mark.parametrize("kwargs, match", [
    (dict(p=1.0, rng=np.random.default_rng(0)), r"p must be in \[0, 1\)"),
    (dict(p=-0.1, rng=np.random.default_rng(0)), r"p must be in \[0, 1\)"),
    (dict(p="half", rng=np.random.default_rng(0)), "p must be a float"),
    (dict(p=0.5), "exactly one of rng and mask; got neither"),
    (dict(p=0.5, rng=np.random.default_rng(0), mask=np.ones((2, 3), bool)),
     "got both"),
    (dict(p=0.5, mask=np.ones((2, 3))), "mask must be a boolean array"),
    (dict(p=0.5, mask=np.ones((3, 2), bool)), r"mask must have the shape of x"),
    (dict(p=0.5, rng=0), "rng must be a np.random.Generator"),
])
def test_forward_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dropout_forward(np.zeros((2, 3)), **kwargs)


def test_backward_rejects_a_wrong_cache_or_dout():
    _, cache = dropout_forward(np.zeros((2, 3)), 0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="cache returned by dropout_forward"):
        dropout_backward(np.zeros((2, 3)), (cache[0],))
    with pytest.raises(ValueError, match="dout must have the shape"):
        dropout_backward(np.zeros((3, 2)), cache)


def test_layer_trains_with_fresh_masks_and_is_identity_in_eval():
    layer = model.Dropout(0.5, np.random.default_rng(0))
    x = np.ones((8, 10))
    a, b = layer.forward(x), layer.forward(x)
    assert not np.array_equal(a, b)                  # a new mask per call
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), b)
    assert layer.forward(x, train=False) is x
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * x)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        model.Dropout(1.0, np.random.default_rng(0))


def test_layer_draws_the_masks_of_its_generator():
    layer = model.Dropout(0.2, np.random.default_rng(5))
    layer.forward(np.ones((4, 6)))
    np.testing.assert_array_equal(layer.cache[0],
                                  dropout_mask((4, 6), 0.2, np.random.default_rng(5)))


def test_sequential_with_dropout_matches_torch_with_the_shared_mask():
    rng = np.random.default_rng(6)
    net = model.Sequential([model.Dense(5, 8, rng=rng), model.ReLU(),
                            model.Dropout(0.4, np.random.default_rng(1)),
                            model.Dense(8, 3, rng=rng)])
    x = rng.standard_normal((7, 5))
    out = net.forward(x)
    grads = net.backward(np.ones_like(out))
    mask = torch.tensor(net.layers[2].cache[0])
    W0, b0 = (torch.tensor(net.params()[k], requires_grad=True) for k in ("0.W", "0.b"))
    W3 = torch.tensor(net.params()["3.W"], requires_grad=True)
    h = torch.relu(torch.tensor(x) @ W0 + b0) * mask / (1 - 0.4)
    (h @ W3).sum().backward()
    for ours, theirs in ((grads["0.W"], W0.grad), (grads["0.b"], b0.grad),
                         (grads["3.W"], W3.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)
