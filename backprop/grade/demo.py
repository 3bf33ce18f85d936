"""A three-question exercise registry with the shape of ``backprop.grade.checks``.

The grader's own tests and benchmark grade against this registry
(``--checks-module backprop.grade.demo``), so they do not depend on the
book's exercises. It follows the ``backprop.grade.checks`` contract: ``EXERCISES``
maps an exercise id to its ``core.Question`` definitions, ``run_question``
never raises for a learner's mistake. The reference functions here play the part of the
package's own implementation that a learner must not call.

Exercise ``demo_dense``, a dense layer ``out = x @ W + b`` with x (N, D),
W (D, M), b (M,):

- q1 (2 points) ``dense_forward(x, W, b) -> out`` (N, M);
- q2 (3 points) ``dense_backward(dout, x, W) -> (dx, dW, db)``, must not call
  ``ref_dense_backward``, NumPy only;
- q3 (1 point) ``n_params``, the number of parameters of a dense layer with
  D=3, M=2 (3 * 2 weights + 2 biases = 8).
"""

from __future__ import annotations

import numpy as np

from backprop.grade.checks import core
from backprop.grade.checks.core import Case, Question, Result, call

EXERCISE = "demo_dense"


def ref_dense_forward(x, W, b):
    """out (N, M) = x (N, D) @ W (D, M) + b (M,)."""
    return x @ W + b


def ref_dense_backward(dout, x, W):
    """dout (N, M) -> dx (N, D), dW (D, M), db (M,)."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _compare(case: str, label: str, got, expected: np.ndarray) -> Case:
    """A passed case when ``got`` matches ``expected``, otherwise why not (one line)."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return Case(case, False, f"{label}: expected an array, got {core.type_name(got)}")
    if arr.shape != expected.shape:
        hint = f"your {label} is transposed" if arr.shape == expected.T.shape else ""
        return Case(case, False, f"{label}: expected shape {expected.shape}, got {arr.shape}", hint,
                    f"transposed:{label}" if hint else "")
    if not np.all(np.isfinite(arr)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        return Case(case, False, f"{label}: non-finite value {arr[idx]} at index {idx}")
    err = np.abs(arr - expected)
    if np.all(err <= 1e-8 + 1e-6 * np.abs(expected)):
        return Case(case, True)
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return Case(case, False, f"{label}: worst element {tuple(int(i) for i in idx)}: expected {expected[idx]:.6g}, "
                             f"got {arr[idx]:.6g}")


def forward_cases(rng):
    return [(f"N={N}, D={D}, M={M}", (rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)))
            for N, D, M in ((4, 3, 2), (1, 5, 3))]


def backward_cases(rng):
    return [(f"N={N}, D={D}, M={M}", (rng.normal(size=(N, M)), rng.normal(size=(N, D)), rng.normal(size=(D, M))))
            for N, D, M in ((4, 3, 2), (1, 5, 3))]


def _check_forward(ans, cases):
    out = []
    for name, (x, W, b) in cases:
        got = call("dense_forward", ans["dense_forward"], x.copy(), W.copy(), b.copy())
        out.append(_compare(name, "out", got, ref_dense_forward(x, W, b)))
    return out


def _check_backward(ans, cases):
    out = []
    for name, (dout, x, W) in cases:
        got = call("dense_backward", ans["dense_backward"], dout.copy(), x.copy(), W.copy())
        if not isinstance(got, tuple) or len(got) != 3:
            out.append(Case(name, False, f"expected a tuple (dx, dW, db), got {core.type_name(got)}"))
            continue
        case = Case(name, True)
        for label, g, e in zip(("dx", "dW", "db"), got, ref_dense_backward(dout, x, W)):
            case = _compare(name, label, g, e)
            if not case.passed:
                break
        out.append(case)
    return out


def _check_n_params(ans):
    got = ans["n_params"]
    if type(got) in (int, float) and got == 8:
        return [Case("D=3, M=2", True)]
    return [Case("D=3, M=2", False, f"expected 8, got {got!r}"[:200])]


EXERCISES: dict = {}
core.register(EXERCISE, (
    Question("q1", "Dense forward", 2.0, ("dense_forward",), _check_forward, cases=forward_cases),
    Question("q2", "Dense backward", 3.0, ("dense_backward",), _check_backward,
             forbidden=("backprop.grade.demo.ref_dense_backward",), cases=backward_cases, numpy_only=True),
    Question("q3", "Parameter count", 1.0, ("n_params",), _check_n_params),
), registry=EXERCISES)


def run_question(exercise: str, question: str, namespace: dict) -> Result:
    """Run one question's check on ``namespace``; never raises for the learner's mistakes."""
    return core.run_question(exercise, question, namespace, registry=EXERCISES)
