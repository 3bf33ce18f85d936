"""backprop.labs.book: listings, printed glue values and rounding verdicts."""

import numpy as np
import pytest

from backprop.labs import book
from backprop.layers import dense_forward


def test_agreement_is_a_verdict_below_tolerance_and_the_number_above():
    assert book.agreement(2.5e-16) == "< 1e-12"
    assert book.agreement(0.0, tol=1e-9) == "< 1e-09"
    assert book.agreement(3e-9) == "3.0e-09 (NOT below 1e-12)"
    assert book.agreement(float("nan")).startswith("nan")


def test_show_source_displays_the_function_as_a_python_block(capsys, monkeypatch):
    shown = []
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    book.show_source(dense_forward)
    (md,) = shown
    assert md.data.startswith("```python\ndef dense_forward(x, W, b):")
    assert md.data.endswith("return out, (x, W)\n```")
    with pytest.raises(TypeError, match="functions or classes"):
        book.show_source(3)


def test_glue_text_glues_numpy_scalars_as_python_numbers(monkeypatch, capsys):
    import myst_nb
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    book.glue_text("x", np.float64(0.25), ".2f")
    book.glue_text("n", np.int64(7))
    assert type(glued["x"]) is float and type(glued["n"]) is int
    assert capsys.readouterr().out == "x: 0.25\nn: 7\n"


def test_glue_text_prints_the_value_as_the_prose_formats_it(capsys):
    book.glue_text("k", np.float64(0.000123456), ".2e", label="error")
    assert capsys.readouterr().out == "error: 1.23e-04\n"
    book.glue_text("n", np.int64(1084), ",")
    assert capsys.readouterr().out == "n: 1,084\n"
    with pytest.raises(TypeError, match="a number or a string"):
        book.glue_text("bad", [1, 2])
