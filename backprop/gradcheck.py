"""Numerical gradients by central differences, and gradient checking.

``numerical_gradient`` perturbs its argument ``x`` in place, one element at
a time, and restores every element exactly (also when ``f`` raises). This is
the package's one documented exception to "never write into arguments": it
is what lets ``f`` be a closure over ``x``.

Central differences have error O(h^2) from truncation and O(eps/h) from
rounding, so the best step balances the two. Chapter 5 measures it for
float64 at about 1e-5 (the two error terms meet near eps**(1/3)), which is
the default here; with it a correct gradient typically agrees to a relative
error below 1e-8. Work in float64: in float32 the rounding error
swamps the difference, so float32 ``x`` is refused.
"""

import numpy as np


def _check_x(func, x):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"{type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        raise ValueError(f"{func}: x must be a float64 NumPy array (it is perturbed "
                         f"in place, and checks run in float64); got {got}")
    if not x.flags.writeable:
        raise ValueError(f"{func}: x must be writeable (it is perturbed in place and restored)")


def _finite_scalar(func, value, where):
    v = np.asarray(value, dtype=np.float64)
    if v.size != 1:
        raise ValueError(f"{func}: f must return a scalar; got an array of shape {v.shape}")
    v = float(v.reshape(()))
    if not np.isfinite(v):
        raise ValueError(f"{func}: f returned a non-finite value {v} {where}")
    return v


def _finite_array(func, value, shape, where):
    v = np.asarray(value, dtype=np.float64)
    if v.shape != tuple(shape):
        raise ValueError(f"{func}: f must return an array of the shape of dout, {tuple(shape)}; "
                         f"got f(x) of shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{func}: f returned a non-finite value {where}")
    return v


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function ``f(x)`` by central differences.

    Parameters
    ----------
    f : callable, ``f(x) -> scalar``; x is perturbed in place and restored
    x : float64 array, any shape
    h : float > 0, the step

    Returns
    -------
    grad : float64 array like ``x``,
        ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``

    Raises ``ValueError`` when ``f`` returns a non-finite value.
    """
    func = "numerical_gradient"
    _check_x(func, x)
    if not h > 0:
        raise ValueError(f"{func}: h must be > 0; got {h!r}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            fp = _finite_scalar(func, f(x), f"at x{list(i)} + h")
            x[i] = old - h
            fm = _finite_scalar(func, f(x), f"at x{list(i)} - h")
        finally:
            x[i] = old                   # exact restore, whatever happened
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of ``sum(f(x) * dout)`` over ``x``, by central differences.

    This is the vector-Jacobian product that a ``*_backward(dout, cache)``
    computes, so the two can be compared directly.

    Parameters
    ----------
    f : callable, ``f(x) -> array`` of the shape of ``dout``
    x : float64 array, any shape; perturbed in place and restored
    dout : array, the upstream gradient
    h : float > 0

    Returns
    -------
    grad : float64 array like ``x``
    """
    func = "numerical_gradient_array"
    _check_x(func, x)
    if not h > 0:
        raise ValueError(f"{func}: h must be > 0; got {h!r}")
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            fp = _finite_array(func, f(x), dout.shape, f"at x{list(i)} + h")
            x[i] = old - h
            fm = _finite_array(func, f(x), dout.shape, f"at x{list(i)} - h")
        finally:
            x[i] = old
        grad[i] = np.sum((fp - fm) * dout) / (2 * h)
    return grad


def _rel_error_array(a, b):
    """Elementwise |a - b| / (|a| + |b|), 0 where a == b.

    Non-finite entries: equal infinities give 0, anything else inf.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a and b must have the same shape; "
                         f"got a of shape {a.shape} "
                         f"and b of shape {b.shape}")
    err = np.zeros(a.shape)
    finite = np.isfinite(a) & np.isfinite(b)
    # Non-finite entries: equal infinities agree (0), anything else is inf.
    err[~finite & ~(a == b)] = np.inf
    fa, fb = a[finite], b[finite]
    num = np.abs(fa - fb)
    den = np.abs(fa) + np.abs(fb)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    err[finite] = out
    return err


def rel_error(a, b):
    """Largest elementwise relative error ``|a - b| / (|a| + |b|)``.

    0.0 where both are 0 (and for empty arrays); ``inf`` where one side is
    NaN or the infinities differ, so the result is never NaN. Shapes must
    match exactly (no broadcasting), else ``ValueError``.
    """
    err = _rel_error_array(a, b)
    return float(err.max()) if err.size else 0.0


class InputCheck:
    """Result of checking the gradient of one input."""

    def __init__(self, name, rel_error, index, analytic, numeric, tol):
        self.name = name
        self.rel_error = rel_error
        self.index = index          # tuple, the worst element
        self.analytic = analytic    # analytical gradient there
        self.numeric = numeric      # numerical gradient there
        self.tol = tol
        self.passed = bool(rel_error < tol)

    def __str__(self):
        # Two short lines: they fit a notebook's or the book's code box.
        pad = " " * (len(self.name) + 2)
        return (f"{self.name}: rel_error {self.rel_error:.3e} "
                f"{'<' if self.passed else '>='} {self.tol:.0e}  {'PASS' if self.passed else 'FAIL'}\n"
                f"{pad}worst at {self.name}{list(self.index)}: "
                f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}")

    __repr__ = __str__


class GradientCheckResult:
    """Per-input results of :func:`gradient_check`; truthy when all passed."""

    def __init__(self, checks):
        self.checks = list(checks)

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    def __bool__(self):
        return self.passed

    def __getitem__(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def max_rel_error(self):
        return max((c.rel_error for c in self.checks), default=0.0)

    def __str__(self):
        head = f"gradient check {'PASSED' if self.passed else 'FAILED'}"
        return "\n".join([head] + ["  " + str(c) for c in self.checks])

    __repr__ = __str__


def gradient_check(forward, backward, inputs, dout=None, h=1e-5, tol=1e-7,
                   seed=0):
    """Check a forward/backward pair against numerical gradients.

    Parameters
    ----------
    forward : callable, ``forward(*inputs)`` (list) or ``forward(**inputs)``
        (dict) returning ``(out, cache)``. Close over anything that is not
        differentiated (labels, state, flags) with a lambda.
    backward : callable, ``backward(dout, cache)`` returning the gradients
        of the inputs in their order (a single array for one input). A loss
        ``(loss, dlogits)`` checks with ``backward=lambda d, c: d * c``.
    inputs : dict name -> array, or list of arrays (named x0, x1, ...)
    dout : upstream gradient like ``out``; default standard normal (seed)
    h, tol : step of the central differences, pass threshold on rel_error

    Returns
    -------
    GradientCheckResult, whose ``str`` reports for every input the relative
    error and the worst element: its index, analytical and numerical values.

    The inputs are copied to float64 first: the caller's arrays are left
    untouched.
    """
    func = "gradient_check"
    if isinstance(inputs, dict):
        names = list(inputs)
        values = [np.array(v, dtype=np.float64) for v in inputs.values()]
        call = lambda vals: forward(**dict(zip(names, vals)))
    elif isinstance(inputs, (list, tuple)):
        names = [f"x{i}" for i in range(len(inputs))]
        values = [np.array(v, dtype=np.float64) for v in inputs]
        call = lambda vals: forward(*vals)
    else:
        raise ValueError(f"{func}: inputs must be a dict or a list of "
                         f"arrays; got {type(inputs).__name__}")
    out, cache = call(values)
    out = np.asarray(out, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{func}: forward returned a non-finite output")
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(out.shape)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != out.shape:
        raise ValueError(f"{func}: dout must have the shape of the forward "
                         f"output, {out.shape}; "
                         f"got dout of shape {dout.shape}")
    grads = backward(dout if dout.ndim else float(dout), cache)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) < len(values):
        raise ValueError(f"{func}: backward returned {len(grads)} "
                         f"gradients for {len(values)} inputs {names}")
    checks = []
    for k, (name, x, g) in enumerate(zip(names, values, grads)):
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:
            raise ValueError(f"{func}: the gradient of {name} must have "
                             f"the shape of {name}, {x.shape}; "
                             f"got shape {g.shape}")

        def f_k(v, k=k):
            vals = list(values)
            vals[k] = v
            return np.asarray(call(vals)[0], dtype=np.float64)

        num = numerical_gradient_array(f_k, x, dout, h=h)
        err = _rel_error_array(g, num)
        idx = (np.unravel_index(int(np.argmax(err)), err.shape)
               if err.size else ())
        worst = float(err[idx]) if err.size else 0.0
        checks.append(InputCheck(name, worst, tuple(int(i) for i in idx),
                                 float(g[idx]) if err.size else 0.0,
                                 float(num[idx]) if err.size else 0.0, tol))
    return GradientCheckResult(checks)
