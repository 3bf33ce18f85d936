"""Checks for ex11_recurrent_networks: one RNN step's backward, a BPTT loop
over a sequence with a nonzero initial state (the ``h[:, -1]`` slip at
t = 0 is named), reading a spectral radius, and the reach of truncated
BPTT."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice, compare_scalar
from backprop.grade.checks.core import Case, Question, call_on_copies, register
from backprop.grade.plain import type_name

EXERCISE = "ex11_recurrent_networks"
NAMES = ("dx", "dh_prev", "dWx", "dWh", "db")
SEQ_NAMES = ("dx", "dh0", "dWx", "dWh", "db")


def _first_failure(cases):
    for c in cases:
        if not c.passed:
            return c
    return cases[-1]


def _five(name, got, what):
    """None, or a failed Case when ``got`` is not a tuple of five."""
    if not isinstance(got, (tuple, list)) or len(got) != 5:
        return Case(name, False, f"{what} must return a tuple of five arrays "
                                 f"({', '.join(SEQ_NAMES if what == 'bptt' else NAMES)})",
                    f"got {type_name(got)}")
    return None


# --------------------------------------------------------------------------- q1

def step_cases(rng):
    """(name, (dh, x, h_prev, Wx, Wh, h)): h = tanh(x Wx + h_prev Wh + b)."""
    out = []
    for N, D, H in [(1, 3, 2), (4, 2, 3), (3, 5, 4)]:
        x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
        Wx, Wh = 0.6 * rng.standard_normal((D, H)), 0.6 * rng.standard_normal((H, H))
        b = 0.3 * rng.standard_normal(H)
        h = np.tanh(x @ Wx + h_prev @ Wh + b)
        out.append((f"N={N}, D={D}, H={H}",
                    (rng.standard_normal((N, H)), x, h_prev, Wx, Wh, h)))
    return out


def reference_step(dh, x, h_prev, Wx, Wh, h):
    da = dh * (1 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


NO_TANH = ("the gradient must go through the tanh first: da = dh * (1 - h**2), "
           "then every product uses da, not dh")
TANH_OF_H = ("h is already tanh(a): its derivative is 1 - h**2, not 1 - tanh(h)**2")


def check_q1(ans, cases):
    fn = ans["rnn_step_backward"]
    out = []
    for name, (dh, x, h_prev, Wx, Wh, h) in cases:
        got, wrote = call_on_copies("rnn_step_backward", fn, (dh, x, h_prev, Wx, Wh, h))
        if wrote:
            out.append(Case(name, False, "rnn_step_backward changed an argument in place",
                            "compute new arrays; never write into dh, x, h_prev, Wx, Wh or h"))
            continue
        bad = _five(name, got, "rnn_step_backward")
        if bad:
            out.append(bad)
            continue
        right = reference_step(dh, x, h_prev, Wx, Wh, h)
        raw = (dh @ Wx.T, dh @ Wh.T, x.T @ dh, h_prev.T @ dh, dh.sum(axis=0))
        twice = reference_step(dh, x, h_prev, Wx, Wh, np.tanh(h))
        da = dh * (1 - h * h)
        extra = {
            "dh_prev": ((da @ Wh, "dh_prev = da @ Wh.T: the step multiplies h_prev by Wh "
                                  "on the right, so its gradient multiplies by Wh.T"),),
            "dWh": ((h.T @ da, "dWh pairs da with the state BEFORE the step, h_prev, not "
                               "with the new state h: dWh = h_prev.T @ da"),
                    (da.T @ h_prev, "dWh = h_prev.T @ da has shape (H, H) and the order "
                                    "matters: your product is its transpose")),
            "dx": ((da @ Wh.T, "dx goes through Wx: dx = da @ Wx.T"),),
        }
        per = []
        for k, label in enumerate(NAMES):
            mistakes = ((raw[k], NO_TANH), (twice[k], TANH_OF_H)) + extra.get(label, ())
            per.append(compare_array(name, label, got[k], right[k], n=len(dh),
                                     mistakes=mistakes))
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q2

def bptt_cases(rng):
    """(name, (dh, x, h0, h, Wx, Wh)) from a forward pass with a NONZERO h0."""
    out = []
    for N, T, D, H in [(2, 4, 3, 3), (1, 6, 2, 4), (3, 1, 2, 2), (2, 5, 1, 3)]:
        x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
        Wx, Wh = 0.6 * rng.standard_normal((D, H)), 0.6 * rng.standard_normal((H, H))
        b = 0.3 * rng.standard_normal(H)
        h, prev = np.empty((N, T, H)), h0
        for t in range(T):
            prev = np.tanh(x[:, t] @ Wx + prev @ Wh + b)
            h[:, t] = prev
        out.append((f"N={N}, T={T}, D={D}, H={H}, h0 nonzero",
                    (rng.standard_normal((N, T, H)), x, h0, h, Wx, Wh)))
    return out


def reference_bptt(dh, x, h0, h, Wx, Wh, slip=False, carry=True, direct="all",
                   dh0="right"):
    """Full BPTT, and the hinted mistakes: ``slip`` reads h[:, -1] as the state
    before step 0; ``carry=False`` drops the path through the next step;
    ``direct="last"`` uses dh at the last step only; ``dh0="zero"`` returns 0,
    ``dh0="before_tanh"`` returns the gradient at h_1 instead."""
    N, T, H = h.shape
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    g, g_at_first = np.zeros((N, H)), None
    for t in range(T - 1, -1, -1):
        d_direct = dh[:, t] if (direct == "all" or t == T - 1) else 0.0
        total = (g if carry else 0.0) + d_direct
        if t == 0:
            g_at_first = total
        da = total * (1 - h[:, t] ** 2)
        prev = h0 if t == 0 and not slip else h[:, t - 1]
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += prev.T @ da
        db += da.sum(axis=0)
        g = da @ Wh.T
    d0 = {"right": g, "zero": np.zeros_like(g), "before_tanh": g_at_first}[dh0]
    return dx, d0, dWx, dWh, db


SLIP = ("at t = 0 the state before the step is h0, but h[:, t - 1] reads h[:, -1], the LAST "
        "state: put h0 in front of the states (or use h0 when t == 0)")
NO_CARRY = ("the gradient at h_t has two paths: dh[:, t] from the output at step t, plus "
            "da_{t+1} @ Wh.T from the next step; carry that second term back through time")
LAST_ONLY = ("every state has its own upstream gradient dh[:, t]: add it at every step, not "
             "only at the last one")


def check_q2(ans, cases):
    fn = ans["bptt"]
    out = []
    for name, (dh, x, h0, h, Wx, Wh) in cases:
        got, wrote = call_on_copies("bptt", fn, (dh, x, h0, h, Wx, Wh))
        if wrote:
            out.append(Case(name, False, "bptt changed an argument in place",
                            "compute new arrays; never write into dh, x, h0, h, Wx or Wh"))
            continue
        bad = _five(name, got, "bptt")
        if bad:
            out.append(bad)
            continue
        right = reference_bptt(dh, x, h0, h, Wx, Wh)
        slip = reference_bptt(dh, x, h0, h, Wx, Wh, slip=True)
        no_carry = reference_bptt(dh, x, h0, h, Wx, Wh, carry=False)
        last = reference_bptt(dh, x, h0, h, Wx, Wh, direct="last")
        before = reference_bptt(dh, x, h0, h, Wx, Wh, dh0="before_tanh")
        per = []
        for k, label in enumerate(SEQ_NAMES):
            mistakes = []
            if label == "dWh":
                mistakes.append((slip[k], SLIP))
            if label == "dh0":
                mistakes.append((np.zeros_like(h0), "dh0 is the gradient that reaches the "
                                 "initial state: da at step 0 @ Wh.T, not zero"))
                mistakes.append((before[k], "dh0 is one step further back than the gradient "
                                 "at h[:, 0]: multiply by tanh' and by Wh.T once more"))
            if h.shape[1] > 1:
                mistakes += [(no_carry[k], NO_CARRY), (last[k], LAST_ONLY)]
            per.append(compare_array(name, label, got[k], right[k], mistakes=tuple(mistakes)))
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q3

Q3_HINTS = {
    "a": "0.5**50 is about 1e-15: the gradient from step 50 has vanished long before step 0",
    "b": "0.9 looks close to 1, but 0.9**50 is about 0.005: below 1/10",
    "d": ("1.5**50 is about 6e8: far above 10, the gradient explodes; the tanh holds "
          "it back once the states saturate, but not below 10"),
}


def check_q3(ans):
    return [compare_choice("q3_answer", "q3_answer", ans["q3_answer"], "c",
                           ("a", "b", "c", "d"), Q3_HINTS)]


# --------------------------------------------------------------------------- q4

def check_q4(ans):
    return [compare_scalar("q4_answer", "q4_answer", ans["q4_answer"], 6, rtol=0, atol=1e-9,
                           mistakes=(
        (5, "off by one: with k = 5 the gradient entering at step t reaches steps t, ..., "
            "t - 4 only, and x_{t-5} enters at step t - 5"),
        (4, "the gradient entering at step t reaches k steps: t, t - 1, ..., t - k + 1; "
            "it must reach step t - 5"),
        (7, "k = 7 works, but so does a smaller k: the gradient reaches t - k + 1"),
    ))]


QUESTIONS = (
    Question("q1", "backward of one RNN step", 3, ("rnn_step_backward",), check_q1,
             forbidden=("backprop.rnn.rnn_step_backward",), cases=step_cases,
             numpy_only=True),
    Question("q2", "backpropagation through time", 3, ("bptt",), check_q2,
             forbidden=("backprop.rnn.rnn_backward",), cases=bptt_cases, numpy_only=True),
    Question("q3", "spectral radius and the gradient through time", 2, ("q3_answer",),
             check_q3),
    Question("q4", "how far truncated BPTT reaches", 1, ("q4_answer",), check_q4),
)

register(EXERCISE, QUESTIONS)
