"""Checks for ex02_chain_rule: a scalar chain rule, a fan-out node, reverse vs forward mode."""

from __future__ import annotations

from backprop.grade.checks.compare import compare_scalar
from backprop.grade.checks.core import Question, register

EXERCISE = "ex02_chain_rule"

# q1: L = 1/2 (sigmoid(w x + b) - t)^2 at w = 0.5, x = 2, b = -1, t = 1.
# z = 0, a = sigmoid(0) = 1/2, dL/da = a - y = -1/2, da/dz = a (1 - a) = 1/4, dz/dw = x = 2.
Q1_W, Q1_X, Q1_B, Q1_T = 0.5, 2.0, -1.0, 1.0
Q1_EXPECTED = (0.5 - 1.0) * 0.25 * 2.0  # -0.25


def check_q1(ans):
    return [compare_scalar("dL/dw", "q1_dL_dw", ans["q1_dL_dw"], Q1_EXPECTED, mistakes=(
        (-0.125, "you stopped at dL/dz: multiply by dz/dw = x"),
        (-1.0, "you left out the sigmoid's derivative s (1 - s)"),
        (0.25, "check the sign of dL/da = a - y"),
        (-0.5, "a factor of 2 too large: the ½ in the loss cancels the 2 from the square"),
    ))]


# q2: a = 1.5, b = a**2, c = 3 a, L = b * c. a fans out to b and c: the two paths add.
Q2_A = 1.5
_via_b = (3 * Q2_A) * (2 * Q2_A)   # dL/db * db/da = c * 2a = 13.5
_via_c = (Q2_A ** 2) * 3           # dL/dc * dc/da = b * 3 = 6.75


def check_q2(ans):
    return [compare_scalar("dL/da", "q2_dL_da", ans["q2_dL_da"], _via_b + _via_c, mistakes=(
        (_via_b, "that is only the path through b: a also reaches L through c, and the paths add"),
        (_via_c, "that is only the path through c: a also reaches L through b, and the paths add"),
        (_via_b * _via_c, "the contributions of the two paths add; they do not multiply"),
        (max(_via_b, _via_c), "the contributions of the two paths add"),
    ))]


# q3: the gradient of a scalar loss with respect to n = 1000 inputs.
Q3_N = 1000


def check_q3(ans):
    swap = "you swapped them: reverse mode gets all n partials of one output in one pass"
    return [
        compare_scalar("reverse mode", "q3_reverse_passes", ans["q3_reverse_passes"], 1, rtol=0, atol=0,
                       mistakes=((Q3_N, swap),)),
        compare_scalar("forward mode", "q3_forward_passes", ans["q3_forward_passes"], Q3_N, rtol=0, atol=0,
                       mistakes=((1, "forward mode pushes one input direction per pass: one pass per input"),)),
    ]


QUESTIONS = (
    Question("q1", "a scalar chain rule", 2, ("q1_dL_dw",), check_q1),
    Question("q2", "gradients add at a fan-out", 2, ("q2_dL_da",), check_q2),
    Question("q3", "reverse versus forward mode", 2, ("q3_reverse_passes", "q3_forward_passes"), check_q3),
)

register(EXERCISE, QUESTIONS)
