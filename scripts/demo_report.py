"""A made-up class of 30 for exercise 3, graded with ``--report``: the README's report screenshot.

``.venv/bin/python scripts/demo_report.py OUTDIR`` writes ``OUTDIR/subs/*.ipynb``
(the solution, with the slips a class makes: a transposed dW, db averaged
instead of summed, the sigmoid's derivative taken as ``a``, the factor 2 of
the squared error dropped, an infinite loop, torch in a NumPy-only
exercise, untouched notebooks), grades them with ``--jobs 2`` and writes
``OUTDIR/grades.csv`` and ``OUTDIR/report.html``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EX = "ex03_backward_pass"

SLIPS = {
    "dense_backward": {
        "transposed_dW": "def dense_backward(dout, x, W):\n    return dout @ W.T, (x.T @ dout).T, dout.sum(axis=0)\n",
        "mean_db": "def dense_backward(dout, x, W):\n    return dout @ W.T, x.T @ dout, dout.mean(axis=0)\n",
    },
    "sigmoid_backward": {
        "slope_a": "def sigmoid_backward(dout, a):\n    return dout * a\n",
        "torch": "def sigmoid_backward(dout, a):\n    import torch\n    z = torch.tensor(a)\n"
                 "    return (dout * torch.sigmoid(z)).numpy()\n",
    },
    "two_layer_backward": {
        "loop": "def two_layer_backward(X, y, W1, b1, W2, b2):\n    while True:\n        pass\n",
        "half": ("def two_layer_backward(X, y, W1, b1, W2, b2):\n"
                 "    a1 = 1 / (1 + np.exp(-(X @ W1 + b1)))\n    z2 = a1 @ W2 + b2\n"
                 "    dz2 = (z2 - y) / z2.size\n    da1, dW2, db2 = dense_backward(dz2, a1, W2)\n"
                 "    _, dW1, db1 = dense_backward(sigmoid_backward(da1, a1), X, W1)\n"
                 "    return dW1, db1, dW2, db2\n"),
    },
}

# (how many learners, {function: slip})
CLASS = [(12, {}), (5, {"dense_backward": "transposed_dW"}), (3, {"dense_backward": "mean_db"}),
         (3, {"sigmoid_backward": "slope_a"}), (2, {"two_layer_backward": "half"}),
         (1, {"two_layer_backward": "loop"}), (1, {"sigmoid_backward": "torch"}),
         (1, {"dense_backward": "transposed_dW", "two_layer_backward": "half"})]


def build(outdir: Path) -> None:
    subs = outdir / "subs"
    subs.mkdir(parents=True, exist_ok=True)
    k = 0
    for count, slips in CLASS:
        for _ in range(count):
            nb = nbformat.read(ROOT / "exercises" / "solutions" / f"{EX}.ipynb", as_version=4)
            for cell in nb.cells:
                for fn, slip in slips.items():
                    if cell.cell_type == "code" and cell.source.startswith(f"def {fn}("):
                        cell.source = SLIPS[fn][slip]
            k += 1
            nbformat.write(nb, subs / f"student{k:02d}_{EX}.ipynb")
    for _ in range(2):  # handed in untouched
        k += 1
        nbformat.write(nbformat.read(ROOT / "exercises" / f"{EX}.ipynb", as_version=4),
                       subs / f"student{k:02d}_{EX}.ipynb")


def main(argv=None) -> int:
    outdir = Path((argv or sys.argv[1:] or ["_build/demo-report"])[0]).resolve()
    build(outdir)
    return subprocess.call([sys.executable, "-m", "backprop.grade", str(outdir / "subs"), "--csv",
                            str(outdir / "grades.csv"), "--report", str(outdir / "report.html"), "--jobs", "2",
                            "--question-timeout", "10"], cwd=os.fspath(ROOT))


if __name__ == "__main__":
    sys.exit(main())
