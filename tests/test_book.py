"""The book builds strictly and its pages render in a real browser.

The book is built from the working tree into a temporary folder with the
same command as `make book` (warnings are errors), then every page in the
table of contents is opened in headless Chromium: the math must be typeset
by the book's own MathJax (no network here), every image must load, and the
book's own files must raise no console error and fail no request.

Without Chromium the browser checks skip with a reason; `.ci/run` installs
Chromium and sets BACKPROP_REQUIRE_BROWSER=1, which turns that skip into a
failure. Set BACKPROP_SCREENSHOTS=DIR to keep a PNG of every page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from browser import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[1]

FACTS_JS = r"""(() => {
  // Sphinx writes each formula as a span.math or div.math holding \( \) or \[ \].
  const maths = Array.from(document.querySelectorAll('.math.notranslate'));
  return {
    title: document.title,
    text: document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 20000) : '',
    math: maths.length,
    untypeset: maths.filter(e => /\\\(|\\\[/.test(e.textContent)).length,
    typeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('.MathJax_Error, mjx-merror').length,
    images: Array.from(document.querySelectorAll('main img')).map(
      i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, alt: i.alt})),
  };
})()"""


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return pages


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", "--all", "-W", "-n",
           "--keep-going", "--path-output", str(out), str(ROOT)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"strict book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


@pytest.fixture(scope="session")
def browser():
    exe = find_chromium()
    if exe is None:
        if os.environ.get("BACKPROP_REQUIRE_BROWSER") == "1":
            pytest.fail("BACKPROP_REQUIRE_BROWSER=1 but no chromium executable is on PATH")
        pytest.skip("no Chromium on PATH (apt-get install chromium); browser checks not run")
    chrome = Chromium(exe)
    yield chrome
    chrome.close()


def test_book_without_solutions(tmp_path):
    """`make book SOLUTIONS=no`: the same strict build, no solution page."""
    toc = tmp_path / "toc.yml"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "toc_without_solutions.py"), str(toc)],
                   check=True)
    out = tmp_path / "book"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", "--all", "-W", "-n",
         "--keep-going", "--toc", str(toc), "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    html = out / "_build" / "html"
    assert (html / "exercises" / "ex03_backward_pass.html").is_file()
    assert not (html / "exercises" / "solutions").exists()
    assert "solutions/" not in (html / "intro.html").read_text()


def test_every_toc_page_is_built(built_book):
    for page in toc_pages():
        assert (built_book / f"{page}.html").is_file(), f"{page} is in _toc.yml but was not built"


def test_mathjax_is_served_from_the_book(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-svg-full.js").is_file()
    page = (built_book / "notation.html").read_text()
    assert "_static/mathjax/tex-svg-full.js" in page
    assert "cdn.jsdelivr.net/npm/mathjax" not in page


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders_in_chromium(built_book, browser, page, tmp_path):
    url = (built_book / f"{page}.html").as_uri()
    report = browser.open(url, FACTS_JS)
    shots = os.environ.get("BACKPROP_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.screenshot(Path(shots) / f"{page.replace('/', '_')}.png")
    facts = report.facts
    book_prefix = built_book.as_uri()

    assert facts["text"].strip(), f"{page}: the page has no text"
    assert facts["mathErrors"] == 0, f"{page}: {facts['mathErrors']} MathJax errors"
    assert facts["untypeset"] == 0, f"{page}: {facts['untypeset']} of {facts['math']} formulas not typeset"
    if facts["math"]:
        assert facts["typeset"] >= facts["math"], f"{page}: typeset {facts['typeset']} < {facts['math']}"
    broken = [i["src"] for i in facts["images"] if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    no_alt = [i["src"][-60:] for i in facts["images"] if not i["alt"].strip()]
    assert not no_alt, f"{page}: images without alt text: {no_alt}"
    own_failures = [r for r in report.failed_requests if r.startswith(book_prefix)]
    assert not own_failures, f"{page}: the book's own files failed to load: {own_failures}"
    assert not report.exceptions, f"{page}: uncaught exceptions: {report.exceptions}"
    own_errors = [e for e in report.console_errors if "http" not in e or book_prefix in e]
    assert not own_errors, f"{page}: console errors: {own_errors}"


def test_index_describes_the_course(built_book, browser):
    facts = browser.open((built_book / "intro.html").as_uri(), FACTS_JS).facts
    assert "Backpropagation from first principles" in facts["title"]
    for heading in ("Who this is for", "What you need to know", "How to use this course"):
        assert heading in facts["text"]
