"""Checks for ex14_capstone: dropout's backward pass, BatchNorm in evaluation mode, and
reading a confusion matrix."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_scalar
from backprop.grade.checks.core import Case, Question, call, register

EXERCISE = "ex14_capstone"


# --------------------------------------------------------------------------- q1

def dropout_cases(rng):
    """(name, (dout, (mask, p))): the cache as ``dropout_forward`` returns it, a boolean
    keep-mask and the drop probability. p = 0.5 would make 1/p and 1/(1 - p) equal, so the
    cases avoid it; every mask keeps and drops something."""
    out = []
    for shape, p in [((4, 6), 0.2), ((8, 5), 0.7), ((3, 2, 4), 0.35)]:
        mask = rng.random(shape) >= p
        mask.flat[0], mask.flat[1] = True, False
        out.append((f"shape {shape}, p={p}", (rng.standard_normal(shape), (mask, p))))
    return out


FRESH_MASK = ("the backward pass must use the forward's mask, the one in the cache: a new "
              "draw sends the gradient to units that were dropped in the forward pass")
NO_SCALE = ("kept entries were divided by 1 - p in the forward pass, so the gradient is "
            "divided by 1 - p too: dx = dout * mask / (1 - p)")
BY_P = ("scale by 1 / (1 - p), the probability of keeping a unit, not by p, the probability "
        "of dropping it")


def check_q1(ans, cases):
    fn = ans["dropout_backward"]
    out = []
    for name, (dout, (mask, p)) in cases:
        got = call("dropout_backward", fn, dout.copy(), (mask.copy(), p))
        right = dout * mask / (1 - p)
        case = compare_array(name, "dx", got, right, mistakes=(
            (dout * mask, NO_SCALE),
            (dout * mask / p, BY_P),
            (dout * mask * p, BY_P),
            (dout * mask * (1 - p), "divide by 1 - p, do not multiply: the forward pass "
                                    "divided the kept entries by 1 - p"),
            (dout * ~mask / (1 - p), "True in the mask means kept: the gradient flows "
                                     "through the kept entries, the dropped ones get 0"),
            (dout / (1 - p), "multiply by the mask too: a dropped entry gets no gradient"),
        ))
        if not case.passed and not case.hint and _other_mask(got, dout, p, mask):
            case = Case(name, False, case.detail, FRESH_MASK, "fresh-mask")
        out.append(case)
    return out


def _other_mask(got, dout, p, mask):
    """True when ``got`` is ``dout * m / (1 - p)`` for a keep-mask m other than ``mask``."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if arr.shape != dout.shape or not np.all(np.isfinite(arr)):
        return False
    kept = ~np.isclose(arr, 0, atol=1e-12)
    scaled = np.isclose(arr[kept], dout[kept] / (1 - p), rtol=1e-6, atol=1e-12)
    return bool(scaled.all()) and not np.array_equal(kept, mask)


# --------------------------------------------------------------------------- q2

def batchnorm_eval_cases(rng):
    """(name, (x, gamma, beta, running_mean, running_var, eps)): running statistics far from
    the batch's own, so that normalising with the batch statistics is caught; a batch of one."""
    out = []
    for N, D in [(5, 3), (1, 4), (6, 2)]:
        x = 2.0 * rng.standard_normal((N, D)) + 1.0
        out.append((f"N={N}, D={D}", (
            x, rng.uniform(0.5, 1.5, D), rng.standard_normal(D),
            rng.standard_normal(D), rng.uniform(0.2, 0.6, D), 1e-1)))
    return out


def check_q2(ans, cases):
    fn = ans["batchnorm_eval"]
    out = []
    for name, (x, gamma, beta, mean, var, eps) in cases:
        got = call("batchnorm_eval", fn, x.copy(), gamma.copy(), beta.copy(), mean.copy(),
                   var.copy(), eps)
        right = gamma * (x - mean) / np.sqrt(var + eps) + beta
        mistakes = [
            (gamma * (x - mean) / np.sqrt(var) + beta,
             "add eps to the running variance before the square root: sqrt(var + eps)"),
            (gamma * (x - mean) / (var + eps) + beta,
             "divide by the standard deviation, sqrt(var + eps), not by the variance"),
            (gamma * (x - mean) / (np.sqrt(var) + eps) + beta,
             "eps goes under the square root: sqrt(var + eps), as in training"),
            ((x - mean) / np.sqrt(var + eps),
             "scale by gamma and shift by beta after normalising"),
        ]
        if len(x) > 1:
            bm, bv = x.mean(axis=0), x.var(axis=0)
            mistakes.insert(0, (gamma * (x - bm) / np.sqrt(bv + eps) + beta,
                                "in evaluation mode BatchNorm uses the running statistics, "
                                "not the batch's mean and variance: one image's prediction "
                                "must not depend on the other images of the batch"))
        out.append(compare_array(name, "out", got, right, mistakes=tuple(mistakes)))
    return out


# --------------------------------------------------------------------------- q3

#: A confusion matrix of a digits classifier on 354 test images (rows: true class,
#: columns: predicted class). The exercise notebook prints the same array.
CONFUSION = np.array([
    [35, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 34, 0, 0, 0, 0, 0, 0, 1, 1],
    [0, 0, 35, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 34, 0, 1, 0, 1, 1, 0],
    [0, 2, 0, 0, 28, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 36, 0, 0, 0, 1],
    [0, 1, 0, 0, 0, 0, 35, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 35, 0, 1],
    [0, 3, 0, 1, 0, 0, 0, 0, 30, 1],
    [0, 1, 0, 0, 0, 1, 0, 0, 1, 33],
])


def check_q3(ans):
    got = ans["q3_answer"]
    cm = CONFUSION
    right = int(np.argmin(np.diag(cm) / cm.sum(axis=1)))           # lowest recall: 8
    hints = {
        int(np.argmax(cm.sum(axis=0) - np.diag(cm))):              # most false alarms: 1
            "that is the column with the most mistakes, the class predicted most often by "
            "mistake; rows are the true classes: which row loses the largest share?",
        int(np.argmin(np.diag(cm))):
            "compare shares, not counts: divide each row's diagonal entry by the row's sum",
    }
    if isinstance(got, bool) or not isinstance(got, (int, np.integer, float)) or got != int(got):
        return [Case("q3_answer", False, f"q3_answer should be a digit 0..9, got {got!r}")]
    got = int(got)
    if got == right:
        return [Case("q3_answer", True)]
    return [compare_scalar("q3_answer", "q3_answer", got, right, rtol=0, atol=0.5,
                           mistakes=tuple((k, h) for k, h in hints.items() if k != right))]


QUESTIONS = (
    Question("q1", "dropout's backward pass", 3, ("dropout_backward",), check_q1,
             forbidden=("backprop.dropout.dropout_backward",), cases=dropout_cases,
             numpy_only=True),
    Question("q2", "BatchNorm in evaluation mode", 2, ("batchnorm_eval",), check_q2,
             forbidden=("backprop.batchnorm.batchnorm_forward",),
             cases=batchnorm_eval_cases, numpy_only=True),
    Question("q3", "read a confusion matrix", 1, ("q3_answer",), check_q3),
)

register(EXERCISE, QUESTIONS)
