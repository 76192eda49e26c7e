"""The scaler widget in a real JupyterLab, driven like a learner drives it.

JupyterLab runs on 127.0.0.1 (random port and token) over a temporary root holding a copy
of notebooks/ and shop/, plus a small notebook that connects, applies the shop and shows
`kubecourse.widgets.scaler(cluster, "account-api")`.  Headless Chromium (Debian's, through
the python `playwright` package) runs that notebook, focuses the slider's handle and
presses ArrowRight.  With no cell running, the Pods and endpoints tables must then grow,
which only the widget's watch threads can make happen; the cluster, read from this
process, must agree.

    make test PYTEST_ARGS="-m browser -s"      # prints the screenshot's path
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser test is optional: `pip install -e '.[test]'` brings it
    sync_playwright = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: these keep Chromium from trying outside hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTEBOOK = "notebooks/browser-scaler.ipynb"
READY = "browser-test: scaler shown"
DEPLOYMENT = "account-api"
POD_IP = re.compile(r"^10\.244\.\d{1,3}\.\d{1,3}$")

LAB_START_TIMEOUT = 60  # s, JupyterLab answering /api/status
RUN_ALL_TIMEOUT = 300  # s, cluster start + apply + every workload ready + widget shown
SCALE_TIMEOUT = 90  # s, from the key press to three Ready Pods in both tables

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (as root: `make browser-deps`)"),
    pytest.mark.skipif(sync_playwright is None, reason="the python `playwright` package is missing (pip install -e '.[test]')"),
]

# The learner's cells.  The scaler cell waits for a settled single replica before it
# returns, so the starting state is known; the last cell tells the test run-all is done.
CELLS = [
    "import kubecourse\n\ncluster = kubecourse.connect()\nprint(cluster.summary())",
    'result = kubecourse.translate("../shop/compose.yaml")\n'
    "applied = cluster.apply(result)\n"
    "cluster.wait_workloads_ready(timeout=180)\n"
    "len(applied)",
    f'cluster.scale("{DEPLOYMENT}", 1)\n'
    f'view = kubecourse.widgets.scaler(cluster, "{DEPLOYMENT}")\n'
    "view.wait_until(lambda v: v.settled(1), timeout=120)\n"
    "view",
    f'print("{READY}")',
]

# Reads the widget from the DOM: slider readout, message label, both tables' rows, and
# the cells' prompts (`[*]` marks a running cell).
READ_VIEW_JS = """
() => {
  const slider = document.querySelector('.widget-slider');
  if (!slider) return null;
  const root = slider.closest('.jp-OutputArea-output') || document;
  const hbox = slider.parentElement;
  const rows = (prefix) => {
    const table = [...root.querySelectorAll('table.kc-table')]
      .find(t => t.caption && t.caption.textContent.trim().startsWith(prefix));
    if (!table) return null;
    return [...table.querySelectorAll('tr')]
      .filter(r => r.querySelector('td'))
      .map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()));
  };
  const readout = slider.querySelector('.widget-readout');
  return {
    value: readout ? readout.textContent.trim() : null,
    message: hbox && hbox.children.length > 1 ? hbox.children[1].textContent.trim() : null,
    summary: (root.querySelector('.widget-html') || {}).textContent || '',
    pods: rows('Pods'),
    endpoints: rows('Endpoints'),
    prompts: [...document.querySelectorAll('.jp-Cell .jp-InputArea-prompt')]
      .map(p => p.textContent.trim()),
    errors: [...root.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => e.textContent.trim()),
  };
}
"""

# Every output of the open notebook, from JupyterLab's model (not the windowed DOM).
OUTPUTS_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .flatMap(c => c.model.outputs.toJSON())"""

# `pods`/`endpoints` rows are [name, ip, node, status, ready] / [ip, ports, ready, pod].
SETTLED_JS = """
(replicas) => {
  const v = (READ_VIEW)();
  if (!v || !v.pods || !v.endpoints) return false;
  const pods = v.pods, eps = v.endpoints;
  if (pods.length !== replicas || eps.length !== replicas) return false;
  if (!pods.every(p => p[3] === 'Running' && p[4] === 'yes')) return false;
  if (!eps.every(e => e[2] === 'yes')) return false;
  const a = pods.map(p => p[1]).sort().join(), b = eps.map(e => e[0]).sort().join();
  return a === b;
}
""".replace("READ_VIEW", READ_VIEW_JS.strip())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_notebook(path: Path) -> None:
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [], "source": src}
        for i, src in enumerate(CELLS)
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


def _lab_root(tmp: Path) -> Path:
    """A copy of notebooks/ and shop/ (so `../shop/compose.yaml` resolves), plus ours."""
    root = tmp / "root"
    for folder in ("notebooks", "shop"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _write_notebook(root / NOTEBOOK)
    return root


def _lab_settings(tmp: Path) -> Path:
    """User settings that keep JupyterLab from asking to fetch news (a toast over the
    screenshot, and a request to an outside host if accepted)."""
    settings = tmp / "lab-settings"
    target = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return settings


class Lab:
    """JupyterLab on 127.0.0.1, in a process of our own; `stop()` always ends it."""

    def __init__(self, tmp: Path, root: Path) -> None:
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyterlab.log"
        runtime = tmp / "jupyter-runtime"
        runtime.mkdir()
        env = dict(os.environ)  # KUBECOURSE_HOME: the root conftest's per-run home
        env["JUPYTER_RUNTIME_DIR"] = str(runtime)
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            "--ServerApp.terminals_enabled=False",
            "--allow-root",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={_lab_settings(tmp)}",
            f"--LabApp.workspaces_dir={tmp / 'lab-workspaces'}",
        ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _request(self, path: str, method: str = "GET") -> int:
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)

    def wait_ready(self, timeout: float = LAB_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self._request("/api/status") == 200:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def stop(self) -> None:
        """Ask the server to shut down (it shuts its kernels down too), then make sure."""
        try:
            if self.proc.poll() is None:
                try:
                    self._request("/api/shutdown", method="POST")
                except (urllib.error.URLError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.terminate()
                    try:
                        self.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait(timeout=10)
        finally:
            self._log.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    server = Lab(tmp_path, _lab_root(tmp_path))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _loopback_only(blocked: list[str]) -> Any:
    """A route handler: requests to 127.0.0.1 go through, any other is aborted and noted."""

    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    return handle


@pytest.mark.browser
def test_slider_scales_and_live_tables_follow(lab: Lab, tmp_path: Path) -> None:
    import kubecourse

    assert sync_playwright is not None
    started = time.monotonic()
    screenshot = tmp_path / "scaler-widget.png"
    blocked: list[str] = []
    console_errors: list[str] = []
    cluster = None
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            context.route("**/*", _loopback_only(blocked))
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(lab.url(f"lab/tree/{NOTEBOOK}"), timeout=60_000)

            # The notebook is open and its kernel is up, then run every cell.
            page.wait_for_function(
                """() => {
                  const app = window.jupyterapp;
                  const w = app && app.shell.currentWidget;
                  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                  return !!(k && k.status === 'idle' && w.content && w.content.widgets.length > 0);
                }""",
                timeout=90_000,
                polling=250,
            )
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            # Done when the last cell printed, or stopped early by an error (bounded).
            try:
                page.wait_for_function(
                    f"""(ready) => ({OUTPUTS_JS})().some(o =>
                         o.output_type === 'error' || (o.output_type === 'stream' && o.text.trim() === ready))""",
                    arg=READY, timeout=RUN_ALL_TIMEOUT * 1000, polling=500,
                )
            except Exception as err:
                page.screenshot(path=str(screenshot))
                raise AssertionError(f"run-all did not finish within {RUN_ALL_TIMEOUT} s; screenshot: {screenshot}\n"
                                     f"JupyterLab log:\n{lab.log_tail()}") from err
            failed = [
                f"{o['ename']}: {o['evalue']}"
                for o in page.evaluate(OUTPUTS_JS)
                if o["output_type"] == "error"
            ]
            if failed:
                page.screenshot(path=str(screenshot))
                raise AssertionError(f"a notebook cell failed (screenshot: {screenshot}):\n" + "\n---\n".join(failed))
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.wait_for(state="visible", timeout=30_000)
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w.sessionContext.session.kernel.status === 'idle'; }",
                timeout=30_000,
                polling=250,
            )

            # The scaler cell returned once the widget's model had settled at 1, so the
            # view must show it: one Ready Pod and its endpoint.  (Bounded wait; a view
            # that stays inconsistent here is a stale render, a widget bug.)
            try:
                page.wait_for_function(SETTLED_JS, arg=1, timeout=10_000, polling=250)
            except Exception as err:
                raise AssertionError(f"the view never showed the settled single replica: {page.evaluate(READ_VIEW_JS)}") from err
            before = page.evaluate(READ_VIEW_JS)
            assert before["value"] == "1", before
            assert not any("*" in prompt for prompt in before["prompts"]), f"a cell is still running: {before['prompts']}"
            assert not before["errors"], f"the notebook wrote to stderr: {before['errors']}"

            # The learner: focus the handle, press ArrowRight twice (step 1): 1 -> 3.
            handle.scroll_into_view_if_needed()
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            try:
                page.wait_for_function(SETTLED_JS, arg=3, timeout=SCALE_TIMEOUT * 1000, polling=250)
            except Exception as err:
                state = page.evaluate(READ_VIEW_JS)
                page.screenshot(path=str(screenshot))
                truth = [(p.name, p.ip, p.status, p.ready) for p in kubecourse.connect().pods()
                         if p.name.startswith(f"{DEPLOYMENT}-")]
                raise AssertionError(
                    f"the view did not settle at 3 replicas within {SCALE_TIMEOUT} s.\n"
                    f"view: {state}\ncluster: {truth}\nscreenshot: {screenshot}\n"
                    "(a view that disagrees with the cluster long after the last change is a stale "
                    "render: ScaleWidget._render runs unsynchronised in three watch threads)"
                ) from err
            after = page.evaluate(READ_VIEW_JS)
            page.locator(".widget-slider").first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot))
            print(f"\nscreenshot of the scaler widget: {screenshot}")

            # The view, with no cell run since the widget was shown.
            assert after["value"] == "3", after
            assert after["message"] == "scaled to 3", after
            assert after["prompts"] == before["prompts"], "a cell ran while the slider was moved"
            pod_ips = sorted(row[1] for row in after["pods"])
            endpoint_ips = sorted(row[0] for row in after["endpoints"])
            assert all(POD_IP.match(ip) for ip in pod_ips), pod_ips
            assert len(set(pod_ips)) == 3 and pod_ips == endpoint_ips, after
            assert before["pods"][0][1] in pod_ips, "the first Pod should survive a scale-up"
            assert "3 desired, 3 ready" in after["summary"] and "3 ready endpoint(s)" in after["summary"], after

            # The cluster agrees, seen from this process (same KUBECOURSE_HOME).
            cluster = kubecourse.connect()
            deployment = cluster.get("Deployment", DEPLOYMENT)
            assert deployment["spec"]["replicas"] == 3
            labels = deployment["spec"]["selector"]["matchLabels"]
            assert sorted(p.ip for p in cluster.pods(labels)) == pod_ips
            assert sorted(e.ip for e in cluster.endpoints(DEPLOYMENT) if e.ready) == pod_ips

            assert not blocked, f"the page tried to leave loopback: {blocked}"
            print(f"browser test took {time.monotonic() - started:.1f} s; console errors: {console_errors or 'none'}")
        finally:
            context.close()
            lab.stop()  # idempotent; the fixture calls it again
            if cluster is not None:
                cluster.scale(DEPLOYMENT, 1)  # leave the shared run cluster as the lessons expect
