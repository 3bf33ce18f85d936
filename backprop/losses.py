"""Loss functions. Each returns ``(loss, d<input>)``: the scalar loss and
its gradient with respect to the prediction, ready for backprop.

All three match their PyTorch counterparts with the default ``"mean"``
reduction and stay finite, without warnings, for logits of +-1e4.
"""

import numpy as np

from backprop._checks import (as_float_array, as_int_labels, as_prediction_and_target,
                              check_shape)


def mse_loss(pred, y):
    """Mean squared error over all elements, as ``torch.nn.MSELoss()``.

    Parameters
    ----------
    pred : array, any shape (typically (N, M))
    y : array, the same shape as ``pred`` (no broadcasting)

    Returns
    -------
    loss : float scalar in the dtype of ``pred``, ``mean((pred - y)**2)``
    dpred : array like ``pred``, ``2 (pred - y) / pred.size``
    """
    pred, y = as_prediction_and_target("mse_loss", "pred", pred, y)
    diff = pred - y
    dpred = diff * (2 / diff.size)
    diff *= diff
    loss = diff.mean(dtype=pred.dtype)
    return loss, dpred.astype(pred.dtype, copy=False)


def softmax_cross_entropy(logits, y):
    """Softmax cross-entropy, mean over the batch, as ``F.cross_entropy``.

    loss = mean_i [ logsumexp(z_i) - z_i[y_i] ], and
    dL/dz_i = (softmax(z_i) - onehot(y_i)) / N.
    The max of each row is subtracted first (log-sum-exp trick), so exp
    never overflows; a row holding a NaN gives NaN in its row only.

    Parameters
    ----------
    logits : array (N, C)
    y : integer array (N,), class indices in [0, C)

    Returns
    -------
    loss : float scalar in the dtype of ``logits``
    dlogits : array (N, C)
    """
    logits, y = _logits_and_labels(logits, y)
    n = logits.shape[0]
    rows = np.arange(n)
    z = logits - logits.max(axis=1, keepdims=True)   # (N, C), ours to reuse
    picked = z[rows, y]                # (N,) shifted logit of the target
    np.exp(z, out=z)
    s = z.sum(axis=1)                                # (N,) in [1, C]
    loss = (np.log(s) - picked).mean(dtype=logits.dtype)
    z /= s[:, None]                                  # softmax
    z[rows, y] -= 1
    z *= 1 / n
    return loss, z


def bce_with_logits(logits, y):
    """Binary cross-entropy on logits, mean over all elements, as
    ``F.binary_cross_entropy_with_logits``.

    Per element, with x the logit and y the target in [0, 1]:
    ``max(x, 0) - x y + log1p(exp(-|x|))`` (stable for any finite x), and
    the gradient is ``(sigmoid(x) - y) / size``.

    Parameters
    ----------
    logits : array, any shape
    y : array, the same shape, targets in [0, 1] (not checked, as torch)

    Returns
    -------
    loss : float scalar in the dtype of ``logits``
    dlogits : array like ``logits``
    """
    x, y = as_prediction_and_target("bce_with_logits", "logits", logits, y)
    e = np.exp(-np.abs(x))                           # exp(-|x|) in (0, 1]
    per = np.maximum(x, 0) - x * y + np.log1p(e)
    loss = per.mean(dtype=x.dtype)
    sig = np.where(x >= 0, 1, e).astype(x.dtype, copy=False)
    sig /= 1 + e                                     # sigmoid(x), stable
    sig -= y
    sig *= 1 / x.size
    return loss, sig.astype(x.dtype, copy=False)


# Boundary check of softmax_cross_entropy (the other losses share
# _checks.as_prediction_and_target).

def _logits_and_labels(logits, y):
    f = "softmax_cross_entropy"
    logits = as_float_array(f, "logits", logits)
    check_shape(f, "logits", logits, (None, None), ("N", "C"))
    n, c = logits.shape
    if n == 0 or c == 0:
        raise ValueError(f"{f}: logits must have N >= 1 and C >= 1; "
                         f"got logits of shape {logits.shape}")
    return logits, as_int_labels(f, "y", y, n, c)
