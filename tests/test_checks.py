"""Tests of backprop.grade.checks: correct answers pass, typical mistakes fail with the right hint,
the checks' expected values agree with PyTorch autograd, and run_question never raises."""

from pathlib import Path

import numpy as np
import pytest
import torch

from backprop.grade.checks import EXERCISES, STATUSES, Case, Result, check, run_question
from backprop.grade.checks.compare import compare_array



@pytest.fixture(autouse=True, scope="module")
def _float64_default():
    """These tests build float64 torch references; the setting is restored
    afterwards, so no other test module depends on running after this one."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def sig(z):
    return 1 / (1 + np.exp(-z))


def _torch_grads(fn, *arrays):
    """Autograd gradients of the scalar fn(*tensors) with respect to every array."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    fn(*ts).backward()
    return [t.grad.numpy() for t in ts]


# ---------------------------------------------------------------- correct answers

def forward_ok(X, W1, b1, W2, b2):
    z1 = X @ W1 + b1
    a1 = sig(z1)
    z2 = a1 @ W2 + b2
    return z1, a1, z2, sig(z2)


def dense_backward_torch(dout, x, W):
    """Written with PyTorch autograd: independent of the package's reference."""
    b = np.zeros(W.shape[1])
    return tuple(_torch_grads(lambda x, W, b: ((x @ W + b) * torch.tensor(dout)).sum(), x, W, b))


def sigmoid_backward_torch(dout, a):
    z = np.log(a / (1 - a))  # the z with sigmoid(z) = a
    return _torch_grads(lambda z: (torch.sigmoid(z) * torch.tensor(dout)).sum(), z)[0]


def two_layer_backward_torch(X, y, W1, b1, W2, b2):
    def loss(W1, b1, W2, b2):
        z2 = torch.sigmoid(torch.tensor(X) @ W1 + b1) @ W2 + b2
        return torch.nn.functional.mse_loss(z2, torch.tensor(y))
    return tuple(_torch_grads(loss, W1, b1, W2, b2))


def numerical_gradient_ok(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


def rel_error_ok(a, b):
    """Chapter 5's definition: max |a - b| / (|a| + |b|), 0 where both are 0; no floor."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    den = np.abs(a) + np.abs(b)
    safe = np.where(den > 0, den, 1.0)
    return float(np.max(np.where(den > 0, np.abs(a - b) / safe, 0.0)))


def half_mse_backward_torch(pred, y):
    return _torch_grads(lambda p: 0.5 * torch.nn.functional.mse_loss(p, torch.tensor(y)), pred)[0]


def softmax_ce_backward_torch(logits, y):
    """dL/dlogits of F.cross_entropy (mean over the batch), by PyTorch autograd."""
    return _torch_grads(lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(y)), logits)[0]


def clip_torch(grads, max_norm):
    ts = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g.copy())
    norm = float(torch.nn.utils.clip_grad_norm_(ts, max_norm))
    return [t.grad.numpy() for t in ts], norm


def init_ok(rng, hidden):
    return {"W1": rng.standard_normal((2, hidden)), "b1": np.zeros(hidden),
            "W2": rng.standard_normal((hidden, 1)), "b2": np.zeros(1)}


CORRECT = {
    "ex01_forward_pass": {
        "q1_shape_W1": (3, 4), "q1_shape_b1": (4,), "q1_shape_z1": (5, 4), "q1_shape_W2": (4, 2),
        "q1_shape_a2": (5, 2), "forward": forward_ok, "q3_answer": "B "},
    "ex02_chain_rule": {
        # sympy-free by hand: L = 1/2 (s - 1)^2, s = sigmoid(0) = 1/2 -> (-1/2)(1/4)(2)
        "q1_dL_dw": -0.25,
        # L = a^2 * 3a = 3 a^3 -> 9 a^2 at a = 1.5
        "q2_dL_da": 9 * 1.5 ** 2,
        "q3_reverse_passes": 1, "q3_forward_passes": 1000},
    "ex03_backward_pass": {
        "dense_backward": dense_backward_torch, "sigmoid_backward": sigmoid_backward_torch,
        "two_layer_backward": two_layer_backward_torch},
    "ex04_training_xor": {
        "q1_answer": "b", "q2_post_solved": 0, "init_params": init_ok, "learning_rate": 5.0,
        "hidden_units": 4, "epochs": 5000},
    "ex05_gradient_checking": {
        "numerical_gradient": numerical_gradient_ok, "rel_error": rel_error_ok,
        "half_mse_backward": half_mse_backward_torch},
    "ex06_vanishing_gradients": {
        "q1_sigmoid_slope_max": 0.25, "q2_answer": "a", "q3_bound": 0.25 ** 10,
        "clip_by_global_norm": clip_torch, "softmax_cross_entropy_backward": softmax_ce_backward_torch},
}

# Part I's questions; Part II's exercises test theirs in tests/test_checks_exNN.py
ALL_QUESTIONS = [(ex, q.id) for ex, qs in EXERCISES.items() if ex in CORRECT for q in qs]


def test_registry_matches_the_contract():
    solutions = Path(__file__).resolve().parents[1] / "exercises" / "solutions"
    assert sorted(EXERCISES) == sorted(p.stem for p in solutions.glob("ex*.ipynb"))
    assert set(CORRECT) <= set(EXERCISES)
    for ex, qs in EXERCISES.items():
        assert 3 <= len(qs) <= 6, ex
        assert [q.id for q in qs] == [f"q{i + 1}" for i in range(len(qs))]
        assert all(q.points > 0 and q.answers for q in qs)
        if ex in CORRECT:  # Part II's exercises have their own test files
            assert set(CORRECT[ex]) == {n for q in qs for n in q.answers}, ex


@pytest.mark.parametrize("ex,q", ALL_QUESTIONS)
def test_correct_answer_passes(ex, q):
    res = run_question(ex, q, CORRECT[ex])
    assert res.status == "passed", res.text()
    assert res.points == res.max_points > 0
    assert all(c.passed for c in res.cases) and len(res.cases) >= 1


@pytest.mark.parametrize("ex,q", ALL_QUESTIONS)
def test_not_attempted(ex, q):
    qn = next(x for x in EXERCISES[ex] if x.id == q)
    empty = {name: None for name in qn.answers}
    res = run_question(ex, q, empty)
    assert res.status == "not_attempted" and res.points == 0
    assert run_question(ex, q, {}).status == "not_attempted"

    def stub(*args, **kwargs):
        raise NotImplementedError()
    with_stubs = dict(CORRECT[ex])
    with_stubs.update({n: stub for n in qn.answers if callable(CORRECT[ex][n])})
    if any(callable(CORRECT[ex][n]) for n in qn.answers):
        res = run_question(ex, q, with_stubs)
        assert res.status == "not_attempted", res.text()
        assert "NotImplementedError" in res.message and "Traceback" not in res.text()


GARBAGE = ["x", 3, -1.5, float("nan"), (1, 2), [], {"a": 1}, np.full((2, 2), np.nan), True,
           lambda *a, **k: None, lambda *a, **k: "oops", lambda *a, **k: np.full((3, 3), np.nan),
           lambda *a, **k: (1, 2, 3, 4), lambda *a, **k: 1 / 0, lambda *a, **k: [np.ones(2)] * 4]


@pytest.mark.parametrize("ex,q", ALL_QUESTIONS)
def test_run_question_never_raises_for_garbage(ex, q):
    qn = next(x for x in EXERCISES[ex] if x.id == q)
    if ex == "ex04_training_xor" and q == "q3":
        garbage = GARBAGE[:9] + GARBAGE[9:11]  # each valid-looking try trains 10 networks
    else:
        garbage = GARBAGE
    for g in garbage:
        ns = dict(CORRECT[ex])
        ns.update({n: g for n in qn.answers})
        res = run_question(ex, q, ns)
        assert res.status in ("failed", "error"), (g, res.text())
        assert not res.message.startswith("internal"), (g, res.text())
        assert res.points == 0
        assert isinstance(res.text(), str) and "\n" not in res.message


def run_with(ex, q, **answers):
    ns = dict(CORRECT[ex])
    ns.update(answers)
    return run_question(ex, q, ns)


def assert_fails_with(res, *hint_words):
    assert res.status == "failed", res.text()
    hints = " ".join(c.hint for c in res.cases if not c.passed)
    for w in hint_words:
        assert w in hints, (w, res.text())


# ---------------------------------------------------------------- typical mistakes, one per hint

def test_ex01_mistakes():
    assert_fails_with(run_with("ex01_forward_pass", "q1", q1_shape_W1=(4, 3)), "(D, H)")
    assert_fails_with(run_with("ex01_forward_pass", "q1", q1_shape_b1=(5, 4)), "(H,)")

    def no_bias(X, W1, b1, W2, b2):
        return forward_ok(X, W1, 0 * b1, W2, b2)
    assert_fails_with(run_with("ex01_forward_pass", "q2", forward=no_bias), "forgot the bias b1")

    def no_act(X, W1, b1, W2, b2):
        z1 = X @ W1 + b1
        return z1, z1, z1 @ W2 + b2, sig(z1 @ W2 + b2)
    assert_fails_with(run_with("ex01_forward_pass", "q2", forward=no_act), "apply the sigmoid")

    def three(X, W1, b1, W2, b2):
        return forward_ok(X, W1, b1, W2, b2)[:3]
    res = run_with("ex01_forward_pass", "q2", forward=three)
    assert res.status == "failed" and "tuple (z1, a1, z2, a2)" in res.text()
    assert_fails_with(run_with("ex01_forward_pass", "q3", q3_answer="a"), "more memory")
    res = run_with("ex01_forward_pass", "q3", q3_answer="e")
    assert res.status == "failed" and "one of" in res.message


def test_ex02_mistakes():
    assert_fails_with(run_with("ex02_chain_rule", "q1", q1_dL_dw=-0.5), "factor of 2")
    assert_fails_with(run_with("ex02_chain_rule", "q1", q1_dL_dw=0.25), "sign")
    assert_fails_with(run_with("ex02_chain_rule", "q2", q2_dL_da=13.5), "paths add")
    assert_fails_with(run_with("ex02_chain_rule", "q3", q3_reverse_passes=1000, q3_forward_passes=1),
                      "swapped", "one pass per input")


def dense_ok(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def test_ex03_dense_mistakes():
    ex = "ex03_backward_pass"
    assert_fails_with(run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W.T, (x.T @ d).T, d.sum(0))),
                      "transpose")
    res = run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W.T, x.T @ d, d))
    # N=1: db of shape (1, M) equals the sum; every case names the missing sum over the batch
    assert_fails_with(res, "summed over the batch")
    assert_fails_with(run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W.T, x.T @ d, d.mean(0))),
                      "sum dout over the batch")
    assert_fails_with(run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W.T, -(x.T @ d), d.sum(0))),
                      "wrong sign")
    # dx with W instead of W.T: only the square case has the right shape; it must still fail
    assert_fails_with(run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W if W.shape[0] == W.shape[1]
                                                                          else d @ W.T, x.T @ d, d.sum(0))),
                      "instead of its transpose")
    res = run_with(ex, "q1", dense_backward=lambda d, x, W: (d @ W.T, x.T @ d * np.nan, d.sum(0)))
    assert res.status == "failed" and "NaN" in res.text()


def test_ex03_sigmoid_and_network_mistakes():
    ex = "ex03_backward_pass"
    assert_fails_with(run_with(ex, "q2", sigmoid_backward=lambda d, a: d * a), "not a")
    assert_fails_with(run_with(ex, "q2", sigmoid_backward=lambda d, a: a * (1 - a)), "upstream")
    assert_fails_with(run_with(ex, "q2", sigmoid_backward=lambda d, a: d * sig(a) * (1 - sig(a))),
                      "already sigmoid")

    def half(X, y, W1, b1, W2, b2):  # the half-MSE gradient: a factor of 2 missing
        return tuple(g / 2 for g in two_layer_backward_torch(X, y, W1, b1, W2, b2))
    assert_fails_with(run_with(ex, "q3", two_layer_backward=half), "2 times too small")

    def summed(X, y, W1, b1, W2, b2):  # sum of squares instead of the mean: N*M times too large
        return tuple(g * y.size for g in two_layer_backward_torch(X, y, W1, b1, W2, b2))
    res = run_with(ex, "q3", two_layer_backward=summed)
    assert res.status == "failed" and "times" in " ".join(c.hint for c in res.cases)


def test_ex03_reference_matches_torch():
    from backprop.grade.checks.ex03_backward_pass import dense_cases, reference_two_layer, two_layer_cases
    from backprop.layers import dense_backward
    for _, (dout, x, W) in dense_cases(np.random.default_rng(1)):
        for got, exp in zip(dense_backward(dout, (x, W)), dense_backward_torch(dout, x, W)):
            np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)
    for _, args in two_layer_cases(np.random.default_rng(2)):
        for got, exp in zip(reference_two_layer(*args)[1], two_layer_backward_torch(*args)):
            np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)


def test_ex04_mistakes_and_trainer():
    ex = "ex04_training_xor"
    zeros = lambda rng, h: {"W1": np.zeros((2, h)), "b1": np.zeros(h), "W2": np.zeros((h, 1)), "b2": np.zeros(1)}
    assert_fails_with(run_with(ex, "q3", init_params=zeros), "symmetric")
    fixed = lambda rng, h: init_ok(np.random.default_rng(0), h)
    assert_fails_with(run_with(ex, "q3", init_params=fixed), "rng argument")
    from backprop.grade.checks.ex04_training_xor import post_init
    res = run_with(ex, "q3", init_params=post_init, learning_rate=0.5)
    assert_fails_with(res, "plateau")
    assert "0/10 seeds" in res.text()
    res = run_with(ex, "q3", epochs=10 ** 6)
    assert res.status == "failed" and "epochs <= 5000" in res.message
    assert_fails_with(run_with(ex, "q2", q2_post_solved=10), "below")


def test_ex04_trainer_matches_torch():
    """One and two full-batch SGD steps of train_xor equal PyTorch's on the same network."""
    from backprop.grade.checks.ex04_training_xor import XOR_X, XOR_Y, train_xor
    p = init_ok(np.random.default_rng(3), 3)
    for epochs in (1, 2):
        ts = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        opt = torch.optim.SGD(ts.values(), lr=0.7)
        X, y = torch.tensor(XOR_X), torch.tensor(XOR_Y)

        def loss():
            a2 = torch.sigmoid(torch.sigmoid(X @ ts["W1"] + ts["b1"]) @ ts["W2"] + ts["b2"])
            return torch.nn.functional.mse_loss(a2, y)
        for _ in range(epochs):
            opt.zero_grad()
            loss().backward()
            opt.step()
        got = train_xor({k: v[None] for k, v in p.items()}, 0.7, epochs)
        np.testing.assert_allclose(got[0], float(loss().detach()), rtol=1e-12)


def test_ex05_mistakes():
    ex = "ex05_gradient_checking"

    def one_sided(f, x, h=1e-5):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xp = x.copy()
            xp[i] += h
            g[i] = (f(xp) - f(x)) / h
        return g
    assert_fails_with(run_with(ex, "q1", numerical_gradient=one_sided), "one-sided")
    assert_fails_with(run_with(ex, "q1", numerical_gradient=lambda f, x, h=1e-5: 2 * numerical_gradient_ok(f, x, h)),
                      "2h")

    def mutating(f, x, h=1e-5):
        g = numerical_gradient_ok(f, x, h)
        x += h
        return g
    assert_fails_with(run_with(ex, "q1", numerical_gradient=mutating), "restore")

    def naive(a, b):
        return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
    res = run_with(ex, "q2", rel_error=naive)
    assert res.status == "failed"
    assert any(not c.passed and "0/0" in c.name for c in res.cases)
    assert "denominator" in " ".join(c.hint for c in res.cases)

    def floored(a, b):  # the CS231n variant: a floor of 1e-8 in the denominator
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))
    res = run_with(ex, "q2", rel_error=floored)
    assert [c.name for c in res.cases if not c.passed] == ["scalars 1e-12 vs 0"], res.text()
    assert_fails_with(res, "no floor")

    def max_den(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        den = np.maximum(np.abs(a), np.abs(b))
        return float(np.max(np.divide(np.abs(a - b), den, out=np.zeros_like(den), where=den > 0)))
    assert_fails_with(run_with(ex, "q2", rel_error=max_den), "max(|a|, |b|)")

    def warns(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        with np.errstate(invalid="warn"):
            err = np.abs(a - b) / (np.abs(a) + np.abs(b))
        return float(np.max(np.nan_to_num(err)))
    res = run_with(ex, "q2", rel_error=warns)
    assert res.status == "failed" and "warning" in res.text(), res.text()

    from backprop.grade.checks.ex05_gradient_checking import buggy_half_mse_backward
    assert_fails_with(run_with(ex, "q3", half_mse_backward=buggy_half_mse_backward), "still the buggy")
    assert_fails_with(run_with(ex, "q3", half_mse_backward=lambda p, y: -(p - y) / p.size), "sign")


def test_ex05_expected_gradients_match_torch():
    from backprop.grade.checks.ex05_gradient_checking import exact_grad, grad_cases, make_f
    torch_fns = [lambda x: (x ** 3).sum(), None, lambda x: (torch.exp(x) * x).sum()]
    for (name, (spec, x, _)), tf in zip(grad_cases(np.random.default_rng(5)), torch_fns):
        f, exact = make_f(spec), exact_grad(spec, x)
        if tf is not None:
            np.testing.assert_allclose(exact, _torch_grads(tf, x)[0], rtol=1e-12)
        np.testing.assert_allclose(exact, numerical_gradient_ok(f, x), rtol=1e-6, atol=1e-9)


def test_ex06_mistakes_and_torch():
    ex = "ex06_vanishing_gradients"
    assert_fails_with(run_with(ex, "q1", q1_sigmoid_slope_max=1.0), "tanh")
    assert_fails_with(run_with(ex, "q2", q2_answer="b"), "ReLU")
    assert_fails_with(run_with(ex, "q3", q3_bound=2.5), "multiply")

    def per_array(grads, max_norm):
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        return [g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300)) for g in grads], norm
    assert_fails_with(run_with(ex, "q4", clip_by_global_norm=per_array), "global norm")

    def in_place(grads, max_norm):
        clipped, norm = clip_torch(grads, max_norm)
        for g, c in zip(grads, clipped):
            g[...] = c
        return clipped, norm
    assert_fails_with(run_with(ex, "q4", clip_by_global_norm=in_place), "never g *= scale")

    def scale_up(grads, max_norm):
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        return [g * (max_norm / norm if norm else 1.0) for g in grads], norm
    assert_fails_with(run_with(ex, "q4", clip_by_global_norm=scale_up), "only scale down")


def test_ex06_q5_softmax_cross_entropy_backward():
    ex = "ex06_vanishing_gradients"

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def onehot(y, c):
        return np.eye(c)[y]

    def correct(z, y):
        return (softmax(z) - onehot(y, z.shape[1])) / len(y)

    res = run_with(ex, "q5", softmax_cross_entropy_backward=correct)
    assert res.status == "passed" and res.points == 3, res.text()
    assert_fails_with(run_with(ex, "q5", softmax_cross_entropy_backward=lambda z, y: correct(z, y) * len(y)),
                      "divide by N")
    assert_fails_with(run_with(ex, "q5", softmax_cross_entropy_backward=lambda z, y: softmax(z) / len(y)),
                      "subtract the one-hot")
    assert_fails_with(run_with(ex, "q5", softmax_cross_entropy_backward=lambda z, y: -correct(z, y)),
                      "sign is flipped")
    assert_fails_with(run_with(ex, "q5", softmax_cross_entropy_backward=lambda z, y: correct(z, y).T),
                      "transpose")

    def naive(z, y):  # no shift by the row maximum: exp overflows for logits near 1000
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True) - onehot(y, z.shape[1])) / len(y)
    res = run_with(ex, "q5", softmax_cross_entropy_backward=naive)
    assert [c.name for c in res.cases if not c.passed] == ["large logits (3, 4), up to 1000"], res.text()
    assert_fails_with(res, "maximum")

    def stub(z, y):
        raise NotImplementedError()
    assert run_with(ex, "q5", softmax_cross_entropy_backward=stub).status == "not_attempted"
    assert run_with(ex, "q5", softmax_cross_entropy_backward=None).status == "not_attempted"


def test_ex06_q5_reference_matches_torch_and_the_package():
    from backprop.grade.checks.ex06_vanishing_gradients import reference_softmax_ce_backward, softmax_ce_cases
    from backprop.losses import softmax_cross_entropy
    for _, (logits, y) in softmax_ce_cases(np.random.default_rng(6)):
        exp = reference_softmax_ce_backward(logits, y)
        np.testing.assert_allclose(exp, softmax_ce_backward_torch(logits, y), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(exp, softmax_cross_entropy(logits, y)[1], rtol=1e-10, atol=1e-15)


# ---------------------------------------------------------------- core and display

def test_error_status_names_the_exception():
    def boom(*a):
        raise ValueError("shapes (2,3) and (4,5) not aligned")
    res = run_with("ex03_backward_pass", "q1", dense_backward=boom)
    assert res.status == "error" and res.points == 0
    assert "ValueError" in res.message and "not aligned" in res.message


def test_result_text_and_check_print(capsys):
    res = check("ex03_backward_pass", "q2", {"sigmoid_backward": lambda d, a: d * a})
    out = capsys.readouterr().out
    assert isinstance(res, Result) and res.status == "failed"
    assert out.strip() == res.text()
    assert out.splitlines()[0] == 'q2 "sigmoid backward": FAILED (0/2 points)'
    assert "worst element dx[" in out and "hint: the sigmoid's derivative is a (1 - a), not a" in out
    assert res.text() == run_question("ex03_backward_pass", "q2", {"sigmoid_backward": lambda d, a: d * a}).text()
    with pytest.raises(ValueError):
        Result("e", "q", "bogus", 0, 1, "", [])
    assert set(STATUSES) >= {"passed", "failed", "not_attempted", "error", "timeout", "invalid"}


def test_compare_array_worst_element():
    exp = np.arange(6.0).reshape(2, 3)
    got = exp.copy()
    got[1, 2] += 0.5
    case = compare_array("c", "dW", got, exp)
    assert isinstance(case, Case) and not case.passed
    assert case.detail == "worst element dW[1, 2]: expected 5, got 5.5"
    assert compare_array("c", "dW", exp * 3, exp).hint.startswith("dW is 3 times")


def test_panel_html_escapes_and_lists_cases():
    from backprop.grade.checks.panel import panel_html
    res = run_with("ex03_backward_pass", "q2", sigmoid_backward=lambda d, a: d * a)
    html = panel_html(res)
    assert html.count("<tr>") == len(res.cases) == 3
    assert "hint:" in html and "failed" in html


def test_check_warns_about_forbidden_package_calls(capsys):
    from backprop.grade.checks.core import forbidden_calls
    notebook = {}  # the functions are defined as in a notebook, whose globals are this dict
    exec("""
import numpy as np
import backprop.layers
from backprop import layers
from backprop.layers import dense_backward as pkg_dense_backward

def uses_import(dout, x, W):
    return pkg_dense_backward(dout, (x, W))

def uses_attr(dout, x, W):
    return backprop.layers.dense_backward(dout, (x, W))

def uses_module(dout, x, W):
    return layers.dense_backward(dout, (x, W))

def dense_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)

def two_layer_backward(X, y, W1, b1, W2, b2):
    return dense_backward(X, y, W1)
""", notebook)
    for name in ("uses_import", "uses_attr", "uses_module"):
        res = check("ex03_backward_pass", "q1", {"dense_backward": notebook[name]})
        assert res.status == "passed"  # run_question does not enforce it: the grader does
        assert "warning: dense_backward uses backprop.layers.dense_backward" in capsys.readouterr().out
    # the learner's own dense_backward, called from two_layer_backward, is not flagged
    assert forbidden_calls("ex03_backward_pass", "q3", notebook) == []
    assert forbidden_calls("ex03_backward_pass", "q1", notebook) == []
    notebook["dense_backward"] = notebook["pkg_dense_backward"]
    assert forbidden_calls("ex03_backward_pass", "q3", notebook) == [
        "two_layer_backward uses backprop.layers.dense_backward"]


def test_case_inputs_keep_their_dtype_and_outputs_arrive_as_float64():
    """Integer labels reach the learner's function as integers; what it returns is judged as float64."""
    from backprop.grade.checks.core import Question, register
    seen = {}

    def cases(rng):
        return [("labels", (rng.integers(0, 3, size=4), rng.standard_normal((4, 3))))]

    def check_q(ans, cs):
        (name, (y, logits)), = cs
        got = call_("pick", ans["pick"], y, logits)
        seen["got"] = got
        return [Case(name, bool(np.allclose(got, logits[np.arange(4), y])))]

    def pick(y, logits):
        seen["dtype"] = y.dtype.kind
        return logits[np.arange(len(y)), y].astype(np.float32)

    from backprop.grade.checks.core import call as call_
    registry = {}
    register("ex_dtype", (Question("q1", "pick", 1, ("pick",), check_q, cases=cases),), registry=registry)
    res = run_question("ex_dtype", "q1", {"pick": pick}, registry=registry)
    assert res.status == "passed", res.text()
    assert seen["dtype"] == "i" and seen["got"].dtype == np.float64
