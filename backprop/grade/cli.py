"""Batch grader: ``python -m backprop.grade PATH... --csv grades.csv``.

Grades submitted exercise notebooks (files, or folders searched recursively
for ``*.ipynb``, skipping ``.ipynb_checkpoints``) and writes one CSV row per
submission and question::

    submission,exercise,question,points,max_points,status,message,hints

``status`` is one of ``passed, failed, not_attempted, error, timeout,
invalid``; ``hints`` is a JSON object ``{hint id: hint}`` of the mistakes the
checks recognised. A summary table goes to stdout; ``--report report.html``
also writes an instructor's report (``backprop.grade.report``). Exit code 0
whenever grading ran, whatever the scores; 2 on a usage error (bad
arguments, missing path, no notebook found, ``--jobs`` < 1, checks module
not importable) or when bubblewrap cannot run (the grader refuses to run
learner code outside its sandbox).

Trust nothing in the submission:

- every submission is read once, before any kernel starts, into the
  grader's private temporary folder (a snapshot); a path that is not a
  regular file (a FIFO, a device, a symbolic link, a folder named
  ``*.ipynb``) gets an ``invalid`` row and is never opened for reading;
- each submission is graded by its own process (``backprop.grade.runner``),
  which never runs learner code: the code runs in a sandboxed kernel
  (``backprop.grade.sandbox``, ``backprop.grade.kernel``), on inputs drawn
  from a secret seed per grading run, and only plain data comes back;
- the CSV is rewritten after every submission, atomically (a temporary
  file in the same folder, then a rename, which replaces a link rather
  than writing through it), with anything UTF-8 cannot hold escaped;
  ``--resume`` keeps the rows of an existing CSV and grades only the
  submissions it lacks.

The exercise comes from ``metadata["backprop"]["exercise"]`` (a string),
else from the file name (``ex03_backward_pass.ipynb``,
``alice_ex03_backward_pass.ipynb``). ``--checks-module`` (default
``backprop.grade.checks``) names the registry: a module inside the
``backprop`` package with ``EXERCISES`` as in ``backprop.grade.checks``.

Library use: ``grade_paths(paths, ...)`` returns the rows as dicts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from backprop.grade.gradebook import COLUMNS, STATUSES, read_csv, sort_rows, summary, write_csv  # noqa: F401
from backprop.grade.gradebook import escape as _escape
from backprop.grade.intake import (MAX_SUBMISSION_BYTES, UsageError, discover,  # noqa: F401
                                   exercise_from_name, identify, snapshot)

DEFAULT_TIMEOUT = 300.0
DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_QUESTION_TIMEOUT = 30.0



def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.join()


_CONTEXT = None
_CONTEXT_LOCK = threading.Lock()


def _runner_context():
    """A fork server that has imported the runner, nbclient and the checks once: a submission's
    runner process is forked from it, fresh each time, without paying for those imports."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            from backprop.grade.runner import PRELOAD
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD + list(_PRELOAD_CHECKS))
            _CONTEXT = ctx
        return _CONTEXT


_PRELOAD_CHECKS: set = set()


def _child_main(spec_path, out_path, err_path):
    from backprop.grade.runner import child_main
    child_main(spec_path, out_path, err_path)


def _rows(path, exercise, status, message, questions=()):
    base = dict(submission=path, exercise=exercise or "", hints={})
    if not questions:
        return [dict(base, question="", points=0.0, max_points=0.0, status=status, message=message)]
    return [dict(base, question=q.id, points=0.0, max_points=float(q.points), status=status, message=message)
            for q in questions]


def grade_one(path, snap, exercises, checks_module, *, seed, views, workdir, timeout, cell_timeout,
              question_timeout, memory_mb) -> list[dict]:
    """Rows for one submission from its snapshot; never raises (a failure becomes ``error``/``invalid`` rows)."""
    try:
        raw, why = snap
        exercise = None
        if raw is not None:
            exercise, why = identify(raw, path, exercises)
        if exercise is None:
            # A broken file whose name says which exercise it was meant to be
            # gets that exercise's rows, so the gradebook shows every question.
            guess = exercise_from_name(path, exercises)
            return _rows(path, guess, "invalid", why, exercises[guess] if guess else ())
        questions = exercises[exercise]
        hard_limit = timeout + 5 * 60 + 60 + len(questions) * (question_timeout + 60) + 60
        with tempfile.TemporaryDirectory(prefix="sub-", dir=workdir) as tmp:
            snap_path = os.path.join(tmp, "submission.ipynb")
            with open(snap_path, "wb") as f:
                f.write(raw)
            spec = dict(snapshot=snap_path, exercise=exercise, checks_module=checks_module, seed=seed,
                        view=views[exercise], tmpdir=tmp, timeout=timeout, cell_timeout=cell_timeout,
                        question_timeout=question_timeout, memory_mb=memory_mb)
            spec_path, out_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "rows.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            err_path = os.path.join(tmp, "stderr")
            proc = _runner_context().Process(target=_child_main, args=(spec_path, out_path, err_path))
            proc.start()
            proc.join(hard_limit)
            if proc.exitcode is None:
                _kill_group(proc)
                return _rows(path, exercise, "error",
                             f"grading this submission took over {hard_limit:g} s and was stopped", questions)
            code = proc.exitcode
            try:
                with open(err_path, "rb") as err:
                    tail = " ".join(err.read().decode("utf-8", "replace").strip().splitlines()[-1:])[:200]
            except OSError:
                tail = ""
            if code != 0 or not os.path.exists(out_path):
                return _rows(path, exercise, "error",
                             f"the grader failed on this submission (exit code {code}): {tail}", questions)
            with open(out_path) as f:
                result = json.load(f)
        return [dict(submission=path, exercise=exercise, **r) for r in result]
    except Exception as e:  # noqa: BLE001 - one submission's failure must not stop the batch
        return _rows(path, None, "error", f"the grader failed on this submission: {type(e).__name__}: {e}")


def load_exercises(checks_module: str) -> dict:
    try:
        exercises = importlib.import_module(checks_module).EXERCISES
        if not isinstance(exercises, dict):
            raise TypeError("EXERCISES is not a dict")
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"cannot use checks module {checks_module!r}: {type(e).__name__}: {e}") from e
    return exercises


def grade_paths(paths, *, checks_module="backprop.grade.checks", timeout=DEFAULT_TIMEOUT,
                cell_timeout=DEFAULT_CELL_TIMEOUT, question_timeout=DEFAULT_QUESTION_TIMEOUT, jobs=1,
                memory_mb=None, done=(), on_rows=None) -> list[dict]:
    """Grade every notebook under ``paths`` but those in ``done``; rows sorted by submission, then question.

    ``on_rows(rows)`` is called after each submission with the rows so far.
    """
    from backprop.grade import sandbox

    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    for name, value in (("timeout", timeout), ("cell-timeout", cell_timeout), ("question-timeout", question_timeout)):
        if not value > 0:
            raise UsageError(f"--{name} must be positive, got {value}")
    memory_mb = sandbox.DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
    if not memory_mb >= 64:
        raise UsageError(f"--memory-limit must be at least 64 (MB), got {memory_mb}")
    exercises = load_exercises(checks_module)
    _PRELOAD_CHECKS.add(checks_module)
    files = [f for f in discover(paths) if _escape(f) not in set(done)]
    try:
        sandbox.probe()
    except sandbox.SandboxUnavailable as e:
        raise UsageError(f"{e}. The grader runs submissions only inside its sandbox.") from e
    workdir = tempfile.mkdtemp(prefix="backprop-grade-")
    try:
        snaps = {f: snapshot(f) for f in files}  # every byte read before any learner code runs
        needed = set()
        for f, (raw, _) in snaps.items():
            if raw is not None:
                ex, _ = identify(raw, f, exercises)
                if ex:
                    needed.add(ex)
        views = {}
        for k, ex in enumerate(sorted(needed)):
            views[ex] = sandbox.prepare_view(exercises, ex, os.path.join(workdir, f"view{k}"))
        seed = secrets.randbits(63)
        rows: list[dict] = []
        lock = threading.Lock()

        def one(f):
            got = grade_one(f, snaps[f], exercises, checks_module, seed=seed, views=views, workdir=workdir,
                            timeout=timeout, cell_timeout=cell_timeout, question_timeout=question_timeout,
                            memory_mb=memory_mb)
            with lock:
                rows.extend(got)
                if on_rows is not None:
                    on_rows(sort_rows(rows, exercises))

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, files))
        return sort_rows(rows, exercises)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    p = argparse.ArgumentParser(prog="python -m backprop.grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="submitted notebooks or folders of them")
    p.add_argument("--csv", required=True, help="where to write the grades")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in --csv and grade only the submissions missing from it")
    p.add_argument("--report", metavar="HTML", help="also write an instructor's report (one offline HTML page)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to run one submission's notebook (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                   help=f"seconds per cell (default {DEFAULT_CELL_TIMEOUT:g})")
    p.add_argument("--question-timeout", type=float, default=DEFAULT_QUESTION_TIMEOUT,
                   help=f"seconds per question's answer (default {DEFAULT_QUESTION_TIMEOUT:g})")
    p.add_argument("--memory-limit", type=int, default=None, metavar="MB",
                   help="address-space limit of each submission's kernel in MB (default 2048)")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (default 1)")
    p.add_argument("--checks-module", default="backprop.grade.checks",
                   help="module providing EXERCISES (default backprop.grade.checks)")
    a = p.parse_args(argv)
    t0 = time.monotonic()
    try:
        kept = read_csv(a.csv) if a.resume else []
        done = {r["submission"] for r in kept}
        exercises = load_exercises(a.checks_module)

        def save(new_rows):
            write_csv(sort_rows(kept + new_rows, exercises), a.csv)

        new = grade_paths(a.paths, checks_module=a.checks_module, timeout=a.timeout, cell_timeout=a.cell_timeout,
                          question_timeout=a.question_timeout, jobs=a.jobs, memory_mb=a.memory_limit, done=done,
                          on_rows=save)
    except UsageError as e:
        p.print_usage(sys.stderr)
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = sort_rows(kept + new, exercises)
    write_csv(rows, a.csv)
    if a.report:
        from backprop.grade.report import write_report
        write_report(rows, a.report, exercises)
    print(summary(rows))
    extra = f" and {a.report}" if a.report else ""
    print(f"graded {len({r['submission'] for r in new})} submissions in "
          f"{time.monotonic() - t0:.1f} s; wrote {a.csv}{extra}")
    return 0
