"""What every chapter uses to show the package's code and its own numbers.

A chapter is read in two places: the built HTML book and JupyterLab. Both
must show the same listings, numbers and figures, so each of them is a cell
*output* (JupyterLab renders it, nbval keeps it fresh), never something only
the book builder can resolve:

* :func:`show_source` prints a package function's source as a Markdown code
  block: JupyterLab and the book both render it with syntax highlighting.
  Tag the cell ``remove-input`` so the book shows only the listing.
* :func:`glue_text` glues a value for ``{glue:text}`` in the prose *and*
  prints it, formatted as the prose formats it, in the cell's output.
* :func:`agreement` turns a rounding-level error into a verdict against a
  stated tolerance, so a stored output does not depend on the CPU, the BLAS
  kernel or the thread count (nbval compares it on other machines).
"""

from __future__ import annotations

import inspect

__all__ = ["show_source", "glue_text", "agreement"]


def show_source(*functions) -> None:
    """Display the source of each function (or class) as a Python code block."""
    from IPython.display import Markdown, display

    for f in functions:
        if not callable(f):
            raise TypeError(f"show_source expects functions or classes; got {type(f).__name__}")
        code = inspect.getsource(f).rstrip()
        display(Markdown(f"```python\n{code}\n```"))


def glue_text(name: str, value, fmt: str = "", label: str | None = None) -> None:
    """Glue ``value`` under ``name`` and print ``label: value`` formatted by ``fmt``.

    ``fmt`` is the format spec the prose uses, ``{glue:text}`name:fmt```, so
    the number a JupyterLab reader sees in the output is the one the book
    prints in the sentence. ``label`` defaults to ``name``.
    """
    from myst_nb import glue

    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        # NumPy scalars (np.float64 is also a float) have reprs such as
        # np.float64(0.5) that glue's formatting cannot parse: use the Python value
        value = value.item()
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"glue_text expects a number or a string; got {type(value).__name__}")
    text = format(value, fmt)
    glue(name, _as_displayed(value, text, fmt), display=False)
    print(f"{label or name}: {text}")


def _as_displayed(value, text, fmt):
    """The number as ``text`` shows it, so the glued value (which nbval
    compares too) holds only the digits the page prints, not the last bits
    that vary with the CPU. Strings and unformatted values are kept."""
    if isinstance(value, str) or not fmt or fmt[-1] not in "eEfFgG%d":
        return value
    digits = text.replace(",", "").replace("_", "").strip()
    if fmt.endswith("%"):
        return float(digits.rstrip("%")) / 100
    return int(digits) if fmt.endswith("d") else float(digits)


def agreement(err: float, tol: float = 1e-12) -> str:
    """``"< 1e-12"`` when ``err < tol``, else the error itself, flagged.

    Agreement at rounding level has digits that depend on the machine; only
    the verdict is stable. A failure prints the number, so a stored output
    that says ``< 1e-12`` cannot hide it.
    """
    err = float(err)
    if err < tol:
        return f"< {tol:.0e}"
    return f"{err:.1e} (NOT below {tol:.0e})"
