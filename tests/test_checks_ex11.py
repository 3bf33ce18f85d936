"""ex11_recurrent_networks: right answers pass, each hinted mistake gets its hint, stubs
are not attempted, and the checks' references agree with the package and with PyTorch."""

import numpy as np
import pytest
import torch

from backprop.grade.checks import run_question
from backprop.grade.checks import ex11_recurrent_networks as ex11
from backprop.gradcheck import rel_error
from backprop.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex11_recurrent_networks"
QS = ["q1", "q2", "q3", "q4"]


# ---------------------------------------------------------------- right answers, written out

def step_backward(dh, x, h_prev, Wx, Wh, h, *, variant="right"):
    if variant == "tanh_of_h":
        da = dh * (1 - np.tanh(h) ** 2)
    elif variant == "no_tanh":
        da = dh
    else:
        da = dh * (1 - h * h)
    dh_prev = da @ Wh if variant == "Wh_not_T" else da @ Wh.T
    dWh = {"h_not_prev": h.T @ da, "dWh_T": da.T @ h_prev}.get(variant, h_prev.T @ da)
    return da @ Wx.T, dh_prev, x.T @ da, dWh, da.sum(axis=0)


def bptt_torch(dh, x, h0, h, Wx, Wh):
    """Autograd through an explicit loop; b is recovered from the forward states."""
    N, T, H = h.shape
    # a_0 = x_0 Wx + h0 Wh + b, so b = atanh(h_0) - x_0 Wx - h0 Wh (any row)
    b = (np.arctanh(h[0, 0]) - x[0, 0] @ Wx - h0[0] @ Wh)
    t = {k: torch.tensor(v, requires_grad=True)
         for k, v in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b).items()}
    prev, outs = t["h0"], []
    for s in range(T):
        prev = torch.tanh(t["x"][:, s] @ t["Wx"] + prev @ t["Wh"] + t["b"])
        outs.append(prev)
    (torch.stack(outs, 1) * torch.tensor(dh)).sum().backward()
    return tuple(t[k].grad.numpy() for k in ("x", "h0", "Wx", "Wh", "b"))


def bptt_loop(dh, x, h0, h, Wx, Wh, *, slip=False, carry=True, last_only=False,
              dh0_zero=False):
    N, T, H = h.shape
    states = ([h0] if not slip else []) + [h[:, t] for t in range(T)]
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    g = np.zeros((N, H))
    for t in reversed(range(T)):
        direct = dh[:, t] if (not last_only or t == T - 1) else 0
        prev = states[t - 1] if slip else states[t]        # slip: h[t-1], h[-1] at t = 0
        gx, g_new, gWx, gWh, gb = step_backward((g if carry else 0) + direct, x[:, t], prev,
                                                Wx, Wh, h[:, t])
        g = g_new
        dx[:, t] = gx
        dWx += gWx
        dWh += gWh
        db += gb
    return dx, np.zeros_like(g) if dh0_zero else g, dWx, dWh, db


CORRECT = {"rnn_step_backward": step_backward, "bptt": bptt_torch,
           "q3_answer": "c", "q4_answer": 6}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_four_questions():
    assert_registered(EX, QS, 9, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


def test_the_loop_answer_passes_too():
    assert run_with("q2", bptt=bptt_loop).status == "passed"


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_the_package():
    rng = np.random.default_rng(11)
    for _, (dh, x, h_prev, Wx, Wh, h) in ex11.step_cases(rng):
        b = np.arctanh(h[0]) - x[0] @ Wx - h_prev[0] @ Wh
        out, cache = rnn_step_forward(x, h_prev, Wx, Wh, b)
        np.testing.assert_allclose(out, h, rtol=1e-10)
        for a, c in zip(ex11.reference_step(dh, x, h_prev, Wx, Wh, h),
                        rnn_step_backward(dh, cache)):
            assert rel_error(a, c) < 1e-10
    for _, (dh, x, h0, h, Wx, Wh) in ex11.bptt_cases(rng):
        b = np.arctanh(h[0, 0]) - x[0, 0] @ Wx - h0[0] @ Wh
        out, cache = rnn_forward(x, h0, Wx, Wh, b)
        np.testing.assert_allclose(out, h, rtol=1e-9, atol=1e-12)
        for a, c in zip(ex11.reference_bptt(dh, x, h0, h, Wx, Wh), rnn_backward(dh, cache)):
            assert rel_error(a, c) < 1e-8
        # every case has a nonzero h0, so the slip is visible in dWh
        assert np.abs(h0).min() > 0
        slip = ex11.reference_bptt(dh, x, h0, h, Wx, Wh, slip=True)[3]
        assert rel_error(slip, rnn_backward(dh, cache)[3]) > 1e-3


# ---------------------------------------------------------------- q1 mistakes

@pytest.mark.parametrize("variant, words", [
    ("no_tanh", ("through the tanh",)),
    ("tanh_of_h", ("1 - h**2",)),
    ("Wh_not_T", ("Wh.T",)),
    ("h_not_prev", ("BEFORE the step",)),
    ("dWh_T", ("transpose",)),
])
def test_q1_mistakes_get_their_hint(variant, words):
    fn = lambda *a: step_backward(*a, variant=variant)
    assert_hint(run_with("q1", rnn_step_backward=fn), *words)


def test_q1_in_place_is_caught():
    def in_place(dh, x, h_prev, Wx, Wh, h):
        dh *= 1 - h * h
        return dh @ Wx.T, dh @ Wh.T, x.T @ dh, h_prev.T @ dh, dh.sum(axis=0)
    assert_hint(run_with("q1", rnn_step_backward=in_place), "never write into")


def test_q1_db_not_summed_gets_the_batch_hint():
    def no_sum(*a):
        dx, dhp, dWx, dWh, db = step_backward(*a)
        da = a[0] * (1 - a[5] ** 2)
        return dx, dhp, dWx, dWh, da
    assert_hint(run_with("q1", rnn_step_backward=no_sum), "summed over the batch")


# ---------------------------------------------------------------- q2 mistakes

@pytest.mark.parametrize("kwargs, words", [
    (dict(slip=True), ("h[:, -1]", "LAST", "h0")),
    (dict(carry=False), ("two paths",)),
    (dict(last_only=True), ("every step",)),
    (dict(dh0_zero=True), ("initial state",)),
])
def test_q2_mistakes_get_their_hint(kwargs, words):
    fn = lambda *a: bptt_loop(*a, **kwargs)
    assert_hint(run_with("q2", bptt=fn), *words)


def test_q2_slip_is_the_only_failure_in_dWh():
    res = run_with("q2", bptt=lambda *a: bptt_loop(*a, slip=True))
    failed = [c for c in res.cases if not c.passed]
    assert failed and all("dWh" in c.detail for c in failed), res.text()


def test_q2_wrong_tuple_length():
    res = run_with("q2", bptt=lambda *a: bptt_loop(*a)[:4])
    assert res.status == "failed"
    assert "five" in res.text()


# ---------------------------------------------------------------- q3, q4

@pytest.mark.parametrize("wrong", ["a", "b", "d"])
def test_q3_wrong_choices_get_a_hint(wrong):
    res = run_with("q3", q3_answer=wrong)
    assert res.status == "failed" and res.cases[0].hint


def test_q3_claims_hold():
    """The hints' numbers: 0.9**50 < 1/10 < 1 < 10 < 1.5**50."""
    assert 0.9 ** 50 < 0.1 and 1.5 ** 50 > 6e8 and 0.5 ** 50 < 1e-14


def test_q3_answer_holds_for_the_chapters_tanh_rnn():
    """Measured as in chapter 11 (tanh, small inputs), 50 steps back:
    only rho = 1.0 (c) keeps the norm within [1/10, 10]."""
    from backprop.labs.rnn_lab import grad_norms_through_time
    inside = {rho: 0.1 <= grad_norms_through_time(51, rho)[0] <= 10
              for rho in (0.5, 0.9, 1.0, 1.5)}
    assert inside == {0.5: False, 0.9: False, 1.0: True, 1.5: False}


@pytest.mark.parametrize("wrong, words", [(5, ("off by one",)), (4, ("t - k + 1",)),
                                          (7, ("smaller k",))])
def test_q4_mistakes_get_their_hint(wrong, words):
    assert_hint(run_with("q4", q4_answer=wrong), *words)


def test_q4_matches_the_package():
    """truncate=6 lets dh[:, t] reach dx[:, t-5]; truncate=5 does not."""
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 8, 2, 3
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[:, 7] = 1.0
    assert np.any(rnn_backward(dh, cache, truncate=6)[0][:, 2] != 0)
    assert np.all(rnn_backward(dh, cache, truncate=5)[0][:, 2] == 0)
