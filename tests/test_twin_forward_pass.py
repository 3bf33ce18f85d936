"""The weight explorer's kernel-free twin (chapter 1): its stored grid points
are what a live call of the labs code computes, and what the widget draws."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backprop.data import xor  # noqa: E402
from backprop.labs import forward_pass as fv  # noqa: E402
from backprop.labs.explore import decode, figure_json  # noqa: E402

R = fv.TWIN_RESOLUTION
QUANT = 1 / 255  # uint8 maps over [0, 1]: rounding error at most 0.5 / 255


@pytest.fixture(scope="module")
def demo():
    """The chapter's random 2-3-1 network and the XOR points."""
    X, y = xor()
    rng = np.random.default_rng(1)
    params = fv.init_two_layer(D=2, H=3, M=1, rng=rng, scale=3.0)
    params = dict(params, b1=rng.normal(size=3) * 2, b2=rng.normal(size=1))
    return params, X, y


@pytest.fixture(scope="module")
def twin(demo):
    return fv.twin_figure(*demo)


def _state(fig, label, shift):
    """{axis: (z codes, hover text, meta)} that the slider step sets for a choice."""
    menu = fig["layout"]["updatemenus"][0]
    group = [b["label"] for b in menu["buttons"]].index(label)
    step = next(s for s in fig["layout"]["sliders"][group]["steps"]
                if s["label"] == shift)
    restyle, indices = step["args"]
    out = {}
    for k, i in enumerate(indices):
        trace = fig["data"][i]
        entry = out.setdefault(trace["xaxis"], {})
        if trace["type"] == "contour":
            entry["z"] = decode(restyle["z"][k])
        else:
            entry["text"], entry["meta"] = restyle["text"][k], restyle["meta"][k]
    return out


def test_grid_point_equals_a_live_forward_pass(demo, twin):
    params, X, _ = demo
    _, _, grid = fv.input_grid(resolution=R)
    live = fv.forward_trace(grid, fv.shifted(params, "W1", (0, 1), 2.0))
    at_points = fv.forward_trace(X, fv.shifted(params, "W1", (0, 1), 2.0))
    state = _state(twin, "W1[0, 1]", "+2")
    # W1[0, 1] feeds hidden unit 1 (panel x2); the output is panel x4
    assert sorted(state) == ["x2", "x4"]
    hidden, output = state["x2"], state["x4"]
    assert hidden["z"].shape == output["z"].shape == (R, R)
    np.testing.assert_allclose(hidden["z"] / 255, live["a1"][:, 1].reshape(R, R),
                               atol=QUANT)
    np.testing.assert_allclose(output["z"] / 255, live["a2"][:, 0].reshape(R, R),
                               atol=QUANT)
    # hover reads the exact activations at the XOR points, to 3 decimals
    assert hidden["text"] == [f"{v:.3f}" for v in at_points["a1"][:, 1]]
    assert output["text"] == [f"{v:.3f}" for v in at_points["a2"][:, 0]]
    value = params["W1"][0, 1] + 2.0
    assert output["meta"] == f"W1[0, 1] = {value:.2f} (shift +2)"
    assert hidden["meta"] == output["meta"]


def test_grid_coordinates_are_the_input_grid(twin):
    t = fv.input_grid(resolution=R)[0][0]
    heat = next(tr for tr in twin["data"] if tr["type"] == "contour")
    assert heat["x0"] == pytest.approx(t[0]) and heat["y0"] == pytest.approx(t[0])
    assert heat["dx"] == pytest.approx(t[1] - t[0], rel=1e-5)
    assert decode(heat["z"]).dtype == np.uint8


def test_widget_draws_the_same_state(demo, twin):
    """The live widget, moved to W2[1, 0] + 3, shows the twin's stored maps."""
    params, X, y = demo
    w = fv.weight_explorer(params, X, y, resolution=R)
    w.dropdown.value = ("W2", (1, 0))
    w.slider.value = 3.0
    panels = [ax for ax in w.result.axes if ax.get_xlabel() == "$x_1$"]
    drawn = [np.asarray(ax.collections[0].get_array()).reshape(R, R) for ax in panels]
    state = _state(twin, "W2[1, 0]", "+3")
    assert sorted(state) == ["x4"]  # W2 moves only the output
    np.testing.assert_allclose(state["x4"]["z"] / 255, drawn[-1], atol=QUANT)
    # the hidden panels the widget draws are the twin's static ones
    static = [tr for tr in twin["data"] if tr["type"] == "contour"][-3:]
    for tr, values in zip(static, drawn[:3]):
        np.testing.assert_allclose(decode(tr["z"]) / 255, values, atol=QUANT)


def test_unchanged_panels_are_stored_once_and_hidden_when_redrawn(twin):
    data = twin["data"]
    n_static = 3 * 2 + 2          # three hidden panels (map + points), 2 legend keys
    static = list(range(len(data) - n_static, len(data)))
    buttons = twin["layout"]["updatemenus"][0]["buttons"]
    for button in buttons:
        label, visible = button["label"], button["args"][0]["visible"]
        shown = {data[i]["xaxis"] for i in range(len(data)) if visible[i]
                 and data[i]["type"] == "contour"}
        assert shown == {"x", "x2", "x3", "x4"}, label  # every panel, exactly once
        n_shown = sum(visible[i] and data[i]["type"] == "contour" for i in range(len(data)))
        assert n_shown == 4, label
        changed = label.startswith(("W1", "b1"))
        assert sum(not visible[i] for i in static) == (2 if changed else 0), label
    # the default (W1[0, 0], shift 0) shows hidden unit 1 from its own group
    assert [data[i].get("visible", True) for i in static[:2]] == [False, False]


def test_twin_is_small_enough_for_the_page(twin):
    # 13 parameters x 9 shifts of uint8 maps; the page's own HTML stays < 1 MB
    assert len(figure_json(twin)) < 300_000
    assert [s["label"] for s in twin["layout"]["sliders"][0]["steps"]] == \
        ["-4", "-3", "-2", "-1", "0", "+1", "+2", "+3", "+4"]
    assert twin["layout"]["sliders"][0]["active"] == 4  # opens at shift 0


def test_twin_png_is_the_widget_picture_at_the_default(demo):
    png = fv.twin_png(*demo)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
