"""Chapter 1 helpers: the two-layer forward pass, traced, and its pictures.

The network is ``z1 = x W1 + b1``, ``a1 = sigmoid(z1)``,
``z2 = a1 W2 + b2``, ``a2 = sigmoid(z2)`` with x (N, D), W1 (D, H),
b1 (H,), W2 (H, M), b2 (M,). Parameters travel as a dict with the keys
``"W1", "b1", "W2", "b2"``; no function here writes into it.
"""

import numpy as np

from backprop.activations import sigmoid_forward
from backprop.init import xavier_normal
from backprop.labs.style import png_bytes, scatter_targets
from backprop.layers import dense_forward

__all__ = ["PARAM_NAMES", "init_two_layer", "forward_trace", "shifted",
           "input_grid", "plot_surfaces", "weight_explorer"]

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def init_two_layer(D, H, M, rng, scale="xavier"):
    """Parameters of a D-H-M sigmoid network; biases start at zero.

    ``scale="xavier"`` draws W from N(0, 2 / (fan_in + fan_out)) with
    :func:`backprop.init.xavier_normal`; a float draws W from N(0, scale**2).
    """
    if scale == "xavier":
        W1, W2 = xavier_normal(D, H, rng), xavier_normal(H, M, rng)
    elif isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0:
        W1 = scale * rng.standard_normal((D, H))
        W2 = scale * rng.standard_normal((H, M))
    else:
        raise ValueError(f"scale must be 'xavier' or a positive number, got {scale!r}")
    return {"W1": W1, "b1": np.zeros(H), "W2": W2, "b2": np.zeros(M)}


def _check_params(params):
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params must have keys {PARAM_NAMES}, missing {missing}")


def forward_trace(x, params):
    """Forward pass of the two-layer network, keeping every intermediate.

    Returns a dict with ``z1`` (N, H), ``a1`` (N, H), ``z2`` (N, M),
    ``a2`` (N, M) and ``caches``, the four caches the backward pass opens,
    in forward order.
    """
    _check_params(params)
    z1, c1 = dense_forward(x, params["W1"], params["b1"])   # (N, H)
    a1, c2 = sigmoid_forward(z1)                            # (N, H)
    z2, c3 = dense_forward(a1, params["W2"], params["b2"])  # (N, M)
    a2, c4 = sigmoid_forward(z2)                            # (N, M)
    caches = (c1, c2, c3, c4)
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "caches": caches}


def shifted(params, name, index, delta):
    """A copy of ``params`` with ``params[name][index] += delta``."""
    _check_params(params)
    if name not in PARAM_NAMES:
        raise ValueError(f"name must be one of {PARAM_NAMES}, got {name!r}")
    out = {k: np.array(v, copy=True) for k, v in params.items()}
    out[name][index] += delta
    return out


def input_grid(lim=(-0.5, 1.5), resolution=81):
    """Points of a square grid: (xx, yy, X) with X (resolution**2, 2)."""
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    t = np.linspace(lim[0], lim[1], resolution)
    xx, yy = np.meshgrid(t, t)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])  # (R*R, 2)


def plot_surfaces(params, X=None, y=None, lim=(-0.5, 1.5), resolution=81,
                  title="A random two-layer network over the input plane",
                  figsize=None):
    """One panel per hidden unit ``a1[:, j]`` and one for the output ``a2``.

    Needs D = 2 and M = 1. Optional points ``X`` (N, 2) are drawn coloured by
    ``y``. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    _check_params(params)
    D, H = params["W1"].shape
    if D != 2 or params["W2"].shape[1] != 1:
        raise ValueError("plot_surfaces needs D = 2 and M = 1, got W1 "
                         f"{params['W1'].shape} and W2 {params['W2'].shape}")
    xx, yy, grid = input_grid(lim, resolution)
    trace = forward_trace(grid, params)
    panels = [(trace["a1"][:, j], f"hidden unit {j + 1}\n$a_1[:, {j}]$")
              for j in range(H)]
    panels.append((trace["a2"][:, 0], "output\n$a_2$"))
    fig, axes = plt.subplots(1, H + 1, figsize=figsize or (2.6 * (H + 1), 3.8),
                             sharey=True, constrained_layout=True)
    for ax, (values, name) in zip(axes, panels):
        im = ax.pcolormesh(xx, yy, values.reshape(xx.shape), vmin=0, vmax=1,
                           cmap="RdBu_r", shading="auto")
        ax.contour(xx, yy, values.reshape(xx.shape), levels=[0.5], colors="k",
                   linewidths=1)
        if X is not None:
            scatter_targets(ax, X, np.zeros(len(X)) if y is None else y, s=45)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.set_aspect("equal")
    axes[0].set_ylabel("$x_2$")
    if X is not None and y is not None:
        handles, labels = axes[-1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=10,
                   frameon=False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="activation (0 to 1)")
    fig.suptitle(title)
    return fig


def weight_explorer(params, X=None, y=None, max_shift=4.0, resolution=81, dpi=80):
    """An ipywidgets control: pick one weight, shift it, watch every surface.

    The picture is an ``ipywidgets.Image`` holding a PNG of
    :func:`plot_surfaces`, redrawn when a control changes (no ``Output``
    capture, so it executes the same way under nbclient as in JupyterLab).
    At its default settings (shift 0) it shows ``plot_surfaces(params, X, y)``.
    The returned VBox has the attributes ``dropdown``, ``slider``, ``image``
    and ``result``, the last Figure drawn (closed, so never shown twice).
    """
    
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    _check_params(params)
    options = []
    for name in PARAM_NAMES:
        for index in np.ndindex(params[name].shape):
            options.append((f"{name}[{', '.join(map(str, index))}]", (name, index)))
    dropdown = widgets.Dropdown(options=options, value=options[0][1], description="weight")
    slider = widgets.FloatSlider(value=0.0, min=-max_shift, max=max_shift, step=0.25,
                                 description="shift", continuous_update=False)
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([dropdown, slider]), image])
    box.dropdown, box.slider, box.image = dropdown, slider, image

    def draw(_change=None):
        name, index = dropdown.value
        p = shifted(params, name, index, slider.value)
        fig = plot_surfaces(
            p, X, y, resolution=resolution,
            title=f"{name}[{', '.join(map(str, index))}] = {p[name][index]:.2f} "
                  f"(shifted by {slider.value:+.2f})")
        image.value = png_bytes(fig, dpi=dpi)
        box.result = fig

    dropdown.observe(draw, names="value")
    slider.observe(draw, names="value")
    draw()
    return box
