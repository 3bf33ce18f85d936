"""The contract behind the exercises: questions, results, and how one is run.

One definition of each question serves the notebook's instant feedback
(``check``/``run_question``) and the batch grader, which splits it across
two processes joined only by plain data (``backprop.grade.plain``):

- ``Question.cases(rng) -> [(name, args)]``: the inputs, plain data drawn
  from ``rng`` (trusted side; the grader seeds it with a secret per run,
  the notebook with ``NOTEBOOK_SEED``);
- ``collect(question, namespace, cases)``: runs where the learner's code
  runs (the notebook, or the grader's sandboxed kernel). It calls the
  function under test (the question's first answer name) on every case,
  through ``Question.call(fn, args, namespace)`` when the arguments need
  building (default ``fn(*args)``), and records plain data only: the
  returned value, the exception's type name and message, the warnings, and
  the arguments as the call left them. Answers that are values are recorded
  as values;
- ``judge(exercise, question, collected, cases)``: the checks (trusted
  side). A function answer becomes a ``Replay`` that gives back, call after
  call, what the learner's function did on each case, so ``Question.check``
  reads as if it called the learner's function: ``check(ans, cases)`` for a
  question with cases, ``check(ans)`` for one made of values.

A check returns a ``Result`` or a list of ``Case``; ``run_question`` and
``judge`` never raise for a learner's mistake.

Scoring is all or nothing per question: every case passes -> ``points ==
max_points``, otherwise 0. Statuses:

- ``passed`` / ``failed``: the check ran;
- ``not_attempted``: an answer is missing, ``None``, or raises ``NotImplementedError``;
- ``error``: the learner's code raised another exception (type and message in
  ``message``); an exception inside the check itself is also ``error``, with a
  message that starts with ``"internal check error"``;
- ``timeout`` / ``invalid``: set by the grader only (run too long / notebook unusable).

Each failed case may carry a hint and its ``hint_id`` (a stable key such as
``transposed:dW``), which the grader records so that an instructor's report
can count how many learners made each mistake.
"""

from __future__ import annotations

import builtins
import copy
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from backprop.grade.plain import Opaque, roundtrip, type_name

STATUSES = ("passed", "failed", "not_attempted", "error", "timeout", "invalid")

EXERCISES: dict[str, tuple["Question", ...]] = {}

NOTEBOOK_SEED = 0  # the notebook's check draws its cases from this seed; the grader from a secret one

FORBIDDEN_KIND = "ForbiddenReferenceError"  # what the sandbox's disabled reference functions raise


def _slug(text: str) -> str:
    words = re.findall(r"[a-z]+", re.sub(r"\w*\d\w*", " ", text.lower()))
    return "-".join(words[:6]) or "hint"


@dataclass
class Case:
    """One test case inside a question."""

    name: str
    passed: bool
    detail: str = ""  # e.g. "worst element dW[2, 1]: expected 0.31, got 0.62"
    hint: str = ""  # e.g. "your dW is the transpose of the expected one"
    hint_id: str = ""  # e.g. "transposed:dW"; made from the hint's words when not given

    def __post_init__(self):
        if self.hint and not self.hint_id:
            self.hint_id = _slug(self.hint)


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

    @property
    def hints(self) -> dict[str, str]:
        """{hint_id: hint} of the failed cases, in case order: the mistakes the checks recognised."""
        out: dict[str, str] = {}
        for c in self.cases:
            if not c.passed and c.hint:
                out.setdefault(c.hint_id, c.hint)
        return out

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
    """One graded question.

    ``answers``: the names the learner defines; with ``cases``, the first is
    the function under test. ``cases(rng) -> [(name, args)]``: plain-data
    inputs drawn from ``rng``. ``call(fn, args, namespace)``: how the function
    under test is called on one case where the learner's code runs (default
    ``fn(*args)``). ``check(ans)`` or, with cases, ``check(ans, cases)``: the
    comparison with the reference, on the trusted side. ``forbidden``: the
    package functions this question asks the learner to write (the grader's
    sandbox disables them). ``numpy_only``: the exercise says "NumPy only"
    (the grader's sandbox makes torch unimportable).
    """

    id: str
    title: str
    points: float
    answers: tuple[str, ...]
    check: Callable[..., Any]
    forbidden: tuple[str, ...] = ()
    cases: Callable[[Any], list] | None = None
    call: Callable[[Callable, tuple, dict], Any] | None = None
    numpy_only: bool = False


class NotAttempted(Exception):
    """Raised inside a check when an answer turns out not to be attempted."""


class KernelException(Exception):
    """An exception the learner's code raised where it ran, rebuilt from its type name and message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class LearnerError(Exception):
    """Wraps an exception raised by the learner's code (see ``call``)."""

    def __init__(self, name: str, exc: BaseException):
        kind = getattr(exc, "kind", type(exc).__name__)
        super().__init__(f"{name} raised {kind}: {exc}")
        self.name = name
        self.exc = exc
        self.kind = kind


def register(exercise: str, questions: tuple[Question, ...], registry: dict | None = None) -> None:
    """Add an exercise's questions to ``EXERCISES`` (called by each exercise module)."""
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate question ids in {exercise}: {ids}")
    (EXERCISES if registry is None else registry)[exercise] = tuple(questions)


def get_question(exercise: str, question: str, registry: dict | None = None) -> Question:
    registry = EXERCISES if registry is None else registry
    if exercise not in registry:
        raise KeyError(f"unknown exercise {exercise!r}; known: {sorted(registry)}")
    for q in registry[exercise]:
        if q.id == question:
            return q
    raise KeyError(f"unknown question {question!r} in {exercise}; "
                   f"known: {[q.id for q in registry[exercise]]}")


def _fmt_points(x: float) -> str:
    return f"{x:g}"


def _one_line(s: str, limit: int = 300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ---------------------------------------------------------------- where the learner's code runs

def _safe_str(e: BaseException) -> str:
    try:
        return str(e)[:500]
    except BaseException:  # noqa: BLE001 - a learner's __str__ may raise
        return "(unprintable message)"


def collect(q: Question, namespace: dict, cases: list | None) -> dict:
    """Run the learner's answers for ``q`` on ``cases``; plain data only (see the module docstring).

    Returns ``{name: {"kind": "missing"} | {"kind": "value", "value": v}
    | {"kind": "function", "cases": [{"value", "raised", "warnings", "args"}]}}``.
    """
    out: dict = {}
    for i, name in enumerate(q.answers):
        if name not in namespace:
            out[name] = {"kind": "missing"}
            continue
        value = namespace[name]
        if i > 0 or q.cases is None or cases is None or value is None or not callable(value):
            out[name] = {"kind": "value", "value": value}
            continue
        records = []
        for _, args in cases:
            args = copy.deepcopy(args)
            rec = {"value": None, "raised": None, "warnings": []}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    rec["value"] = q.call(value, args, namespace) if q.call else value(*args)
                except (Exception, SystemExit, RecursionError) as e:  # noqa: BLE001
                    rec["raised"] = [type(e).__name__, _safe_str(e)]
            rec["warnings"] = [[getattr(w.category, "__name__", "Warning"), _safe_str(w.message)]
                               for w in caught[:20]]
            rec["args"] = args
            records.append(rec)
        out[name] = {"kind": "function", "cases": records}
    return out


# ---------------------------------------------------------------- where the checks run

_BUILTIN_EXCEPTIONS = {n: c for n, c in vars(builtins).items() if isinstance(c, type) and issubclass(c, Exception)}


def _rebuild(kind, message) -> Exception:
    kind, message = str(kind)[:80], str(message)
    cls = _BUILTIN_EXCEPTIONS.get(kind)
    if cls is not None:
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 - a builtin with another signature
            pass
    return KernelException(kind, message)


def _write_back(passed, after):
    """Make ``passed`` (an argument the check holds) look as the learner's call left it."""
    import numpy as np

    if isinstance(passed, np.ndarray) and isinstance(after, np.ndarray):
        if passed.shape == after.shape and passed.flags.writeable:
            with np.errstate(all="ignore"):
                passed[...] = after
    elif isinstance(passed, list) and isinstance(after, (list, tuple)):
        for p, a in zip(passed, after):
            _write_back(p, a)
        if len(passed) != len(after):
            passed[:] = list(after)
    elif isinstance(passed, dict) and isinstance(after, dict):
        for k in passed:
            if k in after:
                _write_back(passed[k], after[k])


class Replay:
    """Stands in for a learner's function on the checking side: each call gives back the next case's record.

    The check calls it once per case, in case order, with the same arguments
    the learner's function got; it returns the recorded value (plain data),
    raises the recorded exception (a builtin of that name, or
    ``KernelException``), re-issues the recorded warnings and leaves the
    array arguments as the learner's function left them.
    """

    def __init__(self, name: str, records: list):
        self.name, self.records, self.calls = name, records, 0

    def __call__(self, *args, **kwargs):
        if self.calls >= len(self.records):
            raise RuntimeError(f"internal: {self.name} replayed more often than it has cases")
        rec = self.records[self.calls]
        self.calls += 1
        if not isinstance(rec, dict):
            raise KernelException("GraderError", "malformed record")
        after = rec.get("args")
        if isinstance(after, (list, tuple)):
            for p, a in zip(args, after):
                _write_back(p, a)
        for w in rec.get("warnings") or ():
            if isinstance(w, (list, tuple)) and len(w) == 2:
                cat = _BUILTIN_EXCEPTIONS.get(str(w[0]))
                cat = cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning
                warnings.warn(str(w[1]), cat, stacklevel=2)
        raised = rec.get("raised")
        if isinstance(raised, (list, tuple)) and len(raised) == 2:
            raise _rebuild(*raised)
        return rec.get("value")

    def __repr__(self):
        return f"<learner function {self.name}>"


def judge(exercise: str, question: str, collected, cases=None, registry: dict | None = None) -> Result:
    """The result of one question from plain ``collected`` data (``collect``'s, after transport)."""
    q = get_question(exercise, question, registry)

    def result(status, message, cases_=()):
        pts = q.points if status == "passed" else 0.0
        return Result(exercise, q.id, status, float(pts), float(q.points),
                      _one_line(message), list(cases_), q.title)

    if not isinstance(collected, dict):
        return result("error", "the answers could not be collected")
    ans, missing = {}, []
    for name in q.answers:
        rec = collected.get(name)
        kind = rec.get("kind") if isinstance(rec, dict) else None
        if kind == "value" and rec.get("value") is not None:
            ans[name] = rec["value"]
        elif kind == "function" and isinstance(rec.get("cases"), list):
            ans[name] = Replay(name, rec["cases"])
        else:
            missing.append(f"{name} is None" if kind == "value" else f"{name} is not defined")
    if missing:
        return result("not_attempted", "not attempted: " + ", ".join(missing))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # replayed warnings are the check's to record, not to print
            out = q.check(ans, cases) if q.cases is not None else q.check(ans)
    except NotAttempted as exc:
        return result("not_attempted", f"not attempted: {exc}")
    except NotImplementedError:
        return result("not_attempted", "not attempted: the code still raises NotImplementedError")
    except LearnerError as exc:
        if exc.kind == "NotImplementedError":
            return result("not_attempted", f"not attempted: {exc.name} raises NotImplementedError")
        if exc.kind == FORBIDDEN_KIND:
            return result("failed", f"the answer calls the package's own reference implementation: "
                                    f"{exc.exc}; write your own")
        return result("error", f"error: {exc}")
    except RecursionError as exc:
        return result("error", f"error: RecursionError: {exc}")
    except Exception as exc:  # a bug in the check itself: report it, do not crash the grader
        return result("error", f"internal check error (not your code): {type(exc).__name__}: {exc}")

    if isinstance(out, Result):
        return out
    cases_out = list(out)
    if not cases_out:
        return result("error", "internal check error (not your code): the check returned no cases")
    n_fail = sum(not c.passed for c in cases_out)
    if n_fail == 0:
        return result("passed", "passed" if len(cases_out) == 1 else f"all {len(cases_out)} cases passed", cases_out)
    first = next(c for c in cases_out if not c.passed)
    msg = f"{n_fail} of {len(cases_out)} cases failed; {first.name}: {first.detail}"
    if first.hint:
        msg += f" (hint: {first.hint})"
    return result("failed", msg, cases_out)


def make_cases(q: Question, seed) -> list | None:
    """``q``'s cases drawn from ``seed`` (an int or a sequence of ints), or None for a question of values."""
    import numpy as np

    return None if q.cases is None else list(q.cases(np.random.default_rng(seed)))


def run_question(exercise: str, question: str, namespace: dict, *, seed=NOTEBOOK_SEED,
                 registry: dict | None = None) -> Result:
    """Run one question against the names in ``namespace``; never raises for learner mistakes.

    The same path as the batch grader, in one process: cases from ``seed``,
    ``collect`` on the learner's namespace, a plain-data round trip, ``judge``.
    Raises ``KeyError`` only for an unknown exercise/question id (a bug in the
    notebook or the grader, not in the learner's answer).
    """
    q = get_question(exercise, question, registry)
    cases = make_cases(q, seed)
    try:
        collected = roundtrip(collect(q, namespace, roundtrip(cases, keep_dtype=True)))
    except RecursionError:
        collected = {n: {"kind": "value", "value": Opaque("too deeply nested")} for n in q.answers}
    return judge(exercise, question, collected, cases, registry)


def call(name: str, fn: Callable, *args, **kwargs):
    """Call the learner's ``fn`` (or its ``Replay``); wrap its exceptions so ``judge`` can classify them."""
    if not callable(fn):
        raise LearnerError(name, TypeError(f"{name} should be a function, got {type_name(fn)}"))
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise LearnerError(name, exc) from exc


def call_on_copies(name: str, fn: Callable, arrays: tuple, *rest):
    """``call(name, fn, *copies of arrays, *rest)``, and whether ``fn`` wrote into any copy.

    A learner's function must not change its arguments (``w -= ...`` changes
    the caller's array); the check reports that instead of grading the result.
    """
    import numpy as np

    copies = tuple(np.array(a, copy=True) for a in arrays)
    got = call(name, fn, *copies, *rest)
    return got, not all(np.array_equal(c, a) for c, a in zip(copies, arrays))


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
