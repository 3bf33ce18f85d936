"""Weight initialisation: Xavier/Glorot and He, normal and uniform.

Every initialiser returns a weight matrix W of shape (fan_in, fan_out), the
layout of ``dense_forward(x, W, b)`` with x (N, D), W (D, M): fan_in = D,
fan_out = M. (PyTorch stores ``nn.Linear.weight`` as (M, D); the variances
are the same.)

Glorot & Bengio (2010) keep the variance of activations and of gradients
roughly constant across tanh/sigmoid layers by choosing

    Var[W] = 2 / (fan_in + fan_out).

He et al. (2015) correct for ReLU zeroing half of its inputs and keep the
forward variance constant with

    Var[W] = 2 / fan_in.

A uniform distribution on [-a, a] has variance a^2 / 3, so the uniform
variants use a = sqrt(3 Var[W]).
"""

import numpy as np

__all__ = [
    "xavier_std",
    "he_std",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
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


def xavier_std(fan_in, fan_out):
    """Glorot & Bengio (2010) standard deviation, sqrt(2 / (fan_in + fan_out))."""
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
    """W ~ U(-a, a), a = sqrt(6 / (D + M)), shape (D, M) = (fan_in, fan_out)."""
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
