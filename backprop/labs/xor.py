"""Chapter 4 helpers: train a 2-H-1 sigmoid network on XOR, many seeds at once.

Two training loops compute the same thing:

- ``train_pairs`` trains one network with the package's forward/backward
  pairs and ``optim.sgd``. It is the loop the chapter shows.
- ``train_seeds`` trains S networks (one per seed) in lock step with batched
  matrix products, so that a 100-seed experiment fits in a notebook's time
  budget. Every array carries a leading seed axis S. The tests and the
  chapter check it against ``train_pairs`` for single seeds.

Shapes: N examples (4 for XOR), D = 2 inputs, H hidden units, M = 1 output,
S seeds. Parameters are dicts ``{"W1": (D, H), "b1": (H,), "W2": (H, M),
"b2": (M,)}``; in ``train_seeds`` each entry has a leading S axis.

``gradient`` selects the gradient used for the update:

- ``"mse"``: the exact gradient of the package's ``mse_loss``,
  L = mean((a2 - y)^2), so dL/da2 = 2 (a2 - y) / (N M).
- ``"half"``: the gradient of L / 2 (for M = 1, sum((a2 - y)^2) / (2 N),
  whose dL/da2 is (a2 - y) / N): the same direction, half the step. It is
  the update of the source blog post (Dahlberg 2025), which chapter 4
  reproduces.

``scale`` names the initial weights' standard deviation: a number, or
``"lecun"``, sqrt(1 / fan_in) (LeCun et al. 1998; the post calls it Xavier),
or ``"glorot"``, sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio 2010).
"""

import numpy as np

from backprop import data as _data
from backprop import init as _init
from backprop import optim as _optim
from backprop.activations import sigmoid, sigmoid_backward, sigmoid_forward
from backprop.labs.style import scatter_targets
from backprop.layers import dense_backward, dense_forward
from backprop.losses import mse_loss

__all__ = [
    "XOR_X",
    "XOR_Y",
    "init_params",
    "train_pairs",
    "train_seeds",
    "predict",
    "solved",
    "plot_loss_curves",
    "output_plane",
    "plot_decision_boundary",
    "figure_legend",
    "explorer_states",
    "explorer_state",
    "explorer_figure",
    "xor_explorer",
    "TWIN_SCALES",
    "TWIN_HIDDEN",
    "TWIN_LRS",
    "twin_epochs",
    "twin_figure",
    "twin_png",
]

#: The four XOR inputs, (N, D) = (4, 2), and targets, (N, M) = (4, 1).
XOR_X, XOR_Y = _data.xor()

_GRADIENTS = ("mse", "half")


def _check_gradient(gradient):
    if gradient not in _GRADIENTS:
        raise ValueError(f"gradient must be one of {_GRADIENTS}, got {gradient!r}")


def _check_xy(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"expected X (N, D) and y (N, M) with the same N, got {X.shape} and {y.shape}"
        )
    return X, y


def _std(scale, fan_in, fan_out):
    """Standard deviation of one weight matrix for an ``init_params`` scale."""
    if scale == "glorot":  # Glorot & Bengio (2010), sqrt(2 / (fan_in + fan_out))
        return _init.xavier_std(fan_in, fan_out)
    if scale == "lecun":  # LeCun et al. (1998), sqrt(1 / fan_in)
        return float(np.sqrt(1.0 / fan_in))
    if isinstance(scale, str) or not np.isfinite(scale) or scale < 0:
        raise ValueError(
            f"scale must be 'glorot', 'lecun' or a number >= 0, got {scale!r}"
        )
    return float(scale)


def init_params(seeds, hidden=4, scale=0.01, inputs=2, outputs=1):
    """Initial parameters for one network per seed, stacked on a seed axis.

    For seed s, ``rng = np.random.default_rng(s)`` draws W1 (D, H) and then
    W2 (H, M) from a standard normal, multiplied by the standard deviation
    that ``scale`` names: a number such as 0.01, ``"glorot"``
    (sqrt(2 / (fan_in + fan_out))) or ``"lecun"`` (sqrt(1 / fan_in)).
    Biases start at zero.

    Returns ``{"W1": (S, D, H), "b1": (S, H), "W2": (S, H, M), "b2": (S, M)}``.
    """
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    if not seeds or hidden < 1 or inputs < 1 or outputs < 1:
        raise ValueError(
            f"need at least one seed and positive sizes, got seeds={seeds}, "
            f"hidden={hidden}, inputs={inputs}, outputs={outputs}"
        )
    s1 = _std(scale, inputs, hidden)
    s2 = _std(scale, hidden, outputs)
    W1, W2 = [], []
    for s in seeds:
        rng = np.random.default_rng(s)
        W1.append(s1 * rng.standard_normal((inputs, hidden)))
        W2.append(s2 * rng.standard_normal((hidden, outputs)))
    S = len(seeds)
    return {
        "W1": np.stack(W1),
        "b1": np.zeros((S, hidden)),
        "W2": np.stack(W2),
        "b2": np.zeros((S, outputs)),
    }


def train_pairs(params, X, y, lr=0.5, epochs=5000, gradient="mse"):
    """Full-batch gradient descent on one network, from the package's pairs.

    params: ``{"W1": (D, H), "b1": (H,), "W2": (H, M), "b2": (M,)}``.
    ``gradient="half"`` steps along the gradient of L / 2 instead of L.
    Returns ``(new_params, losses)``; ``losses[e]``, shape (epochs,), is
    the MSE before update e.
    """
    _check_gradient(gradient)
    X, y = _check_xy(X, y)
    N, M = y.shape
    losses = np.empty(epochs)
    for epoch in range(epochs):
        # forward: x -> dense -> sigmoid -> dense -> sigmoid -> MSE
        z1, c1 = dense_forward(X, params["W1"], params["b1"])  # (N, H)
        a1, s1 = sigmoid_forward(z1)
        z2, c2 = dense_forward(a1, params["W2"], params["b2"])  # (N, M)
        a2, s2 = sigmoid_forward(z2)
        losses[epoch], da2 = mse_loss(a2, y)
        if gradient == "half":
            da2 = da2 / 2  # the gradient of L / 2
        # backward: the same chain, in reverse
        dz2 = sigmoid_backward(da2, s2)
        da1, dW2, db2 = dense_backward(dz2, c2)
        dz1 = sigmoid_backward(da1, s1)
        _, dW1, db1 = dense_backward(dz1, c1)
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        params, _ = _optim.sgd(params, grads, lr)
    return params, losses


def _forward_seeds(p, X):
    """Batched forward pass: X (N, D) -> a1 (S, N, H), a2 (S, N, M)."""
    a1 = sigmoid(np.matmul(X, p["W1"]) + p["b1"][:, None, :])  # (S, N, H)
    a2 = sigmoid(np.matmul(a1, p["W2"]) + p["b2"][:, None, :])  # (S, N, M)
    return a1, a2


def train_seeds(params, X, y, lr=0.5, epochs=5000, gradient="mse"):
    """Train S networks at once: the batched twin of ``train_pairs``.

    params: ``{"W1": (S, D, H), "b1": (S, H), "W2": (S, H, M), "b2": (S, M)}``
    as from ``init_params``. Returns ``(new_params, history)`` where history
    has ``"loss"`` (epochs, S), the MSE of each network before each update,
    and ``"grad_norm_W1"``, ``"grad_norm_W2"`` (epochs, S), the Frobenius
    norms of the gradients used for each update.
    """
    _check_gradient(gradient)
    X, y = _check_xy(X, y)
    N, M = y.shape
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}  # own copies
    W1, b1, W2, b2 = p["W1"], p["b1"][:, None, :], p["W2"], p["b2"][:, None, :]  # views
    W2T = W2.transpose(0, 2, 1)  # (S, M, H), a view: follows the updates of W2
    S = W1.shape[0]
    hist = {k: np.empty((epochs, S)) for k in ("loss", "grad_norm_W1", "grad_norm_W2")}
    scale = 2.0 / (N * M) if gradient == "mse" else 1.0 / (N * M)  # dL/da2 = scale (a2 - y)
    XT = X.T  # (D, N)
    for epoch in range(epochs):
        a1 = sigmoid(np.matmul(X, W1) + b1)  # (S, N, H)
        a2 = sigmoid(np.matmul(a1, W2) + b2)  # (S, N, M)
        err = a2 - y  # (S, N, M)
        hist["loss"][epoch] = np.einsum("snm,snm->s", err, err)  # sums; / (N M) below
        dz2 = scale * err * a2 * (1.0 - a2)  # (S, N, M)
        dW2 = np.matmul(a1.transpose(0, 2, 1), dz2)  # (S, H, M)
        dz1 = np.matmul(dz2, W2T) * a1 * (1.0 - a1)  # (S, N, H)
        dW1 = np.matmul(XT, dz1)  # (S, D, H)
        hist["grad_norm_W1"][epoch] = np.einsum("sdh,sdh->s", dW1, dW1)  # squared; sqrt below
        hist["grad_norm_W2"][epoch] = np.einsum("shm,shm->s", dW2, dW2)
        W1 -= lr * dW1
        b1[:, 0] -= lr * np.einsum("snh->sh", dz1)  # the sum over the batch, (S, H)
        W2 -= lr * dW2
        b2[:, 0] -= lr * np.einsum("snm->sm", dz2)  # (S, M)
    hist["loss"] /= N * M
    np.sqrt(hist["grad_norm_W1"], out=hist["grad_norm_W1"])
    np.sqrt(hist["grad_norm_W2"], out=hist["grad_norm_W2"])
    return p, hist


def predict(params, X):
    """Outputs a2 (S, N, M) of stacked networks, or (N, M) of a single one."""
    X = np.asarray(X, dtype=np.float64)
    single = np.ndim(params["W1"]) == 2
    if single:
        params = {k: np.asarray(v)[None] for k, v in params.items()}
    _, a2 = _forward_seeds(params, X)
    return a2[0] if single else a2


def solved(params, X=XOR_X, y=XOR_Y):
    """Boolean (S,): every prediction is on the correct side of 0.5.

    Our definition of "solves XOR": thresholding the output at 0.5 classifies
    all four inputs correctly.
    """
    a2 = predict(params, X)
    if a2.ndim == 2:
        a2 = a2[None]
    return np.all((a2 > 0.5) == (np.asarray(y) > 0.5), axis=(1, 2))


def plot_loss_curves(loss, ax, title, highlight=None, logy=True, legend=True):
    """Plot one thin line per seed of ``loss`` (epochs, S) and their median.

    Epochs on a log axis; the loss on a log axis too unless ``logy=False``.
    ``legend=False`` leaves the legend to the caller (e.g. one for a figure).
    """
    import matplotlib.ticker as mticker

    epochs = np.arange(1, loss.shape[0] + 1)
    ax.plot(epochs, loss, color="tab:blue", alpha=0.15, lw=0.8)
    ax.plot(epochs, np.median(loss, axis=1), color="black", lw=2,
            label="median over seeds")
    if highlight is not None:
        ax.plot(epochs, loss[:, highlight], color="tab:red", lw=1.5,
                label=f"seed {highlight}")
    ax.axhline(0.25, color="gray", ls="--", lw=1,
               label="0.25 (predict 0.5 everywhere)")
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
        # room below the curves for the legend
        ax.set_ylim(min(loss.min(), 1e-3) / 30, 1.0)
    else:
        # a linear axis from 0: a plateau at 0.25 shows as one flat line,
        # not as noise magnified into ticks like 0.250025
        ax.set_ylim(0, max(0.3, 1.1 * loss.max()))
    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.set_title(title)
    if legend:
        # the lower left is free of curves: every loss starts near 0.25
        # and falls (if at all) only after many epochs
        ax.legend(loc="lower left", fontsize=9)


def output_plane(params, resolution=101, lo=-0.5, hi=1.5):
    """One network's output over the square ``[lo, hi]^2`` of the input plane.

    params: a single network ``{"W1": (D, H), ...}`` (no seed axis).
    Returns ``(g, out)``: the R grid values g (R,) of both inputs, and
    ``out`` (R, R) with ``out[i, j]`` the output at x1 = g[j], x2 = g[i].
    """
    g = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(g, g)
    grid = np.column_stack([gx.ravel(), gy.ravel()])  # (R*R, 2)
    return g, predict(params, grid).reshape(gx.shape)  # (R, R)


def plot_decision_boundary(params, ax, title, X=XOR_X, y=XOR_Y, resolution=101,
                           legend=True):
    """Colour the plane by one network's output and draw its 0.5 contour.

    params: a single network ``{"W1": (D, H), ...}`` (no seed axis). The
    colour bands are centred on 0.5, so an output of about 0.5 everywhere
    shows as one colour; the 0.5 contour is drawn only where the output
    varies by more than 0.01 over the plane (a boundary worth the name).
    """
    g, out = output_plane(params, resolution)
    return _draw_plane(ax, g, out, title, X, y, legend)


def _draw_plane(ax, g, out, title, X=XOR_X, y=XOR_Y, legend=True):
    """``plot_decision_boundary`` from an :func:`output_plane` ``(g, out)``."""
    gx, gy = np.meshgrid(g, g)
    levels = np.concatenate([[0.0], np.linspace(0.05, 0.95, 10), [1.0]])  # 0.5 mid-band
    cs = ax.contourf(gx, gy, out, levels=levels, cmap="RdBu_r", vmin=0, vmax=1)
    if _has_boundary(out):
        ax.contour(gx, gy, out, levels=[0.5], colors="black", linewidths=2)
    scatter_targets(ax, X, y, s=90)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_xticks([-0.5, 0, 0.5, 1, 1.5])
    ax.set_yticks([-0.5, 0, 0.5, 1, 1.5])
    ax.set_aspect("equal")
    ax.set_title(title)
    if legend:
        ax.legend(loc="upper center", fontsize=9, ncol=2, framealpha=0.9)
    return cs


def _has_boundary(out):
    """A 0.5 contour worth drawing: the output crosses 0.5 and varies by > 0.01."""
    return bool(out.min() < 0.5 < out.max() and out.max() - out.min() > 0.01)


def figure_legend(fig, axes):
    """One legend for ``fig`` below its panels, from the labelled artists of
    ``axes`` (each label once), so that no legend covers a curve."""
    handles = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    return fig.legend(handles.values(), handles.keys(), loc="outside lower center",
                      ncol=3, fontsize=9, frameon=False)


def explorer_states(scales, lr=0.5, hidden=4, epochs=5000, n_seeds=20,
                    gradient="mse", resolution=101):
    """Train seeds 0 to ``n_seeds - 1`` at one setting, for each init scale.

    The computation behind the widget's picture (:func:`explorer_figure`,
    through :func:`explorer_state`) and its kernel-free twin
    (:func:`twin_figure`). The networks of every scale train together in
    one :func:`train_seeds` call: a wider batch costs little more than one
    scale's (the time goes into the per-epoch overhead), and each seed's
    numbers do not depend on what else is in the batch.

    Returns one dict per scale, in the order of ``scales``: ``"loss"``
    (epochs, S), the MSE of each seed before each update; ``"params"``,
    the final parameters (seed axis first); ``"n_solved"``, how many seeds
    solve XOR (:func:`solved`); ``"grid"`` (R,) and ``"plane"`` (R, R),
    seed 0's output over the plane (:func:`output_plane`, R = resolution).
    """
    inits = [init_params(range(n_seeds), hidden=hidden, scale=s) for s in scales]
    params = {k: np.concatenate([p[k] for p in inits]) for k in inits[0]}  # (K*S, ...)
    final, hist = train_seeds(params, XOR_X, XOR_Y, lr=lr, epochs=epochs,
                              gradient=gradient)
    ok = solved(final)
    states = []
    for i in range(len(inits)):
        part = slice(i * n_seeds, (i + 1) * n_seeds)
        mine = {k: v[part] for k, v in final.items()}
        g, plane = output_plane({k: v[0] for k, v in mine.items()}, resolution)
        states.append({"loss": hist["loss"][:, part], "params": mine,
                       "n_solved": int(ok[part].sum()), "grid": g, "plane": plane})
    return states


def explorer_state(scale=0.01, lr=0.5, hidden=4, epochs=5000, n_seeds=20,
                   gradient="mse", resolution=101):
    """:func:`explorer_states` for one init scale: one dict."""
    return explorer_states([scale], lr, hidden, epochs, n_seeds, gradient,
                           resolution)[0]


def explorer_figure(scale=0.01, lr=0.5, hidden=4, epochs=5000, n_seeds=20, gradient="mse"):
    """Train ``n_seeds`` networks and draw their loss curves and seed 0's boundary.

    Returns ``(fig, n_solved)``; the numbers come from :func:`explorer_state`.
    """
    import matplotlib.pyplot as plt

    state = explorer_state(scale, lr, hidden, epochs, n_seeds, gradient)
    loss, n_solved = state["loss"], state["n_solved"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 4.1), layout="constrained",
                                   gridspec_kw={"width_ratios": [1.15, 1]})
    logy = bool(loss.max() > 2 * loss[-1].min())  # flat curves: linear axis
    scale_txt = scale if isinstance(scale, str) else f"{scale:.3g}"  # "lecun" or a slider float
    plot_loss_curves(loss, ax1,
                     f"{n_solved} of {n_seeds} seeds solve XOR\n"
                     f"(scale {scale_txt}, lr {lr:.3g}, H = {hidden})",
                     highlight=0, logy=logy, legend=False)
    cs = _draw_plane(ax2, state["grid"], state["plane"], f"seed 0, {epochs} epochs",
                     legend=False)
    ax1.title.set_fontsize(11)
    ax2.title.set_fontsize(11)
    fig.colorbar(cs, ax=ax2, label="output $a_2$", shrink=0.85,
                 ticks=[0, 0.25, 0.5, 0.75, 1])
    figure_legend(fig, (ax1, ax2))
    return fig, n_solved


def xor_explorer(scale=0.01, lr=0.5, hidden=4, epochs=5000, n_seeds=20):
    """An ipywidgets panel: sliders for init scale, learning rate, H and epochs.

    The defaults are the chapter's failing settings (init scale 0.01, lr 0.5,
    H = 4, 5000 epochs, the exact MSE gradient). Returns the widget.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    def show(scale, lr, hidden, epochs):
        fig, _ = explorer_figure(scale, lr, hidden, epochs, n_seeds)
        display(fig)
        plt.close(fig)

    return w.interactive(
        show,
        scale=w.FloatLogSlider(value=scale, base=10, min=-3, max=1, step=0.25,
                               description="init scale", continuous_update=False),
        lr=w.FloatLogSlider(value=lr, base=10, min=-2, max=1, step=0.1, description="lr",
                            continuous_update=False),
        hidden=w.IntSlider(value=hidden, min=1, max=16, description="hidden H",
                           continuous_update=False),
        epochs=w.IntSlider(value=epochs, min=100, max=20000, step=100, description="epochs",
                           continuous_update=False),
    )


#: The twin's grid: every init scale with every H (a dropdown), and the
#: learning rate (a slider); 5000 epochs. 0.01 is the chapter's failing
#: scale, 1 is randn; at 0.1 the learning rate and H decide. No lr above 2:
#: at lr 5 some runs (scale 0.1, H = 8) are chaotic, and their curves differ
#: between two BLAS builds by more than any stored precision can hide.
TWIN_SCALES = (0.01, 0.1, 1.0)
TWIN_HIDDEN = (2, 4, 8)
TWIN_LRS = (0.1, 0.5, 1.0, 2.0)
_TWIN_RESOLUTION = 31  # the plane, 31 x 31 uint8
_LOSS_RANGE = (1e-5, 1.0)  # the loss axis (log), fixed across states
_RDBU = [[0.0, "#053061"], [0.1, "#2166ac"], [0.3, "#92c5de"], [0.5, "#f7f7f7"],
         [0.7, "#f4a582"], [0.9, "#b2182b"], [1.0, "#67001f"]]  # matplotlib's RdBu_r


def twin_epochs(epochs=5000, points=64):
    """The epochs (1-based) at which the twin samples the loss curves.

    About ``points`` log-spaced epochs from 1 to ``epochs``, rounded and
    without repeats (the first few are 1, 2, 3...); ``loss[e - 1]`` is the
    loss at epoch e, as in :func:`plot_loss_curves`.
    """
    return np.unique(np.rint(np.geomspace(1, epochs, points)).astype(int))


def _four_digits(values):
    """``values`` rounded to 4 significant digits, as float32."""
    from backprop.labs.explore import Rounded

    return Rounded(values, 4).rounded().astype(np.float32)


def _twin_traces(state, epochs, n_seeds, loss_below=None):
    """One state of the twin: loss curves, solved count, plane, XOR points.

    The count is of seeds that solve XOR (:func:`solved`), or, with
    ``loss_below``, of seeds whose final loss is below it.
    """
    from backprop.labs.explore import Quantised, Rounded

    ep = twin_epochs(epochs)
    # 4 significant digits, then float32: the stored curves are the same on
    # every CPU (BLAS builds differ here by up to ~1e-12 relative, which
    # float32's last bit alone would show now and then)
    raw = state["loss"][ep - 1]  # (P, S)
    loss, median = _four_digits(raw), _four_digits(np.median(raw, axis=1))
    hover = "<br>epoch %{x}<br>MSE %{y:.3g}<extra></extra>"
    traces = [{"type": "scatter", "mode": "lines", "x": ep, "y": loss[:, s],
               "name": "other seeds", "legendgroup": "others",
               "showlegend": s == 1, "line": {"color": "rgba(31,119,180,0.35)",
                                              "width": 1},
               "hoverlabel": {"bgcolor": "white", "bordercolor": "#1f77b4"},
               "hovertemplate": f"seed {s}" + hover}
              for s in range(1, n_seeds)]
    traces += [
        {"type": "scatter", "mode": "lines", "x": ep, "y": median,
         "name": "median over seeds", "line": {"color": "black", "width": 2.5},
         "hovertemplate": "median over seeds" + hover},
        {"type": "scatter", "mode": "lines", "x": ep, "y": loss[:, 0],
         "name": "seed 0", "line": {"color": "#d62728", "width": 2},
         "hovertemplate": "seed 0" + hover},
        {"type": "scatter", "mode": "text", "x": [1.25], "y": [_LOSS_RANGE[0] * 1.5],
         "text": [f"<b>{state['n_solved']} of {n_seeds} seeds solve XOR</b>"
                  if loss_below is None else
                  f"<b>{int((state['loss'][-1] < loss_below).sum())} of {n_seeds} "
                  f"seeds reach loss < {loss_below:g}</b>"],
         "textposition": "top right", "textfont": {"size": 14},
         "showlegend": False, "hoverinfo": "skip"},
    ]
    g, plane = state["grid"], state["plane"]
    # one contour trace: the plane's colours, and the 0.5 line only where the
    # output crosses it and varies (as the widget); a line width of 0 hides it
    traces.append({
        "type": "contour", "x": g, "y": g, "z": Quantised(plane, 0.0, 1.0),
        "xaxis": "x2", "yaxis": "y2", "zmin": 0, "zmax": 255, "zauto": False,
        "colorscale": _RDBU, "hoverinfo": "skip", "showlegend": False,
        "contours": {"coloring": "heatmap", "start": 127.5, "end": 127.5,
                     "size": 1},
        "line": {"color": "black", "width": 2.5 if _has_boundary(plane) else 0},
        "colorbar": {"thickness": 10, "len": 0.75, "y": 0.5, "yanchor": "middle",
                     "x": 1.0, "xpad": 6, "tickvals": [0, 63.75, 127.5, 191.25, 255],
                     "ticktext": ["0", "0.25", "0.5", "0.75", "1"],
                     "title": {"text": "a₂", "side": "top"}}})
    out = predict({k: v[0] for k, v in state["params"].items()}, XOR_X)[:, 0]
    targets = XOR_Y[:, 0] > 0.5
    for target, symbol, fill in ((0, "circle", "white"), (1, "square", "black")):
        mask = targets == bool(target)
        traces.append({
            "type": "scatter", "mode": "markers", "x": XOR_X[mask, 0],
            "y": XOR_X[mask, 1], "customdata": Rounded(out[mask], 3),
            "xaxis": "x2", "yaxis": "y2", "name": f"target {target}", "showlegend": False,
            "marker": {"symbol": symbol, "color": fill, "size": 11,
                       "line": {"color": "black", "width": 1.5}},
            "hovertemplate": (f"x = (%{{x}}, %{{y}}), target {target}<br>"
                              "seed 0's output %{customdata:.3g}<extra></extra>")})
    return traces


def twin_figure(scales=TWIN_SCALES, hidden=TWIN_HIDDEN, lrs=TWIN_LRS, epochs=5000,
                n_seeds=20, default=(0.01, 4, 0.5), loss_below=None):
    """The explorer's kernel-free twin: a Plotly figure over a precomputed grid.

    A dropdown picks the init scale and H (every combination of ``scales``
    and ``hidden``; the scale alone when ``hidden`` has one value), a slider
    the learning rate. Each state is one state of :func:`explorer_states`
    (called once per H and learning rate, for all the scales): the loss
    curves of ``n_seeds`` seeds (at :func:`twin_epochs`), how many solve
    XOR, and seed 0's output over the plane with the XOR points.
    ``default`` is ``(scale, H, lr)``, the state shown first. With
    ``loss_below`` the count is of seeds whose final loss is below it (the
    exercise's criterion) instead of chapter 4's :func:`solved`. Returns the
    figure as a dict for :func:`backprop.labs.explore.show`.
    """
    from backprop.labs.explore import grid_figure

    groups = [(f"init scale {s:g}" + (f", H = {h}" if len(hidden) > 1 else ""),
               (s, h)) for s in scales for h in hidden]
    steps = [(f"{lr:g}", lr) for lr in lrs]

    states = {}  # (scale, H, lr) -> state; every scale of an (H, lr) at once

    def draw(group, lr):
        scale, h = group
        if (scale, h, lr) not in states:
            batch = explorer_states(scales, lr, h, epochs, n_seeds,
                                    resolution=_TWIN_RESOLUTION)
            states.update({(s, h, lr): st for s, st in zip(scales, batch)})
        return _twin_traces(states[(scale, h, lr)], epochs, n_seeds, loss_below)

    lo, hi = np.log10(_LOSS_RANGE)
    ticks = [-0.5, 0, 0.5, 1, 1.5]
    layout = {
        "height": 520, "template": "plotly_white",
        # fixed margins (a figure with a dropdown does not grow them): the title,
        # menu and legend above, the axis titles and the slider below, the
        # colour bar on the right
        "margin": {"l": 60, "r": 50, "t": 108, "b": 128},
        "title": {"text": f"XOR explorer: {n_seeds} seeds, {epochs} epochs",
                  "x": 0.02, "xanchor": "left", "y": 0.99, "yanchor": "top",
                  "font": {"size": 15}},
        "xaxis": {"domain": [0.0, 0.47], "type": "log", "title": {"text": "epoch", "standoff": 6},
                  "range": [0, np.log10(epochs)], "exponentformat": "power"},
        "yaxis": {"type": "log", "range": [lo, hi], "dtick": 1,
                  "exponentformat": "power", "title": {"text": "MSE loss (log)"}},
        "xaxis2": {"domain": [0.59, 1.0], "anchor": "y2", "range": [-0.5, 1.5],
                   "tickvals": ticks, "title": {"text": "x₁", "standoff": 6},
                   "constrain": "domain"},
        "yaxis2": {"anchor": "x2", "range": [-0.5, 1.5], "tickvals": ticks,
                   "scaleanchor": "x2", "constrain": "domain",
                   "title": {"text": "x₂", "standoff": 2}},
        "legend": {"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1.02,
                   "yanchor": "bottom", "font": {"size": 11}},
        "annotations": [
            {"text": "seed 0's output a₂", "xref": "x2 domain", "yref": "y2 domain",
             "x": 0.5, "y": 1.0, "yanchor": "bottom", "showarrow": False}],
    }
    static = [{"type": "scatter", "mode": "lines", "x": [1, epochs], "y": [0.25, 0.25],
               "name": "0.25 (output 0.5)", "hoverinfo": "skip",
               "line": {"color": "gray", "dash": "dash", "width": 1}}]
    scale0, h0, lr0 = default
    fig = grid_figure(draw, steps, groups=groups, static=static, layout=layout,
                      slider_label="learning rate:", menu_y=1.13,
                      default=((scale0, h0), lr0),
                      slider_pad=50)  # below the x axes' titles
    return fig


def twin_png(scale=0.01, lr=0.5, hidden=4, epochs=5000, n_seeds=20):
    """The twin's static picture: the widget's own figure at the default state."""
    from backprop.labs.style import png_bytes

    fig, _ = explorer_figure(scale, lr, hidden, epochs, n_seeds)
    return png_bytes(fig, dpi=100)
