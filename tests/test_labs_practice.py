"""labs.practice: the monitored loop logs what backprop.monitor computes, the
schedules are the package's, the clinic's networks show their symptoms, and
the figures and the widget build."""

import matplotlib
import numpy as np
import pytest

from backprop import data, losses, model, monitor, optim
from backprop.labs import practice

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def digits():
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.2, seed=0)
    return X_train[:256], y_train[:256], (X_test[:100], y_test[:100])


def test_make_mlp_shapes_and_options():
    net = practice.make_mlp([4, 5, 3], np.random.default_rng(0), bias=-1.0)
    assert [type(l).__name__ for l in net.layers] == ["Dense", "ReLU", "Dense"]
    np.testing.assert_array_equal(net.layers[0].params["b"], -np.ones(5))
    np.testing.assert_array_equal(net.layers[2].params["b"], np.zeros(3))
    zero = practice.make_mlp([4, 5, 3], None, init="zeros", activation="sigmoid")
    assert not any(np.any(p) for p in zero.params().values())
    assert isinstance(zero.layers[1], model.Sigmoid)
    a = practice.make_mlp([4, 5, 3], np.random.default_rng(1), scale=2.0)
    b = practice.make_mlp([4, 5, 3], np.random.default_rng(1))
    np.testing.assert_allclose(a.layers[0].params["W"], 2 * b.layers[0].params["W"])


def test_train_monitored_logs_match_a_hand_written_loop(digits):
    X, y, test = digits
    lr = lambda t: optim.cosine_lr(0.2, t, 8, 2)
    run = practice.train_monitored(practice.make_mlp([64, 16, 10], np.random.default_rng(0)),
                                   X, y, lr, epochs=2, batch_size=64, seed=3, test=test)
    # the same steps by hand
    net = practice.make_mlp([64, 16, 10], np.random.default_rng(0))
    rng, step = np.random.default_rng(3), 0
    for _ in range(2):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 64):
            idx = order[start:start + 64]
            hidden = net.layers[1].forward(net.layers[0].forward(X[idx]))
            value, d = losses.softmax_cross_entropy(net.layers[2].forward(hidden), y[idx])
            grads = net.backward(d)
            new, _ = optim.sgd(net.params(), grads, lr(step))
            ratios = monitor.update_ratios(net.params(), new)
            assert run.loss[step] == pytest.approx(value, rel=1e-12)
            assert run.lr[step] == lr(step)
            assert run.grad_norm[step, 1] == pytest.approx(monitor.layer_norms(grads)["2"], rel=1e-12)
            assert run.ratio[step, 0] == pytest.approx(ratios["0"], rel=1e-12)
            assert run.dead[step, 0] == monitor.dead_fraction(hidden)
            net.set_params(new)
            step += 1
    assert run.grad_norm.shape == (8, 2) and run.dead.shape == (8, 1)
    assert len(run.epoch_loss) == 2 and 0 <= run.test_acc <= 1
    assert run.test_acc == practice.accuracy(net, *test)


def test_schedules_are_the_packages(digits):
    fns = practice.make_schedules(1.0, 40, 5)
    assert list(fns) == ["constant", "exponential", "step", "cosine", "warm-up + cosine"]
    assert fns["exponential"](39) == optim.exponential_lr(1.0, 0.1, 39, decay_steps=40)
    assert fns["step"](12) == 0.5                      # epoch 2 of 8, halved every 2
    assert fns["warm-up + cosine"](0) == pytest.approx(0.2)
    assert fns["cosine"](40) == pytest.approx(0.0, abs=1e-15)


def test_clinic_symptoms_show_in_the_monitors(digits):
    X, y, _ = digits
    zero = practice.train_monitored(practice.make_mlp([64, 16, 16, 10], None, init="zeros"),
                                    X, y, lambda t: 0.1, 1)
    assert np.all(zero.grad_norm[:, :2] == 0) and np.all(zero.dead == 1)
    big = practice.train_monitored(practice.make_mlp([64, 32, 32, 10], np.random.default_rng(0)),
                                   X, y, lambda t: 2.0, 1)
    assert big.ratio[0, 0] > 0.05
    vanish = practice.train_monitored(
        practice.make_mlp([64, 32, 32, 10], np.random.default_rng(0), activation="sigmoid",
                          init="standard_normal", scale=0.01), X, y, lambda t: 0.1, 1)
    assert np.all(vanish.grad_norm[:, 2] > 100 * vanish.grad_norm[:, 0])
    assert vanish.dead.shape[1] == 0


def test_a_diverging_run_stops_without_raising(digits):
    X, y, test = digits
    # weights of size 1e200: the logits overflow to inf, the loss is nan
    net = practice.make_mlp([64, 8, 8, 10], np.random.default_rng(0),
                            init="standard_normal", scale=1e200)
    run = practice.train_monitored(net, X, y, lambda t: 0.1, 3, test=test)
    assert run.diverged and np.isnan(run.test_acc)
    assert len(run.loss) == 0 and run.grad_norm.shape == (0, 3)
    assert run.dead.shape == (0, 2)


def test_bad_optimizer_name_raises(digits):
    X, y, _ = digits
    with pytest.raises(ValueError, match="optimizer"):
        practice.train_monitored(practice.make_mlp([64, 8, 10], np.random.default_rng(0)),
                                 X, y, lambda t: 0.1, 1, optimizer="rmsprop")


def test_figures_and_widget_build(digits):
    import matplotlib.pyplot as plt

    X, y, test = digits
    sizes = [64, 8, 10]
    sweep = practice.schedule_sweep(X, y, test, sizes, 0.1, 2, seeds=(0,))
    figs = [practice.plot_schedules(1.0, 20, 5), practice.plot_schedule_results({0.1: sweep}),
            practice.schedule_figure(X, y, test, sizes, epochs=2)]
    run = sweep["constant"][0]
    figs += [practice.plot_monitors(run, "t"), practice.plot_clinic(run, run, "t")]
    for fig in figs:
        assert fig.axes and all(ax.get_title() for ax in fig.axes)
        plt.close(fig)
    box = practice.schedule_widget(X, y, test, sizes, epochs=2)
    first = box.image.value
    assert first[:4] == b"\x89PNG"
    box.schedule.value = "constant"
    assert box.image.value != first


def test_mystery_run_shows_a_learning_rate_far_too_small(digits):
    X, y, _ = digits
    run = practice.mystery_run(X, y, epochs=1)
    assert np.all(run.ratio < 1e-4)                       # far below the 1e-3 rule
    assert np.all(run.grad_norm > 0.05) and np.all(run.dead < 0.5)
    assert np.ptp(run.grad_norm.mean(axis=0)) < run.grad_norm.mean()   # no layer vanishes


def test_the_labs_update_ratios_are_the_monitors():
    rng = np.random.default_rng(3)
    params = {"0.W": rng.standard_normal((4, 3)), "0.b": rng.standard_normal(3),
              "1.W": rng.standard_normal((3, 2)), "1.b": np.zeros(2),
              "2.W": np.zeros((2, 2)), "2.b": np.zeros(2)}
    new = {k: v - 0.01 * rng.standard_normal(v.shape) for k, v in params.items()}
    new["2.W"] = params["2.W"].copy()          # 0 / 0
    got = practice._weight_update_ratios(params, new)
    want = monitor.update_ratios(params, new)
    assert got.keys() == want.keys() == {"0", "1", "2"}
    for k in ("0", "1"):
        assert got[k] == pytest.approx(want[k], rel=1e-12)
    assert np.isnan(got["2"]) and np.isnan(want["2"])
