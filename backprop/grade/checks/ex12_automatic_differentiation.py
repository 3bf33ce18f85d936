"""Checks for ex12_automatic_differentiation: the engine's backward sweep
(accumulation at fan-out), the backward rules of ``mul`` with broadcasting
and of ``sum``, and forward against reverse mode.

The rules of q2 and q3 are graded the way ``backprop.autodiff.gradient_check``
checks the engine: against central differences of the forward
(``backprop.gradcheck.numerical_gradient``), which are exact up to rounding
here because both forwards are linear in each input.
"""

from __future__ import annotations

import numpy as np

from backprop import autodiff as ad
from backprop.gradcheck import numerical_gradient
from backprop.grade.checks.compare import compare_array, compare_choice
from backprop.grade.checks.core import Case, LearnerError, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex12_automatic_differentiation"
RTOL, ATOL = 1e-6, 1e-9


def _first_failure(cases):
    for c in cases:
        if not c.passed:
            return c
    return cases[-1]


# --------------------------------------------------------------------------- q1

def sweep_cases(rng):
    """(name, (graph, arrays)): three graphs in which a tensor has fan-out."""
    r = rng.standard_normal
    return [
        ("y = sum(x * x + x), x used three times", ("square_plus", {"x": r(3)})),
        ("diamond: sum(tanh(x) * sigmoid(x))", ("diamond", {"x": r((2, 3))})),
        ("shared W: tanh(tanh(x W + b) W + b)",
         ("shared", {"x": r((4, 3)), "W": r((3, 3)), "b": r(3)})),
    ]


def build_graph(graph, arrays):
    """The case's graph from the engine's ops: (output, leaves by name)."""
    leaves = {k: ad.Tensor(np.array(v, dtype=np.float64)) for k, v in arrays.items()}
    if graph == "square_plus":
        x = leaves["x"]
        out = ad.sum(ad.add(ad.mul(x, x), x))
    elif graph == "diamond":
        x = leaves["x"]
        out = ad.sum(ad.mul(ad.tanh(x), ad.sigmoid(x)))
    else:
        x, W, b = leaves["x"], leaves["W"], leaves["b"]
        out = ad.sum(ad.tanh(ad.dense(ad.tanh(ad.dense(x, W, b)), W, b)))
    return out, leaves


def call_sweep(fn, args, namespace):
    """Where the learner's code runs: build the graph, run ``fn(out)``, and
    return every leaf's ``.grad`` (None where it was left unset)."""
    graph, arrays = args
    out, leaves = build_graph(graph, arrays)
    fn(out)
    return {k: t.grad for k, t in leaves.items()}


def reference_sweep(out, accumulate=True):
    """The engine's sweep; ``accumulate=False`` is the overwriting slip."""
    out.grad = np.ones_like(out.data)
    for t in reversed(ad.topological_order(out)):
        if t.rule is not None:
            for p, g in zip(t.parents, t.rule(t.grad)):
                p.grad = p.grad + g if (accumulate and p.grad is not None) else g


OVERWRITE = ("a tensor used more than once must receive the SUM of the gradients from all its "
             "uses: add into p.grad (p.grad = g if p.grad is None else p.grad + g), do not "
             "overwrite it")


def check_q1(ans, cases):
    fn = ans["run_backward"]
    out = []
    for name, (graph, arrays) in cases:
        got = call("run_backward", fn, *build_graph(graph, arrays)[:1])
        right = build_graph(graph, arrays)
        reference_sweep(right[0])
        wrong = build_graph(graph, arrays)
        reference_sweep(wrong[0], accumulate=False)
        if not isinstance(got, dict):
            out.append(Case(name, False, f"the leaves' gradients could not be read back "
                                         f"(got {type_name(got)})"))
            continue
        per = [compare_array(name, f"{k}.grad", got.get(k), right[1][k].grad,
                             rtol=1e-9, atol=1e-12,
                             mistakes=((wrong[1][k].grad, OVERWRITE),))
               for k in right[1]]
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q2

def mul_cases(rng):
    """(name, (dout, a, b)): broadcasts that add an axis, stretch an axis of
    length 1, stretch both inputs, and a 0-d scalar."""
    r = rng.standard_normal
    out = []
    for sa, sb in [((4, 3), (3,)), ((4, 1), (1, 3)), ((2, 3, 4), (3, 1)),
                   ((2, 3), ()), ((3,), (2, 3))]:
        shape = np.broadcast_shapes(sa, sb)
        out.append((f"a {sa} * b {sb}", (r(shape), r(sa), r(sb))))
    return out


def reference_mul_grads(dout, a, b):
    """(da, db) by central differences of sum(a * b * dout)."""
    a, b = a.copy(), b.copy()
    da = numerical_gradient(lambda v: float(np.sum(v * b * dout)), a)
    db = numerical_gradient(lambda v: float(np.sum(a * v * dout)), b)
    return da, db


UNSUMMED = ("broadcasting copied this input along some axes, and the gradient of a copy is "
            "a sum: sum dout * (the other input) over the axes broadcasting added (the "
            "leading ones) and stretched (length 1, keep them with keepdims=True), so the "
            "gradient has the input's shape")
KEEPDIMS = ("right values, but an axis of length 1 is missing: when you sum over an axis that "
            "broadcasting stretched from length 1, keep it (keepdims=True)")


def _grad_case(name, label, got, expected, unsummed, mistakes):
    """compare_array, with the two broadcasting slips recognised by shape."""
    arr = None
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    if arr is not None and arr.shape != expected.shape:
        detail = f"{label} has shape {arr.shape}, expected {expected.shape}"
        if arr.shape == unsummed.shape:
            return Case(name, False, detail, UNSUMMED, "broadcast-not-summed")
        if arr.size == expected.size and np.allclose(arr.reshape(expected.shape), expected,
                                                     rtol=RTOL, atol=ATOL):
            return Case(name, False, detail, KEEPDIMS, "broadcast-keepdims")
    return compare_array(name, label, got, expected, rtol=RTOL, atol=ATOL, mistakes=mistakes)


def check_q2(ans, cases):
    fn = ans["mul_backward"]
    out = []
    for name, (dout, a, b) in cases:
        got = call("mul_backward", fn, dout.copy(), a.copy(), b.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            out.append(Case(name, False, "mul_backward must return a tuple (da, db)",
                            f"got {type_name(got)}"))
            continue
        da, db = reference_mul_grads(dout, a, b)
        swap = "each input's gradient is dout times the OTHER input: da = dout * b, db = dout * a"
        no_dout = "multiply by the upstream gradient dout (the chain rule)"
        out.append(_first_failure([
            _grad_case(name, "da", got[0], da, dout * b, mistakes=(
                (ad.unbroadcast(dout * a, a.shape), swap),
                (ad.unbroadcast(np.broadcast_to(b, dout.shape), a.shape), no_dout))),
            _grad_case(name, "db", got[1], db, dout * a, mistakes=(
                (ad.unbroadcast(dout * b, b.shape), swap),
                (ad.unbroadcast(np.broadcast_to(a, dout.shape), b.shape), no_dout))),
        ]))
    return out


# --------------------------------------------------------------------------- q3

def sum_cases(rng):
    """(name, (dout, shape, axis, keepdims)); dout has the shape of the sum."""
    out = []
    for shape, axis, keepdims in [((4, 3), 0, False), ((3, 3), 1, False),
                                  ((2, 3, 4), (0, 2), False), ((4, 3), 1, True),
                                  ((2, 3), None, False)]:
        out_shape = np.zeros(shape).sum(axis=axis, keepdims=keepdims).shape
        out.append((f"shape {shape}, axis={axis}, keepdims={keepdims}",
                    (rng.standard_normal(out_shape), shape, axis, keepdims)))
    return out


def reference_sum_grad(dout, shape, axis, keepdims):
    """da by central differences of sum(a.sum(axis, keepdims) * dout)."""
    a = np.zeros(shape)
    return numerical_gradient(
        lambda v: float(np.sum(v.sum(axis=axis, keepdims=keepdims) * dout)), a)


EXPAND_DIMS = ("dout is broadcast along the wrong axes: put the summed axes back first, "
               "np.expand_dims(dout, axis), then broadcast (np.broadcast_to lines dout up "
               "with the LAST axes of the input)")


def check_q3(ans, cases):
    fn = ans["sum_backward"]
    out = []
    for name, (dout, shape, axis, keepdims) in cases:
        try:
            got = call("sum_backward", fn, dout.copy(), tuple(shape), axis, keepdims)
        except LearnerError as exc:
            if exc.kind != "ValueError" or "broadcast" not in str(exc.exc):
                raise
            out.append(Case(name, False, f"sum_backward raised ValueError: {exc.exc}"[:160],
                            EXPAND_DIMS, "sum-broadcast-axis"))
            continue
        right = reference_sum_grad(dout, tuple(shape), axis, keepdims)
        mistakes = [(np.ones(shape), "multiply by the upstream gradient: every term of the "
                                     "sum gets dout, not 1")]
        try:
            mistakes.append((np.broadcast_to(dout, shape), EXPAND_DIMS))
        except ValueError:
            pass
        arr = None
        try:
            arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            pass
        if arr is not None and arr.shape == np.shape(dout) and arr.shape != right.shape:
            out.append(Case(name, False, f"da has shape {arr.shape}, expected {right.shape}",
                            "da has the shape of the input a: copy dout back to every term "
                            "of the sum (broadcast it to the input's shape)", "sum-not-broadcast"))
            continue
        out.append(compare_array(name, "da", got, right, rtol=RTOL, atol=ATOL,
                                 mistakes=tuple(mistakes)))
    return out


# --------------------------------------------------------------------------- q4

Q4_HINTS = {
    "a": "one reverse pass gives one ROW of the Jacobian (u^T J for one output weighting u): "
         "a Jacobian with 1000 rows needs 1000 of them",
    "c": "count the passes: reverse mode needs one per output (row), forward mode one per "
         "input (column)",
    "d": "both modes give exact derivatives (to rounding); finite differences need a "
         "step size and are less accurate, and cost one extra evaluation per input anyway",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "b",
                           ("a", "b", "c", "d"), Q4_HINTS)]


QUESTIONS = (
    Question("q1", "the backward sweep, with fan-out", 3, ("run_backward",), check_q1,
             forbidden=("backprop.autodiff.backward",), cases=sweep_cases, call=call_sweep,
             numpy_only=True),
    Question("q2", "mul with broadcasting: the backward rule", 3, ("mul_backward",),
             check_q2, cases=mul_cases, numpy_only=True),
    Question("q3", "sum over axes: the backward rule", 2, ("sum_backward",), check_q3,
             cases=sum_cases, numpy_only=True),
    Question("q4", "forward or reverse mode for a Jacobian", 1, ("q4_answer",), check_q4),
)

register(EXERCISE, QUESTIONS)
