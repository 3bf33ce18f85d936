"""Monitoring a training run: what the backward pass and the update did.

Pure functions on the dicts of arrays that ``Sequential.params()``,
``Sequential.grads()`` and the optimisers use, keyed "<layer>.<name>"
(for example ``{"0.W": (D, H), "0.b": (H,), "2.W": (H, M), "2.b": (M,)}``),
and on a layer's activations. Each returns plain floats, one per layer,
so that a training loop can log them every step:

    layer_norms(grads)                  -> {"0": ||grad of layer 0||, ...}
    update_ratios(params, new_params)   -> {"0": ||update|| / ||W||, ...}
    dead_fraction(a)                    -> share of units never active

A layer's norm is the L2 norm of all its parameters together, sqrt of the
sum of squares over "0.W" and "0.b". The update/weight ratio uses the
weights only (keys ending in ".W"): biases often start at 0.
"""

import numpy as np

__all__ = ["layer_of", "layer_norms", "update_ratios", "dead_fraction"]


def layer_of(key):
    """The layer a parameter key belongs to: "2.W" -> "2" ("W" -> "W")."""
    return key.split(".", 1)[0]


def layer_norms(arrays):
    """L2 norm per layer of a dict of arrays (gradients or parameters).

    arrays: {"<layer>.<name>": array of any shape}. Returns {layer: float},
    layers in the order they first appear: sqrt(sum over the layer's
    arrays of the sum of their squared entries), computed in float64.
    """
    _check_arrays("arrays", arrays)
    squares = {}
    for key, a in arrays.items():
        s = np.sum(np.square(a, dtype=np.float64))
        squares[layer_of(key)] = squares.get(layer_of(key), 0.0) + s
    return {layer: float(np.sqrt(s)) for layer, s in squares.items()}


def update_ratios(params, new_params):
    """||W_new - W|| / ||W|| for each weight matrix, keyed by its layer.

    params, new_params: dicts with the same keys and shapes, before and
    after one optimiser step; only keys ending in ".W" count. A rule of
    thumb (CS231n) wants about 1e-3. A zero W gives inf (nan if the
    update is zero too).
    """
    _check_update_args(params, new_params)
    ratios = {}
    for key in params:
        if not key.endswith(".W"):
            continue
        w = np.linalg.norm(np.ravel(params[key]).astype(np.float64))
        u = np.linalg.norm(np.ravel(new_params[key] - params[key])
                           .astype(np.float64))
        ratios[layer_of(key)] = _ratio(u, w)
    return ratios


def dead_fraction(a):
    """Share of units whose activation is <= 0 for every example.

    a: (N, H), a layer's output after a ReLU. A unit that is 0 for the
    whole batch passes no gradient back (relu' = 0 there), so neither it
    nor the weights into it learn from this batch. Returns a float in
    [0, 1].
    """
    a = _check_activations(a)
    return float(np.mean(np.all(a <= 0, axis=0)))


# --------------------------------------------------------------------------
# boundary checks
# --------------------------------------------------------------------------

def _ratio(u, w):
    if w > 0:
        return float(u / w)
    return float("nan") if u == 0 else float("inf")


def _check_arrays(name, arrays):
    if not isinstance(arrays, dict):
        raise ValueError(f"{name} must be a dict of arrays keyed "
                         f"'<layer>.<name>', got {type(arrays).__name__}")


def _check_update_args(params, new_params):
    _check_arrays("params", params)
    _check_arrays("new_params", new_params)
    if params.keys() != new_params.keys():
        raise ValueError(f"params and new_params must have the same keys, "
                         f"got {sorted(params)} and {sorted(new_params)}")
    for k in params:
        if np.shape(params[k]) != np.shape(new_params[k]):
            raise ValueError(
                f"new_params[{k!r}] must have the shape of params[{k!r}] "
                f"{np.shape(params[k])}, got {np.shape(new_params[k])}")


def _check_activations(a):
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"a must be (N, H) with N >= 1, got shape {a.shape}")
    return a
