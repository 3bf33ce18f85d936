"""ex13_cost_of_backprop: right answers pass, each hinted mistake gets its hint, stubs
are not attempted, and the checks' references agree with the package (the counts of
labs.cost, the memory model of labs.cost_lab and tracemalloc, the checkpoint model)."""

import numpy as np
import pytest

from backprop import checkpoint as ck
from backprop.grade.checks import run_question
from backprop.grade.checks import ex13_cost_of_backprop as ex13
from backprop.labs import cost, cost_lab
from check_helpers import (assert_hint, assert_registered, assert_right_answer_passes,
                           assert_stub_not_attempted)

EX = "ex13_cost_of_backprop"
QS = ["q1", "q2", "q3", "q4"]


def dense_backward_macs(N, D, M, input_grad):
    return N * D * M * (2 if input_grad else 1)


def cached_activation_bytes(N, sizes, itemsize):
    return N * sum(sizes[1:]) * itemsize


def weight_gradient(x, delta):
    return np.einsum("nd,nh->dh", x, delta)


CORRECT = {"dense_backward_macs": dense_backward_macs,
           "cached_activation_bytes": cached_activation_bytes,
           "weight_gradient": weight_gradient, "q4_answer": "B"}


def run_with(q, **answers):
    return run_question(EX, q, {**CORRECT, **answers})


def test_registered_with_four_questions():
    assert_registered(EX, QS, 7, CORRECT)


@pytest.mark.parametrize("q", QS)
def test_right_answer_passes(q):
    assert_right_answer_passes(EX, q, CORRECT)


def test_lower_case_letter_passes_too():
    assert run_with("q4", q4_answer="b").status == "passed"


@pytest.mark.parametrize("q", QS)
def test_untouched_stub_is_not_attempted(q):
    assert_stub_not_attempted(EX, q, CORRECT)


def test_references_match_the_package():
    rng = np.random.default_rng(13)
    for _, (N, D, M, input_grad) in ex13.macs_cases(rng):
        layers = cost.count_multiply_adds((7, D, M), N=N)["layers"]
        assert dense_backward_macs(N, D, M, input_grad) == (
            layers[1]["dW"] + (layers[1]["dx"] if input_grad else 0))
    for K, N, H, itemsize in [(1, 3, 5, 8), (4, 64, 32, 4)]:
        assert cached_activation_bytes(N, (9,) + (H,) * K, itemsize) == (
            cost_lab.cached_bytes(K, N, H, itemsize))
    # the memory model of q2 is what tracemalloc measures (float64, equal widths)
    measured = cost_lab.activation_memory(3, 64, 128)
    assert measured == pytest.approx(cached_activation_bytes(64, (128,) * 4, 8), rel=0.01)
    # q4's answer is what the checkpoint model says
    a, b = tuple(range(0, 24, 2)), (0, 6, 12, 18)
    assert ck.peak_activations(24, a) == 14 and ck.peak_activations(24, b) == 10
    # a margin the measured extras (2 to 4 layer outputs, chapter 13) cannot close
    assert ck.peak_activations(24, a) - ck.peak_activations(24, b) >= 3


def test_every_hinted_count_differs_from_the_right_one():
    for seed in range(20):
        for _, (N, D, M, g) in ex13.macs_cases(np.random.default_rng(seed)):
            right = dense_backward_macs(N, D, M, g)
            for wrong in (2 * right, right + N * M, N * D * M if g else 2 * N * D * M):
                assert wrong != right


# ---------------------------------------------------------------- q1 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda N, D, M, g: 2 * N * D * M * (2 if g else 1), ("not floating-point operations",)),
    (lambda N, D, M, g: N * D * M * (2 if g else 1) + N * M, ("leave it out",)),
    (lambda N, D, M, g: N * D * M, ("two products",)),
    (lambda N, D, M, g: 2 * N * D * M, ("skips dx",)),
])
def test_q1_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q1", dense_backward_macs=fn), *words)


# ---------------------------------------------------------------- q2 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda N, s, i: N * sum(s) * i, ("belongs to the caller",)),
    (lambda N, s, i: N * sum(s[1:]), ("multiply by itemsize",)),
    (lambda N, s, i: 8 * N * sum(s[1:]) * i, ("not bits",)),
    (lambda N, s, i: (N * sum(s[1:]) + sum(a * b for a, b in zip(s[:-1], s[1:]))) * i,
     ("parameters",)),
    (lambda N, s, i: N * s[-1] * i, ("not only the last",)),
    (lambda N, s, i: sum(s[1:]) * i, ("N rows",)),
])
def test_q2_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q2", cached_activation_bytes=fn), *words)


# ---------------------------------------------------------------- q3 mistakes

@pytest.mark.parametrize("fn, words", [
    (lambda x, d: d.T @ x, ("transpose",)),
    (lambda x, d: x.T @ d / len(x), ("too small",)),
    (lambda x, d: np.outer(x.sum(0), d.sum(0)), ("column sums",)),
])
def test_q3_mistakes_get_their_hint(fn, words):
    assert_hint(run_with("q3", weight_gradient=fn), *words)


def test_q3_writing_into_an_argument_still_judged_on_the_result():
    res = run_with("q3", weight_gradient=lambda x, d: x.T @ d)
    assert res.status == "passed"


# ---------------------------------------------------------------- q4

def test_q4_wrong_choice_gets_the_counts():
    assert_hint(run_with("q4", q4_answer="A"), "14", "10")


def test_q4_not_a_letter():
    assert run_with("q4", q4_answer="the second").status == "failed"
