"""backprop.init's LeCun initialisers and PyTorch's nn.Linear default, against
the formulas and against torch.

Tolerances are those of tests/test_init.py (statistical): with n = D * M =
240,000 samples the sample standard deviation of a normal has relative
standard error 1/sqrt(2 n) = 0.0014 and of a uniform 0.0009, so 1 % is more
than 7 standard errors; a wrong variance (LeCun's is 1/D, Glorot's 2/(D+M) =
1/500, He's 2/D, torch's 1/(3D): all at least 10 % apart in std) always fails.
"""

import math

import numpy as np
import pytest
import torch

from backprop import init

D, M = 400, 600
N_SAMPLES = D * M
RTOL_STD = 0.01

# name: (function, expected std, uniform bound or None)
EXPECTED = {
    "lecun_normal": (init.lecun_normal, math.sqrt(1 / D), None),
    "lecun_uniform": (init.lecun_uniform, math.sqrt(1 / D), math.sqrt(3 / D)),
    "torch_linear_default": (init.torch_linear_default, math.sqrt(1 / (3 * D)), 1 / math.sqrt(D)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_std_mean_and_bound_match_formula(name):
    f, std, bound = EXPECTED[name]
    W = f(D, M, np.random.default_rng(0))
    assert W.shape == (D, M) and W.dtype == np.float64
    assert W.std() == pytest.approx(std, rel=RTOL_STD)
    assert abs(W.mean()) < 6 * std / math.sqrt(N_SAMPLES)
    if bound is not None:
        assert np.abs(W).max() <= bound
        # P(max |W| < bound (1 - 1e-4)) = (1 - 1e-4)^n ~ exp(-24): the support is filled.
        assert np.abs(W).max() > bound * (1 - 1e-4)


def test_lecun_std_is_the_fan_in_rule_and_not_glorot():
    assert init.lecun_std(D) == pytest.approx(1 / math.sqrt(D), rel=1e-15)
    # Equal only for square layers: that is why the two names get confused.
    assert init.lecun_std(300) == pytest.approx(init.xavier_std(300, 300), rel=1e-15)
    assert init.lecun_std(D) != pytest.approx(init.xavier_std(D, M), rel=0.05)


def test_torch_linear_default_bound_is_torchs_kaiming_uniform_with_a_sqrt5():
    # torch computes bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)).
    gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert gain * math.sqrt(3 / D) == pytest.approx(1 / math.sqrt(D), rel=1e-15)


TORCH = {
    # kaiming with gain 1 ("linear") is LeCun's rule: std = 1 / sqrt(fan_in).
    "lecun_normal": lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="linear"),
    "lecun_uniform": lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="linear"),
    "torch_linear_default": lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_same_distribution_as_torch(name):
    torch.manual_seed(0)
    t = torch.empty(M, D, dtype=torch.float64)   # torch's (fan_out, fan_in) layout
    TORCH[name](t)
    theirs = t.numpy()
    ours = EXPECTED[name][0](D, M, np.random.default_rng(2))
    _, std, bound = EXPECTED[name]
    assert theirs.std() == pytest.approx(std, rel=RTOL_STD)
    assert ours.std() == pytest.approx(theirs.std(), rel=2 * RTOL_STD)
    if bound is not None:
        assert np.abs(theirs).max() <= bound * (1 + 1e-12)
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=1e-3)


def test_nn_linear_itself_matches_torch_linear_default():
    """What nn.Linear really draws (weight and bias), not only the init call."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(D, M, dtype=torch.float64)
    W = layer.weight.detach().numpy()              # (M, D)
    b = layer.bias.detach().numpy()
    assert np.abs(W).max() <= 1 / math.sqrt(D) * (1 + 1e-12)
    assert W.std() == pytest.approx(init.torch_linear_default(D, M, np.random.default_rng(3)).std(),
                                    rel=2 * RTOL_STD)
    assert np.abs(b).max() <= 1 / math.sqrt(D) * (1 + 1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_shape_and_determinism(name, dtype):
    f = EXPECTED[name][0]
    a = f(3, 5, np.random.default_rng(7), dtype=dtype)
    b = f(3, 5, np.random.default_rng(7), dtype=dtype)
    c = f(3, 5, np.random.default_rng(8), dtype=dtype)
    assert a.shape == (3, 5) and a.dtype == dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("fan_in, fan_out", [(0, 3), (3, 0), (2.5, 3), (True, 3)])
def test_bad_fan_sizes_raise(name, fan_in, fan_out):
    with pytest.raises(ValueError, match="fan_"):
        EXPECTED[name][0](fan_in, fan_out, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_non_generator_rng_raises(name):
    with pytest.raises(ValueError, match="Generator"):
        EXPECTED[name][0](3, 4, 0)
