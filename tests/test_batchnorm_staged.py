"""The staged BatchNorm backward against the closed form, and the properties
chapter 9 states about the BatchNorm gradient (each one could be false)."""

import numpy as np
import pytest

from backprop.batchnorm import (batchnorm_backward, batchnorm_backward_staged,
                                batchnorm_forward, batchnorm_init_state)
from backprop.gradcheck import rel_error


def _layer(rng, N, D, train=True, scale=3.0):
    x = scale * rng.standard_normal((N, D)) + rng.standard_normal(D)
    gamma, beta = rng.uniform(0.5, 2, D), rng.standard_normal(D)
    state = {"running_mean": rng.standard_normal(D), "running_var": rng.uniform(0.5, 2, D)}
    out, cache, _ = batchnorm_forward(x, gamma, beta, state, train=train)
    return x, gamma, beta, state, cache, rng.standard_normal((N, D))


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("N, D", [(2, 1), (3, 4), (16, 5), (256, 32)])
def test_staged_equals_closed_form(N, D, train):
    rng = np.random.default_rng(N * 10 + D)
    *_, cache, dout = _layer(rng, N, D, train)
    closed = batchnorm_backward(dout, cache)
    staged = batchnorm_backward_staged(dout, cache)
    for a, b in zip(closed, staged):
        assert a.shape == b.shape
    # dx against the scale of its terms, |dout gamma s|: at N = 2, dx itself is
    # O(eps) (xhat = +-1 whatever x is), a difference of nearly equal terms.
    _, _, gamma, s = cache
    assert np.max(np.abs(closed[0] - staged[0])) < 1e-13 * np.max(np.abs(dout * gamma * s))
    assert rel_error(closed[1], staged[1]) < 1e-12
    assert rel_error(closed[2], staged[2]) < 1e-12


def test_staged_is_not_the_closed_form_without_a_term():
    """The comparison has teeth: dropping the variance path changes dx."""
    rng = np.random.default_rng(0)
    *_, cache, dout = _layer(rng, 8, 3)
    dx = batchnorm_backward_staged(dout, cache)[0]
    _, xhat, gamma, s = cache
    g = dout * gamma
    no_var_path = s * (g - g.mean(axis=0))
    assert rel_error(dx, no_var_path) > 1e-2


def test_staged_keeps_float32_and_does_not_write_into_arguments():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    g32 = np.ones(3, np.float32)
    _, cache, _ = batchnorm_forward(x, g32, np.zeros(3, np.float32),
                                    batchnorm_init_state(3, np.float32))
    dout = rng.standard_normal((5, 3)).astype(np.float32)
    snapshot = [np.copy(c) for c in cache[1:]], dout.copy()
    grads = batchnorm_backward_staged(dout, cache)
    assert all(g.dtype == np.float32 for g in grads)
    for before, after in zip(snapshot[0], cache[1:]):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(snapshot[1], dout)


def test_staged_validates_like_the_closed_form():
    rng = np.random.default_rng(4)
    *_, cache, dout = _layer(rng, 4, 3)
    with pytest.raises(ValueError, match="batchnorm_backward_staged: dout"):
        batchnorm_backward_staged(dout[:, :2], cache)
    with pytest.raises(ValueError, match="batchnorm_backward_staged: cache"):
        batchnorm_backward_staged(dout, cache[:3])


# --- the properties of dx that chapter 9 states --------------------------------

def test_dx_sums_to_zero_over_the_batch():
    rng = np.random.default_rng(5)
    *_, cache, dout = _layer(rng, 32, 6)
    dx = batchnorm_backward(dout, cache)[0]
    scale = np.abs(dx).sum(axis=0)
    assert np.all(np.abs(dx.sum(axis=0)) < 1e-12 * scale)
    # not true in evaluation mode, where mu is a constant
    *_, cache, dout = _layer(rng, 32, 6, train=False)
    dx = batchnorm_backward(dout, cache)[0]
    assert np.all(np.abs(dx.sum(axis=0)) > 1e-3 * np.abs(dx).sum(axis=0))


@pytest.mark.parametrize("scale", [0.003, 1.0, 30.0])
def test_dx_dot_xhat_is_eps_s_cubed_times_dgamma_term(scale):
    """sum_i dx_i xhat_i = eps s^3 sum_i g_i xhat_i: zero only when eps = 0."""
    rng = np.random.default_rng(6)
    *_, cache, dout = _layer(rng, 64, 4, scale=scale)
    dx = batchnorm_backward(dout, cache)[0]
    _, xhat, gamma, s = cache
    predicted = 1e-5 * s**3 * np.sum(dout * gamma * xhat, axis=0)
    np.testing.assert_allclose(np.sum(dx * xhat, axis=0), predicted,
                               rtol=1e-6, atol=1e-13 * np.abs(dx).sum())
    if scale == 0.003:          # var ~ 1e-5 ~ eps: far from orthogonal
        cos = np.sum(dx * xhat, axis=0) / (np.linalg.norm(dx, axis=0)
                                          * np.linalg.norm(xhat, axis=0))
        assert np.max(np.abs(cos)) > 0.05


def test_one_example_changes_another_examples_gradient():
    rng = np.random.default_rng(7)
    x, gamma, beta, state, cache, dout = _layer(rng, 6, 3)
    dx = batchnorm_backward(dout, cache)[0]
    x2 = x.copy()
    x2[5] += 2.0                           # change only the last example
    _, cache2, _ = batchnorm_forward(x2, gamma, beta, state)
    dx2 = batchnorm_backward(dout, cache2)[0]
    assert np.all(np.abs(dx2[0] - dx[0]) > 1e-6)       # example 0's gradient moved
    # in evaluation mode the examples are independent
    _, ce, _ = batchnorm_forward(x, gamma, beta, state, train=False)
    _, ce2, _ = batchnorm_forward(x2, gamma, beta, state, train=False)
    np.testing.assert_array_equal(batchnorm_backward(dout, ce)[0][0],
                                  batchnorm_backward(dout, ce2)[0][0])
