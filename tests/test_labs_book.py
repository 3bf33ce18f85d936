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


def test_glue_text_glues_only_the_digits_it_prints(monkeypatch, capsys):
    import myst_nb
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    value = 0.1 + 0.2                      # 0.30000000000000004
    book.glue_text("a", value, ".3f")
    book.glue_text("b", 2.5e-16 * 3, ".1e")
    book.glue_text("c", 1084.4, ",.0f")
    book.glue_text("d", 0.4937, ".1%")
    book.glue_text("e", 12, "d")
    book.glue_text("s", "text", "s")
    assert glued == {"a": 0.3, "b": 7.5e-16, "c": 1084.0, "d": 0.494, "e": 12, "s": "text"}
    # formatting the glued value again, as the prose does, prints the same text
    from myst_nb.core.variables import format_plain_text
    assert format_plain_text(repr(glued["c"]), ",.0f") == "1,084"
    assert format_plain_text(repr(glued["d"]), ".1%") == "49.4%"


def test_glue_text_prints_the_value_as_the_prose_formats_it(capsys):
    book.glue_text("k", np.float64(0.000123456), ".2e", label="error")
    assert capsys.readouterr().out == "error: 1.23e-04\n"
    book.glue_text("n", np.int64(1084), ",")
    assert capsys.readouterr().out == "n: 1,084\n"
    with pytest.raises(TypeError, match="a number or a string"):
        book.glue_text("bad", [1, 2])
