"""Fixtures shared by the book's tests: one strict build, one browser.

``built_book`` builds the book from the working tree into a temporary folder
with the same command as ``make book`` (warnings are errors), once per
session; ``browser`` is one headless Chromium (tests/browser.py). Without
Chromium the browser tests skip with a reason, unless CI=true or
BACKPROP_REQUIRE_BROWSER=1 (as `.ci/run` sets), which turns the skip into a
failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from browser import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[1]


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
        if (os.environ.get("BACKPROP_REQUIRE_BROWSER") == "1"
                or os.environ.get("CI", "").lower() in ("1", "true", "yes")):
            pytest.fail("CI or BACKPROP_REQUIRE_BROWSER=1, but no chromium executable is on PATH")
        pytest.skip("no Chromium on PATH (apt-get install chromium); browser checks not run")
    chrome = Chromium(exe)
    yield chrome
    chrome.close()
