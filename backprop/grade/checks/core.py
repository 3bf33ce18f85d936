"""The contract behind the exercises: questions, results, and how one is run.

Shared by the exercise notebooks (``check``) and the batch grader
(``run_question``). A question's ``check`` receives ``{name: value}`` for the
answer names the learner defined and returns a ``Result`` or a list of
``Case``; ``run_question`` turns that into a ``Result`` and never raises for a
learner's mistake.

Scoring is all or nothing per question: every case passes -> ``points ==
max_points``, otherwise 0. Statuses:

- ``passed`` / ``failed``: the check ran;
- ``not_attempted``: an answer is missing, ``None``, or raises ``NotImplementedError``;
- ``error``: the learner's code raised another exception (type and message in
  ``message``); an exception inside the check itself is also ``error``, with a
  message that starts with ``"internal check error"``;
- ``timeout`` / ``invalid``: set by the grader only (run too long / notebook unusable).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

STATUSES = ("passed", "failed", "not_attempted", "error", "timeout", "invalid")

EXERCISES: dict[str, tuple["Question", ...]] = {}


@dataclass
class Case:
    """One test case inside a question."""

    name: str
    passed: bool
    detail: str = ""  # e.g. "worst element dW[2, 1]: expected 0.31, got 0.62"
    hint: str = ""  # e.g. "your dW is the transpose of the expected one"


@dataclass
class Result:
    """The outcome of one question for one learner."""

    exercise: str
    question: str
    status: str
    points: float
    max_points: float
    message: str
    cases: list[Case] = field(default_factory=list)
    title: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def text(self) -> str:
        """Plain-text form: deterministic, one header line then one line per case."""
        label = self.status.replace("_", " ").upper()
        title = f' "{self.title}"' if self.title else ""
        # The exercise is the notebook's own; leaving it out keeps the line short.
        lines = [
            f"{self.question}{title}: {label} "
            f"({_fmt_points(self.points)}/{_fmt_points(self.max_points)} points)"
        ]
        if self.status in ("passed", "failed") and self.cases:
            for case in self.cases:
                mark = "ok  " if case.passed else "FAIL"
                line = f"  {mark} {case.name}"
                if case.detail:
                    line += f": {case.detail}"
                lines.append(line)
                if case.hint:
                    lines.append(f"       hint: {case.hint}")
        else:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Question:
    """One graded question: which names the learner defines and how they are checked."""

    id: str
    title: str
    points: float
    answers: tuple[str, ...]
    check: Callable[[dict], Any]
    forbidden: tuple[str, ...] = ()


class NotAttempted(Exception):
    """Raised inside a check when an answer turns out not to be attempted."""


class LearnerError(Exception):
    """Wraps an exception raised by the learner's code (see ``call``)."""

    def __init__(self, name: str, exc: BaseException):
        super().__init__(f"{name} raised {type(exc).__name__}: {exc}")
        self.name = name
        self.exc = exc


def register(exercise: str, questions: tuple[Question, ...]) -> None:
    """Add an exercise's questions to ``EXERCISES`` (called by each exercise module)."""
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate question ids in {exercise}: {ids}")
    EXERCISES[exercise] = tuple(questions)


def get_question(exercise: str, question: str) -> Question:
    if exercise not in EXERCISES:
        raise KeyError(f"unknown exercise {exercise!r}; known: {sorted(EXERCISES)}")
    for q in EXERCISES[exercise]:
        if q.id == question:
            return q
    raise KeyError(f"unknown question {question!r} in {exercise}; "
                   f"known: {[q.id for q in EXERCISES[exercise]]}")


def _fmt_points(x: float) -> str:
    return f"{x:g}"


def _one_line(s: str, limit: int = 300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def run_question(exercise: str, question: str, namespace: dict) -> Result:
    """Run one question against the names in ``namespace``; never raises for learner mistakes.

    Raises ``KeyError`` only for an unknown exercise/question id (a bug in the
    notebook or the grader, not in the learner's answer).
    """
    q = get_question(exercise, question)

    def result(status, message, cases=()):
        pts = q.points if status == "passed" else 0.0
        return Result(exercise, q.id, status, float(pts), float(q.points),
                      _one_line(message), list(cases), q.title)

    missing = [n for n in q.answers if namespace.get(n) is None]
    if missing:
        return result("not_attempted", "not attempted: " + ", ".join(
            f"{n} is not defined" if n not in namespace else f"{n} is None" for n in missing))
    answers = {n: namespace[n] for n in q.answers}
    try:
        out = q.check(answers)
    except NotAttempted as exc:
        return result("not_attempted", f"not attempted: {exc}")
    except NotImplementedError:
        return result("not_attempted", "not attempted: the code still raises NotImplementedError")
    except LearnerError as exc:
        if isinstance(exc.exc, NotImplementedError):
            return result("not_attempted", f"not attempted: {exc.name} raises NotImplementedError")
        return result("error", f"error: {exc}")
    except RecursionError as exc:
        return result("error", f"error: RecursionError: {exc}")
    except Exception as exc:  # a bug in the check itself: report it, do not crash the grader
        return result("error", f"internal check error (not your code): {type(exc).__name__}: {exc}")

    if isinstance(out, Result):
        return out
    cases = list(out)
    if not cases:
        return result("error", "internal check error (not your code): the check returned no cases")
    n_fail = sum(not c.passed for c in cases)
    if n_fail == 0:
        return result("passed", "passed" if len(cases) == 1 else f"all {len(cases)} cases passed", cases)
    first = next(c for c in cases if not c.passed)
    msg = f"{n_fail} of {len(cases)} cases failed; {first.name}: {first.detail}"
    if first.hint:
        msg += f" (hint: {first.hint})"
    return result("failed", msg, cases)


def call(name: str, fn: Callable, *args, **kwargs):
    """Call the learner's ``fn``; wrap its exceptions so ``run_question`` can classify them."""
    if not callable(fn):
        raise LearnerError(name, TypeError(f"{name} should be a function, got {type(fn).__name__}"))
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise LearnerError(name, exc) from exc
    except Exception as exc:
        raise LearnerError(name, exc) from exc


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def forbidden_calls(exercise: str, question: str, namespace: dict) -> list[str]:
    """Best-effort static look: the forbidden package functions the answers seem to use.

    Looks at the global names and attributes each answer function's code
    refers to and resolves them in the function's globals (the notebook's
    namespace) and closure: ``dense_backward`` imported
    from ``backprop.layers``, or ``layers.dense_backward`` / ``backprop.layers.dense_backward``.
    A learner's own function of the same name is not flagged. The grader
    decides; ``check`` only warns.
    """
    import importlib

    q = get_question(exercise, question)
    found = []
    for dotted in q.forbidden:
        mod_name, attr = dotted.rsplit(".", 1)
        try:
            mod = importlib.import_module(mod_name)
            target = getattr(mod, attr)
        except (ImportError, AttributeError):
            continue
        for answer in q.answers:
            fn = namespace.get(answer)
            code = getattr(fn, "__code__", None)
            if code is None:
                continue
            names = _code_names(code)
            scope = getattr(fn, "__globals__", namespace)
            values = [scope.get(n) for n in names]
            for cell in getattr(fn, "__closure__", None) or ():
                try:
                    values.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
            if any(v is target for v in values) or (
                    attr in names and any(v is mod or v is sys.modules.get(mod_name.split(".")[0])
                                          for v in values)):
                found.append(f"{answer} uses {dotted}")
    return found


def check(exercise: str, question: str, namespace: dict) -> Result:
    """``run_question`` + an ipywidgets feedback panel + the plain text printed; returns the Result.

    Also prints a warning when an answer seems to call a package function that
    the question forbids (the grader gives it no points).
    """
    res = run_question(exercise, question, namespace)
    try:
        from backprop.grade.checks.panel import show_panel
        show_panel(res)
    except ImportError:  # no ipywidgets/IPython: the printed text is the whole feedback
        pass
    print(res.text())
    for item in forbidden_calls(exercise, question, namespace):
        print(f"  warning: {item}; write it yourself, the grader gives no points for answers "
              f"that call the package's reference")
    sys.stdout.flush()
    return res
