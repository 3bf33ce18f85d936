"""ex07_numerical_stability: right answers pass, each hinted mistake gets its hint, stubs
are not attempted, and the checks' references agree with PyTorch in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop.grade.checks import EXERCISES, run_question
from backprop.grade.checks import ex07_numerical_stability as ex07
from check_helpers import assert_registered, assert_right_answer_passes

EX = "ex07_numerical_stability"


# ---------------------------------------------------------------- right answers, via torch

def softmax_ce_torch(logits, y):
    t = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, torch.tensor(y))
    loss.backward()
    return loss.item(), t.grad.numpy()


def log_sigmoid_torch(x):
    return F.logsigmoid(torch.tensor(x)).numpy()


def bce_torch(x, y):
    t = torch.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, torch.tensor(y))
    loss.backward()
    return loss.item(), t.grad.numpy()


CORRECT = {"softmax_cross_entropy": softmax_ce_torch, "log_sigmoid": log_sigmoid_torch,
           "bce_with_logits": bce_torch, "q4_answer": "c"}


def test_registered_with_four_questions():
    assert_registered(EX, ["q1", "q2", "q3", "q4"], 10, CORRECT)


@pytest.mark.parametrize("q", ["q1", "q2", "q3", "q4"])
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


def test_references_match_torch():
    for _, (logits, y) in ex07.softmax_ce_cases(np.random.default_rng(7)):
        loss, grad = ex07.reference_softmax_ce(logits, y)
        tl, tg = softmax_ce_torch(logits, y)
        assert loss == pytest.approx(tl, rel=1e-12)
        np.testing.assert_allclose(grad, tg, rtol=1e-10, atol=1e-15)
    for _, (x,) in ex07.log_sigmoid_cases(np.random.default_rng(8)):
        np.testing.assert_allclose(ex07.reference_log_sigmoid(x), log_sigmoid_torch(x),
                                   rtol=1e-12, atol=0)
    for _, (x, y) in ex07.bce_cases(np.random.default_rng(9)):
        loss, grad = ex07.reference_bce(x, y)
        tl, tg = bce_torch(x, y)
        assert loss == pytest.approx(tl, rel=1e-12)
        np.testing.assert_allclose(grad, tg, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("q", ["q1", "q2", "q3", "q4"])
def test_not_attempted(q):
    def stub(*args):
        raise NotImplementedError()

    names = next(x for x in EXERCISES[EX] if x.id == q).answers
    assert run_question(EX, q, {n: None for n in names}).status == "not_attempted"
    if callable(CORRECT[names[0]]):
        res = run_question(EX, q, {n: stub for n in names})
        assert res.status == "not_attempted", res.text()


# ---------------------------------------------------------------- q1 mistakes

def _ce_parts(logits, y):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    onehot = np.eye(logits.shape[1])[y]
    return n, p, onehot, float(np.mean(lse - z[np.arange(n), y]))


def ce_not_shifted(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(logits.shape[1])[y]
    return -np.mean(np.log(p[np.arange(n), y])), (p - onehot) / n


def ce_unfused(logits, y):
    n, p, onehot, _ = _ce_parts(logits, y)
    return -np.mean(np.log(p[np.arange(n), y])), (p - onehot) / n


def ce_missing_1_over_n(logits, y):
    n, p, onehot, loss = _ce_parts(logits, y)
    return loss, p - onehot


def ce_no_onehot(logits, y):
    n, p, onehot, loss = _ce_parts(logits, y)
    return loss, p / n


def ce_sum_loss(logits, y):
    n, p, onehot, loss = _ce_parts(logits, y)
    return loss * n, (p - onehot) / n


def _first_hint(res):
    failed = [c for c in res.cases if not c.passed]
    assert failed, res.text()
    return failed[0].hint


@pytest.mark.parametrize("fn,needle", [
    (ce_not_shifted, "subtract each row's maximum"),
    (ce_unfused, "logsumexp(z) - z[y]"),
    (ce_missing_1_over_n, "divide (softmax - Y) by N"),
    (ce_no_onehot, "subtract the one-hot targets"),
    (ce_sum_loss, "mean over the batch"),
])
def test_q1_mistakes_get_their_hint(fn, needle):
    res = run_question(EX, "q1", {"softmax_cross_entropy": fn})
    assert res.status == "failed", res.text()
    assert needle in _first_hint(res) or needle in res.text(), res.text()


def test_q1_shifted_only_fails_at_1e4_not_before():
    res = run_question(EX, "q1", {"softmax_cross_entropy": ce_unfused})
    passed = {c.name: c.passed for c in res.cases}
    assert passed["N=4, C=5"] and not passed["logits of +-1e4, N=3, C=4"]


def test_q1_warning_fails_a_right_answer():
    def right_but_warns(logits, y):
        np.exp(np.array([1000.0]))                       # an overflow on the side
        return softmax_ce_torch(logits, y)

    res = run_question(EX, "q1", {"softmax_cross_entropy": right_but_warns})
    assert res.status == "failed" and "overflow" in res.text()


# ---------------------------------------------------------------- q2 mistakes

def log_sigmoid_naive(x):
    return np.log(1 / (1 + np.exp(-x)))


def log_sigmoid_where(x):
    return np.where(x >= 0, -np.log1p(np.exp(-x)), x - np.log1p(np.exp(x)))


def log_sigmoid_log_not_log1p(x):
    return np.minimum(x, 0) - np.log(1 + np.exp(-np.abs(x)))


@pytest.mark.parametrize("fn,needle", [
    (log_sigmoid_naive, "overflow"),
    (log_sigmoid_where, "np.where evaluates both"),
    (log_sigmoid_log_not_log1p, "np.log1p"),
])
def test_q2_mistakes_get_their_hint(fn, needle):
    res = run_question(EX, "q2", {"log_sigmoid": fn})
    assert res.status == "failed", res.text()
    assert needle in res.text(), res.text()


def test_q2_naive_without_overflow_gets_log0_hint():
    def log_of_stable_sigmoid(x):
        e = np.exp(-np.abs(x))
        return np.log(np.where(x >= 0, 1, e) / (1 + e))

    res = run_question(EX, "q2", {"log_sigmoid": log_of_stable_sigmoid})
    assert res.status == "failed" and "log 0" in res.text(), res.text()


# ---------------------------------------------------------------- q3 mistakes

def bce_on_probabilities(x, y):
    with np.errstate(over="ignore"):
        p = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), 0.0) + \
            np.where(x < 0, np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))), 0.0)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / x.size


def bce_no_mean(x, y):
    loss, grad = ex07.reference_bce(x, y)
    return loss, grad * x.size


def bce_sign(x, y):
    loss, grad = ex07.reference_bce(x, y)
    return loss, -grad


@pytest.mark.parametrize("fn,needle", [
    (bce_on_probabilities, "max(x, 0) - x y + log1p"),
    (bce_no_mean, "divide (sigmoid(x) - y) by x.size"),
    (bce_sign, "wrong sign"),
])
def test_q3_mistakes_get_their_hint(fn, needle):
    res = run_question(EX, "q3", {"bce_with_logits": fn})
    assert res.status == "failed", res.text()
    assert needle in res.text(), res.text()


# ---------------------------------------------------------------- q4

@pytest.mark.parametrize("answer,needle", [
    ("a", "inf / inf"), ("b", "both exponentials"), ("d", "x < -709")])
def test_q4_wrong_choices_get_their_hint(answer, needle):
    res = run_question(EX, "q4", {"q4_answer": answer})
    assert res.status == "failed" and needle in res.text(), res.text()


def test_q4_formulas_behave_as_the_hints_say():
    # the multiple-choice key, measured: only (c) is silent and finite at +-1000
    x = np.array([-1000.0, 0.0, 1000.0])
    e = np.exp(-np.abs(x))
    formulas = {
        "a": lambda: np.exp(x) / (1 + np.exp(x)),
        "b": lambda: np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))),
        "c": lambda: np.where(x >= 0, 1, e) / (1 + e),
        "d": lambda: 1 / (1 + np.exp(-x)),
    }
    safe = []
    for key, f in formulas.items():
        try:
            with np.errstate(all="raise"):
                out = f()
            if np.all(np.isfinite(out)):
                safe.append(key)
        except FloatingPointError:
            pass
    assert safe == ["c"]


GARBAGE = ["x", 3, -1.5, float("nan"), (1, 2), [], {"a": 1}, np.full((2, 2), np.nan), True,
           lambda *a, **k: None, lambda *a, **k: "oops", lambda *a, **k: np.full((3, 3), np.nan),
           lambda *a, **k: (1, 2, 3, 4), lambda *a, **k: 1 / 0, lambda *a, **k: [np.ones(2)] * 4,
           lambda *a, **k: (np.inf, np.full((3, 4), np.nan)), lambda *a, **k: ("a", "b")]


@pytest.mark.parametrize("q", ["q1", "q2", "q3", "q4"])
def test_never_raises_for_garbage(q):
    names = next(x for x in EXERCISES[EX] if x.id == q).answers
    for g in GARBAGE:
        res = run_question(EX, q, {n: g for n in names})
        assert res.status in ("failed", "error"), (g, res.text())
        assert not res.message.startswith("internal"), (g, res.text())
        assert res.points == 0 and "\n" not in res.message


def test_np_seterr_in_the_notebook_does_not_hide_a_warning():
    """call_warning sets NumPy's errors to warn where the learner's code runs, as the old direct call did."""
    def right_but_warns(logits, y):
        np.exp(np.array([1000.0]))                       # an overflow on the side
        return softmax_ce_torch(logits, y)

    old = np.seterr(all="ignore")
    try:
        res = run_question(EX, "q1", {"softmax_cross_entropy": right_but_warns})
    finally:
        np.seterr(**old)
    assert res.status == "failed" and "raised a warning: overflow" in res.text(), res.text()
