"""ex14_capstone: right answers pass, each hinted mistake gets its hint, stubs are not
attempted, and the checks' references agree with the package and with PyTorch."""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop.batchnorm import batchnorm_forward
from backprop.dropout import dropout_backward as package_dropout_backward
from backprop.dropout import dropout_forward
from backprop.grade.checks import run_question
from backprop.grade.checks import ex14_capstone as ex14
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex14_capstone"
QS = ["q1", "q2", "q3"]
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- right answers, written out

def dropout_backward(dout, cache):
    mask, p = cache
    return dout * mask / (1 - p)


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps):
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta


CORRECT = {"dropout_backward": dropout_backward, "batchnorm_eval": batchnorm_eval,
           "q3_answer": 8}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_three_questions():
    assert_registered(EX, QS, 6, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_the_package_and_torch():
    for _, (dout, (mask, p)) in ex14.dropout_cases(np.random.default_rng(1)):
        x = np.random.default_rng(2).standard_normal(dout.shape)
        _, cache = dropout_forward(x, p, mask=mask)
        np.testing.assert_allclose(dropout_backward(dout, (mask, p)),
                                   package_dropout_backward(dout, cache), rtol=1e-15)
        assert 0 < mask.mean() < 1 and p != 0.5
    for _, (x, gamma, beta, mean, var, eps) in ex14.batchnorm_eval_cases(
            np.random.default_rng(3)):
        state = {"running_mean": mean, "running_var": var}
        ours, _, _ = batchnorm_forward(x, gamma, beta, state, train=False, eps=eps)
        theirs = F.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var),
                              torch.tensor(gamma), torch.tensor(beta), training=False,
                              eps=eps).numpy()
        np.testing.assert_allclose(batchnorm_eval(x, gamma, beta, mean, var, eps), ours,
                                   rtol=1e-13)
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_confusion_matrix_in_the_notebook_is_the_checks_one():
    """The exercise prints its own copy of the matrix; it must be the one q3 grades."""
    for path in (ROOT / "exercises" / f"{EX}.ipynb",
                 ROOT / "exercises" / "solutions" / f"{EX}.ipynb"):
        nb = nbformat.read(path, as_version=4)
        src = next(c.source for c in nb.cells if c.source.startswith("CONFUSION ="))
        ns = {"np": np}
        exec(src.split("print(")[0], ns)
        np.testing.assert_array_equal(ns["CONFUSION"], ex14.CONFUSION)
    cm = ex14.CONFUSION
    recall = np.diag(cm) / cm.sum(axis=1)
    # the three readings the hints tell apart are three different classes
    assert int(np.argmin(recall)) == 8
    assert int(np.argmax(cm.sum(axis=0) - np.diag(cm))) == 1
    assert int(np.argmin(np.diag(cm))) == 4


# ---------------------------------------------------------------- q1 mistakes

def fresh_mask(dout, cache):
    mask, p = cache
    new = np.random.default_rng(123).random(dout.shape) >= p
    return dout * new / (1 - p)


@pytest.mark.parametrize("fn, words", [
    (lambda dout, cache: dout * cache[0], ("divided by 1 - p too",)),
    (lambda dout, cache: dout * cache[0] / cache[1], ("not by p",)),
    (lambda dout, cache: dout * cache[0] * cache[1], ("not by p",)),
    (lambda dout, cache: dout * cache[0] * (1 - cache[1]), ("do not multiply",)),
    (lambda dout, cache: dout * ~cache[0] / (1 - cache[1]), ("True in the mask means kept",)),
    (lambda dout, cache: dout / (1 - cache[1]), ("multiply by the mask too",)),
    (fresh_mask, ("the forward's mask", "new draw")),
])
def test_q1_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q1", dropout_backward=fn), *words)


def test_q1_fresh_mask_hint_has_a_stable_id():
    res = run_with("q1", dropout_backward=fresh_mask)
    assert {c.hint_id for c in res.cases if not c.passed} == {"fresh-mask"}


def test_q1_unrelated_wrong_answer_gets_no_mask_hint():
    res = run_with("q1", dropout_backward=lambda dout, cache: dout + 1.0)
    assert res.status == "failed"
    assert all("mask" not in c.hint for c in res.cases)


# ---------------------------------------------------------------- q2 mistakes

def bn(kind):
    def fn(x, gamma, beta, mean, var, eps):
        if kind == "batch":
            mean, var = x.mean(axis=0), x.var(axis=0)
        if kind == "no_eps":
            return gamma * (x - mean) / np.sqrt(var) + beta
        if kind == "variance":
            return gamma * (x - mean) / (var + eps) + beta
        if kind == "eps_outside":
            return gamma * (x - mean) / (np.sqrt(var) + eps) + beta
        if kind == "no_affine":
            return (x - mean) / np.sqrt(var + eps)
        return gamma * (x - mean) / np.sqrt(var + eps) + beta
    return fn


@pytest.mark.parametrize("kind, words", [
    ("batch", ("running statistics",)),
    ("no_eps", ("add eps",)),
    ("variance", ("standard deviation",)),
    ("eps_outside", ("under the square root",)),
    ("no_affine", ("gamma", "beta")),
])
def test_q2_mistakes_get_their_hint(kind, words):
    assert_hint(run_with("q2", batchnorm_eval=bn(kind)), *words)


# ---------------------------------------------------------------- q3

@pytest.mark.parametrize("answer, words", [
    (1, ("column",)),
    (4, ("shares, not counts",)),
])
def test_q3_mistakes_get_their_hint(answer, words):
    assert_hint(run_with("q3", q3_answer=answer), *words)


@pytest.mark.parametrize("answer", [3, "8", 8.5, True])
def test_q3_other_answers_fail(answer):
    assert run_with("q3", q3_answer=answer).status == "failed"


def test_q3_accepts_a_numpy_integer():
    assert run_with("q3", q3_answer=np.int64(8)).status == "passed"
