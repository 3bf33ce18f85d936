"""Small data sets for the book: XOR, two spirals, and 8x8 handwritten digits.

Everything is generated locally or read from scikit-learn's bundled copy, so
no function here downloads anything. Shapes: X (N, D) features, y labels.
"""

import numpy as np

__all__ = ["xor", "spirals", "digits", "train_test_split"]


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a np.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )


def xor(dtype=np.float64):
    """The four points of XOR: X (4, 2) in {0, 1}^2, y (4, 1) = x1 XOR x2.

    No line separates the two classes, so a network without a hidden layer
    cannot fit it; y is (4, 1) float to match a single-output MSE or BCE.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([[0], [1], [1], [0]], dtype=dtype)
    return X, y


def spirals(n_per_class, noise, rng, turns=1.5, dtype=np.float64):
    """Two interleaved spirals in the plane: X (2 n, 2), y (2 n,) int in {0, 1}.

    Point i of class c sits at radius r_i = i / n (from 0 to almost 1) and
    angle r_i * 2 pi * turns + c pi, so the second spiral is the first one
    rotated by half a turn; Gaussian noise of standard deviation ``noise``
    is added to both coordinates. Rows are ordered class 0 then class 1.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    _check_rng(rng)
    n = int(n_per_class)
    r = np.arange(n) / n  # (n,)
    X, y = [], []
    for c in (0, 1):
        angle = r * 2 * np.pi * turns + c * np.pi  # (n,)
        points = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)  # (n, 2)
        X.append(points + noise * rng.standard_normal((n, 2)))
        y.append(np.full(n, c, dtype=np.int64))
    return np.concatenate(X).astype(dtype), np.concatenate(y)


def digits(dtype=np.float64):
    """scikit-learn's bundled 8x8 digits: X (1797, 64) in [0, 1], y (1797,) int in 0..9.

    Normalisation: the raw pixels are integers 0..16 (counts of set pixels in
    4x4 blocks of the original 32x32 bitmaps), so X = pixels / 16 maps them to
    [0, 1] with the same scale for every pixel and no statistics estimated from
    the data (hence nothing leaks from a test split). Row k reshaped to (8, 8)
    is the image.
    """
    from sklearn.datasets import load_digits  # local import: sklearn is slow to import

    bunch = load_digits()
    X = (bunch.data / 16.0).astype(dtype)
    y = bunch.target.astype(np.int64)
    return X, y


def train_test_split(X, y, test_fraction=0.2, seed=0):
    """Deterministic shuffled split: returns (X_train, X_test, y_train, y_test).

    The same ``seed`` always gives the same split (a fresh
    ``np.random.default_rng(seed)`` permutes the rows); round(N *
    test_fraction) rows go to the test set, at least one row to each side.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows N, got shapes {X.shape} and {y.shape}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    N = X.shape[0]
    n_test = int(round(N * test_fraction))
    if n_test < 1 or n_test > N - 1:
        raise ValueError(
            f"test_fraction={test_fraction} of N={N} rows leaves {n_test} test rows; "
            "need at least one row on each side"
        )
    perm = np.random.default_rng(seed).permutation(N)
    test, train = perm[:n_test], perm[n_test:]
    return X[train], X[test], y[train], y[test]
