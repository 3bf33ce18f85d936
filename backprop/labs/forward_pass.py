"""Chapter 1 helpers: the two-layer forward pass, traced, and its pictures.

The network is ``z1 = x W1 + b1``, ``a1 = sigmoid(z1)``,
``z2 = a1 W2 + b2``, ``a2 = sigmoid(z2)`` with x (N, D), W1 (D, H),
b1 (H,), W2 (H, M), b2 (M,). Parameters travel as a dict with the keys
``"W1", "b1", "W2", "b2"``; no function here writes into it.

Also here: the weight explorer (an ipywidgets control) and its kernel-free
twin for the book (:func:`twin_figure`, the same surfaces precomputed over
a grid of shifts and drawn with Plotly). Both draw :func:`twin_state`.
"""

import numpy as np

from backprop.activations import sigmoid_forward
from backprop.init import xavier_normal
from backprop.labs.style import png_bytes, scatter_targets
from backprop.layers import dense_forward

__all__ = ["PARAM_NAMES", "init_two_layer", "forward_trace", "shifted",
           "input_grid", "parameter_options", "surface_state", "twin_state",
           "plot_surfaces", "weight_explorer", "TWIN_SHIFTS",
           "TWIN_RESOLUTION", "twin_figure", "twin_png"]

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


def parameter_options(params):
    """``[(label, (name, index)), ...]``: every weight and bias, in order.

    The label reads like the code, ``"W1[0, 1]"``; for a 2-3-1 network
    there are 13 (W1: 6, b1: 3, W2: 3, b2: 1).
    """
    _check_params(params)
    return [(f"{name}[{', '.join(map(str, index))}]", (name, index))
            for name in PARAM_NAMES for index in np.ndindex(params[name].shape)]


def surface_state(params, lim=(-0.5, 1.5), resolution=81):
    """What :func:`plot_surfaces` draws: the network on a square grid.

    Returns ``{"t": (R,), "a1": (H, R, R), "a2": (R, R)}`` with R =
    ``resolution``: ``t`` holds the grid's coordinates along x1 and x2,
    ``a1[j]`` hidden unit j and ``a2`` the output (M = 1), with rows along
    x2 and columns along x1, as :func:`input_grid` lays them out.
    """
    _check_params(params)
    D, H = params["W1"].shape
    if D != 2 or params["W2"].shape[1] != 1:
        raise ValueError("the surfaces need D = 2 and M = 1, got W1 "
                         f"{params['W1'].shape} and W2 {params['W2'].shape}")
    xx, _, grid = input_grid(lim, resolution)
    trace = forward_trace(grid, params)
    R = xx.shape[0]
    return {"t": xx[0], "a1": trace["a1"].T.reshape(H, R, R),  # (H, R, R)
            "a2": trace["a2"][:, 0].reshape(R, R)}


def twin_state(params, name, index, shift, X=None, lim=(-0.5, 1.5),
               resolution=81):
    """One setting of the weight explorer: ``params[name][index] += shift``.

    Returns :func:`surface_state` of the shifted network, plus ``params``
    (the shifted copy) and, if points ``X`` (N, 2) are given, ``a1_X``
    (N, H) and ``a2_X`` (N,), the activations at those points. The widget
    draws this state; :func:`twin_figure` stores it for every grid point.
    """
    p = shifted(params, name, index, shift)
    state = dict(surface_state(p, lim, resolution), params=p)
    if X is not None:
        at = forward_trace(np.asarray(X, dtype=float), p)
        state["a1_X"], state["a2_X"] = at["a1"], at["a2"][:, 0]
    return state


def _draw_surfaces(state, X, y, title, figsize):
    """The matplotlib picture of a :func:`surface_state`."""
    import matplotlib.pyplot as plt

    t = state["t"]
    xx, yy = np.meshgrid(t, t)
    H = len(state["a1"])
    panels = [(state["a1"][j], f"hidden unit {j + 1}\n$a_1[:, {j}]$")
              for j in range(H)]
    panels.append((state["a2"], "output\n$a_2$"))
    fig, axes = plt.subplots(1, H + 1, figsize=figsize or (2.6 * (H + 1), 3.8),
                             sharey=True, constrained_layout=True)
    for ax, (values, name) in zip(axes, panels):
        im = ax.pcolormesh(xx, yy, values, vmin=0, vmax=1,
                           cmap="RdBu_r", shading="auto")
        ax.contour(xx, yy, values, levels=[0.5], colors="k", linewidths=1)
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


def plot_surfaces(params, X=None, y=None, lim=(-0.5, 1.5), resolution=81,
                  title="A random two-layer network over the input plane",
                  figsize=None):
    """One panel per hidden unit ``a1[:, j]`` and one for the output ``a2``.

    Needs D = 2 and M = 1. Optional points ``X`` (N, 2) are drawn coloured by
    ``y``. Draws :func:`surface_state`; returns the matplotlib Figure.
    """
    return _draw_surfaces(surface_state(params, lim, resolution), X, y,
                          title, figsize)


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

    options = parameter_options(params)
    dropdown = widgets.Dropdown(options=options, value=options[0][1], description="weight")
    slider = widgets.FloatSlider(value=0.0, min=-max_shift, max=max_shift, step=0.25,
                                 description="shift", continuous_update=False)
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([dropdown, slider]), image])
    box.dropdown, box.slider, box.image = dropdown, slider, image

    def draw(_change=None):
        name, index = dropdown.value
        state = twin_state(params, name, index, slider.value,
                           resolution=resolution)
        value = state["params"][name][index]
        fig = _draw_surfaces(
            state, X, y, figsize=None,
            title=f"{name}[{', '.join(map(str, index))}] = {value:.2f} "
                  f"(shifted by {slider.value:+.2f})")
        image.value = png_bytes(fig, dpi=dpi)
        box.result = fig

    dropdown.observe(draw, names="value")
    slider.observe(draw, names="value")
    draw()
    return box


#: The twin's grid: each of the network's parameters (the dropdown) shifted
#: by -4 to 4 in steps of 1 (the slider), surfaces on a 25 x 25 grid.
TWIN_SHIFTS = tuple(float(s) for s in range(-4, 5))
TWIN_RESOLUTION = 25


def _rdbu_r(n=11):
    """matplotlib's ``RdBu_r`` (the static picture's colours) as a Plotly scale."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["RdBu_r"]
    return [[round(k / (n - 1), 3), to_hex(cmap(k / (n - 1)))] for k in range(n)]


def _shift_label(shift):
    """``"-1"``, ``"0"``, ``"+1"``: a shift as the slider labels it."""
    return f"{shift:+g}" if shift else "0"


def _hidden_units_of(name, index):
    """The hidden units a shift of ``params[name][index]`` changes."""
    if name == "W1":
        return [index[1]]
    if name == "b1":
        return [index[0]]
    return []   # W2, b2: only the output changes


def twin_figure(params, X, y, shifts=TWIN_SHIFTS, resolution=TWIN_RESOLUTION,
                lim=(-0.5, 1.5)):
    """The weight explorer's kernel-free twin: a Plotly figure over a grid.

    A dropdown picks one parameter (:func:`parameter_options`), a slider its
    shift (``shifts``); each state draws :func:`twin_state` as heat maps
    (uint8, ``Quantised`` over [0, 1]) with the 0.5 contour, and the points
    ``X`` (N, 2) with targets ``y``, whose hover gives the exact
    activations. A shift of W1[i, j] or b1[j] changes hidden unit j and the
    output, one of W2 or b2 only the output; the panels a choice leaves
    alone are drawn once (``static``, shown unless the choice changes them)
    rather than stored again for every parameter and shift. Opens at the
    widget's defaults: the first parameter, shift 0. Returns the figure as a
    dict for :func:`backprop.labs.explore.show`.
    """
    from backprop.labs.explore import Quantised, grid_figure

    X = np.asarray(X, dtype=float)
    targets = (np.asarray(y).reshape(len(X)) > 0.5).astype(int)
    H = params["W1"].shape[1]
    options = parameter_options(params)
    if 0.0 not in shifts:
        raise ValueError(f"shifts must contain 0 (the widget's default), got {shifts}")
    t = surface_state(params, lim, resolution)["t"]
    step = float(t[1] - t[0])
    axis = [""] + [str(k + 1) for k in range(1, H + 1)]   # x, x2, ..., x{H+1}
    names = [f"a₁[:, {j}]" for j in range(H)] + ["a₂"]

    def panel(k, surface, at_points, note="not changed by this parameter"):
        """Panel k (hidden unit k, or the output if k == H): map + points.

        Both traces set ``z``, ``text`` and ``meta`` (None where they have
        none): a slider step restyles what changes, on every trace.
        """
        ax = {"xaxis": "x" + axis[k], "yaxis": "y" + axis[k]}
        heat = dict(ax, type="contour", z=Quantised(surface, 0.0, 1.0),
                    x0=float(t[0]), dx=step, y0=float(t[0]), dy=step,
                    coloraxis="coloraxis", hoverinfo="skip", text=None, meta=None,
                    contours={"coloring": "heatmap", "start": 127.5,
                              "end": 127.5, "size": 1, "showlines": True},
                    line={"color": "black", "width": 1.5})
        dots = dict(ax, type="scatter", mode="markers", x=X[:, 0], y=X[:, 1],
                    z=None, text=[f"{v:.3f}" for v in at_points], meta=note,
                    customdata=targets, showlegend=False,
                    hovertemplate=("x = (%{x}, %{y}), target %{customdata}<br>"
                                   f"{names[k]} = %{{text}}<br>%{{meta}}"
                                   "<extra></extra>"),
                    marker={"size": 9, "symbol": [("circle", "square")[c] for c in targets],
                            "color": [("white", "black")[c] for c in targets],
                            "line": {"color": "black", "width": 1.2}})
        return [heat, dots]

    def draw(choice, shift):
        name, index = choice
        state = twin_state(params, name, index, shift, X, lim, resolution)
        value = state["params"][name][index]
        label = f"{name}[{', '.join(map(str, index))}]"
        note = f"{label} = {value:.2f} (shift {_shift_label(shift)})"
        traces = []
        for j in _hidden_units_of(name, index):
            traces += panel(j, state["a1"][j], state["a1_X"][:, j], note)
        return traces + panel(H, state["a2"], state["a2_X"], note)

    base = twin_state(params, *options[0][1], 0.0, X, lim, resolution)
    static = []
    for j in range(H):
        static += panel(j, base["a1"][j], base["a1_X"][:, j])
    for c, label in enumerate(("target 0", "target 1")):
        static.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": label, "hoverinfo": "skip", "showlegend": True,
                       "marker": {"size": 9, "symbol": ("circle", "square")[c],
                                  "color": ("white", "black")[c],
                                  "line": {"color": "black", "width": 1.2}}})

    # Hidden units in a row, the output centred below them: a 13-entry
    # dropdown opens downwards over the figure and needs ~510 px to show
    # every entry without scrolling, so the figure is 520 px tall and the
    # panels use two rows of it. The dropdown shares the top row with the
    # title. Margins are fixed (autoexpand off): a dropdown choice toggles
    # sliders, and an auto-margin redraw at that moment would draw the
    # newly shown heat maps before Plotly has computed them.
    gap, right = 0.05, 0.8
    width = (right - (H - 1) * gap) / H
    x_lo = [k * (width + gap) for k in range(H)] + [(right - width) / 2]
    rows = [[0.6, 0.98]] * H + [[0.06, 0.44]]
    layout = {
        "height": 520, "template": "plotly_white", "hovermode": "closest",
        "margin": {"l": 45, "r": 10, "t": 50, "b": 120, "autoexpand": False},
        "title": {"text": f"A 2-{H}-1 sigmoid network over the input plane",
                  "x": 0.55, "xanchor": "center", "y": 0.985, "yanchor": "top",
                  "font": {"size": 15}},
        "coloraxis": {"colorscale": _rdbu_r(), "cmin": 0, "cmax": 255,
                      "colorbar": {"title": {"text": "activation", "side": "right"},
                                   "tickvals": [0, 63.75, 127.5, 191.25, 255],
                                   "ticktext": ["0", "0.25", "0.5", "0.75", "1"],
                                   "thickness": 12, "len": 0.37, "lenmode": "fraction",
                                   "x": right + 0.04, "xanchor": "left",
                                   "y": rows[0][0], "yanchor": "bottom"}},
        "legend": {"x": x_lo[H] + width + 0.06, "xanchor": "left", "y": rows[H][1],
                   "yanchor": "top", "font": {"size": 12}},
        "annotations": [],
    }
    for k in range(H + 1):
        left = k in (0, H)
        layout["xaxis" + axis[k]] = {
            "domain": [x_lo[k], x_lo[k] + width], "range": list(lim),
            "tickvals": [0, 1], "title": {"text": "x₁", "standoff": 0},
            "showgrid": False, "zeroline": False, "anchor": "y" + axis[k],
            "constrain": "domain"}
        layout["yaxis" + axis[k]] = {
            "domain": rows[k], "range": list(lim), "tickvals": [0, 1],
            "scaleanchor": "x" + axis[k], "constrain": "domain",
            "showgrid": False, "zeroline": False, "anchor": "x" + axis[k],
            "title": {"text": "x₂" if left else "", "standoff": 0}}
        layout["annotations"].append({
            "text": ("hidden unit " + str(k + 1) if k < H else "output")
                    + f" {names[k]}",
            "xref": "x" + axis[k] + " domain", "yref": "y" + axis[k] + " domain",
            "x": 0.5, "y": 1.0, "xanchor": "center", "yanchor": "bottom",
            "showarrow": False, "font": {"size": 12}})
    steps = [(_shift_label(s), s) for s in shifts]
    # A choice hides the static copies (map and points) of the hidden units
    # it redraws.
    def hide_static(choice):
        return [2 * j + k for j in _hidden_units_of(*choice) for k in (0, 1)]

    return grid_figure(draw, steps, groups=options, static=static, layout=layout,
                       slider_label="shift:", default=(options[0][1], 0.0),
                       hide_static=hide_static)


def twin_png(params, X, y, figsize=(7.0, 3.3)):
    """The twin's static picture: the widget's surfaces at its default (shift 0).

    The matplotlib figure of :func:`plot_surfaces` at full resolution, as
    PNG bytes.
    """
    fig = _draw_surfaces(twin_state(params, *parameter_options(params)[0][1], 0.0),
                         X, y, "A random two-layer network over the input plane",
                         figsize)
    return png_bytes(fig, dpi=100)
