"""A small reverse-mode automatic differentiation engine over NumPy arrays.

A :class:`Tensor` holds an array, the tensors it was computed from (its
parents) and a backward rule: ``rule(dout) -> one gradient per parent``.
:func:`backward` sorts the graph topologically and runs the rules from the
output back to the leaves, *adding* every gradient into the parent's
``.grad``: a tensor used twice (fan-out) receives the sum of both paths.

The rules are the package's pairs. :func:`from_pair` turns any
``forward(*arrays) -> (out, cache)`` and ``backward(dout, cache)`` into one
node, so ``dense``, ``sigmoid``, ``mse`` ... are one line each. Elementwise
``add``, ``mul`` (with NumPy broadcasting) and ``sum`` are written out.
Shapes: a tensor has any shape; a loss node holds a 0-d array. A float
array keeps its dtype; integers and Python numbers become float64.
"""

import numpy as np

from backprop import _checks, activations, batchnorm, layers, losses, rnn
from backprop.gradcheck import numerical_gradient, rel_error

__all__ = ["Tensor", "topological_order", "backward", "zero_grad",
           "from_pair", "unbroadcast", "add", "mul", "sum", "dense",
           "sigmoid", "tanh", "relu", "mse", "cross_entropy",
           "batchnorm_train", "rnn_step", "gradient_check"]


class Tensor:
    """An array in a graph: ``data``, ``parents``, ``rule``, ``grad``."""

    def __init__(self, data, parents=(), rule=None, op="leaf"):
        self.data = _checks.as_float_array("Tensor", "data", data)
        self.parents = tuple(parents)
        self.rule = rule            # dout -> tuple, one entry per parent
        self.op = op
        self.grad = None            # filled (accumulated) by backward

    shape = property(lambda self: self.data.shape)

    def __repr__(self):
        return f"Tensor(op={self.op}, shape={self.shape})"

    def backward(self):
        backward(self)

    __add__ = __radd__ = lambda self, other: add(self, other)
    __mul__ = __rmul__ = lambda self, other: mul(self, other)


def topological_order(out):
    """Every tensor ``out`` depends on, each after all of its parents."""
    order, seen, stack = [], set(), [(out, False)]
    while stack:                    # depth first, without recursion
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)
        elif id(t) not in seen:
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((p, False) for p in t.parents)
    return order


def backward(out):
    """Fill ``.grad`` of every tensor under ``out`` with d out / d tensor.

    ``out`` must hold one number. Gradients are added to what ``.grad``
    already holds, as torch does; :func:`zero_grad` clears them.
    """
    _backward_args(out)
    out.grad = np.ones_like(out.data)
    for t in reversed(topological_order(out)):
        if t.rule is None:
            continue                # a leaf: nothing to pass on
        for p, g in zip(t.parents, t.rule(t.grad)):
            p.grad = g if p.grad is None else p.grad + g


def zero_grad(*tensors):
    """Forget the gradients accumulated in ``tensors``."""
    for t in tensors:
        t.grad = None


def from_pair(forward, backward, inputs, *constants, op="pair"):
    """One node from a package pair: ``forward(*inputs, *constants)``.

    ``inputs`` are tensors (they receive gradients); ``constants`` are
    passed to ``forward`` unchanged (labels, state). The rule keeps the
    first ``len(inputs)`` gradients that ``backward`` returns.
    """
    arrays = [t.data for t in inputs]
    out, cache = forward(*arrays, *constants)[:2]

    def rule(dout):
        grads = backward(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return grads[:len(inputs)]

    return Tensor(out, inputs, rule, op)


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)           # leading axes broadcasting added
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)   # a stretched axis of 1
    return g


def add(a, b):
    """``a + b`` with broadcasting; the gradient is summed back."""
    a, b = _tensors(a, b)
    rule = lambda d: (unbroadcast(d, a.shape), unbroadcast(d, b.shape))
    return Tensor(a.data + b.data, (a, b), rule, "add")


def mul(a, b):
    """``a * b`` with broadcasting: d a = d out * b, d b = d out * a."""
    a, b = _tensors(a, b)
    rule = lambda d: (unbroadcast(d * b.data, a.shape),
                      unbroadcast(d * a.data, b.shape))
    return Tensor(a.data * b.data, (a, b), rule, "mul")


def sum(a, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes by default); d a = d out, broadcast."""
    (a,) = _tensors(a)
    out = a.data.sum(axis=axis, keepdims=keepdims)

    def rule(d):
        if not keepdims and axis is not None:
            d = np.expand_dims(d, axis)   # put the summed axes back
        return (np.broadcast_to(d, a.shape).copy(),)

    return Tensor(out, (a,), rule, "sum")


def dense(x, W, b):
    """``x @ W + b``: x (N, D), W (D, M), b (M,) -> (N, M)."""
    return from_pair(layers.dense_forward, layers.dense_backward,
                     _tensors(x, W, b), op="dense")


def sigmoid(x):
    return from_pair(activations.sigmoid_forward,
                     activations.sigmoid_backward, _tensors(x),
                     op="sigmoid")


def tanh(x):
    return from_pair(activations.tanh_forward, activations.tanh_backward,
                     _tensors(x), op="tanh")


def relu(x):
    return from_pair(activations.relu_forward, activations.relu_backward,
                     _tensors(x), op="relu")


def mse(pred, y):
    """Mean squared error against the constant target ``y``."""
    return from_pair(losses.mse_loss, _loss_backward, _tensors(pred),
                     np.asarray(y), op="mse")


def cross_entropy(logits, y):
    """Softmax cross-entropy: logits (N, C), integer labels y (N,)."""
    return from_pair(losses.softmax_cross_entropy, _loss_backward,
                     _tensors(logits), np.asarray(y), op="cross_entropy")


def batchnorm_train(x, gamma, beta, state):
    """BatchNorm with batch statistics: (out tensor, new running state)."""
    tensors = _tensors(x, gamma, beta)
    res = batchnorm.batchnorm_forward(*(t.data for t in tensors), state)
    out = from_pair(lambda *a: res[:2], batchnorm.batchnorm_backward,
                    tensors, op="batchnorm")
    return out, res[2]


def rnn_step(x, h_prev, Wx, Wh, b):
    """One RNN step, ``tanh(x Wx + h_prev Wh + b)``: (N, H) out."""
    return from_pair(rnn.rnn_step_forward, rnn.rnn_step_backward,
                     _tensors(x, h_prev, Wx, Wh, b), op="rnn_step")


def gradient_check(f, *arrays, h=1e-5):
    """Largest relative error of the engine's gradient of ``f`` against
    central differences, one per array (``f(*tensors)`` -> a 0-d tensor).
    """
    leaves = [Tensor(np.array(a, dtype=np.float64)) for a in arrays]
    backward(f(*leaves))
    value = lambda: float(f(*leaves).data)
    errors = []
    for t in leaves:
        num = numerical_gradient(lambda _: value(), t.data, h)
        errors.append(rel_error(t.grad, num))
    return errors


# Helpers. _loss_backward is the backward of a package loss, whose forward
# returns (loss, dpred): dpred is the cache.

def _loss_backward(dout, dpred):
    return dout * dpred


def _tensors(*xs):
    """Tensors as they are; arrays and numbers become constant leaves."""
    return tuple(x if isinstance(x, Tensor) else Tensor(x) for x in xs)


def _backward_args(out):
    if not isinstance(out, Tensor) or out.data.size != 1:
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError("backward: out must be a Tensor holding one number"
                         f" (a loss); got {shape}")
