"""backprop.labs.explore: typed arrays, grid figures, the display bundle,
and the book extension's one silenced warning."""

from __future__ import annotations

import base64
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop.labs import explore

ROOT = Path(__file__).resolve().parents[1]


def test_typed_arrays_round_trip():
    v = np.array([0.1, -2.5, 3e5])
    f4 = explore.typed_array(v)
    assert f4["dtype"] == "f4" and "shape" not in f4
    np.testing.assert_array_equal(explore.decode(f4), v.astype(np.float32))
    grid = np.linspace(0, 1, 6).reshape(2, 3)
    u1 = explore.typed_array(explore.Quantised(grid, 0.0, 1.0))
    assert u1["dtype"] == "u1" and u1["shape"] == "2, 3"
    np.testing.assert_array_equal(explore.decode(u1), np.rint(grid * 255))
    tiny = explore.typed_array(explore.Rounded(np.array([7.123456e-49, 1.0]), 3))
    np.testing.assert_array_equal(explore.decode(tiny), [7.12e-49, 1.0])
    ints = explore.typed_array(np.arange(4))
    assert ints["dtype"] == "i4" and explore.decode(ints).tolist() == [0, 1, 2, 3]


def test_quantised_values_are_clipped_to_their_range():
    codes = explore.Quantised(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0).codes()
    assert codes.tolist() == [0, 128, 255]


@pytest.mark.parametrize("bad, message", [
    (np.array([1e-40, 1.0]), "Rounded"),
    (np.array([np.nan]), "finite"),
    (np.array(["a"]), "numeric"),
    (np.zeros((2, 2, 2)), "1-D or 2-D"),
])
def test_typed_array_refuses_what_it_cannot_store(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        explore.typed_array(bad)


def _draw(group, step):
    scale = {"a": 1.0, "b": 10.0}[group] if group else 1.0
    return [{"type": "scatter", "x": np.arange(3), "y": scale * step * np.ones(3),
             "name": f"{group} {step}", "line": {"color": "red"}},
            {"type": "bar", "x": np.arange(2), "y": np.arange(2)}]


def test_grid_figure_restyles_only_what_changes():
    fig = explore.grid_figure(_draw, [("one", 1), ("two", 2), ("three", 3)],
                              default=(None, 2))
    assert len(fig["data"]) == 2 and "updatemenus" not in fig["layout"]
    (slider,) = fig["layout"]["sliders"]
    assert slider["active"] == 1 and [s["label"] for s in slider["steps"]] == ["one", "two", "three"]
    restyle, indices = slider["steps"][2]["args"]
    assert indices == [0, 1] and sorted(restyle) == ["name", "y"]
    assert restyle["name"] == ["None 3", None]
    np.testing.assert_array_equal(explore.decode(restyle["y"][0]), [3, 3, 3])
    np.testing.assert_array_equal(explore.decode(fig["data"][0]["y"]), [2, 2, 2])


def test_grid_figure_dropdown_switches_traces_and_sliders():
    static = [{"type": "scatter", "x": [0], "y": [0], "name": "points"}]
    fig = explore.grid_figure(_draw, [("1", 1), ("2", 2)], groups=[("A", "a"), ("B", "b")],
                              static=static, default=("b", 1))
    assert len(fig["data"]) == 5 and fig["data"][-1]["name"] == "points"
    assert [t.get("visible") for t in fig["data"][:4]] == [False, False, True, True]
    assert [s["visible"] for s in fig["layout"]["sliders"]] == [False, True]
    (menu,) = fig["layout"]["updatemenus"]
    assert menu["active"] == 1
    visible, shown = menu["buttons"][0]["args"]
    assert visible == {"visible": [True, True, False, False, True]}
    assert shown == {"sliders[0].visible": True, "sliders[1].visible": False}
    # each group's slider restyles its own traces only
    assert fig["layout"]["sliders"][1]["steps"][0]["args"][1] == [2, 3]


def test_grid_figure_refuses_inconsistent_states():
    def ragged(group, step):
        return _draw(group, step)[: 1 + step % 2]
    with pytest.raises(ValueError, match="same number of traces"):
        explore.grid_figure(ragged, [("1", 1), ("2", 2)])
    with pytest.raises(ValueError, match="layout_at needs a figure without a dropdown"):
        explore.grid_figure(_draw, [("1", 1)], groups=[("A", "a")], layout_at=lambda s: {})
    with pytest.raises(ValueError, match="default step"):
        explore.grid_figure(_draw, [("1", 1)], default=(None, 5))


def test_layout_at_goes_with_an_update_slider():
    fig = explore.grid_figure(_draw, [("1", 1), ("2", 2)],
                              layout_at=lambda s: {"title": {"text": f"step {s}"}})
    step = fig["layout"]["sliders"][0]["steps"][1]
    assert step["method"] == "update" and step["args"][1] == {"title": {"text": "step 2"}}
    assert fig["layout"]["title"] == {"text": "step 1"}


def test_same_figure_same_bytes_and_id():
    a = explore.grid_figure(_draw, [("1", 1), ("2", 2)])
    b = explore.grid_figure(_draw, [("1", 1), ("2", 2)])
    c = explore.grid_figure(_draw, [("1", 1), ("3", 3)])
    assert explore.figure_json(a) == explore.figure_json(b)
    assert explore.html_snippet(a, "x") == explore.html_snippet(b, "x")
    ids = [explore.html_snippet(f, "x").split('id="')[1].split('"')[0] for f in (a, c)]
    assert ids[0] != ids[1]


def test_html_snippet_cannot_close_its_script_early():
    def draw(group, step):
        return [{"type": "scatter", "x": [0], "y": [step], "name": "</script><b>"}]
    snippet = explore.html_snippet(explore.grid_figure(draw, [("1", 1), ("2", 2)]), 'a "quoted" alt')
    assert snippet.count("</script>") == 1 and "<\\/script><b>" in snippet
    assert 'aria-label="a &quot;quoted&quot; alt"' in snippet


def test_show_displays_four_representations(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    fig = explore.grid_figure(_draw, [("1", 1), ("2", 2)], layout={"title": {"text": "T"}})
    png = b"\x89PNG\r\n\x1a\n rest"
    explore.show(fig, png)
    ((bundle, raw),) = shown
    assert raw and set(bundle) == {explore.PLOTLY_MIME, "text/html", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == png
    assert bundle["text/plain"] == "<interactive figure: T>"
    json.dumps(bundle[explore.PLOTLY_MIME], allow_nan=False)  # plain JSON
    with pytest.raises(TypeError, match="PNG bytes"):
        explore.show(fig, b"GIF89a")


def test_the_extension_silences_only_plotlys_mime_type():
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import interactive_figures as ext
    finally:
        sys.path.remove(str(ROOT / "_ext"))
    f = ext._SilencePlotlyMime()

    def record(msg):
        return logging.LogRecord("sphinx.x", logging.WARNING, "p", 1, msg, None, None)

    assert not f.filter(record(f"skipping unknown output mime type: {explore.PLOTLY_MIME}"))
    assert f.filter(record("skipping unknown output mime type: application/x-other"))
    assert f.filter(record("any other warning"))
    assert ext.PLOTLY_MIME == explore.PLOTLY_MIME


def _bundle(fig):
    return {explore.PLOTLY_MIME: json.loads(explore.figure_json(fig)),
            "text/html": explore.html_snippet(fig, "alt"), "image/png": "iVBOR",
            "text/plain": "<interactive figure: T>"}


def _scaled(factor, name="line"):
    def draw(group, step):
        return [{"type": "scatter", "x": np.arange(3), "name": name,
                 "y": factor * step * np.array([1.0, 2.0, 3.0])}]
    return explore.grid_figure(draw, [("1", 1), ("2", 2)])


def test_compare_accepts_a_rerun_within_tolerance_only():
    stored = _bundle(_scaled(1.0))
    assert explore.compare(stored, _bundle(_scaled(1.0))) == []
    assert explore.compare(stored, _bundle(_scaled(1 + 1e-5))) == []   # 5th digit: rounding
    moved = explore.compare(stored, _bundle(_scaled(1.01)))             # 1 %: a real change
    assert moved and "became" in moved[0]
    renamed = explore.compare(stored, _bundle(_scaled(1.0, name="other")))
    assert any("'line' became 'other'" in p for p in renamed)
    forged = dict(stored, **{"text/html": _bundle(_scaled(2.0))["text/html"]})
    assert any("stored HTML does not carry" in p for p in explore.compare(forged, stored))


def test_nbval_fails_on_a_stale_twin(tmp_path):
    """The repository's conftest compares twins with explore.compare, and fails."""
    import subprocess

    import nbformat
    from nbclient import NotebookClient

    cell = ("import numpy as np\nfrom backprop.labs import explore\n"
            "def draw(g, s):\n"
            "    return [{'type': 'scatter', 'x': np.arange(3), 'y': s * np.ones(3)}]\n"
            "fig = explore.grid_figure(draw, [('1', 1.0), ('2', 2.0)])\n"
            "explore.show(fig, b'\\x89PNG fake', alt='test')\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    good = tmp_path / "good.ipynb"
    nbformat.write(nb, good)
    stale = tmp_path / "stale.ipynb"
    nb.cells[0].source = nb.cells[0].source.replace("s * np.ones(3)", "1.01 * s * np.ones(3)")
    nbformat.write(nb, stale)

    def nbval(path):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-p", "conftest",  # the repository's conftest.py, as a plugin
                               "--nbval", str(path)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    ok, bad = nbval(good), nbval(stale)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert bad.returncode == 1 and "interactive figure differs" in bad.stdout, bad.stdout[-2000:]


def test_text_numbers_agree_to_one_unit_of_their_last_digit():
    same = explore._same_text
    assert same("depth 20: ratio 2.6e-01", "depth 20: ratio 2.5e-01")
    assert same("3 of 20 seeds", "3 of 20 seeds")
    assert not same("depth 20: ratio 2.6e-01", "depth 20: ratio 2.4e-01")
    assert not same("ratio 2.6e-01", "ratio 2.6e+01")
    assert not same("depth 20: ratio", "depth 40: ratio")
    assert not same("seed 0 solves", "seed 0 fails")
    stored, fresh = _bundle(_scaled(1.0, name="ratio 2.6e-01")), _bundle(_scaled(1.0, name="ratio 2.5e-01"))
    assert not any("name" in p for p in explore.compare(stored, fresh))
    far = _bundle(_scaled(1.0, name="ratio 2.9e-01"))
    assert any("'ratio 2.6e-01' became 'ratio 2.9e-01'" in p for p in explore.compare(stored, far))
