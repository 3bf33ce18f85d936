"""Batch normalisation over the batch axis of (N, D) inputs, as
``torch.nn.BatchNorm1d``.

Training mode normalises with the batch statistics (biased variance) and
returns updated running statistics::

    running_mean <- (1 - momentum) running_mean + momentum mean
    running_var  <- (1 - momentum) running_var  + momentum var * N / (N - 1)

(the running variance uses the *unbiased* batch variance, exactly as torch).
Evaluation mode normalises with the running statistics and leaves them alone.
The state is never mutated: a new dict with new arrays is returned.
"""

import numpy as np

from backprop._checks import as_float_array, check_cache, check_shape, upstream


def batchnorm_init_state(D, dtype=np.float64):
    """Fresh running statistics for D features: mean 0, variance 1."""
    if not isinstance(D, (int, np.integer)) or isinstance(D, bool) or D < 1:
        raise ValueError(
            f"batchnorm_init_state: D must be a positive int; got {D!r}")
    return {"running_mean": np.zeros(D, dtype=dtype),
            "running_var": np.ones(D, dtype=dtype)}


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1,
                      eps=1e-5):
    """Batch normalisation forward pass.

    Parameters
    ----------
    x : array (N, D); training mode needs N >= 2 (as torch)
    gamma, beta : arrays (D,), scale and shift
    state : dict with ``"running_mean"`` (D,) and ``"running_var"`` (D,)
    train : bool, batch statistics (True) or running statistics (False)
    momentum : float in [0, 1], weight of the new batch statistics
    eps : float > 0, added to the variance

    Returns
    -------
    out : array (N, D), ``gamma * xhat + beta``
    cache : opaque, for :func:`batchnorm_backward` (either mode)
    new_state : dict of new arrays (eval: equal to ``state``)
    """
    x, gamma, beta, rm, rv = _batchnorm_forward_args(
        x, gamma, beta, state, train, momentum, eps)
    n = x.shape[0]

    if train:
        mu = x.mean(axis=0)                         # (D,)
        xc = x - mu                                 # (N, D)
        var = np.mean(xc * xc, axis=0)              # (D,) biased
        inv_std = 1 / np.sqrt(var + eps)            # (D,)
        xhat = xc
        xhat *= inv_std                             # (N, D), in place: ours
        new_state = {
            "running_mean": ((1 - momentum) * rm + momentum * mu)
                            .astype(rm.dtype, copy=False),
            "running_var": ((1 - momentum) * rv
                            + momentum * (var * (n / (n - 1))))
                           .astype(rv.dtype, copy=False),
        }
    else:
        inv_std = (1 / np.sqrt(rv + eps)).astype(x.dtype, copy=False)
        xhat = x - rm.astype(x.dtype, copy=False)   # (N, D)
        xhat *= inv_std
        # Unchanged statistics, in a new dict of new arrays (no aliasing).
        new_state = {"running_mean": rm.copy(), "running_var": rv.copy()}
    out = xhat * gamma
    out += beta
    return out, (bool(train), xhat, gamma, inv_std), new_state


def batchnorm_backward(dout, cache):
    """Batch normalisation backward pass (training or evaluation mode).

    Derivation of the compact formula (training mode). Per feature, with
    xhat = (x - mu) * s, s = 1/sqrt(var + eps), g = dL/dxhat = dout gamma:
    dL/dx_i = s [g_i - mean_j g_j] - s * xhat_i * mean_j(g_j xhat_j),
    because d mu/dx_i = 1/N contributes the mean of g, and
    d s/dx_i = -s^3 (x_i - mu) / N contributes the xhat-weighted term
    (the part through mu in var vanishes as sum_j (x_j - mu) = 0). So::

        dx = (s / N) * (N g - sum(g) - xhat * sum(g * xhat))

    In evaluation mode mu and var are constants: dx = dout * gamma * s.

    Parameters
    ----------
    dout : array (N, D)
    cache : from :func:`batchnorm_forward`

    Returns
    -------
    dx : array (N, D)
    dgamma, dbeta : arrays (D,)
    """
    dout, (train, xhat, gamma, inv_std) = _batchnorm_backward_args(
        "batchnorm_backward", dout, cache)
    n = xhat.shape[0]
    dbeta = dout.sum(axis=0)                        # (D,)
    dgamma = np.sum(dout * xhat, axis=0)            # (D,)
    g = dout * gamma                                # (N, D) dL/dxhat
    if train:
        dx = g * n
        dx -= g.sum(axis=0)
        dx -= xhat * np.sum(g * xhat, axis=0)
        dx *= inv_std / n
    else:
        dx = g
        dx *= inv_std
    return dx, dgamma, dbeta


def batchnorm_backward_staged(dout, cache):
    """Batch normalisation backward, one stage of the forward at a time.

    The same cache and the same results as :func:`batchnorm_backward`, but
    every intermediate of the forward has its own adjoint, last first::

        1: mu = mean(x)              4: s = (var + eps)^(-1/2)
        2: xc = x - mu               5: xhat = xc s
        3: var = mean(xc^2)          6: out = gamma xhat + beta

    The centred input is recovered from the cache as xc = xhat / s.
    In evaluation mode mu and var are constants: dx = dout * gamma * s.

    Parameters
    ----------
    dout : array (N, D)
    cache : from :func:`batchnorm_forward`

    Returns
    -------
    dx : array (N, D)
    dgamma, dbeta : arrays (D,)
    """
    dout, (train, xhat, gamma, inv_std) = _batchnorm_backward_args(
        "batchnorm_backward_staged", dout, cache)
    n = xhat.shape[0]
    # 6: out = gamma xhat + beta
    dbeta = dout.sum(axis=0)                        # (D,)
    dgamma = np.sum(dout * xhat, axis=0)            # (D,)
    dxhat = dout * gamma                            # (N, D)
    if not train:                                   # mu, var: constants
        return dxhat * inv_std, dgamma, dbeta
    xc = xhat / inv_std                             # (N, D), centred input
    # 5: xhat = xc s, two paths: through s and through xc
    dinv_std = np.sum(dxhat * xc, axis=0)           # (D,)
    dxc = dxhat * inv_std                           # (N, D)
    # 4: s = (var + eps)^(-1/2)
    dvar = -0.5 * inv_std**3 * dinv_std             # (D,)
    # 3: var = mean(xc^2)
    dxc += dvar * (2 / n) * xc
    # 2: xc = x - mu
    dmu = -dxc.sum(axis=0)                          # (D,)
    # 1: mu = mean(x)
    dx = dxc + dmu / n                              # (N, D)
    return dx, dgamma, dbeta


# Boundary checks of the backward passes: the cache and the upstream gradient.

def _batchnorm_backward_args(f, dout, cache):
    check_cache(f, cache, 4, "batchnorm_forward")
    dout = upstream(f, "dout", dout, cache[1].shape)
    return dout, cache


# Boundary check of batchnorm_forward: arrays, shapes and hyper-parameters.

def _batchnorm_forward_args(x, gamma, beta, state, train, momentum, eps):
    f = "batchnorm_forward"
    x = as_float_array(f, "x", x)
    check_shape(f, "x", x, (None, None), ("N", "D"))
    n, d = x.shape
    gamma = as_float_array(f, "gamma", gamma)
    beta = as_float_array(f, "beta", beta)
    ctx = f" to match x of shape {x.shape}"
    check_shape(f, "gamma", gamma, (d,), ("D",), ctx)
    check_shape(f, "beta", beta, (d,), ("D",), ctx)
    if not isinstance(state, dict) or not {"running_mean", "running_var"} <= state.keys():
        raise ValueError(f"{f}: state must be a dict with keys 'running_mean' and "
                         f"'running_var' (see batchnorm_init_state); got {state!r:.80}")
    rm = as_float_array(f, "state['running_mean']", state["running_mean"])
    rv = as_float_array(f, "state['running_var']", state["running_var"])
    check_shape(f, "state['running_mean']", rm, (d,), ("D",), ctx)
    check_shape(f, "state['running_var']", rv, (d,), ("D",), ctx)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{f}: momentum must be in [0, 1]; got {momentum!r}")
    if not eps > 0:
        raise ValueError(f"{f}: eps must be > 0; got {eps!r}")
    if train and n < 2:
        raise ValueError(f"{f}: expected more than 1 value per feature when "
                         f"training, got x of shape {x.shape} (N must be >= 2)")
    return x, gamma, beta, rm, rv
