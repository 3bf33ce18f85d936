"""Numerical stability: chapter 7's failing formulas, experiments and figures.

The reference wing holds only stable code (``activations.sigmoid``,
``losses.softmax_cross_entropy``, ``losses.bce_with_logits``). The *naive*
formulas live here, and only to show how they fail: each is the textbook
expression typed as it reads, and each warns or returns inf/NaN at large
inputs. :func:`record_warnings` runs a function and returns the warnings it
raised, so a chapter (and a test suite that turns warnings into errors) can
print them instead of crashing.

Also here: the float32-against-float64 training run on the digits, the
figure of each loss form against the logit scale, and its ipywidgets
explorer (with the static figure at its defaults).
"""

import warnings

import numpy as np

from backprop import data
from backprop.activations import tanh_backward, tanh_forward
from backprop.layers import dense_backward, dense_forward
from backprop.losses import softmax_cross_entropy
from backprop.labs.style import png_bytes

__all__ = [
    "record_warnings",
    "exp_limits",
    "sigmoid_naive",
    "sigmoid_ratio",
    "sigmoid_where",
    "log_sigmoid_naive",
    "softmax_ce_naive",
    "softmax_ce_unfused",
    "bce_on_probabilities",
    "loss_forms",
    "plot_loss_forms",
    "loss_forms_widget",
    "mlp_loss_and_grads",
    "precision_run",
    "plot_precision_run",
]


# ---------------------------------------------------------------- warnings

def record_warnings(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), messages)``: the result and every warning raised.

    Every warning is recorded (``"always"``), also under a warnings-as-errors
    filter such as the test suite's; ``messages`` lists ``str(warning)``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught]


def exp_limits(dtype):
    """Where ``exp`` leaves the floating-point range of ``dtype``.

    Returns a dict: ``overflow`` = log(largest finite), beyond which exp(x)
    is inf; ``underflow`` = log(smallest normal), below which exp(x) loses
    precision (subnormal); ``zero`` = log(smallest subnormal), below which
    exp(x) is exactly 0.
    """
    fi = np.finfo(dtype)
    return {"overflow": float(np.log(fi.max)), "underflow": float(np.log(fi.tiny)),
            "zero": float(np.log(fi.smallest_subnormal))}


# ---------------------------------------------------------------- naive formulas

def sigmoid_naive(x):
    """``1 / (1 + exp(-x))`` as written: exp(-x) overflows for x < -709."""
    return 1 / (1 + np.exp(-x))


def sigmoid_ratio(x):
    """``exp(x) / (1 + exp(x))``: overflows for x > 709, giving inf/inf = NaN."""
    return np.exp(x) / (1 + np.exp(x))


def sigmoid_where(x):
    """Both forms above, chosen by ``np.where``: right values, still warns.

    ``np.where(cond, a, b)`` receives ``a`` and ``b`` already computed for
    every element, so both exponentials are evaluated everywhere.
    """
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def log_sigmoid_naive(x):
    """``log(sigmoid(x))`` in two steps: -inf once sigmoid underflows to 0."""
    return np.log(sigmoid_naive(x))


def softmax_ce_naive(logits, y):
    """Softmax then cross-entropy, no shift: ``(loss, dlogits)``, logits (N, C).

    ``p = exp(z) / sum exp(z)`` overflows for logits above ~709 (float64).
    """
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)               # (N, C)
    loss = -np.log(p[np.arange(n), y]).mean()
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return loss, grad / n


def softmax_ce_unfused(logits, y):
    """Shifted softmax, *then* ``-log p``: ``(loss, dlogits)``, logits (N, C).

    No overflow, but p of the target underflows to 0 when its logit is far
    below the maximum, and ``-log 0 = inf``. The gradient (p - Y)/N is fine.
    """
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)     # (N, C)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return loss, grad / n


def bce_on_probabilities(logits, y):
    """BCE computed on ``p = sigmoid(x)``: ``(loss, dlogits)``, any shape.

    loss = -mean(y log p + (1 - y) log(1 - p)); the gradient goes through p:
    dL/dp = (p - y) / (p (1 - p)) / size, times sigmoid' = p (1 - p). When
    p rounds to 0 or 1 the loss is inf and the gradient 0/0 = NaN.
    """
    from backprop.activations import sigmoid

    p = sigmoid(logits)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dp = (p - y) / (p * (1 - p)) / p.size
    return loss, dp * p * (1 - p)


# ---------------------------------------------------------------- loss forms

FORMS = ("naive", "unfused", "fused")


def loss_forms(scales, dtype=np.float64, target=2):
    """Loss of logits ``s * (1, 0, -1)`` for each s, in each form and exactly.

    ``target`` is the true class (0: the largest logit, 2: the smallest).
    Returns a dict: form name -> array of losses (inf/NaN kept), and
    ``"exact"`` -> the float64 fused loss (exact to rounding in float64).
    Warnings are suppressed: the chapter records them separately.
    """
    scales = np.asarray(scales, dtype=np.float64)
    pattern = np.array([1.0, 0.0, -1.0])
    fns = {"naive": softmax_ce_naive, "unfused": softmax_ce_unfused,
           "fused": softmax_cross_entropy}
    out = {name: np.empty(len(scales)) for name in (*FORMS, "exact")}
    label = np.array([target])
    with np.errstate(all="ignore"):
        for i, s in enumerate(scales):
            z = (s * pattern)[None, :]
            for name, fn in fns.items():
                out[name][i] = fn(z.astype(dtype), label)[0]
            out["exact"][i] = softmax_cross_entropy(z, label)[0]
    return out


def plot_loss_forms(dtypes=(np.float64, np.float32), target=2, scales=None):
    """One panel per dtype: each form's loss against the logit scale s.

    Non-finite values (inf, NaN) are drawn as crosses on the panel's top
    edge; the dotted verticals mark where exp overflows (s = log max).
    """
    import matplotlib.pyplot as plt

    if scales is None:
        scales = np.logspace(-1, 4, 161)
    styles = {"naive": dict(color="tab:red", ls="--", label="naive softmax, then log"),
              "unfused": dict(color="tab:orange", ls=":", lw=2.5,
                              label="shifted softmax, then log"),
              "fused": dict(color="tab:blue", ls="-", lw=1.5,
                            label="fused log-sum-exp (package)")}
    fig, axes = plt.subplots(1, len(dtypes), figsize=(8, 4), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, dtype in zip(axes, dtypes):
        res = loss_forms(scales, dtype, target)
        finite_max = max(np.nanmax(np.where(np.isfinite(v), v, np.nan)) for v in res.values())
        top = 10 * finite_max
        ax.plot(scales, res["exact"], color="0.75", lw=5, label="exact")
        for name in FORMS:
            v = res[name]
            ok = np.isfinite(v) & (v > 0)
            ax.plot(np.where(ok, scales, np.nan), np.where(ok, v, np.nan), **styles[name])
            bad = ~np.isfinite(v)
            height = top if name == "naive" else top / 6
            ax.plot(scales[bad][::8], np.full(bad.sum(), height)[::8], "x",
                    color=styles[name]["color"], ms=6, mew=1.5)
        ax.axvline(exp_limits(dtype)["overflow"], color="k", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("logit scale s, logits s·(1, 0, −1)")
        ax.set_title(f"{np.dtype(dtype).name} (crosses: inf or NaN)", fontsize=10)
    axes[0].set_ylabel("loss (log scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    which = {0: "largest", 1: "middle", 2: "smallest"}[target]
    fig.suptitle(f"Cross-entropy of one example, target = the {which} logit", fontsize=11)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def loss_forms_widget():
    """ipywidgets explorer: dtype and target; the figure is an ``ipywidgets.Image``.

    The book shows :func:`plot_loss_forms` at the defaults next to it.
    """
    
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    dtype = widgets.Dropdown(options=[("float64", "float64"), ("float32", "float32"),
                                      ("float16", "float16")],
                             value="float64", description="dtype")
    target = widgets.Dropdown(options=[("largest logit", 0), ("middle logit", 1),
                                       ("smallest logit", 2)],
                              value=2, description="target")
    image = widgets.Image(format="png")

    def redraw(*_):
        fig = plot_loss_forms((np.dtype(dtype.value).type,), target=target.value)
        fig.set_size_inches(6, 4)
        image.value = png_bytes(fig, dpi=72)

    dtype.observe(redraw, "value")
    target.observe(redraw, "value")
    redraw()
    return widgets.VBox([widgets.HBox([dtype, target]), image])


# ---------------------------------------------------------------- float32 vs float64

def mlp_loss_and_grads(params, X, y):
    """Tanh MLP and softmax cross-entropy: ``(loss, grads, (a_last, delta))``.

    params is a list of (W, b); hidden layers use tanh, the last is linear.
    Everything stays in the dtype of the arrays passed in. The last element
    returned holds the last layer's input a (N, H) and its delta (N, C),
    whose product a.T @ delta is that layer's weight gradient.
    """
    a, caches = X, []
    for i, (W, b) in enumerate(params):
        z, c = dense_forward(a, W, b)
        if i < len(params) - 1:
            a_next, ct = tanh_forward(z)
            caches.append((c, ct))
            a = a_next
        else:
            caches.append((c, None))
            a_last = a
            a = z
    loss, d = softmax_cross_entropy(a, y)
    delta_last = d
    grads = []
    for c, ct in reversed(caches):
        if ct is not None:
            d = tanh_backward(d, ct)
        d, dW, db = dense_backward(d, c)
        grads.append((dW, db))
    return loss, grads[::-1], (a_last, delta_last)


def _flat(grads):
    return np.concatenate([g.ravel().astype(np.float64) for pair in grads for g in pair])


def precision_run(n=256, sizes=(64, 32, 10), steps=240, lr=0.5, every=10, seed=0):
    """Full-batch gradient descent on the first n digits, in float64 and float32.

    Both runs start from the same float64 weights (Xavier-normal scale,
    zero biases). Returns a dict of arrays:

    * ``loss64``, ``loss32``, ``gnorm64`` (length ``steps``): the two runs'
      losses (separate trajectories) and the float64 gradient norm;
    * ``grad_err_traj`` (length ``steps``): ||g32 - g64|| / ||g64|| along the
      two trajectories;
    * ``at`` (every ``every``-th step) and, there, at the float64 run's
      weights (one evaluation's rounding, no drift): ``grad_err_same``,
      ``delta_err_same`` (the same for the top delta (p - Y)/N),
      ``loss_err_same`` (|L32 - L64| / L64) and ``kappa`` = ||p|| / ||p - Y||,
      the cancellation in the subtraction p - Y;
    * ``params64``: the float64 run's final weights.

    The run uses one BLAS thread: on a shared machine threads only compete,
    and one thread fixes the order of every float32 sum.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _precision_run(n, sizes, steps, lr, every, seed)


def _precision_run(n, sizes, steps, lr, every, seed):
    X, y = data.digits()
    X, y = X[:n], y[:n]
    rng = np.random.default_rng(seed)
    p0 = [(rng.standard_normal((d, m)) * np.sqrt(2 / (d + m)), np.zeros(m))
          for d, m in zip(sizes[:-1], sizes[1:])]
    X32 = X.astype(np.float32)
    onehot = np.eye(sizes[-1])[y]                       # (N, C)
    p64 = p0
    p32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in p0]
    rec = {k: np.empty(steps) for k in ("loss64", "loss32", "gnorm64", "grad_err_traj")}
    same = {k: [] for k in ("at", "grad_err_same", "delta_err_same", "loss_err_same",
                            "kappa")}
    lr32 = np.float32(lr)
    for s in range(steps):
        L64, g64, (_, d64) = mlp_loss_and_grads(p64, X, y)
        L32, g32, _ = mlp_loss_and_grads(p32, X32, y)
        f64 = _flat(g64)
        norm = np.linalg.norm(f64)
        rec["loss64"][s], rec["loss32"][s], rec["gnorm64"][s] = L64, L32, norm
        rec["grad_err_traj"][s] = np.linalg.norm(_flat(g32) - f64) / norm
        if s % every == 0 or s == steps - 1:
            cast = [(W.astype(np.float32), b.astype(np.float32)) for W, b in p64]
            L32s, g32s, (_, d32s) = mlp_loss_and_grads(cast, X32, y)
            p = n * d64 + onehot                         # softmax p (N, C)
            same["at"].append(s)
            same["grad_err_same"].append(np.linalg.norm(_flat(g32s) - f64) / norm)
            same["delta_err_same"].append(np.linalg.norm(d32s - d64) / np.linalg.norm(d64))
            same["loss_err_same"].append(abs(float(L32s) - L64) / L64)
            same["kappa"].append(np.linalg.norm(p) / np.linalg.norm(p - onehot))
        p64 = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(p64, g64)]
        p32 = [(W - lr32 * dW, b - lr32 * db) for (W, b), (dW, db) in zip(p32, g32)]
    rec.update({k: np.array(v) for k, v in same.items()})
    rec["params64"] = p64
    return rec


def plot_precision_run(rec):
    """Two panels against the step: the losses, then the relative differences."""
    import matplotlib.pyplot as plt

    u32 = np.finfo(np.float32).eps / 2
    steps = np.arange(1, len(rec["loss64"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 4.6))
    ax1.plot(steps, rec["loss64"], color="tab:blue", lw=3, label="float64")
    ax1.plot(steps, rec["loss32"], color="tab:orange", ls="--", label="float32")
    ax1.plot(steps, rec["gnorm64"], color="0.4", lw=1, label="||gradient||, float64")
    ax1.set_yscale("log")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss, gradient norm (log)")
    ax1.set_title("Training loss, float64 and float32")
    ax1.legend(fontsize=9)
    ax2.plot(steps, rec["grad_err_traj"], color="tab:red", label="gradient, own runs")
    at = rec["at"] + 1
    ax2.plot(at, rec["grad_err_same"], "o", color="tab:purple", ms=3,
             label="gradient, same weights")
    ax2.plot(at, rec["delta_err_same"], "s", color="tab:brown", ms=3, mfc="none",
             label="top delta, same weights")
    ax2.plot(at, u32 * rec["kappa"], color="k", ls=":", label="u32 · ||p|| / ||p − Y||")
    ax2.plot(at, rec["loss_err_same"], color="tab:green", label="loss, same weights")
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel("relative difference (log)")
    ax2.set_title("float32 against float64")
    fig.legend(*ax2.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig
