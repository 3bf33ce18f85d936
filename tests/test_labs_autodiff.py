"""backprop.labs.autodiff_lab: chapter 12's experiments compute what they claim."""

import numpy as np
import pytest
import torch

from backprop import autodiff as ad
from backprop import data, init
from backprop.labs import autodiff_lab as lab
from backprop.labs import xor

X_XOR, Y_XOR = data.xor()


@pytest.mark.parametrize("case", range(12))
def test_every_op_case_verifies(case):
    name, f, ft, arrays = lab.op_cases(np.random.default_rng(0))[case]
    fd, tt = lab.verify_op(f, ft, arrays)
    assert fd < 1e-8, name
    assert tt < 1e-12, name


def test_verify_op_sees_a_wrong_torch_reference():
    name, f, ft, arrays = lab.op_cases(np.random.default_rng(0))[5]   # sigmoid
    _, tt = lab.verify_op(f, lambda x: 2 * ft(x), arrays)
    assert tt > 1e-3


def test_scalar_and_array_graphs_agree_and_count_as_derived():
    rng = np.random.default_rng(3)
    N, D, H, M = 3, 5, 4, 2
    X, T = rng.standard_normal((N, D)), rng.standard_normal((N, M))
    params = {"W1": rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
              "W2": rng.standard_normal((H, M)), "b2": rng.standard_normal(M)}
    res = lab.scalar_vs_array(X, T, params, repeat_scalar=1, repeat_array=1)
    assert res["max_abs_diff"] < 1e-12 and res["value_diff"] < 1e-12
    leaves = N * D + N * M + 2 + D * H + H + H * M + M     # inputs, targets, consts, params
    ops = N * H * (2 * D + 1) + 2 * N * M * H + 3 * N * M + 1
    assert res["nodes_scalar"] == leaves + ops
    assert res["nodes_array"] == 9          # x W1 b1 W2 b2 + dense tanh dense mse
    assert res["seconds_scalar"] > 0 and res["seconds_array"] > 0


def test_scalar_graph_gradient_matches_torch():
    rng = np.random.default_rng(4)
    X, T = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    p = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(2),
         "W2": rng.standard_normal((2, 2)), "b2": rng.standard_normal(2)}
    loss, P = lab.array_mlp_loss(X, T, **p)
    ad.backward(loss)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    out = torch.tanh(torch.tensor(X) @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
    torch.nn.functional.mse_loss(out, torch.tensor(T)).backward()
    for k in p:
        np.testing.assert_allclose(P[k].grad, tp[k].grad.numpy(), rtol=1e-10)


def test_engine_xor_training_equals_the_hand_written_loop():
    p0 = {k: v[0] for k, v in xor.init_params([3], scale="lecun").items()}
    pe, le = lab.train_xor_engine(p0, X_XOR, Y_XOR, epochs=40)
    ph, lh = xor.train_pairs(p0, X_XOR, Y_XOR, epochs=40)
    assert np.array_equal(le, lh)
    for k in pe:
        assert np.array_equal(pe[k], ph[k])
    assert le[-1] < le[0]


def test_digits_engine_gradient_matches_torch_and_training_learns():
    X, y = data.digits()
    X, y = X[:200], y[:200]
    rng = np.random.default_rng(0)
    p = {"W1": init.he_normal(64, 16, rng), "b1": np.zeros(16),
         "W2": init.he_normal(16, 10, rng), "b2": np.zeros(10)}
    P = {k: ad.Tensor(v.copy()) for k, v in p.items()}
    ad.backward(lab.digits_forward(P, X[:32], y[:32]))
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    z = torch.relu(torch.tensor(X[:32]) @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
    torch.nn.functional.cross_entropy(z, torch.tensor(y[:32])).backward()
    for k in p:
        np.testing.assert_allclose(P[k].grad, tp[k].grad.numpy(), rtol=1e-9, atol=1e-12)
    _, losses = lab.train_digits_engine(p, X, y, lr=0.1, epochs=3, batch=50)
    assert len(losses) == 12
    assert losses[-4:].mean() < losses[:4].mean()


def test_torch_init_params_are_what_the_module_draws():
    params = lab.torch_init_params([5, 6])
    assert params["W1"].shape == (2, 2, 4) and params["b2"].shape == (2, 1)
    torch.manual_seed(6)
    net = lab.torch_network()
    np.testing.assert_array_equal(params["W1"][1], net.layer1.weight.detach().numpy().T)
    np.testing.assert_array_equal(params["b2"][1], net.layer2.bias.detach().numpy())
    assert np.abs(params["W1"]).max() <= 1 / np.sqrt(2)
    assert np.abs(params["W2"]).max() <= 1 / np.sqrt(4)
    assert not np.array_equal(params["W1"][0], params["W1"][1])


def test_batched_torch_training_equals_the_one_seed_loop():
    seeds = [0, 7]
    a2, losses = lab.train_torch_seeds(lab.torch_init_params(seeds), X_XOR, Y_XOR,
                                       epochs=150)
    assert a2.shape == (2, 4, 1) and losses.shape == (150, 2)
    for i, s in enumerate(seeds):
        one = lab.train_torch_one(s, X_XOR, Y_XOR, epochs=150)
        np.testing.assert_allclose(a2[i], one, atol=1e-5)


def test_xor_solved():
    good = np.array([[0.1], [0.9], [0.8], [0.2]])
    bad = np.array([[0.1], [0.9], [0.4], [0.2]])
    assert lab.xor_solved(np.stack([good, bad]), Y_XOR).tolist() == [True, False]


def test_escape_epochs_first_crossing_and_never():
    losses = np.array([[0.25, 0.25], [0.19, 0.25], [0.3, 0.24]])
    assert lab.escape_epochs(losses).tolist() == [1, -1]
    assert lab.escape_epochs(losses, below=0.245).tolist() == [1, 2]


def test_hidden_unit_spread_zero_for_copies_and_matches_a_loop():
    rng = np.random.default_rng(0)
    p = {"W1": rng.standard_normal((3, 2, 4)),
         "b1": rng.standard_normal((3, 4))}
    got = lab.hidden_unit_spread(p, X_XOR)
    for s in range(3):
        a1 = 1 / (1 + np.exp(-(X_XOR @ p["W1"][s] + p["b1"][s])))
        assert np.isclose(got[s], max(r.max() - r.min() for r in a1))
    copies = {"W1": np.repeat(p["W1"][:, :, :1], 4, axis=2),
              "b1": np.repeat(p["b1"][:, :1], 4, axis=1)}
    assert np.allclose(lab.hidden_unit_spread(copies, X_XOR), 0)

