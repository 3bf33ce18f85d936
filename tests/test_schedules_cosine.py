"""optim.cosine_lr against torch's schedulers step by step, and its edges.

torch has no single cosine-with-warm-up scheduler: the reference is a
SequentialLR of LinearLR (from 1/warmup_steps of the rate to all of it over
warmup_steps - 1 steps) and CosineAnnealingLR(T_max = total - warmup), and,
independently, a LambdaLR written from the formula's definition.
"""

import math

import numpy as np
import pytest
import torch

from backprop import optim

S = torch.optim.lr_scheduler


def _torch_lrs(make_sched, lr0, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_sched(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


CASES = [(0.5, 40, 6, 0.01), (0.1, 20, 0, 0.0), (1.0, 30, 1, 0.1),
         (0.3, 10, 9, 0.0), (2.0, 184, 23, 0.0)]


@pytest.mark.parametrize("lr0, total, warmup, lr_min", CASES)
def test_matches_sequential_linear_then_cosine(lr0, total, warmup, lr_min):
    if warmup:
        make = lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=1 / warmup, total_iters=warmup - 1),
            S.CosineAnnealingLR(o, T_max=total - warmup, eta_min=lr_min)],
            milestones=[warmup])
    else:
        make = lambda o: S.CosineAnnealingLR(o, T_max=total, eta_min=lr_min)
    theirs = _torch_lrs(make, lr0, total + 1)
    ours = [optim.cosine_lr(lr0, t, total, warmup, lr_min) for t in range(total + 1)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("lr0, total, warmup, lr_min", CASES)
def test_matches_lambda_lr(lr0, total, warmup, lr_min):
    def factor(t):
        if t < warmup:
            return (t + 1) / warmup
        c = math.cos(math.pi * (t - warmup) / (total - warmup))
        return (lr_min + (lr0 - lr_min) * (1 + c) / 2) / lr0
    theirs = _torch_lrs(lambda o: S.LambdaLR(o, factor), lr0, total + 1)
    ours = [optim.cosine_lr(lr0, t, total, warmup, lr_min) for t in range(total + 1)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_warmup_is_linear_and_reaches_lr0_then_cosine_reaches_lr_min():
    lr0, total, warmup, lr_min = 0.8, 50, 10, 0.05
    lrs = np.array([optim.cosine_lr(lr0, t, total, warmup, lr_min) for t in range(total + 5)])
    np.testing.assert_allclose(lrs[:warmup], lr0 * np.arange(1, warmup + 1) / warmup, rtol=1e-15)
    assert np.all(np.diff(lrs[:warmup]) > 0)
    assert lrs[warmup - 1] == pytest.approx(lr0, rel=1e-15)
    assert lrs[warmup] == pytest.approx(lr0, rel=1e-15)
    assert np.all(np.diff(lrs[warmup:total + 1]) < 0)
    assert lrs[total] == pytest.approx(lr_min, rel=1e-14)
    # halfway through the cosine: the mean of lr0 and lr_min
    assert lrs[warmup + (total - warmup) // 2] == pytest.approx((lr0 + lr_min) / 2, rel=1e-14)
    # after the end it stays at lr_min (torch's CosineAnnealingLR would climb back)
    np.testing.assert_allclose(lrs[total:], lr_min, rtol=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr0=0.1, step=0, total_steps=10, warmup_steps=10), "warmup_steps"),
    (dict(lr0=0.1, step=0, total_steps=0), "warmup_steps < total_steps"),
    (dict(lr0=0.1, step=-1, total_steps=10), "step"),
    (dict(lr0=0.1, step=0, total_steps=10.0), "total_steps"),
    (dict(lr0=0.1, step=0, total_steps=10, lr_min=0.2), "lr_min"),
    (dict(lr0=-0.1, step=0, total_steps=10), "lr0"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.cosine_lr(**kwargs)
