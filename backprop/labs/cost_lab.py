"""Chapter 13's experiments: what backprop costs in time and memory.

Time per layer type (``layer_type_costs``), the memory of cached
activations measured with tracemalloc (``cached_bytes``,
``activation_memory``) and with torch's profiler (``torch_saved_bytes``),
gradient checkpointing on a deep MLP (``checkpoint_schedules``,
``checkpoint_memory``), one weight
gradient written four ways (``vectorised_gradients``), the cost of fresh
memory (``fresh_vs_reused``), and the 784-512-512-10 step of
``benchmarks/bench_mlp.py`` against torch (``load_benchmark``,
``interleaved``). Chapter 3's network, counts and loop are in
``backprop.labs.cost``.
"""

import contextlib
import importlib.util
import os
import pathlib
import time
import tracemalloc

import numpy as np

from backprop import checkpoint as ck
from backprop.activations import (relu_backward, relu_forward, sigmoid_backward,
                                  sigmoid_forward)
from backprop.layers import (dense_backward, dense_forward, dense_relu_backward,
                             dense_relu_forward)

__all__ = [
    "blas_threads",
    "median_times",
    "layer_type_costs",
    "cached_bytes",
    "activation_memory",
    "torch_saved_bytes",
    "deep_mlp",
    "checkpoint_schedules",
    "checkpoint_memory",
    "vectorised_gradients",
    "fresh_vs_reused",
    "load_benchmark",
    "step_parts",
    "interleaved",
]


def blas_threads():
    """Threads of NumPy's BLAS, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info
    return [(i["internal_api"], i["num_threads"]) for i in threadpool_info()
            if i["user_api"] == "blas"]


def median_times(fns, repeats=20, warmup=1, seed=0):
    """Median seconds of each of ``fns`` (name -> callable), interleaved.

    Every repetition runs all of them once, in a fresh random order, so
    that changing load on the machine hits all alike.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names, rng = list(fns), np.random.default_rng(seed)
    times = {k: [] for k in names}
    for _ in range(repeats):
        for j in rng.permutation(len(names)):
            t0 = time.perf_counter()
            fns[names[j]]()
            times[names[j]].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


# --------------------------------------------------------------- time

def layer_type_costs(N=256, D=784, H=128, repeats=30, seed=0):
    """Counted and measured forward/backward of each layer type, float64.

    Counts: a dense layer (N, D) -> (N, H) does N D H multiply-adds forward
    and 2 N D H backward (dW and dx); the activations count operations per
    element from their formulas (sigmoid 1/(1 + e^-z): exp, add, divide
    forward; dout s (1 - s): subtract, two multiplies backward; ReLU one
    comparison forward, one multiply backward). Returns a list of rows
    {"layer", "fwd_ops", "bwd_ops", "fwd_s", "bwd_s"}.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    W, b = rng.standard_normal((D, H)) / np.sqrt(D), np.zeros(H)
    z, dense = dense_forward(x, W, b)
    dout = rng.standard_normal((N, H))
    _, sig = sigmoid_forward(z)
    _, mask = relu_forward(z)
    t = median_times({
        "dense f": lambda: dense_forward(x, W, b),
        "dense b": lambda: dense_backward(dout, dense),
        "sigmoid f": lambda: sigmoid_forward(z),
        "sigmoid b": lambda: sigmoid_backward(dout, sig),
        "relu f": lambda: relu_forward(z),
        "relu b": lambda: relu_backward(dout, mask)}, repeats)
    E = N * H
    counts = {"dense": (N * D * H, 2 * N * D * H), "sigmoid": (3 * E, 3 * E),
              "relu": (E, E)}
    return [{"layer": k, "fwd_ops": f, "bwd_ops": bk, "fwd_s": t[f"{k} f"],
             "bwd_s": t[f"{k} b"]} for k, (f, bk) in counts.items()]


# --------------------------------------------------------------- memory

def cached_bytes(K, N, H, itemsize=8):
    """Model: bytes of activations a dense+ReLU chain of K layers caches.

    Each layer keeps its output a (N, H) for the backward pass (its input
    is the previous layer's output, already counted; the network's input
    belongs to the caller): K N H itemsize bytes.
    """
    return K * N * H * itemsize


def _traced_peak(fn):
    """(result, peak bytes above the start) of fn() under tracemalloc."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return out, peak


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 to /dev/null: the profiler's C++ side logs there."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def deep_mlp(K, D, H, seed=0):
    """A chain of K dense+ReLU layers (fused pair), D -> H -> ... -> H."""
    rng = np.random.default_rng(seed)
    layers, d = [], D
    for _ in range(K):
        W = rng.standard_normal((d, H)) * np.sqrt(2 / d)    # He
        layers.append((dense_relu_forward, dense_relu_backward, (W, np.zeros(H))))
        d = H
    return layers


def activation_memory(K, N, H, D=None, seed=0):
    """Bytes the package's forward pass leaves allocated (its caches).

    Measured with tracemalloc, which sees every NumPy allocation: the
    memory still held after ``chain_forward`` of a K-layer dense+ReLU
    chain, float64, minus nothing else (weights and input exist before).
    """
    layers = deep_mlp(K, D or H, H, seed)
    x = np.random.default_rng(seed + 1).standard_normal((N, D or H))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        out, caches = ck.chain_forward(layers, x)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del out, caches
    return held


def torch_saved_bytes(K, N, H, D=None, seed=0):
    """Bytes torch's forward pass leaves allocated for backward, float64.

    The same chain as ``nn.Sequential`` of Linear and ReLU; torch.profiler
    with ``profile_memory=True`` records every CPU allocation and free,
    and their sum over the forward pass is what autograd keeps.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    layers = deep_mlp(K, D or H, H, seed)
    mods = []
    for _, _, (W, b) in layers:
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin, torch.nn.ReLU()]
    net = torch.nn.Sequential(*mods)
    x = torch.from_numpy(np.random.default_rng(seed + 1).standard_normal((N, D or H)))
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU],
                                  profile_memory=True) as prof:
        out = net(x)
    held = sum(e.self_cpu_memory_usage for e in prof.key_averages())
    del out
    return int(held)


# --------------------------------------------------------------- checkpointing

def checkpoint_schedules(K=16, N=256, H=128, segment_lengths=(1, 2, 4, 8, 16), seed=0):
    """One forward+backward of a deep MLP under each checkpoint schedule.

    A K-layer dense+ReLU chain (width H, batch N, float64). Returns
    [(name, starts, run)]: "none" keeps every cache (starts None), then
    segments of each length in ``segment_lengths``; ``run()`` returns
    (dx, grads).
    """
    layers = deep_mlp(K, H, H, seed)
    rng = np.random.default_rng(seed + 1)
    x, dout = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def plain():
        _, caches = ck.chain_forward(layers, x)
        return ck.chain_backward(dout, caches, layers)

    def with_checkpoints(starts):
        def run():
            _, saved = ck.checkpoint_forward(layers, x, starts)
            return ck.checkpoint_backward(dout, saved, layers, starts)
        return run

    runs = [("none", None, plain)]
    for k in segment_lengths:
        starts = tuple(range(0, K, k))
        runs.append((f"segments of {k}", starts, with_checkpoints(starts)))
    return runs


def checkpoint_memory(runs, K, N, H):
    """Peak bytes of each run above its start (tracemalloc), in layer outputs.

    The parameter gradients (K H^2 + K H floats, held at the end whatever
    the schedule) are subtracted; what remains is activations and a few
    temporaries, in units of one layer output (N H floats). Returns
    {name: (model, measured)} with the model ``checkpoint.peak_activations``.
    """
    unit = N * H * 8
    grads = K * (H * H + H) * 8
    out = {}
    for name, starts, run in runs:
        _, peak = _traced_peak(run)
        out[name] = (ck.peak_activations(K, starts), (peak - grads) / unit)
    return out


# --------------------------------------------------------------- vectorisation

def vectorised_gradients(N=64, D=784, H=128, loop_columns=4, repeats=10, seed=0):
    """dW = x^T delta written four ways, timed on the current BLAS threads.

    "loop": three Python loops (``labs.cost.weight_gradient_loop``), on the
    first ``loop_columns`` columns, time scaled to all H; "matmul":
    ``x.T @ delta``; "einsum": ``np.einsum("nd,nh->dh", x, delta)``;
    "batched matmul": N outer products ``x_n^T delta_n`` as one
    ``np.matmul`` of (N, D, 1) and (N, 1, H), then summed over n.
    Returns {way: (seconds, max abs difference from matmul)}.
    """
    from backprop.labs.cost import weight_gradient_loop

    rng = np.random.default_rng(seed)
    x, delta = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    ref = x.T @ delta                                   # (D, H)
    ways = {
        "matmul": lambda: x.T @ delta,
        "einsum": lambda: np.einsum("nd,nh->dh", x, delta),
        "batched matmul": lambda: np.matmul(x[:, :, None], delta[:, None, :]).sum(0),
    }
    t = median_times(ways, repeats)
    out = {k: (t[k], float(np.abs(fn() - ref).max())) for k, fn in ways.items()}
    k = loop_columns
    t0 = time.perf_counter()
    loop = weight_gradient_loop(x, delta[:, :k])       # (D, k)
    out["loop"] = ((time.perf_counter() - t0) * H / k,
                   float(np.abs(loop - ref[:, :k]).max()))
    return out


def fresh_vs_reused(shape=(784, 512), repeats=50, dtype=np.float32, seed=0,
                    new_process=False):
    """Seconds of ``W - lr g`` written into a new array and into a reused one.

    A new array of megabytes gets its memory from the operating system,
    which maps and zeroes every page on first touch; a reused one does not.
    Returns {"two new arrays", "one new array", "reused"}: the first is
    ``W - lr * g`` (a temporary, then the result), the second writes the
    result into the temporary, the third into an existing array. Whether a
    new array gets fresh pages depends on the allocator's history in the
    process (glibc raises its threshold for mapping new memory after large
    frees), so ``new_process=True`` measures in a new Python process.
    """
    if new_process:
        import json
        import subprocess
        import sys
        code = ("import json, numpy as np; from backprop.labs.cost_lab import "
                f"fresh_vs_reused as f; print(json.dumps(f({tuple(shape)}, {repeats}, "
                f"np.{np.dtype(dtype).name}, {seed})))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, check=True)
        return json.loads(done.stdout)
    rng = np.random.default_rng(seed)
    W, g = rng.standard_normal(shape, dtype=dtype), rng.standard_normal(shape, dtype=dtype)
    lr, out = dtype(0.01), np.empty(shape, dtype)

    def one():
        u = g * lr
        return np.subtract(W, u, out=u)

    def reused():
        np.multiply(g, lr, out=out)
        return np.subtract(W, out, out=out)

    return median_times({"two new arrays": lambda: W - lr * g, "one new array": one,
                         "reused": reused}, repeats)


# --------------------------------------------------------------- the benchmark

def load_benchmark():
    """``benchmarks/bench_mlp.py`` of this repository, as a module."""
    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mlp.py"
    spec = importlib.util.spec_from_file_location("bench_mlp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def step_parts(bench, repeats=30):
    """Median seconds of the pieces of the benchmark's step that are not
    matrix products, each timed alone on the step's arrays (float32):
    the validation of one dense layer's arguments, the bias add and the
    ReLU of a hidden layer (N, 512), the backward mask multiply, the bias
    gradient's sum, the softmax cross-entropy, and the SGD update of all
    parameters. ``bench`` is ``load_benchmark()``."""
    from backprop import optim
    from backprop.layers import _dense_forward_args
    from backprop.losses import softmax_cross_entropy

    params, x, y = bench.make_problem()
    W, b = params["0.W"], params["0.b"]
    z = x @ W                                            # (N, 512)
    a = np.maximum(z, 0)
    logits = z[:, :10].copy()                            # (N, C)
    grads = {k: np.ones_like(v) for k, v in params.items()}
    return median_times({
        "validation, one layer": lambda: _dense_forward_args(x, W, b),
        "bias add": lambda: z + b,
        "ReLU": lambda: np.maximum(z, 0),
        "ReLU backward mask": lambda: z * (a != 0),
        "bias gradient sum": lambda: z.sum(axis=0),
        "softmax cross-entropy": lambda: softmax_cross_entropy(logits, y),
        "SGD, all parameters": lambda: optim.sgd(params, grads, 0.01)}, repeats)


def interleaved(runners, budget=6.0, reps=200, warmup=2, seed=0):
    """Times of each runner (name -> callable), interleaved in a fresh random
    order every repetition, until ``reps`` or ``budget`` seconds (at least 8
    repetitions). Returns {name: array of seconds}, one per repetition."""
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    names, rng = list(runners), np.random.default_rng(seed)
    times = {k: [] for k in names}
    start = time.perf_counter()
    for r in range(reps):
        for j in rng.permutation(len(names)):
            t0 = time.perf_counter()
            runners[names[j]]()
            times[names[j]].append(time.perf_counter() - t0)
        if r >= 7 and time.perf_counter() - start > budget:
            break
    return {k: np.array(v) for k, v in times.items()}
