"""Tests for backprop.labs.forward_pass: the traced two-layer forward pass against
PyTorch (float64, nn.Linear's (M, D) weight layout), and the figure/widget."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop.labs import forward_pass as fv  # noqa: E402


def _torch_forward(x, p):
    D, H = p["W1"].shape
    M = p["W2"].shape[1]
    l1, l2 = torch.nn.Linear(D, H).double(), torch.nn.Linear(H, M).double()
    with torch.no_grad():
        l1.weight.copy_(torch.from_numpy(p["W1"].T))  # torch stores (H, D)
        l1.bias.copy_(torch.from_numpy(p["b1"]))
        l2.weight.copy_(torch.from_numpy(p["W2"].T))  # (M, H)
        l2.bias.copy_(torch.from_numpy(p["b2"]))
        xt = torch.from_numpy(x)
        z1 = l1(xt)
        a1 = torch.sigmoid(z1)
        z2 = l2(a1)
        return [t.numpy() for t in (z1, a1, z2, torch.sigmoid(z2))]


@pytest.mark.parametrize("N,D,H,M", [(1, 1, 1, 1), (4, 2, 3, 1), (7, 5, 8, 3)])
def test_forward_trace_matches_torch(N, D, H, M):
    rng = np.random.default_rng(N * 100 + D)
    p = fv.init_two_layer(D, H, M, rng)
    p["b1"] = rng.normal(size=H)
    p["b2"] = rng.normal(size=M)
    x = rng.normal(size=(N, D))
    trace = fv.forward_trace(x, p)
    expected = _torch_forward(x, p)
    for key, ref in zip(("z1", "a1", "z2", "a2"), expected):
        assert trace[key].shape == ref.shape
        np.testing.assert_allclose(trace[key], ref, rtol=1e-13, atol=1e-15)
    assert len(trace["caches"]) == 4


def test_init_scales_and_validation():
    rng = np.random.default_rng(0)
    small = fv.init_two_layer(200, 300, 1, rng, scale=0.01)
    assert small["W1"].shape == (200, 300) and small["b1"].shape == (300,)
    assert small["W1"].std() == pytest.approx(0.01, rel=0.02)
    xav = fv.init_two_layer(200, 300, 1, rng)
    assert xav["W1"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    with pytest.raises(ValueError, match="scale"):
        fv.init_two_layer(2, 2, 1, rng, scale=-1.0)
    with pytest.raises(ValueError, match="missing"):
        fv.forward_trace(np.zeros((1, 2)), {"W1": np.zeros((2, 2))})


def test_shifted_copies_and_changes_one_entry():
    p = fv.init_two_layer(2, 3, 1, np.random.default_rng(1))
    before = {k: v.copy() for k, v in p.items()}
    q = fv.shifted(p, "W1", (1, 2), 0.5)
    for k in p:  # the original is untouched
        np.testing.assert_array_equal(p[k], before[k])
    diff = q["W1"] - p["W1"]
    assert diff[1, 2] == pytest.approx(0.5) and np.count_nonzero(diff) == 1
    with pytest.raises(ValueError, match="name"):
        fv.shifted(p, "W3", (0, 0), 1.0)


def test_input_grid():
    xx, yy, X = fv.input_grid((0.0, 1.0), 3)
    assert X.shape == (9, 2)
    np.testing.assert_array_equal(X[:, 0], [0, 0.5, 1] * 3)
    with pytest.raises(ValueError, match="resolution"):
        fv.input_grid(resolution=1)


def test_plot_surfaces_has_one_panel_per_unit_plus_output():
    p = fv.init_two_layer(2, 3, 1, np.random.default_rng(2))
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    fig = fv.plot_surfaces(p, X, np.array([0, 1]), resolution=11, title="t")
    try:
        panels = [ax for ax in fig.axes if ax.get_xlabel() == "$x_1$"]
        assert len(panels) == 4
        assert fig._suptitle.get_text() == "t"
        assert panels[0].get_ylabel() == "$x_2$"
        # targets 0 and 1 are told apart by marker, with a legend
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["target 0", "target 1"]
        # the output panel shows sigmoid(a1 W2 + b2) on the grid
        _, _, grid = fv.input_grid(resolution=11)
        out = fv.forward_trace(grid, p)["a2"][:, 0]
        mesh = panels[-1].collections[0]
        np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(), out)
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="D = 2"):
        fv.plot_surfaces(fv.init_two_layer(3, 2, 1, np.random.default_rng(0)))


def test_weight_explorer_default_is_the_static_figure_and_shift_changes_it():
    p = fv.init_two_layer(2, 2, 1, np.random.default_rng(3))
    w = fv.weight_explorer(p, resolution=11)
    try:
        dropdown, slider = w.dropdown, w.slider
        assert slider.value == 0.0
        base = np.asarray(w.result.axes[2].collections[0].get_array()).ravel().copy()
        static = fv.plot_surfaces(p, resolution=11)
        np.testing.assert_allclose(np.asarray(static.axes[2].collections[0].get_array()).ravel(), base)
        plt.close(static)
        dropdown.value = ("W2", (0, 0))
        slider.value = 2.0
        moved = np.asarray(w.result.axes[2].collections[0].get_array()).ravel()
        q = fv.shifted(p, "W2", (0, 0), 2.0)
        _, _, grid = fv.input_grid(resolution=11)
        np.testing.assert_allclose(moved, fv.forward_trace(grid, q)["a2"][:, 0])
        assert not np.allclose(moved, base)
        assert "W2[0, 0]" in w.result._suptitle.get_text()
        assert w.image.value[:8] == b"\x89PNG\r\n\x1a\n"  # the picture is a PNG
    finally:
        plt.close("all")
