"""Checks for ex04_training_xor: zero init, small init seed by seed, and settings that train XOR.

The network is chapter 4's: x (N, 2) -> dense (2, H) -> sigmoid -> dense (H, 1)
-> sigmoid, loss L = mean((a2 - y)^2) (the package's ``mse_loss``), full-batch
gradient descent. ``train_xor`` trains one network per seed at once (a
leading seed axis S), so ten seeds of 5000 epochs take about a second.
"""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_choice, compare_scalar, fmt
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex04_training_xor"

SEEDS = tuple(range(10))
TARGET_LOSS = 0.01
NEED = 9  # seeds out of 10 that must reach TARGET_LOSS
MAX_EPOCHS = 5000
MAX_HIDDEN = 16
# chapter 4's failing settings (those of the source post): weights 0.01 * randn
POST = {"scale": 0.01, "lr": 0.5, "hidden": 4, "epochs": 5000}

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (N, D) = (4, 2)
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])  # (N, M) = (4, 1)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z, no overflow warning


def train_xor(params, lr, epochs):
    """Train S stacked networks on XOR; returns the final MSE of each, shape (S,).

    params: ``{"W1": (S, 2, H), "b1": (S, H), "W2": (S, H, 1), "b2": (S, 1)}``.
    """
    W1, b1, W2, b2 = (np.array(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    X, y = XOR_X, XOR_Y
    N, M = y.shape
    with np.errstate(all="ignore"):  # a diverging learning rate gives inf/NaN: reported, not warned
        for _ in range(int(epochs)):
            a1 = _sigmoid(X @ W1 + b1[:, None, :])  # (S, N, H)
            a2 = _sigmoid(a1 @ W2 + b2[:, None, :])  # (S, N, M)
            dz2 = (2.0 / (N * M)) * (a2 - y) * a2 * (1.0 - a2)  # (S, N, M)
            dW2 = a1.transpose(0, 2, 1) @ dz2  # (S, H, M)
            db2 = dz2.sum(axis=1)
            dz1 = (dz2 @ W2.transpose(0, 2, 1)) * a1 * (1.0 - a1)  # (S, N, H)
            dW1 = X.T @ dz1  # (S, D, H)
            db1 = dz1.sum(axis=1)
            W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
        a1 = _sigmoid(X @ W1 + b1[:, None, :])
        a2 = _sigmoid(a1 @ W2 + b2[:, None, :])
        return np.mean((a2 - y) ** 2, axis=(1, 2))


def small_init(rng, hidden):
    """Chapter 4's small init: weights N(0, 0.01^2), biases zero."""
    return {"W1": POST["scale"] * rng.standard_normal((2, hidden)), "b1": np.zeros(hidden),
            "W2": POST["scale"] * rng.standard_normal((hidden, 1)), "b2": np.zeros(1)}


post_init = small_init  # its first name, kept for notebooks that import it


def _stack_inits(init_params, hidden, seeds=SEEDS):
    shapes = {"W1": (2, hidden), "b1": (hidden,), "W2": (hidden, 1), "b2": (1,)}
    per_seed = []
    for s in seeds:
        p = call("init_params", init_params, np.random.default_rng(s), hidden)
        if not isinstance(p, dict) or set(shapes) - set(p):
            raise _Invalid("init_params must return a dict with keys W1, b1, W2, b2",
                           f"got {type_name(p)}" + (f" with keys {sorted(p)}" if isinstance(p, dict) else ""))
        for k, shp in shapes.items():
            a = np.asarray(p[k], dtype=np.float64)
            if a.shape != shp:
                raise _Invalid(f"init_params(rng, {hidden})[{k!r}] has shape {a.shape}, expected {shp}",
                               "W1 is (2, H), b1 (H,), W2 (H, 1), b2 (1,)")
            if not np.all(np.isfinite(a)):
                raise _Invalid(f"init_params(rng, {hidden})[{k!r}] contains NaN or inf")
        per_seed.append({k: np.asarray(p[k], dtype=np.float64) for k in shapes})
    return {k: np.stack([p[k] for p in per_seed]) for k in shapes}


class _Invalid(Exception):
    def __init__(self, detail, hint=""):
        super().__init__(detail)
        self.detail, self.hint = detail, hint


def success_rate(init_params, hidden, lr, epochs, seeds=SEEDS):
    """Final losses, one per seed, of networks initialised by ``init_params(rng, hidden)``.

    Try your settings with it: ``(success_rate(...) < 0.01).sum()`` seeds succeed.
    """
    return train_xor(_stack_inits(init_params, hidden, seeds), lr, epochs)


Q1_HINTS = {
    "a": "with every weight at zero the hidden units are identical and stay identical: "
         "the network cannot represent XOR however long it trains",
    "c": "nothing divides by zero: the loss stays finite, it just stops improving",
    "d": "all-zero weights give small, identical gradients, not large ones",
}


def check_q1(ans):
    return [compare_choice("q1_answer", "q1_answer", ans["q1_answer"], "b", ("a", "b", "c", "d"), Q1_HINTS)]


def check_q2(ans):
    losses = success_rate(small_init, POST["hidden"], POST["lr"], POST["epochs"])
    expected = int(np.sum(losses < TARGET_LOSS))
    return [compare_scalar("small init, lr 0.5, H = 4, 5000 epochs", "q2_post_solved", ans["q2_post_solved"], expected,
                           rtol=0, atol=0, mistakes=(
        (len(SEEDS) - expected, f"count the seeds whose final loss is below {TARGET_LOSS}, not above"),))]


def init_cases(rng):
    """One case per seed of ``SEEDS``: the question is about these ten seeds, so ``rng`` is not used."""
    return [(f"seed {s}", (s,)) for s in SEEDS]


def call_init(init_params, args, namespace):
    """Where the learner's code runs: ``init_params(default_rng(seed), hidden_units)``."""
    return init_params(np.random.default_rng(args[0]), int(namespace["hidden_units"]))


def check_q3(ans, cases):
    lr, hidden, epochs = ans["learning_rate"], ans["hidden_units"], ans["epochs"]
    cases = []
    try:
        lr = float(lr)
        hidden, epochs = int(hidden), int(epochs)
        ok = np.isfinite(lr) and lr > 0 and 1 <= hidden <= MAX_HIDDEN and 1 <= epochs <= MAX_EPOCHS
    except (TypeError, ValueError):
        ok = False
    if not ok:
        return [Case("settings", False,
                     f"need 0 < learning_rate, 1 <= hidden_units <= {MAX_HIDDEN}, 1 <= epochs <= {MAX_EPOCHS}; "
                     f"got learning_rate={ans['learning_rate']!r}, hidden_units={ans['hidden_units']!r}, "
                     f"epochs={ans['epochs']!r}")]
    cases.append(Case("settings", True, f"lr={fmt(lr)}, H={hidden}, epochs={epochs}"))
    try:
        params = _stack_inits(ans["init_params"], hidden)
    except _Invalid as exc:
        return cases + [Case("init_params", False, exc.detail, exc.hint)]
    W1 = params["W1"]
    if not np.any(W1) and not np.any(params["W2"]):
        return cases + [Case("init_params", False, "every weight is zero",
                             "zero weights are symmetric: every hidden unit gets the same gradient")]
    if np.all(W1 == W1[:, :, :1]) and hidden > 1:
        return cases + [Case("init_params", False, "all hidden units start with the same weights",
                             "break the symmetry: draw the weights at random")]
    same = all(np.array_equal(params[k][0], params[k][1]) for k in params)
    if same:
        return cases + [Case("init_params", False, "seeds 0 and 1 give the same weights",
                             "draw the weights from the rng argument, not from a fixed seed of your own")]
    losses = train_xor(params, lr, epochs)
    good = losses < TARGET_LOSS
    n_good = int(good.sum())
    detail = f"{n_good}/{len(SEEDS)} seeds reach loss < {TARGET_LOSS} (need {NEED})"
    hint = ""
    if n_good < NEED:
        bad = [s for s, g in zip(SEEDS, good) if not g]
        detail += "; failing seeds: " + ", ".join(f"{s} (loss {fmt(losses[s])})" for s in bad[:4])
        if not np.all(np.isfinite(losses)):
            hint = "some losses are NaN or inf: the learning rate is too large"
        elif np.median(losses[~good]) > 0.2:
            hint = ("the loss barely moved: with tiny initial weights and a small learning rate the "
                    "sigmoid network sits on a plateau; try a larger init scale or learning rate")
        else:
            hint = "the loss is falling but not far enough: train longer or raise the learning rate"
    cases.append(Case("success rate", n_good >= NEED, detail, hint))
    return cases


QUESTIONS = (
    Question("q1", "what zero initialisation does", 1, ("q1_answer",), check_q1),
    Question("q2", "small initial weights, seed by seed", 2, ("q2_post_solved",), check_q2),
    Question("q3", "settings that train XOR reliably", 5,
             ("init_params", "learning_rate", "hidden_units", "epochs"), check_q3,
             cases=init_cases, call=call_init),
)

register(EXERCISE, QUESTIONS)
