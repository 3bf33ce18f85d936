"""backprop.monitor: per-layer norms against torch, update ratios, dead units, purity."""

import copy

import numpy as np
import pytest
import torch

from backprop import losses, model, monitor, optim


def _net(rng):
    return model.Sequential([model.Dense(5, 7, init="he_normal", rng=rng), model.ReLU(),
                             model.Dense(7, 3, init="he_normal", rng=rng)])


def test_layer_norms_match_torch_autograd():
    rng = np.random.default_rng(0)
    net = _net(rng)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    _, d = losses.softmax_cross_entropy(net.forward(X), y)
    grads = net.backward(d)
    ours = monitor.layer_norms(grads)
    lins = []
    for layer in (net.layers[0], net.layers[2]):
        lin = torch.nn.Linear(layer.D, layer.M, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(layer.params["W"].T))
            lin.bias.copy_(torch.tensor(layer.params["b"]))
        lins.append(lin)
    tnet = torch.nn.Sequential(lins[0], torch.nn.ReLU(), lins[1])
    torch.nn.functional.cross_entropy(tnet(torch.tensor(X)), torch.tensor(y)).backward()
    assert list(ours) == ["0", "2"]
    for key, lin in zip(ours, lins):
        expected = torch.sqrt(lin.weight.grad.square().sum() + lin.bias.grad.square().sum())
        assert ours[key] == pytest.approx(expected.item(), rel=1e-12)


def test_layer_norms_groups_by_prefix_in_float64():
    arrays = {"0.W": np.array([[3.0, 0.0]]), "0.b": np.array([4.0]),
              "1.gamma": np.float32([1e30, 1e30]), "out": np.array([-2.0])}
    norms = monitor.layer_norms(arrays)
    # float32 squares of 1e30 would overflow to inf; the sums are float64
    big = np.sqrt(2) * float(np.float32(1e30))
    assert norms == {"0": 5.0, "1": pytest.approx(big, rel=1e-12), "out": 2.0}


def test_update_ratios_weights_only_and_equal_lr_grad_over_weight_for_sgd():
    rng = np.random.default_rng(1)
    params = {"0.W": rng.standard_normal((4, 3)), "0.b": np.zeros(3),
              "2.W": rng.standard_normal((3, 2)), "2.b": np.zeros(2)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    before = copy.deepcopy(params)
    new, _ = optim.sgd(params, grads, lr=0.01)
    ratios = monitor.update_ratios(params, new)
    assert list(ratios) == ["0", "2"]          # biases left out
    for k in ratios:
        expected = 0.01 * np.linalg.norm(grads[f"{k}.W"]) / np.linalg.norm(params[f"{k}.W"])
        assert ratios[k] == pytest.approx(expected, rel=1e-12)
    for k in params:                           # pure
        np.testing.assert_array_equal(params[k], before[k])


def test_update_ratio_of_a_zero_matrix():
    z = {"0.W": np.zeros((2, 2))}
    assert np.isnan(monitor.update_ratios(z, {"0.W": np.zeros((2, 2))})["0"])
    assert monitor.update_ratios(z, {"0.W": np.ones((2, 2))})["0"] == np.inf


def test_dead_fraction_counts_units_dead_for_every_example():
    a = np.array([[0.0, 1.0, 0.0, -0.0],
                  [0.0, 0.0, 2.0, 0.0]])
    assert monitor.dead_fraction(a) == 0.5
    assert monitor.dead_fraction(np.ones((3, 5))) == 0.0
    assert monitor.dead_fraction(np.zeros((1, 4))) == 1.0
    # a dead unit gets no weight gradient: check the claim on a real layer
    rng = np.random.default_rng(2)
    net = _net(rng)
    net.layers[0].params["b"] = np.array([-100.0, 0, 0, 0, 0, 0, -100.0])
    X = rng.standard_normal((6, 5))
    _, d = losses.softmax_cross_entropy(net.forward(X), rng.integers(0, 3, 6))
    grads = net.backward(d)
    relu_out = net.layers[1].forward(net.layers[0].forward(X))
    assert monitor.dead_fraction(relu_out) == pytest.approx(2 / 7)
    assert not np.any(grads["0.W"][:, [0, 6]])
    assert np.all(np.any(grads["0.W"][:, 1:6] != 0, axis=0))


@pytest.mark.parametrize("call, match", [
    (lambda: monitor.layer_norms([np.ones(2)]), "dict"),
    (lambda: monitor.update_ratios({"0.W": np.ones(2)}, {"1.W": np.ones(2)}), "same keys"),
    (lambda: monitor.update_ratios({"0.W": np.ones(2)}, {"0.W": np.ones(3)}), "shape"),
    (lambda: monitor.dead_fraction(np.ones(3)), r"\(N, H\)"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
