"""ex08_initialisation's checks: the solution passes, every hinted mistake gets its hint,
an untouched stub is "not attempted", and garbage never crashes a check.

The correct answers are written independently of the checks' expected values:
PyTorch's own initialisers for q1 and q2, the derivation by hand for q3 and q5.
"""

import math

import numpy as np
import pytest
import torch

from backprop.grade.checks import EXERCISES, run_question
from check_helpers import assert_hint

EX = "ex08_initialisation"


def he_torch(fan_in, fan_out, rng):
    torch.manual_seed(int(rng.integers(2**31)))
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)     # torch's (fan_out, fan_in)
    torch.nn.init.kaiming_normal_(t, nonlinearity="relu")
    return t.numpy().T


def glorot_torch(fan_in, fan_out, rng):
    torch.manual_seed(int(rng.integers(2**31)))
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)
    torch.nn.init.xavier_uniform_(t)
    return t.numpy().T


CORRECT = {
    "he_normal_init": he_torch,
    "glorot_uniform_init": glorot_torch,
    # q_1 = 64 * (2/256) * 1 = 1/2; each of the 49 later layers: 256 * (2/256) / 2 = 1.
    "q3_variance_50": 0.5,
    "q4_answer": "b",
    "q5_torch_ratio": 1 / 3,       # gain^2 = 2 / (1 + 5); Var = gain^2 * 3 / fan_in / 3
}
QUESTIONS = [q.id for q in EXERCISES[EX]]


def run_with(q, **answers):
    ns = dict(CORRECT)
    ns.update(answers)
    return run_question(EX, q, ns)


def test_registered_with_five_questions():
    assert QUESTIONS == ["q1", "q2", "q3", "q4", "q5"]
    assert set(CORRECT) == {n for q in EXERCISES[EX] for n in q.answers}


@pytest.mark.parametrize("q", QUESTIONS)
def test_correct_answer_passes(q):
    res = run_question(EX, q, CORRECT)
    assert res.status == "passed", res.text()
    assert res.points == res.max_points > 0


@pytest.mark.parametrize("q", QUESTIONS)
def test_not_attempted(q):
    qn = next(x for x in EXERCISES[EX] if x.id == q)
    assert run_question(EX, q, {n: None for n in qn.answers}).status == "not_attempted"
    assert run_question(EX, q, {}).status == "not_attempted"

    def stub(*args, **kwargs):
        raise NotImplementedError()
    if callable(CORRECT[qn.answers[0]]):
        res = run_with(q, **{qn.answers[0]: stub})
        assert res.status == "not_attempted" and "NotImplementedError" in res.message


def _normal(std_fn):
    return lambda fan_in, fan_out, rng: std_fn(fan_in, fan_out) * rng.standard_normal(
        (fan_in, fan_out))


def _uniform(bound_fn):
    return lambda fan_in, fan_out, rng: rng.uniform(-bound_fn(fan_in, fan_out),
                                                    bound_fn(fan_in, fan_out),
                                                    size=(fan_in, fan_out))


@pytest.mark.parametrize("wrong, words", [
    (_normal(lambda i, o: math.sqrt(2 / o)), ("swapped",)),
    (_normal(lambda i, o: math.sqrt(1 / i)), ("factor 2", "LeCun")),
    (_normal(lambda i, o: 2 / i), ("variance 2/fan_in as the standard deviation",)),
    (_normal(lambda i, o: math.sqrt(2 / (i + o))), ("Glorot",)),
    (_uniform(lambda i, o: math.sqrt(6 / i)), ("normal distribution",)),
    (lambda i, o, rng: math.sqrt(2 / i) * rng.standard_normal((o, i)), ("transposed",)),
    (lambda i, o, rng: math.sqrt(2 / i) * np.random.default_rng().standard_normal((i, o)),
     ("rng argument",)),
    (lambda i, o, rng: 0.5 + math.sqrt(2 / i) * rng.standard_normal((i, o)), ("mean 0",)),
])
def test_q1_mistakes_get_their_hint(wrong, words):
    assert_hint(run_with("q1", he_normal_init=wrong), *words)


@pytest.mark.parametrize("wrong, words", [
    (_uniform(lambda i, o: math.sqrt(2 / (i + o))), ("standard deviation", "sqrt(6/")),
    (_uniform(lambda i, o: 6 / (i + o)), ("square root",)),
    (_uniform(lambda i, o: math.sqrt(3 / i)), ("LeCun",)),
    (_uniform(lambda i, o: math.sqrt(6 / i)), ("He's",)),
    (_normal(lambda i, o: math.sqrt(2 / (i + o))), ("U(-a, a)", "rng.uniform")),
    (lambda i, o, rng: rng.uniform(-1, 1, size=(o, i)) * math.sqrt(6 / (i + o)),
     ("transposed",)),
])
def test_q2_mistakes_get_their_hint(wrong, words):
    assert_hint(run_with("q2", glorot_uniform_init=wrong), *words)


@pytest.mark.parametrize("value, words", [
    (2.0, ("fan_in 64",)),                               # layer 1 with fan 256
    (0.5 * 2.0 ** 49, ("1/2 per layer",)),               # ReLU's half forgotten
    (math.sqrt(0.5), ("standard deviation",)),
    (0.25, ("x enters layer 1 directly",)),
    (1.0, ("only where Var[W] = 2/fan_in",)),
    (64 * math.sqrt(2 / 256) * (256 * math.sqrt(2 / 256) / 2) ** 49, ("Var[W] is 2/256",)),
])
def test_q3_mistakes_get_their_hint(value, words):
    assert_hint(run_with("q3", q3_variance_50=value), *words)


def test_q3_expected_value_matches_a_simulation_in_expectation():
    """The derivation is exact in expectation for ReLU; check the mean over networks
    of a short version (5 layers, so one network's drift is small) by simulation."""
    rng = np.random.default_rng(0)
    q5 = []
    for _ in range(40):
        a = rng.standard_normal((64, 64))                  # (N, D), E[x^2] = 1
        for fan_in in (64, 256, 256, 256, 256):
            z = a @ (math.sqrt(2 / 256) * rng.standard_normal((fan_in, 256)))
            a = np.maximum(z, 0)
        q5.append(np.mean(z * z))
    assert np.mean(q5) == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize("answer, words", [("a", ("W2 = 0",)), ("c", ("tanh(0) = 0",)),
                                           ("d", ("as frequent",))])
def test_q4_mistakes_get_their_hint(answer, words):
    assert_hint(run_with("q4", q4_answer=answer), *words)


@pytest.mark.parametrize("value, words", [(1.0, ("LeCun",)), (2.0, ("He's",)),
                                          (1 / math.sqrt(3), ("its square",))])
def test_q5_mistakes_get_their_hint(value, words):
    assert_hint(run_with("q5", q5_torch_ratio=value), *words)


def test_q5_expected_value_is_what_torch_draws():
    torch.manual_seed(0)
    w = torch.nn.Linear(500, 400, dtype=torch.float64).weight.detach().numpy()
    assert w.var() * 500 == pytest.approx(1 / 3, rel=0.02)


GARBAGE = ["x", 3, -1.5, float("nan"), (1, 2), [], {"a": 1}, True, np.full((2, 2), np.nan),
           lambda *a, **k: None, lambda *a, **k: "oops", lambda *a, **k: np.full((3, 3), np.nan),
           lambda *a, **k: 1 / 0, lambda i, o, rng: np.zeros((i, o)),
           lambda i, o, rng: np.full((i, o), np.inf)]


@pytest.mark.parametrize("q", QUESTIONS)
def test_garbage_never_crashes_a_check(q):
    qn = next(x for x in EXERCISES[EX] if x.id == q)
    for g in GARBAGE:
        res = run_with(q, **{n: g for n in qn.answers})
        assert res.status in ("failed", "error"), (g, res.text())
        assert not res.message.startswith("internal"), (g, res.text())
        assert res.points == 0
