"""Comparing a learner's answer with the reference, and naming the mistake.

Every helper returns a ``Case``. A mismatch is explained by the worst element
(index, expected, got), and when the learner's output equals a transformed
reference (transposed, negated, scaled by 2 or by N, not summed over the
batch) the case carries a hint naming that mistake.
"""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.core import Case
from backprop.grade.plain import type_name

RTOL = 1e-6
ATOL = 1e-8


def fmt(x) -> str:
    """A short, deterministic number format for feedback text."""
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return str(x)


def _index(label: str, idx: tuple) -> str:
    return f"{label}[{', '.join(str(int(i)) for i in idx)}]" if idx else label


def _close(a, b, rtol, atol) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def to_float_array(got):
    """``got`` as a float64 array, or None when it is not numeric."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def compare_array(case: str, label: str, got, expected, *, n: int | None = None,
                  rtol: float = RTOL, atol: float = ATOL,
                  mistakes: tuple = ()) -> Case:
    """Compare ``got`` with ``expected`` (float64) and explain a mismatch.

    ``n`` is the batch size (for "factor N" hints); ``mistakes`` is a tuple of
    ``(wrong_reference, hint)`` pairs specific to the question, tried first.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        return Case(case, False, f"{label} is None", "did you forget a `return`?")
    arr = to_float_array(got)
    if arr is None:
        return Case(case, False, f"{label} is not an array of numbers (got {type_name(got)})")

    if arr.shape != expected.shape:
        detail = f"{label} has shape {arr.shape}, expected {expected.shape}"
        hint, hint_id = "", ""
        if arr.shape == expected.T.shape and expected.ndim == 2:
            if _close(arr, expected.T, rtol, atol):
                hint, hint_id = f"your {label} is the transpose of the expected one", f"transposed:{label}"
            else:
                hint = f"your {label} has the transposed shape; check the order of the matrix product"
                hint_id = f"transposed-shape:{label}"
        elif (expected.ndim == 1 and arr.ndim == 2 and arr.shape[1:] == expected.shape
              and _close(arr.sum(axis=0), expected, rtol, atol)):
            hint = f"{label} must be summed over the batch (axis 0): every example contributes"
            hint_id = f"no-batch-sum:{label}"
        elif arr.size == expected.size and _close(arr.reshape(expected.shape), expected, rtol, atol):
            hint = f"the values of {label} are right but the shape is not: reshape to {expected.shape}"
            hint_id = f"reshape:{label}"
        return Case(case, False, detail, hint, hint_id)

    finite = np.isfinite(arr)
    if not finite.all() and np.isfinite(expected).all():
        bad = tuple(np.argwhere(~finite)[0]) if arr.ndim else ()
        return Case(case, False, f"{_index(label, bad)} is {fmt(arr[bad])} (NaN or inf), "
                                 f"expected {fmt(expected[bad])}",
                    "look for a division by zero, log(0) or an overflowing exp", f"non-finite:{label}")

    if _close(arr, expected, rtol, atol):
        return Case(case, True)

    err = np.abs(arr - expected) / (atol + rtol * np.abs(expected))
    worst = tuple(np.unravel_index(int(np.argmax(err)), err.shape)) if arr.ndim else ()
    detail = (f"worst element {_index(label, worst)}: expected {fmt(expected[worst])}, "
              f"got {fmt(arr[worst])}")
    hint, hint_id = diagnose(label, arr, expected, n=n, rtol=rtol, atol=atol, mistakes=mistakes, with_id=True)
    return Case(case, False, detail, hint, hint_id)


def diagnose(label, arr, expected, *, n=None, rtol=RTOL, atol=ATOL, mistakes=(), with_id=False):
    """A hint naming the mistake when ``arr`` equals a transformed reference, else "".

    ``with_id=True`` returns ``(hint, hint_id)``: a question's own mistakes get
    an id from their words, the generic ones a fixed id (``transposed:dW``).
    """
    hint, hint_id = _diagnose(label, arr, expected, n, rtol, atol, mistakes)
    return (hint, hint_id) if with_id else hint


def _diagnose(label, arr, expected, n, rtol, atol, mistakes):
    for wrong, hint in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if _close(arr, wrong, rtol, atol):
            return hint, ""
    if not np.any(expected):
        return "", ""
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and _close(arr, expected.T, rtol, atol):
        return f"your {label} is the transpose of the expected one", f"transposed:{label}"
    if _close(arr, -expected, rtol, atol):
        return f"{label} has the wrong sign", f"sign:{label}"
    if _close(arr, np.zeros_like(expected), rtol, atol):
        return f"{label} is all zeros", f"zeros:{label}"
    if n is not None and n > 2:
        if _close(arr, expected * n, rtol, atol):
            return (f"{label} is N={n} times too large: the loss is a mean over the batch, "
                    f"so divide by N (or sum where you averaged)"), f"factor-n-large:{label}"
        if _close(arr, expected / n, rtol, atol):
            return (f"{label} is N={n} times too small: sum over the batch instead of averaging, "
                    f"or divide by N only once"), f"factor-n-small:{label}"
    ratio = _constant_ratio(arr, expected)
    if ratio is not None:
        if abs(ratio - 2) < 1e-6:
            return f"{label} is 2 times too large: a factor of 2 (the square's derivative, or a ½ in the loss) is off", f"factor-2-large:{label}"
        if abs(ratio - 0.5) < 1e-6:
            return f"{label} is 2 times too small: a factor of 2 (the square's derivative) is missing", f"factor-2-small:{label}"
        return f"{label} is {fmt(ratio)} times the expected one: a constant factor is off", f"constant-factor:{label}"
    return "", ""


def _constant_ratio(arr, expected):
    mask = np.abs(expected) > 1e-12
    if not mask.any() or np.any(np.abs(arr[~mask]) > 1e-12):
        return None
    r = arr[mask] / expected[mask]
    if np.allclose(r, r[0], rtol=1e-6, atol=0) and r[0] != 0:
        return float(r[0])
    return None


def compare_scalar(case: str, label: str, got, expected, *, rtol: float = 1e-4, atol: float = 1e-9,
                   mistakes: tuple = ()) -> Case:
    """Compare a numeric answer; ``mistakes`` holds ``(wrong_value, hint)`` pairs."""
    if isinstance(got, (bool, np.bool_)) or isinstance(got, str):
        return Case(case, False, f"{label} should be a number, got {got!r}")
    arr = to_float_array(got)
    if arr is None or arr.size != 1:
        return Case(case, False, f"{label} should be a single number, got {got!r}"[:200])
    value = float(arr.reshape(()))
    if not np.isfinite(value):
        return Case(case, False, f"{label} is {fmt(value)}, expected a finite number")
    if np.isclose(value, expected, rtol=rtol, atol=atol):
        return Case(case, True)
    for wrong, hint in mistakes:
        if np.isclose(value, wrong, rtol=rtol, atol=atol):
            return Case(case, False, f"{label} = {fmt(value)} is not right", hint)
    return Case(case, False, f"{label} = {fmt(value)} is not right")


def compare_choice(case: str, label: str, got, expected: str, options: tuple[str, ...],
                   hints: dict | None = None) -> Case:
    """Compare a multiple-choice answer (a letter among ``options``, case-insensitive)."""
    if not isinstance(got, str) or got.strip().lower() not in options:
        return Case(case, False, f"{label} should be one of {', '.join(repr(o) for o in options)}, got {got!r}")
    g = got.strip().lower()
    if g == expected:
        return Case(case, True)
    return Case(case, False, f"{label} = {g!r} is not the answer", (hints or {}).get(g, ""))


def compare_shape(case: str, label: str, got, expected: tuple, hints: tuple = ()) -> Case:
    """Compare a shape answer (a tuple of ints)."""
    try:
        g = tuple(int(v) for v in got)
        ok_type = all(float(v) == int(v) for v in got)
    except (TypeError, ValueError):
        return Case(case, False, f"{label} should be a tuple of ints like (2, 3), got {got!r}")
    if not ok_type:
        return Case(case, False, f"{label} should contain whole numbers, got {got!r}")
    if g == tuple(expected):
        return Case(case, True)
    for wrong, hint in hints:
        if g == tuple(wrong):
            return Case(case, False, f"{label} = {g} is not right", hint)
    return Case(case, False, f"{label} = {g} is not right")
