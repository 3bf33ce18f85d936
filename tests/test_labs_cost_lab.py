"""backprop.labs.cost_lab (chapter 13): the memory model against tracemalloc and
torch.profiler, the checkpoint experiment, the four ways to a weight gradient, and
the benchmark's fused step against the step as it was before."""

import numpy as np
import pytest

from backprop import checkpoint as ck
from backprop import optim
from backprop.labs import cost_lab


def test_layer_type_counts():
    rows = {r["layer"]: r for r in cost_lab.layer_type_costs(N=4, D=6, H=5, repeats=2)}
    assert rows["dense"]["fwd_ops"] == 4 * 6 * 5
    assert rows["dense"]["bwd_ops"] == 2 * 4 * 6 * 5
    assert rows["sigmoid"]["fwd_ops"] == rows["sigmoid"]["bwd_ops"] == 3 * 20
    assert rows["relu"]["fwd_ops"] == rows["relu"]["bwd_ops"] == 20
    assert all(r["fwd_s"] > 0 and r["bwd_s"] > 0 for r in rows.values())


@pytest.mark.parametrize("K, N, H", [(2, 64, 64), (4, 32, 128), (3, 128, 32)])
def test_activation_memory_matches_the_model(K, N, H):
    model = cost_lab.cached_bytes(K, N, H)
    assert cost_lab.activation_memory(K, N, H) == pytest.approx(model, rel=0.01)
    assert cost_lab.torch_saved_bytes(K, N, H) == model


def test_memory_doubles_with_depth_batch_and_width():
    base = cost_lab.activation_memory(2, 64, 64)
    for K, N, H in [(4, 64, 64), (2, 128, 64), (2, 64, 128)]:
        assert cost_lab.activation_memory(K, N, H) == pytest.approx(2 * base, rel=0.01)


def test_checkpoint_memory_follows_the_model():
    K, N, H = 9, 64, 16
    runs = cost_lab.checkpoint_schedules(K, N, H, (1, 3, 9))
    mem = cost_lab.checkpoint_memory(runs, K, N, H)
    assert [m for m, _ in mem.values()] == [10, 10, 6, 10]
    # measured = model + a few temporaries (upstream gradient, delta, dx, ...)
    for model, measured in mem.values():
        assert model <= measured <= model + 5
    assert min(mem, key=lambda k: mem[k][1]) == "segments of 3"
    # every schedule computes the same gradients
    (_, _, plain), *others = runs
    dx, grads = plain()
    for _, _, run in others:
        dx_c, grads_c = run()
        np.testing.assert_array_equal(dx_c, dx)
        for g, gc in zip(grads, grads_c):
            for a, b in zip(g, gc):
                np.testing.assert_array_equal(a, b)


def test_deep_mlp_is_a_chain_of_fused_pairs():
    layers = cost_lab.deep_mlp(3, 5, 4)
    out, _ = ck.chain_forward(layers, np.ones((2, 5)))
    assert out.shape == (2, 4) and (out >= 0).all()


def test_vectorised_gradients_agree():
    res = cost_lab.vectorised_gradients(N=5, D=7, H=6, loop_columns=2, repeats=2)
    assert set(res) == {"loop", "matmul", "einsum", "batched matmul"}
    for seconds, diff in res.values():
        assert seconds > 0 and diff < 1e-12


def test_fresh_vs_reused_keys_in_both_modes():
    for kw in ({}, {"new_process": True}):
        res = cost_lab.fresh_vs_reused((8, 8), repeats=3, **kw)
        assert set(res) == {"two new arrays", "one new array", "reused"}
        assert all(v > 0 for v in res.values())


def test_median_times_and_interleaved():
    calls = []
    t = cost_lab.median_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3, warmup=1)
    assert set(t) == {"a", "b"} and calls.count("a") == 4
    times = cost_lab.interleaved({"a": lambda: None}, budget=0, reps=20, warmup=0)
    assert len(times["a"]) == 8          # at least 8 repetitions, then the budget stops it


def test_benchmark_fused_step_equals_the_step_before():
    bench = cost_lab.load_benchmark()
    params, x, y = bench.make_problem()
    new, loss = bench.package_step(params, x, y)
    old, loss_old = bench.unfused_step(params, x, y)
    assert loss == loss_old
    for k in params:
        assert new[k].dtype == np.float32
        np.testing.assert_array_equal(new[k], old[k])
    # the update allocates one array per parameter and writes into no argument
    snapshot = {k: v.copy() for k, v in params.items()}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    stepped, _ = optim.sgd(params, grads, 0.5)
    for k in params:
        np.testing.assert_array_equal(params[k], snapshot[k])
        np.testing.assert_array_equal(stepped[k], snapshot[k] - 0.5)


def test_sgd_keeps_promotion_when_it_cannot_write_in_place():
    p = {"w": np.ones(3, dtype=np.float64)}
    g = {"w": np.ones(3, dtype=np.float32)}
    new, _ = optim.sgd(p, g, 0.25)
    assert new["w"].dtype == np.float64
    np.testing.assert_array_equal(new["w"], np.full(3, 0.75))


def test_blas_threads_reports_the_library():
    assert all(isinstance(n, int) and n >= 1 for _, n in cost_lab.blas_threads())
