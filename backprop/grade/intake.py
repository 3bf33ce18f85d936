"""Reading submissions before any of them runs: find them, snapshot their bytes, tell their exercise.

Nothing here runs learner code. ``snapshot`` never follows a link and never
blocks (a FIFO is refused, not opened for reading); ``identify`` reads the
exercise id from a snapshot's JSON metadata (a string), else from the file
name, and says why when it cannot.
"""

from __future__ import annotations

import json
import os
import stat

MAX_SUBMISSION_BYTES = 50 * 2**20


class UsageError(Exception):
    """Bad command line, or no sandbox: exit code 2."""


def discover(paths) -> list[str]:
    """Submission paths under ``paths``, sorted and without duplicates; ``UsageError`` if none.

    Every entry whose name ends in ``.ipynb`` is listed, whatever it is (a
    FIFO, a link, a folder): ``snapshot`` decides. Links to folders are not followed.
    """
    found = []
    for p in paths:
        if os.path.isdir(p) and not (os.path.islink(p) and p.endswith(".ipynb")):
            for root, dirs, files in os.walk(p):
                keep = []
                for d in sorted(dirs):
                    if d.endswith(".ipynb"):
                        found.append(os.path.join(root, d))
                    elif d != ".ipynb_checkpoints":
                        keep.append(d)
                dirs[:] = keep
                found += [os.path.join(root, f) for f in files if f.endswith(".ipynb")]
        elif os.path.lexists(p):
            found.append(p)
        else:
            raise UsageError(f"no such file or directory: {p}")
    found = sorted(set(os.path.normpath(f) for f in found))
    if not found:
        raise UsageError(f"no .ipynb notebooks found in: {', '.join(map(str, paths))}")
    return found


def snapshot(path: str) -> tuple[bytes | None, str]:
    """(the file's bytes, '') or (None, why it cannot be graded); never blocks, never follows a link."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return None, f"cannot read file: {e.strerror}"
    kinds = [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    for test, what in kinds:
        if test(st.st_mode):
            return None, f"not a regular file: {what}; submit the notebook file itself"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        return None, f"cannot read file: {e.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file; submit the notebook file itself"
        if st.st_size > MAX_SUBMISSION_BYTES:
            return None, f"file too large ({st.st_size} bytes; at most {MAX_SUBMISSION_BYTES})"
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > MAX_SUBMISSION_BYTES:
                return None, f"file too large (over {MAX_SUBMISSION_BYTES} bytes)"
        return b"".join(chunks), ""
    except OSError as e:
        return None, f"cannot read file: {e.strerror}"
    finally:
        os.close(fd)


def identify(raw: bytes, path: str, exercises: dict) -> tuple[str | None, str]:
    """(exercise id, '') or (None, why the file cannot be graded), from a snapshot's bytes."""
    expected = f"expected metadata backprop.exercise or a file name containing one of {sorted(exercises)}"
    if not raw.strip():
        return None, "empty file, not a notebook"
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        return None, "not a notebook: JSON nested too deeply to read"
    except (UnicodeDecodeError, ValueError) as e:
        return None, f"not a notebook: invalid JSON ({type(e).__name__}: {str(e)[:100]})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or type(data.get("nbformat")) is not int:
        return None, "not a notebook: JSON without the nbformat 'cells' list and 'nbformat' version"
    for i, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) \
                or not isinstance(cell.get("source", ""), (str, list)):
            return None, f"not a notebook: cell {i} has no 'cell_type' or its 'source' is not text"
    meta = data.get("metadata")
    meta = meta.get("backprop") if isinstance(meta, dict) else None
    ex = meta.get("exercise") if isinstance(meta, dict) else None
    if isinstance(ex, str):
        if ex in exercises:
            return ex, ""
        return None, f"unknown exercise {ex[:60]!r} in metadata; {expected}"
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
