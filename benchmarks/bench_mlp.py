"""Time one SGD step of a 784-512-512-10 ReLU MLP: the package's pairs vs PyTorch.

One step = forward, softmax cross-entropy, backward, parameter update, batch
N = 256, float32, on the CPU, with the same number of threads for NumPy's BLAS
(set with threadpoolctl) and for torch (torch.set_num_threads). Everything
runs in one process, interleaved in a fresh random order every repetition (so
drifting machine load hits all alike), after a warm-up, until --reps or
--budget seconds; we report medians, the interquartile range, and the median
of the per-repetition ratios.

To say how close the step comes to what this machine can do, the same loop
times NumPy sgemm (np.matmul, float32, preallocated outputs) on exactly the
9 matmuls of the step, and reports each implementation's FLOP rate as a
fraction of that. FLOPs are counted as 2 N D M per matmul, 3 matmuls per
layer (forward x W, backward dout W^T and x^T dout), minus the first layer's
dx, which both skip (the input needs no gradient; ``dense_backward(...,
input_grad=False)``). Elementwise work is not counted.

    .venv/bin/python benchmarks/bench_mlp.py              # < 60 s (--budget 20)
    .venv/bin/python benchmarks/bench_mlp.py --threads 1  # steadier on a busy machine
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_mlp.py
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from backprop import init, model, optim
from backprop.activations import relu_backward, relu_forward
from backprop.layers import (dense_backward, dense_forward, dense_relu_backward,
                             dense_relu_forward)
from backprop.losses import softmax_cross_entropy

SIZES = (784, 512, 512, 10)  # D, H, H, C
N = 256
LR = 0.01
DTYPE = np.float32
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------
# the step, three ways
# --------------------------------------------------------------------------

def package_step(params, x, y):
    """Forward, loss, backward and SGD with the package's pairs. Returns (new_params, loss).

    Hidden layers use the fused ``dense_relu`` pair: one new array per layer
    in the forward pass instead of three (see ``unfused_step``)."""
    L = len(SIZES) - 1
    caches = []
    h = x                                                    # (N, D)
    for i in range(L - 1):
        h, cache = dense_relu_forward(h, params[f"{i}.W"], params[f"{i}.b"])
        caches.append(cache)
    h, cache = dense_forward(h, params[f"{L - 1}.W"], params[f"{L - 1}.b"])
    loss, d = softmax_cross_entropy(h, y)                    # d: (N, C)
    grads = {}
    d, grads[f"{L - 1}.W"], grads[f"{L - 1}.b"] = dense_backward(d, cache)
    for i in reversed(range(L - 1)):
        # The first layer's dx feeds nothing: skip it, as torch does.
        d, grads[f"{i}.W"], grads[f"{i}.b"] = dense_relu_backward(
            d, caches.pop(), input_grad=i > 0)
    new_params, _ = optim.sgd(params, grads, LR)
    return new_params, loss


def unfused_step(params, x, y):
    """The same step without the fused pair and the in-place update:
    separate dense and relu pairs, and SGD as ``p - lr * g`` (two new arrays
    per parameter). Timed in the same run, to measure what those two
    choices are worth on this machine."""
    L = len(SIZES) - 1
    caches = []
    h = x                                                    # (N, D)
    for i in range(L):
        h, cache = dense_forward(h, params[f"{i}.W"], params[f"{i}.b"])
        caches.append(cache)
        if i < L - 1:
            h, cache = relu_forward(h)
            caches.append(cache)
    loss, d = softmax_cross_entropy(h, y)                    # d: (N, C)
    grads = {}
    for i in reversed(range(L)):
        if i < L - 1:
            d = relu_backward(d, caches.pop())
        d, grads[f"{i}.W"], grads[f"{i}.b"] = dense_backward(d, caches.pop(), input_grad=i > 0)
    new_params = {k: params[k] - LR * grads[k] for k in params}
    return new_params, loss


def sequential_step(seq, x, y):
    """The same step through ``model.Sequential`` (the wrapper the chapters use)."""
    loss, d = softmax_cross_entropy(seq.forward(x), y)
    grads = seq.backward(d)
    new_params, _ = optim.sgd(seq.params(), grads, LR)
    seq.set_params(new_params)
    return loss


def torch_step(net, opt, x, y):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss


# --------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------

def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (D, M) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        params[f"{i}.W"] = init.he_normal(D, M, rng, dtype=DTYPE)
        params[f"{i}.b"] = np.zeros(M, dtype=DTYPE)
    x = rng.standard_normal((N, SIZES[0]), dtype=DTYPE)
    y = rng.integers(0, SIZES[-1], size=N)
    return params, x, y


def make_sequential(params):
    layers = []
    L = len(SIZES) - 1
    for i, (D, M) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(model.Dense(D, M, W=params[f"{i}.W"], b=params[f"{i}.b"]))
        if i < L - 1:
            layers.append(model.ReLU())
    return model.Sequential(layers)


def make_torch(params):
    mods = []
    L = len(SIZES) - 1
    for i, (D, M) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        lin = torch.nn.Linear(D, M)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(params[f"{i}.W"].T.copy()))
            lin.bias.copy_(torch.from_numpy(params[f"{i}.b"]))
        mods.append(lin)
        if i < L - 1:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    return net, torch.optim.SGD(net.parameters(), lr=LR)


def step_flops(skip_first_dx):
    matmuls = sum(3 * 2 * N * D * M for D, M in zip(SIZES[:-1], SIZES[1:]))
    return matmuls - (2 * N * SIZES[0] * SIZES[1] if skip_first_dx else 0)


# --------------------------------------------------------------------------
# measurement helpers
# --------------------------------------------------------------------------

def timeit(fn, reps, budget=np.inf):
    """Up to ``reps`` timings of fn(), fewer (at least 5) if ``budget`` seconds run out."""
    times, start = [], time.perf_counter()
    for r in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if r >= 4 and t0 - start > budget:
            break
    return np.array(times)


def summary(times):
    q1, med, q3 = np.percentile(times, [25, 50, 75])
    return med, q3 - q1


def step_matmuls(lib, rng):
    """A function running the 9 matmuls of one step back to back, with the
    operand layouts of the pairs (x.T and W.T are transposed views), into
    preallocated outputs: the sgemm throughput a step could at best reach."""
    ops = []
    for D, M in zip(SIZES[:-1], SIZES[1:]):
        x = rng.standard_normal((N, D), dtype=DTYPE)
        W = rng.standard_normal((D, M), dtype=DTYPE)
        dout = rng.standard_normal((N, M), dtype=DTYPE)
        for a, b in ((x, W), (dout, W.T), (x.T, dout)):     # x W, dout W^T, x^T dout
            if lib == "numpy":
                out = np.empty((a.shape[0], b.shape[1]), dtype=DTYPE)
                ops.append((np.matmul, a, b, out))
            else:
                out = torch.empty(a.shape[0], b.shape[1])
                # from_numpy keeps the strides: a transposed view stays one
                ops.append((torch.mm, torch.from_numpy(a), torch.from_numpy(b), out))

    def run():
        for f, a, b, out in ops:
            f(a, b, out=out)
    return run


def profile_package(params, x, y, reps, budget):
    """Median time of each call inside package_step (for finding where time goes)."""
    L = len(SIZES) - 1
    parts = {}

    def record(key, fn):
        out = fn()
        parts[key] = parts.get(key, 0.0) + np.median(timeit(fn, reps, budget))
        return out

    caches, h = [], x
    for i in range(L - 1):
        h, c = record(f"dense_relu_forward {i}", lambda h=h, i=i: dense_relu_forward(
            h, params[f"{i}.W"], params[f"{i}.b"]))
        caches.append(c)
    W, b = params[f"{L - 1}.W"], params[f"{L - 1}.b"]
    h, c = record(f"dense_forward {L - 1}", lambda h=h: dense_forward(h, W, b))
    _, d = record("softmax_cross_entropy", lambda: softmax_cross_entropy(h, y))
    grads = {}
    d, grads[f"{L - 1}.W"], grads[f"{L - 1}.b"] = record(
        f"dense_backward {L - 1}", lambda d=d: dense_backward(d, c))
    for i in reversed(range(L - 1)):
        d, grads[f"{i}.W"], grads[f"{i}.b"] = record(
            f"dense_relu_backward {i}", lambda d=d, c=caches.pop(), i=i:
            dense_relu_backward(d, c, input_grad=i > 0))
    record("optim.sgd", lambda: optim.sgd(params, grads, LR))
    return parts


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="at most this many interleaved repetitions")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds for the interleaved timing (stops early; at least 8 reps)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--torch-mm", action="store_true",
                        help="also time torch.mm on the step's 9 matmuls (MKL vs OpenBLAS)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both NumPy's BLAS and torch (default: torch's default)")
    args = parser.parse_args()

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        run(args, threads)


def run(args, threads):
    print(f"# one SGD step, MLP {'-'.join(map(str, SIZES))} ReLU, batch {N}, float32, CPU")
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs")
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    for var in ENV_VARS:
        print(f"  {var} = {os.environ.get(var, '<unset>')}")
    print(f"torch.get_num_threads() = {torch.get_num_threads()}")
    for info in threadpool_info():
        keys = ("user_api", "internal_api", "num_threads", "version", "architecture", "threading_layer")
        print("  threadpoolctl: " + ", ".join(f"{k}={info.get(k)}" for k in keys if k in info))

    params, x, y = make_problem()
    seq = make_sequential(params)
    net, opt = make_torch(params)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    # Same computation? One step from the same weights; compare the updated weights.
    new, loss = package_step(params, x, y)
    net_check, opt_check = make_torch(params)
    tloss = torch_step(net_check, opt_check, tx, ty)
    dW = np.abs(new["0.W"] - net_check[0].weight.detach().numpy().T).max()
    print(f"check: loss {float(loss):.6f} (package) vs {tloss.item():.6f} (torch); "
          f"max |W1 after step| difference {dW:.2e}")
    assert dW < 1e-5 and abs(float(loss) - tloss.item()) < 1e-4, "package and torch disagree"

    assert all(v.dtype == np.float32 for v in new.values()), "the step left float32"

    # The step, interleaved.
    state = {"params": params}

    state_unfused = {"params": params}

    def pkg():
        state["params"], _ = package_step(state["params"], x, y)

    def unfused():
        state_unfused["params"], _ = unfused_step(state_unfused["params"], x, y)

    runners = {
        "backprop pairs": pkg,
        "pairs, unfused (before)": unfused,
        "backprop Sequential": lambda: sequential_step(seq, x, y),
        "torch": lambda: torch_step(net, opt, tx, ty),
        "numpy sgemm, 9 matmuls": step_matmuls("numpy", np.random.default_rng(1)),
    }
    if args.torch_mm:
        runners["torch mm, 9 matmuls"] = step_matmuls("torch", np.random.default_rng(1))
    for fn in runners.values():
        for _ in range(args.warmup):
            fn()
    # Interleaved in a fresh random order every repetition, until --reps or --budget.
    times = {k: [] for k in runners}
    names = list(runners)
    order_rng = np.random.default_rng(0)
    start = time.perf_counter()
    for r in range(args.reps):
        for j in order_rng.permutation(len(names)):
            t0 = time.perf_counter()
            runners[names[j]]()
            times[names[j]].append(time.perf_counter() - t0)
        if r >= 7 and time.perf_counter() - start > args.budget:
            break
    reps_done = r + 1

    flops = {"backprop pairs": step_flops(True), "pairs, unfused (before)": step_flops(True),
             "backprop Sequential": step_flops(False),
             "torch": step_flops(True), "numpy sgemm, 9 matmuls": step_flops(False),
             "torch mm, 9 matmuls": step_flops(False)}
    med = {k: summary(np.array(v)) for k, v in times.items()}
    sgemm = flops["numpy sgemm, 9 matmuls"] / med["numpy sgemm, 9 matmuls"][0]
    print(f"\n{reps_done} interleaved repetitions after {args.warmup} warm-up, "
          f"{time.perf_counter() - start:.1f} s")
    print(f"{'':<24} {'median ms':>10} {'IQR ms':>8} {'MFLOP':>7} {'GFLOP/s':>8} {'% numpy sgemm':>14}")
    for k in names:
        m, iqr = med[k]
        rate = flops[k] / m
        print(f"{k:<24} {m * 1e3:>10.2f} {iqr * 1e3:>8.2f} {flops[k] / 1e6:>7.0f} "
              f"{rate / 1e9:>8.1f} {100 * rate / sgemm:>13.0f}%")
    ratio = med["backprop pairs"][0] / med["torch"][0]
    print(f"\nratio backprop pairs / torch:      {ratio:.2f}x")
    print(f"ratio pairs unfused (before) / torch: "
          f"{med['pairs, unfused (before)'][0] / med['torch'][0]:.2f}x")
    print(f"ratio backprop Sequential / torch: {med['backprop Sequential'][0] / med['torch'][0]:.2f}x")
    print(f"per-repetition ratio pairs / torch: median "
          f"{np.median(np.array(times['backprop pairs']) / np.array(times['torch'])):.2f}x")
    print(f"per-repetition ratio pairs / pairs unfused (before): median "
          f"{np.median(np.array(times['backprop pairs']) / np.array(times['pairs, unfused (before)'])):.3f}x")
    print(f"the pairs' matmuls at numpy sgemm speed: {step_flops(False) / sgemm * 1e3:.2f} ms; "
          f"without the first layer's dx: {step_flops(True) / sgemm * 1e3:.2f} ms")

    parts = profile_package(params, x, y, 30, args.budget / 80)
    total = sum(parts.values())
    print("\nwhere the package step's time goes (each call timed alone, medians):")
    for k, t in parts.items():
        print(f"  {k:<24} {t * 1e3:>7.3f} ms {100 * t / total:>5.1f}%")
    print(f"  {'sum':<24} {total * 1e3:>7.3f} ms")


if __name__ == "__main__":
    main()
