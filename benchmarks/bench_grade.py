"""Throughput of the batch grader: 24 submissions, ``--jobs 2``.

``.venv/bin/python benchmarks/bench_grade.py [--jobs 2] [--n 24]``

Builds a class-like batch for the grader's demo exercise (``backprop.grade.demo``):
a third correct, a third stubs, a third with one wrong answer; no hostile
timeouts, so the figure is the cost of a sandboxed kernel (bubblewrap
included), the trusted runner and the bookkeeping per submission. Prints
submissions per minute and checks that every submission is in the CSV.

Wall-clock throughput depends on what else the machine runs, so the script
also measures the CPU time the whole batch consumed, sandboxed kernels
included: it makes itself a child subreaper (Linux ``prctl``), so every
process of the batch, orphaned or not, is eventually reaped by it or by one
of its descendants and counted in ``RUSAGE_CHILDREN``. From that it prints
the CPU seconds per submission and the throughput that implies on ``--jobs``
otherwise idle cores.
"""

from __future__ import annotations

import argparse
import ctypes
import csv
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def load_corpus():
    spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "tests" / "submissions" / "build_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--n", type=int, default=24)
    a = p.parse_args(argv)
    libc = ctypes.CDLL(None, use_errno=True)
    subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    c = load_corpus()
    kinds = [c.nb(c.Q1, c.Q2, c.Q3), c.nb(c.STUB1, c.STUB2, c.STUB3),
             c.nb(c.Q1, "def dense_backward(dout, x, W):\n    return dout @ W.T, x.T @ dout, dout.sum()", c.Q3)]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.n):
            nbformat.write(kinds[i % 3], os.path.join(tmp, f"student_{i:03d}.ipynb"))
        out = os.path.join(tmp, "grades.csv")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "backprop.grade", tmp, "--csv", out, "--jobs", str(a.jobs),
                               "--checks-module", "backprop.grade.demo"], capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        load = os.getloadavg()[0]
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    while True:  # reap the orphans (sandboxed kernels whose sandbox was torn down)
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.2)
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
        except ChildProcessError:
            break
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = use.ru_utime + use.ru_stime
    subs = {r["submission"] for r in rows}
    ok = proc.returncode == 0 and len(subs) == a.n
    print(f"graded {len(subs)}/{a.n} submissions ({len(rows)} rows) with --jobs {a.jobs} in {elapsed:.1f} s: "
          f"{60 * len(subs) / elapsed:.1f} submissions/minute (load average {load:.1f}, "
          f"{os.cpu_count()} CPUs)")
    print(f"CPU time of the whole batch{'' if subreaper else ' (no subreaper: kernels may be missing)'}: "
          f"{cpu:.1f} s, {cpu / max(1, len(subs)):.2f} s per submission; on {a.jobs} otherwise idle cores "
          f"that is {60 * a.jobs * len(subs) / cpu:.0f} submissions/minute")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
