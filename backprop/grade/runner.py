"""Grade one submission: run it in a fresh kernel, then check it in a fresh worker.

Started by ``backprop.grade`` (one process per submission, so a crash here
costs only this submission) as
``python -m backprop.grade.runner SPEC.json OUT.json``; writes the rows as
JSON to ``OUT.json``.

1. **Execute and collect** (``backprop.grade.kernel``): the code cells run
   in a fresh kernel with per-cell and per-submission time limits, restarts
   after a dead or hung kernel; the answers are written with cloudpickle.
2. **Classify.** An answer that is missing because the cell defining it
   (found statically) timed out or was never reached -> ``timeout``; the
   kernel died in it, or it raised (other than ``NotImplementedError``) ->
   ``error``; unpicklable -> ``error``. Otherwise the question goes to the
   checks.
3. **Check** in ``backprop.grade.worker`` (see its docstring), killed and
   restarted when a question runs over ``question_timeout`` (-> ``timeout``)
   or dies (-> ``error``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from backprop.grade.kernel import (MUTE_CELL, calls_check, defined_names, execute, import_nbformat,
                                    is_check_cell, kernel_env)

WORKER_SETUP_TIMEOUT = 60  # seconds for the worker to import the checks


def classify(question, cells, outcomes, status):
    """(status, message) decided before the checks run, or None to run the checks."""
    if isinstance(status, str):
        return "error", status
    for name in question.answers:
        state, detail = (status.get(name) or ["missing", ""])[:2]
        if state == "unpicklable":
            return "error", f"answer {name!r} could not be serialised for checking: {detail}"
        if state == "ok":
            continue
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


def _reader(stream, q):
    for line in stream:
        q.put(line)
    q.put(None)


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def check(spec, pending, answers_dir, workdir):
    """Run the worker over ``pending`` question ids; return {qid: (status, points, message)}."""
    done = {}
    pending = list(pending)
    errlog = os.path.join(workdir, "worker.stderr")
    while pending:
        with open(errlog, "ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "backprop.grade.worker", "--checks-module", spec["checks_module"],
                 "--exercise", spec["exercise"], "--answers", answers_dir, "--questions", ",".join(pending)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, cwd=workdir,
                env=kernel_env(), start_new_session=True, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        current, t_end = None, time.monotonic() + WORKER_SETUP_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, t_end - time.monotonic()))
            except queue.Empty:
                _kill(proc)
                if current is None:
                    for qid in pending:
                        done[qid] = ("error", 0.0, f"the checking process did not start within {WORKER_SETUP_TIMEOUT} s")
                    pending = []
                else:
                    done[current] = ("timeout", 0.0, f"the check did not finish within {spec['question_timeout']:g} s "
                                     "(an infinite loop or a very slow answer?)")
                    pending.remove(current)
                break
            if line is None:  # the worker exited
                code = proc.wait()
                if pending:
                    tail = _tail(errlog)
                    victims = [current] if current else list(pending)
                    for qid in victims:
                        done[qid] = ("error", 0.0, f"the checking process died (exit code {code}) while checking "
                                     f"this question{': ' + tail if tail else ''}")
                        pending.remove(qid)
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "start" and msg.get("question") in pending:
                current, t_end = msg["question"], time.monotonic() + spec["question_timeout"]
            elif msg.get("event") == "result" and msg.get("question") == current:
                done[current] = (msg["status"], float(msg["points"]), msg["message"])
                pending.remove(current)
                current, t_end = None, time.monotonic() + WORKER_SETUP_TIMEOUT
                if msg.get("restart"):
                    _kill(proc)
                    break
    return done


def _tail(path, n=200) -> str:
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        return " ".join(lines[-1].split())[:n] if lines else ""
    except OSError:
        return ""


def grade(spec) -> list[dict]:
    """Rows (question, points, max_points, status, message) for one identified submission."""
    import importlib

    nbformat = import_nbformat()
    checks = importlib.import_module(spec["checks_module"])
    questions = checks.EXERCISES[spec["exercise"]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.read(spec["path"], as_version=4)
    except Exception as e:  # noqa: BLE001 - JSON that nbformat cannot use
        msg = f"not a readable notebook: {type(e).__name__}: {' '.join(str(e).split())[:150]}"
        return [dict(question=q.id, points=0.0, max_points=float(q.points), status="invalid", message=msg)
                for q in questions]
    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if cell.get("cell_type") == "code" and src.strip() and not is_check_cell(src):
            cells.append((number, src))
    names = list(dict.fromkeys(n for q in questions for n in q.answers))
    with tempfile.TemporaryDirectory(prefix="backprop-grade-") as tmp:
        workdir, answers_dir = os.path.join(tmp, "work"), os.path.join(tmp, "answers")
        os.makedirs(workdir)
        os.makedirs(answers_dir)
        run = cells
        if any(calls_check(src) for _, src in cells):  # a check call inside a cell that also defines answers
            run = [(0, MUTE_CELL % spec["checks_module"])] + cells
        outcomes, status = execute(run, names, workdir, answers_dir, spec["timeout"], spec["cell_timeout"])
        decided = {q.id: classify(q, cells, outcomes, status) for q in questions}
        checked = check(spec, [q.id for q in questions if decided[q.id] is None], answers_dir, tmp)
    rows = []
    for q in questions:
        if decided[q.id] is not None:
            st, msg = decided[q.id]
            pts = 0.0
        else:
            st, pts, msg = checked[q.id]
        rows.append(dict(question=q.id, points=pts, max_points=float(q.points), status=st, message=msg))
    return rows


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
