"""The gradebook: rows, the CSV the grader writes (atomically) and reads back, and the summary table."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter

from backprop.grade.intake import UsageError

COLUMNS = ("submission", "exercise", "question", "points", "max_points", "status", "message", "hints")
STATUSES = ("passed", "failed", "not_attempted", "error", "timeout", "invalid")


def escape(s: str) -> str:
    """``s`` with whatever UTF-8 cannot hold (lone surrogates) written as escapes."""
    return str(s).encode("utf-8", "backslashreplace").decode("utf-8")


def _question_order(exercises):
    return {(ex, q.id): i for ex, qs in exercises.items() for i, q in enumerate(qs)}


def sort_rows(rows, exercises):
    order = _question_order(exercises)
    return sorted(rows, key=lambda r: (escape(r["submission"]), order.get((r["exercise"], r["question"]), 99),
                                       r["question"]))


def write_atomically(path, prefix, write, newline=None) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename replaces a link at ``path`` instead of writing through it, and a
    failure leaves ``path`` as it was. Text that UTF-8 cannot hold is escaped.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding="utf-8", errors="backslashreplace") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_csv(rows, path) -> None:
    """Write the rows atomically (see ``write_atomically``)."""
    def write(f):
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, submission=escape(r["submission"]), exercise=escape(r["exercise"]),
                            message=escape(r["message"]), points=f"{r['points']:g}",
                            max_points=f"{r['max_points']:g}",
                            hints=json.dumps(r.get("hints") or {}, ensure_ascii=False) if r.get("hints") else ""))

    write_atomically(path, ".grades-", write, newline="")


def read_csv(path) -> list[dict]:
    """Rows of a CSV this grader wrote (for ``--resume``); ``UsageError`` if it is not one."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) not in (COLUMNS, COLUMNS[:-1]):
                raise UsageError(f"--resume: {path} is not a grades CSV of this grader (columns {reader.fieldnames})")
            rows = []
            for r in reader:
                try:
                    hints = json.loads(r.get("hints") or "{}")
                except ValueError:
                    hints = {}
                rows.append(dict(r, points=float(r["points"]), max_points=float(r["max_points"]),
                                 hints=hints if isinstance(hints, dict) else {}))
            return rows
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, csv.Error) as e:
        raise UsageError(f"--resume: cannot read {path}: {e}") from e


def summary(rows) -> str:
    by_sub: dict[str, list[dict]] = {}
    for r in rows:
        by_sub.setdefault(escape(r["submission"]), []).append(r)
    width = max([len("submission")] + [len(s) for s in by_sub])
    exw = max([len("exercise")] + [len(escape(r["exercise"])) for r in rows])
    head = f"{'submission':<{width}}  {'exercise':<{exw}}  {'score':>9}  " + " ".join(f"{s:>7.7}" for s in STATUSES)
    lines = [head, "-" * len(head)]
    for sub, rs in by_sub.items():
        counts = Counter(r["status"] for r in rs)
        score = f"{sum(r['points'] for r in rs):g}/{sum(r['max_points'] for r in rs):g}"
        lines.append(f"{sub:<{width}}  {escape(rs[0]['exercise']):<{exw}}  {score:>9}  "
                     + " ".join(f"{counts.get(s, 0):>7}" for s in STATUSES))
    lines.append(f"{len(by_sub)} submissions, {len(rows)} rows")
    return "\n".join(lines)
