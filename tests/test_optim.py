"""backprop.optim step by step against torch.optim, its schedulers and its
clipping utilities, in float64.

Each optimiser test feeds the same sequence of gradients (fixed random arrays,
not gradients of a loss, so the trajectories cannot converge to the same point
by accident) to ours and to torch for several steps and compares the
parameters after every step. Both sides compute the same float64 expressions
in a possibly different order: agreement to rtol 1e-12 is rounding, a wrong
constant (no bias correction, dampening, eps inside the sqrt) is >= 1e-4 off.
"""

import copy

import numpy as np
import pytest
import torch

from backprop import optim

SHAPES = {"W": (3, 4), "b": (4,)}
STEPS = 6


def _params_and_grads(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    grads = [{k: rng.standard_normal(s) for k, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


def _torch_trajectory(params, grads, make_opt):
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = make_opt(list(tp.values()))
    out = []
    for g in grads:
        opt.zero_grad()
        for k, t in tp.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        opt.step()
        out.append({k: t.detach().numpy().copy() for k, t in tp.items()})
    return out


def _ours_trajectory(params, grads, step):
    state, out = None, []
    for g in grads:
        params_before, g_before = copy.deepcopy(params), copy.deepcopy(g)
        state_before = copy.deepcopy(state)
        new_params, new_state = step(params, g, state)
        # pure: nothing we passed in was written into
        for k in params:
            np.testing.assert_array_equal(params[k], params_before[k])
            np.testing.assert_array_equal(g[k], g_before[k])
        if state is not None:
            _assert_tree_equal(state, state_before)
        params, state = new_params, new_state
        out.append(params)
    return out


def _assert_tree_equal(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_tree_equal(a[k], b[k])
    else:
        np.testing.assert_array_equal(a, b)


CASES = {
    "sgd": (lambda p, g, s: optim.sgd(p, g, 0.1, state=s),
            lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "momentum": (lambda p, g, s: optim.momentum(p, g, s, lr=0.1, beta=0.9),
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0)),
    "momentum_beta_0.5": (lambda p, g, s: optim.momentum(p, g, s, lr=0.03, beta=0.5),
                          lambda ps: torch.optim.SGD(ps, lr=0.03, momentum=0.5)),
    "adam_default": (lambda p, g, s: optim.adam(p, g, s),
                     lambda ps: torch.optim.Adam(ps)),
    "adam_custom": (lambda p, g, s: optim.adam(p, g, s, lr=0.05, betas=(0.8, 0.99), eps=1e-6),
                    lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_over_several_steps(name):
    ours_step, make_torch = CASES[name]
    params, grads = _params_and_grads()
    ours = _ours_trajectory(params, grads, ours_step)
    theirs = _torch_trajectory(params, grads, make_torch)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for k in SHAPES:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name}, step {t + 1}, {k}")
    # the parameters did move (a no-op optimiser would fail the comparison anyway)
    assert not np.allclose(ours[-1]["W"], params["W"])


def test_sgd_is_the_update_equation():
    params, grads = _params_and_grads(steps=1)
    new, state = optim.sgd(params, grads[0], 0.25)
    assert state == {}
    np.testing.assert_array_equal(new["W"], params["W"] - 0.25 * grads[0]["W"])


def test_momentum_first_step_is_plain_sgd_and_state_is_velocity():
    # torch's convention: v_1 = g_1 (no dampening), so the first step equals SGD.
    params, grads = _params_and_grads(steps=2)
    p1, s1 = optim.momentum(params, grads[0], None, lr=0.1, beta=0.9)
    np.testing.assert_allclose(p1["W"], params["W"] - 0.1 * grads[0]["W"], rtol=1e-15)
    np.testing.assert_allclose(s1["v"]["W"], grads[0]["W"], rtol=1e-15)
    _, s2 = optim.momentum(p1, grads[1], s1, lr=0.1, beta=0.9)
    np.testing.assert_allclose(s2["v"]["W"], 0.9 * grads[0]["W"] + grads[1]["W"], rtol=1e-15)


def test_adam_state_counts_steps():
    params, grads = _params_and_grads(steps=3)
    state = optim.adam_init_state(params)
    assert state["t"] == 0
    for g in grads:
        params, state = optim.adam(params, g, state, lr=0.01)
    assert state["t"] == 3


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_float32_stays_float32(name):
    params = {"W": np.ones((2, 3), np.float32)}
    grads = {"W": np.full((2, 3), 0.5, np.float32)}
    step = {"sgd": lambda: optim.sgd(params, grads, 0.1),
            "momentum": lambda: optim.momentum(params, grads, None, 0.1),
            "adam": lambda: optim.adam(params, grads, None, 0.1)}[name]
    new, _ = step()
    assert new["W"].dtype == np.float32


@pytest.mark.parametrize("bad_grads, match", [
    ({"W": np.zeros((3, 4))}, "same keys"),
    ({"W": np.zeros((4, 3)), "b": np.zeros(4)}, "shape"),
    ([np.zeros((3, 4)), np.zeros(4)], "dicts"),
])
def test_mismatched_grads_raise(bad_grads, match):
    params, _ = _params_and_grads(steps=0)
    with pytest.raises(ValueError, match=match):
        optim.sgd(params, bad_grads, 0.1)
    with pytest.raises(ValueError, match=match):
        optim.adam(params, bad_grads, None)


def test_bad_hyperparameters_raise():
    params, grads = _params_and_grads(steps=1)
    with pytest.raises(ValueError, match="lr"):
        optim.sgd(params, grads[0], -0.1)
    with pytest.raises(ValueError, match="beta"):
        optim.momentum(params, grads[0], None, 0.1, beta=1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.adam(params, grads[0], None, betas=(0.9, 1.0))


# --------------------------------------------------------------------------
# schedules
# --------------------------------------------------------------------------

def _torch_lrs(make_sched, lr0, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_sched(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # before sched.step(), as torch requires
        sched.step()
    return lrs


def test_exponential_lr_matches_torch():
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 0.3, 12)
    ours = [optim.exponential_lr(0.3, 0.9, step) for step in range(12)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_exponential_lr_decay_steps_is_continuous():
    # decay_rate per decay_steps steps: after k * decay_steps steps, lr0 * rate^k,
    # and in between a geometric interpolation (strictly decreasing).
    lrs = [optim.exponential_lr(1.0, 0.5, s, decay_steps=4) for s in range(13)]
    np.testing.assert_allclose(lrs[::4], [1, 0.5, 0.25, 0.125], rtol=1e-15)
    assert np.all(np.diff(lrs) < 0)


@pytest.mark.parametrize("step_size, gamma", [(3, 0.5), (1, 0.1), (5, 0.7)])
def test_step_lr_matches_torch(step_size, gamma):
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), 0.2, 16)
    ours = [optim.step_lr(0.2, step, step_size, gamma=gamma) for step in range(16)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_schedule_arguments_are_validated():
    with pytest.raises(ValueError, match="step_size"):
        optim.step_lr(0.1, 3, 0)
    with pytest.raises(ValueError, match="step"):
        optim.exponential_lr(0.1, 0.9, -1)


# --------------------------------------------------------------------------
# clipping
# --------------------------------------------------------------------------

def _torch_grads(grads):
    tp = {k: torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for k, v in grads.items()}
    for k, t in tp.items():
        t.grad = torch.tensor(grads[k], dtype=torch.float64)
    return tp


@pytest.mark.parametrize("max_norm", [0.5, 2.0, 1e3])
def test_clip_by_global_norm_matches_torch(max_norm):
    _, grads = _params_and_grads(steps=1)
    g = grads[0]
    before = copy.deepcopy(g)
    clipped, total = optim.clip_by_global_norm(g, max_norm)
    tp = _torch_grads(g)
    torch_total = torch.nn.utils.clip_grad_norm_(list(tp.values()), max_norm)
    assert total == pytest.approx(torch_total.item(), rel=1e-13)
    for k in g:
        np.testing.assert_allclose(clipped[k], tp[k].grad.numpy(), rtol=1e-13)
        np.testing.assert_array_equal(g[k], before[k])  # not mutated
    new_norm = np.sqrt(sum(np.sum(c**2) for c in clipped.values()))
    if total > max_norm:
        assert new_norm == pytest.approx(max_norm, rel=1e-5)  # torch's eps=1e-6
    else:
        np.testing.assert_array_equal(clipped["W"], g["W"])


def test_clip_by_global_norm_total_is_the_joint_norm():
    g = {"a": np.array([3.0]), "b": np.array([[4.0, 0.0]])}
    clipped, total = optim.clip_by_global_norm(g, 1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(clipped["a"], [3 / 5], rtol=1e-6)
    np.testing.assert_allclose(clipped["b"], [[4 / 5, 0]], rtol=1e-6)


@pytest.mark.parametrize("clip", [0.1, 0.7, 5.0])
def test_clip_by_value_matches_torch(clip):
    _, grads = _params_and_grads(steps=1)
    g = grads[0]
    clipped = optim.clip_by_value(g, clip)
    tp = _torch_grads(g)
    torch.nn.utils.clip_grad_value_(list(tp.values()), clip)
    for k in g:
        np.testing.assert_array_equal(clipped[k], tp[k].grad.numpy())
    assert max(np.abs(c).max() for c in clipped.values()) <= clip


def test_clipping_validates():
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_by_global_norm({"a": np.ones(2)}, 0.0)
    with pytest.raises(ValueError, match="clip"):
        optim.clip_by_value({"a": np.ones(2)}, -1.0)
    with pytest.raises(ValueError, match="dict"):
        optim.clip_by_value([np.ones(2)], 1.0)
