"""ex12_automatic_differentiation: right answers pass, each hinted mistake gets its hint,
stubs are not attempted, and the checks' references agree with the engine and with torch."""

import numpy as np
import pytest
import torch

from backprop import autodiff as ad
from backprop.grade.checks import run_question
from backprop.grade.checks import ex12_automatic_differentiation as ex12
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex12_automatic_differentiation"
QS = ["q1", "q2", "q3", "q4"]


# ---------------------------------------------------------------- right answers, written out

def sweep(accumulate=True, reverse=True, seed=1.0):
    def run_backward(out):
        out.grad = np.full_like(out.data, seed)
        order = ad.topological_order(out)
        for t in (reversed(order) if reverse else order):
            if t.rule is None or t.grad is None:
                continue
            for p, g in zip(t.parents, t.rule(t.grad)):
                p.grad = p.grad + g if (accumulate and p.grad is not None) else g
    return run_backward


def mul_backward_torch(dout, a, b):
    """torch's autograd of a * b, broadcast as NumPy does."""
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    (ta * tb).backward(torch.tensor(dout))
    return ta.grad.numpy().copy(), tb.grad.numpy().copy()


def sum_backward_torch(dout, shape, axis, keepdims):
    ta = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    s = ta.sum() if axis is None else ta.sum(dim=axis, keepdim=keepdims)
    s.backward(torch.tensor(dout))
    return ta.grad.numpy().copy()


CORRECT = {"run_backward": sweep(), "mul_backward": mul_backward_torch,
           "sum_backward": sum_backward_torch, "q4_answer": "b"}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_four_questions():
    assert_registered(EX, QS, 9, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


def test_the_engine_itself_passes_q1_to_q3():
    def mul_engine(dout, a, b):
        ta, tb = ad.Tensor(a), ad.Tensor(b)
        ad.backward(ad.sum(ad.mul(ad.mul(ta, tb), dout)))
        return ta.grad, tb.grad

    def sum_engine(dout, shape, axis, keepdims):
        t = ad.Tensor(np.zeros(shape))
        ad.backward(ad.sum(ad.mul(ad.sum(t, axis, keepdims), dout)))
        return t.grad

    answers = {"run_backward": ad.backward, "mul_backward": mul_engine,
               "sum_backward": sum_engine}
    for q in ("q1", "q2", "q3"):
        assert run_with(q, **answers).status == "passed"


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_torch():
    for _, (dout, a, b) in ex12.mul_cases(np.random.default_rng(5)):
        for ours, theirs in zip(ex12.reference_mul_grads(dout, a, b),
                                mul_backward_torch(dout, a, b)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    for _, (dout, shape, axis, keep) in ex12.sum_cases(np.random.default_rng(6)):
        np.testing.assert_allclose(ex12.reference_sum_grad(dout, shape, axis, keep),
                                   sum_backward_torch(dout, shape, axis, keep),
                                   rtol=1e-8, atol=1e-10)


def test_q1_graphs_have_fan_out_that_overwriting_gets_wrong():
    # each case must tell the two sweeps apart, or the hint could never fire
    for _, (graph, arrays) in ex12.sweep_cases(np.random.default_rng(7)):
        right, wrong = ex12.build_graph(graph, arrays), ex12.build_graph(graph, arrays)
        ex12.reference_sweep(right[0])
        ex12.reference_sweep(wrong[0], accumulate=False)
        assert any(not np.allclose(right[1][k].grad, wrong[1][k].grad) for k in right[1])


# ---------------------------------------------------------------- q1 mistakes

def test_q1_overwriting_gets_the_fan_out_hint():
    assert_hint(run_with("q1", run_backward=sweep(accumulate=False)), "SUM of the gradients")


def test_q1_forward_order_fails():
    assert run_with("q1", run_backward=sweep(reverse=False)).status == "failed"


def test_q1_zero_seed_fails_with_zeros_hint():
    assert_hint(run_with("q1", run_backward=sweep(seed=0.0)), "all zeros")


def test_q1_calling_the_engine_is_flagged():
    from backprop.grade.checks.core import forbidden_calls
    ns = {"ad": ad, "run_backward": lambda out: ad.backward(out)}
    assert forbidden_calls(EX, "q1", ns)


# ---------------------------------------------------------------- q2 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda d, a, b: (d * b, d * a), ("gradient of a copy is a sum",)),
    (lambda d, a, b: (ad.unbroadcast(d * b, np.shape(a)).squeeze(),
                      ad.unbroadcast(d * a, np.shape(b)).squeeze()), ("keepdims=True",)),
    (lambda d, a, b: (ad.unbroadcast(d * a, np.shape(a)),
                      ad.unbroadcast(d * b, np.shape(b))), ("OTHER input",)),
    (lambda d, a, b: (ad.unbroadcast(np.broadcast_to(b, d.shape), np.shape(a)),
                      ad.unbroadcast(np.broadcast_to(a, d.shape), np.shape(b))),
     ("upstream gradient dout",)),
])
def test_q2_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q2", mul_backward=fn), *words)


def test_q2_not_a_pair():
    assert run_with("q2", mul_backward=lambda d, a, b: d * b).status == "failed"


# ---------------------------------------------------------------- q3 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda d, shape, axis, keep: np.ones(shape), ("every term of the sum gets dout",)),
    (lambda d, shape, axis, keep: np.broadcast_to(d, shape).copy(), ("np.expand_dims",)),
    (lambda d, shape, axis, keep: d, ("shape of the input",)),
])
def test_q3_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q3", sum_backward=fn), *words)


# ---------------------------------------------------------------- q4

@pytest.mark.parametrize("wrong", ["a", "c", "d"])
def test_q4_wrong_choices_get_a_hint(wrong):
    res = run_with("q4", q4_answer=wrong)
    assert res.status == "failed" and res.cases[0].hint


def test_q4_not_a_letter():
    assert run_with("q4", q4_answer="forward").status == "failed"
