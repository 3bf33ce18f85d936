"""Chapter 14: the capstone, a digits classifier by hand, matched by PyTorch.

The model is the package's ``Sequential`` of Dense, BatchNorm, ReLU and
Dropout layers, trained by the package's ``fit`` with Adam on a cosine
schedule. This module builds it, trains it (one ``fit`` call per epoch, so
that the validation set is scored after each), replays a run in PyTorch
(float64, same weights, same batches, same dropout masks) and draws the
chapter's figures.

    parts = split()
    net = make_model(p=0.1, seed=0)
    run = train(net, parts, epochs=30, lr0=1e-2, seed=0)
"""

from dataclasses import dataclass, field

import numpy as np

from backprop import data, model, monitor, optim
from backprop.losses import softmax_cross_entropy
from backprop.train import fit

__all__ = [
    "split",
    "make_model",
    "AdamCosine",
    "RecordingDropout",
    "Run",
    "layer_labels",
    "steps_per_epoch",
    "train",
    "evaluate",
    "torch_twin",
    "match_torch",
    "compare_final",
    "confusion_matrix",
    "plot_curves",
    "epoch_medians",
    "plot_grad_norms",
    "plot_confusion",
    "plot_mistakes",
]

BATCH = 64


def split(test_fraction=0.2, val_fraction=0.2, seed=0):
    """Digits split once into {"train", "val", "test"}: (X (N, 64), y (N,)).

    The test rows are ``data.train_test_split(X, y, test_fraction, seed)``'s
    (chapter 10's test set for seed 0); the validation rows are
    ``val_fraction`` of the rest, drawn with seed + 1.
    """
    X, y = data.digits()
    X_rest, X_test, y_rest, y_test = data.train_test_split(
        X, y, test_fraction, seed=seed)
    X_train, X_val, y_train, y_val = data.train_test_split(
        X_rest, y_rest, val_fraction, seed=seed + 1)
    return {"train": (X_train, y_train), "val": (X_val, y_val),
            "test": (X_test, y_test)}


def make_model(p, seed, H=64, D=64, C=10, dropout=model.Dropout):
    """D-H-H-C: (Dense, BatchNorm, ReLU, Dropout(p)) twice, then Dense.

    Weights from ``np.random.default_rng(seed)`` (He for the hidden layers,
    Xavier for the logits), biases 0; the dropout masks from one generator
    ``np.random.default_rng(seed + 1)`` shared by both Dropout layers.
    """
    rng = np.random.default_rng(seed)
    masks = np.random.default_rng(seed + 1)
    layers = []
    for d in (D, H):
        layers += [model.Dense(d, H, init="he_normal", rng=rng),
                   model.BatchNorm(H), model.ReLU(), dropout(p, masks)]
    layers.append(model.Dense(H, C, init="xavier_normal", rng=rng))
    return model.Sequential(layers)


class RecordingDropout(model.Dropout):
    """A Dropout layer that also keeps every mask it draws, in order."""

    def __init__(self, p, rng):
        super().__init__(p, rng)
        self.masks = []

    def forward(self, x, train=True):
        out = super().forward(x, train)
        if train:
            self.masks.append(self.cache[0])
        return out


class AdamCosine:
    """Adam on a cosine schedule, as ``fit``'s optimizer; logs the monitor.

    Step t (from 0) uses lr = ``optim.cosine_lr(lr0, t, total_steps)``.
    It keeps Adam's state itself, so successive ``fit`` calls continue one
    run (``fit`` starts each call with state None). Per step it logs the
    rate and ``monitor.layer_norms(grads)``, chapter 10's per-layer
    gradient norms.
    """

    def __init__(self, lr0, total_steps):
        self.lr0, self.total_steps = lr0, total_steps
        self.state, self.lr, self.norms = None, [], []

    def __call__(self, params, grads, state=None):
        t = 0 if self.state is None else self.state["t"]
        lr = optim.cosine_lr(self.lr0, t, self.total_steps)
        new, self.state = optim.adam(params, grads, self.state, lr=lr)
        self.lr.append(lr)
        self.norms.append(monitor.layer_norms(grads))
        return new, self.state


@dataclass
class Run:
    """A training run, E epochs of S steps in all, L parameterised layers.

    step_loss, lr (S,); grad_norm (S, L) with ``layers`` (L,) names
    (``layer_labels``);
    train_loss (E,) the epoch means of the steps' losses (dropout on);
    val_loss, val_acc (E,) scored in evaluation mode after each epoch.
    """

    layers: list
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grad_norm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_acc: np.ndarray = field(default_factory=lambda: np.zeros(0))


def evaluate(net, X, y):
    """(loss, accuracy, predictions (N,)) in evaluation mode."""
    logits = net.forward(X, train=False)
    loss, _ = softmax_cross_entropy(logits, y)
    pred = np.argmax(logits, axis=1)
    return float(loss), float(np.mean(pred == y)), pred


def layer_labels(net):
    """Readers' names of the parameterised layers, numbered per kind.

    For the capstone model: ["Dense 1", "BN 1", "Dense 2", "BN 2",
    "Dense 3"] (not the positions 0, 1, 4, 5, 8 in ``net.layers``).
    """
    short = {"BatchNorm": "BN"}
    seen, out = {}, []
    for name in net.layer_names():
        kind = name.split(".")[1]
        seen[kind] = seen.get(kind, 0) + 1
        out.append(f"{short.get(kind, kind)} {seen[kind]}")
    return out


def steps_per_epoch(n, batch_size=BATCH):
    """Optimiser steps in one epoch of n rows: ceil(n / batch_size)."""
    return -(-n // batch_size)


def train(net, parts, epochs, lr0, seed, batch_size=BATCH, progress=True):
    """Train ``net`` in place with ``fit``, one call per epoch; a ``Run``.

    The batch order comes from ``np.random.default_rng(seed)``, passed to
    every call, so it is the order of one ``fit(epochs=epochs)`` call. The
    bar (``tqdm.auto``) counts epochs; fit's own bar is off.
    """
    from tqdm.auto import tqdm

    X, y = parts["train"]
    total = epochs * steps_per_epoch(len(X), batch_size)
    opt, rng = AdamCosine(lr0, total), np.random.default_rng(seed)
    run = Run(layers=layer_labels(net))
    step_loss, curves = [], []
    for _ in tqdm(range(epochs), desc="training", unit="epoch",
                  disable=not progress):
        h = fit(net, X, y, loss="softmax_cross_entropy", optimizer=opt,
                epochs=1, batch_size=batch_size, rng=rng, progress=False)
        step_loss.extend(h.step_loss)
        curves.append((h.loss[0], *evaluate(net, *parts["val"])[:2]))
    run.step_loss, run.lr = np.array(step_loss), np.array(opt.lr)
    run.grad_norm = np.array([list(n.values()) for n in opt.norms])
    run.train_loss, run.val_loss, run.val_acc = map(np.array, zip(*curves))
    return run


# --------------------------------------------------------------------------
# the same run in PyTorch
# --------------------------------------------------------------------------

def torch_twin(net, masks):
    """``net`` as a float64 torch module with copies of its parameters.

    Dense -> nn.Linear (weight = W.T), BatchNorm -> nn.BatchNorm1d (same
    eps, momentum, running statistics), ReLU -> nn.ReLU, Dropout -> x * m
    / (1 - p) with m the next mask of ``masks[i]`` (the masks the package
    layer i drew): torch's F.dropout computes exactly this for its own m.
    """
    import torch

    class SharedMaskDropout(torch.nn.Module):
        def __init__(self, p, queue):
            super().__init__()
            self.p, self.queue = p, iter(queue)

        def forward(self, x):
            if not self.training:                   # evaluation: identity
                return x
            return x * torch.as_tensor(next(self.queue)) / (1 - self.p)

    f64, mods = torch.float64, []
    for i, layer in enumerate(net.layers):
        P = {k: torch.tensor(v) for k, v in layer.params.items()}
        if isinstance(layer, model.Dense):
            mod = torch.nn.Linear(layer.D, layer.M, dtype=f64)
            with torch.no_grad():
                mod.weight.copy_(P["W"].T)
                mod.bias.copy_(P["b"])
        elif isinstance(layer, model.BatchNorm):
            mod = torch.nn.BatchNorm1d(layer.D, eps=layer.eps,
                                       momentum=layer.momentum, dtype=f64)
            S = {k: torch.tensor(v) for k, v in layer.state.items()}
            with torch.no_grad():
                mod.weight.copy_(P["gamma"])
                mod.bias.copy_(P["beta"])
                mod.running_mean.copy_(S["running_mean"])
                mod.running_var.copy_(S["running_var"])
        elif isinstance(layer, model.ReLU):
            mod = torch.nn.ReLU()
        else:
            mod = SharedMaskDropout(layer.p, masks[i])
        mods.append(mod)
    return torch.nn.Sequential(*mods)


def match_torch(parts, p, seed, epochs, lr0, batch_size=BATCH,
                progress=True):
    """Train with ``fit`` (its bar on), then replay the run in torch.

    Returns (our step losses, torch's step losses, the two final models).
    torch starts from copies of our initial parameters, takes the batches
    in fit's documented order (``rng.permutation(N)`` every epoch, from
    ``np.random.default_rng(seed)``), applies our dropout masks, and steps
    ``torch.optim.Adam`` with ``CosineAnnealingLR``.
    """
    import torch
    import torch.nn.functional as F

    X, y = parts["train"]
    N = len(X)
    total = epochs * steps_per_epoch(N, batch_size)
    net = make_model(p, seed, dropout=RecordingDropout)
    masks = {i: l.masks for i, l in enumerate(net.layers)
             if isinstance(l, RecordingDropout)}
    tnet = torch_twin(net, masks)           # before training: same start
    history = fit(net, X, y, loss="softmax_cross_entropy",
                  optimizer=AdamCosine(lr0, total), epochs=epochs,
                  batch_size=batch_size, rng=np.random.default_rng(seed),
                  progress=progress)
    opt = torch.optim.Adam(tnet.parameters(), lr=lr0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    order_rng, theirs = np.random.default_rng(seed), []
    tnet.train()
    for _ in range(epochs):
        order = order_rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(tnet(torch.tensor(X[idx])),
                                   torch.tensor(y[idx]))
            loss.backward()
            opt.step()
            schedule.step()
            theirs.append(loss.item())
    return history.step_loss, np.array(theirs), net, tnet


def compare_final(net, tnet):
    """How far the two models are apart after a run, ||ours - torch|| / ||torch||.

    Returns (largest over W, gamma, beta, the running variances and the
    last layer's b; largest over the running means; largest |entry| of the
    biases of Dense layers that feed a BatchNorm, in either model). Those
    biases get a zero gradient up to rounding, so only their size is
    reported, and the running means, which carry them, are given apart.
    """
    T = {(i, k): v.detach().numpy() for i, mod in enumerate(tnet)
         for k, v in mod.state_dict().items()}
    rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
    params, running, pre_bn = [], [], []
    for i, layer in enumerate(net.layers):
        nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
        if isinstance(layer, model.Dense):
            params.append(rel(layer.params["W"], T[i, "weight"].T))
            if isinstance(nxt, model.BatchNorm):
                pre_bn += [np.abs(layer.params["b"]).max(),
                           np.abs(T[i, "bias"]).max()]
            else:
                params.append(rel(layer.params["b"], T[i, "bias"]))
        elif isinstance(layer, model.BatchNorm):
            params += [rel(layer.params["gamma"], T[i, "weight"]),
                       rel(layer.params["beta"], T[i, "bias"]),
                       rel(layer.state["running_var"], T[i, "running_var"])]
            running.append(rel(layer.state["running_mean"],
                               T[i, "running_mean"]))
    return max(params), max(running), max(pre_bn)


# --------------------------------------------------------------------------
# reading the result
# --------------------------------------------------------------------------

def confusion_matrix(y, pred, C=10):
    """(C, C) counts: row = true class, column = predicted class."""
    out = np.zeros((C, C), dtype=np.int64)
    np.add.at(out, (y, pred), 1)
    return out


def plot_curves(run, title=""):
    """Loss (top), validation accuracy and the learning rate (bottom)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplot_mosaic([["loss", "loss"], ["acc", "lr"]],
                                   figsize=(7.5, 6), layout="constrained")
    E, S = len(run.train_loss), len(run.step_loss)
    ends = (S // E) * np.arange(1, E + 1)
    ax = axes["loss"]
    ax.plot(np.arange(S), run.step_loss, color="0.75", lw=0.7,
            label="training, per step (dropout on)")
    ax.plot(ends, run.train_loss, "o-", color="k", ms=3, lw=1,
            label="training, epoch mean (dropout on)")
    ax.plot(ends, run.val_loss, "s-", color="tab:blue", ms=3, lw=1,
            label="validation, after each epoch (eval mode)")
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="cross-entropy", title="loss")
    ax.legend(fontsize=9)
    ax = axes["acc"]
    ax.plot(np.arange(1, E + 1), 100 * run.val_acc, "s-", color="tab:blue",
            ms=3, lw=1)
    ax.set(xlabel="epoch", ylabel="accuracy (%)",
           title="validation accuracy")
    ax.set_ylim(max(80, 100 * run.val_acc.min() - 2), 100.5)
    ax = axes["lr"]
    ax.plot(np.arange(S), run.lr, color="tab:green")
    ax.set(xlabel="step", ylabel="learning rate",
           title="Adam's rate: cosine")
    for ax in axes.values():
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def epoch_medians(run):
    """(E, L): each layer's median gradient norm over each epoch's steps."""
    E, (S, L) = len(run.train_loss), run.grad_norm.shape
    spe = S // E
    return np.median(run.grad_norm[:E * spe].reshape(E, spe, L), axis=1)


def plot_grad_norms(run, title=""):
    """Per-layer gradient norm of every step (chapter 10's monitor), thin,
    with each epoch's median on top."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    L, (S, _) = len(run.layers), run.grad_norm.shape
    E = len(run.train_loss)
    spe = S // E
    mid = spe * np.arange(E) + spe // 2
    medians = epoch_medians(run)
    # Dark, distinct colours (tab10 without its light ones): every line
    # keeps its contrast on white.
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red",
               "tab:purple", "tab:brown", "tab:gray"]
    for j, name in enumerate(run.layers):
        colour = palette[j % len(palette)]
        ax.plot(run.grad_norm[:, j], lw=0.5, alpha=0.35, color=colour)
        ax.plot(mid, medians[:, j], "o-", ms=3, lw=1.2, color=colour,
                label=name)
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel=r"$G_\ell$ (gradient norm)",
           title=title or "gradient norm per layer")
    ax.legend(fontsize=9, ncols=3, title="epoch medians",
              title_fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def plot_confusion(cm, title=""):
    """The confusion matrix as a grid of counts, errors highlighted."""
    import matplotlib.pyplot as plt

    C = len(cm)
    fig, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
    off = cm * (1 - np.eye(C, dtype=cm.dtype))
    ax.imshow(np.where(np.eye(C, dtype=bool), 0, off), cmap="Reds",
              vmin=0, vmax=max(2, off.max()))
    for i in range(C):
        for j in range(C):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        fontsize=9, weight="bold" if i != j else "normal")
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set(xlabel="predicted class", ylabel="true class",
           title=title or "confusion matrix (test set)")
    return fig


def plot_mistakes(X, y, pred, cols=5):
    """Every misclassified image, titled 'true -> predicted'.

    Each 8x8 image is drawn 1.5 inches wide with visible pixels
    (interpolation "nearest"), large enough to judge by eye.
    """
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(pred != y)
    cols = max(1, min(cols, len(wrong)))
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols,
                             figsize=(max(4, 1.5 * cols), 1.9 * rows + 0.4),
                             layout="constrained", squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, k in zip(axes.ravel(), wrong):
        ax.imshow(X[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.axis("on")                       # a frame marks the 8x8 grid
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{y[k]} -> {pred[k]}", fontsize=12)
    fig.suptitle("misclassified test images (true -> predicted)",
                 fontsize=12)
    return fig
