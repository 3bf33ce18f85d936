"""Inverted dropout (Srivastava et al. 2014), as ``torch.nn.functional.dropout``.

In training, each entry of x is kept with probability 1 - p and zeroed
with probability p; the kept entries are divided by 1 - p, so that the
expected output equals x and evaluation needs no rescaling (it is the
identity). With a boolean keep-mask m of x's shape::

    out = x * m / (1 - p)          dx = dout * m / (1 - p)

The backward uses the *same* mask as the forward (it is in the cache).
A mask can be passed in instead of drawn, so that two implementations
(this one and torch's, say) can share it exactly.
"""

import numpy as np

from backprop._checks import as_float_array, check_cache, check_same_shape, upstream

__all__ = ["dropout_mask", "dropout_forward", "dropout_backward"]


def dropout_mask(shape, p, rng):
    """A boolean keep-mask of ``shape``: True with probability 1 - p.

    Draws ``rng.random(shape)`` (uniform on [0, 1)) and keeps the entries
    >= p, so p = 0 keeps everything. rng: a ``np.random.Generator``.
    """
    p, rng = _dropout_mask_args(p, rng)
    return rng.random(shape) >= p


def dropout_forward(x, p, rng=None, mask=None):
    """Inverted dropout forward pass (training mode), any shape.

    Parameters
    ----------
    x : array, any shape (typically (N, H))
    p : float in [0, 1), the probability of dropping an entry
    rng : np.random.Generator to draw the mask from, or None
    mask : boolean array of x's shape (True = keep), or None;
        exactly one of ``rng`` and ``mask`` is given

    Returns
    -------
    out : array like x, ``x * mask / (1 - p)``
    cache : opaque, for :func:`dropout_backward` (the mask and p)
    """
    x, p, mask = _dropout_forward_args(x, p, rng, mask)
    if mask is None:
        mask = dropout_mask(x.shape, p, rng)
    out = x * mask / (1 - p)
    return out, (mask, p)


def dropout_backward(dout, cache):
    """Inverted dropout backward: ``dx = dout * mask / (1 - p)``.

    The mask is the forward's (from the cache), never a new draw.
    dout : array like the forward's x. Returns dx, the same shape.
    """
    mask, p, dout = _dropout_backward_args(dout, cache)
    dx = dout * mask / (1 - p)
    return dx


# Boundary checks (one call at the top of each public function).

def _dropout_mask_args(p, rng):
    f = "dropout_mask"
    p = _probability(f, p)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{f}: rng must be a np.random.Generator "
            f"(np.random.default_rng(seed)); got {type(rng).__name__}")
    return p, rng


def _probability(f, p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)):
        raise ValueError(f"{f}: p must be a float in [0, 1); got {p!r}")
    if not 0 <= p < 1:
        raise ValueError(f"{f}: p must be in [0, 1); got p = {p!r}")
    return float(p)


def _dropout_forward_args(x, p, rng, mask):
    f = "dropout_forward"
    x = as_float_array(f, "x", x)
    p = _probability(f, p)
    if (rng is None) == (mask is None):
        raise ValueError(f"{f}: pass exactly one of rng and mask; got "
                         f"{'neither' if rng is None else 'both'}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise ValueError(f"{f}: mask must be a boolean array "
                             f"(True = keep); got dtype {mask.dtype}")
        check_same_shape(f, "mask", mask, "x", x.shape)
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"{f}: rng must be a np.random.Generator; "
                         f"got {type(rng).__name__}")
    return x, p, mask


def _dropout_backward_args(dout, cache):
    f = "dropout_backward"
    check_cache(f, cache, 2, "dropout_forward")
    mask, p = cache
    dout = upstream(f, "dout", dout, mask.shape)
    return mask, p, dout
