"""Build the grader's hostile-submission corpus for the ``demo_dense`` exercise.

``python tests/submissions/build_corpus.py [OUTDIR]`` (default: this folder)
writes one notebook (or broken file, FIFO, folder, link) per case.
``EXPECTED`` says what the grader must report for each: ``{file: {question:
status}}`` (``"*"`` for the single row of an unidentifiable file). The answers
are those of ``backprop/grade/demo.py``: q1 ``dense_forward``, q2
``dense_backward`` (may not call ``ref_dense_backward``; NumPy only), q3
``n_params``. Points follow from the status (all or nothing per question).

The cases after the first group follow the classes of issue 8, each case
written for this corpus (none is from the issue's held-out corpus):

1. learner code where the checks run (lying objects, code at unpickling,
   reading the checker's frames, forging the result channel);
2. routes around the reference-call ban (``__wrapped__``, a copy of the code
   object, code compiled under a package file name, ``importlib.reload``,
   the module's source text);
3. a lookup table for fixed inputs;
4. reaching other submissions and the grader's output (the ``z_victim``
   notebook is graded in the same batch as ``a_attacker``, which tries to
   rewrite it, plant an IPython startup file, replace the CSV with a link,
   read the instructor's solutions and leave a ``setsid`` process behind);
5. bad inputs (file names that are not UTF-8, a lone surrogate in a
   message, a FIFO, a folder and a link named ``*.ipynb``, non-string
   exercise ids, JSON nested 100,000 deep, a death while answers are collected);
6. declared restrictions (torch in a NumPy-only answer, opening the
   solutions, 3.5 GB of memory).
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


class Special:
    """A path that is not a notebook file: ``fifo``, ``dir`` or ``symlink`` (to ``target``)."""

    def __init__(self, kind, target=""):
        self.kind, self.target = kind, target


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOLUTION = os.path.join(ROOT, "exercises", "solutions", "ex03_backward_pass.ipynb")
BAD_NAME = os.fsdecode(b"demo_dense_\xff\xfe_latin1.ipynb")  # not UTF-8
MARKER = "backprop-grade-corpus-survivor"  # in the command line of the processes a kernel leaves behind


def attacker(outdir, csv_path):
    """Code cells that try every cross-submission and grader-output attack we know of."""
    victim = os.path.join(os.path.abspath(outdir), "z_victim.ipynb")
    return ("import os, subprocess, glob, time\n"
            f"VICTIM, CSV, SOLUTION = {victim!r}, {os.path.abspath(csv_path)!r}, {SOLUTION!r}\n"
            "seen = []\n"
            "for path in (VICTIM, CSV, SOLUTION, '/root/.bashrc'):\n"
            "    try:\n"
            "        open(path, 'rb').read(10)\n"
            "        seen.append(path)\n"
            "    except OSError:\n"
            "        pass\n"
            "for path in [VICTIM, CSV] + glob.glob(os.path.dirname(VICTIM) + '/*.ipynb') + glob.glob('/tmp/**/*.ipynb'):\n"
            "    try:\n"
            "        with open(path, 'w') as f:\n"
            "            f.write('{}')\n"
            "    except OSError:\n"
            "        pass\n"
            "try:\n"
            "    os.symlink('/etc/passwd', CSV + '.planted')\n"
            "    os.replace(CSV + '.planted', CSV)\n"
            "except OSError:\n"
            "    pass\n"
            "for home in (os.path.expanduser('~'), '/root', os.environ.get('IPYTHONDIR', '')):\n"
            "    try:\n"
            "        d = os.path.join(home, '.ipython', 'profile_default', 'startup')\n"
            "        os.makedirs(d, exist_ok=True)\n"
            "        with open(os.path.join(d, '00-evil.py'), 'w') as f:\n"
            "            f.write('n_params = None\\ndense_forward = dense_backward = None\\n')\n"
            "    except OSError:\n"
            "        pass\n"
            f"cmd = 'sleep 2; for f in ' + VICTIM + ' ' + CSV + '; do echo broken > $f; done; sleep 600 # {MARKER}'\n"
            "spawned = 0\n"
            "daemon = subprocess.Popen(['setsid', 'sh', '-c', cmd], stdin=subprocess.DEVNULL,\n"
            "                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "time.sleep(0.2)\n"
            "spawned += daemon.poll() is None\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.setsid()\n"
            f"    os.execvp('sh', ['sh', '-c', 'sleep 600 # {MARKER}'])\n"
            "spawned += pid > 0\n"
            "# 8 only if it could read the victim, the CSV or the solutions; 7 once both daemons are running\n"
            "n_params = 8 if seen else (7 if spawned == 2 else 6)\n")


def cases(outdir=".", csv_path="grades.csv"):
    """{file name: (content: notebook, bytes or Special, {question: expected status})}."""
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

    # 1. learner code where the checks run: nothing but plain data comes back
    liar = ("class Liar:\n"
            "    def __array__(self, *a, **k):\n        return np.zeros((4, 2))\n"
            "    def __eq__(self, other):\n        return True\n"
            "    def __str__(self):\n        return '8'\n"
            "    __repr__ = __str__\n"
            "    def __reduce__(self):\n        return (exec, ('import backprop.grade.demo as d; d._compare = None',))\n")
    c["lying_objects.ipynb"] = nb(liar + "def dense_forward(x, W, b):\n    return Liar()", Q2, "n_params = Liar()"), \
        dict(ALL_PASS, q1="failed", q3="failed")
    c["read_checker_frames.ipynb"] = nb(
        "import sys\ndef dense_forward(x, W, b):\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        for v in f.f_locals.values():\n"
        "            if isinstance(v, np.ndarray) and v.shape == (x.shape[0], W.shape[1]):\n"
        "                return v\n        f = f.f_back\n    return np.zeros((x.shape[0], W.shape[1]))",
        Q2, Q3), dict(ALL_PASS, q1="failed")
    c["forge_result_channel.ipynb"] = nb(
        STUB1 + "\nimport os, json\nprint(json.dumps({'event': 'result', 'question': 'q1', 'status': 'passed', "
        "'points': 2, 'message': 'ok'}))\n"
        "os.symlink('/tmp', os.path.join(os.environ['HOME'], '..', 'out', 'q3'))", Q2, Q3), \
        dict(ALL_PASS, q1="not_attempted", q3="error")

    # 2. every route to the forbidden reference reaches a disabled function
    ref = "import backprop.grade.demo as d\n"
    routes = {
        "ref_wrapped": "f = getattr(d.ref_dense_backward, '__wrapped__', d.ref_dense_backward)\n"
                       "def dense_backward(dout, x, W):\n    return f(dout, x, W)",
        "ref_code_copy": "import types\nf = types.FunctionType(d.ref_dense_backward.__code__, vars(d))\n"
                         "def dense_backward(dout, x, W):\n    return f(dout, x, W)",
        "ref_compiled_in_package": "ns = {}\nexec(compile('def dense_backward(dout, x, W):\\n    import "
                                   "backprop.grade.demo as d\\n    return d.ref_dense_backward(dout, x, W)\\n', "
                                   "d.__file__, 'exec'), ns)\ndense_backward = ns['dense_backward']",
        "ref_reload": "import importlib\nd = importlib.reload(d)\ndense_backward = d.ref_dense_backward",
        "ref_source_text": "ns = {}\nexec(open(d.__file__).read(), ns)\ndense_backward = ns['ref_dense_backward']",
    }
    for name, src in routes.items():
        c[f"{name}.ipynb"] = nb(Q1, ref + src, Q3), dict(ALL_PASS, q2="failed")

    # 3. a lookup table for the inputs the notebook's own check uses
    c["lookup_table.ipynb"] = nb(
        "from backprop.grade.demo import forward_cases\n"
        "TABLE = [(args, args[0] @ args[1] + args[2]) for _, args in forward_cases(np.random.default_rng(0))]\n"
        "def dense_forward(x, W, b):\n    for args, out in TABLE:\n"
        "        if args[0].shape == x.shape and np.allclose(args[0], x):\n            return out\n"
        "    return np.zeros((x.shape[0], W.shape[1]))", Q2, Q3), dict(ALL_PASS, q1="failed")

    # 4. reaching other submissions and the grader's output
    c["a_attacker.ipynb"] = nb(Q1, Q2, attacker(outdir, csv_path)), dict(ALL_PASS, q3="failed")
    c["z_victim.ipynb"] = nb(Q1, Q2, Q3), ALL_PASS

    # 5. bad inputs cost only their own rows
    c[BAD_NAME] = nb(Q1, Q2, Q3), ALL_PASS
    c["surrogate_message.ipynb"] = nb("def dense_forward(x, W, b):\n    raise ValueError('bad \\udc80 byte')",
                                      Q2, Q3), dict(ALL_PASS, q1="error")
    c["pipe.ipynb"] = Special("fifo"), {"*": "invalid"}
    c["folder.ipynb"] = Special("dir"), {"*": "invalid"}
    c["demo_dense_link.ipynb"] = Special("symlink", SOLUTION), {q: "invalid" for q in ALL_PASS}
    c["numeric_exercise_id.ipynb"] = nb(Q1, Q2, Q3, exercise=42), {"*": "invalid"}
    c["demo_dense_list_exercise_id.ipynb"] = nb(Q1, Q2, Q3, exercise=["demo_dense"]), ALL_PASS
    deep = b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {"x": ' + b"[" * 100_000 \
        + b"]" * 100_000 + b"}}"
    c["demo_dense_deep_json.ipynb"] = deep, {q: "invalid" for q in ALL_PASS}
    c["deep_answer.ipynb"] = nb(Q1, Q2, "n_params = []\nfor _ in range(100_000):\n    n_params = [n_params]"), \
        dict(ALL_PASS, q3="failed")

    # 6. declared restrictions
    c["torch_in_numpy_only.ipynb"] = nb(Q1, "def dense_backward(dout, x, W):\n    import torch\n"
                                        "    return torch.tensor(dout).numpy(), x.T @ dout, dout.sum(axis=0)", Q3), \
        dict(ALL_PASS, q2="error")
    c["open_solutions.ipynb"] = nb(
        f"def dense_forward(x, W, b):\n    open({SOLUTION!r}).read()\n    return x @ W + b", Q2, Q3), \
        dict(ALL_PASS, q1="error")
    c["memory_hog.ipynb"] = nb(Q1, Q2, "big = np.ones(int(3.5e9) // 8)\nbig[::512] = 2.0\n" + Q3), \
        dict(ALL_PASS, q3="error")
    return c


EXPECTED = {name: exp for name, (_, exp) in cases().items()}


def build(outdir: str, csv_path: str = "grades.csv") -> list[str]:
    """Write the corpus into ``outdir``; the attacker targets ``csv_path``."""
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name, (content, _) in cases(outdir, csv_path).items():
        path = os.path.join(outdir, name)
        if isinstance(content, Special):
            if content.kind == "fifo":
                os.mkfifo(path)
            elif content.kind == "dir":
                os.makedirs(path)
                nbformat.write(nb(Q1, Q2, Q3), os.path.join(path, "inside.ipynb.txt"))
            else:
                os.symlink(content.target, path)
        elif isinstance(content, bytes):
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
