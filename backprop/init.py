"""Weight initialisation: LeCun, Xavier/Glorot and He, normal and uniform,
and PyTorch's ``nn.Linear`` default.

Every initialiser returns a weight matrix W of shape (fan_in, fan_out), the
layout of ``dense_forward(x, W, b)`` with x (N, D), W (D, M): fan_in = D,
fan_out = M. (PyTorch stores ``nn.Linear.weight`` as (M, D); the variances
are the same.) Every initialiser draws zero-mean weights; they differ only in
the variance:

    LeCun et al. (1998)      Var[W] = 1 / fan_in              (forward, linear regime)
    Glorot & Bengio (2010)   Var[W] = 2 / (fan_in + fan_out)  (forward and backward)
    He et al. (2015)         Var[W] = 2 / fan_in              (forward, ReLU)
    torch.nn.Linear default  Var[W] = 1 / (3 fan_in)          (U(-1/sqrt(fan_in), ...))

A uniform distribution on [-a, a] has variance a^2 / 3, so the uniform
variants use a = sqrt(3 Var[W]).
"""

import numpy as np

__all__ = [
    "lecun_std",
    "xavier_std",
    "he_std",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "torch_linear_default",
]


def _check(fan_in, fan_out, rng, dtype):
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a np.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return int(fan_in), int(fan_out), dtype


def lecun_std(fan_in):
    """LeCun et al. (1998) standard deviation, sqrt(1 / fan_in)."""
    return float(np.sqrt(1.0 / fan_in))


def xavier_std(fan_in, fan_out):
    """Glorot & Bengio (2010) std, sqrt(2 / (fan_in + fan_out))."""
    return float(np.sqrt(2.0 / (fan_in + fan_out)))


def he_std(fan_in):
    """He et al. (2015) standard deviation for ReLU, sqrt(2 / fan_in)."""
    return float(np.sqrt(2.0 / fan_in))


def _normal(std, shape, rng, dtype):
    return (std * rng.standard_normal(shape, dtype=dtype)).astype(dtype, copy=False)


def _uniform(bound, shape, rng, dtype):
    # rng.random is uniform on [0, 1); map it to [-bound, bound).
    u = rng.random(shape, dtype=dtype)
    return (bound * (2 * u - 1)).astype(dtype, copy=False)


def xavier_normal(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ N(0, 2 / (D + M)), shape (D, M) = (fan_in, fan_out)."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    return _normal(xavier_std(fan_in, fan_out), (fan_in, fan_out), rng, dtype)


def xavier_uniform(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ U(-a, a), a = sqrt(6 / (D + M)); W (D, M), D = fan_in."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    bound = np.sqrt(3.0) * xavier_std(fan_in, fan_out)
    return _uniform(bound, (fan_in, fan_out), rng, dtype)


def he_normal(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ N(0, 2 / D), shape (D, M) = (fan_in, fan_out)."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    return _normal(he_std(fan_in), (fan_in, fan_out), rng, dtype)


def he_uniform(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ U(-a, a), a = sqrt(6 / D), shape (D, M) = (fan_in, fan_out)."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    bound = np.sqrt(3.0) * he_std(fan_in)
    return _uniform(bound, (fan_in, fan_out), rng, dtype)


def lecun_normal(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ N(0, 1 / D), shape (D, M) = (fan_in, fan_out)."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    return _normal(lecun_std(fan_in), (fan_in, fan_out), rng, dtype)


def lecun_uniform(fan_in, fan_out, rng, dtype=np.float64):
    """W ~ U(-a, a), a = sqrt(3 / D), shape (D, M) = (fan_in, fan_out)."""
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    bound = np.sqrt(3.0) * lecun_std(fan_in)
    return _uniform(bound, (fan_in, fan_out), rng, dtype)


def torch_linear_default(fan_in, fan_out, rng, dtype=np.float64):
    """PyTorch's ``nn.Linear`` weight: W ~ U(-a, a), a = 1/sqrt(D), (D, M).

    ``nn.Linear`` calls ``kaiming_uniform_(weight, a=sqrt(5))``: gain
    sqrt(2 / (1 + 5)) = sqrt(1/3), std = gain / sqrt(D), bound
    sqrt(3) std = 1 / sqrt(D). So Var[W] = 1 / (3 D), a third of LeCun's.
    (It also draws its bias from U(-1/sqrt(D), 1/sqrt(D)); this function
    returns W only.)
    """
    fan_in, fan_out, dtype = _check(fan_in, fan_out, rng, dtype)
    bound = 1.0 / np.sqrt(fan_in)
    return _uniform(bound, (fan_in, fan_out), rng, dtype)
