"""Chapter 12: the autodiff engine at work, and PyTorch's autograd.

* Scalar nodes against array nodes on one MLP: the same loss built from
  ``labs.graph``'s scalar nodes (one node per multiply and add, as
  micrograd) and from ``backprop.autodiff``'s array nodes; node counts,
  gradients and times.
* Training with the engine: chapter 4's XOR network and a digits MLP.
* PyTorch: chapter 4's network as ``nn.Module`` (two sigmoid layers, MSE,
  SGD), trained one seed at a time, and the same for S seeds at once with
  batched matrix products (every tensor has a leading seed axis S).

Shapes: N examples, D inputs, H hidden units, M outputs, S seeds.
"""

import time

import numpy as np

from backprop import autodiff as ad
from backprop.labs import graph

__all__ = [
    "op_cases", "verify_op", "scalar_mlp_loss", "array_mlp_loss",
    "scalar_vs_array",
    "xor_forward", "train_xor_engine", "digits_forward",
    "train_digits_engine", "torch_network", "torch_init_params",
    "train_torch_one", "train_torch_seeds", "xor_solved",
    "escape_epochs", "hidden_unit_spread",
]


# ------------------------------------------------------ the ops, verified

def op_cases(rng):
    """``[(name, engine f, torch f, arrays)]``: each f maps its inputs to a
    0-d loss, ``sum(op(...) * R)`` with a fixed random R, so every output
    element has its own upstream gradient. The torch f takes float64
    tensors. For ``ad.gradient_check`` and ``torch.autograd``.
    """
    import torch
    import torch.nn.functional as F

    r = rng.standard_normal
    R = {s: r(s) for s in [(4, 3), (3,), ()]}
    Rt = {s: torch.tensor(v) for s, v in R.items()}
    y_mse, y_ce = r((4, 3)), np.arange(4) % 3
    bn = {"running_mean": np.zeros(3), "running_var": np.ones(3)}

    def weigh(op, shape=(4, 3)):      # engine: sum(op(...) * R)
        return lambda *a: ad.sum(ad.mul(op(*a), R[shape]))

    def weigh_t(op, shape=(4, 3)):    # torch: the same
        return lambda *a: (op(*a) * Rt[shape]).sum()

    return [
        ("add, (4, 3) + (3,)", weigh(ad.add), weigh_t(torch.add),
         [r((4, 3)), r(3)]),
        ("mul, (4, 1) * (1, 3)", weigh(ad.mul), weigh_t(torch.mul),
         [r((4, 1)), r((1, 3))]),
        ("mul, (4, 3) * scalar", weigh(ad.mul), weigh_t(torch.mul),
         [r((4, 3)), r(())]),
        ("sum over axis 0", weigh(lambda a: ad.sum(a, axis=0), (3,)),
         weigh_t(lambda a: a.sum(0), (3,)), [r((4, 3))]),
        ("dense", weigh(ad.dense), weigh_t(lambda x, W, b: x @ W + b),
         [r((4, 2)), r((2, 3)), r(3)]),
        ("sigmoid", weigh(ad.sigmoid), weigh_t(torch.sigmoid), [r((4, 3))]),
        ("tanh", weigh(ad.tanh), weigh_t(torch.tanh), [r((4, 3))]),
        ("relu", weigh(ad.relu), weigh_t(torch.relu),
         [r((4, 3)) + 0.1 * np.sign(r((4, 3)))]),
        ("mse", lambda p: ad.mse(p, y_mse),
         lambda p: F.mse_loss(p, torch.tensor(y_mse)), [r((4, 3))]),
        ("cross_entropy", lambda z: ad.cross_entropy(z, y_ce),
         lambda z: F.cross_entropy(z, torch.tensor(y_ce)), [r((4, 3))]),
        ("batchnorm (train)",
         weigh(lambda x, g, b: ad.batchnorm_train(x, g, b, bn)[0]),
         weigh_t(lambda x, g, b: F.batch_norm(x, None, None, g, b, True)),
         [r((4, 3)), r(3), r(3)]),
        ("rnn_step", weigh(ad.rnn_step),
         weigh_t(lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh + b)),
         [r((4, 2)), r((4, 3)), r((2, 3)), r((3, 3)), r(3)]),
    ]


def verify_op(f, f_torch, arrays):
    """(largest error against central differences, against torch float64)
    of the engine's gradients of ``f`` with respect to every array."""
    import torch

    leaves = [ad.Tensor(np.array(a, dtype=np.float64)) for a in arrays]
    ad.backward(f(*leaves))
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
          for a in arrays]
    f_torch(*ts).backward()
    err_torch = max(float(np.max(np.abs(t.grad.numpy() - leaf.grad)))
                    for t, leaf in zip(ts, leaves))
    return max(ad.gradient_check(f, *arrays)), err_torch


# ------------------------------------------------------- scalar vs array

def scalar_mlp_loss(X, T, W1, b1, W2, b2):
    """MSE of a tanh MLP from scalar nodes: (loss node, parameter nodes).

    X (N, D), T (N, M), W1 (D, H), b1 (H,), W2 (H, M), b2 (M,). Every
    multiply and add of the matrix products is one ``graph.Node``.
    """
    P = {"W1": [[graph.var(w, "w") for w in row] for row in W1],
         "b1": [graph.var(v, "b") for v in b1],
         "W2": [[graph.var(w, "w") for w in row] for row in W2],
         "b2": [graph.var(v, "b") for v in b2]}

    def layer(rows, W, b, act):
        out = []
        for x in rows:
            out.append([])
            for j in range(len(b)):
                z = b[j]
                for i, xi in enumerate(x):
                    z = z + xi * W[i][j]
                out[-1].append(act(z) if act else z)
        return out

    hidden = layer([[graph.const(v) for v in r] for r in X],
                   P["W1"], P["b1"], graph.tanh)
    out = layer(hidden, P["W2"], P["b2"], None)
    loss = graph.const(0.0)
    for o_row, t_row in zip(out, T):
        for o, t in zip(o_row, t_row):
            loss = loss + graph.square(o - float(t))
    return graph.mul(loss, 1.0 / T.size), P


def array_mlp_loss(X, T, W1, b1, W2, b2):
    """The same loss from array nodes: (loss tensor, parameter tensors)."""
    P = {k: ad.Tensor(np.array(v, dtype=np.float64)) for k, v in
         dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}
    h = ad.tanh(ad.dense(X, P["W1"], P["b1"]))
    return ad.mse(ad.dense(h, P["W2"], P["b2"]), T), P


def _best_time(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def scalar_vs_array(X, T, params, repeat_scalar=2, repeat_array=50):
    """Build and differentiate the MLP both ways; counts, agreement, times.

    Returns a dict: ``nodes_scalar``, ``nodes_array`` (every node of the
    graph, leaves included), ``max_abs_diff`` between the two gradients,
    ``value_diff`` of the losses, ``seconds_scalar``, ``seconds_array``
    (best of ``repeat`` forward + backward passes).
    """
    def scalar():
        loss, P = scalar_mlp_loss(X, T, **params)
        graph.reverse_mode(loss)
        return loss, P

    def array():
        loss, P = array_mlp_loss(X, T, **params)
        ad.backward(loss)
        return loss, P

    s_loss, s_P = scalar()
    a_loss, a_P = array()
    grad = lambda nodes: np.array(
        [[n.grad for n in r] if isinstance(r, list) else r.grad
         for r in nodes])
    diff = max(float(np.max(np.abs(grad(s_P[k]) - a_P[k].grad)))
               for k in a_P)
    return {
        "nodes_scalar": len(graph.topological_order(s_loss)),
        "nodes_array": len(ad.topological_order(a_loss)),
        "max_abs_diff": diff,
        "value_diff": abs(s_loss.value - float(a_loss.data)),
        "seconds_scalar": _best_time(scalar, repeat_scalar),
        "seconds_array": _best_time(array, repeat_array),
    }


# ------------------------------------------------- training with the engine

def xor_forward(P, X, y):
    """Chapter 4's network in the engine: x -> dense -> sigmoid -> dense
    -> sigmoid -> MSE. ``P`` holds tensors W1 (D, H), b1, W2 (H, M), b2."""
    a1 = ad.sigmoid(ad.dense(X, P["W1"], P["b1"]))
    return ad.mse(ad.sigmoid(ad.dense(a1, P["W2"], P["b2"])), y)


def train_xor_engine(params, X, y, lr=0.5, epochs=5000):
    """Full-batch gradient descent with the engine's gradients.

    Returns ``(new_params, losses)`` as ``labs.xor.train_pairs``, whose
    loop writes the backward by hand.
    """
    P = {k: ad.Tensor(np.array(v, dtype=np.float64))
         for k, v in params.items()}
    losses = np.empty(epochs)
    for epoch in range(epochs):
        loss = xor_forward(P, X, y)
        losses[epoch] = loss.data
        ad.zero_grad(*P.values())
        ad.backward(loss)
        for t in P.values():
            t.data = t.data - lr * t.grad    # a new array, as optim.sgd
    return {k: t.data for k, t in P.items()}, losses


def digits_forward(P, X, y):
    """A ReLU MLP for the digits: X (N, 64) -> H -> 10, cross-entropy."""
    h = ad.relu(ad.dense(X, P["W1"], P["b1"]))
    return ad.cross_entropy(ad.dense(h, P["W2"], P["b2"]), y)


def train_digits_engine(params, X, y, lr=0.1, epochs=10, batch=64,
                        seed=0):
    """Mini-batch SGD on the digits with the engine: (params, losses).

    ``losses`` holds the loss of every step; the batches are a fresh
    permutation of the rows per epoch from ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    P = {k: ad.Tensor(np.array(v, dtype=np.float64))
         for k, v in params.items()}
    losses = []
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = perm[start:start + batch]
            loss = digits_forward(P, X[idx], y[idx])
            ad.zero_grad(*P.values())
            ad.backward(loss)
            losses.append(float(loss.data))
            for t in P.values():
                t.data = t.data - lr * t.grad
    return {k: t.data for k, t in P.items()}, np.array(losses)


# ------------------------------------------------------------- PyTorch

def torch_network(hidden=4):
    """Chapter 4's network as a ``torch.nn.Module`` with torch's default
    ``nn.Linear`` initialisation: 2 -> hidden -> 1, sigmoid after both."""
    import torch

    class TwoSigmoidLayers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = torch.nn.Linear(2, hidden)
            self.layer2 = torch.nn.Linear(hidden, 1)

        def forward(self, x):
            a1 = torch.sigmoid(self.layer1(x))
            return torch.sigmoid(self.layer2(a1))

    return TwoSigmoidLayers()


def torch_init_params(seeds, hidden=4):
    """The initial parameters ``torch.manual_seed(s); torch_network()``
    draws, per seed, in the package's layout, stacked on a seed axis:
    ``{"W1": (S, 2, H), "b1": (S, H), "W2": (S, H, 1), "b2": (S, 1)}``
    (float32, as torch's default)."""
    import torch

    out = {"W1": [], "b1": [], "W2": [], "b2": []}
    for s in seeds:
        torch.manual_seed(int(s))
        net = torch_network(hidden)
        out["W1"].append(net.layer1.weight.detach().T.numpy())
        out["b1"].append(net.layer1.bias.detach().numpy())
        out["W2"].append(net.layer2.weight.detach().T.numpy())
        out["b2"].append(net.layer2.bias.detach().numpy())
    return {k: np.stack(v) for k, v in out.items()}


def train_torch_one(seed, X, y, lr=0.5, epochs=5000, hidden=4):
    """One seed, as a user writes it: module, MSELoss, SGD, float32.

    Returns the trained network's outputs on X, (N, 1) as NumPy.
    """
    import torch

    torch.manual_seed(int(seed))
    net = torch_network(hidden)
    Xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(epochs):
        loss = loss_fn(net(Xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return net(Xt).numpy()


def train_torch_seeds(params, X, y, lr=0.5, epochs=5000):
    """S networks at once in torch: batched products, autograd, float32.

    ``params`` as from :func:`torch_init_params`. The loss summed over the
    seeds has, for each seed's parameters, exactly that seed's gradient,
    so one backward pass serves all S networks. Returns the outputs on X
    after training, (S, N, 1), and the loss of every seed before every
    update, (epochs, S), as NumPy.
    """
    import torch

    P = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True)
         for k, v in params.items()}
    Xt = torch.tensor(X, dtype=torch.float32)          # (N, D)
    yt = torch.tensor(y, dtype=torch.float32)          # (N, 1)

    def outputs():
        a1 = torch.sigmoid(Xt @ P["W1"] + P["b1"][:, None])  # (S, N, H)
        return torch.sigmoid(a1 @ P["W2"] + P["b2"][:, None])  # (S, N, 1)

    losses = torch.empty(epochs, P["W1"].shape[0])
    for epoch in range(epochs):
        per_seed = ((outputs() - yt) ** 2).mean(dim=(1, 2))       # (S,)
        losses[epoch] = per_seed.detach()
        total = per_seed.sum()
        for p in P.values():
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
    with torch.no_grad():
        return outputs().numpy(), losses.numpy()


def xor_solved(a2, y):
    """Boolean (S,): all four outputs on the correct side of 0.5."""
    a2 = np.asarray(a2)
    return np.all((a2 > 0.5) == (np.asarray(y) > 0.5), axis=(-2, -1))


def escape_epochs(losses, below=0.2):
    """First epoch (0-based) at which each seed's loss is below ``below``.

    ``losses`` (epochs, S), as from :func:`train_torch_seeds` or
    ``labs.xor.train_seeds``. Returns int (S,), -1 for a seed whose loss
    never gets below ``below``.
    """
    losses = np.asarray(losses)
    under = losses < below
    return np.where(under.any(axis=0), np.argmax(under, axis=0), -1)


def hidden_unit_spread(params, X):
    """How different the hidden units of each network start, (S,).

    ``params`` with a leading seed axis (``W1`` (S, D, H), ``b1`` (S, H)),
    X (N, D). For each seed: the largest difference between two hidden
    units' sigmoid activations on the same input, max over n of
    (max_h a1[n, h] - min_h a1[n, h]). Near 0: the units are copies.
    """
    z1 = np.asarray(X) @ params["W1"] + params["b1"][:, None]  # (S, N, H)
    a1 = 1 / (1 + np.exp(-z1))
    return (a1.max(axis=2) - a1.min(axis=2)).max(axis=1)
