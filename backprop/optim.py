"""Optimisers, learning-rate schedules and gradient clipping, as pure functions.

Parameters and gradients are dicts of arrays with the same keys and shapes,
for example ``{"0.W": (D, H), "0.b": (H,), "2.W": (H, M), "2.b": (M,)}``.
Every optimiser has the signature

    sgd(params, grads, lr)                    -> (new_params, {})
    momentum(params, grads, state, lr, beta)  -> (new_params, new_state)
    adam(params, grads, state, lr, betas, eps) -> (new_params, new_state)

and never writes into ``params``, ``grads`` or ``state``; pass ``state=None``
on the first step (or the result of the matching ``*_init_state``). Arrays
keep the caller's dtype.

Conventions are PyTorch's, so that the tests can compare step by step:

- SGD with momentum (``torch.optim.SGD(momentum=beta, dampening=0)``):
  v <- beta v + g,  p <- p - lr v,  with v = 0 before the first step.
- Adam (Kingma & Ba 2015, ``torch.optim.Adam``): m <- b1 m + (1 - b1) g,
  v <- b2 v + (1 - b2) g^2, p <- p - lr m_hat / (sqrt(v_hat) + eps) with
  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
"""

import numpy as np

__all__ = [
    "sgd",
    "momentum",
    "momentum_init_state",
    "adam",
    "adam_init_state",
    "exponential_lr",
    "step_lr",
    "clip_by_value",
    "clip_by_global_norm",
]


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------

def _check_pair(params, grads):
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise ValueError(
            "params and grads must be dicts of arrays, got "
            f"{type(params).__name__} and {type(grads).__name__}"
        )
    if params.keys() != grads.keys():
        raise ValueError(
            f"params and grads must have the same keys, got {sorted(params)} "
            f"and {sorted(grads)}"
        )
    for k in params:
        if np.shape(params[k]) != np.shape(grads[k]):
            raise ValueError(
                f"grads[{k!r}] must have the shape of params[{k!r}] "
                f"{np.shape(params[k])}, got {np.shape(grads[k])}"
            )


def _check_positive(name, value, allow_zero=False):
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")


def _check_grads(grads):
    if not isinstance(grads, dict):
        raise ValueError(f"grads must be a dict of arrays, got {type(grads).__name__}")


# --------------------------------------------------------------------------
# optimisers
# --------------------------------------------------------------------------

def sgd(params, grads, lr, state=None):
    """Plain gradient descent: p <- p - lr g.

    Stateless; returns ``(new_params, {})`` so that it has the shape of the
    other optimisers (``state`` is accepted and ignored for the same reason).
    """
    _check_pair(params, grads)
    _check_positive("lr", lr, allow_zero=True)
    new_params = {k: params[k] - lr * grads[k] for k in params}
    return new_params, {}


def momentum_init_state(params):
    """Velocity buffers v = 0, one per parameter: {"v": {key: zeros_like(p)}}."""
    return {"v": {k: np.zeros_like(p) for k, p in params.items()}}


def momentum(params, grads, state, lr, beta=0.9):
    """SGD with momentum, PyTorch's convention: v <- beta v + g; p <- p - lr v."""
    _check_pair(params, grads)
    _check_positive("lr", lr, allow_zero=True)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    if state is None:
        state = momentum_init_state(params)
    v = {k: beta * state["v"][k] + grads[k] for k in params}
    new_params = {k: params[k] - lr * v[k] for k in params}
    return new_params, {"v": v}


def adam_init_state(params):
    """Adam's moments m = v = 0 and step count t = 0."""
    return {
        "t": 0,
        "m": {k: np.zeros_like(p) for k, p in params.items()},
        "v": {k: np.zeros_like(p) for k, p in params.items()},
    }


def adam(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Adam with bias correction; returns (new_params, {"t", "m", "v"})."""
    _check_pair(params, grads)
    _check_positive("lr", lr, allow_zero=True)
    b1, b2 = betas
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas must both be in [0, 1), got {betas!r}")
    _check_positive("eps", eps, allow_zero=True)
    if state is None:
        state = adam_init_state(params)
    t = state["t"] + 1
    m = {k: b1 * state["m"][k] + (1 - b1) * grads[k] for k in params}
    v = {k: b2 * state["v"][k] + (1 - b2) * grads[k] ** 2 for k in params}
    new_params = {}
    for k in params:
        m_hat = m[k] / (1 - b1**t)
        v_hat = v[k] / (1 - b2**t)
        new_params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"t": t, "m": m, "v": v}


# --------------------------------------------------------------------------
# learning-rate schedules (functions of the step number)
# --------------------------------------------------------------------------

def exponential_lr(lr0, decay_rate, step, decay_steps=1):
    """lr0 * decay_rate ** (step / decay_steps).

    With ``decay_steps=1`` this is ``torch.optim.lr_scheduler.ExponentialLR``
    with ``gamma=decay_rate`` after ``step`` calls of ``scheduler.step()``.
    """
    _check_positive("lr0", lr0, allow_zero=True)
    _check_positive("decay_rate", decay_rate)
    _check_positive("decay_steps", decay_steps)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step!r}")
    return lr0 * decay_rate ** (step / decay_steps)


def step_lr(lr0, step, step_size, gamma=0.5):
    """lr0 * gamma ** (step // step_size): multiply by gamma every step_size steps.

    ``torch.optim.lr_scheduler.StepLR(step_size, gamma)`` after ``step`` calls.
    """
    _check_positive("lr0", lr0, allow_zero=True)
    _check_positive("gamma", gamma)
    if isinstance(step_size, bool) or not isinstance(step_size, (int, np.integer)) or step_size < 1:
        raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step!r}")
    return lr0 * gamma ** (step // step_size)


# --------------------------------------------------------------------------
# gradient clipping
# --------------------------------------------------------------------------

def clip_by_value(grads, clip):
    """Clamp every gradient entry to [-clip, clip] (``clip_grad_value_``)."""
    _check_grads(grads)
    _check_positive("clip", clip)
    return {k: np.clip(g, -clip, clip) for k, g in grads.items()}


def clip_by_global_norm(grads, max_norm, eps=1e-6):
    """Rescale all gradients together so that their joint L2 norm is <= max_norm.

    total_norm = sqrt(sum_k ||g_k||^2); every g_k is multiplied by
    min(1, max_norm / (total_norm + eps)), PyTorch's ``clip_grad_norm_``
    (including its eps = 1e-6). The direction of the full gradient is kept.
    Returns ``(clipped, total_norm)`` with total_norm the norm before clipping.
    """
    _check_grads(grads)
    _check_positive("max_norm", max_norm)
    total_norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    scale = min(1.0, max_norm / (total_norm + eps))
    clipped = {k: (g * scale).astype(np.result_type(g), copy=False) for k, g in grads.items()}
    return clipped, total_norm
