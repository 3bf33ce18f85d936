"""Gradient checkpointing for a chain of layers (Chen et al. 2016).

A chain is a list of layers, each a triple ``(forward, backward, params)``
of one of the package's pairs and its parameters, for example
``(dense_relu_forward, dense_relu_backward, (W, b))``::

    forward(x, *params) -> (out, cache)
    backward(dout, cache) -> (dx, *dparams), or dx alone (activations)

``chain_forward`` / ``chain_backward`` keep every cache: the memory of the
activations grows with the number of layers n. ``checkpoint_forward`` keeps
only the input of each *segment* (the checkpoints, at the layer indices
``starts``) and drops every cache; ``checkpoint_backward`` walks the segments
from the last, runs each segment's forward again from its checkpoint to
rebuild its caches, and backpropagates through it. Peak activations: the m
checkpoints plus the caches of one segment, instead of all n layers; the
price is one more forward pass. Segments of length about sqrt(n)
(``sqrt_schedule``) make m + (longest segment) about 2 sqrt(n).

Everything is a pure function: nothing is written into a layer, a cache or
a checkpoint, and the gradients are the uncheckpointed ones, bit for bit
(the same operations on the same numbers).
"""

import math

__all__ = [
    "chain_forward",
    "chain_backward",
    "sqrt_schedule",
    "checkpoint_forward",
    "checkpoint_backward",
    "peak_activations",
]


def chain_forward(layers, x):
    """Run the chain and keep every cache: (out, caches), one per layer."""
    layers = _chain_args(layers)
    caches = []
    for forward, _, params in layers:
        x, cache = forward(x, *params)
        caches.append(cache)
    return x, caches


def chain_backward(dout, caches, layers):
    """Backward through the chain: (dx, grads), grads[i] = layer i's dparams."""
    layers = _chain_args(layers)
    grads = [None] * len(layers)
    for i in reversed(range(len(layers))):
        out = layers[i][1](dout, caches[i])   # backward
        # activations return dx alone, layers (dx, dW, db)
        dout, *grads[i] = out if isinstance(out, tuple) else (out,)
    return dout, grads


def sqrt_schedule(n):
    """Segment starts for n layers, segments of round(sqrt(n)) layers."""
    n = _positive_int("sqrt_schedule", "n", n)
    k = max(1, round(math.sqrt(n)))
    return tuple(range(0, n, k))


def checkpoint_forward(layers, x, starts):
    """Run the chain keeping only each segment's input: (out, saved)."""
    layers, starts = _checkpoint_args(layers, starts)
    saved = []
    for i, (forward, _, params) in enumerate(layers):
        if i in starts:
            saved.append(x)         # the input of a segment
        x, _ = forward(x, *params)  # the cache is dropped
    return x, tuple(saved)


def checkpoint_backward(dout, saved, layers, starts):
    """Backward from checkpoints, recomputing one segment at a time.

    Returns (dx, grads) as ``chain_backward``.
    """
    layers, starts = _checkpoint_args(layers, starts, saved)
    ends = starts[1:] + (len(layers),)
    grads = [None] * len(layers)
    for s in reversed(range(len(starts))):
        segment = layers[starts[s]:ends[s]]
        _, caches = chain_forward(segment, saved[s])   # recompute
        dout, grads[starts[s]:ends[s]] = chain_backward(dout, caches, segment)
        del caches      # free this segment before recomputing the next
    return dout, grads


def peak_activations(n, starts=None):
    """Activations held at the peak, in units of one layer's output.

    Without checkpoints (``starts`` None): the input and n outputs, n + 1.
    With segment starts: the m checkpoints and the outputs of the longest
    segment, which backward recomputes while all checkpoints are held.
    """
    n = _positive_int("peak_activations", "n", n)
    if starts is None:
        return n + 1
    starts = _schedule(n, starts)
    lengths = [b - a for a, b in zip(starts, starts[1:] + (n,))]
    return len(starts) + max(lengths)


# Boundary checks (one call at the top of each public function).

def _positive_int(func, name, n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{func}: {name} must be a positive int; got {n!r}")
    return n


def _chain_args(layers):
    layers = list(layers)
    for i, layer in enumerate(layers):
        ok = isinstance(layer, tuple) and len(layer) == 3
        if not ok or not (callable(layer[0]) and callable(layer[1])):
            raise ValueError(
                "each layer must be a tuple (forward, backward, params); "
                f"got {type(layer).__name__} at index {i}")
    return layers


def _schedule(n, starts):
    try:
        starts = tuple(int(s) for s in starts)
    except (TypeError, ValueError):
        raise ValueError(f"starts must be layer indices; got {starts!r}") from None
    increasing = all(a < b for a, b in zip(starts, starts[1:]))
    if not starts or starts[0] != 0 or not increasing or starts[-1] >= n:
        raise ValueError("starts must increase from 0 and stay below the "
                         f"number of layers {n}; got {starts}")
    return starts


def _checkpoint_args(layers, starts, saved=None):
    layers = _chain_args(layers)
    if not layers:
        raise ValueError("checkpointing needs at least one layer; got none")
    starts = _schedule(len(layers), starts)
    if saved is not None and len(saved) != len(starts):
        raise ValueError(f"saved must hold one checkpoint per segment, "
                         f"{len(starts)}; got {len(saved)}")
    return layers, starts
