"""PyTorch (float64, autograd) references for the ``backprop`` pairs.

Each function takes torch tensors named like the NumPy function's arguments
and returns the output whose vector-Jacobian product autograd computes.
Weights are in the book's layout (Wx (D, H), W (D, M)); where torch's own
module stores the transpose (``nn.RNN``'s W_ih is (H, D)) the helper
copies it in transposed.
"""

import numpy as np
import torch
import torch.nn.functional as F



def to_torch(a, requires_grad=False):
    """A float64 (or int64 for integer arrays) tensor holding a copy of ``a``."""
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return torch.tensor(a, dtype=torch.int64)
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def dense(x, W, b):
    return F.linear(x, W.T, b)


def sigmoid(x):
    return torch.sigmoid(x)


def tanh(x):
    return torch.tanh(x)


def relu(x):
    return torch.relu(x)


def mse(pred, y):
    return F.mse_loss(pred, y)


def softmax_ce(logits, y):
    return F.cross_entropy(logits, y)


def bce(logits, y):
    return F.binary_cross_entropy_with_logits(logits, y)


def batchnorm(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    # F.batch_norm updates the running buffers in place: hand it copies.
    return F.batch_norm(x, running_mean.clone(), running_var.clone(), gamma, beta,
                        training=train, momentum=momentum, eps=eps)


def rnn_step(x, h_prev, Wx, Wh, b):
    return torch.tanh(x @ Wx + h_prev @ Wh + b)


def make_torch_rnn(Wx, Wh, b):
    """``torch.nn.RNN(tanh, batch_first=True)`` with our weights copied in.

    torch computes tanh(x W_ih^T + b_ih + h W_hh^T + b_hh): W_ih = Wx.T,
    W_hh = Wh.T, b_ih = b, b_hh = 0.
    """
    D, H = np.shape(Wx)
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.as_tensor(np.asarray(Wx).T))
        rnn.weight_hh_l0.copy_(torch.as_tensor(np.asarray(Wh).T))
        rnn.bias_ih_l0.copy_(torch.as_tensor(np.asarray(b)))
        rnn.bias_hh_l0.zero_()
    return rnn


def rnn_loop(x, h0, Wx, Wh, b):
    """The whole sequence by an explicit loop of ``rnn_step`` (N, T, H)."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, Wx, Wh, b)
        hs.append(h)
    return torch.stack(hs, dim=1)


def rnn_truncated(x, h0, Wx, Wh, b, k):
    """Hidden states (N, T, H) whose autograd graph is truncated after k steps.

    Column t is h_t recomputed from ``h_{t-k}.detach()`` through k steps
    (from h0, not detached, when t - k < 0). The values equal the forward
    states; the gradient of sum(out * dh) is BPTT truncated as documented
    in ``backprop.rnn.rnn_backward``.
    """
    T = x.shape[1]
    with torch.no_grad():
        states = rnn_loop(x, h0, Wx, Wh, b)
    cols = []
    for t in range(T):
        if t - k < 0:
            h, start = h0, 0
        else:
            h, start = states[:, t - k].detach(), t - k + 1
        for s in range(start, t + 1):
            h = rnn_step(x[:, s], h, Wx, Wh, b)
        cols.append(h)
    return torch.stack(cols, dim=1)


def vjp(fn, arrays, dout, wrt, **const):
    """Output and gradients of ``sum(fn(...) * dout)`` with respect to ``wrt``.

    ``arrays``: name -> NumPy array (differentiable if its name is in
    ``wrt``); ``const``: extra non-tensor keyword arguments.
    Returns ``(out, {name: grad})`` as float64 NumPy arrays.
    """
    tensors = {k: to_torch(v, requires_grad=k in wrt) for k, v in arrays.items()}
    out = fn(**tensors, **const)
    (out * torch.as_tensor(np.asarray(dout, dtype=np.float64))).sum().backward()
    grads = {k: tensors[k].grad.numpy() for k in wrt}
    return out.detach().numpy(), grads
