"""One look for every figure of the book.

XOR and other two-class data sets are drawn the same way in every chapter:
target 0 is an open circle, target 1 a filled square, both black-edged so
they stay visible on the red-blue colour maps of the decision surfaces.
"""

import io

import numpy as np

__all__ = ["TARGET_MARKERS", "scatter_targets", "png_bytes"]

TARGET_MARKERS = {
    0: dict(marker="o", facecolors="white", edgecolors="black", label="target 0"),
    1: dict(marker="s", facecolors="black", edgecolors="black", label="target 1"),
}


def scatter_targets(ax, X, y, s=60, zorder=3):
    """Scatter the points ``X`` (N, 2) with the marker of their target ``y`` (N,) or (N, 1).

    A target above 0.5 counts as 1. Each class present gets a legend label.
    """
    X = np.asarray(X)
    labels = np.asarray(y).reshape(len(X)) > 0.5
    for target, mask in ((0, ~labels), (1, labels)):
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], s=s, zorder=zorder, linewidths=1.2,
                       **TARGET_MARKERS[target])


def png_bytes(fig, dpi=100):
    """The figure as PNG bytes, for a widget's ``ipywidgets.Image``; closes it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
