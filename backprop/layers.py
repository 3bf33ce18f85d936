"""Fully connected (dense, affine) layer: ``out = x @ W + b``.

Shapes: x (N, D), W (D, M), b (M,), out (N, M).

Backward, with ``dout = dL/dout`` of shape (N, M)::

    dx = dout @ W.T       # (N, D)
    dW = x.T @ dout       # (D, M)
    db = dout.sum(0)      # (M,)   b is broadcast over the batch, so we sum
"""

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


# Boundary checks (one call at the top of each public function; the math
# above trusts what they return). Messages name the expected shapes.

def _dense_forward_args(x, W, b):
    f = "dense_forward"
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
