"""Initialisation: variance layer by layer, symmetry, the explorer (chapter 8).

A plain stack of ``K = len(widths) - 1`` dense layers without biases,
z_l = a_{l-1} W_l, a_l = phi(z_l), a_0 = x (N, D) ~ N(0, 1), each W_l drawn by
one of the package's initialisers. The loss is a fixed random readout of
the top, L = sum(G * a_K) with G ~ N(0, 1), so that the backward signal
delta_l = dL/dz_l starts at unit scale. :func:`variance_profile` measures
the mean squares of z_l and delta_l for every layer; :func:`predicted_profile`
gives the variance-preservation derivation's prediction for the same stack.

Also here: a two-layer classifier trained by full-batch SGD that records how
far its hidden units are from each other (the symmetry experiment), the
figures, and the ipywidgets explorer with its static default figure.
"""

import functools

import numpy as np

from backprop import activations, init
from backprop.layers import dense_backward, dense_forward
from backprop.losses import softmax_cross_entropy
from backprop.labs.style import png_bytes

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "weight_variance",
    "init_weights",
    "forward_backward",
    "variance_profile",
    "gaussian_gains",
    "predicted_profile",
    "torch_default_prediction",
    "torch_default_profile",
    "constant_params",
    "symmetric_params",
    "random_params",
    "unit_spread",
    "train_two_layer",
    "plot_profiles",
    "plot_symmetry",
    "explorer_figure",
    "variance_widget",
]


def _identity_forward(x):
    return x, None


def _identity_backward(dout, cache):
    return dout


ACTIVATIONS = {
    "linear": (_identity_forward, _identity_backward),
    "tanh": (activations.tanh_forward, activations.tanh_backward),
    "relu": (activations.relu_forward, activations.relu_backward),
}

# name: (initialiser (fan_in, fan_out, rng) -> W, Var[W] as a function of the fans)
INITS = {
    "lecun": (init.lecun_normal, lambda fan_in, fan_out: 1 / fan_in),
    "glorot": (init.xavier_normal, lambda fan_in, fan_out: 2 / (fan_in + fan_out)),
    "he": (init.he_normal, lambda fan_in, fan_out: 2 / fan_in),
    "torch": (init.torch_linear_default, lambda fan_in, fan_out: 1 / (3 * fan_in)),
}
LABELS = {"lecun": "LeCun 1/fan_in", "glorot": "Glorot 2/(in+out)", "he": "He 2/fan_in",
          "torch": "torch default 1/(3 fan_in)"}


def _check(activation, init_name):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    if init_name not in INITS:
        raise ValueError(f"init_name must be one of {tuple(INITS)}, got {init_name!r}")


def _widths(depth, width, widths):
    if widths is not None:
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must list at least [D, H] positive sizes, got {widths!r}")
        return widths
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    return [int(width)] * (int(depth) + 1)


def weight_variance(init_name, fan_in, fan_out):
    """Var[W] of ``init_name`` for a layer (fan_in, fan_out)."""
    _check("linear", init_name)
    return INITS[init_name][1](fan_in, fan_out)


def init_weights(widths, init_name, rng):
    """One W_l of shape (widths[l-1], widths[l]) per layer, drawn by ``init_name``."""
    _check("linear", init_name)
    draw = INITS[init_name][0]
    return [draw(fan_in, fan_out, rng) for fan_in, fan_out in zip(widths[:-1], widths[1:])]


def forward_backward(X, weights, activation, G):
    """The forward and backward pass: ``(zs, deltas)``, layer 1 first.

    X (N, D); weights[l] (H_{l-1}, H_l); G (N, H_K) = dL/da_K, the readout
    of L = sum(G * a_K). zs[l] = z_{l+1}, deltas[l] = dL/dz_{l+1}, both
    (N, H_{l+1}). No dL/dW is formed: the experiment needs the signals.
    """
    act_forward, act_backward = ACTIVATIONS[activation]
    a, zs, caches = X, [], []
    for W in weights:
        z = a @ W                           # z_l = a_{l-1} W_l    (N, H_l)
        a, cache = act_forward(z)           # a_l = phi(z_l)
        zs.append(z)
        caches.append(cache)
    da, deltas = G, []
    for W, cache in zip(reversed(weights), reversed(caches)):
        delta = act_backward(da, cache)     # dL/dz_l = dL/da_l * phi'(z_l)
        deltas.append(delta)
        da = delta @ W.T                    # dL/da_{l-1} = delta_l W_l^T
    return zs, deltas[::-1]


def variance_profile(depth=50, width=256, activation="tanh", init_name="lecun", n=32,
                     seed=0, widths=None, backward=True):
    """Measured mean squares per layer: ``{"forward": q, "backward": g}``, each (K,).

    q[l-1] = mean of z_l**2 and g[l-1] = mean of delta_l**2 over the batch and
    the units (both have zero mean, so these are their variances). The stack
    has ``widths`` (default ``[width] * (depth + 1)``); X (n, D) and G (n, H_K)
    are standard normal, drawn with the weights from one seeded generator.
    ``backward=False`` skips the backward pass (and returns no "backward").
    """
    _check(activation, init_name)
    widths = _widths(depth, width, widths)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]))
    weights = init_weights(widths, init_name, rng)
    G = rng.standard_normal((n, widths[-1]))
    if not backward:
        a, q = X, []
        for W in weights:
            z = a @ W
            a, _ = ACTIVATIONS[activation][0](z)
            q.append(np.mean(z * z))
        return {"forward": np.array(q)}
    zs, deltas = forward_backward(X, weights, activation, G)
    return {"forward": np.array([np.mean(z * z) for z in zs]),
            "backward": np.array([np.mean(d * d) for d in deltas])}


# E[phi(z)^2] / q and E[phi'(z)^2] for z ~ N(0, q), in the linear regime
# (tanh(z) ~ z): these are the derivation's factors.
_LINEAR_GAINS = {"linear": (1.0, 1.0), "tanh": (1.0, 1.0), "relu": (0.5, 0.5)}


@functools.lru_cache(maxsize=None)
def _hermite(points):
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)   # weight exp(-t^2 / 2)
    return nodes, weights / weights.sum()


def gaussian_gains(activation, q, points=201):
    """(E[phi(z)^2] / q, E[phi'(z)^2]) for z ~ N(0, q), by Gauss-Hermite quadrature.

    Exact (up to quadrature error) for any q > 0: for ``linear`` and ``relu``
    the constants of the linear regime, for ``tanh`` less than 1 once q is
    not small.
    """
    if activation != "tanh":
        return _LINEAR_GAINS[activation]
    nodes, weights = _hermite(points)
    t = np.tanh(np.sqrt(q) * nodes)
    return float(weights @ (t * t)) / q, float(weights @ (1 - t * t) ** 2)


def predicted_profile(widths, activation, init_name, regime="linear",
                      input_var=1.0):
    """The derivation's prediction for :func:`variance_profile`'s stack.

    Forward: q_1 = D Var[W_1] E[x^2],
    q_l = H_{l-1} Var[W_l] E[phi(z_{l-1})^2].
    Backward: g_K = E[phi'(z_K)^2] (E[G^2] = 1),
    g_l = g_{l+1} H_{l+1} Var[W_{l+1}] E[phi'(z_l)^2].
    ``regime="linear"`` uses tanh(z) ~ z (factors 1, 1; ReLU 1/2, 1/2);
    ``"gaussian"`` evaluates them for z ~ N(0, q_l) (``gaussian_gains``).
    """
    _check_prediction(activation, init_name, regime)
    widths = [int(w) for w in widths]
    var = [weight_variance(init_name, i, o)
           for i, o in zip(widths[:-1], widths[1:])]
    K = len(var)

    def gains(q):                       # (E[phi(z)^2] / q, E[phi'(z)^2])
        if regime == "gaussian":
            return gaussian_gains(activation, q)
        return _LINEAR_GAINS[activation]

    q = np.empty(K)
    q[0] = widths[0] * var[0] * input_var
    for l in range(1, K):
        q[l] = widths[l] * var[l] * gains(q[l - 1])[0] * q[l - 1]
    g = np.empty(K)
    g[K - 1] = gains(q[K - 1])[1]
    for l in range(K - 2, -1, -1):
        g[l] = g[l + 1] * widths[l + 2] * var[l + 1] * gains(q[l])[1]
    return {"forward": q, "backward": g}


def _check_prediction(activation, init_name, regime):
    _check(activation, init_name)
    if regime not in ("linear", "gaussian"):
        raise ValueError(f"regime must be 'linear' or 'gaussian', got {regime!r}")


# --------------------------------------------------------------------------
# PyTorch's nn.Linear default, biases included
# --------------------------------------------------------------------------

def torch_default_prediction(depth, width, activation):
    """Predicted E[z_l^2] of a stack of ``nn.Linear(width, width)`` with torch's
    default weights *and biases*, each U(-1/sqrt(H), 1/sqrt(H)) (variance
    1/(3H)), input E[x^2] = 1: q_1 = 1/3 + 1/(3H),
    q_l = E[phi(z)^2] / 3 + 1/(3H) with E[phi(z)^2] for z ~ N(0, q_{l-1})."""
    q = np.empty(depth)
    bias_var = 1 / (3 * width)
    q[0] = 1 / 3 + bias_var
    for l in range(1, depth):
        q[l] = gaussian_gains(activation, q[l - 1])[0] * q[l - 1] / 3 + bias_var
    return q


def torch_default_profile(depth=50, width=256, activation="relu", n=32, seed=0):
    """Build ``depth`` x (``nn.Linear(width, width)``, activation) in float64 with
    torch's default initialisation (``torch.manual_seed(seed)``), push x (n, width)
    ~ N(0, 1) through it, and return ``(q, share)``, each (depth,): q[l-1] the
    mean of z_l^2, share[l-1] the part of it that varies with the input (the
    variance over the batch, averaged over units, divided by the mean square)."""
    import torch

    act = {"linear": torch.nn.Identity, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(width, width, dtype=torch.float64) for _ in range(depth)]
    a = torch.randn(n, width, dtype=torch.float64)
    q, share = [], []
    with torch.no_grad():
        for layer in layers:
            z = layer(a)
            a = act()(z)
            mean_square = float((z * z).mean())
            q.append(mean_square)
            share.append(float(z.var(dim=0, unbiased=False).mean()) / mean_square)
    return np.array(q), np.array(share)


# --------------------------------------------------------------------------
# symmetry: a two-layer classifier
# --------------------------------------------------------------------------

def constant_params(D, H, C, value):
    """(W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)): every weight ``value``, biases 0."""
    return (np.full((D, H), float(value)), np.zeros(H), np.full((H, C), float(value)),
            np.zeros(C))


def symmetric_params(D, H, C, rng):
    """Every hidden unit a copy of one LeCun-normal unit: W1 (D, H) has H equal
    columns, W2 (H, C) has H equal rows; biases 0."""
    w = init.lecun_normal(D, 1, rng)                       # (D, 1): one unit's input weights
    u = init.lecun_normal(H, C, rng)[:1]                   # (1, C): its output weights
    return np.repeat(w, H, axis=1), np.zeros(H), np.repeat(u, H, axis=0), np.zeros(C)


def random_params(D, H, C, rng):
    """LeCun-normal weights, zero biases: (W1 (D, H), b1 (H,), W2 (H, C), b2 (C,))."""
    return init.lecun_normal(D, H, rng), np.zeros(H), init.lecun_normal(H, C, rng), np.zeros(C)


def unit_spread(params):
    """How different the hidden units are: the largest |difference| between unit j
    and unit 0 over everything that belongs to a unit (W1[:, j], b1[j], W2[j, :])."""
    W1, b1, W2, _ = params
    units = np.concatenate([W1, b1[None, :], W2.T], axis=0)     # (D + 1 + C, H)
    return float(np.max(np.abs(units - units[:, :1])))


def train_two_layer(X, y, params, activation="tanh", lr=0.5, steps=300):
    """Full-batch SGD on softmax cross-entropy for z2 = phi(X W1 + b1) W2 + b2.

    Returns ``(params, history)``; ``history`` holds per step (before the
    update) ``"loss"``, ``"spread"`` (:func:`unit_spread`) and ``"accuracy"``
    on (X, y). Never modifies ``params``.
    """
    act_forward, act_backward = ACTIVATIONS[activation]
    W1, b1, W2, b2 = params
    history = {"loss": [], "spread": [], "accuracy": []}
    for _ in range(steps):
        z1, c1 = dense_forward(X, W1, b1)
        a1, ca = act_forward(z1)
        z2, c2 = dense_forward(a1, W2, b2)
        loss, dz2 = softmax_cross_entropy(z2, y)
        history["loss"].append(float(loss))
        history["spread"].append(unit_spread((W1, b1, W2, b2)))
        history["accuracy"].append(float(np.mean(z2.argmax(axis=1) == y)))
        da1, dW2, db2 = dense_backward(dz2, c2)
        _, dW1, db1 = dense_backward(act_backward(da1, ca), c1, input_grad=False)
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return (W1, b1, W2, b2), {k: np.array(v) for k, v in history.items()}


# --------------------------------------------------------------------------
# figures and the widget
# --------------------------------------------------------------------------

_COLORS = {"lecun": "C0", "glorot": "C3", "he": "C1", "torch": "C2"}
_FLOOR = 1e-40


def _plot_one(ax, measured, predicted, key, init_name, label=True):
    layers = np.arange(1, measured[key].size + 1)
    color = _COLORS[init_name]
    ax.semilogy(layers, np.maximum(measured[key], _FLOOR), color=color, marker="o", ms=2.5,
                lw=1.2, label=f"{LABELS[init_name]}: measured" if label else None)
    ax.semilogy(layers, np.maximum(predicted[key], _FLOOR), color=color, ls="--", lw=1.2,
                label="predicted" if label else None)


def plot_profiles(measured, predicted, activations_=("linear", "tanh", "relu"),
                  inits=("lecun", "he", "torch"), ylim=(1e-12, 1e2)):
    """A 2 x len(activations_) grid: forward (top) and backward (bottom) mean squares per
    layer, measured (solid, dots) against predicted (dashed), one colour per init.

    ``measured`` and ``predicted`` map ``(activation, init_name)`` to profiles.
    Values below ``ylim[0]`` leave the axes (their lines run off the bottom).
    """
    import matplotlib.pyplot as plt

    ncol = len(activations_)
    fig, axes = plt.subplots(2, ncol, figsize=(min(7.0, 2.4 * ncol), 6.8), sharex=True,
                             sharey=True)
    axes = np.asarray(axes).reshape(2, ncol)
    for j, act in enumerate(activations_):
        for init_name in inits:
            for i, key in enumerate(("forward", "backward")):
                _plot_one(axes[i, j], measured[act, init_name], predicted[act, init_name], key,
                          init_name, label=(i == 0 and j == 0))
        axes[0, j].set_title(f"{act}: forward\n" + r"$q_\ell$", fontsize=11)
        axes[1, j].set_title(f"{act}: backward\n" + r"$g_\ell$", fontsize=11)
        axes[1, j].set_xlabel(r"layer $\ell$", fontsize=11)
    for i in range(2):
        axes[i, 0].set_ylabel("mean square (log scale)", fontsize=11)
        for ax in axes[i]:
            ax.set_ylim(*ylim)
            ax.set_yticks([10.0 ** k for k in range(int(np.ceil(np.log10(ylim[0]))),
                                                    int(np.log10(ylim[1])) + 1, 5)])
            ax.tick_params(labelsize=10)
            ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # one legend: colour = init, solid = measured, dashed = predicted
    from matplotlib.lines import Line2D
    entries = [Line2D([], [], color=_COLORS[k], lw=2) for k in inits]
    names = [LABELS[k] for k in inits]
    entries += [Line2D([], [], color="0.3", marker="o", ms=3), Line2D([], [], color="0.3", ls="--")]
    names += ["measured", "predicted"]
    fig.legend(entries, names, loc="lower center", ncol=2, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    return fig


def plot_symmetry(histories):
    """Loss (left) and hidden-unit spread (right) against the SGD step, one line per run.

    ``histories`` maps a label to a :func:`train_two_layer` history. A spread of
    exactly 0 is drawn at the bottom edge of the log axis.
    """
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 3.8))
    floor = 1e-18
    styles = (("C0", "-", 1.5), ("C1", "-", 4), ("C2", "--", 2), ("C3", ":", 2))
    for (label, h), (color, ls, lw) in zip(histories.items(), styles):
        steps = np.arange(h["loss"].size)
        ax0.plot(steps, h["loss"], color=color, ls=ls, lw=min(lw, 2), label=label)
        spread = np.where(h["spread"] > 0, h["spread"], floor)
        ax1.semilogy(steps, spread, color=color, ls=ls, lw=lw, label=label)
    ax0.set_title("Training loss", fontsize=11)
    ax0.set_ylabel("softmax cross-entropy", fontsize=11)
    ax1.set_title("Spread between hidden units", fontsize=11)
    ax1.set_ylabel("max |unit j - unit 1|\n(exactly 0 drawn at 1e-18)", fontsize=11)
    ax1.set_ylim(floor / 5, None)
    for ax in (ax0, ax1):
        ax.set_xlabel("SGD step", fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
    ax0.legend(fontsize=10)
    fig.tight_layout()
    return fig


def explorer_figure(depth=50, activation="relu", init_name="he", width=256, n=32, seed=0):
    """The widget's picture: forward and backward variance per layer for one setting,
    measured against both predictions (linear regime, Gaussian)."""
    import matplotlib.pyplot as plt

    widths = _widths(depth, width, None)
    measured = variance_profile(activation=activation, init_name=init_name, n=n, seed=seed,
                                widths=widths)
    linear = predicted_profile(widths, activation, init_name, "linear")
    gauss = predicted_profile(widths, activation, init_name, "gaussian")
    fig, axes = plt.subplots(1, 2, figsize=(7, 4), sharey=True)
    layers = np.arange(1, depth + 1)
    for ax, key, title in zip(axes, ("forward", "backward"),
                              (r"forward: $q_\ell$", r"backward: $g_\ell$")):
        ax.semilogy(layers, np.maximum(measured[key], _FLOOR), "o-", ms=2.5, color="C0",
                    label="measured")
        ax.semilogy(layers, np.maximum(linear[key], _FLOOR), "--", color="C1",
                    label="predicted, linear regime" if activation == "tanh"
                    else "predicted")
        if activation == "tanh":
            ax.semilogy(layers, np.maximum(gauss[key], _FLOOR), ":", color="C3", lw=2,
                        label="predicted, Gaussian z")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(r"layer $\ell$", fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("mean square (log scale)", fontsize=11)
    axes[0].legend(fontsize=10)
    fig.suptitle(f"{activation}, {LABELS[init_name]}, depth {depth}, width {width}:"
                 f" $q_{{{depth}}}$ = {measured['forward'][-1]:.2g}", fontsize=11)
    fig.tight_layout()
    return fig


def variance_widget(depth=50, activation="relu", init_name="he", dpi=80):
    """ipywidgets explorer: depth, activation and init; redraws :func:`explorer_figure`.

    The picture is an ``ipywidgets.Image`` holding a PNG (no ``Output``
    capture, so it executes the same under nbclient as in JupyterLab). The
    returned VBox has the attributes ``depth``, ``activation``, ``init_name``
    and ``image``.
    """
    
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    depth_w = widgets.IntSlider(value=depth, min=2, max=100, step=1, description="depth",
                                continuous_update=False)
    act_w = widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                             description="activation")
    init_w = widgets.Dropdown(options=[(LABELS[k], k) for k in INITS], value=init_name,
                              description="init")
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([depth_w, act_w, init_w]), image])
    box.depth, box.activation, box.init_name, box.image = depth_w, act_w, init_w, image

    def draw(_change=None):
        fig = explorer_figure(depth_w.value, act_w.value, init_w.value)
        image.value = png_bytes(fig, dpi=dpi)

    for w in (depth_w, act_w, init_w):
        w.observe(draw, names="value")
    draw()
    return box
