"""Batch normalisation in a deep ReLU network: chapter 9's experiments.

A deep MLP on scikit-learn's 8x8 digits, built from the package's pairs:
each hidden layer is dense -> (BatchNorm) -> ReLU, the last layer is dense
and feeds the softmax cross-entropy. Trained with mini-batch SGD, with and
without BatchNorm, it measures the largest learning rate that still trains,
the loss curves and the weight-gradient norm of every layer.

Also here: the source post's "simplified" BatchNorm backward, written out
from its three formulas so that the chapter can measure it, and the
ipywidgets explorer with its static default figure.

Parameters are a flat dict (``"3.W"``, ``"3.b"``, ``"3.gamma"``,
``"3.beta"``; layer 0 next to the input) and the running statistics a list
of per-layer states, so that ``backprop.optim.sgd`` updates the parameters
and ``batchnorm_forward`` returns the new statistics (nothing is mutated).
"""

import numpy as np

from backprop import init, optim
from backprop.activations import relu_backward, relu_forward
from backprop.batchnorm import (batchnorm_backward, batchnorm_forward,
                                batchnorm_init_state)
from backprop.layers import dense_backward, dense_forward
from backprop.losses import softmax_cross_entropy
from backprop.labs.style import png_bytes

__all__ = [
    "source_post_backward",
    "make_net",
    "net_forward",
    "net_backward",
    "train_net",
    "weight_grad_norms",
    "lr_sweep",
    "largest_lr_that_trains",
    "jacobian",
    "plot_jacobian",
    "plot_lr_sweep",
    "plot_loss_curves",
    "plot_grad_norms",
    "explorer_figure",
    "explorer_widget",
]

LOSS_TRAINS = 1.0       # last-epoch training loss below this: the run "trains"
                        # (less than half the loss of a uniform guess, ln 10)


def source_post_backward(dout, x, gamma, eps=1e-5):
    """dx by the source post's three formulas (training mode), x and dout (N, D).

    With m = N, xc = x - mean(x) and var the biased variance::

        dvar  = sum(dxhat * xc * (-1/2) (var + eps)^(-3/2))
        dmean = sum(-dxhat / sqrt(var + eps))
        dx    = dxhat / sqrt(var + eps) + dvar * 2 xc / m + dmean / m

    where dxhat = dout * gamma. It returns dx only: the post computes no
    dgamma or dbeta.
    """
    m = x.shape[0]
    xc = x - x.mean(axis=0)                          # (N, D)
    var = x.var(axis=0)                              # (D,), biased
    dxhat = dout * gamma                             # (N, D)
    dvar = np.sum(dxhat * xc * -0.5 * (var + eps) ** -1.5, axis=0)
    dmean = np.sum(-dxhat / np.sqrt(var + eps), axis=0)
    return dxhat / np.sqrt(var + eps) + dvar * 2 * xc / m + dmean / m


def jacobian(x, gamma, train=True, eps=1e-5):
    """The (D, N, N) Jacobians d out[:, j] / d x[:, j] of batchnorm_forward.

    Column j of the output depends only on column j of the input, so the
    full Jacobian is block diagonal with one (N, N) block per feature; each
    block is built column by column from ``batchnorm_backward`` (dout = a
    one-hot), so it shows what the backward pass computes. Evaluation mode
    uses running statistics equal to this batch's own (biased) mean and
    variance: the same output as training mode, without the coupling.
    """
    n, d = x.shape
    state = {"running_mean": x.mean(axis=0), "running_var": x.var(axis=0)}
    _, cache, _ = batchnorm_forward(x, gamma, np.zeros(d), state, train=train, eps=eps)
    J = np.zeros((d, n, n))
    for i in range(n):
        dout = np.zeros((n, d))
        dout[i] = 1.0
        J[:, i, :] = batchnorm_backward(dout, cache)[0].T      # d out_i / d x_k
    return J


# --------------------------------------------------------------------------
# the deep MLP, with or without BatchNorm
# --------------------------------------------------------------------------

def make_net(sizes, batchnorm, rng, gain=1.0):
    """Parameters and running statistics of an MLP with layer sizes ``sizes``.

    ``sizes = [D, H, ..., H, C]``; W of layer l is He-normal times ``gain``,
    b = 0; with ``batchnorm`` every hidden layer also gets gamma = 1, beta = 0
    and fresh running statistics. Returns ``(params, states)``; ``states`` is
    a list with one state per hidden layer (``None`` without BatchNorm).
    """
    params, states = {}, []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"{i}.W"] = gain * init.he_normal(fan_in, fan_out, rng)
        params[f"{i}.b"] = np.zeros(fan_out)
        if i < len(sizes) - 2:
            if batchnorm:
                params[f"{i}.gamma"] = np.ones(fan_out)
                params[f"{i}.beta"] = np.zeros(fan_out)
            states.append(batchnorm_init_state(fan_out) if batchnorm else None)
    return params, states


def _n_layers(params):
    return sum(k.endswith(".W") for k in params)


def net_forward(X, params, states, train=True):
    """Forward: dense -> (BatchNorm) -> ReLU per hidden layer, then dense.

    BatchNorm is used where ``params`` holds a layer's gamma. Returns
    ``(logits, caches, new_states)``; logits (N, C).
    """
    a, caches, new_states = X, [], []
    last = _n_layers(params) - 1
    for i in range(last + 1):
        W, b = params[f"{i}.W"], params[f"{i}.b"]
        z, dense_cache = dense_forward(a, W, b)
        if i == last:
            caches.append((dense_cache, None, None))
            return z, caches, new_states
        bn_cache = None
        if f"{i}.gamma" in params:
            gamma, beta = params[f"{i}.gamma"], params[f"{i}.beta"]
            z, bn_cache, state = batchnorm_forward(z, gamma, beta,
                                                   states[i], train)
            new_states.append(state)
        else:
            new_states.append(None)
        a, relu_cache = relu_forward(z)
        caches.append((dense_cache, bn_cache, relu_cache))


def net_backward(dout, caches):
    """Backward through :func:`net_forward`'s layers; returns the grads."""
    grads = {}
    for i in reversed(range(len(caches))):
        dense_cache, bn_cache, relu_cache = caches[i]
        if relu_cache is not None:
            dout = relu_backward(dout, relu_cache)
        if bn_cache is not None:
            dout, dgamma, dbeta = batchnorm_backward(dout, bn_cache)
            grads[f"{i}.gamma"], grads[f"{i}.beta"] = dgamma, dbeta
        dout, dW, db = dense_backward(dout, dense_cache)
        grads[f"{i}.W"], grads[f"{i}.b"] = dW, db
    return grads


def train_net(X, y, params, states, lr, epochs, batch_size=64, seed=0):
    """Mini-batch SGD on softmax cross-entropy; returns a dict of results.

    Each epoch visits the rows of X in a new random order (one generator
    seeded with ``seed``). ``"losses"`` holds the mean mini-batch loss of
    every epoch; the run stops as ``"diverged"`` when a loss is not finite
    or exceeds 100 (the network then outputs garbage; no warning is printed).
    Also returns the final ``"params"`` and ``"states"``.
    """
    rng = np.random.default_rng(seed)
    losses, diverged = [], False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            order = rng.permutation(len(X))
            total = 0.0
            for start in range(0, len(X) - batch_size + 1, batch_size):
                rows = order[start:start + batch_size]
                logits, caches, states = net_forward(X[rows], params, states)
                loss, dlogits = softmax_cross_entropy(logits, y[rows])
                if not np.isfinite(loss) or loss > 100:
                    diverged = True
                    break
                total += loss
                params, _ = optim.sgd(params, net_backward(dlogits, caches), lr)
            if diverged:
                break
            losses.append(total / (len(X) // batch_size))
    return {"losses": losses, "diverged": diverged, "params": params, "states": states}


def lr_sweep(X, y, sizes, batchnorm, lrs, seeds, epochs, batch_size=64):
    """Train one network per (seed, learning rate); returns a dict of arrays.

    ``"final"`` (S, R): the last epoch's loss, NaN when the run diverged;
    ``"runs"``: {(seed, lr): the result of :func:`train_net`}. The seed
    draws the initial weights and the order of the mini-batches.
    """
    final = np.full((len(seeds), len(lrs)), np.nan)
    runs = {}
    for i, seed in enumerate(seeds):
        for j, lr in enumerate(lrs):
            params, states = make_net(sizes, batchnorm, np.random.default_rng(seed))
            runs[seed, lr] = train_net(X, y, params, states, lr, epochs, batch_size,
                                       seed)
            if not runs[seed, lr]["diverged"]:
                final[i, j] = runs[seed, lr]["losses"][-1]
    return {"final": final, "runs": runs}


def largest_lr_that_trains(lrs, final):
    """The largest learning rate whose run trains for every seed (loss < LOSS_TRAINS).

    ``final`` is (S, R) as returned by :func:`lr_sweep`; None if none trains.
    """
    ok = np.all(np.nan_to_num(final, nan=np.inf) < LOSS_TRAINS, axis=0)
    return max((lr for lr, good in zip(lrs, ok) if good), default=None)


def weight_grad_norms(X, y, params, states):
    """||dL/dW_l|| for every layer (layer 1 first), on the batch X, training mode."""
    logits, caches, _ = net_forward(X, params, states, train=True)
    _, dlogits = softmax_cross_entropy(logits, y)
    grads = net_backward(dlogits, caches)
    return np.array([np.linalg.norm(grads[f"{i}.W"]) for i in range(_n_layers(params))])


# --------------------------------------------------------------------------
# figures and the widget
# --------------------------------------------------------------------------

def plot_lr_sweep(lrs, finals, largest):
    """Last-epoch training loss against the learning rate, one colour per network.

    ``finals`` maps a label to an (S, R) array from :func:`lr_sweep` (one line
    per seed; a diverged run is a cross at the top); ``largest`` maps the label
    to the largest learning rate that trains (dotted vertical line).
    """
    import matplotlib.pyplot as plt

    lrs = np.asarray(lrs, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    top = 4.0
    for k, (label, final) in enumerate(finals.items()):
        color = f"C{k}"
        for i, row in enumerate(np.atleast_2d(final)):
            ok = np.isfinite(row)
            ax.plot(lrs[ok], row[ok], marker="o", ms=4, color=color, alpha=0.9,
                    ls="-" if i == 0 else "--", label=label if i == 0 else None)
            ax.plot(lrs[~ok], np.full((~ok).sum(), top), marker="x", ms=8, ls="none",
                    color=color)
        if largest.get(label) is not None:
            ax.axvline(largest[label], color=color, ls=":", lw=1.5)
    ax.plot([], [], marker="x", ls="none", color="gray", label="diverged")
    ax.axhline(LOSS_TRAINS, color="gray", ls="--", lw=1, label=f"loss {LOSS_TRAINS:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(None, top * 1.4)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss, last epoch (log scale)")
    ax.set_title("Which learning rates train (dotted: the largest)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=4)
    fig.tight_layout()
    return fig


def plot_loss_curves(curves, title="Training loss per epoch"):
    """``curves`` maps (network label, learning rate) to per-epoch losses.

    One colour per network, one line style per learning rate; a run that
    diverged before its first full epoch has no points and says so in the legend.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    nets = list(dict.fromkeys(net for net, _ in curves))
    rates = list(dict.fromkeys(lr for _, lr in curves))
    styles = ["-", "--", ":", "-."]
    for (net, lr), losses in curves.items():
        color, ls = f"C{nets.index(net)}", styles[rates.index(lr) % len(styles)]
        label = f"{net}, lr {lr:g}" + ("" if len(losses) else ": diverged")
        ax.semilogy(np.arange(1, len(losses) + 1), losses, ls=ls, marker="o", ms=3,
                    color=color, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean mini-batch loss (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_grad_norms(norms, title="Weight-gradient norm per layer", ax=None,
                    legend_loc="best"):
    """Log-scale ||dW_l|| against layer l; ``norms`` maps a label to an array.

    ``legend_loc=None`` draws no legend (for a legend shared by several axes).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    for label, values in norms.items():
        values = np.asarray(values, dtype=float)
        ax.semilogy(np.arange(1, values.size + 1), values, marker="o", ms=3,
                    label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(r"layer $\ell$ (1 = next to the input)", fontsize=10)
    ax.set_ylabel(r"$\Vert\partial L / \partial W_\ell\Vert$ (log scale)",
                  fontsize=10)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if legend_loc is not None:
        ax.legend(fontsize=9, loc=legend_loc)
    return fig


def explorer_figure(X, y, sizes, lr=0.1, gain=1.0, epochs=5, batch_size=64, seed=0):
    """Both networks at one learning rate and init scale: loss curves, gradient norms.

    Left: per-epoch training loss with and without BatchNorm. Right: each
    network's ||dW_l|| per layer at initialisation, on the first mini-batch.
    """
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7, 4.2))
    norms = {}
    nets = (("without BatchNorm", False), ("with BatchNorm", True))
    for k, (label, bn) in enumerate(nets):
        norms[label], losses, diverged = _explorer_run(X, y, sizes, bn, lr, gain,
                                                       epochs, batch_size, seed)
        text = f"{label}: diverged" if diverged else label
        if losses:
            ax0.semilogy(np.arange(1, len(losses) + 1), losses, marker="o", ms=3,
                         color=f"C{k}", label=text)
        else:
            ax0.plot([], [], color=f"C{k}", label=text)
    ax0.set_xlabel("epoch")
    ax0.set_ylabel("training loss (log scale)")
    ax0.set_title(f"lr {lr:g}, init scale {gain:g}")
    ax0.grid(True, which="major", alpha=0.3)
    ax0.legend(fontsize=9, loc="lower left")
    plot_grad_norms(norms, title=r"$\Vert\partial L/\partial W_\ell\Vert$ at init",
                    ax=ax1)
    fig.tight_layout()
    return fig


_EXPLORER_RUNS = {}


def _explorer_run(X, y, sizes, bn, lr, gain, epochs, batch_size, seed):
    """(gradient norms at init, losses, diverged) of one explorer run, memoised:
    the widget's first picture and the static figure beside it are the same runs."""
    key = (X.shape, hash(X.tobytes()), hash(y.tobytes()), tuple(sizes), bn, lr, gain,
           epochs, batch_size, seed)
    if key not in _EXPLORER_RUNS:
        params, states = make_net(sizes, bn, np.random.default_rng(seed), gain)
        norms = weight_grad_norms(X[:batch_size], y[:batch_size], params, states)
        run = train_net(X, y, params, states, lr, epochs, batch_size, seed)
        _EXPLORER_RUNS[key] = norms, run["losses"], run["diverged"]
    return _EXPLORER_RUNS[key]


def explorer_widget(X, y, sizes, epochs=5, batch_size=64, dpi=80):
    """ipywidgets explorer: learning rate and init scale, both networks redrawn.

    The picture is an ``ipywidgets.Image`` holding a PNG of
    :func:`explorer_figure`, redrawn when a control changes.
    """
    
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    lr = widgets.FloatLogSlider(value=0.1, base=10, min=-2, max=1, step=0.25,
                                description="lr", continuous_update=False)
    gain = widgets.FloatLogSlider(value=1.0, base=2, min=-1, max=1, step=0.25,
                                  description="init scale", continuous_update=False)
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([lr, gain]), image])
    box.lr, box.gain, box.image = lr, gain, image

    def draw(_change=None):
        fig = explorer_figure(X, y, sizes, lr.value, gain.value, epochs, batch_size)
        image.value = png_bytes(fig, dpi=dpi)

    lr.observe(draw, names="value")
    gain.observe(draw, names="value")
    draw()
    return box


def plot_jacobian(J_train, J_eval, feature=0):
    """Heat maps of one feature's (N, N) Jacobian in training and evaluation mode."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.9), layout="constrained")
    vmax = max(np.abs(J_train[feature]).max(), np.abs(J_eval[feature]).max())
    n = J_train.shape[1]
    panels = ((axes[0], J_train, "training mode"), (axes[1], J_eval, "evaluation mode"))
    for ax, J, name in panels:
        im = ax.imshow(J[feature], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(name)
        ax.set_xlabel("input example k")
        ax.set_ylabel("output example i")
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
    fig.colorbar(im, ax=axes, shrink=0.85, label="d out_i / d x_k")
    fig.suptitle("Jacobian of BatchNorm for one feature")
    return fig
