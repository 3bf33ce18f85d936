"""Chapter 10: training in practice (schedules, monitors, a debugging clinic).

A training loop that logs, at every step, the learning rate, the loss, each
layer's gradient norm, each weight matrix's update/weight ratio and each
ReLU layer's dead-unit fraction (``backprop.monitor``), on the package's
``Sequential`` MLPs; the figures and the widget of the chapter.

    model = make_mlp([64, 64, 64, 10], np.random.default_rng(0))
    run = train_monitored(model, X, y, lr=lambda step: 0.1, epochs=10)
    fig = plot_monitors(run)
"""

from dataclasses import dataclass, field

import numpy as np

from backprop import losses, model, monitor, optim
from backprop.labs.style import png_bytes

__all__ = [
    "make_schedules",
    "make_mlp",
    "Run",
    "train_monitored",
    "accuracy",
    "schedule_sweep",
    "mystery_run",
    "plot_schedules",
    "plot_schedule_results",
    "plot_monitors",
    "plot_clinic",
    "schedule_figure",
    "schedule_widget",
]

ACTIVATIONS = {"relu": model.ReLU, "tanh": model.Tanh,
               "sigmoid": model.Sigmoid}


def make_schedules(lr0, total_steps, steps_per_epoch):
    """The chapter's five schedules as functions of the step, {name: fn}.

    Exponential decay by 0.1 over the whole run, smoothly: the epoch
    counts fractions of an epoch, so the rate at step s is
    lr0 0.1 ** (s / total_steps) and reaches lr0 / 10 at s = total_steps,
    the step after the last one. Step decay counts whole epochs, halving
    every quarter of the run. Cosine decays to 0 at s = total_steps,
    after a warm-up of one epoch.
    """
    epochs = total_steps // steps_per_epoch
    return {
        "constant": lambda s: lr0,
        "exponential": lambda s: optim.exponential_lr(
            lr0, 0.1, s, decay_steps=total_steps),
        "step": lambda s: optim.step_lr(
            lr0, s // steps_per_epoch, step_size=max(1, epochs // 4)),
        "cosine": lambda s: optim.cosine_lr(lr0, s, total_steps),
        "warm-up + cosine": lambda s: optim.cosine_lr(
            lr0, s, total_steps, warmup_steps=steps_per_epoch),
    }


def make_mlp(sizes, rng, activation="relu", init="he_normal", scale=1.0,
             bias=0.0):
    """A ``Sequential`` MLP: Dense, activation, ..., Dense (logits).

    sizes [D, H_1, ..., M]; weights drawn by ``init`` (a name of
    ``model.INITIALISERS``, "standard_normal" or "zeros") then multiplied
    by ``scale``; every hidden bias set to ``bias``, the output's to 0.
    """
    layers = []
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        if init == "zeros":
            W = np.zeros((d, m))
        elif init == "standard_normal":
            W = scale * rng.standard_normal((d, m))
        else:
            W = scale * model.INITIALISERS[init](d, m, rng)
        last = i == len(sizes) - 2
        b = np.full(m, 0.0 if last else float(bias))
        layers.append(model.Dense(d, m, W=W, b=b))
        if not last:
            layers.append(ACTIVATIONS[activation]())
    return model.Sequential(layers)


@dataclass
class Run:
    """What ``train_monitored`` logs; S steps, L dense layers, R ReLUs.

    lr, loss (S,); grad_norm, ratio (S, L); dead (S, R): per step.
    epoch_loss (E,); test_acc: accuracy on the test set after training
    (nan without one); diverged: the loss became inf or nan (the run
    stopped there); layers: the dense layers' keys, e.g. ["0", "2"].
    """

    layers: list
    lr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grad_norm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    ratio: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    dead: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    epoch_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    test_acc: float = float("nan")
    diverged: bool = False


def _forward(net, X):
    """Run the layers one by one; returns logits and each ReLU's output."""
    relu_out = []
    for layer in net.layers:
        X = layer.forward(X)
        if isinstance(layer, model.ReLU):
            relu_out.append(X)
    return X, relu_out


def accuracy(net, X, y):
    """Share of rows of X (N, D) whose largest logit is the label y (N,)."""
    return float(np.mean(np.argmax(net.forward(X), axis=1) == y))


def train_monitored(net, X, y, lr, epochs, batch_size=64, seed=0,
                    optimizer="sgd", beta=0.9, clip=None, test=None):
    """Train ``net`` in place by mini-batch steps; returns a ``Run``.

    lr: a function step -> learning rate (a schedule). optimizer: "sgd",
    "momentum" (beta) or "adam". clip: a max global gradient norm, or
    None. test: (X_test, y_test) for the final accuracy. The rows are
    shuffled every epoch by ``np.random.default_rng(seed)``. A loss that
    is not finite ends the run (``diverged``) instead of raising.
    """
    rng = np.random.default_rng(seed)
    run = Run(layers=[monitor.layer_of(k) for k in net.params()
                      if k.endswith(".W")])
    logs = {k: [] for k in ("lr", "loss", "grad_norm", "ratio", "dead")}
    state, step, N = None, 0, X.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            order, total = rng.permutation(N), 0.0
            for start in range(0, N, batch_size):
                idx = order[start:start + batch_size]
                logits, relu_out = _forward(net, X[idx])
                value, dlogits = losses.softmax_cross_entropy(logits, y[idx])
                if not np.isfinite(value):
                    run.diverged = True
                    break
                grads = net.backward(dlogits)
                if clip is not None:
                    grads, _ = optim.clip_by_global_norm(grads, clip)
                params, rate = net.params(), lr(step)
                new, state = _step(optimizer, params, grads, state, rate,
                                   beta)
                net.set_params(new)
                norms = monitor.layer_norms(grads)
                ratios = _weight_update_ratios(params, new)
                logs["lr"].append(rate)
                logs["loss"].append(float(value))
                logs["grad_norm"].append([norms[k] for k in run.layers])
                logs["ratio"].append([ratios[k] for k in run.layers])
                logs["dead"].append([monitor.dead_fraction(a)
                                     for a in relu_out])
                total += float(value) * len(idx)
                step += 1
            if run.diverged:
                break
            run.epoch_loss = np.append(run.epoch_loss, total / N)
    L = len(run.layers)
    R = sum(isinstance(layer, model.ReLU) for layer in net.layers)
    run.lr, run.loss = np.array(logs["lr"]), np.array(logs["loss"])
    S = len(run.loss)
    for key, width in (("grad_norm", L), ("ratio", L), ("dead", R)):
        setattr(run, key, np.array(logs[key], dtype=float).reshape(S, width))
    if test is not None and not run.diverged:
        run.test_acc = accuracy(net, *test)
    return run


def _step(name, params, grads, state, lr, beta):
    if name == "sgd":
        return optim.sgd(params, grads, lr)
    if name == "momentum":
        return optim.momentum(params, grads, state, lr, beta)
    if name == "adam":
        return optim.adam(params, grads, state, lr)
    raise ValueError(f"optimizer must be 'sgd', 'momentum' or 'adam', "
                     f"got {name!r}")


def schedule_sweep(X, y, test, sizes, lr0, epochs, seeds, batch_size=64,
                   optimizer="sgd"):
    """Train one MLP per (schedule, seed); returns {name: [Run, ...]}.

    Seed s draws the initial weights and the batch order, the same for
    every schedule, so the schedules are compared on equal terms.
    """
    steps_per_epoch = -(-X.shape[0] // batch_size)
    total = epochs * steps_per_epoch
    out = {}
    for name, fn in make_schedules(lr0, total, steps_per_epoch).items():
        out[name] = []
        for seed in seeds:
            net = make_mlp(sizes, np.random.default_rng(seed))
            out[name].append(train_monitored(
                net, X, y, fn, epochs, batch_size, seed=seed,
                optimizer=optimizer, test=test))
    return out


def _weight_update_ratios(params, new):
    """||update|| / ||W|| per layer, through ``monitor.layer_norms``.

    The same numbers as ``monitor.update_ratios`` (a test checks it), built
    from the norms alone so that exercise 10, which asks the learner to
    write ``update_ratios``, can still run this lab where that function is
    switched off.
    """
    weights = {k: v for k, v in params.items() if k.endswith(".W")}
    step = monitor.layer_norms({k: new[k] - v for k, v in weights.items()})
    size = monitor.layer_norms(weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {k: float(np.float64(step[k]) / size[k]) for k in size}


def mystery_run(X, y, epochs=3, seed=0):
    """Exercise 10's run to diagnose: the chapter's digits MLP, one set-up
    mistake (its solution names it), monitored like the chapter's runs."""
    net = make_mlp([64, 64, 64, 10], np.random.default_rng(seed))
    return train_monitored(net, X, y, lambda t: 1e-4, epochs, seed=seed)


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------

COLOURS = {"constant": "0.3", "exponential": "tab:blue", "step": "tab:orange",
           "cosine": "tab:green", "warm-up + cosine": "tab:red"}


def plot_schedules(lr0, total_steps, steps_per_epoch, ax=None):
    """The five schedules' learning rate against the step."""
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    steps = np.arange(total_steps)
    for name, fn in make_schedules(lr0, total_steps, steps_per_epoch).items():
        ax.plot(steps, [fn(s) for s in steps], label=name,
                color=COLOURS[name], lw=1.8)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    ax.set_title(f"Five schedules, lr0 = {lr0:g}, {total_steps} steps")
    ax.legend(fontsize=10, ncols=3, loc="upper center",
              bbox_to_anchor=(0.5, -0.2))
    return fig


def plot_schedule_results(results):
    """Per lr0: each seed's training loss per epoch (top), test accuracy.

    results: {lr0: {schedule: [Run, ...]}}, as ``schedule_sweep`` per lr0.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(7, 6.4),
                             layout="constrained", squeeze=False)
    for col, (lr0, sweep) in enumerate(results.items()):
        top, bottom = axes[0, col], axes[1, col]
        for i, (name, runs) in enumerate(sweep.items()):
            for k, r in enumerate(runs):
                top.plot(np.arange(1, len(r.epoch_loss) + 1), r.epoch_loss,
                         color=COLOURS[name], lw=1.2,
                         label=name if k == 0 else None)
            acc = [100 * r.test_acc for r in runs]
            bottom.scatter([i] * len(acc), acc, color=COLOURS[name], s=20)
            bottom.plot([i - 0.25, i + 0.25], [np.mean(acc)] * 2,
                        color=COLOURS[name], lw=2)
        top.set_yscale("log")
        _plain_log_ticks(top)
        top.set_xlabel("epoch")
        top.set_ylabel("training loss")
        top.set_title(f"lr0 = {lr0:g}: loss, each seed")
        bottom.set_xticks(range(len(sweep)))
        bottom.set_xticklabels([n.replace(" + ", "\n+ ") for n in sweep],
                               fontsize=9, rotation=30, ha="right",
                               rotation_mode="anchor")
        bottom.set_ylabel("test accuracy (%)")
        bottom.set_title(f"lr0 = {lr0:g}: test accuracy (bar: mean)")
    axes[0, 0].legend(fontsize=9)
    return fig


def plot_monitors(run, title="", axes=None, label=""):
    """Four panels of one run: loss, gradient norms, ratios, dead units.

    A new 2 x 2 figure, or the four ``axes`` given; ``label`` prefixes
    each panel's title (e.g. "broken").
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig = None
    if axes is None:
        fig, axes = plt.subplots(2, 2, figsize=(7, 5.8), layout="constrained")
        axes = axes.ravel()
    steps = np.arange(len(run.loss))
    axes[0].plot(steps, run.loss, color="k", lw=1)
    if run.loss.size and run.loss.max() > 100 * run.loss.min():
        axes[0].set_yscale("log")
    n = len(run.layers)
    colours = [plt.cm.viridis(j / max(1, n - 1)) for j in range(n)]
    for j in range(n):
        axes[1].plot(steps, run.grad_norm[:, j], color=colours[j], lw=1,
                     label=f"layer {j + 1}")
        axes[2].plot(steps, run.ratio[:, j], color=colours[j], lw=1)
    for j in range(run.dead.shape[1]):
        axes[3].plot(steps, 100 * run.dead[:, j], color=colours[j], lw=1)
    axes[2].axhline(1e-3, color="tab:red", ls=":", lw=1.2)
    axes[2].set_yscale("log")
    if np.any(run.grad_norm == 0):
        # a zero norm is the diagnosis: keep it on the plot, at the bottom
        axes[1].set_yscale("symlog", linthresh=1e-6)
        axes[1].set_ylim(bottom=0)
        top = int(np.ceil(np.log10(np.nanmax(run.grad_norm))))
        every = max(1, -(-(top + 6) // 5))
        axes[1].set_yticks([0] + [10.0**k for k in range(top, -5, -every)])
    else:
        axes[1].set_yscale("log")
    for ax in axes[:3]:
        ax.yaxis.set_minor_formatter(NullFormatter())
    if not np.isfinite(run.ratio).any():
        axes[2].text(0.5, 0.5, "undefined: all W = 0", ha="center",
                     va="center", transform=axes[2].transAxes)
    if run.dead.shape[1] == 0:
        axes[3].text(0.5, 0.5, "no ReLU layers", ha="center", va="center",
                     transform=axes[3].transAxes)
    axes[3].set_ylim(-3, 103)
    for ax in axes:
        ax.set_xlim(-0.02 * len(steps), 1.02 * len(steps))
    names = ("loss", "gradient norm per layer",
             "update/weight ratio (dotted: 1e-3)", "dead ReLU units")
    ylabels = ("training loss", r"$G_\ell$", r"$\rho_\ell$",
               "dead units (%)")
    prefix = f"{label}: " if label else ""
    for ax, name, ylabel in zip(axes, names, ylabels):
        ax.set_title(prefix + name, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("step")
    axes[1].legend(fontsize=9, ncols=2 if n > 3 else 1)
    if fig is not None and title:
        fig.suptitle(title)
    return fig


def plot_clinic(before, after, title):
    """Monitors of a broken run (left column) and of its fix (right)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 2, figsize=(7, 11), layout="constrained")
    plot_monitors(before, axes=axes[:, 0], label="broken")
    plot_monitors(after, axes=axes[:, 1], label="fixed")
    fig.suptitle(title)
    return fig


def _plain_log_ticks(ax):
    """Log axis ticked at 1, 2, 5 times powers of ten, labelled plainly."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


# --------------------------------------------------------------------------
# the widget
# --------------------------------------------------------------------------

def schedule_figure(X, y, test, sizes, schedule="warm-up + cosine", lr0=0.1,
                    epochs=10, batch_size=64, seed=0):
    """One run under one schedule: its learning rate and its loss."""
    import matplotlib.pyplot as plt

    steps_per_epoch = -(-X.shape[0] // batch_size)
    total = epochs * steps_per_epoch
    fn = make_schedules(lr0, total, steps_per_epoch)[schedule]
    net = make_mlp(sizes, np.random.default_rng(seed))
    run = train_monitored(net, X, y, fn, epochs, batch_size, seed=seed,
                          test=test)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.4),
                                   layout="constrained")
    ax1.plot(run.lr, color=COLOURS[schedule])
    ax1.set_xlabel("step")
    ax1.set_ylabel("learning rate")
    ax1.set_title(f"{schedule}, lr0 = {lr0:g}")
    ax2.plot(run.loss, color="0.6", lw=0.8, label="per step")
    ax2.plot((np.arange(len(run.epoch_loss)) + 1) * steps_per_epoch - 1,
             run.epoch_loss, "o-", color=COLOURS[schedule], label="epoch mean")
    ax2.set_yscale("log")
    _plain_log_ticks(ax2)
    ax2.set_xlabel("step")
    ax2.set_ylabel("training loss")
    acc = "diverged" if run.diverged else f"test accuracy {run.test_acc:.1%}"
    ax2.set_title(acc)
    ax2.legend(fontsize=9)
    return fig


def schedule_widget(X, y, test, sizes, epochs=10, dpi=80):
    """ipywidgets explorer: schedule and lr0; the run is redrawn."""
    
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    names = list(COLOURS)
    schedule = widgets.Dropdown(options=names, value="warm-up + cosine",
                                description="schedule")
    lr0 = widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0.5,
                                 step=0.25, description="lr0",
                                 continuous_update=False)
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([schedule, lr0]), image])
    box.schedule, box.lr0, box.image = schedule, lr0, image

    def draw(_change=None):
        fig = schedule_figure(X, y, test, sizes, schedule.value, lr0.value,
                              epochs)
        image.value = png_bytes(fig, dpi=dpi)

    schedule.observe(draw, names="value")
    lr0.observe(draw, names="value")
    draw()
    return box
