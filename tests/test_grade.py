"""The batch grader against a corpus of broken and hostile submissions.

One real run of ``python -m backprop.grade`` (real kernels, ``--jobs 2``)
over the whole corpus, shared by the tests through a module-scoped fixture.
The corpus (``tests/submissions/build_corpus.py``) targets the grader's own
three-question registry ``backprop.grade.demo``, so these tests do not
depend on the book's exercises. Expected statuses are written by hand in
the corpus from what each submission does, not copied from a run.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import backprop.grade.demo as demo
from backprop.grade import cli as grade
from backprop.grade.kernel import defined_names, is_check_cell

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "tests" / "submissions" / "build_corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

DEMO = "backprop.grade.demo"
# short limits so the hostile cases cost seconds; generous next to what a correct cell needs (< 1 s)
FAST = ["--cell-timeout", "6", "--question-timeout", "6", "--timeout", "60"]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "backprop.grade", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(completed process, csv header, rows, corpus dir): one graded run of the whole corpus."""
    d = tmp_path_factory.mktemp("corpus")
    corpus.build(str(d / "subs"))
    out = d / "grades.csv"
    proc = run_cli("subs", "--csv", str(out), "--jobs", "2", "--checks-module", DEMO, *FAST, cwd=d)
    assert out.exists(), proc.stderr
    with open(out, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    return proc, header, rows, d


def rows_for(rows, name):
    return [r for r in rows if os.path.basename(r["submission"]) == name]


def test_exit_code_zero_and_summary(graded):
    proc, _, _, _ = graded
    assert proc.returncode == 0, proc.stderr
    for name in corpus.EXPECTED:
        assert name in proc.stdout
    assert f"{len(corpus.EXPECTED)} submissions" in proc.stdout


def test_csv_columns_exact(graded):
    _, header, rows, _ = graded
    assert header == ["submission", "exercise", "question", "points", "max_points", "status", "message", "hints"]
    assert all(r["status"] in grade.STATUSES for r in rows)


def test_every_input_in_csv_and_checkpoints_skipped(graded):
    _, _, rows, _ = graded
    names = {os.path.basename(r["submission"]) for r in rows}
    assert names == set(corpus.EXPECTED)
    assert len(names) >= 24  # the brief's batch: at least 24 submissions graded with --jobs 2
    assert not any(".ipynb_checkpoints" in r["submission"] for r in rows)


def test_rows_sorted_by_submission_then_question(graded):
    _, _, rows, _ = graded
    keys = [(r["submission"], r["question"]) for r in rows]
    assert keys == sorted(keys)  # q1 < q2 < q3 is also the registry order
    assert [r["question"] for r in rows_for(rows, "correct.ipynb")] == ["q1", "q2", "q3"]


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED))
def test_status_of_each_submission(graded, name):
    _, _, rows, _ = graded
    got = {r["question"] or "*": r["status"] for r in rows_for(rows, name)}
    assert got == corpus.EXPECTED[name], rows_for(rows, name)
    for r in rows_for(rows, name):
        assert r["message"].strip()
        # all-or-nothing scoring in the demo registry: points only for a pass
        assert float(r["points"]) == (float(r["max_points"]) if r["status"] == "passed" else 0.0)


def test_correct_submission_full_marks(graded):
    _, _, rows, _ = graded
    for name in ("correct.ipynb", "demo_dense_alice.ipynb"):
        rs = rows_for(rows, name)
        assert sum(float(r["points"]) for r in rs) == 6.0
        assert {r["exercise"] for r in rs} == {"demo_dense"}


def test_messages_say_what_happened(graded):
    _, _, rows, _ = graded

    def msg(name, q):
        return next(r["message"] for r in rows_for(rows, name) if r["question"] == q)

    assert "reference implementation" in msg("forbidden.ipynb", "q2")
    assert "ref_dense_backward" in msg("forbidden_alias.ipynb", "q2")
    assert "timed out" in msg("loop_top_level.ipynb", "q2")
    assert "timed out" in msg("loop_uninterruptible.ipynb", "q3")
    assert "did not finish" in msg("loop_in_answer.ipynb", "q1")
    assert "kernel died" in msg("kernel_exit.ipynb", "q2")
    assert "died" in msg("exit_in_answer.ipynb", "q2")
    assert "SyntaxError" in msg("syntax_error.ipynb", "q1")
    assert "nan" in msg("nan.ipynb", "q1").lower()
    assert "shape" in msg("wrong_shape.ipynb", "q2")
    assert "RecursionError" in msg("recursion.ipynb", "q1")
    assert "generator" in msg("unpicklable.ipynb", "q3")
    assert "demo_dense" in msg("homework.ipynb", "")  # names the exercise ids it expected
    assert "JSON" in msg("corrupt.ipynb", "")
    assert "empty" in msg("empty.ipynb", "")


def test_fake_and_monkeypatched_submissions_score_zero(graded):
    _, _, rows, _ = graded
    for name in ("fake_outputs.ipynb", "monkeypatch_kernel.ipynb", "stub.ipynb"):
        assert sum(float(r["points"]) for r in rows_for(rows, name)) == 0.0


def test_broken_question_does_not_sink_the_others(graded):
    _, _, rows, _ = graded
    for name in ("loop_top_level.ipynb", "kernel_exit.ipynb", "loop_uninterruptible.ipynb", "exit_in_answer.ipynb",
                 "syntax_error.ipynb", "loop_in_answer.ipynb"):
        assert sum(r["status"] == "passed" for r in rows_for(rows, name)) == 2


@pytest.mark.parametrize("args, needle", [
    ([], "required"),                                   # argparse: PATH and --csv missing
    (["does/not/exist.ipynb", "--csv", "o.csv"], "no such file"),
    (["empty_dir", "--csv", "o.csv"], "no .ipynb"),
    (["empty_dir", "--csv", "o.csv", "--jobs", "0"], "--jobs"),
    (["x.ipynb", "--csv", "o.csv", "--checks-module", "no_such_module_xyz"], "checks module"),
])
def test_usage_errors_exit_2(tmp_path, args, needle):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "x.ipynb").write_text("{}")
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_identify(tmp_path):
    ex = {"ex03_backward_pass": (), "ex03_backward": ()}
    nb = '{"cells": [], "metadata": %s, "nbformat": 4, "nbformat_minor": 5}'
    (tmp_path / "ex03_backward_pass_bob.ipynb").write_text(nb % "{}")
    (tmp_path / "meta.ipynb").write_text(nb % '{"backprop": {"exercise": "ex03_backward"}}')
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    assert grade.identify(str(tmp_path / "ex03_backward_pass_bob.ipynb"), ex) == ("ex03_backward_pass", "")
    assert grade.identify(str(tmp_path / "meta.ipynb"), ex) == ("ex03_backward", "")
    got, why = grade.identify(str(tmp_path / "list.ipynb"), ex)
    assert got is None and "not a notebook" in why
    # The id anywhere in the name, as an LMS download names files; the longest id wins.
    (tmp_path / "alice_ex03_backward_pass.ipynb").write_text(nb % "{}")
    assert grade.identify(str(tmp_path / "alice_ex03_backward_pass.ipynb"), ex) == ("ex03_backward_pass", "")
    (tmp_path / "notes.ipynb").write_text(nb % "{}")
    got, why = grade.identify(str(tmp_path / "notes.ipynb"), ex)
    assert got is None and "file name containing one of" in why


def test_broken_file_named_for_an_exercise_gets_its_question_rows(tmp_path):
    """A corrupt submission whose name says its exercise shows up on every question row."""
    named = tmp_path / "carol_demo_dense.ipynb"
    named.write_text("{not json")
    rows = grade.grade_one(str(named), demo.EXERCISES, DEMO, 10, 5, 5)
    assert [(r["exercise"], r["question"], r["status"]) for r in rows] == [
        ("demo_dense", "q1", "invalid"), ("demo_dense", "q2", "invalid"), ("demo_dense", "q3", "invalid")]
    assert all(r["points"] == 0.0 and "invalid JSON" in r["message"] for r in rows)
    assert [r["max_points"] for r in rows] == [2.0, 3.0, 1.0]
    anonymous = tmp_path / "carol.ipynb"
    anonymous.write_text("{not json")
    rows = grade.grade_one(str(anonymous), demo.EXERCISES, DEMO, 10, 5, 5)
    assert [(r["exercise"], r["question"], r["status"]) for r in rows] == [("", "", "invalid")]


def test_check_cells_and_definitions_are_recognised():
    assert is_check_cell('check("ex03_backward_pass", "q2", globals())')
    assert is_check_cell("from backprop.grade import checks\nchecks.check('ex01_forward_pass', 'q1', globals())")
    assert is_check_cell("q1_result = check('ex03_backward_pass', 'q1', globals())")
    assert is_check_cell("from backprop.grade.demo import run_question\nprint(run_question('d', 'q1', globals()))")
    assert not is_check_cell("def dense_forward(x, W, b):\n    return x @ W + b")
    # defines an answer too: run (with the kernel's check muted), not skipped
    assert not is_check_cell("def f(x):\n    return x\ncheck('ex03_backward_pass', 'q1', globals())")
    assert defined_names("import numpy as np\ndef f(x):\n    y = 1\nW, b = 1, 2\nclass K: pass") == \
        {"np", "f", "W", "b", "K"}
    assert defined_names("def f(x)\n    return x\nn = 3") == {"f", "n"}  # syntax error: regex fallback


def test_demo_reference_matches_torch():
    """The corpus's 'correct' answers are judged by these references: check them against autograd."""
    import torch
    from backprop.grade.demo import ref_dense_backward, ref_dense_forward
    rng = np.random.default_rng(3)
    x, W, b, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 2))
    tx, tW, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, W, b))
    out = tx @ tW + tb
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(ref_dense_forward(x, W, b), out.detach().numpy(), rtol=1e-12)
    for got, t in zip(ref_dense_backward(dout, x, W), (tx, tW, tb)):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12)


def test_grader_crash_is_reported_for_that_submission(tmp_path, monkeypatch):
    """If the per-submission grading process fails, the submission still gets its rows, as errors."""
    path = tmp_path / "correct.ipynb"
    nbformat.write(corpus.nb(corpus.Q1, corpus.Q2, corpus.Q3), path)
    monkeypatch.setattr(grade.sys, "executable", "/bin/false")  # the runner "crashes" with exit code 1
    rows = grade.grade_one(str(path), demo.EXERCISES, DEMO, 10, 5, 5)
    assert [r["question"] for r in rows] == ["q1", "q2", "q3"]
    assert all(r["status"] == "error" and r["points"] == 0.0 for r in rows)
    assert "exit code 1" in rows[0]["message"]
