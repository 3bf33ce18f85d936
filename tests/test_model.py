"""backprop.model: Sequential gradients against PyTorch autograd (float64), the
training loop on XOR, the non-finite stop, and the shapes of the history."""

import functools
import re

import numpy as np
import pytest
import torch

from backprop import data, losses, model, optim, train


def _mlp(rng, D=5, H=7, M=3, last=None):
    layers = [model.Dense(D, H, init="he_normal", rng=rng), model.ReLU(),
              model.Dense(H, H, init="xavier_uniform", rng=rng), model.Tanh(),
              model.Dense(H, H, init="xavier_normal", rng=rng), model.Sigmoid(),
              model.Dense(H, M, init="he_uniform", rng=rng)]
    if last is not None:
        layers.append(last)
    return model.Sequential(layers)


def _torch_copy(seq):
    """The same network in torch, sharing our weights (nn.Linear stores W.T)."""
    mods = []
    for layer in seq.layers:
        if isinstance(layer, model.Dense):
            lin = torch.nn.Linear(layer.D, layer.M, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(layer.params["W"].T))
                lin.bias.copy_(torch.tensor(layer.params["b"]))
            mods.append(lin)
        else:
            mods.append({model.ReLU: torch.nn.ReLU, model.Tanh: torch.nn.Tanh,
                         model.Sigmoid: torch.nn.Sigmoid}[type(layer)]())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("loss", ["mse", "softmax_cross_entropy"])
def test_sequential_gradients_equal_torch(loss):
    rng = np.random.default_rng(0)
    seq = _mlp(rng)
    X = rng.standard_normal((8, 5))
    if loss == "mse":
        y = rng.standard_normal((8, 3))
        value, dpred = losses.mse_loss(seq.forward(X), y)
        torch_loss = torch.nn.functional.mse_loss
        ty = torch.tensor(y)
    else:
        y = rng.integers(0, 3, size=8)
        value, dpred = losses.softmax_cross_entropy(seq.forward(X), y)
        torch_loss = torch.nn.functional.cross_entropy
        ty = torch.tensor(y)
    grads = seq.backward(dpred)

    net = _torch_copy(seq)
    tx = torch.tensor(X, requires_grad=True)
    tl = torch_loss(net(tx), ty)
    tl.backward()
    assert float(value) == pytest.approx(tl.item(), rel=1e-12)
    assert list(grads) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b", "6.W", "6.b"]
    for i, mod in enumerate(net):
        if isinstance(mod, torch.nn.Linear):
            np.testing.assert_allclose(grads[f"{i}.W"], mod.weight.grad.numpy().T, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(grads[f"{i}.b"], mod.bias.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(seq.dx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_batchnorm_layer_gradients_equal_torch():
    rng = np.random.default_rng(1)
    seq = model.Sequential([model.Dense(4, 6, rng=rng), model.BatchNorm(6), model.ReLU(),
                            model.Dense(6, 2, rng=rng)])
    X = rng.standard_normal((10, 4))
    y = rng.standard_normal((10, 2))
    _, dpred = losses.mse_loss(seq.forward(X), y)
    grads = seq.backward(dpred)

    l0, l3 = torch.nn.Linear(4, 6, dtype=torch.float64), torch.nn.Linear(6, 2, dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(6, dtype=torch.float64)
    with torch.no_grad():
        for lin, layer in ((l0, seq.layers[0]), (l3, seq.layers[3])):
            lin.weight.copy_(torch.tensor(layer.params["W"].T))
            lin.bias.copy_(torch.tensor(layer.params["b"]))
    net = torch.nn.Sequential(l0, bn, torch.nn.ReLU(), l3)
    torch.nn.functional.mse_loss(net(torch.tensor(X)), torch.tensor(y)).backward()
    np.testing.assert_allclose(grads["0.W"], l0.weight.grad.numpy().T, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["1.gamma"], bn.weight.grad.numpy(), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["1.beta"], bn.bias.grad.numpy(), rtol=1e-9, atol=1e-13)
    # the running statistics moved as torch's did
    np.testing.assert_allclose(seq.layers[1].state["running_mean"], bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(seq.layers[1].state["running_var"], bn.running_var.numpy(), rtol=1e-12)


def test_params_set_params_and_grad_norms():
    rng = np.random.default_rng(2)
    seq = _mlp(rng)
    p = seq.params()
    assert {k: v.shape for k, v in p.items()}["2.W"] == (7, 7)
    new = {k: v + 1.0 for k, v in p.items()}
    seq.set_params(new)
    assert seq.layers[2].params["W"] is new["2.W"]
    with pytest.raises(ValueError, match="keys"):
        seq.set_params({"0.W": new["0.W"]})
    with pytest.raises(ValueError, match="shape"):
        seq.set_params({**new, "0.b": np.zeros(3)})
    X = rng.standard_normal((4, 5))
    _, d = losses.mse_loss(seq.forward(X), np.zeros((4, 3)))
    grads = seq.backward(d)
    norms = seq.grad_norms()
    assert seq.layer_names() == ["0.Dense", "2.Dense", "4.Dense", "6.Dense"]
    expected = np.sqrt(np.sum(grads["4.W"] ** 2) + np.sum(grads["4.b"] ** 2))
    assert norms[2] == pytest.approx(expected, rel=1e-12)


def test_dense_with_given_weights_and_bad_init():
    W, b = np.arange(6.0).reshape(2, 3), np.ones(3)
    layer = model.Dense(2, 3, W=W, b=b)
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, 0.0]])), [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="init"):
        model.Dense(2, 3, init="glorot", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="W must be"):
        model.Dense(3, 3, W=W)


@pytest.mark.parametrize("seed", range(5))
def test_fit_solves_xor(seed):
    rng = np.random.default_rng(seed)
    X, y = data.xor()
    seq = model.Sequential([model.Dense(2, 4, init="xavier_normal", rng=rng), model.Tanh(),
                            model.Dense(4, 1, init="xavier_normal", rng=rng)])
    loss_before = losses.bce_with_logits(seq.forward(X), y)[0]
    history = train.fit(seq, X, y, loss="bce_with_logits",
                        optimizer=functools.partial(optim.adam, lr=0.05),
                        epochs=1000, progress=False)
    assert history.loss[0] == pytest.approx(loss_before, rel=1e-12)
    assert history.loss[-1] < 0.01
    predicted = (seq.forward(X, train=False) > 0).astype(float)  # logit > 0 <=> p > 1/2
    np.testing.assert_array_equal(predicted, y)


def test_fit_minibatches_history_shapes_and_consistency():
    rng = np.random.default_rng(3)
    X, y = data.spirals(5, 0.1, rng)  # N = 10
    seq = model.Sequential([model.Dense(2, 6, rng=rng), model.ReLU(), model.Dense(6, 2, rng=rng)])
    history = train.fit(seq, X, y, loss="cross_entropy",
                        optimizer=functools.partial(optim.momentum, lr=0.1),
                        epochs=7, batch_size=3, rng=np.random.default_rng(0), progress=False)
    assert history.loss.shape == (7,)
    assert history.step_loss.shape == (7 * 4,)          # ceil(10 / 3) = 4 steps per epoch
    assert history.grad_norm.shape == (7, 2)
    assert history.layers == ["0.Dense", "2.Dense"]
    # epoch loss = mean over the N examples = batch losses weighted 3, 3, 3, 1
    weights = np.array([3, 3, 3, 1]) / 10
    np.testing.assert_allclose(history.loss, history.step_loss.reshape(7, 4) @ weights, rtol=1e-12)
    assert np.all(history.grad_norm > 0)


def test_fit_full_batch_grad_norm_is_first_step():
    X, y = data.xor()
    make = lambda: model.Sequential([model.Dense(2, 3, rng=np.random.default_rng(9)), model.Tanh(),
                                     model.Dense(3, 1, rng=np.random.default_rng(10))])
    ref = make()
    _, d = losses.mse_loss(ref.forward(X), y)
    ref.backward(d)
    history = train.fit(make(), X, y, loss="mse", optimizer=functools.partial(optim.sgd, lr=0.1),
                        epochs=2, progress=False)
    np.testing.assert_allclose(history.grad_norm[0], ref.grad_norms(), rtol=1e-12)
    assert not np.allclose(history.grad_norm[1], history.grad_norm[0])


def test_fit_stops_on_nan_loss_naming_epoch_and_step():
    X, y = data.xor()
    calls = []

    def loss_turning_inf(pred, target):
        calls.append(1)
        value, d = losses.mse_loss(pred, target)
        return (np.inf if len(calls) == 7 else value), d

    seq = model.Sequential([model.Dense(2, 3, rng=np.random.default_rng(0)), model.Tanh(),
                            model.Dense(3, 1, rng=np.random.default_rng(1))])
    # batch 2 -> 2 steps per epoch: the 7th call is epoch 3, step 6 (both from 0)
    with pytest.raises(FloatingPointError, match=re.escape("epoch 3, step 6")):
        train.fit(seq, X, y, loss=loss_turning_inf, optimizer=functools.partial(optim.sgd, lr=0.1),
                  epochs=10, batch_size=2, rng=np.random.default_rng(0), progress=False)


def test_fit_stops_when_training_diverges_without_warnings():
    # lr = 10 on MSE with targets of 1000 blows up; pytest turns any warning into an
    # error, so this also checks that the loop stops cleanly with FloatingPointError.
    rng = np.random.default_rng(0)
    X, y = data.xor()
    seq = model.Sequential([model.Dense(2, 4, rng=rng), model.Tanh(), model.Dense(4, 1, rng=rng)])
    with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+"):
        train.fit(seq, X, 1e3 * y, loss="mse", optimizer=functools.partial(optim.sgd, lr=10.0),
                  epochs=1000, progress=False)


def test_fit_with_nan_input_stops_at_first_step():
    X, y = data.xor()
    X[2, 0] = np.nan
    seq = model.Sequential([model.Dense(2, 3, rng=np.random.default_rng(0)), model.ReLU(),
                            model.Dense(3, 1, rng=np.random.default_rng(1))])
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 0, step 0"):
        train.fit(seq, X, y, loss="mse", optimizer=functools.partial(optim.sgd, lr=0.1),
                  epochs=3, progress=False)


def test_fit_progress_bar_runs_without_warnings(capsys):
    X, y = data.xor()
    seq = model.Sequential([model.Dense(2, 3, rng=np.random.default_rng(0)), model.Tanh(),
                            model.Dense(3, 1, rng=np.random.default_rng(1))])
    history = train.fit(seq, X, y, loss="mse", optimizer=functools.partial(optim.sgd, lr=0.1),
                        epochs=3, progress=True)
    assert "3/3" in capsys.readouterr().err  # the console fallback of tqdm.auto
    assert history.loss.shape == (3,)


def test_fit_validates_arguments():
    X, y = data.xor()
    seq = model.Sequential([model.Dense(2, 1, rng=np.random.default_rng(0))])
    opt = functools.partial(optim.sgd, lr=0.1)
    with pytest.raises(ValueError, match="loss"):
        train.fit(seq, X, y, loss="hinge", optimizer=opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="rng"):
        train.fit(seq, X, y, loss="mse", optimizer=opt, epochs=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match="rows"):
        train.fit(seq, X, y[:3], loss="mse", optimizer=opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(seq, X, y, loss="mse", optimizer=opt, epochs=0, progress=False)
