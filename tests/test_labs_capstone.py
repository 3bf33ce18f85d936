"""backprop.labs.capstone (chapter 14): the split, the model, the optimiser that
continues across fit calls, the PyTorch replay, the confusion matrix and the figures."""

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop import data, model, monitor, optim  # noqa: E402
from backprop.labs import capstone as cap  # noqa: E402
from backprop.train import fit  # noqa: E402


@pytest.fixture(scope="module")
def parts():
    return cap.split()


def test_split_is_fixed_disjoint_and_keeps_chapter_10s_test_set(parts):
    X, y = data.digits()
    _, X_test, _, y_test = data.train_test_split(X, y, 0.2, seed=0)
    np.testing.assert_array_equal(parts["test"][0], X_test)
    np.testing.assert_array_equal(parts["test"][1], y_test)
    sizes = {k: len(v[0]) for k, v in parts.items()}
    assert sizes == {"train": 1150, "val": 288, "test": 359}     # 1797 = 1150 + 288 + 359
    rows = np.concatenate([v[0] for v in parts.values()])
    assert len(np.unique(rows, axis=0)) == len(np.unique(X, axis=0))
    again = cap.split()
    for k in parts:
        np.testing.assert_array_equal(parts[k][0], again[k][0])


def test_make_model_layers_and_seeds():
    net = cap.make_model(0.2, seed=3)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout"] * 2 + ["Dense"]
    assert net.layers[3].rng is net.layers[7].rng               # one mask generator
    assert all(layer.p == 0.2 for layer in net.layers if isinstance(layer, model.Dropout))
    other = cap.make_model(0.2, seed=3)
    np.testing.assert_array_equal(net.params()["0.W"], other.params()["0.W"])
    assert not np.array_equal(net.params()["0.W"], cap.make_model(0.2, 4).params()["0.W"])


def test_recording_dropout_keeps_training_masks_only():
    layer = cap.RecordingDropout(0.5, np.random.default_rng(0))
    x = np.ones((4, 3))
    layer.forward(x)
    layer.forward(x, train=False)
    layer.forward(x)
    assert len(layer.masks) == 2
    np.testing.assert_array_equal(layer.masks[-1], layer.cache[0])


def test_adam_cosine_is_adam_at_the_cosine_rate_and_logs_the_monitor():
    rng = np.random.default_rng(0)
    params = {"0.W": rng.standard_normal((3, 2)), "0.b": rng.standard_normal(2)}
    opt = cap.AdamCosine(0.1, total_steps=5)
    state = None
    for t in range(5):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        new, _ = opt(params, grads, state=None)              # fit's state is ignored
        ref, state = optim.adam(params, grads, state, lr=optim.cosine_lr(0.1, t, 5))
        for k in params:
            np.testing.assert_array_equal(new[k], ref[k])
        assert opt.norms[-1] == monitor.layer_norms(grads)
        params = new
    assert opt.lr[0] == 0.1 and 0 < opt.lr[-1] < 0.1


def test_train_per_epoch_equals_one_fit_call(parts):
    small = {k: (v[0][:200], v[1][:200]) for k, v in parts.items()}
    a = cap.make_model(0.1, 0)
    run = cap.train(a, small, epochs=3, lr0=1e-2, seed=5, progress=False)
    b = cap.make_model(0.1, 0)
    total = 3 * cap.steps_per_epoch(200)
    h = fit(b, *small["train"], loss="softmax_cross_entropy",
            optimizer=cap.AdamCosine(1e-2, total), epochs=3, batch_size=cap.BATCH,
            rng=np.random.default_rng(5), progress=False)
    np.testing.assert_array_equal(run.step_loss, h.step_loss)
    assert run.grad_norm.shape == (total, 5) and run.lr.shape == (total,)
    assert run.layers == ["Dense 1", "BN 1", "Dense 2", "BN 2", "Dense 3"]
    assert run.layers == cap.layer_labels(a)
    assert run.val_acc.shape == (3,) and np.all((run.val_acc >= 0) & (run.val_acc <= 1))
    loss, acc, pred = cap.evaluate(a, *small["val"])
    assert acc == run.val_acc[-1] and loss == run.val_loss[-1]


def test_match_torch_agrees_step_by_step(parts):
    torch.set_num_threads(1)
    small = {"train": (parts["train"][0][:300], parts["train"][1][:300])}
    ours, theirs, net, tnet = cap.match_torch(small, p=0.3, seed=1, epochs=2, lr0=1e-2,
                                              progress=False)
    assert len(ours) == 2 * cap.steps_per_epoch(300)
    assert np.max(np.abs(ours - theirs) / np.abs(theirs)) < 1e-9
    params_err, running_err, pre_bn_b = cap.compare_final(net, tnet)
    assert params_err < 1e-9 and running_err < 1e-8 and pre_bn_b < 1e-8
    # in evaluation mode (running statistics, no dropout) the two models agree too
    X = parts["val"][0]
    tnet.eval()
    with torch.no_grad():
        t_logits = tnet(torch.tensor(X)).numpy()
    np.testing.assert_allclose(net.forward(X, train=False), t_logits, rtol=1e-6, atol=1e-9)


def test_replay_without_the_shared_masks_does_not_match(parts):
    """The match is a real test: torch given other masks computes something else."""
    X = parts["train"][0][:64]
    net = cap.make_model(0.3, 1, dropout=cap.RecordingDropout)
    shared = {i: net.layers[i].masks for i in (3, 7)}
    flipped = {i: [] for i in (3, 7)}
    same, other = cap.torch_twin(net, shared), cap.torch_twin(net, flipped)
    out = net.forward(X)
    for i in (3, 7):
        flipped[i].append(~shared[i][0])
    with torch.no_grad():
        np.testing.assert_allclose(same(torch.tensor(X)).numpy(), out, rtol=1e-12)
        assert not np.allclose(other(torch.tensor(X)).numpy(), out)


def test_confusion_matrix_counts():
    y = np.array([0, 1, 1, 2, 2, 2])
    pred = np.array([0, 2, 1, 2, 0, 2])
    cm = cap.confusion_matrix(y, pred, C=3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [1, 0, 2]])
    assert cm.sum() == len(y) and np.trace(cm) == np.sum(y == pred)


def test_figures_have_titles_and_labels(parts):
    small = {k: (v[0][:130], v[1][:130]) for k, v in parts.items()}
    net = cap.make_model(0.1, 0)
    run = cap.train(net, small, epochs=2, lr0=1e-2, seed=0, progress=False)
    _, _, pred = cap.evaluate(net, *small["test"])
    figs = [cap.plot_curves(run, "t"), cap.plot_grad_norms(run),
            cap.plot_confusion(cap.confusion_matrix(small["test"][1], pred))]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)
    wrong = np.array([0, 1, 2, 3])
    fig = cap.plot_mistakes(np.zeros((4, 64)), wrong, np.array([0, 2, 2, 4]))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["1 -> 2", "3 -> 4"]
    assert all(im.get_interpolation() == "nearest"
               for ax in fig.axes for im in ax.images)
    assert fig.get_size_inches()[0] >= 4                # images large enough to read
    plt.close(fig)


def test_epoch_medians_are_each_epochs_median_per_layer():
    g = np.arange(12.0).reshape(6, 2)                         # 3 epochs of 2 steps
    run = cap.Run(layers=["a", "b"], grad_norm=g, train_loss=np.zeros(3))
    np.testing.assert_array_equal(cap.epoch_medians(run),
                                  [[1, 2], [5, 6], [9, 10]])
