"""Chapter 3 helpers: a glass-box 2-2-1 network, what a backward pass costs,
and the loop-vs-matmul timing.

``trace`` runs one forward and one backward pass of a 2-2-1 sigmoid network
on a single example with the package's pairs and records every intermediate
number. ``draw_step`` draws the network with those numbers on its nodes and
edges, revealing them one step at a time in the order backpropagation
computes them; ``glassbox_widget`` puts a slider on the step.

Shapes (one example, N = 1): x (1, D=2), W1 (2, 2), b1 (2,), W2 (2, 1),
b2 (1,), y (1, 1). Loss: the package's ``mse_loss``.

``network_forward`` and ``network_backward`` are the chapter's network for
any sizes (every layer dense then sigmoid, MSE loss), built from the pairs.
``count_multiply_adds`` counts the multiply-adds of their matrix products and
``time_passes`` times them, whole and call by call, for the section "What a
backward pass costs".
"""

import time

import numpy as np

from backprop import init
from backprop.activations import sigmoid_backward, sigmoid_forward
from backprop.layers import dense_backward, dense_forward
from backprop.losses import mse_loss

__all__ = [
    "DEFAULT_NETWORK",
    "STEPS",
    "trace",
    "draw_step",
    "glassbox_widget",
    "network_forward",
    "network_backward",
    "count_multiply_adds",
    "time_passes",
    "weight_gradient_loop",
    "time_loop_vs_matmul",
]

#: The example the chapter steps through: x (1, 2), y (1, 1) and parameters.
DEFAULT_NETWORK = {
    "x": np.array([[1.0, 0.5]]),
    "y": np.array([[1.0]]),
    "W1": np.array([[0.4, -0.6], [0.8, 0.3]]),
    "b1": np.array([0.1, -0.2]),
    "W2": np.array([[0.9], [-0.7]]),
    "b2": np.array([0.05]),
}

#: Step titles, in the order the widget reveals them.
STEPS = (
    "0. input x",
    "1. hidden pre-activation z1 = x W1 + b1",
    "2. hidden activation a1 = sigmoid(z1)",
    "3. output pre-activation z2 = a1 W2 + b2",
    "4. output a2 = sigmoid(z2), loss L = (a2 - y)^2",
    "5. output delta: delta2 = dL/da2 * a2 (1 - a2)",
    "6. output weights: dW2[j] = a1[j] * delta2",
    "7. hidden delta: delta1 = (delta2 W2^T) * a1 (1 - a1)",
    "8. input weights: dW1[i, j] = x[i] * delta1[j]",
)


def trace(net=None):
    """Forward and backward pass of the 2-2-1 network, every number recorded.

    net: a dict like ``DEFAULT_NETWORK`` (the default). Returns a dict of
    float64 arrays: the inputs plus z1, a1 (1, 2), z2, a2 (1, 1), loss,
    dL_da2 (1, 1), delta2 (1, 1), dW2 (2, 1), db2 (1,), dL_da1 (1, 2),
    delta1 (1, 2), dW1 (2, 2), db1 (2,).
    """
    net = DEFAULT_NETWORK if net is None else net
    t = {k: np.array(v, dtype=np.float64) for k, v in net.items()}
    expected = {"x": (1, 2), "y": (1, 1), "W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    for k, shape in expected.items():
        if k not in t or t[k].shape != shape:
            got = t[k].shape if k in t else "missing"
            raise ValueError(f"trace: expected {k} of shape {shape}, got {got}")
    t["z1"], c1 = dense_forward(t["x"], t["W1"], t["b1"])
    t["a1"], s1 = sigmoid_forward(t["z1"])
    t["z2"], c2 = dense_forward(t["a1"], t["W2"], t["b2"])
    t["a2"], s2 = sigmoid_forward(t["z2"])
    t["loss"], t["dL_da2"] = mse_loss(t["a2"], t["y"])
    t["delta2"] = sigmoid_backward(t["dL_da2"], s2)
    t["dL_da1"], t["dW2"], t["db2"] = dense_backward(t["delta2"], c2)
    t["delta1"] = sigmoid_backward(t["dL_da1"], s1)
    _, t["dW1"], t["db1"] = dense_backward(t["delta1"], c1)
    return t


# node positions: inputs at x=0, hidden at x=2, output at x=4, loss at x=5.4
_POS = {
    ("x", 0): (0.0, 1.6), ("x", 1): (0.0, 0.0),
    ("h", 0): (2.0, 1.6), ("h", 1): (2.0, 0.0),
    ("o", 0): (4.0, 0.8), ("L", 0): (5.4, 0.8),
}
_FWD, _BWD, _DIM = "tab:blue", "tab:red", "0.75"


def _node_text(kind, j, t, step):
    if kind == "x":
        return f"$x_{j + 1}$\n{t['x'][0, j]:.3f}"
    if kind == "h":
        lines = [f"$h_{j + 1}$"]
        if step >= 1:
            lines.append(f"z={t['z1'][0, j]:.3f}")
        if step >= 2:
            lines.append(f"a={t['a1'][0, j]:.3f}")
        if step >= 7:
            lines.append(f"$\\delta$={t['delta1'][0, j]:.4f}")
        return "\n".join(lines)
    if kind == "o":
        lines = ["out"]
        if step >= 3:
            lines.append(f"z={t['z2'][0, 0]:.3f}")
        if step >= 4:
            lines.append(f"a={t['a2'][0, 0]:.3f}")
        if step >= 5:
            lines.append(f"$\\delta$={t['delta2'][0, 0]:.4f}")
        return "\n".join(lines)
    lines = ["L", f"y={t['y'][0, 0]:g}"]
    if step >= 4:
        lines.append(f"L={t['loss']:.4f}")
    return "\n".join(lines)


def _edge_text(layer, i, j, t, step):
    """Label of the edge for weight W{layer}[i, j]: its value, then its gradient."""
    W = t["W1"] if layer == 1 else t["W2"]
    text = f"w={W[i, j]:+.2f}"
    if layer == 2 and step >= 6:
        text += (f"\n{t['a1'][0, i]:.3f}$\\times$({t['delta2'][0, j]:+.4f})"
                 f"\n= {t['dW2'][i, j]:+.4f}")
    if layer == 1 and step >= 8:
        text += (f"\n{t['x'][0, i]:.2f}$\\times$({t['delta1'][0, j]:+.4f})"
                 f"\n= {t['dW1'][i, j]:+.4f}")
    return text


def draw_step(t, step, ax=None):
    """Draw the network of a ``trace`` with the numbers known after ``step``.

    Nodes and edges the current step computes are coloured (blue forward, red
    backward); everything not yet computed is shown without numbers.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    step = int(step)
    if not 0 <= step < len(STEPS):
        raise ValueError(f"draw_step: step must be in [0, {len(STEPS) - 1}], got {step}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 6))
    fig = ax.figure
    active_nodes = {
        0: [("x", 0), ("x", 1)], 1: [("h", 0), ("h", 1)], 2: [("h", 0), ("h", 1)],
        3: [("o", 0)], 4: [("o", 0), ("L", 0)], 5: [("o", 0)], 6: [], 7: [("h", 0), ("h", 1)],
        8: [],
    }[step]
    color = _FWD if step <= 4 else _BWD
    edge_layer_active = {1: 1, 3: 2, 6: 2, 8: 1}.get(step)

    # edges W1 (input -> hidden) and W2 (hidden -> output), labelled near the start
    for layer, src, dst, n_src, n_dst in ((1, "x", "h", 2, 2), (2, "h", "o", 2, 1)):
        for i in range(n_src):
            for j in range(n_dst):
                (x0, y0), (x1, y1) = _POS[(src, i)], _POS[(dst, j)]
                on = edge_layer_active == layer
                ax.plot([x0, x1], [y0, y1], color=color if on else _DIM, lw=3 if on else 1.5,
                        zorder=1)
                # crossing edges of layer 1 are labelled near their start, where they
                # are far apart; straight edges a little past their middle
                frac = 0.5 if layer == 2 else (0.55 if i == j else 0.25)
                lx, ly = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
                ax.text(lx, ly, _edge_text(layer, i, j, t, step), fontsize=9.5, ha="center",
                        va="center", zorder=4,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white",
                                  ec=color if on else _DIM, lw=1))
    ax.plot([4.0, 5.4], [0.8, 0.8], color=_DIM, lw=1.5, ls="--", zorder=1)

    for (kind, j), (px, py) in _POS.items():
        on = (kind, j) in active_nodes
        ax.text(px, py, _node_text(kind, j, t, step), ha="center", va="center", fontsize=10,
                zorder=5, bbox=dict(boxstyle="circle,pad=0.8" if kind != "L" else "square,pad=0.5",
                                    fc="#fff3e0" if on else "white",
                                    ec=color if on else "black", lw=2.5 if on else 1))

    # the biases' gradients, once they are known
    notes = []
    if step >= 6:
        notes.append(f"db2 = delta2 = {t['db2'][0]:+.4f}")
    if step >= 8:
        notes.append(f"db1 = delta1 = ({t['db1'][0]:+.4f}, {t['db1'][1]:+.4f})")
    if notes:
        ax.text(5.4, 0.1, "\n".join(notes), ha="center", va="top", fontsize=10)
    ax.set_xlim(-0.45, 6.3)
    ax.set_ylim(-0.55, 2.1)
    ax.set_xticks([0, 2, 4, 5.4], ["input x (D=2)", "hidden (H=2)", "output (M=1)", "loss"],
                  fontsize=10)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("layer (forward: left to right; backward: right to left)", fontsize=10)
    ax.set_title(f"Glass-box 2-2-1 network, step {STEPS[step]}", fontsize=12)
    return fig


def glassbox_widget(net=None, step=len(STEPS) - 1):
    """An ipywidgets panel: a step slider (with a play button) over ``draw_step``."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    t = trace(net)
    slider = w.IntSlider(value=step, min=0, max=len(STEPS) - 1, description="step")
    play = w.Play(value=step, min=0, max=len(STEPS) - 1, interval=1500)
    w.jslink((play, "value"), (slider, "value"))
    out = w.interactive_output(lambda step: _show(t, step, plt, display), {"step": slider})
    return w.VBox([w.HBox([play, slider]), out])


def _show(t, step, plt, display):
    fig = draw_step(t, step)
    display(fig)
    plt.close(fig)


def _layers(params):
    """Number of layers K of ``{"W1", "b1", ..., "WK", "bK"}``; ValueError otherwise."""
    K = len(params) // 2
    expected = [f"{p}{k}" for k in range(1, K + 1) for p in ("W", "b")]
    if K < 1 or sorted(params) != sorted(expected):
        raise ValueError(f"params must have keys W1, b1, ..., WK, bK; got {sorted(params)}")
    return K


def network_forward(x, y, params):
    """Forward pass of the chapter's network and its MSE loss.

    x (N, D), y (N, M), params {"W1": (D, H), "b1": (H,), ..., "WK": (H, M),
    "bK": (M,)}; every layer is dense then sigmoid. Returns (loss, da, caches)
    with da = dL/da_K (N, M), the adjoint of the output.
    """
    K = _layers(params)
    a, caches = x, []
    for k in range(1, K + 1):
        W, b = params[f"W{k}"], params[f"b{k}"]
        z, dense = dense_forward(a, W, b)  # z_k (N, H_k)
        a, sig = sigmoid_forward(z)  # a_k (N, H_k)
        caches.append((dense, sig))
    loss, da = mse_loss(a, y)  # da (N, M)
    return loss, da, caches


def network_backward(da, caches, input_grad=False):
    """Backward pass of ``network_forward``: {"W1": dW1, "b1": db1, ...}.

    Layer by layer from the last: delta_k = da_k * a_k (1 - a_k), then the
    dense rule. The first layer's dx is skipped unless ``input_grad`` (then
    it is returned as "x"): training needs no gradient for the data.
    """
    grads = {}
    for k in range(len(caches), 0, -1):
        dense, sig = caches[k - 1]
        delta = sigmoid_backward(da, sig)  # delta_k (N, H_k)
        da, grads[f"W{k}"], grads[f"b{k}"] = dense_backward(
            delta, dense, input_grad=k > 1 or input_grad)
    if input_grad:
        grads["x"] = da  # (N, D)
    return grads


def count_multiply_adds(sizes=(784, 128, 10), N=256, first_dx=False):
    """Multiply-adds of the matrix products of one forward and one backward pass.

    sizes (D, H, ..., M) of a dense network, batch N. Layer k maps D_k inputs
    to M_k outputs: forward ``x W`` costs N D_k M_k multiply-adds; backward
    ``x.T @ dout`` (dW) costs the same, and so does ``dout @ W.T`` (dx), which
    the first layer skips unless ``first_dx``. Elementwise work (activations,
    loss, bias) is not counted. Returns {"forward": int, "backward": int,
    "layers": [{"D", "M", "forward", "dW", "dx"}, ...]}.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1 or int(N) < 1:
        raise ValueError(f"need at least two positive sizes and N >= 1; got {sizes}, N={N}")
    layers = []
    for k, (D, M) in enumerate(zip(sizes[:-1], sizes[1:])):
        macs = int(N) * D * M
        layers.append({"D": D, "M": M, "forward": macs, "dW": macs,
                       "dx": macs if (k > 0 or first_dx) else 0})
    return {"forward": sum(r["forward"] for r in layers),
            "backward": sum(r["dW"] + r["dx"] for r in layers), "layers": layers}


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_passes(sizes=(784, 128, 10), N=256, repeats=50, warmup=3, seed=0, threads=1,
                input_grad=False):
    """Time ``network_forward`` and ``network_backward`` of a float64 network.

    Weights are Glorot-normal, x standard normal (N, D), y uniform (N, M).
    BLAS runs on ``threads`` threads (threadpoolctl; None leaves it alone):
    one thread keeps the time proportional to the work done. After
    ``warmup`` untimed passes, each pass is timed ``repeats`` times and the
    median is kept, the figure least disturbed by other work on the machine.
    Then every call inside the two passes is timed alone in the same way.
    ``input_grad`` makes the backward pass compute the first layer's dx too.

    Returns {"forward_s", "backward_s", "ratio" (backward / forward),
    "calls": [(pass, call, multiply_adds, seconds), ...] in execution order}.
    """
    from threadpoolctl import threadpool_limits

    count = count_multiply_adds(sizes, N, first_dx=input_grad)
    sizes = [int(s) for s in sizes]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, sizes[0]))
    y = rng.random((N, sizes[-1]))
    params = {}
    for k, (D, M) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{k}"] = init.xavier_normal(D, M, rng)
        params[f"b{k}"] = np.zeros(M)
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(warmup):
            _, da, caches = network_forward(x, y, params)
            network_backward(da, caches, input_grad)
        fwd, bwd = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, da, caches = network_forward(x, y, params)
            t1 = time.perf_counter()
            network_backward(da, caches, input_grad)
            t2 = time.perf_counter()
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        calls = _time_calls(x, y, params, count, repeats, input_grad)
    forward_s, backward_s = float(np.median(fwd)), float(np.median(bwd))
    return {"forward_s": forward_s, "backward_s": backward_s,
            "ratio": backward_s / forward_s, "calls": calls}


def _time_calls(x, y, params, count, repeats, input_grad):
    """Median seconds of every call of the two passes, each timed alone."""
    calls, a = [], x
    for k, layer in enumerate(count["layers"], start=1):
        W, b = params[f"W{k}"], params[f"b{k}"]
        calls.append(("forward", f"dense_forward {k}", layer["forward"],
                      _median_seconds(lambda a=a, W=W, b=b: dense_forward(a, W, b), repeats)))
        z, _ = dense_forward(a, W, b)
        calls.append(("forward", f"sigmoid_forward {k}", 0,
                      _median_seconds(lambda z=z: sigmoid_forward(z), repeats)))
        a, _ = sigmoid_forward(z)
    calls.append(("forward", "mse_loss", 0, _median_seconds(lambda: mse_loss(a, y), repeats)))
    _, da, caches = network_forward(x, y, params)
    for k in range(len(caches), 0, -1):
        dense, sig = caches[k - 1]
        layer = count["layers"][k - 1]
        calls.append(("backward", f"sigmoid_backward {k}", 0,
                      _median_seconds(lambda da=da, sig=sig: sigmoid_backward(da, sig), repeats)))
        delta = sigmoid_backward(da, sig)
        dx = k > 1 or input_grad
        name = f"dense_backward {k}" + ("" if dx else " (no dx)")
        calls.append(("backward", name, layer["dW"] + layer["dx"], _median_seconds(
            lambda d=delta, c=dense, dx=dx: dense_backward(d, c, input_grad=dx), repeats)))
        da, _, _ = dense_backward(delta, dense, input_grad=dx)
    return calls


def _loop_inputs(x, delta):
    x = np.asarray(x, dtype=np.float64)
    delta = np.asarray(delta, dtype=np.float64)
    if x.ndim != 2 or delta.ndim != 2 or x.shape[0] != delta.shape[0]:
        raise ValueError("expected x (N, D) and delta (N, H) with the same N, "
                         f"got {x.shape} and {delta.shape}")
    return x, delta


def weight_gradient_loop(x, delta):
    """dW = x^T delta with three Python loops, the way not to do it.

    x (N, D), delta (N, H) -> dW (D, H), dW[j, k] = sum_i x[i, j] delta[i, k].
    """
    x, delta = _loop_inputs(x, delta)
    N, D = x.shape
    H = delta.shape[1]
    dW = np.zeros((D, H))
    for i in range(N):
        for j in range(D):
            for k in range(H):
                dW[j, k] += x[i, j] * delta[i, k]
    return dW


def time_loop_vs_matmul(N=64, D=784, H=128, loop_columns=None, seed=0, repeats=20,
                        loop_repeats=1):
    """Time ``weight_gradient_loop`` against ``x.T @ delta``, each the best of several runs.

    The loop runs ``loop_repeats`` times, the matrix product ``repeats`` times
    after one untimed warm-up call (the first BLAS call of a process starts its
    thread pool and is many times slower); the minimum of each is the least
    disturbed by other work on the machine.

    The loop's work is exactly proportional to the number of columns of
    delta, so to save time it can run on the first ``loop_columns`` of the
    H columns only; its time is then scaled by ``H / loop_columns``.
    Returns a dict with the seconds of each (``loop_s`` for all H columns),
    their ratio, the columns actually looped over and the largest absolute
    difference between the two results on those columns.
    """
    k = H if loop_columns is None else int(loop_columns)
    if not 1 <= k <= H:
        raise ValueError(f"loop_columns must be in [1, H={H}], got {loop_columns}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    delta = rng.standard_normal((N, H))
    t_loop = np.inf
    for _ in range(loop_repeats):
        t0 = time.perf_counter()
        loop = weight_gradient_loop(x, delta[:, :k])  # (D, k)
        t_loop = min(t_loop, (time.perf_counter() - t0) * H / k)
    t_mat = np.inf
    mat = x.T @ delta  # warm-up, untimed
    for _ in range(repeats):
        t0 = time.perf_counter()
        mat = x.T @ delta  # (D, H)
        t_mat = min(t_mat, time.perf_counter() - t0)
    return {"loop_s": t_loop, "matmul_s": t_mat, "speedup": t_loop / t_mat,
            "loop_columns": k, "max_abs_diff": float(np.abs(loop - mat[:, :k]).max())}
