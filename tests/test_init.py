"""backprop.init against the formulas of Glorot & Bengio (2010), He et al. (2015)
and torch.nn.init.

Tolerances are statistical. With n = D * M = 240,000 samples the sample
standard deviation s of a normal has relative standard error 1/sqrt(2 n) =
0.0014, and of a uniform (kurtosis 1.8) sqrt(0.8 / n) / 2 = 0.0009; we allow
1 % (more than 7 standard errors, so a correct implementation fails with
probability < 1e-12 and a wrong gain, off by >= 10 %, always fails). The
sample mean has standard error sigma / sqrt(n); we allow 6 of those.
"""

import math

import numpy as np
import pytest
import torch

from backprop import init

D, M = 400, 600
N_SAMPLES = D * M
RTOL_STD = 0.01

NORMAL = {
    "xavier_normal": (init.xavier_normal, math.sqrt(2 / (D + M))),
    "he_normal": (init.he_normal, math.sqrt(2 / D)),
}
UNIFORM = {
    "xavier_uniform": (init.xavier_uniform, math.sqrt(6 / (D + M))),
    "he_uniform": (init.he_uniform, math.sqrt(6 / D)),
}
ALL = {**{k: v[0] for k, v in NORMAL.items()}, **{k: v[0] for k, v in UNIFORM.items()}}


@pytest.mark.parametrize("name", sorted(NORMAL))
def test_normal_std_matches_formula(name):
    f, std = NORMAL[name]
    W = f(D, M, np.random.default_rng(0))
    assert W.shape == (D, M) and W.dtype == np.float64
    assert abs(W.mean()) < 6 * std / math.sqrt(N_SAMPLES)
    assert W.std() == pytest.approx(std, rel=RTOL_STD)


@pytest.mark.parametrize("name", sorted(UNIFORM))
def test_uniform_bound_and_std_match_formula(name):
    f, bound = UNIFORM[name]
    W = f(D, M, np.random.default_rng(1))
    assert W.shape == (D, M) and W.dtype == np.float64
    assert np.abs(W).max() <= bound
    # P(max |W| < bound (1 - 1e-4)) = (1 - 1e-4)^n ~ exp(-24): the support is filled.
    assert np.abs(W).max() > bound * (1 - 1e-4)
    assert W.std() == pytest.approx(bound / math.sqrt(3), rel=RTOL_STD)
    assert abs(W.mean()) < 6 * (bound / math.sqrt(3)) / math.sqrt(N_SAMPLES)


def test_std_helpers_match_torch_gains():
    # torch documents xavier std = gain * sqrt(2 / (fan_in + fan_out)) (gain 1 for
    # linear) and kaiming std = gain / sqrt(fan_in) with gain = calculate_gain("relu").
    assert init.xavier_std(D, M) == pytest.approx(
        torch.nn.init.calculate_gain("linear") * math.sqrt(2 / (D + M)), rel=1e-15)
    assert init.he_std(D) == pytest.approx(
        torch.nn.init.calculate_gain("relu") / math.sqrt(D), rel=1e-15)


TORCH = {
    "xavier_normal": torch.nn.init.xavier_normal_,
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "he_normal": lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu"),
    "he_uniform": lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_same_distribution_as_torch(name):
    """torch stores Linear weights as (fan_out, fan_in) = (M, D); the std and
    the range must agree with ours for the same fan sizes."""
    torch.manual_seed(0)
    t = torch.empty(M, D, dtype=torch.float64)
    TORCH[name](t)
    ours = ALL[name](D, M, np.random.default_rng(2))
    theirs = t.numpy()
    # Two independent estimates, each within 1 % of the truth: within ~2 % of each other.
    assert ours.std() == pytest.approx(theirs.std(), rel=2 * RTOL_STD)
    if name in UNIFORM:
        bound = UNIFORM[name][1]
        assert np.abs(theirs).max() <= bound * (1 + 1e-12)
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=1e-3)
    # And the formula itself, against torch's samples (catches a swapped fan_in/fan_out:
    # for he_*, sqrt(2/600) is 18 % off sqrt(2/400)).
    expected = NORMAL[name][1] if name in NORMAL else UNIFORM[name][1] / math.sqrt(3)
    assert theirs.std() == pytest.approx(expected, rel=RTOL_STD)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_shape_and_determinism(name, dtype):
    f = ALL[name]
    a = f(3, 5, np.random.default_rng(7), dtype=dtype)
    b = f(3, 5, np.random.default_rng(7), dtype=dtype)
    c = f(3, 5, np.random.default_rng(8), dtype=dtype)
    assert a.shape == (3, 5) and a.dtype == dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("fan_in, fan_out", [(0, 3), (3, 0), (-1, 3), (2.5, 3), (True, 3), (3, "4")])
def test_bad_fan_sizes_raise(name, fan_in, fan_out):
    with pytest.raises(ValueError, match="fan_"):
        ALL[name](fan_in, fan_out, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_non_generator_rng_raises(name, rng):
    with pytest.raises(ValueError, match="Generator"):
        ALL[name](3, 4, rng)


def test_bad_dtype_raises():
    with pytest.raises(ValueError, match="dtype"):
        init.xavier_normal(3, 4, np.random.default_rng(0), dtype=np.int64)
