"""Checks for ex08_initialisation: He normal, Glorot uniform, the layer-50 variance,
zero initialisation, PyTorch's default.

The two initialisers are random, so they are checked statistically on large
samples (400 x 600 and 600 x 400 weights). The sample standard deviation of
n = 240,000 draws has a relative standard error of at most 1/sqrt(2 n) =
0.0015, so a 3 % tolerance passes a correct answer with overwhelming
probability; every mistake with a hint below is at least 18 % off.

The learner's function takes a ``np.random.Generator``, which cannot travel
as plain data: each case carries a seed instead, and ``call_seeded`` builds
the generator where the learner's code runs. The last two cases share one
seed: an answer that draws from its ``rng`` returns the same W twice.
"""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_choice, compare_scalar
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex08_initialisation"

FANS = [(400, 600), (600, 400)]       # both orders, so a swapped fan_in/fan_out shows
RTOL_STD = 0.03


def init_cases(rng):
    """(name, (fan_in, fan_out, seed)): the two large draws, then two draws with one seed."""
    seeds = [int(s) for s in rng.integers(0, 2**31, size=3)]
    return [(f"fan_in={fan_in}, fan_out={fan_out}", (fan_in, fan_out, seed))
            for (fan_in, fan_out), seed in zip(FANS, seeds)] + [
        ("reproducible, first call", (30, 20, seeds[2])),
        ("reproducible, second call", (30, 20, seeds[2])),
    ]


def call_seeded(fn, args, namespace):
    """Where the learner's code runs: ``fn(fan_in, fan_out, np.random.default_rng(seed))``."""
    return fn(*args[:-1], np.random.default_rng(args[-1]))


def _draw(name, fn, fan_in, fan_out, seed):
    """The learner's W as a float array, or a failing Case."""
    got = call(name, fn, fan_in, fan_out, np.random.default_rng(seed))
    case = f"fan_in={fan_in}, fan_out={fan_out}"
    try:
        W = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None, Case(case, False, f"{name} must return an array of numbers, "
                                       f"got {type_name(got)}")
    if W.shape != (fan_in, fan_out):
        hint = ("W is (fan_in, fan_out), the layout of x @ W: yours is transposed"
                if W.shape == (fan_out, fan_in) else "")
        return None, Case(case, False, f"W has shape {W.shape}, expected {(fan_in, fan_out)}",
                          hint)
    if not np.isfinite(W).all():
        return None, Case(case, False, "W contains NaN or inf")
    return W, None


def _uses_rng(name, fn, first, second):
    """A Case when the answer ignores its ``rng`` argument, else None.

    ``first`` and ``second``: the two reproducibility cases' args, one seed."""
    a = np.asarray(call(name, fn, *first[:-1], np.random.default_rng(first[-1])), dtype=np.float64)
    b = np.asarray(call(name, fn, *second[:-1], np.random.default_rng(second[-1])), dtype=np.float64)
    if a.shape != b.shape or not np.array_equal(a, b):
        return Case("reproducible", False, "two calls with the same seeded rng gave different W",
                    "draw from the rng argument (rng.standard_normal, rng.uniform), "
                    "not from np.random")
    return None


def _std_case(case, W, expected, wrong):
    std = float(W.std())
    if abs(std / expected - 1) < RTOL_STD and abs(W.mean()) < 6 * expected / np.sqrt(W.size):
        return None
    if abs(std / expected - 1) < RTOL_STD:
        return Case(case, False, f"the mean of W is {W.mean():.3g}, expected 0 "
                                 f"(within {6 * expected / np.sqrt(W.size):.1g})",
                    "the weights must have mean 0: draw them symmetric about 0")
    for value, hint in wrong:
        if abs(std / value - 1) < RTOL_STD:
            return Case(case, False, f"std of W is {std:.4g}, expected {expected:.4g}", hint)
    return Case(case, False, f"std of W is {std:.4g}, expected {expected:.4g}")


def check_q1(ans, cases):
    fn = ans["he_normal_init"]
    out = []
    *draws, (_, first), (_, second) = cases
    for case, (fan_in, fan_out, seed) in draws:
        W, bad = _draw("he_normal_init", fn, fan_in, fan_out, seed)
        if bad:
            out.append(bad)
            continue
        expected = np.sqrt(2 / fan_in)
        if np.abs(W).max() < 2.5 * W.std():
            out.append(Case(case, False, f"max |W| is only {np.abs(W).max() / W.std():.2f} "
                                         "standard deviations: these are not normal draws",
                            "He normal draws from a normal distribution: "
                            "rng.standard_normal((fan_in, fan_out)) * std"))
            continue
        bad = _std_case(case, W, expected, (
            (np.sqrt(2 / fan_out), "fan_in and fan_out are swapped: the forward condition "
                                   "divides by the number of inputs per unit, fan_in"),
            (np.sqrt(1 / fan_in), "a factor 2 is missing: sqrt(1/fan_in) is LeCun's rule; "
                                  "ReLU halves E[a^2], so He doubles the variance"),
            (2 / fan_in, "you used the variance 2/fan_in as the standard deviation: "
                         "std = sqrt(2/fan_in)"),
            (np.sqrt(2 / (fan_in + fan_out)), "that is Glorot's variance 2/(fan_in + fan_out); "
                                              "He's is 2/fan_in"),
        ))
        out.append(bad or Case(case, True))
    if all(c.passed for c in out):
        bad = _uses_rng("he_normal_init", fn, first, second)
        out.append(bad or Case("reproducible", True))
    return out


def check_q2(ans, cases):
    fn = ans["glorot_uniform_init"]
    out = []
    *draws, (_, first), (_, second) = cases
    for case, (fan_in, fan_out, seed) in draws:
        W, bad = _draw("glorot_uniform_init", fn, fan_in, fan_out, seed)
        if bad:
            out.append(bad)
            continue
        bound = np.sqrt(6 / (fan_in + fan_out))
        top = float(np.abs(W).max())
        if top > 2.5 * W.std():
            out.append(Case(case, False, f"max |W| is {top / W.std():.2f} standard deviations: "
                                         "these are not uniform draws",
                            "Glorot uniform draws from U(-a, a): rng.uniform(-a, a, size)"))
            continue
        if top <= bound * (1 + 1e-12) and top > bound * (1 - 1e-3):
            bad = _std_case(case, W, bound / np.sqrt(3), ())
            out.append(bad or Case(case, True))
            continue
        hints = (
            (np.sqrt(2 / (fan_in + fan_out)), "your bound is the standard deviation "
                                              "sqrt(2/(fan_in + fan_out)); U(-a, a) has std "
                                              "a/sqrt(3), so a = sqrt(6/(fan_in + fan_out))"),
            (6 / (fan_in + fan_out), "the bound is a square root: a = sqrt(6/(fan_in + fan_out))"),
            (np.sqrt(3 / fan_in), "sqrt(3/fan_in) is LeCun's uniform bound; Glorot's averages "
                                  "the fans: sqrt(6/(fan_in + fan_out))"),
            (np.sqrt(6 / fan_in), "sqrt(6/fan_in) is He's uniform bound; Glorot's is "
                                  "sqrt(6/(fan_in + fan_out))"),
        )
        hint = next((h for value, h in hints if value * (1 - 1e-2) < top <= value * (1 + 1e-12)),
                    "")
        out.append(Case(case, False, f"max |W| is {top:.4g}, expected the bound "
                                     f"a = {bound:.4g} (just below it)", hint))
    if all(c.passed for c in out):
        bad = _uses_rng("glorot_uniform_init", fn, first, second)
        out.append(bad or Case("reproducible", True))
    return out


# q3: D = 64 inputs with E[x^2] = 1, layer 1 64 -> 256, layers 2..50 256 -> 256, ReLU,
# no biases, every W ~ N(0, 2/256).
Q3_VAR = 2 / 256
Q3_EXPECTED = 64 * Q3_VAR * 1.0 * (256 * Q3_VAR / 2) ** 49          # = 0.5


def check_q3(ans):
    std = np.sqrt(Q3_VAR)
    return [compare_scalar("q_50", "q3_variance_50", ans["q3_variance_50"], Q3_EXPECTED,
                           rtol=1e-3, atol=0, mistakes=(
        (256 * Q3_VAR, "layer 1 has fan_in 64 (its inputs), not 256: "
                       "q_1 = 64 * Var[W] * E[x^2]"),
        (64 * Q3_VAR * (256 * Q3_VAR) ** 49, "a factor 1/2 per layer is missing: "
                                             "E[relu(z)^2] = E[z^2] / 2"),
        (np.sqrt(Q3_EXPECTED), "that is a standard deviation; the question asks for the "
                               "variance E[z_50^2]"),
        (Q3_EXPECTED / 2, "x enters layer 1 directly: only z_1 ... z_49 pass through a ReLU "
                          "before the next layer"),
        (1.0, "He's rule preserves the variance only where Var[W] = 2/fan_in of that layer; "
              "layer 1 has fan_in 64"),
        (64 * std * (256 * std / 2) ** 49, "Var[W] is 2/256; you used the standard "
                                           "deviation sqrt(2/256) in its place"),
    ))]


Q4_HINTS = {
    "a": "with W2 = 0 the gradient reaching the hidden layer, dL/dz2 @ W2.T, is 0: "
         "W1 and b1 get no gradient",
    "c": "tanh(0) = 0, so a1 = 0 and dL/dW2 = a1.T @ dL/dz2 = 0",
    "d": "b2's gradient is the sum over the batch of (p - Y) / N: it is not zero unless every "
         "class is exactly as frequent as the others",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "b",
                           ("a", "b", "c", "d"), Q4_HINTS)]


def check_q5(ans):
    return [compare_scalar("Var[W] * fan_in", "q5_torch_ratio", ans["q5_torch_ratio"], 1 / 3,
                           rtol=1e-3, atol=0, mistakes=(
        (1.0, "1 is LeCun's rule; torch's weights are U(-b, b) with b = 1/sqrt(fan_in), "
              "and U(-b, b) has variance b^2 / 3"),
        (2.0, "2 is He's rule for ReLU; torch's default is kaiming_uniform_ with a = sqrt(5)"),
        (1 / np.sqrt(3), "sqrt(1/3) is the gain, a ratio of standard deviations; "
                         "the variance ratio is its square"),
    ))]


QUESTIONS = (
    Question("q1", "He normal initialisation", 2, ("he_normal_init",), check_q1,
             forbidden=("backprop.init.he_normal", "backprop.init.he_std"), cases=init_cases,
             call=call_seeded, numpy_only=True),
    Question("q2", "Glorot uniform initialisation", 2, ("glorot_uniform_init",), check_q2,
             forbidden=("backprop.init.xavier_uniform", "backprop.init.xavier_std"), cases=init_cases,
             call=call_seeded, numpy_only=True),
    Question("q3", "predict the variance at layer 50", 2, ("q3_variance_50",), check_q3),
    Question("q4", "what a zero initialisation learns", 1, ("q4_answer",), check_q4),
    Question("q5", "PyTorch's nn.Linear default", 1, ("q5_torch_ratio",), check_q5),
)

register(EXERCISE, QUESTIONS)
