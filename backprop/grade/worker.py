"""Check one submission's answers in a process the submission never ran in.

Started by ``backprop.grade.runner`` as
``python -m backprop.grade.worker --checks-module M --exercise E --answers DIR --questions q1,q2``.
``DIR`` holds one cloudpickle blob per answer name (``DIR/<name>.pkl``),
written by the submission's kernel.

Order of events, which is what makes the checking trustworthy:

1. import the checks module (a fresh import: nothing the submission did in
   its kernel exists here; modules inside the blobs are pickled by
   reference, so a kernel's monkeypatching of ``backprop.grade.checks`` or numpy
   does not travel);
2. replace every ``forbidden`` reference function named by the exercise
   with a spy, in its module;
3. snapshot the public attributes (and function code) of the trusted
   modules: the checks module's package, ``backprop``, numpy, ``math``,
   ``builtins``;
4. per question: unpickle that question's answers (names imported by
   reference now bind to the spies), compare the snapshot (unpickling runs
   code), call the ``run_question`` captured in step 1, compare the
   snapshot again (the learner's functions ran). A changed module scores the
   question ``error`` and the worker exits, so the next question gets a
   fresh worker. A spy that fired from learner code (or an answer that *is*
   a forbidden function) scores the question 0.

Protocol: one JSON object per line on the original stdout (``ready``,
``start``, ``result``); the learner's prints go to stderr. The runner
enforces the per-question time limit by killing this process.

Not a sandbox: code written to attack this grader specifically (reading
the protocol pipe, ``ctypes``, writing files) is out of scope; run
untrusted batches in a container.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import os
import pickle
import sys
import types

_GUARDED_ROOTS = {"backprop", "numpy", "math", "builtins"}


def _trusted_roots() -> tuple[str, ...]:
    import backprop
    roots = {os.path.dirname(os.path.abspath(backprop.__file__)), sys.prefix, sys.base_prefix, sys.exec_prefix}
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots) + tuple(os.path.join(r, "") for r in roots)


def _learner_frame(frame, roots) -> bool:
    """True when a frame on the stack runs code that is not the package's, the checks' or the library's."""
    while frame is not None:
        fn = frame.f_code.co_filename
        if not (fn.startswith(roots) or fn.startswith("<frozen")):
            return True
        frame = frame.f_back
    return False


class Spies:
    """Replace dotted reference functions by wrappers that record calls made from learner code."""

    def __init__(self, dotted_names):
        self.fired: set[str] = set()
        self.targets: dict[str, tuple] = {}  # dotted -> (original, spy)
        roots = _trusted_roots()
        for dotted in sorted(set(dotted_names)):
            mod_name, _, attr = dotted.rpartition(".")
            try:
                mod = importlib.import_module(mod_name)
                orig = getattr(mod, attr)
            except (ImportError, AttributeError):
                continue
            spy = self._make(dotted, orig, roots)
            setattr(mod, attr, spy)
            self.targets[dotted] = (orig, spy)

    def _make(self, dotted, orig, roots):
        fired = self.fired

        @functools.wraps(orig)
        def spy(*args, **kwargs):
            if _learner_frame(sys._getframe(1), roots):
                fired.add(dotted)
            return orig(*args, **kwargs)

        return spy

    def aliased(self, namespace: dict, names) -> set[str]:
        """Forbidden names whose function *is* an answer (``dense_backward = ref.dense_backward``)."""
        hits = set()
        for value in namespace.values():
            while isinstance(value, functools.partial):
                value = value.func
            for dotted in names:
                if dotted in self.targets and any(value is f for f in self.targets[dotted]):
                    hits.add(dotted)
        return hits


def _fingerprint(value, modname: str) -> tuple:
    """What must stay identical: a function's code and defaults, a class's public attributes."""
    if isinstance(value, types.FunctionType):
        return (value.__code__, value.__defaults__, value.__kwdefaults__)
    if isinstance(value, type) and value.__module__ == modname:
        return tuple(x for k, v in sorted(vars(value).items()) if not k.startswith("__") for x in (k, v))
    return ()


def snapshot(roots=_GUARDED_ROOTS) -> dict:
    """{(module, name): (object, fingerprint)} for the loaded modules under ``roots``.

    Public names everywhere, and the private (not dunder) ones of ``backprop``'s own modules.
    """
    snap = {}
    for name, mod in list(sys.modules.items()):
        if not isinstance(mod, types.ModuleType) or name.split(".")[0] not in roots:
            continue
        own = name.split(".")[0] == "backprop"  # our modules: private helpers too
        for key, value in list(vars(mod).items()):
            if not key.startswith("__") and (own or not key.startswith("_")):
                snap[(name, key)] = (value, _fingerprint(value, name))
    return snap


def tampered(snap: dict) -> list[str]:
    """Dotted names whose object (or code, or class attributes) changed since ``snap``."""
    changed = []
    for (name, key), (value, fp) in snap.items():
        mod = sys.modules.get(name)
        now = vars(mod).get(key, _MISSING) if isinstance(mod, types.ModuleType) else _MISSING
        now_fp = _fingerprint(value, name)
        if now is not value or len(now_fp) != len(fp) or not all(
                a is b or (isinstance(a, str) and a == b) for a, b in zip(now_fp, fp)):
            changed.append(f"{name}.{key}")
    return changed


_MISSING = object()


def _one_line(s, limit=300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--checks-module", required=True)
    p.add_argument("--exercise", required=True)
    p.add_argument("--answers", required=True)
    p.add_argument("--questions", required=True)
    a = p.parse_args(argv)

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the learner's prints (and C-level writes) go to stderr
    sys.stdout = sys.stderr

    def emit(**msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    checks = importlib.import_module(a.checks_module)
    run_question = checks.run_question
    questions = {q.id: q for q in checks.EXERCISES[a.exercise]}
    spies = Spies(name for q in questions.values() for name in q.forbidden)
    snap = snapshot()
    emit(event="ready")

    for qid in a.questions.split(","):
        q = questions[qid]
        emit(event="start", question=qid)

        def result(status, points, message, restart=False):
            emit(event="result", question=qid, status=status, points=points,
                 message=_one_line(message), restart=restart)

        namespace, load_errors = {}, []
        for name in q.answers:
            path = os.path.join(a.answers, name + ".pkl")
            if not os.path.exists(path):
                continue
            try:
                with open(path, "rb") as f:
                    namespace[name] = pickle.load(f)
            except BaseException as e:  # noqa: BLE001 - unpickling runs the submission's code
                load_errors.append(f"answer {name!r} could not be loaded for checking: {type(e).__name__}: {e}")
        changed = tampered(snap)
        if changed:
            result("error", 0.0, "the submission modified the grader's code while loading its answers: "
                   + ", ".join(changed[:5]), restart=True)
            return 3
        if load_errors:
            result("error", 0.0, "; ".join(load_errors))
            continue

        spies.fired.clear()
        try:
            res = run_question(a.exercise, qid, namespace)
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from learner code
            changed = tampered(snap)
            result("error", 0.0, f"checking stopped: {type(e).__name__}: {e}", restart=bool(changed))
            if changed:
                return 3
            continue
        changed = tampered(snap)
        if changed:
            result("error", 0.0, "the submission modified the grader's code while being checked: "
                   + ", ".join(changed[:5]), restart=True)
            return 3

        hits = (spies.fired | spies.aliased(namespace, q.forbidden)) & set(q.forbidden)
        if hits:
            result("failed", 0.0, "the answer calls the package's own reference implementation "
                   + ", ".join(sorted(hits)) + "; write your own")
            continue
        status = str(getattr(res, "status", "error"))
        try:
            points = float(getattr(res, "points", 0.0))
        except (TypeError, ValueError):
            points = 0.0
        if status not in ("passed", "failed", "not_attempted", "error", "timeout", "invalid"):
            status, points = "error", 0.0
        if not math.isfinite(points):
            points = 0.0
        points = min(max(points, 0.0), float(q.points))
        result(status, points, getattr(res, "message", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
