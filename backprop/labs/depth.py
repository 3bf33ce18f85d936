"""Gradient norms layer by layer in deep MLPs: chapter 6's experiments.

A plain MLP of ``depth`` dense layers (width H, activation after every layer
but the last) is built from the package's pairs, a batch is pushed through,
a softmax cross-entropy on random labels is back-propagated, and the
Frobenius norm ||dW_l|| of every layer's weight gradient is recorded. Layer 1
is next to the input, layer ``depth`` next to the loss.

Also here: the activation/derivative picture, the fraction of dead ReLUs,
the cosine between a clipped and an unclipped gradient (with a 2-D picture),
the ipywidgets explorer, and its kernel-free twin for the book
(:func:`twin_figure`, a precomputed grid drawn with Plotly).
"""

import numpy as np

from backprop import activations, init, optim
from backprop.layers import dense_backward, dense_forward
from backprop.losses import softmax_cross_entropy

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "make_mlp",
    "mlp_forward",
    "mlp_backward",
    "experiment_network",
    "layer_gradient_norms",
    "norm_ratio",
    "dead_unit_fraction",
    "train_mlp",
    "clip_cosines",
    "plot_activations",
    "plot_layer_norms",
    "plot_clipping_2d",
    "explorer_figure",
    "gradient_norm_widget",
    "TWIN_DEPTHS",
    "TWIN_GAINS",
    "twin_state",
    "twin_figure",
    "twin_png",
]

ACTIVATIONS = {
    "sigmoid": (activations.sigmoid_forward, activations.sigmoid_backward),
    "tanh": (activations.tanh_forward, activations.tanh_backward),
    "relu": (activations.relu_forward, activations.relu_backward),
}
INITS = ("normal", "xavier", "he")


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")


def make_mlp(sizes, init_name="xavier", rng=None, gain=1.0, std=0.01, bias=0.0):
    """Weights of an MLP with layer sizes ``sizes = [D, H, ..., H, C]``.

    Returns a list of ``(W, b)`` with W (sizes[l], sizes[l+1]). ``init_name``:
    ``"normal"`` (W ~ N(0, std^2)), ``"xavier"`` or ``"he"`` (the package's
    normal initialisers, times ``gain``). Every bias is the constant ``bias``.
    """
    if init_name not in INITS:
        raise ValueError(f"init_name must be one of {INITS}, got {init_name!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least [D, C], got {sizes!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if init_name == "normal":
            W = std * rng.standard_normal((fan_in, fan_out))
        elif init_name == "xavier":
            W = gain * init.xavier_normal(fan_in, fan_out, rng)
        else:
            W = gain * init.he_normal(fan_in, fan_out, rng)
        params.append((W, np.full(fan_out, float(bias))))
    return params


def mlp_forward(X, params, activation):
    """Forward through dense/activation pairs; no activation after the last layer.

    Returns ``(out, caches, hidden)``: out (N, C), the caches for
    :func:`mlp_backward`, and the list of hidden activations a_l (N, H).
    """
    _check_activation(activation)
    act_forward = ACTIVATIONS[activation][0]
    a, caches, hidden = X, [], []
    for i, (W, b) in enumerate(params):
        z, dense_cache = dense_forward(a, W, b)
        if i < len(params) - 1:
            a, act_cache = act_forward(z)
            hidden.append(a)
        else:
            a, act_cache = z, None
        caches.append((dense_cache, act_cache))
    return a, caches, hidden


def mlp_backward(dout, caches, activation):
    """Backward through the layers of :func:`mlp_forward`.

    Returns ``(grads, deltas)``: the list of (dW_l, db_l) and the list of
    delta_l = dL/dz_l (N, H_l), layer 1 first.
    """
    _check_activation(activation)
    act_backward = ACTIVATIONS[activation][1]
    grads, deltas = [], []
    for dense_cache, act_cache in reversed(caches):
        if act_cache is not None:
            dout = act_backward(dout, act_cache)
        deltas.append(dout)
        dout, dW, db = dense_backward(dout, dense_cache)
        grads.append((dW, db))
    return grads[::-1], deltas[::-1]


def experiment_network(depth=20, width=64, init_name="xavier", gain=1.0,
                       std=0.01, n=128, n_classes=10, seed=0):
    """``(X, y, params)``: the data and weights of :func:`layer_gradient_norms`.

    X (n, width) ~ N(0, 1), y (n,) uniform over ``n_classes``, and
    ``params = make_mlp([width] * depth + [n_classes], ...)``, all drawn from
    one generator seeded with ``seed``, so a chapter can check exactly the
    network that was measured.
    """
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))                      # (N, D), D = H
    y = rng.integers(0, n_classes, size=n)                   # (N,)
    params = make_mlp([width] * depth + [n_classes], init_name, rng, gain, std)
    return X, y, params


def layer_gradient_norms(depth=20, width=64, activation="tanh",
                         init_name="xavier", gain=1.0, std=0.01, n=128,
                         n_classes=10, seed=0, quantity="dW"):
    """||dW_l|| (Frobenius) for l = 1..depth of one backward pass.

    ``quantity="delta"`` gives ||delta_l|| = ||dL/dz_l|| instead: the
    backward signal alone, without the forward activations that
    dW_l = a_{l-1}^T delta_l multiplies it by.

    Input X (n, width) ~ N(0, 1), labels uniform over ``n_classes``; the
    MLP has ``depth`` dense layers, width -> width (depth - 1 times) ->
    n_classes. Returns a float64 array of shape (depth,), layer 1 (input
    side) first.
    """
    if quantity not in ("dW", "delta"):
        raise ValueError(f"quantity must be 'dW' or 'delta', "
                         f"got {quantity!r}")
    X, y, params = experiment_network(depth, width, init_name, gain, std, n,
                                      n_classes, seed)
    out, caches, _ = mlp_forward(X, params, activation)
    _, dout = softmax_cross_entropy(out, y)
    grads, deltas = mlp_backward(dout, caches, activation)
    if quantity == "delta":
        return np.array([np.linalg.norm(d) for d in deltas])
    return np.array([np.linalg.norm(dW) for dW, _ in grads])


def norm_ratio(norms):
    """First-layer over last-layer gradient norm: < 1 vanishing, > 1 exploding."""
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 1 or norms.size < 2:
        raise ValueError(f"norms must be 1-D with at least 2 layers, got shape {norms.shape}")
    return float(norms[0] / norms[-1])


def dead_unit_fraction(X, params, activation="relu"):
    """Per hidden layer, the fraction of units whose output is 0 on every row of X.

    A ReLU unit that is 0 on all the data gets zero gradient from all of it and
    can never recover by gradient descent: it is dead.
    """
    _, _, hidden = mlp_forward(X, params, activation)
    return np.array([np.mean(np.all(a == 0, axis=0)) for a in hidden])


def train_mlp(X, y, params, activation, lr, steps):
    """Full-batch SGD on softmax cross-entropy; returns (params, losses).

    ``losses[k]`` is the loss at the parameters *before* step k + 1, so the
    list starts with the initial loss and does not include the loss of the
    returned parameters. Uses ``backprop.optim.sgd``; never modifies ``params``.
    """
    keys = [(f"{i}.W", f"{i}.b") for i in range(len(params))]
    flat = {k: v for (kW, kb), (W, b) in zip(keys, params) for k, v in ((kW, W), (kb, b))}
    losses = []
    for _ in range(steps):
        current = [(flat[kW], flat[kb]) for kW, kb in keys]
        out, caches, _ = mlp_forward(X, current, activation)
        loss, dout = softmax_cross_entropy(out, y)
        losses.append(float(loss))
        grads, _ = mlp_backward(dout, caches, activation)
        gflat = {k: v for (kW, kb), (dW, db) in zip(keys, grads) for k, v in ((kW, dW), (kb, db))}
        flat, _ = optim.sgd(flat, gflat, lr)
    return [(flat[kW], flat[kb]) for kW, kb in keys], losses


def _flatten(grads):
    return np.concatenate([np.ravel(g) for g in grads.values()])


def _cosine(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def clip_cosines(grads, clip):
    """Cosine between the full gradient and its clipped versions.

    ``grads`` is a dict of arrays. Returns ``{"value": cos, "norm": cos}`` for
    ``optim.clip_by_value(grads, clip)`` and ``optim.clip_by_global_norm(grads, clip)``.
    """
    g = _flatten(grads)
    by_value = _flatten(optim.clip_by_value(grads, clip))
    by_norm = _flatten(optim.clip_by_global_norm(grads, clip)[0])
    return {"value": _cosine(g, by_value), "norm": _cosine(g, by_norm)}


# --------------------------------------------------------------------------
# figures and the widget
# --------------------------------------------------------------------------

def plot_activations(x=None):
    """Sigmoid, tanh and ReLU (left) and their derivatives (right).

    Derivatives come from the package's backward passes with dout = 1.
    """
    import matplotlib.pyplot as plt

    x = np.linspace(-5, 5, 401) if x is None else np.asarray(x, dtype=np.float64)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.2, 3.4))
    for name, (fwd, bwd) in ACTIVATIONS.items():
        out, cache = fwd(x)
        (line,) = ax0.plot(x, out, label=name)
        ax1.plot(x, bwd(np.ones_like(x), cache), label=f"{name}'", color=line.get_color())
    ax1.axhline(0.25, color="0.5", ls=":", lw=1)
    ax1.annotate("1/4", (x[0], 0.25), textcoords="offset points", xytext=(2, 3), fontsize=9)
    ax0.set_title("Activations")
    ax1.set_title("Their derivatives")
    for ax, ylab in ((ax0, "a = φ(z)"), (ax1, "φ'(z)")):
        ax.set_xlabel("pre-activation z")
        ax.set_ylabel(ylab)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    ax0.set_ylim(-1.2, 2.2)
    fig.tight_layout()
    return fig


def plot_layer_norms(results, title="Gradient norm per layer", ax=None,
                     ylabel="||dL/dW_ℓ|| (log scale)", legend=True):
    """Log-scale plot of a norm against layer l, one line per entry of ``results``.

    ``results`` maps a label to a norms array (layer 1 first); ``ylabel``
    names the quantity (default the weight-gradient norm ||dW_l||). Layers are
    integers on the x axis. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    floor = np.finfo(np.float64).tiny
    for label, norms in results.items():
        norms = np.maximum(np.asarray(norms, dtype=np.float64), floor)
        ax.semilogy(np.arange(1, norms.size + 1), norms, marker="o", ms=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer ℓ (1 = next to the input)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if legend:
        ax.legend(fontsize=9)
    return fig


def plot_clipping_2d(g=(3.0, 0.6), clip=1.0):
    """A 2-D gradient, clipped by value (box) and by norm (circle). Returns the figure."""
    import matplotlib.pyplot as plt

    g = np.asarray(g, dtype=np.float64)
    grads = {"g": g}
    by_value = optim.clip_by_value(grads, clip)["g"]
    by_norm = optim.clip_by_global_norm(grads, clip)[0]["g"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.add_patch(plt.Rectangle((-clip, -clip), 2 * clip, 2 * clip, fill=False, ls=":", ec="C1"))
    ax.add_patch(plt.Circle((0, 0), clip, fill=False, ls=":", ec="C2"))
    for vec, label, color in ((g, "original g", "k"),
                              (by_value, f"clip by value (cosine {_cosine(g, by_value):.3f})", "C1"),
                              (by_norm, f"clip by norm (cosine {_cosine(g, by_norm):.3f})", "C2")):
        ax.annotate("", xy=vec, xytext=(0, 0),
                    arrowprops=dict(arrowstyle="->", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=label)
    lim = max(np.abs(g).max(), clip) * 1.15
    ax.set_xlim(-lim * 0.3, lim)
    ax.set_ylim(-lim * 0.3, lim * 0.75)
    ax.set_aspect("equal")
    ax.set_xlabel("gradient component 1")
    ax.set_ylabel("gradient component 2")
    ax.set_title(f"Clipping a 2-D gradient at {clip:g}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig


def explorer_figure(depth=20, activation="tanh", init_name="xavier", gain=1.0):
    """The widget's picture: the backward signal per layer, with its ratio.

    Plots ||delta_l|| = ||dL/dz_l|| for one configuration (the quantity
    chapter 6 reads its ratios from, not the weight gradient ||dW_l||),
    titled with the ratio ||delta_1|| / ||delta_depth||.
    """
    norms = layer_gradient_norms(depth=depth, activation=activation,
                                 init_name=init_name, gain=gain,
                                 quantity="delta")
    label = f"{activation}, {init_name} x {gain:g}"
    ratio = norm_ratio(norms)
    fig = plot_layer_norms(
        {label: norms}, ylabel="||δ_ℓ|| = ||dL/dz_ℓ|| (log scale)",
        title=f"Backward signal, depth {depth}: "
              f"||δ_1|| / ||δ_{depth}|| = {ratio:.2e}")
    fig.set_size_inches(7, 4)
    fig.tight_layout()
    return fig


def gradient_norm_widget():
    """ipywidgets explorer: depth, activation, init and init scale (gain).

    In a live kernel the figure (the backward signal ||delta_l|| per layer)
    redraws on every change; the book shows :func:`explorer_figure` at the
    defaults next to it.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(depth, activation, init_name, gain):
        explorer_figure(depth, activation, init_name, gain)
        plt.show()

    return widgets.interactive(
        show,
        depth=widgets.IntSlider(value=20, min=2, max=60, step=1, description="depth"),
        activation=widgets.Dropdown(options=list(ACTIVATIONS), value="tanh", description="activation"),
        init_name=widgets.Dropdown(options=["xavier", "he"], value="xavier", description="init"),
        gain=widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.25, description="init scale"),
    )


#: The twin's grid: three depths drawn together, and the init scale (gain)
#: from 1/4 to 4 in half-octaves; every activation with either init.
TWIN_DEPTHS = (10, 20, 40)
TWIN_GAINS = tuple(float(2.0 ** e) for e in np.arange(-2, 2.01, 0.5))
_TWIN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")


def twin_state(activation="tanh", init_name="xavier", gain=1.0, depths=TWIN_DEPTHS):
    """``{depth: ||delta_l|| per layer}``: one point of the twin's grid.

    The same call the widget makes (:func:`layer_gradient_norms` with
    ``quantity="delta"``), once per depth.
    """
    return {d: layer_gradient_norms(depth=d, activation=activation,
                                    init_name=init_name, gain=gain,
                                    quantity="delta")
            for d in depths}


def twin_figure(depths=TWIN_DEPTHS, gains=TWIN_GAINS):
    """The widget's kernel-free twin: a Plotly figure over a precomputed grid.

    A dropdown picks the activation and the init, a slider the init scale;
    each state draws ||delta_l|| per layer for every depth in ``depths``,
    with the ratio ||delta_1|| / ||delta_depth|| in the legend; hovering a
    point gives its norm and its ratio to the last layer's. Returns the
    figure as a dict for :func:`backprop.labs.explore.show`.
    """
    from backprop.labs.explore import Rounded, grid_figure

    names = {"xavier": "Xavier", "he": "He"}
    groups = [(f"{a}, {names[i]}", (a, i)) for a in ACTIVATIONS for i in ("xavier", "he")]
    steps = [(f"{g:.3g}", g) for g in gains]

    def draw(group, gain):
        state = twin_state(*group, gain=gain, depths=depths)
        # the legend gives the chapter's ratio ||delta_1|| / ||delta_K||
        return [{"type": "scatter", "mode": "lines+markers",
                 "x": np.arange(1, d + 1), "y": Rounded(norms, 4),
                 "customdata": Rounded(norms / norms[-1], 4),
                 "name": f"depth {d}: ratio {norm_ratio(norms):.1e}",
                 "line": {"color": c, "width": 2}, "marker": {"size": 5},
                 "hovertemplate": (f"depth {d}, layer %{{x}}<br>‖δ‖ = %{{y:.2e}}, "
                                   f"%{{customdata:.2e}} × layer {d}'s<extra></extra>")}
                for (d, norms), c in zip(state.items(), _TWIN_COLOURS)]

    layout = {
        "height": 580, "margin": {"l": 70, "r": 20, "t": 125, "b": 140},
        "title": {"text": "Backward signal per layer, ‖δ<sub>ℓ</sub>‖ = ‖∂L/∂z<sub>ℓ</sub>‖",
                  "x": 0.02, "xanchor": "left", "y": 0.975, "font": {"size": 15}},
        "xaxis": {"title": {"text": "layer ℓ (1 = next to the input)"}},
        "yaxis": {"title": {"text": "‖δ<sub>ℓ</sub>‖ (log scale)"}, "type": "log",
                  "exponentformat": "power", "dtick": 1},
        "legend": {"x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                   "orientation": "h", "font": {"size": 11}},
        "template": "plotly_white",
    }
    return grid_figure(draw, steps, groups=groups, layout=layout,
                       slider_label="init scale (gain):", menu_y=1.11,
                       default=(("tanh", "xavier"), 1.0))


def twin_png(activation="tanh", init_name="xavier", gain=1.0, depths=TWIN_DEPTHS):
    """The twin's static picture (its default state), drawn with matplotlib: PNG bytes."""
    from backprop.labs.style import png_bytes

    state = twin_state(activation, init_name, gain, depths)
    fig = plot_layer_norms(
        {f"depth {d}: ratio {norm_ratio(n):.1e}": n for d, n in state.items()},
        ylabel="||δ_ℓ|| = ||dL/dz_ℓ|| (log scale)",
        title=f"Backward signal per layer: {activation}, {init_name} x {gain:g}")
    fig.set_size_inches(7, 4)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
