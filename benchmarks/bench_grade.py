"""Throughput of the batch grader: 24 submissions, ``--jobs 2``.

``.venv/bin/python benchmarks/bench_grade.py [--jobs 2] [--n 24]``

Builds a class-like batch for the grader's demo exercise (``backprop.grade.demo``):
a third correct, a third stubs, a third with one wrong answer; no hostile
timeouts, so the figure is the cost of a sandboxed kernel (bubblewrap
included), the trusted runner and the bookkeeping per submission. Prints
submissions per minute and checks that every submission is in the CSV.

Wall-clock throughput depends on what else the machine runs: the line
printed gives the load average next to the figure.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
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
    subs = {r["submission"] for r in rows}
    ok = proc.returncode == 0 and len(subs) == a.n
    print(f"graded {len(subs)}/{a.n} submissions ({len(rows)} rows) with --jobs {a.jobs} in {elapsed:.1f} s: "
          f"{60 * len(subs) / elapsed:.1f} submissions/minute (load average {load:.1f}, "
          f"{os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
