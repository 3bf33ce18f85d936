"""Checks for ex06_vanishing_gradients: the sigmoid's slope, which network vanishes, clipping,
and the softmax cross-entropy backward."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import (compare_array, compare_choice, compare_scalar,
                                            to_float_array)
from backprop.grade.checks.core import Case, Question, call, register

EXERCISE = "ex06_vanishing_gradients"


def check_q1(ans):
    return [compare_scalar("max sigmoid'", "q1_sigmoid_slope_max", ans["q1_sigmoid_slope_max"], 0.25, mistakes=(
        (1.0, "1 is the maximum slope of tanh; the sigmoid's slope s (1 - s) peaks at s = 1/2"),
        (0.5, "0.5 is sigmoid(0) itself; its slope there is s (1 - s)"),
    ))]


Q2_HINTS = {
    "b": "ReLU passes a gradient of exactly 1 where it is active, and He init keeps the scale: no vanishing",
    "c": "two layers multiply only two small factors: the gradient shrinks a little, it does not vanish",
    "d": "Xavier init keeps tanh's activations in the near-linear region, where its slope is close to 1",
}


def check_q2(ans):
    return [compare_choice("q2_answer", "q2_answer", ans["q2_answer"], "a", ("a", "b", "c", "d"), Q2_HINTS)]


def check_q3(ans):
    exp = 0.25 ** 10
    return [compare_scalar("bound after 10 layers", "q3_bound", ans["q3_bound"], exp, rtol=1e-3, atol=0, mistakes=(
        (0.25 * 10, "the factors multiply, they do not add: 0.25 ** 10"),
        (0.25 ** 9, "count the factors: one sigmoid slope per layer, ten layers"),
        (0.25 ** 11, "count the factors: one sigmoid slope per layer, ten layers"),
    ))]


def reference_clip(grads, max_norm):
    """(clipped list, global norm before clipping): scale all by max_norm/norm when norm > max_norm.

    Trusted side only: the grader's sandbox disables every ``reference_*``."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads], norm


def clip_cases(rng):
    return [
        ("norm above max_norm", ([3 * rng.standard_normal((3, 2)), 3 * rng.standard_normal(2)], 1.0)),
        ("norm below max_norm (unchanged)", ([0.01 * rng.standard_normal((2, 2)), 0.01 * rng.standard_normal(2)], 1.0)),
        ("one array (1, 1)", ([np.array([[5.0]])], 2.0)),
        ("all zeros", ([np.zeros((2, 3)), np.zeros(3)], 1.0)),
        ("many arrays", ([rng.standard_normal((4, 3)) for _ in range(3)] + [rng.standard_normal(3)], 0.5)),
    ]


def check_q4(ans, cases):
    fn = ans["clip_by_global_norm"]
    out = []
    for name, (grads, max_norm) in cases:
        inputs = [g.copy() for g in grads]
        got = call("clip_by_global_norm", fn, inputs, max_norm)
        if any(not np.array_equal(a, b) for a, b in zip(inputs, grads)) or len(inputs) != len(grads):
            out.append(Case(name, False, "clip_by_global_norm changed its input grads",
                            "return new arrays: g * scale, never g *= scale"))
            continue
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            out.append(Case(name, False, "clip_by_global_norm must return (clipped_grads, norm)"))
            continue
        clipped, norm = got
        exp_clipped, exp_norm = reference_clip(grads, max_norm)
        case = compare_scalar(name, "norm", norm, exp_norm, rtol=1e-9, atol=1e-12)
        if case.passed and (not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads)):
            case = Case(name, False, f"clipped_grads must be a list of {len(grads)} arrays")
        if case.passed:
            per_array = [g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300)) for g in grads]
            scale_up = [g * (max_norm / exp_norm) for g in grads] if exp_norm > 0 else grads
            for i, (g, e) in enumerate(zip(clipped, exp_clipped)):
                case = compare_array(name, f"clipped_grads[{i}]", g, e, rtol=1e-5, mistakes=(
                    (per_array[i], "clip by the global norm of all arrays together, not each array by its own norm"),
                    (scale_up[i], "only scale down: when the norm is already below max_norm, leave the gradients unchanged"),
                ))
                if not case.passed:
                    break
        out.append(case)
    return out


def reference_softmax_ce_backward(logits, y):
    """dL/dlogits = (softmax(logits) - onehot(y)) / N for L = mean_n -log softmax(logits)[n, y_n].

    Written out here (shifted by the row maximum, so it never overflows) rather than calling
    ``backprop.losses.softmax_cross_entropy``: the question forbids that function, so the
    grader's sandbox disables it. Trusted side only: the sandbox disables every ``reference_*``.
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)                 # (N, C), every entry <= 0
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return (p - onehot) / len(y)


def softmax_ce_cases(rng):
    return [
        ("one example (1, 3)", (np.array([[2.0, 1.0, 0.0]]), np.array([0]))),
        ("chapter 6's example (2, 3)", (np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.0]]),
                                        np.array([0, 2]))),
        ("random logits (5, 4)", (rng.standard_normal((5, 4)), rng.integers(0, 4, size=5))),
        ("square (3, 3)", (rng.standard_normal((3, 3)), np.array([2, 0, 1]))),
        ("large logits (3, 4), up to 1000", (1000 + 5 * rng.standard_normal((3, 4)),
                                             np.array([1, 3, 0]))),
    ]


def check_q5(ans, cases):
    fn = ans["softmax_cross_entropy_backward"]
    out = []
    for name, (logits, y) in cases:
        inputs = (logits.copy(), y.copy())
        with np.errstate(all="ignore"):
            got = call("softmax_cross_entropy_backward", fn, *inputs)
        if not (np.array_equal(inputs[0], logits) and np.array_equal(inputs[1], y)):
            out.append(Case(name, False, "softmax_cross_entropy_backward changed its inputs",
                            "work on a copy: z = logits - logits.max(axis=1, keepdims=True)"))
            continue
        n = len(y)
        exp = reference_softmax_ce_backward(logits, y)
        onehot = np.zeros_like(exp)
        onehot[np.arange(n), y] = 1.0
        p = exp * n + onehot
        case = compare_array(name, "dlogits", got, exp, rtol=1e-6, atol=1e-10, mistakes=(
            (exp * n, "divide by N: the loss is the mean over the batch, so "
                      "dL/dz = (p - Y) / N"),
            (p / n, "subtract the one-hot targets: dL/dz = (p - Y) / N, not p / N"),
            (p, "subtract the one-hot targets and divide by N: dL/dz = (p - Y) / N"),
            (-exp, "the sign is flipped: dL/dz = (p - Y) / N, not (Y - p) / N"),
            (-exp * n, "the sign is flipped and the 1/N is missing: dL/dz = (p - Y) / N"),
            (exp.T, "your dlogits is the transpose of the expected one: it has the shape "
                    "of logits, (N, C)"),
        ))
        arr = to_float_array(got)
        if not case.passed and arr is not None and not np.isfinite(arr).all():
            case.hint = ("exp overflows for large logits: subtract each row's maximum before "
                         "exp (softmax does not change, and every exponent is then <= 0)")
        out.append(case)
    return out


QUESTIONS = (
    Question("q1", "the sigmoid's largest slope", 1, ("q1_sigmoid_slope_max",), check_q1),
    Question("q2", "which network's gradients vanish", 2, ("q2_answer",), check_q2),
    Question("q3", "a bound after ten sigmoid layers", 1, ("q3_bound",), check_q3),
    Question("q4", "clipping by the global norm", 3, ("clip_by_global_norm",), check_q4,
             forbidden=("backprop.optim.clip_by_global_norm",), cases=clip_cases),
    Question("q5", "the softmax cross-entropy backward", 3,
             ("softmax_cross_entropy_backward",), check_q5,
             forbidden=("backprop.losses.softmax_cross_entropy",), cases=softmax_ce_cases,
             numpy_only=True),
)

register(EXERCISE, QUESTIONS)
