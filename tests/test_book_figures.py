"""The book's interactive figures work in a real browser, offline.

Every Part I widget has a kernel-free twin (``backprop.labs.explore``) on its
page. For each twin, headless Chromium clicks the figure's own controls with
real mouse events: it moves the slider, switches the dropdown (if any), and
checks that the drawing changed, that the control reports the new position,
and that going back restores the first drawing exactly. No console error, no
uncaught exception, and no request may leave the book. The static PNG beside
each twin is hidden once the figure is drawn and shown without JavaScript
and in print. Pages stay light: each page's own HTML under 1 MB, plotly.js
(shared) only on the pages that have a twin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from browser import FIGURES_READY_JS

ROOT = Path(__file__).resolve().parents[1]

#: The widgets and the pages that carry their twins: Part I's five (issue 9)
#: and those of later chapters.
TWIN_PAGES = {
    "chapters/01_forward_pass": "weight explorer",
    "chapters/03_backward_pass": "glass box",
    "chapters/04_training_xor": "XOR explorer",
    "chapters/06_vanishing_gradients": "depth lab",
    "chapters/11_recurrent_networks": "gradient through time",
    "exercises/ex04_training_xor": "XOR explorer (exercise)",
    "exercises/solutions/ex04_training_xor": "XOR explorer (solution)",
}
PAGE_LIMIT = 1_000_000  # bytes of a page's own HTML



# What the reader sees of figure `id`: the plot area's SVG and raster
# (heat maps are <image> elements), the legend and the annotations, plus the
# state of its controls. Slider and dropdown graphics are left out of the
# drawing: they move whenever they are clicked.
STATE_JS = r"""((id) => {
  const gd = document.getElementById(id);
  const part = sel => Array.from(gd.querySelectorAll(sel)).map(e => e.outerHTML).join('');
  const text = sel => Array.from(gd.querySelectorAll(sel)).map(e => e.textContent);
  const L = gd.layout;
  return {
    drawing: part('.cartesianlayer') + part('.legend') + part('.annotation'),
    annotations: text('.annotation-text'), legend: text('.legendtext'),
    sliders: (L.sliders || []).map(s => [s.active, s.visible !== false]),
    menu: (L.updatemenus || []).map(m => m.active),
    visibleTraces: gd._fullData.filter(t => t.visible === true).length,
  };
})"""

SLIDER_LABELS_JS = r"""((id) => {
  const gd = document.getElementById(id);
  gd.scrollIntoView({block: 'center'});
  const group = Array.from(gd.querySelectorAll('.slider-group'))
      .find(g => g.getBoundingClientRect().width > 0);
  if (!group) return null;
  const rail = group.querySelector('.slider-rail-rect').getBoundingClientRect();
  return Array.from(group.querySelectorAll('.slider-labels .slider-label')).map(t => {
    const r = t.getBoundingClientRect();
    return [r.left + r.width / 2, rail.top + rail.height / 2];
  });
})"""

MENU_HEADER_JS = r"""((id) => {
  const gd = document.getElementById(id);
  gd.scrollIntoView({block: 'center'});
  const h = gd.querySelector('.updatemenu-header');
  if (!h) return null;
  const r = h.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
})"""

MENU_BUTTONS_JS = r"""((id) => Array.from(
    document.getElementById(id).querySelectorAll('.updatemenu-dropdown-button')).map(b => {
  const r = b.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2, b.textContent];
}))"""

STATIC_JS = r"""Array.from(document.querySelectorAll('.bp-explore-wrap')).map(w => {
  const img = w.querySelector('.bp-explore-static img');
  const live = w.querySelector('.bp-explore');
  return {img: !!img, loaded: !!img && img.complete && img.naturalWidth > 0,
          alt: img ? img.alt : '', imgShown: !!img && img.getBoundingClientRect().height > 0,
          liveShown: live.getBoundingClientRect().height > 0};
})"""


def _specs(html_text: str) -> list[dict]:
    found = re.findall(r'<script type="application/json" class="bp-explore-spec" '
                       r'data-for="([^"]+)">(.*?)</script>', html_text, flags=re.S)
    return [dict(json.loads(body.replace("<\\/", "</")), id=fid) for fid, body in found]


def _pages(built_book: Path) -> dict[str, Path]:
    return {str(p.relative_to(built_book).with_suffix("")): p
            for p in built_book.rglob("*.html") if "_static" not in p.parts}


def _state(browser, fid):
    return browser.evaluate(f"{STATE_JS}({json.dumps(fid)})")


def _settle(browser):
    browser.evaluate("new Promise(r => setTimeout(r, 400))")


def _move_slider(browser, fid, index):
    labels = browser.evaluate(f"{SLIDER_LABELS_JS}({json.dumps(fid)})")
    assert labels, f"{fid}: no visible slider"
    browser.click(*labels[index])
    _settle(browser)
    return len(labels)


def _pick_menu(browser, fid, index):
    header = browser.evaluate(f"{MENU_HEADER_JS}({json.dumps(fid)})")
    assert header, f"{fid}: no dropdown"
    browser.click(*header)
    _settle(browser)
    buttons = browser.evaluate(f"{MENU_BUTTONS_JS}({json.dumps(fid)})")
    assert len(buttons) > index, f"{fid}: the dropdown did not open ({len(buttons)} buttons)"
    browser.click(*buttons[index][:2])
    _settle(browser)
    return buttons[index][2]


def test_every_part_one_widget_has_a_twin(built_book):
    pages = _pages(built_book)
    for page, widget in TWIN_PAGES.items():
        assert page in pages, f"{page} was not built"
        specs = _specs(pages[page].read_text())
        assert specs, f"{page}: the {widget} has no interactive twin"
        for spec in specs:
            assert spec["layout"].get("sliders"), f"{page}: twin {spec['id']} has no slider"


def test_plotly_is_served_from_the_book_only_where_needed(built_book):
    import plotly

    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    served = built_book / "_static" / "plotly.min.js"
    assert served.read_bytes() == shipped.read_bytes()
    for page, path in _pages(built_book).items():
        text = path.read_text()
        has_twin = 'class="bp-explore-spec"' in text
        loads = re.search(r'<script[^>]+src="[^"]*_static/plotly\.min\.js', text) is not None
        assert loads == has_twin, f"{page}: loads plotly.js: {loads}, has a twin: {has_twin}"
        assert "cdn.plot.ly" not in text and "cdn.jsdelivr.net/npm/plotly" not in text


def test_pages_stay_under_a_megabyte(built_book):
    heavy = {page: path.stat().st_size for page, path in _pages(built_book).items()
             if path.stat().st_size > PAGE_LIMIT}
    assert not heavy, f"pages over {PAGE_LIMIT:,} bytes: {heavy}"


def twin_problems(browser, path: Path, book_prefix: str) -> list[str]:
    """Drive every twin on the page at ``path``; what went wrong, one line each."""
    specs = _specs(path.read_text())
    report = browser.open(path.as_uri(), "1")
    start = len(browser.events_since(0))
    ready = browser.evaluate(FIGURES_READY_JS)
    if not ready or not all(f["ready"] for f in ready):
        return [f"figures not drawn: {ready}"]
    if {f["id"] for f in ready} != {s["id"] for s in specs}:
        return [f"drawn {sorted(f['id'] for f in ready)}, specs {sorted(s['id'] for s in specs)}"]
    problems = []
    for spec in specs:
        fid = spec["id"]
        first = _state(browser, fid)
        group = next(i for i, (_, shown) in enumerate(first["sliders"]) if shown)
        default = first["sliders"][group][0]

        # the slider: another step changes the drawing, and going back restores it
        n_steps = len(spec["layout"]["sliders"][group]["steps"])
        target = n_steps - 1 if default != n_steps - 1 else 0
        if _move_slider(browser, fid, target) != n_steps:
            problems.append(f"{fid}: the slider shows a different number of steps")
        moved = _state(browser, fid)
        if moved["sliders"][group][0] != target:
            problems.append(f"{fid}: the slider did not move to step {target}")
        if moved["drawing"] == first["drawing"]:
            problems.append(f"{fid}: slider step {target} drew nothing new")
        _move_slider(browser, fid, default)
        if _state(browser, fid)["drawing"] != first["drawing"]:
            problems.append(f"{fid}: back at step {default}, the drawing differs from the first")

        # the dropdown: another choice shows other traces and another slider
        if spec["layout"].get("updatemenus"):
            active = first["menu"][0]
            n_choices = len(spec["layout"]["updatemenus"][0]["buttons"])
            other = n_choices - 1 if active != n_choices - 1 else 0
            label = _pick_menu(browser, fid, other)
            switched = _state(browser, fid)
            if switched["menu"][0] != other:
                problems.append(f"{fid}: the dropdown stayed at choice {active}")
            if switched["drawing"] == first["drawing"]:
                problems.append(f"{fid}: choosing {label!r} drew nothing new")
            if [s for _, s in switched["sliders"]].index(True) != other:
                problems.append(f"{fid}: choosing {label!r} did not show its slider")
            if switched["visibleTraces"] != first["visibleTraces"]:
                problems.append(f"{fid}: choosing {label!r} shows {switched['visibleTraces']} "
                                f"traces instead of {first['visibleTraces']}")
            # some step of this choice's slider draws something new (at a
            # setting where nothing learns, neighbouring steps may look alike)
            n_other = len(spec["layout"]["sliders"][other]["steps"])
            at = switched["sliders"][other][0]
            for step in [k for k in range(n_other - 1, -1, -1) if k != at]:
                _move_slider(browser, fid, step)
                if _state(browser, fid)["drawing"] != switched["drawing"]:
                    break
            else:
                problems.append(f"{fid}: no step of the slider of {label!r} drew anything new")
            _move_slider(browser, fid, at)
            _pick_menu(browser, fid, active)
            if _state(browser, fid)["drawing"] != first["drawing"]:
                problems.append(f"{fid}: back on the first choice, the drawing differs")

    events = browser.events_since(start)
    errors = report.console_errors + report.exceptions + browser.errors_in(events)
    problems += [f"console error: {e}" for e in errors]
    problems += [f"request leaves the book: {u}"
                 for u in report.requests + browser.requested_in(events)
                 if not (u.startswith(book_prefix) or u.startswith(("data:", "blob:", "about:")))]
    return problems


@pytest.mark.parametrize("page", sorted(TWIN_PAGES))
def test_twin_responds_to_its_controls(built_book, browser, page):
    problems = twin_problems(browser, built_book / f"{page}.html", built_book.as_uri())
    assert not problems, f"{page}:\n" + "\n".join(problems)


def minimal_page(folder: Path, fig: dict, extra: str = "") -> Path:
    """A page laid out as the book lays out a twin, with the book's own assets."""
    import shutil

    import plotly
    from backprop.labs import explore

    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
                    folder / "plotly.min.js")
    for name in ("bp-explore.js", "bp-explore.css"):
        shutil.copyfile(ROOT / "_ext" / "explore" / name, folder / name)
    page = folder / "page.html"
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8">'
        '<link rel="stylesheet" href="bp-explore.css">'
        '<script src="plotly.min.js"></script><script src="bp-explore.js"></script>'
        f'</head><body><div class="bp-explore-wrap">{explore.html_snippet(fig, "test")}</div>'
        f'{extra}</body></html>')
    return page


def test_the_twin_check_fails_on_a_dead_slider(browser, tmp_path):
    """A figure whose slider steps all draw the same thing, and a page that
    fetches from the network, are both reported."""
    import numpy as np
    from backprop.labs import explore

    def draw(group, step):
        return [{"type": "scatter", "x": np.arange(3), "y": np.ones(3)}]

    fig = explore.grid_figure(draw, [("a", 0), ("b", 1)], layout={"title": {"text": "dead"}})
    page = minimal_page(tmp_path, fig, extra='<img src="http://198.51.100.1/x.png" alt="x">')
    problems = twin_problems(browser, page, tmp_path.as_uri())
    assert any("drew nothing new" in p for p in problems), problems
    assert any("leaves the book: http://198.51.100.1/x.png" in p for p in problems), problems


@pytest.mark.parametrize("media", ["screen", "print"])
def test_static_fallback(built_book, browser, media):
    """Drawn on screen, the twin hides its PNG; in print the PNG is shown instead."""
    page = built_book / "chapters" / "06_vanishing_gradients.html"
    browser.call("Emulation.setEmulatedMedia", media=media)
    try:
        browser.open(page.as_uri(), "1")
        browser.evaluate(FIGURES_READY_JS)
        wraps = browser.evaluate(STATIC_JS)
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
    assert wraps, "no twin on the page"
    for w in wraps:
        assert w["img"] and w["loaded"] and w["alt"].strip(), w
        assert w["imgShown"] == (media == "print") and w["liveShown"] == (media == "screen"), w


def test_static_fallback_without_javascript(built_book, browser):
    page = built_book / "chapters" / "06_vanishing_gradients.html"
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        browser.open(page.as_uri(), "1")
        wraps = browser.evaluate(STATIC_JS)
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", value=False)
    assert wraps and all(w["imgShown"] and not w["liveShown"] for w in wraps), wraps
