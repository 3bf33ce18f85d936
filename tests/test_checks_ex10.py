"""ex10_training_in_practice: right answers pass, each hinted mistake gets its hint, stubs
are not attempted, and the checks' references agree with the package and with PyTorch."""

import math

import numpy as np
import pytest
import torch

from backprop import monitor, optim
from backprop.grade.checks import run_question
from backprop.grade.checks import ex10_training_in_practice as ex10
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex10_training_in_practice"
QS = ["q1", "q2", "q3", "q4"]


# ---------------------------------------------------------------- right answers, written out

def warmup_cosine_lr(lr0, step, total_steps, warmup_steps, lr_min=0.0):
    if step < warmup_steps:
        return lr0 * (step + 1) / warmup_steps
    phase = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * phase)) / 2


def momentum_step_torch(w, g, v, lr, beta):
    """torch.optim.SGD(momentum=beta) after one step from buffer v."""
    p = torch.tensor(w, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=beta)
    opt.state[p]["momentum_buffer"] = torch.tensor(v)
    p.grad = torch.tensor(g)
    opt.step()
    return p.detach().numpy().copy(), opt.state[p]["momentum_buffer"].numpy().copy()


def update_weight_ratios(params, grads, lr):
    return {k.split(".")[0]: np.linalg.norm(lr * grads[k]) / np.linalg.norm(W)
            for k, W in params.items() if k.endswith(".W")}


CORRECT = {"warmup_cosine_lr": warmup_cosine_lr, "momentum_step": momentum_step_torch,
           "update_weight_ratios": update_weight_ratios, "q4_answer": "b"}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_four_questions():
    assert_registered(EX, QS, 8, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_the_package_and_torch():
    for _, (lr0, total, warmup, lr_min) in ex10.schedule_cases(np.random.default_rng(10)):
        right = ex10.reference_schedule_variants(lr0, total, warmup, lr_min)["right"]
        ours = [optim.cosine_lr(lr0, t, total, warmup, lr_min) for t in range(total + 1)]
        np.testing.assert_allclose(right, ours, rtol=1e-13, atol=1e-15)
    for _, (w, g, v, lr, beta) in ex10.momentum_cases(np.random.default_rng(11)):
        new_w, new_v = momentum_step_torch(w, g, v, lr, beta)
        ours, state = optim.momentum({"w": w}, {"w": g}, {"v": {"w": v}}, lr, beta)
        np.testing.assert_allclose(ours["w"], new_w, rtol=1e-13)
        np.testing.assert_allclose(state["v"]["w"], new_v, rtol=1e-13)
    for _, (params, grads, lr) in ex10.ratio_cases(np.random.default_rng(12)):
        new, _ = optim.sgd(params, grads, lr)
        expected = monitor.update_ratios(params, new)
        got = update_weight_ratios(params, grads, lr)
        assert got.keys() == expected.keys()
        for k in got:
            assert got[k] == pytest.approx(expected[k], rel=1e-12)


# ---------------------------------------------------------------- q1 mistakes

def schedule(warm="right", phase="right", period="right", low="right"):
    def fn(lr0, step, total_steps, warmup_steps, lr_min=0.0):
        if step < warmup_steps:
            if warm == "from_zero":
                return lr0 * step / warmup_steps
            if warm == "quadratic":
                return lr0 * ((step + 1) / warmup_steps) ** 2
            return lr0 * (step + 1) / warmup_steps
        t = {"right": step - warmup_steps, "from_zero": step,
             "plus_one": step - warmup_steps + 1}[phase]
        T = total_steps if period == "total" else total_steps - warmup_steps
        c = (1 + math.cos(math.pi * t / T)) / 2
        if low == "none":
            return lr0 * c
        if low == "added":
            return lr_min + lr0 * c
        return lr_min + (lr0 - lr_min) * c
    return fn


@pytest.mark.parametrize("kwargs, words", [
    (dict(warm="from_zero"), ("off by one in the warm-up", "(t + 1)")),
    (dict(warm="quadratic"), ("not linear",)),
    (dict(phase="from_zero"), ("starts where the warm-up ends",)),
    (dict(phase="plus_one"), ("off by one in the cosine",)),
    (dict(period="total"), ("total_steps - warmup_steps", "not reached lr_min")),
    (dict(low="none"), ("end at lr_min",)),
    (dict(low="added"), ("end at lr_min", "above lr0")),
])
def test_q1_mistakes_get_their_hint(kwargs, words):
    assert_hint(run_with("q1", warmup_cosine_lr=schedule(**kwargs)), *words)


def test_q1_returning_none_fails_with_a_return_hint():
    res = run_with("q1", warmup_cosine_lr=lambda *a, **k: None)
    assert res.status == "failed"
    assert any("return" in c.hint for c in res.cases if not c.passed), res.text()


# ---------------------------------------------------------------- q2 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda w, g, v, lr, b: (w - lr * (b * v + (1 - b) * g), b * v + (1 - b) * g),
     ("dampening",)),
    (lambda w, g, v, lr, b: (w + b * v - lr * g, b * v - lr * g), ("holds the step",)),
    (lambda w, g, v, lr, b: (w - lr * v, b * v + g), ("NEW velocity",)),
    (lambda w, g, v, lr, b: (w + lr * (b * v + g), b * v + g), ("against the velocity",)),
    (lambda w, g, v, lr, b: (w - lr * g, b * v + g), ("plain SGD",)),
])
def test_q2_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q2", momentum_step=fn), *words)


def test_q2_in_place_update_is_caught():
    def in_place(w, g, v, lr, beta):
        v *= beta
        v += g
        w -= lr * v
        return w, v
    assert_hint(run_with("q2", momentum_step=in_place), "never write into an argument")


# ---------------------------------------------------------------- q3 mistakes

def ratios(kind):
    def fn(params, grads, lr):
        out = {}
        for k, W in params.items():
            if not k.endswith(".W"):
                continue
            layer, dW = k.split(".")[0], grads[k]
            b, db = params[f"{layer}.b"], grads[f"{layer}.b"]
            r = lr * np.linalg.norm(dW) / np.linalg.norm(W)
            out[layer] = {
                "no_lr": np.linalg.norm(dW) / np.linalg.norm(W),
                "inverted": 1 / r,
                "squared": r**2,
                "with_b": lr * np.sqrt(np.sum(dW**2) + np.sum(db**2))
                / np.sqrt(np.sum(W**2) + np.sum(b**2)),
                "entries": lr * np.mean(np.abs(dW) / np.abs(W)),
            }[kind]
        return out
    return fn


@pytest.mark.parametrize("kind, words", [
    ("no_lr", ("lr * dW",)), ("inverted", ("upside down",)), ("squared", ("squared norms",)),
    ("with_b", ("leave the bias out",)), ("entries", ("divide the norms",)),
])
def test_q3_mistakes_get_their_hint(kind, words):
    assert_hint(run_with("q3", update_weight_ratios=ratios(kind)), *words)


def test_q3_wrong_keys():
    full_keys = lambda p, g, lr: {k: 1.0 for k in p if k.endswith(".W")}
    assert_hint(run_with("q3", update_weight_ratios=full_keys), "before the dot")


# ---------------------------------------------------------------- q4

@pytest.mark.parametrize("wrong", ["a", "c", "d"])
def test_q4_wrong_choices_get_a_hint(wrong):
    res = run_with("q4", q4_answer=wrong)
    assert res.status == "failed" and res.cases[0].hint


def test_q4_not_a_letter():
    assert run_with("q4", q4_answer="the learning rate").status == "failed"
