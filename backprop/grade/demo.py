"""A three-question exercise registry with the shape of ``backprop.grade.checks``.

The grader's own tests and benchmark grade against this registry
(``--checks-module backprop.grade.demo``), so they do not depend on the
book's exercises. It follows the ``backprop.grade.checks`` contract: ``EXERCISES``
maps an exercise id to its questions, ``run_question`` never raises for a
learner's mistake. The reference functions here play the part of the
package's own implementation that a learner must not call.

Exercise ``demo_dense``, a dense layer ``out = x @ W + b`` with x (N, D),
W (D, M), b (M,):

- q1 (2 points) ``dense_forward(x, W, b) -> out`` (N, M);
- q2 (3 points) ``dense_backward(dout, x, W) -> (dx, dW, db)``, must not call
  ``ref_dense_backward``;
- q3 (1 point) ``n_params``, the number of parameters of a dense layer with
  D=3, M=2 (3 * 2 weights + 2 biases = 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from backprop.grade.checks.core import Result

EXERCISE = "demo_dense"


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    answers: tuple[str, ...]
    check: Callable[[dict], tuple[bool, str]]
    forbidden: tuple[str, ...] = ()


def ref_dense_forward(x, W, b):
    """out (N, M) = x (N, D) @ W (D, M) + b (M,)."""
    return x @ W + b


def ref_dense_backward(dout, x, W):
    """dout (N, M) -> dx (N, D), dW (D, M), db (M,)."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _compare(label: str, got, expected: np.ndarray) -> str:
    """'' when ``got`` matches ``expected``, otherwise why not (one line)."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{label}: expected an array, got {type(got).__name__}"
    if arr.shape != expected.shape:
        return f"{label}: expected shape {expected.shape}, got {arr.shape}"
    if not np.all(np.isfinite(arr)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        return f"{label}: non-finite value {arr[idx]} at index {idx}"
    err = np.abs(arr - expected)
    if np.all(err <= 1e-8 + 1e-6 * np.abs(expected)):
        return ""
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return f"{label}: worst element {tuple(int(i) for i in idx)}: expected {expected[idx]:.6g}, got {arr[idx]:.6g}"


def _cases(seed: int = 0):
    rng = np.random.default_rng(seed)
    for N, D, M in ((4, 3, 2), (1, 5, 3)):
        yield rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M), rng.normal(size=(N, M))


def _check_forward(ns: dict) -> tuple[bool, str]:
    for x, W, b, _ in _cases():
        msg = _compare("out", ns["dense_forward"](x.copy(), W.copy(), b.copy()), ref_dense_forward(x, W, b))
        if msg:
            return False, msg
    return True, "all cases passed"


def _check_backward(ns: dict) -> tuple[bool, str]:
    for x, W, _, dout in _cases(1):
        got = ns["dense_backward"](dout.copy(), x.copy(), W.copy())
        if not isinstance(got, tuple) or len(got) != 3:
            return False, f"expected a tuple (dx, dW, db), got {type(got).__name__}"
        for label, g, e in zip(("dx", "dW", "db"), got, ref_dense_backward(dout, x, W)):
            msg = _compare(label, g, e)
            if msg:
                return False, msg
    return True, "all cases passed"


def _check_n_params(ns: dict) -> tuple[bool, str]:
    got = ns["n_params"]
    if got == 8:
        return True, "correct"
    return False, f"expected 8, got {got!r}"


EXERCISES = {
    EXERCISE: (
        Question("q1", "Dense forward", 2.0, ("dense_forward",), _check_forward),
        Question("q2", "Dense backward", 3.0, ("dense_backward",), _check_backward,
                 forbidden=("backprop.grade.demo.ref_dense_backward",)),
        Question("q3", "Parameter count", 1.0, ("n_params",), _check_n_params),
    )
}


def run_question(exercise: str, question: str, namespace: dict) -> Result:
    """Run one question's check on ``namespace``; never raises for the learner's mistakes."""
    q = next(q for q in EXERCISES[exercise] if q.id == question)

    def result(status, points, message):
        return Result(exercise, question, status, points, q.points, message)

    missing = [name for name in q.answers if namespace.get(name) is None]
    if missing:
        return result("not_attempted", 0.0, f"not attempted: {', '.join(missing)} is not defined (or None)")
    try:
        ok, message = q.check(namespace)
    except NotImplementedError:
        return result("not_attempted", 0.0, "not attempted: raises NotImplementedError")
    except Exception as e:  # the learner's code raised
        return result("error", 0.0, f"{type(e).__name__}: {e}")
    return result("passed" if ok else "failed", q.points if ok else 0.0, message)
