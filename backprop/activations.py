"""Elementwise activations: sigmoid, tanh, ReLU. Arrays of any shape.

Each ``*_forward(x) -> (out, cache)`` caches what its backward needs: the
output for sigmoid and tanh, a boolean mask for ReLU:

* sigmoid: s' = s (1 - s)
* tanh:    t' = 1 - t**2
* ReLU:    gradient passes except where x <= 0 (as torch: 0 at x = 0;
           at a NaN input the gradient passes, as torch's threshold_backward)
"""

import numpy as np

from backprop._checks import as_float_array, upstream


def sigmoid(x):
    """Stable logistic function ``1 / (1 + exp(-x))``, any shape.

    With ``e = exp(-|x|)``, which lies in (0, 1] and can never overflow,
    sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0. One
    exponential, no overflowing branch evaluated, no warning for any finite
    x; NaN gives NaN.
    """
    x = as_float_array("sigmoid", "x", x)
    e = np.exp(-np.abs(x))                         # e = exp(-|x|) in (0, 1]
    out = np.where(x >= 0, 1, e).astype(x.dtype, copy=False)
    out /= 1 + e
    return out


def sigmoid_forward(x):
    """Sigmoid forward: ``out = sigmoid(x)``, any shape; caches ``out``."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Sigmoid backward: ``dx = dout * s * (1 - s)``, any shape."""
    s = cache
    dout = upstream("sigmoid_backward", "dout", dout, s.shape)
    dx = 1 - s
    dx *= s
    dx *= dout
    return dx


def tanh_forward(x):
    """Tanh forward: ``out = tanh(x)``, any shape; cache is ``out``."""
    x = as_float_array("tanh_forward", "x", x)
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Tanh backward: ``dx = dout * (1 - tanh(x)**2)``, same shape."""
    t = cache
    dout = upstream("tanh_backward", "dout", dout, t.shape)
    dx = 1 - t * t
    dx *= dout
    return dx


def relu_forward(x):
    """ReLU forward: ``out = max(x, 0)``, any shape (NaN stays NaN).

    The cache is the boolean mask of the units that pass the gradient,
    ``~(x <= 0)``: x > 0, and also NaN, as torch's ``threshold_backward``.
    """
    x = as_float_array("relu_forward", "x", x)
    out = np.maximum(x, 0)
    mask = ~(x <= 0)              # (x <= 0 is False for NaN)
    return out, mask


def relu_backward(dout, cache):
    """ReLU backward: ``dx = dout * mask``, same shape as ``dout``.

    A multiply by the cached boolean mask: branch-free, so several times
    faster than ``np.where`` on a random mask. IEEE consequence: a NaN or
    inf *upstream* gradient at a dead unit gives NaN (0 * NaN) where torch
    gives 0; a NaN input passes its gradient exactly as torch does.
    """
    mask = cache
    dout = upstream("relu_backward", "dout", dout, np.shape(mask))
    return dout * mask
