"""Thin layer objects and a ``Sequential`` container.

Nothing here adds mathematics: every layer calls a forward/backward pair of
the package and keeps the last cache so that ``Sequential.backward`` can run
the pairs in reverse order. Parameters live in dicts; the optimisers of
``backprop.optim`` return new dicts, which ``Sequential.set_params`` installs.

    model = Sequential([Dense(2, 8, init="xavier_normal", rng=rng), Tanh(),
                        Dense(8, 1, init="xavier_normal", rng=rng)])
    history = backprop.train.fit(model, X, y, loss="mse",
                  optimizer=functools.partial(optim.sgd, lr=0.5), epochs=500)

Keys of ``model.params()`` / ``model.grads()`` are "<layer index>.<name>",
for example "0.W", "0.b", "2.W", "2.b".
"""

import numpy as np

from backprop import activations, batchnorm, dropout, init, layers

__all__ = [
    "Dense",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "BatchNorm",
    "Dropout",
    "Sequential",
]

INITIALISERS = {
    "xavier_normal": init.xavier_normal,
    "xavier_uniform": init.xavier_uniform,
    "he_normal": init.he_normal,
    "he_uniform": init.he_uniform,
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


class Dropout(Layer):
    """Inverted dropout, any shape. Calls ``dropout_forward/backward``.

    In training each entry is dropped with probability ``p`` (the mask is
    drawn from ``rng``, a ``np.random.Generator``, and kept in the cache);
    in evaluation (``train=False``) the layer is the identity.
    """

    def __init__(self, p, rng):
        super().__init__()
        dropout.dropout_mask((0,), p, rng)   # checks p, rng; draws nothing
        self.p, self.rng = p, rng

    def forward(self, x, train=True):
        if not train:
            self.cache = None
            return x
        out, self.cache = dropout.dropout_forward(x, self.p, rng=self.rng)
        return out

    def backward(self, dout):
        if self.cache is None:                    # evaluation: identity
            return dout
        return dropout.dropout_backward(dout, self.cache)

    def __repr__(self):
        return f"Dropout(p={self.p})"


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
