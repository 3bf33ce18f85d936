"""Grade one submission: the trusted side of the grader.

Started by ``backprop.grade`` (one process per submission, so a crash here
costs only this submission), forked from a fork server that has imported
this module, nbclient and the checks once (``child_main``), or as ``python -m
backprop.grade.runner SPEC.json OUT.json``; writes the rows as JSON to
``OUT.json``. This process never runs the submission's code and never
unpickles anything: it

1. reads the grader's snapshot of the notebook (bytes taken before any
   kernel started) and keeps its code cells;
2. draws each question's cases from the run's secret seed and writes them,
   as plain data, to a folder the sandbox sees read-only;
3. runs the cells and collects the answers in a sandboxed kernel
   (``backprop.grade.kernel``, ``backprop.grade.sandbox``);
4. reads each question's answers back as plain data
   (``backprop.grade.plain.read``) and judges them with the checks
   (``backprop.grade.checks.core.judge``). An answer that is missing
   because the cell defining it (found statically) timed out, was never
   reached, killed the kernel or raised (other than
   ``NotImplementedError``) is reported as such.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile

# nbformat imports jsonschema, which builds a Lark grammar at import time (``rfc3987_syntax``,
# python-jsonschema/jsonschema#1428, 1-5 s) only to check the ``iri`` format, which the notebook
# schema does not use. This process is ours alone, so marking the module absent is safe here.
sys.modules.setdefault("rfc3987_syntax", None)

from backprop.grade import plain  # noqa: E402
from backprop.grade.checks.core import judge, make_cases  # noqa: E402
from backprop.grade.kernel import MUTE_CELL, calls_check, defined_names, execute, is_check_cell  # noqa: E402


def code_cells(raw: bytes) -> list[tuple[int, str]]:
    """(cell number, source) of the notebook's non-empty code cells, check cells left out."""
    data = json.loads(raw.decode("utf-8"))
    cells = []
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else str(src)
        if src.strip() and not is_check_cell(src):
            cells.append((number, src))
    return cells


def explain_missing(name, cells, outcomes):
    """(status, message) when a missing answer is explained by the cell that should define it, else None."""
    for number, src in cells:
        if name not in defined_names(src):
            continue
        out = outcomes.get(number, ("not_run", "not run"))
        where = f"cell {number} (defining {name!r})"
        if out[0] == "timeout":
            return "timeout", f"{where} timed out after {out[1]} s"
        if out[0] == "not_run":
            return "timeout", f"{where} was not run: {out[1]}"
        if out[0] == "died":
            return "error", f"the kernel died while running {where}"
        if out[0] == "error" and out[1] != "NotImplementedError":
            return "error", f"{where} raised {out[1]}: {out[2]}"
    return None


def grade(spec) -> list[dict]:
    """Rows (question, points, max_points, status, message, hints) for one identified submission."""
    registry = importlib.import_module(spec["checks_module"]).EXERCISES
    exercise = spec["exercise"]
    questions = registry[exercise]
    with open(spec["snapshot"], "rb") as f:
        raw = f.read()
    try:
        cells = code_cells(raw)
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError) as e:
        msg = f"not a readable notebook: {type(e).__name__}"
        return [dict(question=q.id, points=0.0, max_points=float(q.points), status="invalid", message=msg,
                     hints={}) for q in questions]
    tmp = tempfile.mkdtemp(prefix="backprop-grade-", dir=spec.get("tmpdir"))
    try:
        ro, box = os.path.join(tmp, "ro"), os.path.join(tmp, "box")
        os.makedirs(os.path.join(ro, "in"))
        from backprop.grade.sandbox import make_box
        make_box(box)
        cases = {}
        for k, q in enumerate(questions):
            cases[q.id] = make_cases(q, [int(spec["seed"]), k])
            if cases[q.id] is not None:
                plain.write(cases[q.id], os.path.join(ro, "in", q.id))
        setup = MUTE_CELL % spec["checks_module"] if any(calls_check(src) for _, src in cells) else ""
        outcomes, collected, note = execute(
            cells, [q.id for q in questions], view=spec["view"], ro=ro, box=box, module=spec["checks_module"],
            exercise=exercise, timeout=spec["timeout"], cell_timeout=spec["cell_timeout"],
            question_timeout=spec["question_timeout"], memory_mb=spec["memory_mb"], setup=setup)
        rows = []
        for q in questions:
            st, msg, res = _decide(q, exercise, registry, cells, outcomes, collected, note, box, cases[q.id],
                                   spec["question_timeout"])
            pts = res.points if res else 0.0
            rows.append(dict(question=q.id, points=float(pts), max_points=float(q.points), status=st, message=msg,
                             hints=res.hints if res else {}))
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _decide(q, exercise, registry, cells, outcomes, collected, note, box, cases, question_timeout):
    state = collected.get(q.id)
    if state is None or state[0] != "ok":
        for name in q.answers:
            why = explain_missing(name, cells, outcomes)
            if why:
                return why[0], why[1], None
        if state is None:
            return "error", note or "the answers were not collected", None
        if state[0] == "timeout":
            return "timeout", (f"the answer did not finish within {question_timeout:g} s "
                               "(an infinite loop or a very slow answer?)"), None
        if state[0] == "died":
            return "error", "the kernel died while this question's answer ran", None
        return "error", f"the answers could not be collected: {state[1]}", None
    try:
        data = plain.read(box, "out", q.id)
    except plain.PlainError as e:
        return "error", f"the answers could not be read back: {e}", None
    if isinstance(data, dict):
        for name in q.answers:
            rec = data.get(name)
            if isinstance(rec, dict) and rec.get("kind") == "missing":
                why = explain_missing(name, cells, outcomes)
                if why:
                    return why[0], why[1], None
    res = judge(exercise, q.id, data, cases, registry)
    return res.status, res.message, res


PRELOAD = ["backprop.grade.runner", "nbformat", "nbclient", "nbclient.client", "jupyter_client.manager",
           "jupyter_client.kernelspec", "zmq", "backprop.grade.sandbox"]


def child_main(spec_path, out_path, err_path):
    """Entry point in a process forked for one submission: own session, stderr to ``err_path``."""
    os.setsid()
    fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(fd, 2)
    sys.exit(main([spec_path, out_path]))


def main(argv=None) -> int:
    spec_path, out_path = (argv or sys.argv[1:])[:2]
    with open(spec_path) as f:
        spec = json.load(f)
    rows = grade(spec)
    with open(out_path, "w") as f:
        json.dump(rows, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
