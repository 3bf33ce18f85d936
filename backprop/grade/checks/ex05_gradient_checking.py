"""Checks for ex05_gradient_checking: numerical gradient, relative error, find and fix a bug."""

from __future__ import annotations

import warnings

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_scalar
from backprop.grade.checks.core import Case, LearnerError, Question, call, register

EXERCISE = "ex05_gradient_checking"


H = 1e-5  # the step the check passes to the learner's numerical_gradient


def make_f(spec):
    """The scalar function a case names: ``("cube",)``, ``("sin_matmul", W)`` or ``("exp_times_x",)``.

    Plain data describes the function, so the same case can be sent to a sandboxed kernel.
    """
    kind = spec[0]
    if kind == "cube":
        return lambda x: float(np.sum(x ** 3))
    if kind == "sin_matmul":
        W = np.asarray(spec[1], dtype=np.float64)
        return lambda x: float(np.sum(np.sin(x @ W)))
    if kind == "exp_times_x":
        return lambda x: float(np.sum(np.exp(x) * x))
    raise ValueError(f"unknown function {kind!r}")


def exact_grad(spec, x):
    """The exact gradient of ``make_f(spec)`` at ``x``."""
    kind = spec[0]
    if kind == "cube":
        return 3 * x ** 2
    if kind == "sin_matmul":
        W = np.asarray(spec[1], dtype=np.float64)
        return np.cos(x @ W) @ W.T
    return np.exp(x) * (1 + x)


def grad_cases(rng):
    """(name, (spec, x, h)) with random x drawn from ``rng``; the last is a 1x1 edge case."""
    x1 = rng.standard_normal(3)
    x2 = rng.standard_normal((2, 3))
    W = rng.standard_normal((3, 4))
    x3 = rng.standard_normal((1, 1))
    return [
        ("f(x) = sum(x**3), x (3,)", (("cube",), x1, H)),
        ("f(x) = sum(sin(x @ W)), x (2, 3)", (("sin_matmul", W), x2, H)),
        ("f(x) = exp(x) * x, x (1, 1)", (("exp_times_x",), x3, H)),
    ]


def call_numerical_gradient(fn, args, namespace):
    """Where the learner's code runs: ``fn(f, x, h)`` with ``f`` built from the case's spec."""
    spec, x, h = args
    return fn(make_f(spec), x, h)


def _one_sided(f, x, h):
    g = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += h
        g[i] = (f(xp) - fx) / h
    return g


def check_q1(ans, cases):
    fn = ans["numerical_gradient"]
    out = []
    for name, (spec, x, h) in cases:
        f, exact = make_f(spec), exact_grad(spec, x)
        xin = x.copy()
        got = call("numerical_gradient", fn, f, xin, h)
        if not np.array_equal(xin, x):
            out.append(Case(name, False, "x was changed by numerical_gradient",
                            "restore x[i] after each perturbation (or perturb a copy)"))
            continue
        out.append(compare_array(name, "grad", got, exact, rtol=1e-6, atol=1e-8, mistakes=(
            (_one_sided(f, x, h), "that is the one-sided difference (f(x+h) - f(x)) / h; "
                                  "the central difference (f(x+h) - f(x-h)) / 2h is far more accurate"),
            (2 * exact, "divide the central difference by 2h, not h"),
        )))
    return out


def reference_rel_error(a, b):
    """Chapter 5's rel_error (finite inputs): max of |a - b| / (|a| + |b|), 0 where both are 0.

    Written out here rather than calling ``backprop.gradcheck.rel_error``: the
    question forbids that function, so the grader's sandbox disables it.
    Trusted side only: the grader's sandbox disables every ``reference_*``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = np.abs(a) + np.abs(b)
    err = np.divide(np.abs(a - b), den, out=np.zeros_like(den), where=den > 0)
    return float(err.max()) if err.size else 0.0


def _floored_rel_error(a, b):
    """The CS231n variant with a floor of 1e-8 in the denominator (a common mistake here)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


def _max_denominator_rel_error(a, b):
    """|a - b| / max(|a|, |b|): another common denominator, not chapter 5's."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.divide(np.abs(a - b), den, out=np.zeros_like(den), where=den > 0)))


ZERO_HINT = ("0/0 gives NaN: where a and b are both 0 the denominator |a| + |b| is 0; "
             "define the error there as 0 (agreement)")


def rel_error_cases(rng):
    a = rng.standard_normal((3, 4))
    b = a + 1e-3 * rng.standard_normal((3, 4))
    return [
        ("identical arrays", (a, a.copy())),
        ("close arrays (3, 4)", (a, b)),
        ("[1, 2] vs [1.1, 2]", (np.array([1.0, 2.0]), np.array([1.1, 2.0]))),
        ("both zero (0/0)", (np.zeros(3), np.zeros(3))),
        ("[0, 1] vs [0, 1.1] (one 0/0 entry)", (np.array([0.0, 1.0]), np.array([0.0, 1.1]))),
        ("scalars 1e-12 vs 0", (np.array(1e-12), np.array(0.0))),
    ]


def check_q2(ans, cases):
    fn = ans["rel_error"]
    out = []
    for name, (x, y) in cases:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = call("rel_error", fn, x.copy(), y.copy())
            except LearnerError as exc:
                if isinstance(exc.exc, (ZeroDivisionError, FloatingPointError, RuntimeWarning)):
                    out.append(Case(name, False, f"rel_error raised {type(exc.exc).__name__}",
                                    ZERO_HINT))
                    continue
                raise
        exp = reference_rel_error(x, y)
        warned = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        case = compare_scalar(name, "rel_error", got, exp, rtol=1e-6, atol=1e-12, mistakes=(
            (_floored_rel_error(x, y), "no floor in the denominator: chapter 5's rel_error is "
                                       "|a - b| / (|a| + |b|), so 1e-12 against 0 gives 1 "
                                       "(completely different), not 1e-4"),
            (2 * exp, "the denominator is |a| + |b|, not their mean"),
            (_max_denominator_rel_error(x, y), "the denominator is |a| + |b|, not max(|a|, |b|)"),
        ))
        if not case.passed and _numeric(got) and np.isnan(np.asarray(got, dtype=float)).any():
            case.hint = ZERO_HINT
        if case.passed and warned:
            case = Case(name, False, f"rel_error printed a warning: {warned[0].message}",
                        "divide only where |a| + |b| > 0 (np.divide with where=...), so correct "
                        "inputs give no warning")
        out.append(case)
    return out


def _numeric(x):
    try:
        np.asarray(x, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


# q3: the loss is half the mean squared error; the given backward has a bug.
def half_mse(pred, y):
    """L = 1/2 * mean((pred - y)**2) over all elements."""
    return 0.5 * float(np.mean((pred - y) ** 2))


def buggy_half_mse_backward(pred, y):
    """The backward to debug (the bug: a factor of 2 from the plain MSE)."""
    return 2 * (pred - y) / pred.size


def half_mse_cases(rng):
    return [(f"shape {shape}", (rng.standard_normal(shape), rng.standard_normal(shape)))
            for shape in [(1, 1), (4, 3), (6, 1)]]


def check_q3(ans, cases):
    fn = ans["half_mse_backward"]
    out = []
    for name, (pred, y) in cases:
        shape = pred.shape
        got = call("half_mse_backward", fn, pred.copy(), y.copy())
        exact = (pred - y) / pred.size
        out.append(compare_array(name, "dpred", got, exact, mistakes=(
            (buggy_half_mse_backward(pred, y), "this is still the buggy gradient: the ½ in the loss "
                                               "cancels the 2 of the square"),
            ((pred - y) / shape[0], "mean over all N*M elements: divide by pred.size, not N"),
            (pred - y, "the loss is a mean: divide by the number of elements"),
        )))
    return out


QUESTIONS = (
    Question("q1", "numerical gradient (central differences)", 3, ("numerical_gradient",), check_q1,
             forbidden=("backprop.gradcheck.numerical_gradient", "backprop.gradcheck.numerical_gradient_array"),
             cases=grad_cases, call=call_numerical_gradient, numpy_only=True),
    Question("q2", "relative error, 0/0 as agreement", 2, ("rel_error",), check_q2,
             forbidden=("backprop.gradcheck.rel_error",), cases=rel_error_cases, numpy_only=True),
    Question("q3", "find and fix the bug", 3, ("half_mse_backward",), check_q3, cases=half_mse_cases,
             numpy_only=True),
)

register(EXERCISE, QUESTIONS)
