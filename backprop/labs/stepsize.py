"""Error of a finite-difference derivative against the step size h.

Chapter 5's experiment: a difference quotient has a truncation error that
shrinks with h (O(h) one-sided, O(h^2) central) and a round-off error that
grows like eps / h. Their sum is smallest near h ~ eps^(1/2) (forward) or
h ~ eps^(1/3) (central). The functions work pointwise on a scalar or an
array of points, and take the floating-point type of the arithmetic as an
argument so that the same experiment runs in float64 and float32.
"""

import numpy as np

__all__ = [
    "difference_quotient",
    "step_size_errors",
    "best_step",
    "error_model",
    "theoretical_best_step",
    "plot_step_size",
]

_METHODS = ("central", "forward")
_DTYPES = (np.float16, np.float32, np.float64)


def _check(method, dtype):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if np.dtype(dtype).type not in _DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64, got {np.dtype(dtype)}")


def difference_quotient(f, x, h, method="central", dtype=np.float64):
    """Finite-difference estimate of f'(x), every operation in ``dtype``.

    ``central``: (f(x + h) - f(x - h)) / (2 h);
    ``forward``: (f(x + h) - f(x)) / h.
    ``x`` is a scalar or an array of points; ``f`` is elementwise and keeps
    the dtype (NumPy ufuncs and the package's activations do). Returns a
    float for a scalar ``x``, else a float64 array of the shape of ``x``.
    """
    _check(method, dtype)
    t = np.dtype(dtype).type
    h = t(h)
    if not h > 0:
        raise ValueError(f"h must be positive, got {h}")
    xa = np.atleast_1d(np.asarray(x, dtype=dtype))

    def at(v):
        out = np.asarray(f(v))
        if out.dtype != np.dtype(dtype):
            raise ValueError(f"f must keep the dtype {np.dtype(dtype)}, "
                             f"returned {out.dtype}")
        return out

    # x + h is rounded to dtype: that rounding is part of the experiment.
    if method == "central":
        d = (at(xa + h) - at(xa - h)) / (t(2) * h)
    else:
        d = (at(xa + h) - at(xa)) / h
    d = d.astype(np.float64)
    return float(d[0]) if np.ndim(x) == 0 else d.reshape(np.shape(x))


def step_size_errors(f, dfdx, x, hs, method="central", dtype=np.float64):
    """Error |difference quotient - f'(x)| for every step in ``hs``.

    ``dfdx`` is the exact derivative at ``x`` (computed in float64). When
    ``x`` is an array of points, the error for each h is the mean over the
    points (one point's error is noisy: round-off errors can cancel by luck).
    Returns a float64 array with the shape of ``hs``.
    """
    hs = np.asarray(hs, dtype=np.float64)
    if hs.ndim != 1 or hs.size == 0 or np.any(hs <= 0):
        raise ValueError(f"hs must be a non-empty 1-D array of positive steps, got {hs!r}")
    dfdx = np.asarray(dfdx, dtype=np.float64)
    if dfdx.shape != np.shape(x):
        raise ValueError(f"dfdx must have the shape of x {np.shape(x)}, got {dfdx.shape}")
    return np.array([np.mean(np.abs(difference_quotient(f, x, h, method, dtype) - dfdx))
                     for h in hs])


def best_step(hs, errors):
    """The step with the smallest error, and that error: ``(h, error)``."""
    hs, errors = np.asarray(hs), np.asarray(errors)
    if hs.shape != errors.shape or hs.ndim != 1:
        raise ValueError(f"hs and errors must be 1-D of one shape, got {hs.shape} and {errors.shape}")
    i = int(np.argmin(errors))
    return float(hs[i]), float(errors[i])


def error_model(hs, dtype, method="central", f0=1.0, fk=1.0):
    """Model of the error: truncation + round-off, for each step in ``hs``.

    With u = eps / 2 the unit round-off of ``dtype``, |f(x)| = ``f0`` and
    ``fk`` = |f'''(x)| (central) or |f''(x)| (forward):
    central: h^2 fk / 6 + u f0 / h;  forward: h fk / 2 + 2 u f0 / h.
    """
    _check(method, dtype)
    hs = np.asarray(hs, dtype=np.float64)
    u = np.finfo(dtype).eps / 2
    if method == "central":
        return hs**2 * fk / 6 + u * f0 / hs
    return hs * fk / 2 + 2 * u * f0 / hs


def theoretical_best_step(dtype, method="central", f0=1.0, fk=1.0):
    """The minimiser of :func:`error_model`.

    central: h* = (3 u f0 / fk)^(1/3);  forward: h* = 2 (u f0 / fk)^(1/2).
    """
    _check(method, dtype)
    u = np.finfo(dtype).eps / 2
    if method == "central":
        return float((3 * u * f0 / fk) ** (1 / 3))
    return float(2 * np.sqrt(u * f0 / fk))


def plot_step_size(hs, curves, models=None, title="Error of a difference quotient against the step h"):
    """Log-log plot of error against step.

    ``curves`` maps a label to an error array (one per dtype/method);
    ``models`` (optional) maps a label to a model array drawn dashed, in the
    colour of the curve whose label it contains (grey if none). The smallest
    error of each curve is marked with an open circle. The y range follows
    the measured curves, so a model that rises far above them is cut at the
    top. The legend sits under the axes. Returns the figure.
    """
    import matplotlib.pyplot as plt

    hs = np.asarray(hs, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 5.4))
    floor = np.finfo(np.float64).tiny
    colors, lo, hi = {}, np.inf, 0.0
    for label, err in curves.items():
        err = np.maximum(np.asarray(err, dtype=np.float64), floor)
        (line,) = ax.loglog(hs, err, marker=".", ms=3, lw=1.2, label=label)
        colors[label] = line.get_color()
        h, e = best_step(hs, err)
        ax.plot([h], [e], "o", color=line.get_color(), ms=8, mfc="white", mew=2)
        lo, hi = min(lo, err.min()), max(hi, err.max())
    for label, model in (models or {}).items():
        # longest curve label contained in the model's label gives its colour
        match = max((c for c in colors if c in label), key=len, default=None)
        ax.loglog(hs, model, "--", lw=1, color=colors.get(match, "0.4"), alpha=0.8, label=label)
    if hi > 0:
        ax.set_ylim(lo / 5, hi * 20)
    ax.set_xlabel("step h")
    ax.set_ylabel("absolute error of the derivative estimate")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
              frameon=False)
    fig.tight_layout()
    return fig
