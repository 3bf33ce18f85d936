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
    "cosine_lr",
    "clip_by_value",
    "clip_by_global_norm",
]


# --------------------------------------------------------------------------
# optimisers
# --------------------------------------------------------------------------

def sgd(params, grads, lr, state=None):
    """Plain gradient descent: p <- p - lr g.

    Stateless; returns ``(new_params, {})`` so that it has the shape of the
    other optimisers (``state`` is accepted and ignored, for the same
    reason).
    """
    _checked(params, grads, lr=lr)
    new_params = {k: _minus(params[k], lr * grads[k]) for k in params}
    return new_params, {}


def momentum_init_state(params):
    """Velocity buffers v = 0, one per parameter: ``{"v": {key: 0}}``."""
    return {"v": {k: np.zeros_like(p) for k, p in params.items()}}


def momentum(params, grads, state, lr, beta=0.9):
    """SGD with momentum, as PyTorch: v <- beta v + g; p <- p - lr v."""
    _checked(params, grads, lr=lr, beta=beta)
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
    _checked(params, grads, lr=lr, betas=betas, eps=eps)
    b1, b2 = betas
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

    With ``decay_steps=1`` this is torch's ``lr_scheduler.ExponentialLR``
    with ``gamma=decay_rate`` after ``step`` calls of ``scheduler.step()``.
    """
    _checked(lr0=lr0, decay_rate=decay_rate, decay_steps=decay_steps,
             step=step)
    return lr0 * decay_rate ** (step / decay_steps)


def step_lr(lr0, step, step_size, gamma=0.5):
    """lr0 * gamma ** (step // step_size): times gamma every step_size.

    torch's ``lr_scheduler.StepLR(step_size, gamma)`` after ``step`` calls.
    """
    _checked(lr0=lr0, gamma=gamma, step_size=step_size, step=step)
    return lr0 * gamma ** (step // step_size)


def cosine_lr(lr0, step, total_steps, warmup_steps=0, lr_min=0.0):
    """Linear warm-up to lr0, then a half cosine down to lr_min.

    Warm-up, step < warmup_steps: lr0 (step + 1) / warmup_steps, so the
    first step already moves and the last one reaches lr0. Then, with
    t = step - warmup_steps and T = total_steps - warmup_steps,
    lr_min + (lr0 - lr_min) (1 + cos(pi t / T)) / 2, which is lr0 at t = 0
    and lr_min at t = T; lr_min after that. torch: SequentialLR of
    LinearLR(1 / warmup_steps, total_iters=warmup_steps - 1) and
    CosineAnnealingLR(T, eta_min=lr_min), milestone warmup_steps.
    """
    _checked(lr0=lr0, step=step, total_steps=total_steps,
             warmup_steps=warmup_steps, lr_min=lr_min)
    if step < warmup_steps:
        return lr0 * (step + 1) / warmup_steps
    t = min(step - warmup_steps, total_steps - warmup_steps)
    cos = np.cos(np.pi * t / (total_steps - warmup_steps))
    return lr_min + (lr0 - lr_min) * (1 + cos) / 2


# --------------------------------------------------------------------------
# gradient clipping
# --------------------------------------------------------------------------

def clip_by_value(grads, clip):
    """Clamp each gradient entry to [-clip, clip], as clip_grad_value_."""
    _checked(grads=grads, clip=clip)
    return {k: np.clip(g, -clip, clip) for k, g in grads.items()}


def clip_by_global_norm(grads, max_norm, eps=1e-6):
    """Rescale all gradients together so their joint L2 norm <= max_norm.

    total_norm = sqrt(sum_k ||g_k||^2); every g_k is multiplied by
    min(1, max_norm / (total_norm + eps)), PyTorch's ``clip_grad_norm_``
    (including its eps = 1e-6). The direction of the full gradient is kept.
    Returns ``(clipped, total_norm)``, total_norm the norm before clipping.
    """
    _checked(grads=grads, max_norm=max_norm)
    total_norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64))
                                   for g in grads.values())))
    scale = min(1.0, max_norm / (total_norm + eps))
    clipped = {k: (g * scale).astype(np.result_type(g), copy=False)
               for k, g in grads.items()}
    return clipped, total_norm


# --------------------------------------------------------------------------
# boundary checks: one call at the top of each public function
# --------------------------------------------------------------------------

# How each hyper-parameter is checked, by its name.
_AT_LEAST_ZERO = {"lr", "lr0", "eps", "step", "lr_min"}
_ABOVE_ZERO = {"decay_rate", "decay_steps", "gamma", "clip", "max_norm"}


def _minus(p, u):
    """``p - u`` for an update ``u`` we allocated: written into ``u`` when
    its dtype and shape hold the result, so a step allocates one array per
    parameter, not two (each new array costs fresh memory pages)."""
    if (isinstance(u, np.ndarray) and u.shape == np.shape(p)
            and u.dtype == np.result_type(p, u)):
        return np.subtract(p, u, out=u)
    return p - u


def _checked(params=None, grads=None, **hyper):
    """Check the dicts of arrays and every named hyper-parameter."""
    if params is not None:
        _check_pair(params, grads)
    elif grads is not None and not isinstance(grads, dict):
        raise ValueError(f"grads must be a dict of arrays, "
                         f"got {type(grads).__name__}")
    for name, value in hyper.items():
        if name in _AT_LEAST_ZERO or name in _ABOVE_ZERO:
            _check_positive(name, value, allow_zero=name in _AT_LEAST_ZERO)
        elif name == "beta" and not 0 <= value < 1:
            raise ValueError(f"beta must be in [0, 1), got {value!r}")
        elif name == "betas" and not all(0 <= b < 1 for b in value):
            raise ValueError(f"betas must both be in [0, 1), got {value!r}")
        elif name == "step_size" and (isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1):
            raise ValueError(f"step_size must be a positive integer, "
                             f"got {value!r}")
    _check_cosine(**hyper)


def _check_cosine(total_steps=None, warmup_steps=None, lr0=None,
                  lr_min=None, **_):
    if total_steps is None:
        return
    for name, value in (("total_steps", total_steps),
                        ("warmup_steps", warmup_steps)):
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"need 0 <= warmup_steps < total_steps, got "
                         f"warmup_steps={warmup_steps!r}, "
                         f"total_steps={total_steps!r}")
    if lr_min > lr0:
        raise ValueError(f"lr_min must be <= lr0, got lr_min={lr_min!r} "
                         f"and lr0={lr0!r}")


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
