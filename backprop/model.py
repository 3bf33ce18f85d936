"""Thin layer objects, a ``Sequential`` container and a training loop.

Nothing here adds mathematics: every layer calls a forward/backward pair of
the package and keeps the last cache so that ``Sequential.backward`` can run
the pairs in reverse order. Parameters live in dicts; the optimisers of
``backprop.optim`` return new dicts, which ``Sequential.set_params`` installs.

    model = Sequential([Dense(2, 8, init="xavier_normal", rng=rng), Tanh(),
                        Dense(8, 1, init="xavier_normal", rng=rng)])
    history = fit(model, X, y, loss="mse",
                  optimizer=functools.partial(optim.sgd, lr=0.5), epochs=500)

Keys of ``model.params()`` / ``model.grads()`` are "<layer index>.<name>",
for example "0.W", "0.b", "2.W", "2.b".
"""

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from backprop import activations, batchnorm, init, layers, losses

__all__ = [
    "Dense",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "BatchNorm",
    "Sequential",
    "History",
    "fit",
]

INITIALISERS = {
    "xavier_normal": init.xavier_normal,
    "xavier_uniform": init.xavier_uniform,
    "he_normal": init.he_normal,
    "he_uniform": init.he_uniform,
}

LOSSES = {
    "mse": losses.mse_loss,
    "softmax_cross_entropy": losses.softmax_cross_entropy,
    "cross_entropy": losses.softmax_cross_entropy,
    "bce_with_logits": losses.bce_with_logits,
}


# --------------------------------------------------------------------------
# layers: params, last cache, last grads; the math is in the pairs
# --------------------------------------------------------------------------

class Layer:
    """Base class: no parameters. ``forward(x, train)`` and ``backward(dout) -> dx``."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dense(Layer):
    """out = x W + b; x (N, D), W (D, M), b (M,). Calls ``layers.dense_forward/backward``.

    ``init`` is one of "xavier_normal", "xavier_uniform", "he_normal",
    "he_uniform" or a function ``(D, M, rng, dtype) -> W``; b starts at 0.
    Pass ``W`` (and optionally ``b``) to use given weights instead.
    """

    def __init__(self, D, M, init="xavier_normal", rng=None, dtype=np.float64, W=None, b=None):
        super().__init__()
        if W is None:
            make = INITIALISERS.get(init, init) if isinstance(init, str) else init
            if isinstance(init, str) and init not in INITIALISERS:
                raise ValueError(f"init must be one of {sorted(INITIALISERS)} or a function, got {init!r}")
            W = make(D, M, rng, dtype=dtype)
        W = np.asarray(W)
        b = np.zeros(M, dtype=W.dtype) if b is None else np.asarray(b)
        if W.shape != (D, M) or b.shape != (M,):
            raise ValueError(f"W must be ({D}, {M}) and b ({M},), got {W.shape} and {b.shape}")
        self.params = {"W": W, "b": b}
        self.D, self.M = D, M

    def forward(self, x, train=True):
        out, self.cache = layers.dense_forward(x, self.params["W"], self.params["b"])
        return out

    def backward(self, dout):
        dx, dW, db = layers.dense_backward(dout, self.cache)
        self.grads = {"W": dW, "b": db}
        return dx

    def __repr__(self):
        return f"Dense({self.D}, {self.M})"


class _Activation(Layer):
    _forward = _backward = None

    def forward(self, x, train=True):
        out, self.cache = type(self)._forward(x)
        return out

    def backward(self, dout):
        return type(self)._backward(dout, self.cache)


class ReLU(_Activation):
    """max(0, x), any shape. Calls ``activations.relu_forward/backward``."""

    _forward = staticmethod(activations.relu_forward)
    _backward = staticmethod(activations.relu_backward)


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)), any shape. Calls ``activations.sigmoid_forward/backward``."""

    _forward = staticmethod(activations.sigmoid_forward)
    _backward = staticmethod(activations.sigmoid_backward)


class Tanh(_Activation):
    """tanh(x), any shape. Calls ``activations.tanh_forward/backward``."""

    _forward = staticmethod(activations.tanh_forward)
    _backward = staticmethod(activations.tanh_backward)


class BatchNorm(Layer):
    """Batch normalisation over N for x (N, D). Calls ``batchnorm.batchnorm_forward/backward``.

    The running statistics are the one piece of state a layer object carries:
    ``batchnorm_forward`` returns the new state and this object keeps it.
    """

    def __init__(self, D, momentum=0.1, eps=1e-5, dtype=np.float64):
        super().__init__()
        self.params = {"gamma": np.ones(D, dtype=dtype), "beta": np.zeros(D, dtype=dtype)}
        self.state = {"running_mean": np.zeros(D, dtype=dtype), "running_var": np.ones(D, dtype=dtype)}
        self.D, self.momentum, self.eps = D, momentum, eps

    def forward(self, x, train=True):
        out, self.cache, self.state = batchnorm.batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.state,
            train=train, momentum=self.momentum, eps=self.eps,
        )
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = batchnorm.batchnorm_backward(dout, self.cache)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dx

    def __repr__(self):
        return f"BatchNorm({self.D})"


# --------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------

class Sequential:
    """Layers applied in order; backward runs their backward passes in reverse."""

    def __init__(self, layers):
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward") and hasattr(layer, "params")):
                raise ValueError(f"layer {i} must be a Layer (forward, backward, params), got {layer!r}")
        self.layers = layers

    def forward(self, x, train=True):
        """Run every layer's forward; keeps the caches. Returns the last output."""
        for layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    __call__ = forward

    def backward(self, dout):
        """Backpropagate ``dout`` (the loss gradient w.r.t. the output); returns ``grads()``."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        self.dx = dout
        return self.grads()

    def params(self):
        """{"<i>.<name>": array} for every parameter, in layer order (references, not copies)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def grads(self):
        """Gradients of the last ``backward``, keyed like ``params()``."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def set_params(self, params):
        """Install new parameter arrays (e.g. an optimiser's result), same keys and shapes."""
        current = self.params()
        if params.keys() != current.keys():
            raise ValueError(f"params must have keys {list(current)}, got {list(params)}")
        for key, value in params.items():
            if np.shape(value) != current[key].shape:
                raise ValueError(f"params[{key!r}] must have shape {current[key].shape}, got {np.shape(value)}")
            i, name = key.split(".", 1)
            self.layers[int(i)].params[name] = value

    def layer_names(self):
        """Names of the layers that have parameters, e.g. ["0.Dense", "2.Dense"]."""
        return [f"{i}.{type(l).__name__}" for i, l in enumerate(self.layers) if l.params]

    def grad_norms(self):
        """L2 norm of each parameterised layer's gradients (all its params together)."""
        # np.linalg.norm of a vector is a BLAS dot: inf on overflow, no warning.
        return np.array([
            np.linalg.norm([np.linalg.norm(g.ravel()) for g in l.grads.values()])
            for l in self.layers if l.params
        ], dtype=np.float64)

    def __repr__(self):
        inner = ",\n  ".join(repr(l) for l in self.layers)
        return f"Sequential([\n  {inner}\n])"


# --------------------------------------------------------------------------
# training loop
# --------------------------------------------------------------------------

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
