"""The book builds strictly and its pages render in a real browser.

The book is built from the working tree into a temporary folder with the
same command as `make book` (warnings are errors), then every page in the
table of contents is opened in headless Chromium: the math must be typeset
by the book's own MathJax (no network here), every image must load, and the
book's own files must raise no console error and fail no request. Nothing
may overflow the content column at the right edge (see OVERFLOW_JS);
`test_overflow_check_fails_on_a_wide_page` proves that check can fail.

Without Chromium the browser checks skip with a reason; `.ci/run` installs
Chromium and sets BACKPROP_REQUIRE_BROWSER=1 (as does CI=true), which turns
that skip into a failure. Set BACKPROP_SCREENSHOTS=DIR to keep a PNG of every page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from browser import FIGURES_READY_JS


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


# Everything in the content column (the theme's <article>) must fit in it.
# An element overflows when
# * its right edge is past the column's content edge (display math, a table,
#   an image, an output area sticking out), or
# * it clips or scrolls horizontally (overflow-x not `visible`) and its
#   visible content reaches past its own box: a code block or an equation
#   behind a scrollbar is cut off for a reader who does not scroll.
# Only the outermost offender is reported, with its section, a selector and
# a snippet. MathJax's assistive MathML (clipped to nothing, for screen
# readers) is not content a reader sees, and is left out of both rules; so is
# Plotly's drag layer (transparent hit areas).
OVERFLOW_JS = r"""(() => {
  const column = document.querySelector('main article') || document.querySelector('main');
  if (!column) return {column: null, offenders: []};
  const cs = getComputedStyle(column);
  const right = column.getBoundingClientRect().right
      - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth);
  const TOL = 1;  // px, sub-pixel rounding
  // Plotly's drag layer: transparent hit areas for the pointer, which may
  // reach a pixel or two past the figure; nothing in it is drawn.
  const SKIP = 'mjx-assistive-mml, .visually-hidden, .sr-only, script, style, template, .draglayer';
  const visible = el => {
    const st = getComputedStyle(el), r = el.getBoundingClientRect();
    return st.display !== 'none' && st.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  };
  // Rightmost edge of what is drawn inside el: its elements and its text.
  const contentRight = el => {
    let max = -Infinity;
    const range = document.createRange();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: n => n.nodeType === 1 && n.matches(SKIP) ? NodeFilter.FILTER_REJECT
                                                            : NodeFilter.FILTER_ACCEPT});
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      let r;
      if (n.nodeType === 3) {
        if (!n.textContent.trim()) continue;
        range.selectNodeContents(n);
        r = range.getBoundingClientRect();
      } else r = n.getBoundingClientRect();
      if (r.width > 0 && r.right > max) max = r.right;
    }
    return max;
  };
  const describe = el => {
    const part = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + Array.from(e.classList).filter(c => !c.startsWith('CtxtMenu')).slice(0, 2)
            .map(c => '.' + c).join('')
        + (e.hasAttribute('display') ? '[display]' : '');
    const parts = [];
    for (let e = el; e && e !== column && parts.length < 4; e = e.parentElement) parts.unshift(part(e));
    const section = el.closest('section[id]');
    return (section ? 'section#' + section.id + ' ' : '') + parts.join(' > ');
  };
  const offenders = [], reported = [];
  for (const el of column.querySelectorAll('*')) {
    if (el.closest(SKIP) || reported.some(r => r.contains(el)) || !visible(el)) continue;
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    const why = [];
    if (r.right > right + TOL)
      why.push(`right edge at ${Math.round(r.right)} px, column ends at ${Math.round(right)} px`);
    if (st.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + TOL) {
      const inner = r.left + el.clientLeft + el.clientWidth;
      const drawn = contentRight(el);
      if (drawn > inner + TOL)
        why.push(`cut off: content ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
    }
    if (!why.length) continue;
    reported.push(el);
    const text = el.innerText || el.textContent || el.getAttribute('alt') || el.getAttribute('src') || '';
    offenders.push({selector: describe(el), why: why.join('; '),
                    snippet: text.replace(/\s+/g, ' ').trim().slice(0, 100)});
  }
  return {column: Math.round(right), offenders};
})()"""


def overflow_problems(browser, page: str) -> list[str]:
    """Offenders on the page the browser has open, one line each."""
    found = browser.evaluate(OVERFLOW_JS)
    assert found["column"], f"{page}: no content column (main article) found"
    return [f"{page}: {o['selector']}: {o['why']}: {o['snippet']!r}" for o in found["offenders"]]


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


def test_exercise_pages_show_no_stored_check_feedback(built_book):
    """A learner's exercise page shows no stored "NOT ATTEMPTED (0/2 points)"
    block under each check (the generator tags check cells remove-output);
    the solutions keep their "PASSED" feedback."""
    pages = sorted((built_book / "exercises").glob("ex*.html"))
    assert pages, "no exercise pages were built"
    for page in pages:
        text = page.read_text()
        assert "NOT ATTEMPTED" not in text, f"{page.name} shows stored check feedback"
        assert "q1_result" in text, f"{page.name}: the check cells themselves are gone"
    solutions = sorted((built_book / "exercises" / "solutions").glob("ex*.html"))
    assert solutions and all("PASSED" in p.read_text() for p in solutions)


def test_mathjax_is_served_from_the_book(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-svg-full.js").is_file()
    page = (built_book / "notation.html").read_text()
    assert "_static/mathjax/tex-svg-full.js" in page
    assert "cdn.jsdelivr.net/npm/mathjax" not in page


@pytest.fixture(scope="session")
def overflow_found():
    """Overflow offenders per page, measured while the render test has the page open."""
    return {}


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders_in_chromium(built_book, browser, page, overflow_found):
    url = (built_book / f"{page}.html").as_uri()
    report = browser.open(url, FACTS_JS)
    browser.evaluate(FIGURES_READY_JS)  # measure and picture the drawn figures
    overflow_found[page] = overflow_problems(browser, page)
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


@pytest.mark.parametrize("page", toc_pages())
def test_page_content_fits_the_column(built_book, browser, page, overflow_found):
    if page not in overflow_found:  # the render test was deselected
        browser.open((built_book / f"{page}.html").as_uri(), "1")
        overflow_found[page] = overflow_problems(browser, page)
    problems = overflow_found[page]
    assert not problems, f"{len(problems)} element(s) overflow the column:\n" + "\n".join(problems)


WIDE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
  body {{ margin: 0; font: 16px sans-serif; }}
  main {{ width: 1100px; }}
  article {{ width: 600px; padding: 0 20px; }}
  pre {{ overflow-x: auto; }}
  mjx-container[display] {{ display: block; overflow-x: auto; }}
  .math {{ display: inline-flex; overflow: hidden; position: relative; }}
  mjx-assistive-mml {{ position: absolute; width: 300px; clip: rect(1px, 1px, 1px, 1px); }}
</style></head>
<body><main><article class="bd-article">
  <section id="fits">
    <p>A paragraph that wraps inside the column, with inline math
       <span class="math"><svg width="20" height="12"></svg><mjx-assistive-mml>z</mjx-assistive-mml></span>
       whose hidden MathML is wider than the formula.</p>
    <pre id="short">x = 1</pre>
    <table><tr><td>a</td><td>b</td></tr></table>
  </section>
  <section id="wide-code"><pre id="long">{code}</pre></section>
  <section id="wide-math"><div class="math-display"><mjx-container display="true">
    <span style="display: inline-block; white-space: nowrap">{math}</span></mjx-container></div></section>
  <section id="wide-table"><table><tr><td style="white-space: nowrap">{row}</td></tr></table></section>
  <section id="wide-image"><img alt="a wide figure" style="width: 900px; height: 40px"
    src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='900' height='40'/%3E"></section>
</article></main></body></html>
"""


def test_overflow_check_fails_on_a_wide_page(browser, tmp_path):
    """The overflow check finds an over-wide code block, equation, table and
    image, and nothing in the content that fits."""
    html = WIDE_PAGE.format(code="result = " + " + ".join(f"term_{i}" for i in range(40)),
                            math="W = X^T Z, (D, N)(N, M) " * 12, row="wide cell " * 40)
    page = tmp_path / "wide.html"
    page.write_text(html)
    browser.open(page.as_uri(), "1")
    problems = overflow_problems(browser, "wide")
    sections = sorted(p.split()[1] for p in problems)
    assert sections == ["section#wide-code", "section#wide-image", "section#wide-math",
                        "section#wide-table"], "\n".join(problems)
    by_section = {p.split()[1]: p for p in problems}
    assert "pre#long" in by_section["section#wide-code"] and "cut off" in by_section["section#wide-code"]
    assert "mjx-container[display]" in by_section["section#wide-math"]
    assert "cut off" in by_section["section#wide-math"]
    assert "right edge" in by_section["section#wide-table"]
    assert "img" in by_section["section#wide-image"] and "right edge" in by_section["section#wide-image"]
    assert "term_0" in by_section["section#wide-code"]  # a snippet names what is cut off


def test_index_describes_the_course(built_book, browser):
    facts = browser.open((built_book / "intro.html").as_uri(), FACTS_JS).facts
    assert "Backpropagation from first principles" in facts["title"]
    for heading in ("Who this is for", "What you need to know", "How to use this course"):
        assert heading in facts["text"]
