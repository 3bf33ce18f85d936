"""Checks for ex03_backward_pass: dense backward, sigmoid backward, a full two-layer backward."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex03_backward_pass"

SIZES = [(1, 3, 2), (4, 3, 2), (6, 5, 5)]  # (N, D, M): N=1, a general case, a square W


def dense_cases(rng):
    return [(f"N={n}, D={d}, M={m}", (rng.standard_normal((n, m)), rng.standard_normal((n, d)),
                                      rng.standard_normal((d, m))))
            for n, d, m in SIZES]


def _tuple(case, name, got, k, labels):
    if not isinstance(got, (tuple, list)) or len(got) != k:
        return Case(case, False, f"{name} must return a tuple ({', '.join(labels)})",
                    f"got {type_name(got)}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    return None


def _first_failure(cases):
    for c in cases:
        if not c.passed:
            return c
    return cases[-1]


def check_q1(ans, cases):
    from backprop.layers import dense_backward

    fn = ans["dense_backward"]
    out = []
    for name, (dout, x, W) in cases:
        n = x.shape[0]
        got = call("dense_backward", fn, dout.copy(), x.copy(), W.copy())
        bad = _tuple(name, "dense_backward", got, 3, ("dx", "dW", "db"))
        if bad:
            out.append(bad)
            continue
        dx, dW, db = dense_backward(dout, (x, W))
        per = [
            compare_array(name, "dx", got[0], dx, n=n, mistakes=(
                ((dout @ W, "dx = dout @ W.T: you used W instead of its transpose"),)
                if W.shape[0] == W.shape[1] else ())),
            compare_array(name, "dW", got[1], dW, n=n, mistakes=(
                (dW / n, "dW is N times too small: sum over the batch, do not average (the loss already averaged)"),)),
            compare_array(name, "db", got[2], db, n=n, mistakes=(
                (dout.mean(axis=0), "db should sum dout over the batch, not average it"),)),
        ]
        out.append(_first_failure(per))
    return out


def sigmoid_cases(rng):
    out = []
    for shape in [(1, 3), (4, 5), (3,)]:
        z = 2 * rng.standard_normal(shape)
        out.append((f"shape {shape}", (rng.standard_normal(shape), 1 / (1 + np.exp(-z)))))
    return out


def check_q2(ans, cases):
    fn = ans["sigmoid_backward"]
    out = []
    for name, (dout, a) in cases:
        got = call("sigmoid_backward", fn, dout.copy(), a.copy())
        s_a = 1 / (1 + np.exp(-a))
        out.append(compare_array(name, "dx", got, dout * a * (1 - a), mistakes=(
            (a * (1 - a), "multiply the local derivative by the upstream gradient dout"),
            (dout * a, "the sigmoid's derivative is a (1 - a), not a"),
            (dout * (1 - a), "the sigmoid's derivative is a (1 - a), not (1 - a)"),
            (dout * s_a * (1 - s_a), "a is already sigmoid(z): do not apply the sigmoid again"),
        )))
    return out


def reference_two_layer(X, y, W1, b1, W2, b2):
    """z1 = X W1 + b1, a1 = sigmoid(z1), z2 = a1 W2 + b2, L = mse_loss(z2, y); grads of L.

    Trusted side only: the grader's sandbox disables every ``reference_*``."""
    from backprop.activations import sigmoid_backward, sigmoid_forward
    from backprop.layers import dense_backward, dense_forward
    from backprop.losses import mse_loss

    z1, c1 = dense_forward(X, W1, b1)
    a1, cs = sigmoid_forward(z1)
    z2, c2 = dense_forward(a1, W2, b2)
    loss, dz2 = mse_loss(z2, y)
    da1, dW2, db2 = dense_backward(dz2, c2)
    dz1 = sigmoid_backward(da1, cs)
    _, dW1, db1 = dense_backward(dz1, c1)
    return loss, (dW1, db1, dW2, db2)


def two_layer_cases(rng):
    return [(f"N={n}, D={d}, H={h}, M={m}", (
        rng.standard_normal((n, d)), rng.standard_normal((n, m)), rng.standard_normal((d, h)),
        rng.standard_normal(h), rng.standard_normal((h, m)), rng.standard_normal(m)))
        for n, d, h, m in [(1, 2, 3, 1), (5, 3, 4, 2), (8, 2, 6, 3)]]


def check_q3(ans, cases):
    fn = ans["two_layer_backward"]
    out = []
    for name, args in cases:
        n = args[0].shape[0]
        got = call("two_layer_backward", fn, *[a.copy() for a in args])
        labels = ("dW1", "db1", "dW2", "db2")
        bad = _tuple(name, "two_layer_backward", got, 4, labels)
        if bad:
            out.append(bad)
            continue
        _, exp = reference_two_layer(*args)
        m = args[1].shape[1]
        per = []
        for label, g, e in zip(labels, got, exp):
            per.append(compare_array(name, label, g, e, n=n, mistakes=(
                (e * m, f"{label} is M={m} times too large: mse_loss averages over all N*M elements"),
                (e / 2, f"{label} is 2 times too small: the derivative of (z2 - y)^2 is 2 (z2 - y); "
                        f"this loss has no ½"),
            ) if m > 1 else (
                (e / 2, f"{label} is 2 times too small: the derivative of (z2 - y)^2 is 2 (z2 - y); "
                        f"this loss has no ½"),)))
        out.append(_first_failure(per))
    return out


QUESTIONS = (
    Question("q1", "dense layer backward", 3, ("dense_backward",), check_q1,
             forbidden=("backprop.layers.dense_backward",), cases=dense_cases, numpy_only=True),
    Question("q2", "sigmoid backward", 2, ("sigmoid_backward",), check_q2,
             forbidden=("backprop.activations.sigmoid_backward",), cases=sigmoid_cases, numpy_only=True),
    Question("q3", "backward through a two-layer network", 4, ("two_layer_backward",), check_q3,
             forbidden=("backprop.layers.dense_backward", "backprop.activations.sigmoid_backward",
                        "backprop.losses.mse_loss"), cases=two_layer_cases, numpy_only=True),
)

register(EXERCISE, QUESTIONS)
