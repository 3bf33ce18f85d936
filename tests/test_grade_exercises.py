"""The batch grader on the book's real exercises (``backprop.grade.checks``).

One graded run (real kernels, ``--jobs 2``) of ``exercises/`` plus two
hostile variants of exercise 3 built from its solution and student
notebooks: every solution scores full marks, every student notebook scores
0 with every question ``not_attempted``, a solution whose
``dense_backward`` calls ``backprop.layers.dense_backward`` loses q1 and q3
(which uses it), a solution of exercise 5 whose ``rel_error`` is the
checks module's own ``reference_rel_error`` loses q2, a solution of exercise
3 whose ``sigmoid_backward`` uses torch autograd loses q2 (the exercise says
NumPy only), and a student notebook that replaces
``backprop.grade.checks.run_question`` in its kernel still scores 0.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from backprop.grade.checks import EXERCISES
from sandbox_required import require_sandbox

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "exercises"
IDS = sorted(EXERCISES)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_sandbox()
    d = tmp_path_factory.mktemp("exgrade")
    sol = nbformat.read(EX / "solutions" / "ex03_backward_pass.ipynb", as_version=4)
    for cell in sol.cells:
        if cell.cell_type == "code" and cell.source.startswith("def dense_backward("):
            cell.source = ("from backprop.layers import dense_backward as _ref\n\n"
                           "def dense_backward(dout, x, W):\n"
                           "    return _ref(dout, (x, W))\n")
            break
    else:
        pytest.fail("no dense_backward cell in the ex03 solution")
    nbformat.write(sol, d / "ex03_backward_pass_calls_reference.ipynb")
    stu = nbformat.read(EX / "ex03_backward_pass.ipynb", as_version=4)
    stu.cells.insert(1, nbformat.v4.new_code_cell(
        "import backprop.grade.checks, backprop.grade.checks.core as core\n"
        "def always(exercise, question, namespace):\n"
        "    q = core.get_question(exercise, question)\n"
        "    return core.Result(exercise, question, 'passed', q.points, q.points, 'all passed')\n"
        "core.run_question = backprop.grade.checks.run_question = always\n"))
    nbformat.write(stu, d / "ex03_backward_pass_patched.ipynb")
    sol5 = nbformat.read(EX / "solutions" / "ex05_gradient_checking.ipynb", as_version=4)
    sol5.cells.append(nbformat.v4.new_code_cell(
        "from backprop.grade.checks.ex05_gradient_checking import reference_rel_error as rel_error"))
    nbformat.write(sol5, d / "ex05_gradient_checking_checks_helper.ipynb")
    sol3 = nbformat.read(EX / "solutions" / "ex03_backward_pass.ipynb", as_version=4)
    sol3.cells.append(nbformat.v4.new_code_cell(
        "def sigmoid_backward(dout, a):\n"
        "    import torch\n"
        "    z = torch.tensor(np.log(a / (1 - a)), requires_grad=True)\n"
        "    torch.sigmoid(z).backward(torch.tensor(dout))\n"
        "    return z.grad.numpy()\n"))
    nbformat.write(sol3, d / "ex03_backward_pass_torch.ipynb")
    out = d / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "backprop.grade", str(EX), str(d), "--csv", str(out),
                           "--jobs", "2"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def rows_for(rows, path):
    return [r for r in rows if Path(r["submission"]).resolve() == Path(path).resolve()]


def test_every_exercise_notebook_graded(graded):
    # the registry and the notebooks on disk name the same exercises
    assert IDS == sorted(p.stem for p in (EX / "solutions").glob("ex*.ipynb"))
    assert len(IDS) >= 6
    for ex in IDS:
        assert (EX / f"{ex}.ipynb").exists() and (EX / "solutions" / f"{ex}.ipynb").exists()
    # each exercise's student and solution notebook, plus the four made-up ones (ex03 calls the
    # reference, ex03 patched, ex05 uses the checks' helper, ex03 uses torch)
    assert len({r["submission"] for r in graded}) == 2 * len(IDS) + 4


@pytest.mark.parametrize("ex", IDS)
def test_solution_scores_full_marks(graded, ex):
    rows = rows_for(graded, EX / "solutions" / f"{ex}.ipynb")
    assert [r["question"] for r in rows] == [q.id for q in EXERCISES[ex]]
    assert all(r["status"] == "passed" for r in rows), [
        (r["question"], r["status"], r["message"][:300]) for r in rows]
    assert sum(float(r["points"]) for r in rows) == sum(q.points for q in EXERCISES[ex])


@pytest.mark.parametrize("ex", IDS)
def test_student_notebook_scores_zero_not_attempted(graded, ex):
    rows = rows_for(graded, EX / f"{ex}.ipynb")
    assert [r["question"] for r in rows] == [q.id for q in EXERCISES[ex]]
    assert all(r["status"] == "not_attempted" for r in rows), rows
    assert sum(float(r["points"]) for r in rows) == 0.0


def test_calling_the_reference_loses_the_question(graded):
    rows = {r["question"]: r for r in graded if r["submission"].endswith("_calls_reference.ipynb")}
    assert rows["q1"]["status"] == "failed" and float(rows["q1"]["points"]) == 0.0
    assert "backprop.layers.dense_backward" in rows["q1"]["message"]
    assert rows["q2"]["status"] == "passed"
    # the solution's two_layer_backward calls the notebook's dense_backward, which now calls the
    # reference: q3 forbids it too, so the call is caught through the learner's own helper
    assert rows["q3"]["status"] == "failed" and "backprop.layers.dense_backward" in rows["q3"]["message"]


def test_patching_run_question_in_the_kernel_does_not_travel(graded):
    rows = [r for r in graded if r["submission"].endswith("_patched.ipynb")]
    assert len(rows) == 3
    assert all(r["status"] == "not_attempted" and float(r["points"]) == 0.0 for r in rows), rows


def test_checks_module_reference_helper_is_disabled(graded):
    rows = {r["question"]: r for r in graded if r["submission"].endswith("_checks_helper.ipynb")}
    assert rows["q1"]["status"] == rows["q3"]["status"] == "passed"
    assert rows["q2"]["status"] == "failed" and float(rows["q2"]["points"]) == 0.0
    assert "reference_rel_error" in rows["q2"]["message"]


def test_numpy_only_exercise_refuses_torch(graded):
    rows = {r["question"]: r for r in graded if r["submission"].endswith("_torch.ipynb")}
    assert rows["q1"]["status"] == "passed"
    assert rows["q2"]["status"] == "error" and "NumPy only" in rows["q2"]["message"]
