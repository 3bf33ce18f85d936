"""The batch grader against a corpus of broken and hostile submissions.

One real run of ``python -m backprop.grade`` (real kernels in real bubblewrap
sandboxes, ``--jobs 2``, ``--report``) over the whole corpus, shared by the
tests through a module-scoped fixture, inside a process that is a child
subreaper, so that every process a kernel leaves behind (``setsid`` or not)
is found afterwards. The corpus (``tests/submissions/build_corpus.py``)
targets the grader's own three-question registry ``backprop.grade.demo``, so
these tests do not depend on the book's exercises. Expected statuses are
written by hand in the corpus from what each submission does, not copied
from a run.

Without bubblewrap these tests skip with the reason, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import backprop.grade.demo as demo
from backprop.grade import cli as grade
from backprop.grade import plain
from backprop.grade.kernel import defined_names, is_check_cell
from sandbox_required import require_sandbox

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "tests" / "submissions" / "build_corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

DEMO = "backprop.grade.demo"
# short limits so the hostile cases cost seconds; generous next to what a correct cell needs (< 1 s)
FAST = ["--cell-timeout", "6", "--question-timeout", "6", "--timeout", "60"]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "backprop.grade", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=900, errors="backslashreplace")


# Runs the grader as a child subreaper: orphans (setsid daemons, double forks) are re-parented to
# this wrapper instead of init, so after the grader exits, every survivor is one of its children.
SUBREAPER = """
import ctypes, json, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
code = subprocess.call(sys.argv[1:], stdout=open('grader.out', 'w'), stderr=open('grader.err', 'w'))
time.sleep(3.0)  # the window in which a daemon would do its damage (the attacker's waits 2 s)
while True:  # reap the orphans that have already exited (zombies are dead, not survivors)
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break

def children(pid):
    out = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                stat = open(f'/proc/{p}/stat').read()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                out.append(int(p))
    return out

seen, todo, left = set(), children(os.getpid()), []
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    try:
        state = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]
        cmd = open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode(errors='replace')
        left.append(f'{p} [{state}] {cmd}')
    except OSError:
        pass
    todo += children(p)
json.dump({'code': code, 'survivors': left}, open('survivors.json', 'w'))
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(completed process, csv header, rows, corpus dir, survivors): one graded run of the whole corpus."""
    require_sandbox()
    d = tmp_path_factory.mktemp("corpus")
    out = d / "grades.csv"
    corpus.build(str(d / "subs"), csv_path=str(out))
    victim = (d / "subs" / "z_victim.ipynb").read_bytes()
    cmd = [sys.executable, "-m", "backprop.grade", "subs", "--csv", str(out), "--jobs", "2",
           "--report", "report.html", "--checks-module", DEMO, *FAST]
    subprocess.run([sys.executable, "-c", SUBREAPER, *cmd], cwd=d, timeout=900, check=True)
    result = json.loads((d / "survivors.json").read_text())
    proc = subprocess.CompletedProcess(cmd, result["code"], (d / "grader.out").read_text(errors="backslashreplace"),
                                       (d / "grader.err").read_text(errors="backslashreplace"))
    assert out.exists(), proc.stderr
    with open(out, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return proc, header, rows, d, dict(result, victim=victim)


def esc(name):
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def rows_for(rows, name):
    return [r for r in rows if os.path.basename(r["submission"]) == esc(name)]


def test_exit_code_zero_and_summary(graded):
    proc, _, _, _, _ = graded
    assert proc.returncode == 0, proc.stderr
    for name in corpus.EXPECTED:
        assert esc(name) in proc.stdout
    assert f"{len(corpus.EXPECTED)} submissions" in proc.stdout


def test_csv_columns_exact(graded):
    _, header, rows, _, _ = graded
    assert header == ["submission", "exercise", "question", "points", "max_points", "status", "message", "hints"]
    assert all(r["status"] in grade.STATUSES for r in rows)


def test_every_input_in_csv_and_checkpoints_skipped(graded):
    _, _, rows, _, _ = graded
    names = {os.path.basename(r["submission"]) for r in rows}
    assert names == {esc(n) for n in corpus.EXPECTED}
    assert len(names) >= 24  # the brief's batch: at least 24 submissions graded with --jobs 2
    assert not any(".ipynb_checkpoints" in r["submission"] for r in rows)


def test_rows_sorted_by_submission_then_question(graded):
    _, _, rows, _, _ = graded
    keys = [(r["submission"], r["question"]) for r in rows]
    assert keys == sorted(keys)  # q1 < q2 < q3 is also the registry order
    assert [r["question"] for r in rows_for(rows, "correct.ipynb")] == ["q1", "q2", "q3"]


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED), ids=ascii)
def test_status_and_points_of_each_submission(graded, name):
    _, _, rows, _, _ = graded
    got = {r["question"] or "*": r["status"] for r in rows_for(rows, name)}
    assert got == corpus.EXPECTED[name], rows_for(rows, name)
    maxp = {"q1": 2.0, "q2": 3.0, "q3": 1.0}
    for r in rows_for(rows, name):
        assert r["message"].strip()
        # all-or-nothing scoring in the demo registry: points only for a pass
        assert float(r["points"]) == (float(r["max_points"]) if r["status"] == "passed" else 0.0)
        if r["question"]:
            assert float(r["max_points"]) == maxp[r["question"]]


def test_correct_submission_full_marks(graded):
    _, _, rows, _, _ = graded
    for name in ("correct.ipynb", "demo_dense_alice.ipynb", "z_victim.ipynb", corpus.BAD_NAME):
        rs = rows_for(rows, name)
        assert sum(float(r["points"]) for r in rs) == 6.0, rs
        assert {r["exercise"] for r in rs} == {"demo_dense"}


def test_messages_say_what_happened(graded):
    _, _, rows, _, _ = graded

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
    # class 1: what came back is plain data, named by the learner's type
    assert "Liar" in msg("lying_objects.ipynb", "q1") and "Liar" in msg("lying_objects.ipynb", "q3")
    assert "read back" in msg("forge_result_channel.ipynb", "q3")
    # class 2: every route reaches the disabled function, which says what it is
    for name in ("ref_wrapped", "ref_code_copy", "ref_compiled_in_package", "ref_reload", "ref_source_text"):
        m = msg(f"{name}.ipynb", "q2")
        assert "reference implementation" in m and "ref_dense_backward" in m, (name, m)
    # class 5
    assert "\\udc80" in msg("surrogate_message.ipynb", "q1")  # escaped, not lost
    assert "named pipe" in msg("pipe.ipynb", "")
    assert "folder" in msg("folder.ipynb", "")
    assert "symbolic link" in msg("demo_dense_link.ipynb", "q1")
    assert "nested too deeply" in msg("demo_dense_deep_json.ipynb", "q2")
    assert "nested" in msg("deep_answer.ipynb", "q3")
    # class 6
    assert "NumPy only" in msg("torch_in_numpy_only.ipynb", "q2")
    assert "FileNotFoundError" in msg("open_solutions.ipynb", "q1")
    assert "MemoryError" in msg("memory_hog.ipynb", "q3")


def test_fake_and_monkeypatched_submissions_score_zero(graded):
    _, _, rows, _, _ = graded
    for name in ("fake_outputs.ipynb", "monkeypatch_kernel.ipynb", "stub.ipynb"):
        assert sum(float(r["points"]) for r in rows_for(rows, name)) == 0.0


def test_broken_question_does_not_sink_the_others(graded):
    _, _, rows, _, _ = graded
    for name in ("loop_top_level.ipynb", "kernel_exit.ipynb", "loop_uninterruptible.ipynb", "exit_in_answer.ipynb",
                 "syntax_error.ipynb", "loop_in_answer.ipynb", "memory_hog.ipynb", "torch_in_numpy_only.ipynb"):
        assert sum(r["status"] == "passed" for r in rows_for(rows, name)) == 2


def test_victim_graded_with_the_attacker_is_untouched(graded):
    _, _, rows, d, result = graded
    assert (d / "subs" / "z_victim.ipynb").read_bytes() == result["victim"]
    assert {r["status"] for r in rows_for(rows, "z_victim.ipynb")} == {"passed"}
    # n_params = 7 means the attacker could read none of: the victim, the CSV, the solutions
    attacker = {r["question"]: r for r in rows_for(rows, "a_attacker.ipynb")}
    assert "got 7" in attacker["q3"]["message"], attacker["q3"]
    csv_path = d / "grades.csv"
    assert not csv_path.is_symlink() and csv_path.read_text(encoding="utf-8").startswith("submission,")
    assert not any(p.name.startswith(".grades-") for p in d.iterdir())  # no temporary file left


def test_no_process_survives_the_batch(graded):
    _, _, rows, _, result = graded
    # the attacker had both of its daemons running (n_params = 7 says so) ...
    assert "got 7" in next(r["message"] for r in rows_for(rows, "a_attacker.ipynb") if r["question"] == "q3")
    # ... and none of the grader's descendants is left, orphans included (the wrapper is their subreaper)
    assert result["survivors"] == []
    marked = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and corpus.MARKER.encode() in Path(f"/proc/{p}/cmdline").read_bytes():
                marked.append(p)
        except OSError:
            pass
    assert marked == []


def test_report_counts_mistakes_and_lists_errors(graded):
    _, _, rows, d, _ = graded
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Score distribution" in page and "Pass rate per question" in page
    n = len({r["submission"] for r in rows if r["exercise"] == "demo_dense"})
    # the wrong_shape submission's transposed dW is a recognised mistake, counted once
    hinted = [r for r in rows if "transposed:dW" in (r["hints"] or "")]
    assert len(hinted) >= 1 and f"{len(hinted)}/{n}" in page
    assert "your dW is transposed" in page
    assert "loop_in_answer.ipynb" in page and "did not finish" in page


def test_hints_column_is_json_of_ids(graded):
    _, _, rows, _, _ = graded
    r = next(r for r in rows_for(rows, "wrong_shape.ipynb") if r["question"] == "q2")
    assert json.loads(r["hints"]) == {"transposed:dW": "your dW is transposed"}
    assert all(not r["hints"] for r in rows_for(rows, "correct.ipynb"))


def test_resume_grades_only_what_is_missing(tmp_path):
    require_sandbox()
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a.ipynb", "b.ipynb", "c.ipynb"):
        nbformat.write(corpus.nb(corpus.Q1, corpus.Q2, corpus.Q3), subs / name)
    out = tmp_path / "grades.csv"
    proc = run_cli(str(subs / "a.ipynb"), "--csv", str(out), "--checks-module", DEMO, *FAST)
    assert proc.returncode == 0, proc.stderr
    before = out.read_text()
    # mark a's rows so that re-grading it would show: resume must keep them as they are
    out.write_text(before.replace("all 2 cases passed", "KEPT FROM THE FIRST RUN"))
    proc = run_cli(str(subs), "--csv", str(out), "--resume", "--checks-module", DEMO, *FAST)
    assert proc.returncode == 0, proc.stderr
    assert "graded 2 submissions" in proc.stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted({os.path.basename(r["submission"]) for r in rows}) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert len(rows) == 9
    assert sum("KEPT FROM THE FIRST RUN" in r["message"] for r in rows) == 2  # a's q1 and q2


def test_csv_replaces_a_link_instead_of_writing_through_it(tmp_path):
    require_sandbox()
    target = tmp_path / "precious.txt"
    target.write_text("do not overwrite")
    link = tmp_path / "grades.csv"
    link.symlink_to(target)
    nbformat.write(corpus.nb(corpus.Q1, corpus.Q2, corpus.Q3), tmp_path / "a.ipynb")
    proc = run_cli(str(tmp_path / "a.ipynb"), "--csv", str(link), "--checks-module", DEMO, *FAST)
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == "do not overwrite"
    assert not link.is_symlink() and link.read_text().startswith("submission,")


def test_refuses_without_bubblewrap(tmp_path):
    """No sandbox, no grading: exit 2 and the message names the fix."""
    nbformat.write(corpus.nb(corpus.Q1, corpus.Q2, corpus.Q3), tmp_path / "a.ipynb")
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    proc = subprocess.run([sys.executable, "-m", "backprop.grade", "a.ipynb", "--csv", "o.csv",
                           "--checks-module", DEMO], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    assert "apt-get install bubblewrap" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


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
    assert grade.identify((nb % "{}").encode(), "ex03_backward_pass_bob.ipynb", ex) == ("ex03_backward_pass", "")
    meta = nb % '{"backprop": {"exercise": "ex03_backward"}}'
    assert grade.identify(meta.encode(), "meta.ipynb", ex) == ("ex03_backward", "")
    got, why = grade.identify(b"[1, 2]", "list.ipynb", ex)
    assert got is None and "not a notebook" in why
    # The id anywhere in the name, as an LMS download names files; the longest id wins.
    assert grade.identify((nb % "{}").encode(), "alice_ex03_backward_pass.ipynb", ex) == ("ex03_backward_pass", "")
    got, why = grade.identify((nb % "{}").encode(), "notes.ipynb", ex)
    assert got is None and "file name containing one of" in why
    # a metadata id that is not a string falls back to the file name
    for bad in ("42", "[1]", "{}", "null", "true"):
        m = nb % ('{"backprop": {"exercise": %s}}' % bad)
        assert grade.identify(m.encode(), "x_ex03_backward_pass.ipynb", ex) == ("ex03_backward_pass", "")
    deep = b'{"cells": [], "nbformat": 4, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    got, why = grade.identify(deep, "ex03_backward_pass.ipynb", ex)
    assert got is None and "nested too deeply" in why


def test_snapshot_refuses_what_is_not_a_regular_file(tmp_path):
    (tmp_path / "ok.ipynb").write_bytes(b"{}")
    os.mkfifo(tmp_path / "fifo.ipynb")
    (tmp_path / "dir.ipynb").mkdir()
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "ok.ipynb")
    assert grade.snapshot(str(tmp_path / "ok.ipynb")) == (b"{}", "")
    for name, word in (("fifo.ipynb", "FIFO"), ("dir.ipynb", "folder"), ("link.ipynb", "link")):
        raw, why = grade.snapshot(str(tmp_path / name))  # returns at once: a FIFO is never opened
        assert raw is None and word in why
    found = grade.discover([str(tmp_path)])
    assert sorted(os.path.basename(f) for f in found) == ["dir.ipynb", "fifo.ipynb", "link.ipynb", "ok.ipynb"]


def test_csv_writer_escapes_what_utf8_cannot_hold(tmp_path):
    bad = os.fsdecode(b"sub_\xff.ipynb")
    rows = [dict(submission=bad, exercise="e", question="q1", points=1.0, max_points=1.0, status="passed",
                 message="lone \udc80 surrogate", hints={"h": "a hint \ud800"}),
            dict(submission="z.ipynb", exercise="e", question="q1", points=0.0, max_points=1.0, status="failed",
                 message="after", hints={})]
    out = tmp_path / "g.csv"
    grade.write_csv(rows, str(out))
    back = grade.read_csv(str(out))
    assert [r["submission"] for r in back] == ["sub_\\udcff.ipynb", "z.ipynb"]
    assert back[0]["message"] == "lone \\udc80 surrogate" and back[1]["message"] == "after"
    assert back[0]["hints"] == {"h": "a hint \ud800"}  # JSON reads the escape back as the code point


def test_plain_data_reader_refuses_links_and_pickles(tmp_path):
    good = tmp_path / "good"
    plain.write({"x": (np.arange(3.0), "s", 1, None, [True])}, str(good))
    assert plain.read(str(tmp_path), "good")["x"][1:] == ("s", 1, None, [True])
    (tmp_path / "link").symlink_to(good)
    with pytest.raises(plain.PlainError):
        plain.read(str(tmp_path), "link")
    evil = tmp_path / "evil"
    evil.mkdir()
    np.save(evil / "a0.npy", np.array([object()], dtype=object), allow_pickle=True)
    (evil / "data.json").write_text('{"a": "a0.npy"}')
    assert isinstance(plain.read(str(tmp_path), "evil"), plain.Opaque)  # never unpickled
    (evil / "data.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(plain.PlainError):
        plain.read(str(tmp_path), "evil")
    os.unlink(evil / "data.json")
    os.mkfifo(evil / "data.json")
    with pytest.raises(plain.PlainError):  # a FIFO is not read (this would hang otherwise)
        plain.read(str(tmp_path), "evil")


def test_broken_file_named_for_an_exercise_gets_its_question_rows(tmp_path):
    """A corrupt submission whose name says its exercise shows up on every question row."""
    kw = dict(seed=1, views={}, workdir=str(tmp_path), timeout=10, cell_timeout=5, question_timeout=5,
              memory_mb=2048)
    rows = grade.grade_one("carol_demo_dense.ipynb", (b"{not json", ""), demo.EXERCISES, DEMO, **kw)
    assert [(r["exercise"], r["question"], r["status"]) for r in rows] == [
        ("demo_dense", "q1", "invalid"), ("demo_dense", "q2", "invalid"), ("demo_dense", "q3", "invalid")]
    assert all(r["points"] == 0.0 and "invalid JSON" in r["message"] for r in rows)
    assert [r["max_points"] for r in rows] == [2.0, 3.0, 1.0]
    rows = grade.grade_one("carol.ipynb", (b"{not json", ""), demo.EXERCISES, DEMO, **kw)
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


def test_grader_crash_is_reported_for_that_submission(tmp_path):
    """If the per-submission grading process fails, the submission still gets its rows, as errors."""
    raw = nbformat.writes(corpus.nb(corpus.Q1, corpus.Q2, corpus.Q3)).encode()
    # an empty sandbox view makes the runner crash (KeyError, exit code 1) before any kernel starts
    rows = grade.grade_one("correct.ipynb", (raw, ""), demo.EXERCISES, DEMO, seed=1, views={"demo_dense": {}},
                           workdir=str(tmp_path), timeout=10, cell_timeout=5, question_timeout=5, memory_mb=2048)
    assert [r["question"] for r in rows] == ["q1", "q2", "q3"]
    assert all(r["status"] == "error" and r["points"] == 0.0 for r in rows)
    assert "exit code 1" in rows[0]["message"] and "KeyError" in rows[0]["message"]


def test_lookup_table_passes_the_notebook_check_but_not_the_grader():
    """The corpus's lookup table is right on the notebook's inputs: only the grader's secret seed beats it."""
    src = corpus.cases()["lookup_table.ipynb"][0].cells[2].source
    ns = {"np": np}
    exec(src, ns)
    assert demo.run_question("demo_dense", "q1", ns).status == "passed"
    from backprop.grade.checks import core
    res = core.run_question("demo_dense", "q1", ns, seed=[12345, 0], registry=demo.EXERCISES)  # another seed
    assert res.status == "failed"
