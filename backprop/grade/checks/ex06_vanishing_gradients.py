"""Checks for ex06_vanishing_gradients: the sigmoid's slope, which network vanishes, clipping."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice, compare_scalar
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


QUESTIONS = (
    Question("q1", "the sigmoid's largest slope", 1, ("q1_sigmoid_slope_max",), check_q1),
    Question("q2", "which network's gradients vanish", 2, ("q2_answer",), check_q2),
    Question("q3", "a bound after ten sigmoid layers", 1, ("q3_bound",), check_q3),
    Question("q4", "clipping by the global norm", 3, ("clip_by_global_norm",), check_q4,
             forbidden=("backprop.optim.clip_by_global_norm",), cases=clip_cases),
)

register(EXERCISE, QUESTIONS)
