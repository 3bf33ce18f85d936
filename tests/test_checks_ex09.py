"""ex09_batch_normalisation: right answers pass, each hinted mistake gets its hint, stubs
are not attempted, and the checks' references agree with PyTorch in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop.grade.checks import EXERCISES, run_question
from backprop.grade.checks import ex09_batch_normalisation as ex09
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex09_batch_normalisation"
QS = ["q1", "q2", "q3", "q4"]


# ---------------------------------------------------------------- right answers, via torch

def batchnorm_backward_torch(dout, x, gamma, eps=1e-5):
    t = {k: torch.tensor(v, requires_grad=True)
         for k, v in (("x", x), ("gamma", gamma), ("beta", np.zeros_like(gamma)))}
    out = F.batch_norm(t["x"], None, None, t["gamma"], t["beta"], training=True, eps=eps)
    (out * torch.tensor(dout)).sum().backward()
    return t["x"].grad.numpy(), t["gamma"].grad.numpy(), t["beta"].grad.numpy()


def update_running_stats_torch(running_mean, running_var, x, momentum):
    rm, rv = torch.tensor(running_mean), torch.tensor(running_var)   # copies
    F.batch_norm(torch.tensor(x), rm, rv, training=True, momentum=momentum)
    return rm.numpy(), rv.numpy()


def batchnorm_eval_forward_torch(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return F.batch_norm(torch.tensor(x), torch.tensor(running_mean),
                        torch.tensor(running_var), torch.tensor(gamma), torch.tensor(beta),
                        training=False, eps=eps).numpy()


CORRECT = {"batchnorm_backward": batchnorm_backward_torch,
           "update_running_stats": update_running_stats_torch,
           "batchnorm_eval_forward": batchnorm_eval_forward_torch, "q4_answer": "a"}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_four_questions():
    assert_registered(EX, QS, 9, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_torch():
    for _, (dout, x, gamma, eps) in ex09.backward_cases(np.random.default_rng(9)):
        w = ex09.reference_backward_variants(dout, x, gamma, eps)
        for mine, theirs in zip((w["dx"], w["dgamma"], w["dbeta"]),
                                batchnorm_backward_torch(dout, x, gamma, eps)):
            np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- q1 mistakes

def _stats(x, eps, ddof=0):
    xc = x - x.mean(axis=0)
    s = 1 / np.sqrt(np.sum(xc**2, axis=0) / (x.shape[0] - ddof) + eps)
    return xc * s, s


def make_backward(variant):
    """A learner's backward with one mistake in it."""
    def backward(dout, x, gamma, eps=1e-5):
        n = x.shape[0]
        xhat, s = _stats(x, eps, ddof=1 if variant.startswith("unbiased") else 0)
        g = dout * (1.0 if variant == "no_gamma" else gamma)
        mean_term = 0 if variant == "no_mean" or variant == "constants" else g.sum(axis=0)
        var_term = 0 if variant == "no_var" or variant == "constants" else \
            xhat * np.sum(g * xhat, axis=0)
        dx = s / n * (n * g - mean_term - var_term)
        if variant == "unbiased_exact":
            dx = s * (g - g.mean(axis=0) - xhat * np.sum(g * xhat, axis=0) / (n - 1))
        dgamma = np.sum(dout * xhat, axis=0)
        if variant == "dgamma_x":
            dgamma = np.sum(dout * x, axis=0)
        if variant == "dgamma_mean":
            dgamma = np.mean(dout * xhat, axis=0)
        return dx, dgamma, dout.sum(axis=0)
    return backward


@pytest.mark.parametrize("variant, words", [
    ("no_mean", ["through the mean"]),
    ("no_var", ["through the variance"]),
    ("constants", ["as constants"]),
    ("no_gamma", ["dout * gamma"]),
    ("unbiased", ["biased variance"]),
    ("unbiased_exact", ["biased variance"]),
    ("dgamma_x", ["normalised xhat"]),
    ("dgamma_mean", ["times too small"]),
])
def test_q1_mistakes_get_their_hint(variant, words):
    assert_hint(run_with("q1", batchnorm_backward=make_backward(variant)), *words)


def test_q1_the_three_dx_mistakes_are_told_apart():
    """Each dx hint fires for its own mistake only."""
    texts = {v: run_with("q1", batchnorm_backward=make_backward(v)).text()
             for v in ("no_mean", "no_var", "constants")}
    assert "through the variance" not in texts["no_mean"]
    assert "through the mean" not in texts["no_var"]
    assert "through the" not in texts["constants"]


def test_q1_wrong_return_shape_fails_cleanly():
    res = run_with("q1", batchnorm_backward=lambda dout, x, gamma, eps=1e-5: dout)
    assert res.status == "failed" and "must return a tuple" in res.text()


# ---------------------------------------------------------------- q2, q3, q4 mistakes

def test_q2_mistakes():
    def biased(rm, rv, x, m):
        return (1 - m) * rm + m * x.mean(axis=0), (1 - m) * rv + m * x.var(axis=0)
    assert_hint(run_with("q2", update_running_stats=biased), "unbiased")

    def swapped(rm, rv, x, m):
        return m * rm + (1 - m) * x.mean(axis=0), m * rv + (1 - m) * x.var(axis=0, ddof=1)
    assert_hint(run_with("q2", update_running_stats=swapped), "NEW batch")

    def in_place(rm, rv, x, m):
        rm *= 1 - m
        rm += m * x.mean(axis=0)
        rv *= 1 - m
        rv += m * x.var(axis=0, ddof=1)
        return rm, rv
    assert_hint(run_with("q2", update_running_stats=in_place), "new arrays")


def test_q3_mistakes():
    def batch_stats(x, gamma, beta, rm, rv, eps=1e-5):
        return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
    res = run_with("q3", batchnorm_eval_forward=batch_stats)
    assert_hint(res, "running statistics")
    assert not any("N=1" in c.name and c.passed for c in res.cases)   # N = 1 is caught too

    def no_eps(x, gamma, beta, rm, rv, eps=1e-5):
        return gamma * (x - rm) / np.sqrt(rv) + beta
    assert_hint(run_with("q3", batchnorm_eval_forward=no_eps), "add eps")

    def no_sqrt(x, gamma, beta, rm, rv, eps=1e-5):
        return gamma * (x - rm) / (rv + eps) + beta
    assert_hint(run_with("q3", batchnorm_eval_forward=no_sqrt), "standard deviation")


@pytest.mark.parametrize("choice, words", [("b", "sqrt(eps)"), ("c", "evaluation mode"),
                                           ("d", "mu = x")])
def test_q4_wrong_choices_get_their_hint(choice, words):
    assert_hint(run_with("q4", q4_answer=choice), words)


def test_garbage_fails_or_errors_and_never_raises():
    garbage = ["x", 3, -1.5, float("nan"), (1, 2), [], {"a": 1}, np.full((2, 2), np.nan),
               True, lambda *a, **k: None, lambda *a, **k: "oops",
               lambda *a, **k: np.full((3, 3), np.nan), lambda *a, **k: (1, 2, 3),
               lambda *a, **k: 1 / 0, lambda *a, **k: [np.ones(2)] * 4]
    for q in QS:
        qn = next(x for x in EXERCISES[EX] if x.id == q)
        for g in garbage:
            res = run_with(q, **{qn.answers[0]: g})
            assert res.status in ("failed", "error"), (q, g, res.text())
            assert not res.message.startswith("internal"), (q, g, res.text())
            assert res.points == 0 and "\n" not in res.message
