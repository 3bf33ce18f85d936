"""Checks behind the graded exercises (contract in ``backprop.grade.checks.core``).

``check("ex03_backward_pass", "q2", globals())`` in a notebook shows a feedback
panel and prints the result; ``run_question`` is the same without display, for
the batch grader. ``EXERCISES`` maps each exercise id to its questions.
"""

from backprop.grade.checks.core import (
    EXERCISES,
    STATUSES,
    Case,
    LearnerError,
    NotAttempted,
    Question,
    Result,
    call,
    check,
    get_question,
    register,
    run_question,
)

# Each module registers its questions in EXERCISES on import.
from backprop.grade.checks import (  # noqa: E402,F401
    ex01_forward_pass,
    ex02_chain_rule,
    ex03_backward_pass,
    ex04_training_xor,
    ex05_gradient_checking,
    ex06_vanishing_gradients,
    ex07_numerical_stability,
    ex08_initialisation,
    ex09_batch_normalisation,
    ex10_training_in_practice,
)

__all__ = [
    "EXERCISES", "STATUSES", "Case", "LearnerError", "NotAttempted", "Question",
    "Result", "call", "check", "get_question", "register", "run_question",
]
