"""backprop.data: XOR, two spirals, digits and the deterministic split."""

import numpy as np
import pytest

from backprop import data


def test_xor_is_the_truth_table():
    X, y = data.xor()
    assert X.shape == (4, 2) and y.shape == (4, 1)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert {tuple(r) for r in X} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(X[:, 0], X[:, 1]).astype(float))
    assert data.xor(dtype=np.float32)[0].dtype == np.float32


def test_spirals_shapes_labels_and_geometry():
    X, y = data.spirals(50, 0.0, np.random.default_rng(0))
    assert X.shape == (100, 2) and y.shape == (100,)
    assert y.dtype.kind == "i" and np.array_equal(np.bincount(y), [50, 50])
    # without noise: radius i / n, and class 1 is class 0 rotated by pi (x -> -x)
    r = np.hypot(X[:50, 0], X[:50, 1])
    np.testing.assert_allclose(r, np.arange(50) / 50, atol=1e-15)
    np.testing.assert_allclose(X[50:], -X[:50], atol=1e-15)
    # interleaved, not separable by a line through the origin: both classes on both sides
    for c in (0, 1):
        assert np.any(X[y == c, 0] > 0.1) and np.any(X[y == c, 0] < -0.1)


def test_spirals_noise_and_determinism():
    a = data.spirals(30, 0.2, np.random.default_rng(1))
    b = data.spirals(30, 0.2, np.random.default_rng(1))
    c = data.spirals(30, 0.2, np.random.default_rng(2))
    clean = data.spirals(30, 0.0, np.random.default_rng(1))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    # the noise has the requested scale: std of (noisy - clean) ~ 0.2 over 120 draws
    # (standard error of the std ~ 0.2 / sqrt(240) = 0.013; allow 0.05)
    assert np.std(a[0] - clean[0]) == pytest.approx(0.2, abs=0.05)


@pytest.mark.parametrize("n, noise, rng", [(0, 0.1, np.random.default_rng(0)),
                                           (5, -1.0, np.random.default_rng(0)),
                                           (5, 0.1, 0)])
def test_spirals_validates(n, noise, rng):
    with pytest.raises(ValueError):
        data.spirals(n, noise, rng)


def test_digits_normalisation():
    from sklearn.datasets import load_digits

    X, y = data.digits()
    raw = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, raw.data)  # exactly pixels / 16
    np.testing.assert_array_equal(y, raw.target)
    assert y.dtype.kind == "i" and set(np.unique(y)) == set(range(10))
    assert data.digits(dtype=np.float32)[0].dtype == np.float32


def test_train_test_split_is_deterministic_and_a_partition():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    Xtr, Xte, ytr, yte = data.train_test_split(X, y, test_fraction=0.25, seed=3)
    assert len(yte) == 5 and len(ytr) == 15
    assert sorted(np.concatenate([ytr, yte])) == list(range(20))
    np.testing.assert_array_equal(Xtr[:, 0], 2 * ytr)  # rows stay paired with labels
    again = data.train_test_split(X, y, test_fraction=0.25, seed=3)
    np.testing.assert_array_equal(again[3], yte)
    other = data.train_test_split(X, y, test_fraction=0.25, seed=4)
    assert not np.array_equal(other[3], yte)


def test_train_test_split_on_digits():
    X, y = data.digits()
    Xtr, Xte, ytr, yte = data.train_test_split(X, y, test_fraction=0.2, seed=0)
    assert Xtr.shape == (1438, 64) and Xte.shape == (359, 64)
    # every class appears in the test set of a random 20 % split of ~180 per class
    assert set(np.unique(yte)) == set(range(10))


@pytest.mark.parametrize("frac", [0.0, 1.0, 0.01])
def test_train_test_split_validates(frac):
    with pytest.raises(ValueError):
        data.train_test_split(np.zeros((10, 2)), np.zeros(10), test_fraction=frac)
    with pytest.raises(ValueError, match="rows"):
        data.train_test_split(np.zeros((10, 2)), np.zeros(9))
