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

# Each module ``exNN_<name>.py`` of this package registers its questions in
# EXERCISES on import; every such module is imported, in order.
import importlib as _importlib  # noqa: E402
import pkgutil as _pkgutil  # noqa: E402
import re as _re  # noqa: E402

for _name in sorted(m.name for m in _pkgutil.iter_modules(__path__)
                    if _re.fullmatch(r"ex\d\d_\w+", m.name)):
    _importlib.import_module(f"{__name__}.{_name}")

__all__ = [
    "EXERCISES", "STATUSES", "Case", "LearnerError", "NotAttempted", "Question",
    "Result", "call", "check", "get_question", "register", "run_question",
]
