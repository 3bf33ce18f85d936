"""Checks for ex07_numerical_stability: stable softmax cross-entropy, log-sigmoid, BCE with
logits, and which sigmoid formula is safe.

The learner's code runs with NumPy's floating-point errors set to warn
(``call_warning``, where the learner's code runs, whatever the notebook set
with ``np.seterr``), and every warning is recorded and replayed to the check
(``_quiet_call``): a function that overflows on the way to a right answer
fails its case, and the hint names the warning. The references are written here from the formulas
(log-sum-exp, ``log1p``), independent of the package.
"""

from __future__ import annotations

import warnings

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice, compare_scalar
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex07_numerical_stability"


def call_warning(fn, args, namespace):
    """Where the learner's code runs: ``fn(*args)`` with NumPy's overflow, division by zero
    and invalid value set to warn (underflow ignored), so ``collect`` records them."""
    with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        return fn(*args)


def _quiet_call(name, fn, *args):
    """Call the learner's ``fn`` (its replay); return ``(result, warning messages)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = call(name, fn, *args)
    return got, sorted({str(w.message) for w in caught})


def _warned(case, name, messages, hint):
    return Case(case, False, f"{name} raised a warning: {'; '.join(messages)}", hint)


def _pair(case, name, got, labels):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return Case(case, False, f"{name} must return a tuple ({', '.join(labels)})",
                    f"got {type_name(got)}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    return None


def _all_finite(x):
    try:
        return bool(np.all(np.isfinite(np.asarray(x, dtype=np.float64))))
    except (TypeError, ValueError):
        return True          # not numeric: compare_* reports it


# ---------------------------------------------------------------- q1: softmax cross-entropy

def reference_softmax_ce(logits, y):
    """Mean softmax cross-entropy and its gradient, by log-sum-exp. logits (N, C), y (N,)."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)        # (N, C)
    lse = np.log(np.exp(z).sum(axis=1))                   # (N,)
    loss = float(np.mean(lse - z[np.arange(n), y]))
    p = np.exp(z - lse[:, None])                          # softmax (N, C)
    onehot = np.eye(logits.shape[1])[y]
    return loss, (p - onehot) / n


def softmax_ce_cases(rng):
    big = 1e4 * np.array([[1.0, -1.0, 0.5, -0.5], [1.0, -1.0, 0.5, -0.5],
                          [-0.2, 0.3, -1.0, 0.9]])
    return [
        ("N=1, C=3", (rng.standard_normal((1, 3)), np.array([2]))),
        ("N=4, C=5", (2 * rng.standard_normal((4, 5)), rng.integers(0, 5, size=4))),
        ("logits of +-1e4, N=3, C=4", (big, np.array([0, 1, 2]))),
        ("N=6, C=3, logits of 1e3", (1e3 * rng.standard_normal((6, 3)), rng.integers(0, 3, size=6))),
    ]


HINT_SHIFT = ("exp overflowed: subtract each row's maximum from the logits before exp "
              "(log-sum-exp); the softmax and the loss do not change")
HINT_FUSE = ("the loss went through log(softmax), and a probability that underflows to 0 "
             "gives log 0 = -inf: compute each row's loss as logsumexp(z) - z[y] on the "
             "shifted logits")


def check_q1(ans, cases):
    fn = ans["softmax_cross_entropy"]
    out = []
    for name, (logits, y) in cases:
        n = logits.shape[0]
        got, messages = _quiet_call("softmax_cross_entropy", fn, logits.copy(), y.copy())
        bad = _pair(name, "softmax_cross_entropy", got, ("loss", "dlogits"))
        if bad:
            out.append(bad)
            continue
        loss, grad = got
        exp_loss, exp_grad = reference_softmax_ce(logits, y)
        if messages or not (_all_finite(loss) and _all_finite(grad)):
            if any("overflow" in m for m in messages) or not _all_finite(grad):
                hint = HINT_SHIFT
            else:
                hint = HINT_FUSE
            if messages:
                out.append(_warned(name, "softmax_cross_entropy", messages, hint))
            else:
                out.append(Case(name, False, "loss or dlogits is inf or NaN", hint))
            continue
        onehot = np.eye(logits.shape[1])[y]
        p = exp_grad * n + onehot
        case = compare_scalar(name, "loss", loss, exp_loss, rtol=1e-9, atol=1e-12, mistakes=(
            (exp_loss * n, "the loss is N times too large: take the mean over the batch, "
                           "not the sum"),
            (-exp_loss, "the loss has the wrong sign: it is -log p of the target"),
        ))
        if case.passed:
            case = compare_array(name, "dlogits", grad, exp_grad, n=n, mistakes=(
                (p - onehot, f"dlogits is N={n} times too large: the loss is a mean over "
                             f"the batch, so divide (softmax - Y) by N"),
                (p / n, "subtract the one-hot targets: dL/dz = (softmax - Y) / N"),
                (p, "subtract the one-hot targets and divide by N: dL/dz = (softmax - Y) / N"),
                ((onehot - p) / n, "dlogits has the wrong sign: it is (softmax - Y) / N"),
            ))
        out.append(case)
    return out


# ---------------------------------------------------------------- q2: log-sigmoid

def reference_log_sigmoid(x):
    """log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), any shape."""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def log_sigmoid_cases(rng):
    return [
        ("x = -5, -4, ..., 5", (np.linspace(-5, 5, 11),)),
        ("shape (3, 4)", (3 * rng.standard_normal((3, 4)),)),
        ("x = -1000, -40, 40, 1000", (np.array([-1000.0, -40.0, 40.0, 1000.0]),)),
        ("x = -800 ... 800, shape (2, 3)", (np.array([[-800.0, -100.0, -1.0],
                                                      [1.0, 100.0, 800.0]]),)),
    ]


HINT_WHERE = ("np.where evaluates both of its branches for every element, so an exp that "
              "overflows in the unused branch still warns: compute exp(-|x|) only")


def check_q2(ans, cases):
    fn = ans["log_sigmoid"]
    out = []
    for name, (x,) in cases:
        got, messages = _quiet_call("log_sigmoid", fn, x.copy())
        if messages:
            hint = HINT_WHERE if any("overflow" in m for m in messages) else (
                "log(sigmoid(x)) takes log 0 once sigmoid(x) underflows: use "
                "min(x, 0) - log1p(exp(-|x|))")
            out.append(_warned(name, "log_sigmoid", messages, hint))
            continue
        exp = reference_log_sigmoid(x)
        naive_log = np.minimum(x, 0) - np.log(1 + np.exp(-np.abs(x)))
        mistakes = ()
        if np.any(naive_log != exp):
            mistakes = ((naive_log, "log(1 + e) rounds 1 + e to 1 when e = exp(-|x|) is "
                                    "tiny (|x| > 37): use np.log1p(e)"),)
        out.append(compare_array(name, "log_sigmoid(x)", got, exp, rtol=1e-9, atol=1e-300,
                                 mistakes=mistakes))
    return out


# ---------------------------------------------------------------- q3: BCE with logits

def reference_bce(x, y):
    """Mean of max(x, 0) - x y + log1p(exp(-|x|)); gradient (sigmoid(x) - y) / size."""
    e = np.exp(-np.abs(x))
    loss = float(np.mean(np.maximum(x, 0) - x * y + np.log1p(e)))
    sig = np.where(x >= 0, 1.0, e) / (1 + e)
    return loss, (sig - y) / x.size


def bce_cases(rng):
    return [
        ("shape (4, 1)", (2 * rng.standard_normal((4, 1)), rng.uniform(0, 1, (4, 1)))),
        ("shape (3, 4)", (3 * rng.standard_normal((3, 4)), (rng.uniform(0, 1, (3, 4)) > 0.5) * 1.0)),
        ("logits of +-1e4, shape (5,)", (np.array([-1e4, -20.0, 0.0, 20.0, 1e4]),
                                         np.array([1.0, 1.0, 1.0, 0.0, 0.0]))),
        ("logits of +-800, shape (2, 2)", (np.array([[-800.0, 800.0], [800.0, -800.0]]),
                                           np.array([[0.0, 1.0], [0.0, 1.0]]))),
    ]


HINT_LOGITS = ("the loss went through sigmoid(x) and log: on logits it is "
               "max(x, 0) - x y + log1p(exp(-|x|)), which never takes log 0")


def check_q3(ans, cases):
    fn = ans["bce_with_logits"]
    out = []
    for name, (x, y) in cases:
        got, messages = _quiet_call("bce_with_logits", fn, x.copy(), y.copy())
        bad = _pair(name, "bce_with_logits", got, ("loss", "dx"))
        if bad:
            out.append(bad)
            continue
        loss, grad = got
        if messages:
            hint = HINT_WHERE if any("overflow" in m for m in messages) else HINT_LOGITS
            out.append(_warned(name, "bce_with_logits", messages, hint))
            continue
        if not (_all_finite(loss) and _all_finite(grad)):
            out.append(Case(name, False, "loss or dx is inf or NaN", HINT_LOGITS))
            continue
        exp_loss, exp_grad = reference_bce(x, y)
        size = x.size
        case = compare_scalar(name, "loss", loss, exp_loss, rtol=1e-9, atol=1e-12, mistakes=(
            (exp_loss * size, "the loss is size times too large: take the mean over all "
                              "elements, not the sum"),
        ))
        if case.passed:
            case = compare_array(name, "dx", grad, exp_grad, mistakes=(
                (exp_grad * size, f"dx is {size} times too large: the loss is a mean over "
                                  f"all {size} elements, so divide (sigmoid(x) - y) by x.size"),
                (-exp_grad, "dx has the wrong sign: it is (sigmoid(x) - y) / size"),
            ))
        out.append(case)
    return out


# ---------------------------------------------------------------- q4: which formula is safe

Q4_HINTS = {
    "a": "exp(x) overflows for x > 709, and inf / inf is NaN",
    "b": "np.where receives both arrays already computed, so both exponentials run for "
         "every x: right values, but overflow warnings",
    "d": "exp(-x) overflows for x < -709: the value is right (1 / inf = 0), but it warns",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "c",
                           ("a", "b", "c", "d"), Q4_HINTS)]


QUESTIONS = (
    Question("q1", "stable softmax cross-entropy and its gradient", 4,
             ("softmax_cross_entropy",), check_q1,
             forbidden=("backprop.losses.softmax_cross_entropy",), cases=softmax_ce_cases,
             call=call_warning, numpy_only=True),
    Question("q2", "a stable log-sigmoid", 2, ("log_sigmoid",), check_q2, cases=log_sigmoid_cases,
             call=call_warning, numpy_only=True),
    Question("q3", "binary cross-entropy on logits", 3, ("bce_with_logits",), check_q3,
             forbidden=("backprop.losses.bce_with_logits",), cases=bce_cases, call=call_warning,
             numpy_only=True),
    Question("q4", "which sigmoid formula is safe", 1, ("q4_answer",), check_q4),
)

register(EXERCISE, QUESTIONS)
