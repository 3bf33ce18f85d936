"""Checks for ex01_forward_pass: shapes and the two-layer forward pass."""

from __future__ import annotations

from backprop.grade.checks.compare import compare_array, compare_choice, compare_shape
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex01_forward_pass"

# The network of the exercise: X (N, D) -> dense (D, H) -> sigmoid -> dense (H, M) -> sigmoid.
N, D, H, M = 5, 3, 4, 2

SHAPES = {
    "q1_shape_W1": ((D, H), ((H, D), "W1 maps D inputs to H hidden units; in this book x @ W, so W1 is (D, H)")),
    "q1_shape_b1": ((H,), ((N, H), "one bias per hidden unit, shared by every example: (H,)")),
    "q1_shape_z1": ((N, H), ((H, N), "one row per example: z1 = X @ W1 + b1 is (N, H)")),
    "q1_shape_W2": ((H, M), ((M, H), "W2 maps H hidden units to M outputs: (H, M)")),
    "q1_shape_a2": ((N, M), ((M, N), "one row per example: a2 is (N, M)")),
}


def check_q1(ans):
    return [compare_shape(name, name, ans[name], exp, (wrong,)) for name, (exp, wrong) in SHAPES.items()]


def reference_forward(X, W1, b1, W2, b2):
    """The reference (trusted side only; the grader's sandbox disables every ``reference_*``)."""
    from backprop.activations import sigmoid_forward
    from backprop.layers import dense_forward

    z1, _ = dense_forward(X, W1, b1)
    a1, _ = sigmoid_forward(z1)
    z2, _ = dense_forward(a1, W2, b2)
    a2, _ = sigmoid_forward(z2)
    return z1, a1, z2, a2


def forward_cases(rng):
    """(name, args) test cases with random inputs drawn from ``rng``, N=1 included."""
    cases = []
    for n, d, h, m in [(1, 3, 4, 2), (4, 3, 5, 2), (6, 2, 2, 3)]:
        args = (rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h),
                rng.standard_normal((h, m)), rng.standard_normal(m))
        cases.append((f"N={n}, D={d}, H={h}, M={m}", args))
    return cases


def check_q2(ans, cases):
    from backprop.activations import sigmoid

    fn = ans["forward"]
    out = []
    for name, args in cases:
        got = call("forward", fn, *[a.copy() for a in args])
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            out.append(Case(name, False, "forward must return a tuple (z1, a1, z2, a2)",
                            f"got {type_name(got)}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")))
            continue
        X, W1, b1, W2, b2 = args
        exp = reference_forward(*args)
        labels = ("z1", "a1", "z2", "a2")
        mistakes = {
            "z1": ((X @ W1, "you forgot the bias b1"),),
            "a1": ((exp[0], "a1 is z1 itself: apply the sigmoid"),),
            "z2": ((exp[1] @ W2, "you forgot the bias b2"),
                   (exp[0] @ W2 + b2, "z2 must use the activation a1, not z1")),
            "a2": ((exp[2], "a2 is z2 itself: apply the sigmoid"),
                   (sigmoid(exp[0] @ W2 + b2), "z2 must use the activation a1, not z1")),
        }
        case = None
        for label, g, e in zip(labels, got, exp):
            case = compare_array(name, label, g, e, mistakes=mistakes[label])
            if not case.passed:
                break
        out.append(case)
    return out


Q3_HINTS = {
    "a": "memory is the price of caching, not its purpose: caching uses more memory",
    "c": "the forward pass is not run again; the cache is read by the backward pass",
    "d": "NumPy has no such requirement; the reason is in the derivatives",
}


def check_q3(ans):
    return [compare_choice("q3_answer", "q3_answer", ans["q3_answer"], "b", ("a", "b", "c", "d"), Q3_HINTS)]


QUESTIONS = (
    Question("q1", "shapes of a two-layer network", 2, tuple(SHAPES), check_q1),
    Question("q2", "the forward pass", 4, ("forward",), check_q2,
             forbidden=("backprop.layers.dense_forward", "backprop.activations.sigmoid_forward",
                        "backprop.activations.sigmoid"), cases=forward_cases, numpy_only=True),
    Question("q3", "why the intermediates are cached", 1, ("q3_answer",), check_q3),
)

register(EXERCISE, QUESTIONS)
