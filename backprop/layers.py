"""Fully connected (dense, affine) layer: ``out = x @ W + b``.

Shapes: x (N, D), W (D, M), b (M,), out (N, M).

Backward, with ``dout = dL/dout`` of shape (N, M)::

    dx = dout @ W.T       # (N, D)
    dW = x.T @ dout       # (D, M)
    db = dout.sum(0)      # (M,)   b is broadcast over the batch, so we sum

``dense_relu_forward/backward`` fuse the layer with a ReLU after it,
``a = max(x @ W + b, 0)``: one new array in the forward pass instead of
three (z, a and ReLU's mask), and the cache holds ``a``, which the next
layer keeps anyway, instead of a mask.
"""

import numpy as np

from backprop._checks import as_float_array, check_cache, check_shape, upstream


def dense_forward(x, W, b):
    """Affine layer forward pass.

    Parameters
    ----------
    x : array (N, D)
    W : array (D, M)
    b : array (M,)

    Returns
    -------
    out : array (N, M), ``x @ W + b``
    cache : opaque, for :func:`dense_backward`
    """
    x, W, b = _dense_forward_args(x, W, b)
    out = x @ W                 # (N, M), a new array: add b in place
    out += b
    return out, (x, W)


def dense_backward(dout, cache, *, input_grad=True):
    """Affine layer backward pass.

    Parameters
    ----------
    dout : array (N, M), upstream gradient
    cache : from :func:`dense_forward`
    input_grad : bool, keyword only. False skips ``dx`` (returned as None):
        the first layer of a network needs no gradient for its data, and
        torch skips it too, so a fair benchmark does as well.

    Returns
    -------
    dx : array (N, D), or None when ``input_grad`` is False
    dW : array (D, M)
    db : array (M,)
    """
    x, W, dout = _dense_backward_args(dout, cache)
    dx = dout @ W.T if input_grad else None   # (N, D)
    dW = x.T @ dout             # (D, M)
    db = dout.sum(axis=0)       # (M,)
    return dx, dW, db


def dense_relu_forward(x, W, b):
    """Dense layer then ReLU, fused: ``a = max(x @ W + b, 0)``.

    x (N, D), W (D, M), b (M,) -> a (N, M); cache (x, W, a). The same
    numbers as ``dense_forward`` then ``relu_forward``, written into the
    one array the product allocates (NaN stays NaN).
    """
    x, W, b = _dense_forward_args(x, W, b, "dense_relu_forward")
    a = x @ W                   # (N, M), a new array: work in place
    a += b
    np.maximum(a, 0, out=a)
    return a, (x, W, a)


def dense_relu_backward(dout, cache, *, input_grad=True):
    """Backward of ``dense_relu_forward``: (dx, dW, db).

    dout (N, M) -> dx (N, D) (None if not ``input_grad``), dW (D, M),
    db (M,). ReLU passes the gradient where ``a != 0``: exactly where
    z > 0 or z is NaN, as ``relu_backward`` and torch do.
    """
    x, W, a, dout = _dense_relu_backward_args(dout, cache)
    delta = dout * (a != 0)     # (N, M), dL/dz
    dx = delta @ W.T if input_grad else None   # (N, D)
    dW = x.T @ delta            # (D, M)
    db = delta.sum(axis=0)      # (M,)
    return dx, dW, db


# Boundary checks (one call at the top of each public function; the math
# above trusts what they return). Messages name the expected shapes.

def _dense_forward_args(x, W, b, f="dense_forward"):
    x = as_float_array(f, "x", x)
    W = as_float_array(f, "W", W)
    b = as_float_array(f, "b", b)
    check_shape(f, "x", x, (None, None), ("N", "D"))
    check_shape(f, "W", W, (x.shape[1], None), ("D", "M"), f" to match x of shape {x.shape}")
    check_shape(f, "b", b, (W.shape[1],), ("M",), f" to match W of shape {W.shape}")
    return x, W, b


def _dense_backward_args(dout, cache):
    f = "dense_backward"
    check_cache(f, cache, 2, "dense_forward")
    x, W = cache
    dout = as_float_array(f, "dout", dout)
    check_shape(f, "dout", dout, (x.shape[0], W.shape[1]), ("N", "M"),
                " to match the forward output")
    return x, W, dout


def _dense_relu_backward_args(dout, cache):
    f = "dense_relu_backward"
    check_cache(f, cache, 3, "dense_relu_forward")
    x, W, a = cache
    dout = upstream(f, "dout", dout, a.shape)
    return x, W, a, dout
