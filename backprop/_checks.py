"""Private input-validation helpers shared by the package (STYLE rule 6).

Every public function validates at its boundary with these helpers and the
inner math trusts its inputs. The checks look at ranks, shapes and dtypes
only: they never scan the values of a large array, so they cost next to
nothing in the hot path. Messages name the function, what was expected and
what was received, for example::

    dense_forward: W must have shape (D, M) = (4, M) to match x of shape
    (3, 4); got W of shape (5, 2)
"""

import numpy as np


def as_float_array(func, name, x):
    """Return ``x`` as a NumPy float array without copying a float array.

    Float arrays keep their dtype (float32 in, float32 out); booleans and
    integers become float64; anything else (complex, object, strings) is a
    ``ValueError``.
    """
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind == "f":
        return a
    if kind in "biu":
        return a.astype(np.float64)
    raise ValueError(
        f"{func}: {name} must be a real floating-point array; got dtype {a.dtype}"
    )


def as_int_labels(func, name, y, n, num_classes):
    """Return class labels ``y`` as an integer array of shape (N,) = (n,).

    Labels must have an integer dtype and lie in ``[0, num_classes)``.
    The range check scans the N labels (N is the batch size, so it is cheap).
    """
    a = np.asarray(y)
    if a.dtype.kind not in "iu":
        raise ValueError(
            f"{func}: {name} must hold integer class indices; got dtype {a.dtype}"
        )
    check_shape(func, name, a, (n,), ("N",), f" to match logits with N = {n}")
    if n and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(
            f"{func}: {name} must hold class indices in [0, C) = [0, {num_classes}); "
            f"got values in [{a.min()}, {a.max()}]"
        )
    return a


def _describe(expected, letters):
    return "(" + ", ".join(
        letter if e is None else str(e) for e, letter in zip(expected, letters)
    ) + ("," if len(letters) == 1 else "") + ")"


def check_shape(func, name, a, expected, letters, context=""):
    """Check that ``a`` has shape ``expected`` (``None`` matches any size).

    ``letters`` names each axis in the book's alphabet, e.g. ``("D", "M")``.
    """
    shape = a.shape
    ok = len(shape) == len(expected) and all(
        e is None or e == s for e, s in zip(expected, shape)
    )
    if not ok:
        symbolic = "(" + ", ".join(letters) + ("," if len(letters) == 1 else "") + ")"
        concrete = _describe(expected, letters)
        spec = symbolic if concrete == symbolic else f"{symbolic} = {concrete}"
        raise ValueError(
            f"{func}: {name} must have shape {spec}{context}; "
            f"got {name} of shape {shape}"
        )


def check_same_shape(func, name, a, ref_name, ref_shape):
    """Check that ``a`` has exactly the shape ``ref_shape`` of ``ref_name``."""
    if a.shape != tuple(ref_shape):
        raise ValueError(
            f"{func}: {name} must have the shape of {ref_name}, {tuple(ref_shape)}; "
            f"got {name} of shape {a.shape}"
        )


def as_prediction_and_target(func, pred_name, pred, y):
    """Float arrays ``(pred, y)`` of one non-empty shape: a loss's two inputs."""
    pred = as_float_array(func, pred_name, pred)
    y = as_float_array(func, "y", y)
    check_same_shape(func, "y", y, pred_name, pred.shape)
    if pred.size == 0:
        raise ValueError(f"{func}: {pred_name} must not be empty; got {pred_name} of shape {pred.shape}")
    return pred, y


def upstream(func, name, grad, shape, what="the forward output"):
    """A backward's upstream gradient ``grad`` as a float array of exactly ``shape``."""
    grad = as_float_array(func, name, grad)
    check_same_shape(func, name, grad, what, shape)
    return grad


def check_cache(func, cache, length, source):
    """Check that ``cache`` looks like the tuple returned by ``source``."""
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(
            f"{func}: cache must be the cache returned by {source}; "
            f"got {type(cache).__name__}"
            + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        )
