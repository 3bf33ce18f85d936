"""Chapter 11: recurrent networks and backpropagation through time.

* :func:`bptt_loop`: BPTT written as the textbook loop over a list of
  states, with the classic slip (reading ``h[t-1]`` at ``t = 0``) on demand;
* :func:`spectral_matrix`, :func:`grad_norms_through_time`: the gradient
  norm ||dL/dh_t|| against t for a chosen spectral radius of Wh;
* a sequence model (RNN + linear read-out + MSE) trained with Adam on noisy
  sine waves (:func:`sine_data`, :func:`init_model`, :func:`loss_and_grads`,
  :func:`train`), and the same model in PyTorch (:func:`torch_train`);
* a delayed-echo task that truncated BPTT learns barely
  (:func:`echo_data`), and the memory of chunked truncated BPTT
  (:func:`peak_memory`);
* the widget (sequence length and spectral radius -> gradient norm over
  time) and its kernel-free twin (:func:`twin_figure`, :func:`twin_png`).
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from backprop import optim
from backprop.layers import dense_backward, dense_forward
from backprop.losses import mse_loss
from backprop.rnn import rnn_backward, rnn_forward, rnn_step_forward

PARAMS = ("Wx", "Wh", "b", "Wy", "by")


# --------------------------------------------------------------------------
# BPTT as a loop over a list of states
# --------------------------------------------------------------------------

def bptt_loop(dh, x, h0, hs, Wx, Wh, keep_h0=True):
    """BPTT over time-major lists: returns (dWx, dWh, db).

    ``x[t]`` (N, D) and ``hs[t]`` (N, H) for t = 0..T-1, ``dh[t]`` the
    upstream gradient of h_t. keep_h0=True puts h0 at the front of the
    state list, so the state before step t is ``states[t]``. keep_h0=False
    reads ``hs[t-1]``, which at t = 0 is hs[-1], the LAST state.
    """
    T = len(hs)
    states = [h0] + list(hs) if keep_h0 else list(hs)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db, carry = np.zeros(Wh.shape[0]), np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (carry + dh[t]) * (1 - hs[t] ** 2)  # (N, H)
        prev = states[t] if keep_h0 else hs[t - 1]
        dWx += x[t].T @ da
        dWh += prev.T @ da
        db += da.sum(axis=0)
        carry = da @ Wh.T                        # to h_{t-1}
    return dWx, dWh, db


# --------------------------------------------------------------------------
# gradient norm through time
# --------------------------------------------------------------------------

def spectral_matrix(H, rho, rng):
    """rho times a random orthogonal (H, H) matrix: every eigenvalue and
    every singular value has modulus rho, so its spectral radius is rho."""
    Q, R = np.linalg.qr(rng.standard_normal((H, H)))
    return rho * Q * np.sign(np.diag(R))


def grad_norms_through_time(T=50, rho=1.0, H=32, N=8, x_scale=0.05,
                            seed=0):
    """||dL/dh_t|| for the states h_1..h_T, L = sum(c * h_T), ||c|| = 1.

    The RNN has Wh = rho Q (:func:`spectral_matrix`), inputs of size
    ``x_scale`` and h0 = 0, so its states are small and tanh' is near 1
    until they grow. Returns T norms (entry t - 1 for h_t), the last 1.
    """
    rng = np.random.default_rng(seed)
    Wh = spectral_matrix(H, rho, rng)
    Wx = rng.standard_normal((H, H)) / np.sqrt(H)
    x = x_scale * rng.standard_normal((N, T, H))
    h, _ = rnn_forward(x, np.zeros((N, H)), Wx, Wh, np.zeros(H))
    hbar = rng.standard_normal((N, H))           # dL/dh_T
    hbar /= np.linalg.norm(hbar)
    norms = np.empty(T)
    for t in range(T - 1, -1, -1):
        norms[t] = np.linalg.norm(hbar)
        hbar = (hbar * (1 - h[:, t] ** 2)) @ Wh.T   # dL/dh_{t-1}
    return norms


# --------------------------------------------------------------------------
# a sequence model: RNN, linear read-out, MSE on every step
# --------------------------------------------------------------------------

def sine_data(n, T, rng, noise=0.1):
    """Noisy sine waves: x (n, T, 1) the noisy values at steps 0..T-1,
    y (n, T, 1) the noisy values at steps 1..T (the next value).
    Frequencies are drawn from [0.15, 0.45] rad per step, phases from
    [0, 2 pi), amplitude 1; the noise is Gaussian with std ``noise``."""
    w = rng.uniform(0.15, 0.45, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    s = np.sin(w * np.arange(T + 1) + phase)
    s += noise * rng.standard_normal(s.shape)
    return s[:, :-1, None], s[:, 1:, None]


def echo_data(n, T, delay, rng):
    """x (n, T, 1) of random signs; y (n, T, 1) is x ``delay`` steps
    earlier (0 for the first ``delay`` steps)."""
    x = rng.choice([-1.0, 1.0], size=(n, T, 1))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


def init_model(D, H, M, rng):
    """PyTorch's default draws for nn.RNN and nn.Linear: uniform in
    +-1/sqrt(H); b is the sum of the RNN's two bias draws."""
    k = 1 / np.sqrt(H)
    u = lambda *shape: rng.uniform(-k, k, shape)
    Wx, Wh, b = u(D, H), u(H, H), u(H) + u(H)
    return {"Wx": Wx, "Wh": Wh, "b": b, "Wy": u(H, M), "by": u(M)}


def forward(p, x, h0=None):
    """Predictions (N, T, M) and the RNN's states (N, T, H)."""
    N, T, _ = x.shape
    H = p["Wh"].shape[0]
    h0 = np.zeros((N, H)) if h0 is None else h0
    h, _ = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    out, _ = dense_forward(h.reshape(N * T, H), p["Wy"], p["by"])
    return out.reshape(N, T, -1), h


def loss_and_grads(p, x, y, truncate=None):
    """MSE over every step and output, and its gradients (a dict)."""
    N, T, _ = x.shape
    H = p["Wh"].shape[0]
    h, cache = rnn_forward(x, np.zeros((N, H)), p["Wx"], p["Wh"], p["b"])
    flat = h.reshape(N * T, H)                          # (N T, H)
    out, dcache = dense_forward(flat, p["Wy"], p["by"])
    loss, dout = mse_loss(out, y.reshape(N * T, -1))
    dflat, dWy, dby = dense_backward(dout, dcache)
    dh = dflat.reshape(N, T, H)                         # (N, T, H)
    _, _, dWx, dWh, db = rnn_backward(dh, cache, truncate=truncate)
    return float(loss), {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}


def batches(n, batch, steps, seed):
    """The row indices of every mini-batch: one rng, shared with torch."""
    rng = np.random.default_rng(seed)
    return [rng.choice(n, batch, replace=False) for _ in range(steps)]


def train(p, x, y, steps, lr=1e-2, batch=32, seed=0, truncate=None,
          clip=None, optimizer="adam", stop_above=None):
    """Adam (or "sgd") on mini-batches; returns (params, losses, norms).

    ``clip``: clip the gradient by global norm first (``optim``).
    The norms are those before clipping. ``stop_above``: stop after the
    first step whose loss is larger (a diverging run).
    """
    update = optim.adam if optimizer == "adam" else optim.sgd
    params = {k: p[k] for k in PARAMS}
    state, losses, norms = None, [], []
    for rows in batches(len(x), batch, steps, seed):
        loss, grads = loss_and_grads(params, x[rows], y[rows], truncate)
        if clip is None:
            norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        else:
            grads, norm = optim.clip_by_global_norm(grads, clip)
        params, state = update(params, grads, lr=lr, state=state)
        losses.append(loss)
        norms.append(norm)
        if stop_above is not None and loss > stop_above:
            break
    return params, np.array(losses), np.array(norms)


def torch_model(p):
    """nn.RNN(tanh, batch_first) + nn.Linear in float64, our weights."""
    import torch

    D, H = p["Wx"].shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True,
                       dtype=torch.float64)
    lin = torch.nn.Linear(H, p["Wy"].shape[1], dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(p["Wx"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(p["Wh"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(p["b"]))
        rnn.bias_hh_l0.zero_()
        lin.weight.copy_(torch.tensor(p["Wy"].T))
        lin.bias.copy_(torch.tensor(p["by"]))
    return rnn, lin


def torch_train(p, x, y, steps, lr=1e-2, batch=32, seed=0):
    """The same model, batches and Adam in PyTorch; returns the losses."""
    import torch

    rnn, lin = torch_model(p)
    # one bias, as ours: b_hh stays 0 (Adam would move b_ih and b_hh
    # each by a full step, twice ours)
    trained = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
               *lin.parameters()]
    opt = torch.optim.Adam(trained, lr=lr)
    X, Y = torch.tensor(x), torch.tensor(y)
    losses = []
    for rows in batches(len(x), batch, steps, seed):
        rows = torch.tensor(rows)
        out, _ = rnn(X[rows])
        loss = torch.nn.functional.mse_loss(lin(out), Y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


# --------------------------------------------------------------------------
# the memory of truncated BPTT
# --------------------------------------------------------------------------

def chunked_grads(p, x, y, k):
    """Truncated BPTT as practice runs it: the sequence in chunks of k
    steps, forward and backward per chunk, the last state carried into
    the next chunk as a constant. Returns (loss, grads) summed over the
    chunks with the loss a mean over all steps."""
    N, T, _ = x.shape
    H = p["Wh"].shape[0]
    h0 = np.zeros((N, H))
    grads = {k_: np.zeros_like(p[k_]) for k_ in PARAMS}
    total = 0.0
    for s in range(0, T, k):
        xs, ys = x[:, s:s + k], y[:, s:s + k]
        n = xs.shape[1]
        h, cache = rnn_forward(xs, h0, p["Wx"], p["Wh"], p["b"])
        flat = h.reshape(N * n, H)
        out, dcache = dense_forward(flat, p["Wy"], p["by"])
        loss, dout = mse_loss(out, ys.reshape(N * n, -1))
        w = n / T                              # this chunk's share
        dflat, dWy, dby = dense_backward(dout * w, dcache)
        _, _, dWx, dWh, db = rnn_backward(dflat.reshape(N, n, H), cache)
        for k_, g in zip(PARAMS, (dWx, dWh, db, dWy, dby)):
            grads[k_] += g
        total += w * float(loss)
        h0 = h[:, -1]                          # carried, not differentiated
    return total, grads


def peak_memory(fn, *args):
    """Peak bytes NumPy allocates while ``fn(*args)`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------
# figures, the widget and its twin
# --------------------------------------------------------------------------

def plot_norms(curves, title, ax=None):
    """Log-scale ||dL/dh_t|| against t, one line per entry of ``curves``."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    for label, norms in curves.items():
        ax.semilogy(np.arange(1, len(norms) + 1), norms, label=label)
    ax.set_xlabel("time step t (the loss is at the last step, t = T)")
    ax.set_ylabel("||dL/dh_t|| (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def explorer_figure(T=50, rho=1.0):
    """The widget's picture: ||dL/dh_t|| for one (T, rho)."""
    norms = grad_norms_through_time(T, rho)
    return plot_norms({f"rho = {rho:g}": norms},
                      f"Gradient through time, T = {T}: ||dL/dh_1|| = "
                      f"{norms[0]:.2e}")


def gradient_widget():
    """ipywidgets: sequence length T and spectral radius rho of Wh."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(T, rho):
        explorer_figure(T, rho)
        plt.show()

    return widgets.interactive(
        show,
        T=widgets.IntSlider(value=50, min=5, max=200, step=5,
                            description="length T"),
        rho=widgets.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05,
                                description="radius rho"))


#: The twin's grid: four lengths in the dropdown, rho in steps of 0.05.
TWIN_LENGTHS = (10, 25, 50, 100)
TWIN_RADII = tuple(round(0.6 + 0.05 * i, 2) for i in range(17))


def twin_figure(lengths=TWIN_LENGTHS, radii=TWIN_RADII):
    """The kernel-free twin: a dropdown over T, a slider over rho; each
    state draws ||dL/dh_t|| (the widget's curve) and the line rho^(T-t)
    that a linear RNN would give."""
    from backprop.labs.explore import Rounded, grid_figure

    groups = [(f"T = {T}", T) for T in lengths]
    steps = [(f"{r:.2f}", r) for r in radii]

    def draw(T, rho):
        norms = grad_norms_through_time(T, rho)
        t = np.arange(1, T + 1)
        return [
            {"type": "scatter", "mode": "lines", "x": t,
             "y": Rounded(norms, 4), "name": "tanh RNN",
             "line": {"color": "#1f77b4", "width": 3},
             "hovertemplate": "t = %{x}<br>tanh RNN: ‖∂L/∂h<sub>t</sub>‖"
                              " = %{y:.3g}<extra></extra>"},
            {"type": "scatter", "mode": "lines", "x": t,
             "y": Rounded(rho ** (T - 1.0 * t), 4),
             "name": "linear RNN, ρ<sup>T−t</sup>",
             "line": {"color": "#7f7f7f", "width": 1.5, "dash": "dot"},
             "hovertemplate": "t = %{x}<br>linear RNN: ρ<sup>T−t</sup>"
                              " = %{y:.3g}<extra></extra>"}]

    layout = {
        "height": 590, "margin": {"l": 70, "r": 20, "t": 110, "b": 150},
        "title": {"text": "Gradient through time, ‖∂L/∂h<sub>t</sub>‖",
                  "x": 0.02, "xanchor": "left", "y": 0.975,
                  "font": {"size": 15}},
        "xaxis": {"title": {"text": "time step t (the loss is at t = T)"}},
        "yaxis": {"title": {"text": "‖∂L/∂h<sub>t</sub>‖ (log; 1 at t = T)"},
                  "type": "log", "exponentformat": "power"},
        "legend": {"x": 0.3, "xanchor": "left", "y": 1.0,
                   "yanchor": "bottom", "orientation": "h",
                   "font": {"size": 11}},
        "template": "plotly_white",
    }
    fig = grid_figure(draw, steps, groups=groups, layout=layout,
                      slider_label="spectral radius ρ:", menu_y=1.08,
                      default=(50, 1.0),
                      slider_pad=75)  # below the x-axis title
    return fig


def twin_png(T=50, rho=1.0):
    """The twin's static picture, its opening state (T, rho): the tanh
    RNN's ||dL/dh_t|| and, dotted, rho^(T-t). PNG bytes."""
    from backprop.labs.style import png_bytes

    fig = plot_norms({"tanh RNN": grad_norms_through_time(T, rho)},
                     f"Gradient through time, T = {T}, rho = {rho:g}")
    ax = fig.axes[0]
    t = np.arange(1, T + 1)
    ax.semilogy(t, rho ** (T - 1.0 * t), ":", color="0.5",
                label="linear RNN, rho^(T-t)")
    ax.legend(fontsize=9)
    return png_bytes(fig, dpi=100)
