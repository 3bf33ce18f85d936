"""The training loop: ``fit`` a ``Sequential`` model and record its ``History``.

    history = fit(model, X, y, loss="mse",
                  optimizer=functools.partial(optim.sgd, lr=0.5), epochs=500)

It adds no mathematics: each step runs the model's forward and backward
pairs, one loss pair and one optimiser update.
"""

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from backprop import losses

__all__ = ["History", "fit", "LOSSES"]

LOSSES = {
    "mse": losses.mse_loss,
    "softmax_cross_entropy": losses.softmax_cross_entropy,
    "cross_entropy": losses.softmax_cross_entropy,
    "bce_with_logits": losses.bce_with_logits,
}


@dataclass
class History:
    """What ``fit`` records.

    loss (E,): mean training loss of each epoch (over all N examples);
    step_loss (S,): loss of every optimiser step;
    grad_norm (E, L): per epoch, the mean over its steps of each parameterised
    layer's gradient norm, columns named by ``layers`` (L,).
    """

    layers: list
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grad_norm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def fit(model, X, y, *, loss, optimizer, epochs, batch_size=None, rng=None,
        optimizer_state=None, progress=True):
    """Train ``model`` in place with mini-batch gradient descent; returns a ``History``.

    loss: "mse", "softmax_cross_entropy" (alias "cross_entropy"),
    "bce_with_logits", or a function ``(pred, y) -> (loss, dpred)``.
    optimizer: a function ``(params, grads, state=...) -> (new_params,
    new_state)``, e.g. ``functools.partial(optim.adam, lr=1e-2)``.
    batch_size None means full batch; otherwise the rows are reshuffled every
    epoch with ``rng`` (a ``np.random.Generator``, required then).
    progress shows a ``tqdm.auto`` bar (a widget in Jupyter; tag the cell
    ``nbval-ignore-output``); ``progress=False`` hides it.

    Raises ``FloatingPointError`` naming the epoch and step as soon as the loss
    is NaN or infinite (a diverging learning rate, typically).
    """
    loss_fn = LOSSES.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None or not callable(loss_fn):
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a function, got {loss!r}")
    if not callable(optimizer):
        raise ValueError(f"optimizer must be a function (params, grads, state=...), got {optimizer!r}")
    X, y = np.asarray(X), np.asarray(y)
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape} and {y.shape}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    B = N if batch_size is None else batch_size
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    shuffle = B < N
    if shuffle and not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator when batch_size < N, got {rng!r}")

    state = optimizer_state
    history = History(layers=model.layer_names())
    epoch_loss, step_loss, epoch_norms = [], [], []
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    step = 0
    # A diverging run overflows before its loss turns inf; the loop's own
    # check below is the loud signal, so NumPy's overflow warnings are muted.
    errstate = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    try:
        errstate.__enter__()
        for epoch in bar:
            order = rng.permutation(N) if shuffle else np.arange(N)
            total, norms = 0.0, []
            for start in range(0, N, B):
                idx = order[start:start + B]
                pred = model.forward(X[idx], train=True)
                value, dpred = loss_fn(pred, y[idx])
                value = float(value)
                if not np.isfinite(value):
                    raise FloatingPointError(
                        f"loss became {value} at epoch {epoch}, step {step} "
                        f"(batch starting at row {start}); try a smaller learning rate"
                    )
                grads = model.backward(dpred)
                new_params, state = optimizer(model.params(), grads, state=state)
                model.set_params(new_params)
                total += value * len(idx)
                step_loss.append(value)
                norms.append(model.grad_norms())
                step += 1
            epoch_loss.append(total / N)
            epoch_norms.append(np.mean(norms, axis=0))
            bar.set_postfix(loss=f"{epoch_loss[-1]:.4g}")
    finally:
        errstate.__exit__(None, None, None)
        bar.close()
        history.loss = np.array(epoch_loss)
        history.step_loss = np.array(step_loss)
        history.grad_norm = np.array(epoch_norms).reshape(len(epoch_loss), len(history.layers))
    return history
