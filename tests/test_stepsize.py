"""Tests for backprop.labs.stepsize: the error of a difference quotient against h.

Expected values come from Taylor's theorem (exp has every derivative equal to
e at x = 1), not from the code's own output.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from backprop.labs.stepsize import (
    best_step,
    difference_quotient,
    error_model,
    plot_step_size,
    step_size_errors,
    theoretical_best_step,
)

E = np.e  # f = exp, x = 1: f = f' = f'' = f''' = e
HS = np.logspace(-12, 0, 121)


def test_central_truncation_is_h_squared_over_six():
    # Taylor: (f(x+h) - f(x-h)) / 2h = f' + h^2 f'''/6 + O(h^4).
    for h in (1e-1, 3e-2, 1e-2):
        err = difference_quotient(np.exp, 1.0, h, "central") - E
        assert err == pytest.approx(h**2 * E / 6, rel=2e-3)


def test_forward_truncation_is_h_over_two():
    # Taylor: (f(x+h) - f(x)) / h = f' + h f''/2 + O(h^2).
    for h in (1e-3, 1e-4):
        err = difference_quotient(np.exp, 1.0, h, "forward") - E
        assert err == pytest.approx(h * E / 2, rel=2e-3)


def test_log_log_slopes_are_two_and_one():
    hs = np.array([1e-1, 1e-2])
    for method, slope in (("central", 2.0), ("forward", 1.0)):
        err = step_size_errors(np.exp, E, 1.0, hs, method)
        measured = np.log10(err[0] / err[1])
        assert measured == pytest.approx(slope, abs=0.05)


def test_arithmetic_really_happens_in_float32():
    # At h = 1e-9 the float32 sum 1 + h rounds to 1: the quotient is exactly 0.
    assert difference_quotient(np.exp, 1.0, 1e-9, "central", np.float32) == 0.0
    assert difference_quotient(np.exp, 1.0, 1e-9, "central", np.float64) == pytest.approx(E, rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["central", "forward"])
def test_best_step_is_near_theory(dtype, method):
    err = step_size_errors(np.exp, E, 1.0, HS, method, dtype)
    h_best, e_best = best_step(HS, err)
    h_theory = theoretical_best_step(dtype, method, f0=E, fk=E)
    # The model is a bound and round-off is random-ish: within a factor 10.
    assert h_theory / 10 < h_best < h_theory * 10
    # ... and the error reached is no worse than the model predicts at its optimum.
    assert e_best <= 1.5 * error_model([h_theory], dtype, method, E, E)[0]


def test_central_beats_forward_and_float64_beats_float32():
    best = {
        (m, d): best_step(HS, step_size_errors(np.exp, E, 1.0, HS, m, d))[1]
        for m in ("central", "forward")
        for d in (np.float32, np.float64)
    }
    assert best["central", np.float64] < best["forward", np.float64] / 100
    assert best["central", np.float32] < best["forward", np.float32]
    assert best["central", np.float64] < best["central", np.float32] / 1e4


def test_theoretical_best_step_minimises_the_model():
    for dtype in (np.float32, np.float64):
        for method in ("central", "forward"):
            h = theoretical_best_step(dtype, method, f0=2.0, fk=3.0)
            e = error_model([h * 0.9, h, h * 1.1], dtype, method, 2.0, 3.0)
            assert e[1] < e[0] and e[1] < e[2]
    # The orders: eps^(1/3) and eps^(1/2).
    eps = np.finfo(np.float64).eps
    assert theoretical_best_step(np.float64, "central") == pytest.approx((1.5 * eps) ** (1 / 3))
    assert theoretical_best_step(np.float64, "forward") == pytest.approx(2 * np.sqrt(eps / 2))


def test_agrees_with_package_numerical_gradient():
    from backprop import gradcheck
    x = np.array([1.0])
    num = gradcheck.numerical_gradient(lambda v: float(np.exp(v).sum()), x, h=1e-5)
    assert num[0] == pytest.approx(difference_quotient(np.exp, 1.0, 1e-5, "central"), rel=1e-9)


def test_validation():
    with pytest.raises(ValueError, match="method"):
        difference_quotient(np.exp, 1.0, 1e-3, "backward")
    with pytest.raises(ValueError, match="dtype"):
        difference_quotient(np.exp, 1.0, 1e-3, "central", np.int64)
    with pytest.raises(ValueError, match="positive"):
        difference_quotient(np.exp, 1.0, 0.0)
    with pytest.raises(ValueError, match="hs"):
        step_size_errors(np.exp, E, 1.0, [1e-3, -1e-3])
    with pytest.raises(ValueError, match="shape"):
        best_step([1.0, 2.0], [1.0])


def test_plot_has_log_axes_title_and_labels():
    err = step_size_errors(np.exp, E, 1.0, HS, "central")
    fig = plot_step_size(HS, {"float64": err}, {"model": error_model(HS, np.float64, "central", E, E)})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 2
    plt.close(fig)


def test_array_of_points_gives_mean_error():
    xs = np.array([0.5, 1.0, 1.5])
    h = 1e-2
    per_point = [abs(difference_quotient(np.exp, x, h) - np.exp(x)) for x in xs]
    err = step_size_errors(np.exp, np.exp(xs), xs, [h])
    assert err[0] == pytest.approx(np.mean(per_point), rel=1e-12)
    # Taylor again, pointwise: h^2 e^x / 6.
    assert err[0] == pytest.approx(np.mean(h**2 * np.exp(xs) / 6), rel=2e-3)
    with pytest.raises(ValueError, match="dfdx"):
        step_size_errors(np.exp, np.exp(xs[:2]), xs, [h])
    with pytest.raises(ValueError, match="keep the dtype"):
        difference_quotient(lambda v: v.astype(np.float64), 1.0, 1e-3, "central", np.float32)


def test_plot_colours_each_model_like_its_curve_and_keeps_the_curves_in_view():
    err = step_size_errors(np.exp, E, 1.0, HS, "central", np.float32)
    model = error_model(HS, np.float32, "central", E, E)
    fig = plot_step_size(HS, {"float32 central": err},
                         {"model, float32 central": model, "unrelated model": model})
    ax = fig.axes[0]
    by_label = {line.get_label(): line for line in ax.get_lines()}
    assert by_label["model, float32 central"].get_color() == by_label["float32 central"].get_color()
    assert by_label["unrelated model"].get_color() == "0.4"
    # The model rises to ~1e5 at h = 1e-12; the axis follows the measured curve instead.
    assert model.max() > 1e4
    lo, hi = ax.get_ylim()
    assert lo <= err.min() and err.max() <= hi < 1e4 * err.max()
    plt.close(fig)
