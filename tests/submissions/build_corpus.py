"""Build the grader's hostile-submission corpus for the ``demo_dense`` exercise.

``python tests/submissions/build_corpus.py [OUTDIR]`` (default: this folder)
writes one notebook (or broken file) per case. ``EXPECTED`` says what the
grader must report for each: ``{file: {question: status}}`` (``"*"`` for the
single row of an unidentifiable file). The answers are those of
``backprop/grade/demo.py``: q1 ``dense_forward``, q2 ``dense_backward``
(may not call ``ref_dense_backward``), q3 ``n_params``.
"""

from __future__ import annotations

import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

EX = "demo_dense"
IMPORTS = "import numpy as np"
Q1 = "def dense_forward(x, W, b):\n    return x @ W + b"
Q2 = "def dense_backward(dout, x, W):\n    return dout @ W.T, x.T @ dout, dout.sum(axis=0)"
Q3 = "n_params = 3 * 2 + 2"
STUB1 = "def dense_forward(x, W, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
STUB2 = "def dense_backward(dout, x, W):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
STUB3 = "n_params = None  # YOUR CODE HERE"
CHECK = "from backprop.grade.demo import run_question\nprint(run_question('demo_dense', '{q}', globals()))"


def nb(*answer_cells, exercise=EX, checks=True):
    """A notebook: a title, the imports, then each answer cell followed by its check cell."""
    cells = [new_markdown_cell("# Demo exercise"), new_code_cell(IMPORTS)]
    for i, src in enumerate(answer_cells, start=1):
        cells.append(new_code_cell(src))
        if checks and i <= 3:
            cells.append(new_code_cell(CHECK.format(q=f"q{i}")))
    n = new_notebook(cells=cells)
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if exercise is not None:
        n.metadata["backprop"] = {"exercise": exercise}
    return n


ALL_PASS = {"q1": "passed", "q2": "passed", "q3": "passed"}


def cases():
    """{file name: (content: notebook or bytes, {question: expected status})}."""
    c = {}
    c["correct.ipynb"] = nb(Q1, Q2, Q3), ALL_PASS
    # identified by file name (no metadata)
    c["demo_dense_alice.ipynb"] = nb(Q1, Q2, Q3, exercise=None), ALL_PASS
    c["stub.ipynb"] = nb(STUB1, STUB2, STUB3), {q: "not_attempted" for q in ALL_PASS}
    # infinite loop at top level, before q2's definition; an interruptible one
    c["loop_top_level.ipynb"] = nb(Q1, "while True:\n    pass\n" + Q2, Q3), dict(ALL_PASS, q2="timeout")
    # a loop that swallows the interrupt: the kernel must be restarted without this cell
    c["loop_uninterruptible.ipynb"] = nb(
        Q1, Q2, "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except BaseException:\n"
        "        pass\n" + Q3), dict(ALL_PASS, q3="timeout")
    c["loop_in_answer.ipynb"] = nb("def dense_forward(x, W, b):\n    while True:\n        pass", Q2, Q3), \
        dict(ALL_PASS, q1="timeout")
    c["kernel_exit.ipynb"] = nb(Q1, "import os\nos._exit(1)\n" + Q2, Q3), dict(ALL_PASS, q2="error")
    c["exit_in_answer.ipynb"] = nb(Q1, "def dense_backward(dout, x, W):\n    import os\n    os._exit(3)", Q3), \
        dict(ALL_PASS, q2="error")
    c["syntax_error.ipynb"] = nb("def dense_forward(x, W, b)\n    return x @ W + b", Q2, Q3), \
        dict(ALL_PASS, q1="error")
    c["nan.ipynb"] = nb("def dense_forward(x, W, b):\n    return (x @ W + b) * np.nan", Q2, Q3), \
        dict(ALL_PASS, q1="failed")
    c["wrong_shape.ipynb"] = nb(Q1, "def dense_backward(dout, x, W):\n    return dout @ W.T, (x.T @ dout).T, "
                                "dout.sum(axis=0)", Q3), dict(ALL_PASS, q2="failed")
    c["forbidden.ipynb"] = nb(Q1, "from backprop.grade.demo import ref_dense_backward\n\n"
                              "def dense_backward(dout, x, W):\n    return ref_dense_backward(dout, x, W)", Q3), \
        dict(ALL_PASS, q2="failed")
    c["forbidden_alias.ipynb"] = nb(Q1, "import backprop.grade.demo as demo\ndense_backward = demo.ref_dense_backward",
                                    Q3), dict(ALL_PASS, q2="failed")
    # fake outputs: stubs, but stored outputs and prints claim success
    fake = nb(STUB1, STUB2, STUB3 + "\nprint('All checks passed: 6/6 points')")
    for cell in fake.cells:
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text="PASSED 6/6 - all checks passed\n")]
            cell.execution_count = 1
    c["fake_outputs.ipynb"] = fake, {q: "not_attempted" for q in ALL_PASS}
    # wrong answers + the kernel's checks and numpy monkeypatched to always pass
    patch = ("import backprop.grade.demo as demo\n"
             "def always(exercise, question, namespace):\n"
             "    q = [q for q in demo.EXERCISES[exercise] if q.id == question][0]\n"
             "    return demo.Result(exercise, question, 'passed', q.points, q.points, 'all passed')\n"
             "demo.run_question = always\n"
             "np.allclose = lambda *a, **k: True\n"
             "np.isfinite = lambda a: np.ones(np.shape(a), bool)")
    c["monkeypatch_kernel.ipynb"] = nb(patch + "\n" + "def dense_forward(x, W, b):\n    return x @ W",
                                       "def dense_backward(dout, x, W):\n    return dout, dout, dout", "n_params = 6"), \
        {"q1": "failed", "q2": "failed", "q3": "failed"}
    # the answer patches the checker *when called* inside the checking process
    c["monkeypatch_at_check.ipynb"] = nb(
        "def dense_forward(x, W, b):\n    import backprop.grade.demo as demo\n"
        "    demo._compare = lambda *a: ''\n    demo.ref_dense_forward = lambda x, W, b: x @ W\n    return x @ W",
        Q2, Q3), dict(ALL_PASS, q1="failed")
    # the learner ran the check in the same cell as the answer: the answer must still count
    c["check_in_answer_cell.ipynb"] = nb(Q1, Q2 + "\n" + CHECK.format(q="q2"), Q3, checks=False), ALL_PASS
    c["recursion.ipynb"] = nb("def dense_forward(x, W, b):\n    return dense_forward(x, W, b)", Q2, Q3), \
        dict(ALL_PASS, q1="error")
    c["unpicklable.ipynb"] = nb(Q1, Q2, "n_params = (i for i in range(8))"), dict(ALL_PASS, q3="failed")
    c["corrupt.ipynb"] = b'{"cells": [{"cell_type": "code", "source": "x = ', {"*": "invalid"}
    c["empty.ipynb"] = b"", {"*": "invalid"}
    c["not_a_notebook.ipynb"] = b"def dense_forward(x, W, b):\n    return x @ W + b\n", {"*": "invalid"}
    c["json_not_nbformat.ipynb"] = b'{"hello": "world", "cells": 3}', {"*": "invalid"}
    c["unknown_exercise.ipynb"] = nb(Q1, Q2, Q3, exercise="ex99_nope"), {"*": "invalid"}
    c["homework.ipynb"] = nb(Q1, Q2, Q3, exercise=None), {"*": "invalid"}
    return c


EXPECTED = {name: exp for name, (_, exp) in cases().items()}


def build(outdir: str) -> list[str]:
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name, (content, _) in cases().items():
        path = os.path.join(outdir, name)
        if isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
        else:
            nbformat.write(content, path)
        paths.append(path)
    # an editor's checkpoint copy: the grader must skip it
    os.makedirs(os.path.join(outdir, ".ipynb_checkpoints"), exist_ok=True)
    nbformat.write(nb(Q1, Q2, Q3), os.path.join(outdir, ".ipynb_checkpoints", "correct-checkpoint.ipynb"))
    return paths


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    print("\n".join(build(out)))
