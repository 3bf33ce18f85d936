"""Screenshots of notebooks as a learner sees them in JupyterLab, after Run All.

    .venv/bin/python scripts/lab_screenshots.py chapters/03_backward_pass.ipynb \\
        chapters/04_training_xor.ipynb --out /tmp/lab-shots

For each notebook: start a real JupyterLab from this venv (as tests/test_jupyterlab.py
does: 127.0.0.1, a free port, a token, the venv's configuration), open the
notebook in headless Chromium, run "Kernel > Restart Kernel and Run All
Cells", wait until every code cell has run and the kernel is idle, then
scroll the notebook from top to bottom and write one PNG per screenful
(``<stem>-01.png``, ...) to ``--out``. It also prints what the page shows:
figures, listings, errors, and any MyST markup left raw in the rendered
Markdown ({glue:text}, {ref}, {cite}, ``(label)=``, directive fences).

The repository is not touched: the chapters and exercises are copied to a
temporary folder first, and autosave is off. Screenshots are evidence for a
review; do not commit them.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import Chromium, JupyterLab, find_chromium, wait_for  # noqa: E402

SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/apputils-extension:sessionDialogs": {"skipKernelRestartDialog": True},
    # every cell rendered (no virtual scrolling), so each screenful is complete
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

PANEL = r"""Array.from(window.jupyterapp.shell.widgets('main'))
              .find(w => w.context && w.context.path === %s)"""

READY = r"""(() => {
  if (!window.jupyterapp) return false;
  const w = %s;
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.context.isReady && k && k.status === 'idle' && k.connectionStatus === 'connected');
})()"""

RUN_ALL = r"""(async () => {
  const app = window.jupyterapp, w = %s;
  app.shell.activateById(w.id);
  await new Promise(r => setTimeout(r, 300));
  for (const c of w.content.widgets) if (c.model.type === 'code') c.model.executionCount = null;
  await app.commands.execute('notebook:restart-run-all');
  return true;
})()"""

DONE = r"""(() => {
  const w = %s;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  const ran = code.filter(c => c.model.executionCount !== null).length;
  const busy = Array.from(w.node.querySelectorAll('.jp-InputArea-prompt'))
                    .some(p => p.textContent.includes('*'));
  return (k && k.status === 'idle' && !busy && ran === code.length) ? {ran, code: code.length} : false;
})()"""

FACTS = r"""(() => {
  const w = %s;
  const md = Array.from(w.node.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown'));
  const text = md.map(e => e.innerText).join('\n');
  // {glue:text} roles stay raw in JupyterLab by design (their values are
  // printed in the outputs); everything else listed here is a defect.
  const glueText = Array.from(text.matchAll(/\{glue:text\}`?[^\s`]*`?/g)).map(m => m[0]);
  const raw = [];
  const patterns = [/\{glue(:(?!text\})\w+)?\}`?[^\s`]*`?/g, /\{(ref|numref|cite|doc|eq)(:\w+)?\}`?[^\s`]*`?/g,
                    /^\s*\([\w.:-]+\)=\s*$/gm, /^[`:]{3,}\{[^}]+\}[^\n]*$/gm,
                    /^:(alt|name|caption|language|pyobject|width)\s*:.*$/gm];
  for (const p of patterns) for (const m of text.matchAll(p)) raw.push(m[0].trim().slice(0, 80));
  const outputs = Array.from(w.node.querySelectorAll('.jp-OutputArea-output'));
  return {
    cells: w.content.widgets.length,
    figures: w.node.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedImage img').length,
    listings: Array.from(w.node.querySelectorAll('.jp-OutputArea-output.jp-RenderedMarkdown pre'))
                   .map(p => p.innerText.split('\n')[0].slice(0, 60)),
    errors: Array.from(w.node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                 .map(e => e.innerText.slice(0, 200)),
    widgets: w.node.querySelectorAll('.jupyter-widgets').length,
    outputs: outputs.length,
    glue_text_roles_shown_raw: glueText.length,
    raw_markup: raw,
    dirty: w.context.model.dirty,
  };
})()"""


def _shot(browser: Chromium, path: Path) -> None:
    data = browser.call("Page.captureScreenshot", format="png")["data"]
    path.write_bytes(base64.b64decode(data))


def screenshots(browser: Chromium, lab: JupyterLab, rel: str, out: Path, height: int) -> dict:
    panel = PANEL % json.dumps(rel)
    browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=height,
                 deviceScaleFactor=1, mobile=False)
    browser.open(lab.url(f"/lab/tree/{rel}"), "1")
    wait_for(browser, READY % panel, timeout=120)
    start = time.monotonic()
    browser.evaluate(RUN_ALL % panel)
    done = wait_for(browser, DONE % panel, timeout=300, interval=0.5)
    seconds = time.monotonic() - start
    # collapse the file browser: more room for the notebook
    browser.evaluate("window.jupyterapp.shell.leftCollapsed || "
                     "window.jupyterapp.commands.execute('application:toggle-left-area')")
    time.sleep(2)  # MathJax typesetting, images decoding
    facts = browser.evaluate(FACTS % panel)
    # the element that scrolls the notebook (its class differs between versions)
    scroller = (f"(() => {{ const n = ({panel}).content.node; "
                "return [n, ...n.querySelectorAll('*')].find(e => e.scrollHeight > e.clientHeight + 10 "
                "&& /(auto|scroll)/.test(getComputedStyle(e).overflowY)) || n; })()")
    stem = Path(rel).stem
    shots = []
    browser.evaluate(f"({scroller}).scrollTop = 0")
    for n in range(1, 200):
        time.sleep(0.6)
        target = out / f"{stem}-{n:02d}.png"
        _shot(browser, target)
        shots.append(target)
        moved = browser.evaluate(f"""(() => {{
            const s = {scroller}, cells = ({panel}).content.widgets;
            const last = cells[cells.length - 1].node.getBoundingClientRect();
            if (last.bottom <= s.getBoundingClientRect().bottom) return false;  // the end is in view
            const before = s.scrollTop;
            s.scrollTop = before + s.clientHeight - 60; return s.scrollTop > before; }})()""")
        if not moved:
            break
    facts.update(run_all_seconds=round(seconds, 1), code_cells_run=done["ran"],
                 screenshots=[str(s) for s in shots])
    return facts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+", help="paths relative to the repository")
    ap.add_argument("--out", type=Path, default=Path("/tmp/lab-shots"))
    ap.add_argument("--height", type=int, default=1400, help="window height in pixels")
    args = ap.parse_args(argv)
    exe = find_chromium()
    if exe is None:
        raise SystemExit("no chromium on PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="backprop-lab-shots-"))
    try:
        for folder in ("chapters", "exercises"):
            shutil.copytree(ROOT / folder, work / folder,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        jupyter = Path(sys.executable).parent / "jupyter"
        browser = Chromium(exe, timeout=120)
        try:
            with JupyterLab(work, jupyter, settings=SETTINGS) as lab:
                for rel in args.notebooks:
                    facts = screenshots(browser, lab, Path(rel).as_posix(), args.out, args.height)
                    print(json.dumps({rel: facts}, indent=1), flush=True)
        finally:
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
