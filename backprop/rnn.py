"""Vanilla (Elman) recurrent network with tanh, and backprop through time.

One step: ``h = tanh(x @ Wx + h_prev @ Wh + b)`` with x (N, D), h_prev
(N, H), Wx (D, H), Wh (H, H), b (H,). A sequence x (N, T, D) starting from
h0 (N, H) gives hidden states h (N, T, H), as ``torch.nn.RNN(batch_first=
True)`` with ``Wx = W_ih.T``, ``Wh = W_hh.T`` and ``b = b_ih + b_hh``.
"""

import numpy as np

from backprop._checks import as_float_array, check_cache, check_shape, upstream


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One RNN step: ``h = tanh(x @ Wx + h_prev @ Wh + b)``.

    Parameters
    ----------
    x : array (N, D); h_prev : array (N, H)
    Wx : array (D, H); Wh : array (H, H); b : array (H,)

    Returns
    -------
    h : array (N, H)
    cache : opaque, for :func:`rnn_step_backward`
    """
    x, h_prev, Wx, Wh, b = _rnn_step_args(x, h_prev, Wx, Wh, b)
    a = x @ Wx                    # (N, H), a new array: add in place
    a += h_prev @ Wh
    a += b
    h = np.tanh(a, out=a)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """Backward of one RNN step.

    With da = dh * (1 - h**2) the gradient at the pre-activation:
    dx = da @ Wx.T, dh_prev = da @ Wh.T, dWx = x.T @ da,
    dWh = h_prev.T @ da, db = da.sum(0).

    Parameters
    ----------
    dh : array (N, H), upstream gradient of h
    cache : from :func:`rnn_step_forward`

    Returns
    -------
    dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,)
    """
    x, h_prev, Wx, Wh, h, dh = _rnn_step_backward_args(dh, cache)
    da = dh * (1 - h * h)         # (N, H)
    dx = da @ Wx.T                # (N, D)
    dh_prev = da @ Wh.T           # (N, H)
    return dx, dh_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence.

    Parameters
    ----------
    x : array (N, T, D); h0 : array (N, H), the state before step 0
    Wx : array (D, H); Wh : array (H, H); b : array (H,)

    Returns
    -------
    h : array (N, T, H), the hidden state after every step
    cache : opaque, for :func:`rnn_backward`
    """
    x, h0, Wx, Wh, b = _rnn_forward_args(x, h0, Wx, Wh, b)
    T = x.shape[1]
    h = x @ Wx                    # (N, T, H): input terms of all steps
    h += b
    prev = h0
    for t in range(T):
        a = h[:, t]               # (N, H), a view: finished in place
        a += prev @ Wh
        np.tanh(a, out=a)
        prev = a
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache, truncate=None):
    """Backpropagation through time.

    Parameters
    ----------
    dh : array (N, T, H), upstream gradient of *every* state h[:, t]
    cache : from :func:`rnn_forward`
    truncate : None or int k >= 1
        None: full BPTT. With k, the gradient that enters at step t
        (``dh[:, t]``) flows back through at most k steps, t, ...,
        t-k+1, and is dropped when it reaches h[:, t-k] (as if h[:, t-k]
        were detached when computing h[:, t]). If t-k <= -1 it reaches h0
        and is added to dh0, so every ``truncate >= T`` is full BPTT.

    Returns
    -------
    dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)
    """
    x, h0, Wx, Wh, h, dh = _rnn_backward_args(dh, cache, truncate)
    N, T, H = h.shape
    dtanh = 1 - h * h             # (N, T, H), tanh' at every step
    da = np.zeros_like(dtanh)     # (N, T, H), dL/da_t, pre-activations
    if truncate is None:
        g = np.zeros_like(dtanh[:, 0])   # carried back from step t+1
        for t in range(T - 1, -1, -1):
            g = g + dh[:, t]             # both paths: now dL/dh_t
            da[:, t] = g * dtanh[:, t]
            g = da[:, t] @ Wh.T          # to h_{t-1} (h0 at t = 0)
        dh0 = g
    else:
        # each entry point t followed back k steps on its own: O(T k)
        dh0 = np.zeros_like(dtanh[:, 0])
        for t in range(T - 1, -1, -1):
            g = dh[:, t]
            for s in range(t, max(t - truncate, -1), -1):
                d = g * dtanh[:, s]
                da[:, s] += d
                g = d @ Wh.T             # to h_{s-1}
            if t - truncate < 0:         # it reached h0
                dh0 += g
    # The state before step t: h0 at t = 0, h[:, t-1] after. Indexing
    # h[:, t-1] at t = 0 would read h[:, -1], the LAST state.
    h_prev = np.concatenate([h0[:, None].astype(h.dtype, copy=False),
                             h[:, :-1]], axis=1)      # (N, T, H)
    a2 = da.reshape(N * T, H)                         # (N T, H)
    dx = da @ Wx.T                                    # (N, T, D)
    dWx = x.reshape(N * T, -1).T @ a2                 # (D, H)
    dWh = h_prev.reshape(N * T, H).T @ a2             # (H, H)
    db = a2.sum(axis=0)                               # (H,)
    return dx, dh0, dWx, dWh, db


# Boundary checks (one call at the top of each public function).

def _check_params(f, D, Wx, Wh, b, ctx):
    Wx = as_float_array(f, "Wx", Wx)
    check_shape(f, "Wx", Wx, (D, None), ("D", "H"), ctx)
    H = Wx.shape[1]
    Wh = as_float_array(f, "Wh", Wh)
    check_shape(f, "Wh", Wh, (H, H), ("H", "H"), f" to match Wx of shape {Wx.shape}")
    b = as_float_array(f, "b", b)
    check_shape(f, "b", b, (H,), ("H",), f" to match Wx of shape {Wx.shape}")
    return Wx, Wh, b


def _rnn_args(f, x, h_prev, Wx, Wh, b):
    """x (N, D) for a step or (N, T, D) for a sequence; h_prev (N, H)."""
    x = as_float_array(f, "x", x)
    step = f == "rnn_step_forward"
    check_shape(f, "x", x, (None, None) if step else (None, None, None),
                ("N", "D") if step else ("N", "T", "D"))
    Wx, Wh, b = _check_params(f, x.shape[-1], Wx, Wh, b, f" to match x of shape {x.shape}")
    name = "h_prev" if step else "h0"
    h_prev = as_float_array(f, name, h_prev)
    check_shape(f, name, h_prev, (x.shape[0], Wx.shape[1]), ("N", "H"),
                f" to match x of shape {x.shape} and Wx of shape {Wx.shape}")
    return x, h_prev, Wx, Wh, b


def _rnn_step_args(x, h_prev, Wx, Wh, b):
    return _rnn_args("rnn_step_forward", x, h_prev, Wx, Wh, b)


def _rnn_forward_args(x, h0, Wx, Wh, b):
    return _rnn_args("rnn_forward", x, h0, Wx, Wh, b)


def _rnn_step_backward_args(dh, cache):
    f = "rnn_step_backward"
    check_cache(f, cache, 5, "rnn_step_forward")
    x, h_prev, Wx, Wh, h = cache
    dh = upstream(f, "dh", dh, h.shape, "the forward output h")
    return x, h_prev, Wx, Wh, h, dh


def _rnn_backward_args(dh, cache, truncate):
    f = "rnn_backward"
    check_cache(f, cache, 5, "rnn_forward")
    x, h0, Wx, Wh, h = cache
    dh = upstream(f, "dh", dh, h.shape, "the forward output h")
    if truncate is not None and (not isinstance(truncate, (int, np.integer))
                                 or isinstance(truncate, bool) or truncate < 1):
        raise ValueError(f"{f}: truncate must be None or an int >= 1; got {truncate!r}")
    return x, h0, Wx, Wh, h, dh
