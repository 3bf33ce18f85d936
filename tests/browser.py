"""A small headless-Chromium driver over the DevTools protocol, for tests.

It opens a page, waits for the load event and for MathJax to finish, and
records what a reader's browser would report: console errors, uncaught
exceptions, failed requests. Only the ``websocket-client`` package (a
Jupyter dependency) is needed; the browser is Debian's ``chromium``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000",
)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


#: Resolves once every interactive figure on the page (``div.bp-explore``,
#: drawn by the book's loader) is drawn, or after 20 s; to a list of
#: ``{id, ready}``, empty on a page without one.
FIGURES_READY_JS = r"""new Promise(done => {
  const t0 = Date.now();
  (function poll() {
    const figs = Array.from(document.querySelectorAll('.bp-explore'));
    if (figs.every(f => f.dataset.ready) || Date.now() - t0 > 20000)
      done(figs.map(f => ({id: f.id, ready: !!f.dataset.ready})));
    else setTimeout(poll, 100);
  })();
})"""


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


class Chromium:
    """One headless Chromium process with one page, driven over CDP."""

    def __init__(self, executable: str, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="backprop-chromium-")
        self._proc = subprocess.Popen(
            [executable, *FLAGS, "--remote-debugging-port=0",
             f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._wait_for_port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)

    def _wait_for_port(self) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.is_file():
                lines = marker.read_text().splitlines()
                if lines and lines[0].strip().isdigit():
                    return int(lines[0])
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._proc.returncode}")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params) -> dict:
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._events.append(msg)
        raise TimeoutError(method)

    def _wait_event(self, name: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == name for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(name)
            self._events.append(json.loads(self._ws.recv()))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, facts_js: str) -> PageReport:
        """Load ``url``, wait for MathJax, then evaluate ``facts_js`` there."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")
        # MathJax 3 resolves startup.promise when its first typesetting is
        # done. Pages without MathJax resolve at once.
        self.evaluate("""new Promise(done => {
            const mj = window.MathJax;
            if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(() => done(true));
            else done(false);
            setTimeout(() => done(false), 20000);
        })""")
        report = PageReport(url=url, facts=self.evaluate(facts_js))
        requests: dict[str, str] = {}
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                report.console_errors.append(text)
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                report.exceptions.append(
                    f"{details.get('text', '')} {details.get('exception', {}).get('description', '')} "
                    f"at {details.get('url', '')}:{details.get('lineNumber', '')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                report.console_errors.append(f"{entry.get('text', '')} ({entry.get('url', '')})")
            elif method == "Network.requestWillBeSent":
                requests[params["requestId"]] = params["request"]["url"]
                report.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                report.failed_requests.append(
                    f"{requests.get(params['requestId'], '?')}: {params.get('errorText', '')}")
        return report

    def events_since(self, start: int) -> list[dict]:
        """CDP events received after the first ``start`` (read all pending ones first)."""
        self.evaluate("1")
        return self._events[start:]

    def errors_in(self, events: list[dict]) -> list[str]:
        """Console errors and uncaught exceptions among ``events``."""
        found = []
        for event in events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(" ".join(str(a.get("value", a.get("description", "")))
                                      for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                found.append(str(params.get("exceptionDetails", {}).get("exception", {})
                                 .get("description", params)))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def requested_in(self, events: list[dict]) -> list[str]:
        return [e["params"]["request"]["url"] for e in events
                if e.get("method") == "Network.requestWillBeSent"]

    def click(self, x: float, y: float) -> None:
        """A real left click at viewport point (x, y): move, press, release."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y,
                      button="left", clickCount=1)

    def hover(self, x: float, y: float) -> None:
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> None:
        import base64
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            shutil.rmtree(self._profile, ignore_errors=True)


# ------------------------------------------------------------------ JupyterLab


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A real ``jupyter lab`` from the project's venv, for tests and screenshots.

    It binds 127.0.0.1 on a free port with a random token, serves
    ``root_dir``, and keeps everything it writes (user settings, workspaces,
    runtime files) in its own temporary folder; the user's own Jupyter
    configuration is not read, so what is tested is the venv's (sys-prefix)
    configuration that ``make setup`` writes. ``settings`` maps a plugin id
    (``"@jupyterlab/docmanager-extension:plugin"``) to user settings.
    ``window.jupyterapp`` is exposed so a test can ask the application itself.
    Use it as a context manager; leaving it shuts the server down through
    its API and waits for the process to end.
    """

    def __init__(self, root_dir: str | os.PathLike, jupyter: str | os.PathLike,
                 settings: dict | None = None, timeout: float = 90.0):
        import secrets

        self.root_dir = Path(root_dir)
        self.jupyter = str(jupyter)
        self.timeout = timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self._home = Path(tempfile.mkdtemp(prefix="backprop-lab-"))
        self.log_path = self._home / "server.log"
        settings_dir = self._home / "settings"
        defaults = {
            # no "receive Jupyter news?" toast, no update check (no network here)
            "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                            "checkForUpdates": False},
        }
        for plugin, values in {**defaults, **(settings or {})}.items():
            package, _, name = plugin.partition(":")
            target = settings_dir / package / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        self._settings_dir = settings_dir
        self._proc = None

    def __enter__(self) -> "JupyterLab":
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(self._home / "config"),
                   JUPYTER_DATA_DIR=str(self._home / "data"),
                   JUPYTER_RUNTIME_DIR=str(self._home / "runtime"),
                   JUPYTER_PLATFORM_DIRS="1")
        cmd = [self.jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root_dir}",
               f"--LabApp.user_settings_dir={self._settings_dir}",
               f"--LabApp.workspaces_dir={self._home / 'workspaces'}",
               "--LabApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self._proc.returncode}:\n{self.log()}")
            try:
                self.get("/api/status")
                return self
            except OSError:
                time.sleep(0.25)
        self.__exit__(None, None, None)
        raise TimeoutError(f"jupyter lab did not answer within {self.timeout} s:\n{self.log()}")

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def get(self, path: str) -> tuple[int, str]:
        """(status, body) of an authenticated GET; HTTP errors are returned, not raised."""
        import urllib.error
        request = urllib.request.Request(self.base + path,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def page_config(self, path: str) -> dict:
        """The ``jupyter-config-data`` a page of the server embeds (lab or notebook)."""
        import html
        import re
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")
        m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      body, re.DOTALL)
        if not m:
            raise RuntimeError(f"GET {path}: no jupyter-config-data")
        return json.loads(html.unescape(m.group(1)))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def __exit__(self, *exc) -> None:
        if self._proc is None:
            return
        try:
            if self._proc.poll() is None:
                request = urllib.request.Request(
                    self.base + "/api/shutdown", method="POST", data=b"",
                    headers={"Authorization": f"token {self.token}"})
                try:
                    urllib.request.urlopen(request, timeout=10).read()
                except OSError:
                    pass
                try:
                    self._proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._proc.terminate()
                    try:
                        self._proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        self._proc.kill()
                        self._proc.wait()
        finally:
            self.returncode = self._proc.returncode
            self._log.close()
            self._proc = None
            shutil.rmtree(self._home, ignore_errors=True)


def wait_for(browser: "Chromium", expression: str, timeout: float = 60.0, interval: float = 0.25):
    """Evaluate ``expression`` in the page until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = browser.evaluate(expression)
        except RuntimeError:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not true within {timeout} s: {expression[:200]} (last value {value!r})")
