"""Checks for ex13_cost_of_backprop: the multiply-adds of a dense layer's backward
pass, the bytes of a network's cached activations, a vectorised weight gradient,
and which of two checkpoint schedules holds less memory."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice, compare_scalar
from backprop.grade.checks.core import Question, call, register

EXERCISE = "ex13_cost_of_backprop"


# --------------------------------------------------------------------------- q1

def macs_cases(rng):
    """(name, (N, D, M, input_grad)): sizes drawn from ``rng``, all different
    (so every hinted mistake gives a different number); names fixed."""
    out = []
    for name, input_grad in [("input_grad=True", True), ("input_grad=False", False),
                             ("input_grad=True, other sizes", True)]:
        N, D, M = (int(v) for v in rng.choice(np.arange(2, 60), size=3, replace=False))
        out.append((name, (N, D, M, input_grad)))
    return out


def check_q1(ans, cases):
    fn = ans["dense_backward_macs"]
    out = []
    for name, (N, D, M, input_grad) in cases:
        got = call("dense_backward_macs", fn, N, D, M, input_grad)
        right = N * D * M * (2 if input_grad else 1)
        if input_grad:
            mistakes = [(N * D * M, "with input_grad the backward pass does two products: "
                                    "dW = x.T @ dout and dx = dout @ W.T, N D M "
                                    "multiply-adds each")]
        else:
            mistakes = [(2 * N * D * M, "input_grad=False skips dx = dout @ W.T: only "
                                        "dW = x.T @ dout is computed")]
        mistakes += [
            (2 * right, "count multiply-adds, not floating-point operations: one "
                        "multiply-add is two FLOPs, and a product (N, D)(D, M) does N D M "
                        "multiply-adds"),
            (right + N * M, "db = dout.sum(0) is N M additions, not a multiply-add of a "
                            "matrix product: leave it out of the count"),
        ]
        out.append(compare_scalar(name, "the multiply-adds", got, right, rtol=0, atol=0.5,
                                  mistakes=tuple(mistakes)))
    return out


# --------------------------------------------------------------------------- q2

def memory_cases(rng):
    out = []
    for name, K, itemsize in [("two layers, float64", 2, 8), ("four layers, float32", 4, 4),
                              ("one layer, float64", 1, 8)]:
        N = int(rng.integers(8, 300))
        sizes = tuple(int(v) for v in rng.integers(3, 700, size=K + 1))
        out.append((name, (N, sizes, itemsize)))
    return out


def check_q2(ans, cases):
    fn = ans["cached_activation_bytes"]
    out = []
    for name, (N, sizes, itemsize) in cases:
        got = call("cached_activation_bytes", fn, N, sizes, itemsize)
        widths = sizes[1:]
        right = N * sum(widths) * itemsize
        weights = sum(d * m for d, m in zip(sizes[:-1], sizes[1:])) * itemsize
        out.append(compare_scalar(name, "the bytes", got, right, rtol=0, atol=0.5, mistakes=(
            (N * sum(sizes) * itemsize, "the input x (N, D) belongs to the caller: count "
                                        "the outputs of the K layers, sizes[1:]"),
            (N * sum(widths), "bytes, not numbers: multiply by itemsize"),
            (8 * right, "bytes, not bits: itemsize is already in bytes"),
            (right + weights, "the weights are parameters, held whatever the batch: "
                              "count only the activations"),
            (N * widths[-1] * itemsize, "every layer's output is still held when the "
                                        "forward pass ends, not only the last one"),
            (sum(widths) * itemsize, "each layer's output has N rows, one per example"),
        )))
    return out


# --------------------------------------------------------------------------- q3

def gradient_cases(rng):
    return [(f"N={n}, D={d}, H={h}", (rng.standard_normal((n, d)), rng.standard_normal((n, h))))
            for n, d, h in [(1, 3, 2), (5, 4, 3), (7, 6, 6), (16, 9, 5)]]


def check_q3(ans, cases):
    fn = ans["weight_gradient"]
    out = []
    for name, (x, delta) in cases:
        got = call("weight_gradient", fn, x.copy(), delta.copy())
        out.append(compare_array(name, "dW", got, x.T @ delta, n=x.shape[0], mistakes=(
            (np.outer(x.sum(0), delta.sum(0)),
             "that is the outer product of the column sums: sum over n of x_n^T delta_n "
             "pairs row n of x with row n of delta, as x.T @ delta does"),
        )))
    return out


# --------------------------------------------------------------------------- q4

Q4_HINTS = {
    "a": "more checkpoints are not always better: schedule A holds its 12 checkpoints plus "
         "the 2 recomputed outputs of one segment, 14 layer outputs; B holds 4 checkpoints "
         "plus the 6 outputs of its longest segment, 10",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "b", ("a", "b"),
                           Q4_HINTS)]


QUESTIONS = (
    Question("q1", "multiply-adds of a dense layer's backward pass", 2,
             ("dense_backward_macs",), check_q1, cases=macs_cases, numpy_only=True),
    Question("q2", "bytes of the cached activations", 2, ("cached_activation_bytes",),
             check_q2, cases=memory_cases, numpy_only=True),
    Question("q3", "a vectorised weight gradient", 2, ("weight_gradient",), check_q3,
             cases=gradient_cases, forbidden=("backprop.labs.cost.weight_gradient_loop",),
             numpy_only=True),
    Question("q4", "which checkpoint schedule holds less memory", 1, ("q4_answer",),
             check_q4),
)

register(EXERCISE, QUESTIONS)
