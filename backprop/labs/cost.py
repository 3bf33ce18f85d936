"""Chapter 3's cost helpers: what a backward pass costs, counted and timed.

``network_forward`` and ``network_backward`` are the chapter's network for
any sizes (every layer dense then sigmoid, MSE loss), built from the pairs.
``count_multiply_adds`` counts the multiply-adds of their matrix products and
``time_passes`` times them, whole and call by call, for the section "What a
backward pass costs". ``weight_gradient_loop`` and ``time_loop_vs_matmul``
time one weight gradient written as Python loops against one matrix product.
"""

import time

import numpy as np

from backprop import init
from backprop.activations import sigmoid_backward, sigmoid_forward
from backprop.layers import dense_backward, dense_forward
from backprop.losses import mse_loss

__all__ = [
    "network_forward",
    "network_backward",
    "count_multiply_adds",
    "time_passes",
    "weight_gradient_loop",
    "time_loop_vs_matmul",
]


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
