"""Boundary behaviour: shape/rank validation, NaN policy, extreme values,
no mutation of inputs, dtype preservation, and the gradcheck utilities."""

import warnings

import numpy as np
import pytest
import torch

import torch_ref as T
from backprop.activations import (relu_backward, relu_forward, sigmoid,
                                  sigmoid_backward, sigmoid_forward,
                                  tanh_backward, tanh_forward)
from backprop.batchnorm import (batchnorm_backward, batchnorm_forward,
                                batchnorm_init_state)
from backprop.gradcheck import (gradient_check, numerical_gradient,
                                numerical_gradient_array, rel_error)
from backprop.layers import dense_backward, dense_forward
from backprop.losses import bce_with_logits, mse_loss, softmax_cross_entropy
from backprop.rnn import (rnn_backward, rnn_forward, rnn_step_backward,
                          rnn_step_forward)
from test_gradients import OPS

Z = np.zeros
ST3 = {"running_mean": Z(3), "running_var": np.ones(3)}


def _cache(fn, *args):
    return fn(*args)[1]


# (id, call, regex the message must match: names the received shape)
BAD_SHAPES = [
    ("dense x rank", lambda: dense_forward(Z(4), Z((4, 2)), Z(2)), r"x must have shape \(N, D\); got x of shape \(4,\)"),
    ("dense W rows", lambda: dense_forward(Z((3, 4)), Z((5, 2)), Z(2)), r"W must have shape \(D, M\) = \(4, M\) to match x of shape \(3, 4\); got W of shape \(5, 2\)"),
    ("dense W rank", lambda: dense_forward(Z((3, 4)), Z((4, 2, 1)), Z(2)), r"got W of shape \(4, 2, 1\)"),
    ("dense b", lambda: dense_forward(Z((3, 4)), Z((4, 2)), Z(3)), r"b must have shape \(M,\) = \(2,\).*got b of shape \(3,\)"),
    ("dense b rank", lambda: dense_forward(Z((3, 4)), Z((4, 2)), Z((1, 2))), r"got b of shape \(1, 2\)"),
    ("dense_backward dout", lambda: dense_backward(Z((3, 3)), _cache(dense_forward, Z((3, 4)), Z((4, 2)), Z(2))), r"dout must have shape \(N, M\) = \(3, 2\).*got dout of shape \(3, 3\)"),
    ("dense_backward cache", lambda: dense_backward(Z((3, 2)), (1, 2, 3)), r"cache must be the cache returned by dense_forward"),
    ("sigmoid dtype", lambda: sigmoid(np.array(["a"])), r"dtype <U1"),
    ("sigmoid_backward dout", lambda: sigmoid_backward(Z((2, 3)), _cache(sigmoid_forward, Z((3, 2)))), r"dout must have the shape of the forward output, \(3, 2\); got dout of shape \(2, 3\)"),
    ("tanh_backward dout", lambda: tanh_backward(Z(4), _cache(tanh_forward, Z((4, 1)))), r"\(4, 1\); got dout of shape \(4,\)"),
    ("relu_backward dout", lambda: relu_backward(Z((2, 2, 2)), _cache(relu_forward, Z((2, 2)))), r"\(2, 2\); got dout of shape \(2, 2, 2\)"),
    ("mse shapes", lambda: mse_loss(Z((3, 2)), Z((3,))), r"y must have the shape of pred, \(3, 2\); got y of shape \(3,\)"),
    ("ce logits rank", lambda: softmax_cross_entropy(Z(3), np.array([0, 1, 2])), r"logits must have shape \(N, C\); got logits of shape \(3,\)"),
    ("ce y shape", lambda: softmax_cross_entropy(Z((3, 4)), np.array([0, 1])), r"y must have shape \(N,\) = \(3,\).*got y of shape \(2,\)"),
    ("ce y rank", lambda: softmax_cross_entropy(Z((3, 4)), np.zeros((3, 1), int)), r"got y of shape \(3, 1\)"),
    ("ce y range high", lambda: softmax_cross_entropy(Z((3, 4)), np.array([0, 4, 1])), r"\[0, 4\).*got values in \[0, 4\]"),
    ("ce y range low", lambda: softmax_cross_entropy(Z((3, 4)), np.array([0, -1, 1])), r"got values in \[-1, 1\]"),
    ("ce y float", lambda: softmax_cross_entropy(Z((3, 4)), np.array([0.0, 1.0, 2.0])), r"integer class indices; got dtype float64"),
    ("bce shapes", lambda: bce_with_logits(Z((3, 1)), Z((3,))), r"y must have the shape of logits, \(3, 1\); got y of shape \(3,\)"),
    ("bn x rank", lambda: batchnorm_forward(Z((2, 3, 1)), Z(3), Z(3), ST3), r"x must have shape \(N, D\); got x of shape \(2, 3, 1\)"),
    ("bn gamma", lambda: batchnorm_forward(Z((4, 3)), Z(2), Z(3), ST3), r"gamma must have shape \(D,\) = \(3,\) to match x of shape \(4, 3\); got gamma of shape \(2,\)"),
    ("bn beta rank", lambda: batchnorm_forward(Z((4, 3)), Z(3), Z((3, 1)), ST3), r"got beta of shape \(3, 1\)"),
    ("bn state", lambda: batchnorm_forward(Z((4, 3)), Z(3), Z(3), {"running_mean": Z(3), "running_var": Z(4)}), r"running_var'\] must have shape \(D,\) = \(3,\).*of shape \(4,\)"),
    ("bn state keys", lambda: batchnorm_forward(Z((4, 3)), Z(3), Z(3), {"mean": Z(3)}), r"state must be a dict with keys"),
    ("bn_backward dout", lambda: batchnorm_backward(Z((4, 2)), batchnorm_forward(Z((4, 3)), Z(3), Z(3), ST3)[1]), r"\(4, 3\); got dout of shape \(4, 2\)"),
    ("bn init D", lambda: batchnorm_init_state(0), r"D must be a positive int"),
    ("rnn_step x rank", lambda: rnn_step_forward(Z(3), Z((1, 2)), Z((3, 2)), Z((2, 2)), Z(2)), r"x must have shape \(N, D\); got x of shape \(3,\)"),
    ("rnn_step Wx", lambda: rnn_step_forward(Z((1, 3)), Z((1, 2)), Z((4, 2)), Z((2, 2)), Z(2)), r"Wx must have shape \(D, H\) = \(3, H\) to match x of shape \(1, 3\); got Wx of shape \(4, 2\)"),
    ("rnn_step Wh", lambda: rnn_step_forward(Z((1, 3)), Z((1, 2)), Z((3, 2)), Z((2, 3)), Z(2)), r"Wh must have shape \(H, H\) = \(2, 2\).*got Wh of shape \(2, 3\)"),
    ("rnn_step b", lambda: rnn_step_forward(Z((1, 3)), Z((1, 2)), Z((3, 2)), Z((2, 2)), Z(3)), r"b must have shape \(H,\) = \(2,\).*got b of shape \(3,\)"),
    ("rnn_step h_prev", lambda: rnn_step_forward(Z((1, 3)), Z((2, 2)), Z((3, 2)), Z((2, 2)), Z(2)), r"h_prev must have shape \(N, H\) = \(1, 2\).*got h_prev of shape \(2, 2\)"),
    ("rnn_step_backward dh", lambda: rnn_step_backward(Z((1, 3)), rnn_step_forward(Z((1, 3)), Z((1, 2)), Z((3, 2)), Z((2, 2)), Z(2))[1]), r"\(1, 2\); got dh of shape \(1, 3\)"),
    ("rnn x rank", lambda: rnn_forward(Z((2, 3)), Z((2, 2)), Z((3, 2)), Z((2, 2)), Z(2)), r"x must have shape \(N, T, D\); got x of shape \(2, 3\)"),
    ("rnn h0", lambda: rnn_forward(Z((2, 4, 3)), Z((2, 4, 2)), Z((3, 2)), Z((2, 2)), Z(2)), r"h0 must have shape \(N, H\) = \(2, 2\).*got h0 of shape \(2, 4, 2\)"),
    ("rnn Wx", lambda: rnn_forward(Z((2, 4, 3)), Z((2, 2)), Z((2, 2)), Z((2, 2)), Z(2)), r"Wx must have shape \(D, H\) = \(3, H\).*got Wx of shape \(2, 2\)"),
    ("rnn_backward dh", lambda: rnn_backward(Z((2, 2)), rnn_forward(Z((2, 4, 3)), Z((2, 2)), Z((3, 2)), Z((2, 2)), Z(2))[1]), r"\(2, 4, 2\); got dh of shape \(2, 2\)"),
    ("rnn_backward truncate", lambda: rnn_backward(Z((1, 2, 2)), rnn_forward(Z((1, 2, 3)), Z((1, 2)), Z((3, 2)), Z((2, 2)), Z(2))[1], truncate=0), r"truncate must be None or an int >= 1; got 0"),
    ("rel_error shapes", lambda: rel_error(Z((2, 3)), Z((3, 2))), r"got a of shape \(2, 3\) and b of shape \(3, 2\)"),
    ("numgrad float32", lambda: numerical_gradient(lambda v: v.sum(), Z(3, np.float32)), r"float64 NumPy array.*float32"),
    ("numgrad_array shape", lambda: numerical_gradient_array(lambda v: v, Z(3), Z(4)), r"shape of dout, \(4,\); got f\(x\) of shape \(3,\)"),
    ("sigmoid_forward complex", lambda: sigmoid_forward(Z(3, complex)), r"real floating-point array; got dtype complex128"),
    ("tanh_forward complex", lambda: tanh_forward(Z(3, complex)), r"got dtype complex128"),
    ("relu_forward object", lambda: relu_forward(np.array([None])), r"got dtype object"),
    ("dense x complex", lambda: dense_forward(Z((3, 4), complex), Z((4, 2)), Z(2)), r"x must be a real floating-point array"),
    ("mse rank", lambda: mse_loss(Z((2, 3)), Z((2, 3, 1))), r"got y of shape \(2, 3, 1\)"),
    ("mse empty", lambda: mse_loss(Z((0, 3)), Z((0, 3))), r"pred must not be empty; got pred of shape \(0, 3\)"),
    ("bce rank", lambda: bce_with_logits(Z(4), Z((1, 4))), r"\(4,\); got y of shape \(1, 4\)"),
    ("ce empty batch", lambda: softmax_cross_entropy(Z((0, 3)), np.zeros(0, int)), r"N >= 1.*\(0, 3\)"),
    ("bn momentum", lambda: batchnorm_forward(Z((4, 3)), Z(3), Z(3), ST3, momentum=1.5), r"momentum must be in \[0, 1\]; got 1.5"),
    ("bn eps", lambda: batchnorm_forward(Z((4, 3)), Z(3), Z(3), ST3, eps=0.0), r"eps must be > 0"),
    ("numgrad h", lambda: numerical_gradient(lambda v: v.sum(), Z(3), h=0.0), r"h must be > 0"),
    ("numgrad scalar f", lambda: numerical_gradient(lambda v: v, Z(3)), r"f must return a scalar; got an array of shape \(3,\)"),
    ("gradient_check dout", lambda: gradient_check(dense_forward, dense_backward, [Z((2, 3)), Z((3, 4)), Z(4)], dout=Z((4, 2))), r"dout must have the shape of the forward output, \(2, 4\); got dout of shape \(4, 2\)"),
    ("gradient_check too few grads", lambda: gradient_check(dense_forward, lambda d, c: dense_backward(d, c)[:2], [Z((2, 3)), Z((3, 4)), Z(4)]), r"backward returned 2 gradients for 3 inputs"),
    ("gradient_check inputs", lambda: gradient_check(dense_forward, dense_backward, 3), r"inputs must be a dict or a list"),
]


@pytest.mark.parametrize("call, pattern", [pytest.param(c, p, id=i) for i, c, p in BAD_SHAPES])
def test_bad_inputs_raise_value_error_naming_shapes(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- NaN policy: NaN lands exactly where torch puts it, silently -----------

@pytest.mark.parametrize("op", [pytest.param(op, id=op[0]) for op in OPS])
def test_nan_propagates_like_torch(op):
    name, forward, backward, torch_fn, gen, shapes = op
    shape = max(shapes, key=lambda s: np.prod(s))
    inputs, const = gen(np.random.default_rng(7), shape)
    first = next(iter(inputs))
    inputs[first] = inputs[first].copy()
    inputs[first].flat[0] = np.nan
    dout = np.random.default_rng(8).standard_normal
    with warnings.catch_warnings(), np.errstate(divide="raise", over="raise", invalid="raise"):
        warnings.simplefilter("error")
        out, cache = forward(**inputs, **const)
        d = dout(np.shape(out))
        grads = backward(d, cache)
    t_out, t_grads = T.vjp(torch_fn, {**inputs, **const}, d, wrt=list(inputs))
    assert np.isnan(out).any()                      # the NaN did arrive somewhere
    np.testing.assert_array_equal(np.isnan(out), np.isnan(t_out))
    for k, g in zip(inputs, grads):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(t_grads[k]), err_msg=f"d{k}")
        # and where torch is finite we agree with it
        fin = ~np.isnan(t_grads[k])
        assert rel_error(np.asarray(g)[fin], t_grads[k][fin]) < 1e-9, k


# --- extreme values -----------------------------------------------------------

@pytest.mark.parametrize("scale", [1e4, -1e4, 1e3])
def test_extreme_logits_softmax_ce_equal_torch(scale):
    rng = np.random.default_rng(0)
    logits = scale * np.sign(rng.standard_normal((6, 5)))   # ties and 2e4 gaps
    logits[0] = [scale, -scale, 0, scale, -scale]
    y = np.array([0, 1, 2, 3, 4, 0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dlogits = softmax_cross_entropy(logits, y)
    t_out, t_grads = T.vjp(lambda logits, y: T.softmax_ce(logits, y), {"logits": logits, "y": y}, 1.0, wrt=["logits"])
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert loss > abs(scale) / 10   # confidently wrong rows cost ~|scale|: not a silent 0
    assert rel_error(loss, t_out) < 1e-12
    assert rel_error(dlogits, t_grads["logits"]) < 1e-12


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_extreme_logits_bce_equal_torch(scale):
    rng = np.random.default_rng(1)
    logits = scale * np.sign(rng.standard_normal((4, 3)))
    y = rng.integers(0, 2, (4, 3)).astype(float)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dlogits = bce_with_logits(logits, y)
    t_out, t_grads = T.vjp(T.bce, {"logits": logits, "y": y}, 1.0, wrt=["logits"])
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert rel_error(loss, t_out) < 1e-12
    assert rel_error(dlogits, t_grads["logits"]) < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extremes_no_warning(dtype):
    x = np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = sigmoid(x)
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
    # Reference in float64 (torch's float32 sigmoid flushes sigmoid(-100) =
    # 3.7e-44 to 0; ours keeps the subnormal, closer to the truth).
    ref = torch.sigmoid(torch.tensor(x, dtype=torch.float64)).numpy()
    assert s.dtype == dtype
    np.testing.assert_allclose(s, ref, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=1e-44)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert np.isfinite(dx).all() and dx[0] == 0.0 and dx[3] == 0.25


# --- no mutation ----------------------------------------------------------------

@pytest.mark.parametrize("op", [pytest.param(op, id=op[0]) for op in OPS])
def test_pairs_do_not_mutate_inputs(op):
    name, forward, backward, _, gen, shapes = op
    inputs, const = gen(np.random.default_rng(9), shapes[-1])
    everything = {**inputs, **const}
    before = {k: np.array(v, copy=True) for k, v in everything.items()}
    out, cache = forward(**inputs, **const)
    dout = np.random.default_rng(1).standard_normal(np.shape(out))
    dout_before = dout.copy()
    backward(dout, cache)
    backward(dout, cache)           # a second backward must see an intact cache
    for k, v in everything.items():
        np.testing.assert_array_equal(v, before[k], err_msg=f"{name} modified {k}")
    np.testing.assert_array_equal(dout, dout_before, err_msg=f"{name} modified dout")


def test_second_backward_gives_the_same_gradients():
    for name, forward, backward, _, gen, shapes in OPS:
        inputs, const = gen(np.random.default_rng(2), shapes[-1])
        out, cache = forward(**inputs, **const)
        dout = np.random.default_rng(3).standard_normal(np.shape(out))
        g1 = [np.array(g, copy=True) for g in backward(dout, cache)]
        g2 = backward(dout, cache)
        for a, b in zip(g1, g2):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_batchnorm_state_is_never_mutated():
    rng = np.random.default_rng(4)
    state = {"running_mean": rng.standard_normal(3), "running_var": rng.uniform(1, 2, 3)}
    snap = {k: v.copy() for k, v in state.items()}
    for train in (True, False):
        _, _, new = batchnorm_forward(rng.standard_normal((5, 3)), np.ones(3), np.zeros(3), state, train=train)
        for k in state:
            np.testing.assert_array_equal(state[k], snap[k])
            assert not np.shares_memory(new[k], state[k])


def test_gradcheck_utilities_do_not_mutate():
    a, b = np.array([1.0, -2.0]), np.array([1.5, -2.0])
    rel_error(a, b)
    np.testing.assert_array_equal(a, [1.0, -2.0])
    np.testing.assert_array_equal(b, [1.5, -2.0])
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    xs = x.copy()
    gradient_check(lambda v: (v ** 2, v), lambda d, c: 2 * c * d, [x])
    numerical_gradient(lambda v: (v ** 3).sum(), x)
    numerical_gradient_array(lambda v: v ** 3, x, np.ones_like(x))
    assert x.tobytes() == xs.tobytes()       # restored bit for bit


# --- dtype ---------------------------------------------------------------------

@pytest.mark.parametrize("op", [pytest.param(op, id=op[0]) for op in OPS])
def test_float32_in_float32_out(op):
    name, forward, backward, _, gen, shapes = op
    inputs, const = gen(np.random.default_rng(5), shapes[-1])
    # arrays become float32; scalars (a dropout probability) stay Python numbers
    f32 = lambda d: {k: (v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                         else v) for k, v in d.items()}
    out, cache = forward(**f32(inputs), **f32(const))
    assert np.asarray(out).dtype == np.float32, name
    dout = np.ones(np.shape(out), np.float32)
    for g in backward(dout, cache):
        assert np.asarray(g).dtype == np.float32, name


def test_integer_inputs_become_float64():
    out, _ = relu_forward(np.array([-1, 2]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.0, 2.0])


# --- gradcheck ------------------------------------------------------------------

def test_rel_error_edge_cases():
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    assert rel_error(np.array([0.0, 1.0]), np.array([0.0, 3.0])) == 0.5   # 2 / 4
    assert rel_error(np.array([0.0]), np.array([1e-300])) == 1.0
    assert rel_error(np.array([np.nan]), np.array([1.0])) == np.inf        # never NaN
    assert rel_error(np.array([np.nan]), np.array([np.nan])) == np.inf
    assert rel_error(np.array([np.inf]), np.array([np.inf])) == 0.0
    assert rel_error(np.array([np.inf]), np.array([-np.inf])) == np.inf
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(3), np.zeros((3, 1)))      # no broadcasting


def test_numerical_gradient_known_derivative():
    x = np.array([[0.5, -1.5], [2.0, 0.1]])
    g = numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert rel_error(g, 3 * x ** 2) < 1e-8
    dout = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient_array(np.sin, x, dout)
    assert rel_error(g, np.cos(x) * dout) < 1e-8


def test_numerical_gradient_raises_on_non_finite_and_restores():
    x = np.array([0.25, 1.0, 3.0])
    xs = x.copy()
    with pytest.raises(ValueError, match="non-finite"):
        numerical_gradient(lambda v: np.nan if v[1] > 1.0 else v.sum(), x)
    assert x.tobytes() == xs.tobytes()

    def boom(v):
        if v[2] != 3.0:
            raise RuntimeError("f failed")
        return v.sum()
    with pytest.raises(RuntimeError, match="f failed"):
        numerical_gradient(boom, x)
    assert x.tobytes() == xs.tobytes()
    with pytest.raises(ValueError, match="non-finite"):
        numerical_gradient_array(lambda v: v * np.inf, x, np.ones(3))
    assert x.tobytes() == xs.tobytes()


def test_gradient_check_catches_missing_batch_sum_and_reports_worst_index():
    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 5)),
              "b": rng.standard_normal(5)}
    dout = rng.standard_normal((4, 5))

    def bad_backward(d, cache):           # forgets to sum db over the batch
        dx, dW, _ = dense_backward(d, cache)
        return dx, dW, d[0]

    good = gradient_check(dense_forward, dense_backward, inputs, dout=dout)
    assert good.passed and bool(good)
    assert good.max_rel_error < 1e-7
    res = gradient_check(dense_forward, bad_backward, inputs, dout=dout)
    assert not res.passed and not bool(res)
    assert res["x"].passed and res["W"].passed and not res["b"].passed
    # The worst element, computed independently of the checker.
    true_db = dout.sum(axis=0)
    err = np.abs(dout[0] - true_db) / (np.abs(dout[0]) + np.abs(true_db))
    worst = int(np.argmax(err))
    assert res["b"].index == (worst,)
    assert res["b"].analytic == pytest.approx(dout[0, worst])
    assert res["b"].numeric == pytest.approx(true_db[worst], rel=1e-7)
    text = str(res)
    assert "FAIL" in text and f"b[{worst}]" in text and repr(res) == text


def test_gradient_check_single_wrong_element_and_list_inputs():
    def fwd(x):
        return np.tanh(x), np.tanh(x)

    def bwd_off_by_one_element(d, t):
        g = d * (1 - t ** 2)
        g[1, 2] *= 1.01
        return g

    x = np.random.default_rng(3).standard_normal((3, 4))
    res = gradient_check(fwd, bwd_off_by_one_element, [x])
    assert not res.passed
    assert res["x0"].index == (1, 2)
    assert "x0[1, 2]" in str(res)
    assert res["x0"].rel_error == pytest.approx(0.01 / 2.01, rel=1e-5)


def test_gradient_check_on_a_loss_and_non_finite_forward():
    y = np.array([0, 2, 1])
    logits = np.random.default_rng(6).standard_normal((3, 3))
    res = gradient_check(lambda z: softmax_cross_entropy(z, y), lambda d, c: d * c, [logits])
    assert res.passed, str(res)
    with pytest.raises(ValueError, match="non-finite"):
        gradient_check(lambda v: (v / 0.0 if False else v * np.nan, None), lambda d, c: d, [np.ones(2)])


def test_activations_and_losses_accept_scalars():
    """0-d inputs work (no in-place ufunc on a NumPy scalar)."""
    for fwd, bwd, ref in [(sigmoid_forward, sigmoid_backward, torch.sigmoid),
                          (tanh_forward, tanh_backward, torch.tanh),
                          (relu_forward, relu_backward, torch.relu)]:
        xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        out_t = ref(xt)
        out_t.backward(torch.tensor(-1.5, dtype=torch.float64))
        out, cache = fwd(0.7)
        assert rel_error(out, out_t.item()) < 1e-15
        assert rel_error(bwd(-1.5, cache), xt.grad.item()) < 1e-15
    assert rel_error(sigmoid(-0.7), 1 / (1 + np.exp(0.7))) < 1e-15
    loss, d = bce_with_logits(0.3, 1.0)
    assert rel_error(loss, np.log1p(np.exp(-0.3))) < 1e-15


def test_dense_backward_can_skip_input_gradient():
    rng = np.random.default_rng(11)
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    out, cache = dense_forward(x, W, b)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = dense_backward(dout, cache)
    none, dW2, db2 = dense_backward(dout, cache, input_grad=False)
    assert none is None and dx is not None
    np.testing.assert_array_equal(dW, dW2)
    np.testing.assert_array_equal(db, db2)
