"""Wrap a package forward/backward pair as a ``torch.autograd.Function``.

This lets PyTorch's own checker, ``torch.autograd.gradcheck``, test a NumPy
pair as an independent second opinion next to ``backprop.gradcheck``. The pair
convention is the package's: ``forward(*inputs) -> (out, cache)`` and
``backward(dout, cache) -> (dinput, ...)`` (a bare array for one input).

PyTorch is imported lazily, inside the functions, so ``import backprop`` does
not need torch.
"""

import numpy as np

__all__ = ["pair_function", "loss_function", "torch_gradcheck"]


def _to_numpy(t):
    """A NumPy copy of a tensor, in the tensor's dtype, detached from the graph."""
    return t.detach().cpu().numpy().copy()


def _to_tensor(a, like):
    """A tensor with ``like``'s dtype and device holding the array ``a``."""
    import torch

    return torch.as_tensor(np.array(a, copy=True), dtype=like.dtype, device=like.device)


def pair_function(forward, backward):
    """``apply(*tensors) -> tensor`` running ``forward`` and ``backward``.

    ``forward(*arrays) -> (out, cache)``; ``backward(dout, cache)`` returns
    one gradient per argument of ``forward`` (a tuple, or a bare array when
    there is one argument). Autograd calls ``backward`` with ``dout`` of the
    shape of ``out``; the gradients it returns must have the shapes of the
    inputs.
    """
    import torch

    class PairFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            # Tensors become NumPy copies; anything else (integer labels, a
            # plain array) is passed to the NumPy forward as it is.
            is_tensor = [torch.is_tensor(t) for t in inputs]
            if not any(is_tensor):
                raise ValueError("pair_function: expected at least one "
                                 "tensor input, got none")
            arrays = [_to_numpy(t) if it else t
                      for t, it in zip(inputs, is_tensor)]
            out, cache = forward(*arrays)
            ctx.cache = cache
            ctx.is_tensor = is_tensor
            ctx.input_shapes = [tuple(t.shape) if it else None
                                for t, it in zip(inputs, is_tensor)]
            like = inputs[is_tensor.index(True)]
            return _to_tensor(out, like)

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_out):
            grads = backward(_to_numpy(grad_out), ctx.cache)
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != len(ctx.is_tensor):
                raise ValueError(
                    f"backward returned {len(grads)} gradients, expected "
                    f"{len(ctx.is_tensor)} (one per forward argument)"
                )
            result = []
            for g, shape, it in zip(grads, ctx.input_shapes, ctx.is_tensor):
                if not it or g is None:
                    result.append(None)  # no gradient: not a tensor input
                    continue
                g = np.asarray(g)
                if g.shape != shape:
                    raise ValueError(
                        f"backward returned a gradient of shape {g.shape}, "
                        f"expected {shape}"
                    )
                result.append(_to_tensor(g, grad_out))
            return tuple(result)

    name = getattr(forward, "__name__", "forward")
    PairFunction.__name__ = f"Pair[{name}]"
    return PairFunction.apply


def loss_function(loss):
    """Return ``apply(pred, y) -> scalar tensor`` for a package loss.

    ``loss(pred, y) -> (value, dpred)``: the gradient with respect to ``pred``
    comes from the loss itself; ``y`` (targets) gets no gradient. Pass ``y``
    as a NumPy array (integer labels stay integers).
    """

    def forward(pred, y):
        value, dpred = loss(pred, y)
        return np.asarray(value, dtype=pred.dtype), dpred

    def backward(dout, dpred):
        # dout is the scalar upstream gradient; y gets none.
        return dout * dpred, None

    return pair_function(forward, backward)


def torch_gradcheck(forward, backward, *arrays, wrt=None, eps=1e-6, atol=1e-5,
                    rtol=1e-3, raise_exception=True):
    """Check a pair with ``torch.autograd.gradcheck`` in float64.

    ``arrays`` are the forward's inputs (NumPy); ``wrt`` lists the indices of
    the inputs to differentiate (default: all). The others are passed to the
    forward unchanged (integer labels stay integers). ``eps``, ``atol`` and
    ``rtol`` are ``torch.autograd.gradcheck``'s (same defaults).

    Returns ``True`` when the check passes. On a failure it raises
    ``torch.autograd.gradcheck.GradcheckError``, whose message names the
    output and input and prints the numerical and analytical Jacobians; with
    ``raise_exception=False`` it returns ``False`` instead.
    """
    import torch

    if len(arrays) == 0:
        raise ValueError("torch_gradcheck expected at least one input array, got none")
    wrt = range(len(arrays)) if wrt is None else wrt
    wrt = set(wrt)
    if not wrt:
        raise ValueError("wrt must name at least one input to differentiate, got none")
    bad = [i for i in wrt if not 0 <= i < len(arrays)]
    if bad:
        raise ValueError(f"wrt indices must be in [0, {len(arrays)}), got {bad}")
    tensors = tuple(
        torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) if i in wrt else a
        for i, a in enumerate(arrays)
    )
    apply = pair_function(forward, backward)
    return torch.autograd.gradcheck(apply, tensors, eps=eps, atol=atol, rtol=rtol,
                                    raise_exception=raise_exception)
