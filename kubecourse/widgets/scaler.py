"""A scale slider beside a live view of a Deployment's Pods and its Service's endpoints.

Drag the slider and the Deployment's `spec.replicas` changes through the scale
subresource (what `kubectl scale` does).  Three watches, each in a background thread,
keep the view current: the Deployment (desired/ready counts), its Pods (name, IP, node,
status) and the Service's EndpointSlices (the addresses traffic goes to).  No cell
loops: the kernel stays free, and widget traits set from threads reach the browser.

The Service is the third argument; left out, it is the Service of the Deployment's
name, else one whose selector picks the Deployment's Pods, else none (a worker): the
view then says so and has no endpoints to show.

"send 10 requests" sends them the way a learner's requests travel (`Cluster.send`):
through the ingress when an Ingress or HTTPRoute routes to the Service, else through
the API server's service proxy; the readout says which way they went and which Pods
answered, or, when they cannot get through, why and what to do.  `requests={...}`
(`service`, `namespace`, `port`, `path`) sends them to another Service instead.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from kubecourse.client import Cluster
from kubecourse.client.guards import (
    callable_arg,
    count_arg,
    name_arg,
    optional_name_arg,
    seconds_arg,
    selector_arg,
)
from kubecourse.client.routes import INGRESS, SERVICE_PROXY, Route
from kubecourse.client.rows import EndpointRow, PodRow, endpoint_rows, pod_row
from kubecourse.client.traffic import Tally
from kubecourse.errors import ArgumentError, KubecourseError, NotFoundError, WaitTimeout

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
        if not isinstance(cluster, Cluster):
            raise ArgumentError(f"cluster must be what kubecourse.connect() returns, not {cluster!r}")
        count_arg(max_replicas, "max_replicas", minimum=1, maximum=100)
        self.cluster = cluster
        self.deployment = name_arg(deployment, "deployment", "a Deployment")
        self.namespace = optional_name_arg(namespace, "namespace") or cluster.namespace
        current = _named("deployment", lambda: cluster.get("Deployment", deployment, self.namespace))
        self.selector: Obj = current["spec"]["selector"].get("matchLabels") or {}
        self.service = _service_for(cluster, current, service, self.namespace)
        self._route = _requests_route(requests, self.service, self.namespace)
        self._pods: dict[str, Obj] = {}
        self._slices: dict[str, Obj] = {}
        self._deploy: Obj = current
        self._first_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._threads: list[threading.Thread] = []
        self.last: Tally | None = None  # what the last "send 10 requests" found
        self._build(min(int(current["spec"].get("replicas", 1)), max_replicas), max_replicas)
        self._start_watches()
        self._render()

    def _build(self, replicas: int, max_replicas: int) -> None:
        self.slider = widgets.IntSlider(
            value=replicas, min=0, max=max_replicas, step=1,
            description="replicas", continuous_update=False,
        )  # fmt: skip
        self.message = widgets.Label(value="")
        self.send = widgets.Button(description="send 10 requests", disabled=self.service is None)
        self.answered = widgets.Label(value="" if self.service else "no Service: nothing to send requests to")
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
        callable_arg(predicate, "predicate")
        seconds_arg(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.1)
        raise WaitTimeout(f"the view of {self.deployment} did not reach the expected state in {timeout:.0f} s")

    def settled(self, replicas: int) -> bool:
        """`replicas` Pods, all Ready, each with an endpoint and nothing terminating."""
        pods = self.pods
        return (
            len(pods) == replicas
            and all(p.ready and p.status == "Running" for p in pods)
            and (self.service is None or self.ready_addresses == sorted(p.ip for p in pods if p.ip))
        )

    # -- acting --------------------------------------------------------------------------

    def scale_to(self, replicas: int) -> None:
        """What dragging the slider does."""
        self.slider.value = count_arg(replicas, "replicas", maximum=self.slider.max)

    def send_requests(self, count: int = 10) -> dict[str, int]:
        """What the button does: `count` requests, and which Pods answered them.

        The readout says which way they went (`self.last` keeps the whole Tally); when
        they cannot be sent it says why and what to do, and this returns {}."""
        count_arg(count, "count", minimum=1)
        if self.service is None:
            self.answered.value = f"could not send: no Service sends traffic to the Pods of {self.deployment}"
            return {}
        self.answered.value = f"sending {count} requests …"
        try:
            self.last = self.cluster.send(self.service, count, namespace=self.namespace, route=self._route)
        except KubecourseError as err:
            self.answered.value = f"could not send: {err}"
            return {}
        self.answered.value = str(self.last)
        return dict(self.last.counts)

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
            ("Pod", selector_arg(self.selector), self._on_pod),
            ("Deployment", None, self._on_deployment),
        ]
        if self.service is not None:
            watches.append(("EndpointSlice", f"kubernetes.io/service-name={self.service}", self._on_slice))
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
                + (f"<b>Service {html.escape(self.service)}</b>: {ready} ready endpoint(s)"
                   if self.service else "no Service selects these Pods")
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


def _endpoints_table(endpoints: list[EndpointRow], service: str | None) -> str:
    if service is None:
        return "<p><em>No Service selects these Pods, so nothing sends traffic to them.</em></p>"
    head = "<tr><th>Address</th><th>Ports</th><th>Ready</th><th>Pod</th></tr>"
    rows = "".join(
        f"<tr class='{'' if e.ready else 'kc-notready'}'><td>{html.escape(e.ip)}</td>"
        f"<td>{html.escape(e.ports)}</td><td>{'yes' if e.ready else 'no'}</td>"
        f"<td>{html.escape(e.pod or '')}</td></tr>"
        for e in sorted(endpoints, key=lambda e: e.ip)
    )
    caption = f"Endpoints of Service {html.escape(service)}"
    return f"<table class='kc-table'><caption>{caption}</caption>{head}{rows}</table>"


def _named(argument: str, read: Callable[[], Obj]) -> Obj:
    """Read an object; a 404 names the widget's argument that named it."""
    try:
        return read()
    except NotFoundError as err:
        raise NotFoundError({**err.status, "message": f"{argument}: {err.message}"}) from err


def _service_for(cluster: Cluster, deployment: Obj, service: str | None, namespace: str) -> str | None:
    """The Service in front of the Deployment's Pods: the one named, else the one of the
    Deployment's name, else one whose selector picks its Pods, else None."""
    labels = ((deployment["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    name = deployment["metadata"]["name"]
    if service is not None:
        name_arg(service, "service", "the Service in front of the Deployment")
        chosen = _named(f"service={service!r}", lambda: cluster.get("Service", service, namespace))
        if not _selects(chosen, labels):
            raise ArgumentError(
                f"service={service!r}: the Service {service} selects "
                f"{_selector_text(chosen)}, which picks no Pod of Deployment {name} (its Pods "
                f"are labelled {_labels_text(labels)}); name the Service in front of {name}, "
                "or leave service out"
            )
        return service
    candidates = sorted(cluster.list("Service", namespace=namespace), key=lambda s: s["metadata"]["name"] != name)
    return next((s["metadata"]["name"] for s in candidates if _selects(s, labels)), None)


def _selects(service: Obj, labels: dict[str, str]) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _selector_text(service: Obj) -> str:
    return _labels_text((service.get("spec") or {}).get("selector") or {}) or "nothing (no selector)"


def _labels_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


REQUEST_KEYS = ("service", "namespace", "port", "path")


def _requests_route(requests: dict[str, Any] | None, service: str | None, namespace: str) -> Route | None:
    """The Route `requests={...}` asks for (None: let the cluster find the way)."""
    if requests is None:
        return None
    if not isinstance(requests, dict) or set(requests) - set(REQUEST_KEYS):
        raise ArgumentError(f"requests must be a dict with some of the keys {', '.join(REQUEST_KEYS)}, "
                            f"not {requests!r}")  # fmt: skip
    target = name_arg(requests.get("service", service), "requests['service']", "a Service")
    target_ns = optional_name_arg(requests.get("namespace"), "requests['namespace']") or namespace
    path = requests.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ArgumentError(f"requests['path'] must start with '/': {path!r}")
    via = SERVICE_PROXY if (target, target_ns) == (service, namespace) else INGRESS
    return Route(service or target, namespace, via, target, target_ns, requests.get("port"), path,
                 rule=f"requests= to Service {target_ns}/{target}")  # fmt: skip


def scaler(cluster: Cluster, deployment: str, service: str | None = None, **kwargs: Any) -> ScaleWidget:
    """Shorthand used by the notebooks: `scaler(cluster, "account-api")`."""
    unknown = sorted(set(kwargs) - set(SCALER_OPTIONS))
    if unknown:
        raise ArgumentError(f"scaler() takes the options {', '.join(SCALER_OPTIONS)}, not {', '.join(unknown)}")
    return ScaleWidget(cluster, deployment, service, **kwargs)


SCALER_OPTIONS = ("max_replicas", "namespace", "requests")
