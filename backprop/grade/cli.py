"""Batch grader: ``python -m backprop.grade PATH... --csv grades.csv``.

Grades submitted exercise notebooks (files, or folders searched recursively
for ``*.ipynb``, skipping ``.ipynb_checkpoints``) and writes one CSV row per
submission and question::

    submission,exercise,question,points,max_points,status,message

``status`` is one of ``passed, failed, not_attempted, error, timeout,
invalid``. A summary table goes to stdout. Exit code 0 whenever grading
ran, whatever the scores; 2 on a usage error (bad arguments, missing path,
no notebook found, ``--jobs`` < 1, checks module not importable).

Trust nothing in the submission. Each submission is graded by its own
process (``backprop.grade.runner``), so a crash costs only that
submission, which then gets ``error`` rows:

- its code cells run in a fresh ``python3`` Jupyter kernel (nbclient), with
  stored outputs, cell metadata and the check cells dropped; errors do not
  stop the run. ``--cell-timeout`` (default 60 s) limits each cell and
  ``--timeout`` (default 300 s) the whole notebook run; a cell that times
  out is interrupted, a kernel that dies or hangs is restarted and the
  notebook re-run without the bad cell;
- the answers (the names listed in the exercise's questions) are
  serialised with cloudpickle and checked in another fresh process
  (``backprop.grade.worker``) that imported the checks before loading
  them, spies on the ``forbidden`` reference functions, and verifies that
  the checks, ``backprop`` and numpy were not modified. Each question's
  check gets ``--question-timeout`` (default 30 s).

The exercise comes from ``metadata["backprop"]["exercise"]``, else from the
file name (``ex03_backward_pass.ipynb``, ``ex03_backward_pass_alice.ipynb``).
``--checks-module`` (default ``backprop.grade.checks``) names the registry: a
module with ``EXERCISES`` and ``run_question`` as in ``backprop.grade.checks``.

Library use: ``grade_paths(paths, ...)`` returns the rows as dicts.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

COLUMNS = ("submission", "exercise", "question", "points", "max_points", "status", "message")
STATUSES = ("passed", "failed", "not_attempted", "error", "timeout", "invalid")
DEFAULT_TIMEOUT = 300.0
DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_QUESTION_TIMEOUT = 30.0


class UsageError(Exception):
    """Bad command line: exit code 2."""


def discover(paths) -> list[str]:
    """Notebook files under ``paths``, sorted and without duplicates; ``UsageError`` if none."""
    found = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
                found += [os.path.join(root, f) for f in files if f.endswith(".ipynb")]
        elif os.path.isfile(p):
            found.append(p)
        else:
            raise UsageError(f"no such file or directory: {p}")
    found = sorted(set(os.path.normpath(f) for f in found))
    if not found:
        raise UsageError(f"no .ipynb notebooks found in: {', '.join(map(str, paths))}")
    return found


def identify(path: str, exercises: dict) -> tuple[str | None, str]:
    """(exercise id, '') or (None, why the file cannot be graded)."""
    expected = f"expected metadata backprop.exercise or a file name containing one of {sorted(exercises)}"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return None, f"cannot read file: {e}"
    if not raw.strip():
        return None, "empty file, not a notebook"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return None, f"not a notebook: invalid JSON ({type(e).__name__}: {str(e)[:100]})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or not isinstance(data.get("nbformat"), int):
        return None, "not a notebook: JSON without the nbformat 'cells' list and 'nbformat' version"
    for i, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) \
                or not isinstance(cell.get("source", ""), (str, list)):
            return None, f"not a notebook: cell {i} has no 'cell_type' or its 'source' is not text"
    meta = data.get("metadata")
    meta = meta.get("backprop") if isinstance(meta, dict) else None
    ex = meta.get("exercise") if isinstance(meta, dict) else None
    if ex is not None:
        if ex in exercises:
            return ex, ""
        return None, f"unknown exercise {str(ex)[:60]!r} in metadata; {expected}"
    ex = exercise_from_name(path, exercises)
    if ex is not None:
        return ex, ""
    return None, f"cannot tell which exercise this is: {expected}"


def exercise_from_name(path: str, exercises: dict) -> str | None:
    """The exercise whose id the file name contains (``alice_ex03_backward_pass.ipynb``)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    for ex in sorted(exercises, key=len, reverse=True):
        if ex in stem:
            return ex
    return None


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def grade_one(path, exercises, checks_module, timeout, cell_timeout, question_timeout) -> list[dict]:
    """Rows for one submission; never raises (a failure becomes ``error``/``invalid`` rows)."""
    def rows(exercise, status, message, questions=()):
        base = dict(submission=path, exercise=exercise or "")
        if not questions:
            return [dict(base, question="", points=0.0, max_points=0.0, status=status, message=message)]
        return [dict(base, question=q.id, points=0.0, max_points=float(q.points), status=status, message=message)
                for q in questions]

    try:
        exercise, why = identify(path, exercises)
        if exercise is None:
            # A broken file whose name says which exercise it was meant to be
            # gets that exercise's rows, so the gradebook shows every question.
            guess = exercise_from_name(path, exercises)
            return rows(guess, "invalid", why, exercises[guess] if guess else ())
        questions = exercises[exercise]
        spec = dict(path=os.path.abspath(path), exercise=exercise, checks_module=checks_module,
                    timeout=timeout, cell_timeout=cell_timeout, question_timeout=question_timeout)
        # last resort only: the runner enforces the real limits (kernel start-ups, restarts, checks)
        hard_limit = timeout + 5 * 60 + 60 + len(questions) * (question_timeout + 60) + 60
        with tempfile.TemporaryDirectory(prefix="backprop-grade-") as tmp:
            spec_path, out_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "rows.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            with open(os.path.join(tmp, "stderr"), "w+b") as err:
                proc = subprocess.Popen([sys.executable, "-m", "backprop.grade.runner", spec_path, out_path],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                        start_new_session=True)
                try:
                    code = proc.wait(timeout=hard_limit)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    return rows(exercise, "error", f"grading this submission took over {hard_limit:g} s and was stopped",
                                questions)
                err.seek(0)
                tail = " ".join(err.read().decode("utf-8", "replace").strip().splitlines()[-1:])[:200]
            if code != 0 or not os.path.exists(out_path):
                return rows(exercise, "error", f"the grader failed on this submission (exit code {code}): {tail}",
                            questions)
            with open(out_path) as f:
                result = json.load(f)
        return [dict(submission=path, exercise=exercise, **r) for r in result]
    except Exception as e:  # noqa: BLE001 - one submission's failure must not stop the batch
        return rows(None, "error", f"the grader failed on this submission: {type(e).__name__}: {e}")


def load_exercises(checks_module: str) -> dict:
    try:
        mod = importlib.import_module(checks_module)
        exercises = mod.EXERCISES
        mod.run_question  # noqa: B018 - must exist
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"cannot use checks module {checks_module!r}: {type(e).__name__}: {e}") from e
    return exercises


def grade_paths(paths, *, checks_module="backprop.grade.checks", timeout=DEFAULT_TIMEOUT,
                cell_timeout=DEFAULT_CELL_TIMEOUT, question_timeout=DEFAULT_QUESTION_TIMEOUT, jobs=1) -> list[dict]:
    """Grade every notebook under ``paths``; rows sorted by submission, then question order."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    for name, value in (("timeout", timeout), ("cell-timeout", cell_timeout), ("question-timeout", question_timeout)):
        if not value > 0:
            raise UsageError(f"--{name} must be positive, got {value}")
    exercises = load_exercises(checks_module)
    files = discover(paths)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda p: grade_one(p, exercises, checks_module, timeout, cell_timeout,
                                                    question_timeout), files))
    return [row for rows in results for row in rows]  # files are sorted; runner keeps question order


def write_csv(rows, path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, points=f"{r['points']:g}", max_points=f"{r['max_points']:g}"))


def summary(rows) -> str:
    by_sub: dict[str, list[dict]] = {}
    for r in rows:
        by_sub.setdefault(r["submission"], []).append(r)
    width = max([len("submission")] + [len(s) for s in by_sub])
    exw = max([len("exercise")] + [len(r["exercise"]) for r in rows])
    head = f"{'submission':<{width}}  {'exercise':<{exw}}  {'score':>9}  " + " ".join(f"{s:>7.7}" for s in STATUSES)
    lines = [head, "-" * len(head)]
    for sub, rs in by_sub.items():
        counts = Counter(r["status"] for r in rs)
        score = f"{sum(r['points'] for r in rs):g}/{sum(r['max_points'] for r in rs):g}"
        lines.append(f"{sub:<{width}}  {rs[0]['exercise']:<{exw}}  {score:>9}  "
                     + " ".join(f"{counts.get(s, 0):>7}" for s in STATUSES))
    lines.append(f"{len(by_sub)} submissions, {len(rows)} rows")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m backprop.grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="submitted notebooks or folders of them")
    p.add_argument("--csv", required=True, help="where to write the grades")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to run one submission's notebook (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                   help=f"seconds per cell (default {DEFAULT_CELL_TIMEOUT:g})")
    p.add_argument("--question-timeout", type=float, default=DEFAULT_QUESTION_TIMEOUT,
                   help=f"seconds per question's check (default {DEFAULT_QUESTION_TIMEOUT:g})")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (default 1)")
    p.add_argument("--checks-module", default="backprop.grade.checks",
                   help="module providing EXERCISES and run_question (default backprop.grade.checks)")
    a = p.parse_args(argv)
    t0 = time.monotonic()
    try:
        rows = grade_paths(a.paths, checks_module=a.checks_module, timeout=a.timeout, cell_timeout=a.cell_timeout,
                           question_timeout=a.question_timeout, jobs=a.jobs)
    except UsageError as e:
        p.print_usage(sys.stderr)
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_csv(rows, a.csv)
    print(summary(rows))
    print(f"graded in {time.monotonic() - t0:.1f} s; wrote {a.csv}")
    return 0
