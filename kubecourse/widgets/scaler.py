"""A scale slider beside a live view of a Deployment's Pods and its Service's endpoints.

Drag the slider and the Deployment's `spec.replicas` changes through the scale
subresource (what `kubectl scale` does).  Three watches, each in a background thread,
keep the view current: the Deployment (desired/ready counts), its Pods (name, IP, node,
status) and the Service's EndpointSlices (the addresses traffic goes to).  No cell
loops: the kernel stays free, and widget traits set from threads reach the browser.

"send 10 requests" sends them through the API server's service proxy
(`Cluster.answers`) and shows which Pods answered.  `requests={...}` sends them
elsewhere, for a Service that NetworkPolicies keep private: through the ingress
controller with `requests={"service": "traefik", "namespace": "traefik", "port": "web",
"path": "/api/account/"}`.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from kubecourse.client import Cluster
from kubecourse.client.cluster import endpoint_rows, selector_text
from kubecourse.client.rows import EndpointRow, PodRow, pod_row
from kubecourse.errors import KubecourseError

Obj = dict[str, Any]

STYLE = """
<style>
.kc-table { border-collapse: collapse; font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.kc-table th { text-align: left; padding: 2px 10px 2px 0; border-bottom: 1px solid #999; }
.kc-table td { padding: 1px 10px 1px 0; white-space: nowrap; }
.kc-table caption { text-align: left; white-space: nowrap; font-weight: bold; }
.kc-new { background: #fff3c4; }
.kc-notready { color: #a33; }
</style>
"""


HIGHLIGHT_SECONDS = 5.0


class ScaleWidget(widgets.VBox):  # type: ignore[misc]
    """`ScaleWidget(cluster, "account-api")`: scale a Deployment, watch it converge."""

    def __init__(
        self,
        cluster: Cluster,
        deployment: str,
        service: str | None = None,
        *,
        max_replicas: int = 10,
        namespace: str | None = None,
        requests: dict[str, Any] | None = None,
    ) -> None:
        self._stop = threading.Event()
        if not isinstance(max_replicas, int) or not 1 <= max_replicas <= 100:
            raise ValueError(f"max_replicas must be a whole number from 1 to 100, not {max_replicas!r}")
        self.cluster = cluster
        self.deployment = deployment
        self.service = service if service is not None else deployment
        self.namespace = namespace or cluster.namespace
        current = cluster.get("Deployment", deployment, self.namespace)
        self.selector: Obj = current["spec"]["selector"].get("matchLabels") or {}
        self._pods: dict[str, Obj] = {}
        self._slices: dict[str, Obj] = {}
        self._deploy: Obj = current
        self._first_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._threads: list[threading.Thread] = []
        replicas = int(current["spec"].get("replicas", 1))
        self.slider = widgets.IntSlider(
            value=min(replicas, max_replicas), min=0, max=max_replicas, step=1,
            description="replicas", continuous_update=False,
        )
        self.message = widgets.Label(value="")
        self.requests = {"service": self.service, "namespace": self.namespace, **(requests or {})}
        self.send = widgets.Button(description="send 10 requests")
        self.answered = widgets.Label(value="")
        self.summary = widgets.HTML()
        self.pods_view = widgets.HTML(layout=widgets.Layout(margin="0 24px 0 0"))
        self.endpoints_view = widgets.HTML()
        super().__init__([
            widgets.HBox([self.slider, self.message]),
            self.summary,
            widgets.HBox([self.send, self.answered]),
            widgets.HBox([self.pods_view, self.endpoints_view]),
        ])  # fmt: skip
        self.slider.observe(self._on_slider, names="value")
        self.send.on_click(lambda _: threading.Thread(target=self.send_requests, daemon=True).start())
        self._start_watches()
        self._render()

    # -- reading the live state ------------------------------------------------------------

    @property
    def pods(self) -> list[PodRow]:
        with self._lock:
            pods = [p for p in self._pods.values()]
        return sorted((pod_row(p) for p in pods), key=lambda r: r.name)

    @property
    def endpoints(self) -> list[EndpointRow]:
        with self._lock:
            slices = list(self._slices.values())
        return endpoint_rows(slices)

    @property
    def ready_addresses(self) -> list[str]:
        return sorted(r.ip for r in self.endpoints if r.ready)

    def wait_until(self, predicate: Callable[[ScaleWidget], bool], timeout: float = 60) -> None:
        """Block until `predicate(widget)` holds (for notebooks that assert what they show)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.1)
        raise TimeoutError(f"the view of {self.deployment} did not reach the expected state in {timeout:.0f} s")

    def settled(self, replicas: int) -> bool:
        """`replicas` Pods, all Ready, each with an endpoint and nothing terminating."""
        pods = self.pods
        return (
            len(pods) == replicas
            and all(p.ready and p.status == "Running" for p in pods)
            and self.ready_addresses == sorted(p.ip for p in pods if p.ip)
        )

    # -- acting --------------------------------------------------------------------------

    def scale_to(self, replicas: int) -> None:
        """What dragging the slider does."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 0 <= replicas <= self.slider.max:
            raise ValueError(f"replicas must be a whole number from 0 to {self.slider.max}, not {replicas!r}")
        self.slider.value = replicas

    def send_requests(self, count: int = 10) -> dict[str, int]:
        """What the button does: `count` requests, and which Pods answered them."""
        options = dict(self.requests)
        service = str(options.pop("service"))
        try:
            tally = self.cluster.answers(service, count, **options)
        except (KubecourseError, ValueError) as err:
            self.answered.value = f"could not send: {err}"
            return {}
        self.answered.value = ", ".join(f"{pod}: {n}" for pod, n in sorted(tally.items()))
        return dict(tally)

    def _on_slider(self, change: Obj) -> None:
        try:
            self.cluster.scale(self.deployment, int(change["new"]), namespace=self.namespace)
            self.message.value = f"scaled to {change['new']}"
        except (KubecourseError, ValueError) as err:
            self.message.value = f"could not scale: {err}"

    def close(self) -> None:
        """Stop the watches and remove the widget from the page."""
        stop = getattr(self, "_stop", None)  # close() also runs from __del__ after a failed __init__
        if stop is not None:
            stop.set()
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
        super().close()

    # -- watching ------------------------------------------------------------------------

    def _start_watches(self) -> None:
        watches = [
            ("Pod", selector_text(self.selector), self._on_pod),
            ("EndpointSlice", f"kubernetes.io/service-name={self.service}", self._on_slice),
            ("Deployment", None, self._on_deployment),
        ]
        for kind, selector, handler in watches:
            thread = threading.Thread(
                target=self._watch, args=(kind, selector, handler), daemon=True,
                name=f"kubecourse-watch-{kind}-{self.deployment}",
            )
            thread.start()
            self._threads.append(thread)

    def _watch(self, kind: str, selector: str | None, handler: Callable[[str, Obj], None]) -> None:
        try:
            self.cluster.stream(kind, selector=selector, namespace=self.namespace, stop=self._stop,
                                on_event=handler, timeout_seconds=10)
        except KubecourseError as err:
            self.message.value = f"watch of {kind} stopped: {err}"

    def _apply(self, store: dict[str, Obj], kind: str, obj: Obj) -> None:
        with self._lock:
            if kind == "SYNC":
                store.clear()
                for item in obj["items"]:
                    store[item["metadata"]["name"]] = item
            elif kind == "DELETED":
                store.pop(obj["metadata"]["name"], None)
            elif kind in ("ADDED", "MODIFIED"):
                store[obj["metadata"]["name"]] = obj
        if kind != "BOOKMARK":
            self._render()

    def _on_pod(self, kind: str, obj: Obj) -> None:
        self._apply(self._pods, kind, obj)

    def _on_slice(self, kind: str, obj: Obj) -> None:
        self._apply(self._slices, kind, obj)

    def _on_deployment(self, kind: str, obj: Obj) -> None:
        if kind == "SYNC":
            obj = next((d for d in obj["items"] if d["metadata"]["name"] == self.deployment), self._deploy)
        elif obj.get("metadata", {}).get("name") != self.deployment:
            return
        with self._lock:
            self._deploy = obj
        self._render()

    # -- drawing -------------------------------------------------------------------------

    def _render(self) -> None:
        # One render at a time, each from the state as it is once it holds the lock: the
        # three watch threads can then never leave an older picture on screen.
        with self._render_lock:
            pods, endpoints = self.pods, self.endpoints
            with self._lock:
                status = self._deploy.get("status") or {}
                desired = (self._deploy.get("spec") or {}).get("replicas", 1)
            fresh = self._fresh_ips(pods)
            ready = sum(1 for e in endpoints if e.ready)
            self.summary.value = (
                f"<b>Deployment {html.escape(self.deployment)}</b>: {desired} desired, "
                f"{status.get('readyReplicas', 0) or 0} ready &nbsp;·&nbsp; "
                f"<b>Service {html.escape(self.service)}</b>: {ready} ready endpoint(s)"
            )
            self.pods_view.value = STYLE + _pods_table(pods, fresh)
            self.endpoints_view.value = STYLE + _endpoints_table(endpoints, self.service)
            if fresh:
                self._redraw_later()

    def _redraw_later(self) -> None:
        """Redraw once the highlight of new Pods has expired (nothing else may change)."""
        if self._timer is not None and self._timer.is_alive():
            return
        self._timer = threading.Timer(HIGHLIGHT_SECONDS + 0.1, self._render)
        self._timer.daemon = True
        self._timer.start()

    def _fresh_ips(self, pods: list[PodRow]) -> set[str | None]:
        """IPs that appeared in the last few seconds (highlighted), after the first view."""
        now = time.monotonic()
        first_render = not self._first_seen
        for pod in pods:
            if pod.ip and pod.ip not in self._first_seen:
                self._first_seen[pod.ip] = 0.0 if first_render else now
        return {ip for ip, seen in self._first_seen.items() if seen and now - seen < HIGHLIGHT_SECONDS}


def _pods_table(pods: list[PodRow], new_ips: set[str | None]) -> str:
    head = "<tr><th>Pod</th><th>IP</th><th>Node</th><th>Status</th><th>Ready</th></tr>"
    rows = "".join(
        f"<tr class='{'kc-new' if p.ip in new_ips else ''}'><td>{html.escape(p.name)}</td>"
        f"<td>{html.escape(p.ip or '<none>')}</td><td>{html.escape(p.node or '<none>')}</td>"
        f"<td>{html.escape(p.status)}</td><td>{'yes' if p.ready else 'no'}</td></tr>"
        for p in pods
    )
    return f"<table class='kc-table'><caption>Pods</caption>{head}{rows}</table>"


def _endpoints_table(endpoints: list[EndpointRow], service: str) -> str:
    head = "<tr><th>Address</th><th>Ports</th><th>Ready</th><th>Pod</th></tr>"
    rows = "".join(
        f"<tr class='{'' if e.ready else 'kc-notready'}'><td>{html.escape(e.ip)}</td>"
        f"<td>{html.escape(e.ports)}</td><td>{'yes' if e.ready else 'no'}</td>"
        f"<td>{html.escape(e.pod or '')}</td></tr>"
        for e in sorted(endpoints, key=lambda e: e.ip)
    )
    caption = f"Endpoints of Service {html.escape(service)}"
    return f"<table class='kc-table'><caption>{caption}</caption>{head}{rows}</table>"


def scaler(cluster: Cluster, deployment: str, service: str | None = None, **kwargs: Any) -> ScaleWidget:
    """Shorthand used by the notebooks."""
    return ScaleWidget(cluster, deployment, service, **kwargs)
