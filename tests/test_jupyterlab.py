"""The notebooks in a real JupyterLab, as a learner opens them.

A ``jupyter lab`` from the project's venv (the configuration ``make setup``
writes, not the user's) is started on 127.0.0.1 with a random port and token,
and driven in headless Chromium over the DevTools protocol (tests/browser.py):

* nbgrader offers learners nothing: no "Validate" toolbar button (it said
  "Success!" for an untouched exercise), no "Create Assignment" panel, no
  Nbgrader menu, no nbgrader plugin loaded, and its server endpoints are
  gone, in JupyterLab and in Notebook 7 alike;
* a chapter's interactive figure (a kernel-free twin, backprop.labs.explore)
  is rendered by the Plotly extension from the stored output, with no kernel
  call: its static picture first, the live figure once the pointer enters
  it, and its slider changes the drawing;
* opening a chapter does not modify it: the document is not dirty once its
  kernel is connected, and with autosave every second the file's bytes and
  mtime are unchanged a few seconds later. A copy of the chapter whose
  kernelspec differs from the venv's (what chapters 3 and 4 had) must be
  rewritten under the same conditions, so the check is one that can fail.

The notebooks are copied to a temporary folder first: a failing run never
writes into the repository. Without Chromium the tests skip; in CI
(``CI=true``) or with ``BACKPROP_REQUIRE_BROWSER=1`` a missing browser fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from browser import Chromium, JupyterLab, find_chromium, wait_for

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "exercises/ex03_backward_pass.ipynb"
CHAPTER = "chapters/03_backward_pass.ipynb"
TWIN = "chapters/06_vanishing_gradients.ipynb"
CONTROL = "chapters/control_other_kernelspec.ipynb"
REQUIRED = (os.environ.get("CI", "").lower() in ("1", "true", "yes")
            or os.environ.get("BACKPROP_REQUIRE_BROWSER") == "1")
# Autosave every second: a document that became dirty on opening is written
# to disk within the few seconds the test waits.
SETTINGS = {"@jupyterlab/docmanager-extension:plugin": {"autosave": True, "autosaveInterval": 1}}
NBGRADER_LAB = "@jupyter/nbgrader"

# The notebook panel of ``path`` (app.shell.currentWidget follows the focus,
# which a headless window may not have).
PANEL_JS = r"""Array.from(window.jupyterapp.shell.widgets('main'))
                 .find(w => w.context && w.context.path === %s)"""

APP_READY_JS = r"""(() => {
  if (!window.jupyterapp) return false;
  const w = %s;
  const ctx = w && w.context;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(ctx && ctx.isReady && w.content && w.content.widgets && w.content.widgets.length
            && kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected');
})()"""

DOC_STATE_JS = r"""(() => {
  const w = %s;
  return {path: w.context.path, dirty: w.context.model.dirty,
          kernelspec: w.context.model.getMetadata('kernelspec')};
})()"""

NBGRADER_UI_JS = r"""(() => {
  const app = window.jupyterapp;
  // an item's words: its text and every title / aria-label in it
  const label = e => [e, ...e.querySelectorAll('[title], [aria-label]')]
      .map(x => (x.getAttribute('title') || '') + ' ' + (x.getAttribute('aria-label') || ''))
      .concat([e.innerText || e.textContent || '']).join(' ').replace(/\s+/g, ' ').trim();
  const toolbar = Array.from(document.querySelectorAll(
      '.jp-NotebookPanel-toolbar .jp-Toolbar-item')).map(label);
  const rightTabs = Array.from(document.querySelectorAll(
      '.jp-SideBar.jp-mod-right .lm-TabBar-tab, #jp-right-stack .lm-TabBar-tab')).map(label);
  const leftTabs = Array.from(document.querySelectorAll('.jp-SideBar.jp-mod-left .lm-TabBar-tab')).map(label);
  const menus = Array.from(document.querySelectorAll('#jp-MainMenu .lm-MenuBar-itemLabel')).map(label);
  const plugins = typeof app.listPlugins === 'function' ? app.listPlugins() : [];
  return {
    toolbar, rightTabs, leftTabs, menus, plugins,
    activeNbgrader: plugins.filter(p => p.startsWith('@jupyter/nbgrader') && app.isPluginActivated(p)),
    validateButtons: document.querySelectorAll('.validate-button').length,
    createAssignment: document.querySelectorAll('#nbgrader-create_assignemnt, #nbgrader-create_assignment').length,
    text: document.body.innerText,
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        if REQUIRED:
            pytest.fail("CI or BACKPROP_REQUIRE_BROWSER=1, but no chromium executable is on PATH")
        pytest.skip("no Chromium on PATH (apt-get install chromium); JupyterLab checks not run")
    chrome = Chromium(exe, timeout=60)
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab-root")
    for rel in (EXERCISE, CHAPTER, TWIN):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, root / rel)
    control = json.loads((ROOT / CHAPTER).read_text())
    control["metadata"]["kernelspec"]["display_name"] = "Python 3 (not this venv's)"
    (root / CONTROL).write_text(json.dumps(control, indent=1, ensure_ascii=False) + "\n")
    return root


@pytest.fixture(scope="module")
def lab(workspace, browser):
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        if REQUIRED:
            pytest.fail(f"{jupyter} not found: run `make setup`")
        pytest.skip(f"{jupyter} not found: run `make setup`")
    with JupyterLab(workspace, jupyter, settings=SETTINGS) as server:
        yield server
        log = server.log()
    assert server.returncode == 0, f"jupyter lab did not shut down cleanly ({server.returncode}):\n{log}"


def _panel(rel: str) -> str:
    return PANEL_JS % json.dumps(rel)


def _state(browser, rel: str) -> dict:
    return browser.evaluate(DOC_STATE_JS % _panel(rel))


def _open(browser, lab, rel: str) -> dict:
    browser.open(lab.url(f"/lab/tree/{rel}"), "1")
    wait_for(browser, APP_READY_JS % _panel(rel), timeout=90)
    state = _state(browser, rel)
    assert state["path"] == rel, state
    return state


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_nbgrader_is_disabled_in_the_venv_configuration(lab):
    """What the server tells JupyterLab and Notebook 7, and which endpoints it serves."""
    for page in ("/lab", "/tree"):
        config = lab.page_config(page)
        disabled, locked = config.get("disabledExtensions", []), config.get("lockedExtensions", [])
        assert NBGRADER_LAB in disabled, (
            f"{page}: {NBGRADER_LAB} is not disabled ({disabled}); run `make setup`")
        # locked: the Extension Manager / plugin settings cannot turn it back on
        assert NBGRADER_LAB in locked, f"{page}: {NBGRADER_LAB} is not locked ({locked})"
    assert lab.get("/api/status")[0] == 200  # the server answers what it serves...
    for endpoint in ("/formgrader", "/assignments", "/assignments/validate", "/courses"):
        status, _ = lab.get(endpoint)  # ...and nbgrader's handlers are not registered
        assert status == 404, f"nbgrader's {endpoint} answers HTTP {status}: run `make setup`"


def test_exercise_offers_no_validate_button_and_no_create_assignment(lab, browser):
    _open(browser, lab, EXERCISE)
    ui = browser.evaluate(NBGRADER_UI_JS)
    # The queries see the real interface: the notebook toolbar and both side
    # bars have their usual items, and the app lists its plugins.
    assert any("Save" in t for t in ui["toolbar"]), ui["toolbar"]
    assert ui["rightTabs"] and ui["leftTabs"], (ui["rightTabs"], ui["leftTabs"])
    assert "@jupyterlab/notebook-extension:tracker" in ui["plugins"]
    assert any(m.strip() == "Kernel" for m in ui["menus"]), ui["menus"]

    assert ui["validateButtons"] == 0
    assert not [t for t in ui["toolbar"] if "validate" in t.lower()], ui["toolbar"]
    assert ui["createAssignment"] == 0
    assert not [t for t in ui["rightTabs"] + ui["leftTabs"] if "assignment" in t.lower()], ui["rightTabs"]
    assert not [m for m in ui["menus"] if "nbgrader" in m.lower()], ui["menus"]
    assert ui["activeNbgrader"] == [], ui["activeNbgrader"]
    assert "Create Assignment" not in ui["text"] and "Validate" not in ui["text"]


def _stays_unmodified(browser, lab, workspace, rel: str, wait: float = 3.0):
    path = workspace / rel
    before = _fingerprint(path)
    state = _open(browser, lab, rel)
    time.sleep(wait)  # three autosave intervals
    after = _state(browser, rel)
    return before, _fingerprint(path), state, after


def test_opening_a_chapter_does_not_modify_it(lab, browser, workspace):
    before, after, opened, later = _stays_unmodified(browser, lab, workspace, CHAPTER)
    assert not opened["dirty"] and not later["dirty"], (
        f"JupyterLab changed {CHAPTER} on opening (kernelspec {later['kernelspec']})")
    assert after == before, f"{CHAPTER} was rewritten on disk after being opened"


def test_the_unmodified_check_can_fail(lab, browser, workspace):
    """A chapter whose kernelspec is not the venv's is rewritten on opening."""
    before, after, opened, later = _stays_unmodified(browser, lab, workspace, CONTROL)
    assert after[0] != before[0], "the control notebook was not rewritten: the check above proves nothing"
    saved = json.loads((workspace / CONTROL).read_text())
    assert saved["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"


# Queries are scoped to the chapter's own panel: other open notebooks (chapter
# 3 has a twin too) keep their outputs in the DOM, hidden.
PLOTLY_OUTPUT_JS = r"""(() => {
  const out = (%s).node.querySelector('.jp-RenderedPlotly');
  if (!out) return null;
  out.scrollIntoView({block: 'center'});
  const img = out.querySelector('img.plot-img');
  const r = out.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 3,
          image: !!img && img.complete && img.naturalWidth > 0 && img.style.display !== 'none',
          graph: !!out.querySelector('.plot-container')};
})()"""

LAB_SLIDER_JS = r"""(() => {
  const out = (%s).node.querySelector('.jp-RenderedPlotly');
  const group = Array.from(out.querySelectorAll('.slider-group'))
      .find(g => g.getBoundingClientRect().width > 0);
  if (!group) return null;
  group.scrollIntoView({block: 'center'});
  const rail = group.querySelector('.slider-rail-rect').getBoundingClientRect();
  const labels = Array.from(group.querySelectorAll('.slider-labels .slider-label'));
  const r = labels[labels.length - 1].getBoundingClientRect();
  return {x: r.left + r.width / 2, y: rail.top + rail.height / 2,
          drawing: out.querySelector('.cartesianlayer').outerHTML};
})()"""


def test_twin_is_live_in_jupyterlab(lab, browser, workspace):
    """The stored twin renders in JupyterLab without running a cell."""
    _open(browser, lab, TWIN)
    output_js, slider_js = PLOTLY_OUTPUT_JS % _panel(TWIN), LAB_SLIDER_JS % _panel(TWIN)
    live_js = ("(() => { const o = (%s).node.querySelector('.jp-RenderedPlotly');"
               " return !!(o && o.querySelector('.plot-container .slider-group')); })()"
               % _panel(TWIN))
    first = wait_for(browser, output_js, timeout=60)
    assert first["image"] and not first["graph"], (
        f"the Plotly output should show its static picture until hovered: {first}")
    # The renderer swaps its picture for the live figure on the picture's
    # "mouseenter". A real pointer move does that on a quiet machine; under
    # load the notebook may still be laying out under the pointer, so after
    # a few real moves the event is sent to the picture directly.
    deadline = time.monotonic() + 60
    moves = 0
    while True:
        at = browser.evaluate(output_js)
        if moves < 6:
            browser.hover(at["x"] + 1, at["y"])
            browser.hover(at["x"], at["y"])
            moves += 1
        else:
            browser.evaluate("(%s).node.querySelector('.jp-RenderedPlotly img.plot-img')"
                             ".dispatchEvent(new MouseEvent('mouseenter'))" % _panel(TWIN))
        time.sleep(0.5)
        if browser.evaluate(live_js):
            break
        assert time.monotonic() < deadline, "the Plotly output never became a live figure"
    before = wait_for(browser, slider_js, timeout=10)
    browser.click(before["x"], before["y"])
    time.sleep(0.5)
    after = browser.evaluate(slider_js)
    assert after["drawing"] != before["drawing"], "the slider did not change the figure in JupyterLab"
