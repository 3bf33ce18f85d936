"""Checks for ex10_training_in_practice: a warm-up + cosine schedule, one momentum
step, the update/weight ratios of an SGD step, and reading a monitor plot."""

from __future__ import annotations

import math

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice, compare_scalar
from backprop.grade.checks.core import Case, Question, call, call_on_copies, register
from backprop.grade.plain import type_name

EXERCISE = "ex10_training_in_practice"


def _first_failure(cases):
    for c in cases:
        if not c.passed:
            return c
    return cases[-1]


# --------------------------------------------------------------------------- q1

def schedule_cases(rng):
    """(name, (lr0, total_steps, warmup_steps, lr_min)): a warm-up of several steps, none, one of
    all but one step, lr_min > 0. lr0 is drawn from ``rng``; the steps, which the edge cases are
    about, are fixed, and so are the names."""
    out = []
    for total, warmup, frac in [(20, 5, 0.0), (12, 0, 0.0), (30, 4, 0.1), (9, 8, 0.1)]:
        lr0 = float(rng.uniform(0.1, 1.0))
        out.append((f"total_steps={total}, warmup_steps={warmup}, "
                    f"lr_min={'lr0 / 10' if frac else '0'}", (lr0, total, warmup, frac * lr0)))
    return out


def call_schedule(fn, args, namespace):
    """Where the learner's code runs: the rates at steps 0..total_steps, or None at the first
    step that returns None."""
    lr0, total, warmup, lr_min = args
    rates = []
    for t in range(total + 1):
        value = fn(lr0, t, total, warmup, lr_min)
        if value is None:
            return None
        rates.append(value)
    return rates


def reference_schedule_variants(lr0, total, warmup, lr_min):
    """The right schedule and the hinted mistakes, each as an array over steps 0..total."""
    def make(warm, phase, period, low, top):
        out = []
        for t in range(total + 1):
            if t < warmup:
                out.append(warm(t))
            else:
                c = math.cos(math.pi * phase(t) / period)
                out.append(low + (top - low) * (1 + c) / 2)
        return np.array(out)

    right_warm = lambda t: lr0 * (t + 1) / warmup
    after = lambda t: t - warmup
    return {
        "right": make(right_warm, after, total - warmup, lr_min, lr0),
        "warm_from_zero": make(lambda t: lr0 * t / warmup, after, total - warmup, lr_min, lr0),
        "warm_quadratic": make(lambda t: lr0 * ((t + 1) / warmup) ** 2, after, total - warmup,
                               lr_min, lr0),
        "phase_from_zero": make(right_warm, lambda t: t, total - warmup, lr_min, lr0),
        "phase_plus_one": make(right_warm, lambda t: t - warmup + 1, total - warmup, lr_min, lr0),
        "period_total": make(right_warm, after, total, lr_min, lr0),
        "no_lr_min": make(right_warm, after, total - warmup, 0.0, lr0),
        "lr_min_added": np.array([
            right_warm(t) if t < warmup else
            lr_min + lr0 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
            for t in range(total + 1)]),
    }


WARM_OFF_BY_ONE = ("off by one in the warm-up: step t = 0 must already use lr0 / warmup_steps, "
                   "so the rate is lr0 * (t + 1) / warmup_steps and reaches lr0 at "
                   "t = warmup_steps - 1")
PHASE_HINT = ("the cosine starts where the warm-up ends: its phase is "
              "pi * (t - warmup_steps) / (total_steps - warmup_steps), which is 0 at "
              "t = warmup_steps")
LR_MIN_HINT = ("the cosine must end at lr_min at the last step t = total_steps: use "
               "lr_min + (lr0 - lr_min) * (1 + cos(...)) / 2")


def check_q1(ans, cases):
    fn = ans["warmup_cosine_lr"]
    out = []
    for name, (lr0, total, warmup, lr_min) in cases:
        got = call("warmup_cosine_lr", fn, lr0, total, warmup, lr_min)   # rates at 0..total
        v = reference_schedule_variants(lr0, total, warmup, lr_min)
        out.append(compare_array(name, "the rates at steps 0..total_steps", got, v["right"],
                                 rtol=1e-9, atol=1e-12, mistakes=(
            (v["warm_from_zero"], WARM_OFF_BY_ONE),
            (v["warm_quadratic"], "the warm-up is not linear: it must rise by the same "
                                  "amount, lr0 / warmup_steps, at every step"),
            (v["phase_from_zero"], PHASE_HINT),
            (v["phase_plus_one"], "off by one in the cosine: at t = warmup_steps its phase is "
                                  "0, so the rate is still lr0 there"),
            (v["period_total"], "the cosine runs over total_steps - warmup_steps steps, not "
                                "total_steps: as written it has not reached lr_min at the end"),
            (v["no_lr_min"], LR_MIN_HINT),
            (v["lr_min_added"], LR_MIN_HINT + " (adding lr_min to lr0 (1 + cos) / 2 starts "
                                "above lr0)"),
        )))
    return out


# --------------------------------------------------------------------------- q2

def momentum_cases(rng):
    return [(f"shape {shape}, lr={lr}, beta={beta}",
             (rng.standard_normal(shape), rng.standard_normal(shape),
              rng.standard_normal(shape), lr, beta))
            for shape, lr, beta in [((3,), 0.1, 0.9), ((2, 4), 0.05, 0.5), ((5, 1), 0.3, 0.99)]]


def check_q2(ans, cases):
    fn = ans["momentum_step"]
    out = []
    for name, (w, g, v, lr, beta) in cases:
        got, wrote = call_on_copies("momentum_step", fn, (w, g, v), lr, beta)
        if wrote:
            out.append(Case(name, False, "momentum_step changed w, g or v in place",
                            "return new arrays; never write into an argument "
                            "(w -= ... changes the caller's array)"))
            continue
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            out.append(Case(name, False, "momentum_step must return a tuple (new_w, new_v)",
                            f"got {type_name(got)}"))
            continue
        v_new = beta * v + g
        damp = beta * v + (1 - beta) * g
        other = beta * v - lr * g                       # v holds the step itself
        per = [
            compare_array(name, "new_v", got[1], v_new, mistakes=(
                (damp, "this is momentum with dampening, beta v + (1 - beta) g; PyTorch's "
                       "SGD(momentum=beta) adds the whole gradient: v <- beta v + g"),
                (other, "that is the convention where v holds the step, v <- beta v - lr g; "
                        "here v is PyTorch's buffer: v <- beta v + g, w <- w - lr v"),
            )),
            compare_array(name, "new_w", got[0], w - lr * v_new, mistakes=(
                (w - lr * v, "update w with the NEW velocity: first v <- beta v + g, "
                             "then w <- w - lr v"),
                (w + lr * v_new, "step against the velocity: w - lr v, not w + lr v"),
                (w - lr * g, "that is a plain SGD step: the velocity is missing"),
                (w - lr * damp, "this is momentum with dampening; PyTorch's buffer is "
                                "beta v + g"),
            )),
        ]
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q3

def ratio_cases(rng):
    out = []
    for sizes, lr in [((4, 3, 2), 1e-2), ((6, 5, 5, 3), 0.3), ((2, 2), 1.0)]:
        params, grads = {}, {}
        for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
            params[f"{2 * i}.W"] = rng.standard_normal((d, m))
            params[f"{2 * i}.b"] = rng.uniform(0.5, 1.0, m)      # nonzero: included = wrong
            grads[f"{2 * i}.W"] = 0.1 * rng.standard_normal((d, m))
            grads[f"{2 * i}.b"] = 0.1 * rng.standard_normal(m)
        out.append((f"layer sizes {sizes}", (params, grads, lr)))
    return out


def check_q3(ans, cases):
    fn = ans["update_weight_ratios"]
    out = []
    for name, (params, grads, lr) in cases:
        got = call("update_weight_ratios", fn, {k: v.copy() for k, v in params.items()},
                   {k: v.copy() for k, v in grads.items()}, lr)
        layers = [k[:-2] for k in params if k.endswith(".W")]
        if not isinstance(got, dict):
            out.append(Case(name, False, "update_weight_ratios must return a dict "
                            "{layer: ratio}", f"got {type_name(got)}"))
            continue
        if sorted(got) != sorted(layers):
            out.append(Case(name, False, f"keys {sorted(got)}, expected {sorted(layers)}",
                            'key each ratio by its layer, the part of "0.W" before the dot; '
                            "one ratio per weight matrix, biases left out"))
            continue
        per = []
        for k in layers:
            W, dW, b, db = params[f"{k}.W"], grads[f"{k}.W"], params[f"{k}.b"], grads[f"{k}.b"]
            nW, ndW = np.linalg.norm(W), np.linalg.norm(dW)
            right = lr * ndW / nW
            with_b = lr * np.sqrt(ndW**2 + np.linalg.norm(db) ** 2) / np.sqrt(nW**2 + np.sum(b**2))
            per.append(compare_scalar(name, f"ratio of layer {k}", got[k], right, rtol=1e-9,
                                      mistakes=(
                (ndW / nW, "that is ||dW|| / ||W||: the update of an SGD step is lr * dW"),
                (1 / right, "the ratio is upside down: ||update|| / ||W||"),
                (right**2, "use norms, not squared norms (np.linalg.norm, or the square root "
                           "of the sum of squares)"),
                (with_b, "the ratio is for the weight matrix W only; leave the bias out"),
                (lr * np.mean(np.abs(dW) / np.abs(W)), "divide the norms, not the entries: "
                                                       "||lr dW|| / ||W||"),
            )))
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q4

Q4_HINTS = {
    "a": "dead units pass no gradient: their gradient norm would be exactly 0, and the "
         "dead-unit panel would read near 100 %; look at both panels again",
    "c": "an explosion shows as gradient norms that grow by orders of magnitude and a loss "
         "that shoots up; here the norms are flat and of order 1",
    "d": "vanishing gradients show as layers whose gradient norms differ by orders of "
         "magnitude; here the three layers' norms are close together",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "b",
                           ("a", "b", "c", "d"), Q4_HINTS)]


QUESTIONS = (
    Question("q1", "a warm-up + cosine learning-rate schedule", 3, ("warmup_cosine_lr",),
             check_q1, forbidden=("backprop.optim.cosine_lr",), cases=schedule_cases,
             call=call_schedule, numpy_only=True),
    Question("q2", "one step of SGD with momentum", 2, ("momentum_step",), check_q2,
             forbidden=("backprop.optim.momentum",), cases=momentum_cases, numpy_only=True),
    Question("q3", "update/weight ratios of an SGD step", 2, ("update_weight_ratios",),
             check_q3, forbidden=("backprop.monitor.update_ratios",), cases=ratio_cases,
             numpy_only=True),
    Question("q4", "diagnose a run from its monitors", 1, ("q4_answer",), check_q4),
)

register(EXERCISE, QUESTIONS)
