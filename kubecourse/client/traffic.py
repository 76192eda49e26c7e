"""Requests to a Service from outside the cluster: through the ingress, or the service proxy.

`cluster.request("web", "/api")` sends one HTTP request to
`/api/v1/namespaces/<ns>/services/web[:port]/proxy/api` with the official client, so it
works against the embedded cluster and against kind alike: the API server picks one of
the Service's ready endpoints and relays the Pod's answer.  `cluster.answers("web", 10)`
sends ten and counts which Pods answered (whoami's `Hostname:` line).

The ingress controller is a Service too: on the embedded cluster (and on kind with the
course's Traefik) `cluster.request("traefik", "/api/account/1", namespace="traefik",
port="web")` goes through the Ingress and HTTPRoute rules, as a browser's request would.
A NetworkPolicy that admits only the ingress controller keeps the API server's proxy out
too: on a real cluster its requests come from the control plane node.

`cluster.send("account-api", 10)` sends the requests the way a learner means them:
`cluster.route("account-api")` finds an Ingress or HTTPRoute that routes to the Service
and the controller's Service behind it (`kubecourse.client.routes`), else the Service
itself through the proxy.  The returned `Tally` says which way they went and which Pods
answered; when they cannot get through, `UnreachableError` says why in a learner's words
(a NetworkPolicy keeps the proxy out, no Pod is ready, the ingress has no such route)
and what to do, with the API server's error chained.

Errors of `request`: a Service the API server cannot reach (no ready endpoint, the Pod
refuses, a policy drops it) raises the facade's `ApiError` with the API server's message
(`503 ... no endpoints available for service "web"`); a Service that does not exist is
a `NotFoundError` naming the namespace and the Services there; whatever the Pod answers,
errors included (`404 page not found`), is returned as a `Reply`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.base import ClusterBase
from kubecourse.client.guards import count_arg, name_arg, optional_name_arg
from kubecourse.client.routes import INGRESS, Route, find_route
from kubecourse.client.rows import endpoint_rows
from kubecourse.errors import (
    ApiError,
    ArgumentError,
    ClusterError,
    NotFoundError,
    UnreachableError,
    api_error_from_status,
)

Obj = dict[str, Any]
REQUEST_OPTIONS = ("port", "namespace", "method", "headers", "body")
_HOSTNAME = re.compile(r"^Hostname: (\S+)$", re.M)


@dataclass
class Reply:
    """What the Pod answered, as the API server relayed it."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def pod(self) -> str | None:
        """The answering Pod's name, when the server says it (whoami, hello-app)."""
        found = _HOSTNAME.search(self.text)
        if found is not None:
            return found.group(1)
        try:
            data = json.loads(self.text)
        except ValueError:
            return None
        return (
            str(data["hostname"])
            if isinstance(data, dict) and "hostname" in data
            else None
        )

    def __str__(self) -> str:
        return self.text


@dataclass
class Tally:
    """Which Pods answered `sum(counts.values())` requests, and the `route` they took."""

    route: Route
    counts: Counter[str]

    def __str__(self) -> str:
        total = sum(self.counts.values())
        if set(self.counts) == {"?"}:
            answered = "a server that does not say which Pod it is answered them all"
        else:
            answered = ", ".join(
                f"{pod}: {n}" for pod, n in sorted(self.counts.items())
            )
        return f"{total} requests {self.route}: {answered}"


class Traffic(ClusterBase):
    """The request helpers of `Cluster`."""

    def request(
        self,
        service: str,
        path: str = "/",
        *,
        port: int | str | None = None,
        namespace: str | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Reply:
        """One HTTP request to `service` through the API server's service proxy."""
        name_arg(service, "service", "a Service")
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        _check_request(path, port, method, headers, body)
        name = f"{service}:{port}" if port is not None else service
        resource = (f"/api/v1/namespaces/{quote(ns, safe='')}/services/"
                    f"{quote(name, safe=':')}/proxy{path}")  # fmt: skip
        try:
            return self._call(resource, method.upper(), headers or {}, body)
        except NotFoundError as err:
            if self._live(self.resource("Service"), service, ns) is not None:
                raise
            raise self._missing(
                err, self.resource("Service"), service, ns, "service"
            ) from err
        except ApiError as err:
            named = self._port_names(service, ns) if port is None else []
            if (
                err.code != 503
                or "no endpoints available" not in err.message
                or not named
            ):
                raise
            hint = f'; its ports are named ({", ".join(named)}): pass port="{named[0]}"'
            raise type(err)({**err.status, "message": err.message + hint}) from err

    def _port_names(self, service: str, namespace: str) -> list[str]:
        """The names of a Service's ports (the proxy needs `name:port` for them)."""
        live = self._live(self.resource("Service"), service, namespace) or {}
        ports = (live.get("spec") or {}).get("ports") or []
        return [str(p["name"]) for p in ports if p.get("name")]

    def answers(
        self, service: str, count: int = 10, path: str = "/", **options: Any
    ) -> Counter[str]:
        """How many of `count` requests each Pod answered (`?` when a reply names none)."""
        count_arg(count, "count", minimum=1)
        unknown = set(options) - set(REQUEST_OPTIONS)
        if unknown:
            raise ArgumentError(f"answers() passes on only {', '.join(REQUEST_OPTIONS)} to request(), "
                                f"not {', '.join(sorted(unknown))}")  # fmt: skip
        tally: Counter[str] = Counter()
        for _ in range(count):
            tally[self.request(service, path, **options).pod or "?"] += 1
        return tally

    def route(self, service: str, namespace: str | None = None) -> Route:
        """The way requests from outside reach `service` (see `kubecourse.client.routes`)."""
        name_arg(service, "service", "a Service")
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        with self._looking_for(self.resource("Service"), service, ns, "service"):
            found = self.core.read_namespaced_service(service, ns)
        return find_route(
            self.api_client, self.api_client.sanitize_for_serialization(found), ns
        )

    def send(
        self,
        service: str,
        count: int = 10,
        *,
        namespace: str | None = None,
        route: Route | None = None,
    ) -> Tally:
        """`count` requests to `service` the way a learner's would travel (or along
        `route`), and who answered.

        Raises UnreachableError (why, and what to do) when they cannot get through."""
        count_arg(count, "count", minimum=1)
        if route is not None and not isinstance(route, Route):
            raise ArgumentError(
                f"route must be what cluster.route() returns, not {route!r}"
            )
        route = route or self.route(service, namespace)
        self._require_a_ready_pod(route)
        tally: Counter[str] = Counter()
        for _ in range(count):
            tally[self._along(route).pod or "?"] += 1
        return Tally(route, tally)

    def _require_a_ready_pod(self, route: Route) -> None:
        """No ready endpoint: say so, rather than let an ingress fall through to another
        route (Traefik drops a Service without endpoints) or the proxy answer 503."""
        with translated_errors():
            slices = self.api_client.sanitize_for_serialization(
                self.discovery_api.list_namespaced_endpoint_slice(
                    route.namespace, label_selector=f"kubernetes.io/service-name={route.service}"))  # fmt: skip
        if not any(row.ready for row in endpoint_rows(slices["items"])):
            raise UnreachableError(
                f"{route.service} has no ready Pod to answer: scale it up (the slider, or "
                f"cluster.scale) or wait until its Pods are Ready"
            )

    def _along(self, route: Route) -> Reply:
        headers = {"Host": route.host} if route.host else None
        try:
            reply = self.request(route.target, route.path, port=route.port,
                                 namespace=route.target_namespace, headers=headers)  # fmt: skip
        except ApiError as err:
            raise UnreachableError(self._why_not(route, err)) from err
        if route.via == INGRESS and _from_the_controller(reply):
            raise UnreachableError(_why_the_ingress_said_no(route, reply))
        return reply

    def _why_not(self, route: Route, err: ApiError) -> str:
        """The API server's refusal, in a learner's words, with what to do."""
        text = err.message
        if route.via == INGRESS:
            who = f"the ingress controller (Service {route.target_namespace}/{route.target})"
            if "no endpoints available" in text:
                return (f"{who} has no ready Pod, so nothing can come in: "
                        f"`kubectl get pods -n {route.target_namespace}` shows why ({text})")  # fmt: skip
            return f"the API server could not reach {who}: {text}"
        if "no endpoints available" in text:
            return (f"{route.service} has no ready Pod to answer: scale it up (the slider) or "
                    f"wait until its Pods are Ready ({text})")  # fmt: skip
        if "no service port" in text:
            return f"{text}; the Service's ports are in `kubectl get service {route.service}`"
        try:
            guards = self._policies_guarding(route)
        except ClusterError:  # the refusal is what matters; the reason is a courtesy
            guards = []
        if guards and ("timeout" in text or "dial tcp" in text):
            return _kept_out(route, guards, text)
        return (f"the API server could not connect to the Pods of {route.service} ({text}): "
                "do they listen on the Service's targetPort?")  # fmt: skip

    def _policies_guarding(self, route: Route) -> list[str]:
        """NetworkPolicies that select the Service's Pods for incoming traffic."""
        ns = route.namespace
        with translated_errors():
            service = self.api_client.sanitize_for_serialization(
                self.core.read_namespaced_service(route.service, ns)
            )
            selector = _selector((service.get("spec") or {}).get("selector") or {})
            pods = (
                self.core.list_namespaced_pod(ns, label_selector=selector)
                if selector
                else None
            )
            listed = k8s.NetworkingV1Api(
                self.api_client
            ).list_namespaced_network_policy(ns)
        first = (
            self.api_client.sanitize_for_serialization(pods.items[0])
            if pods and pods.items
            else {}
        )
        labels = (first.get("metadata") or {}).get("labels") or {}
        policies = self.api_client.sanitize_for_serialization(listed)["items"]
        return sorted(
            p["metadata"]["name"]
            for p in policies
            if _guards(p.get("spec") or {}, labels)
        )

    def _call(
        self,
        resource: str,
        method: str,
        headers: dict[str, str],
        body: str | bytes | None,
    ) -> Reply:
        payload = body.encode() if isinstance(body, str) else body
        request = self.api_client.param_serialize(
            method, resource, header_params={"Accept": "*/*", **headers},
            body=payload, auth_settings=["BearerToken"],
        )  # fmt: skip
        with translated_errors():  # not connected, and the like
            response = self.api_client.call_api(*request).response  # urllib3's
            data = bytes(response.data or b"")
        text = data.decode("utf-8", "replace")
        reply = Reply(int(response.status), text, dict(response.headers))
        if reply.status >= 400:
            _raise_for_status(reply)
        return reply


def _raise_for_status(reply: Reply) -> None:
    """The API server's own Status is the facade's error; a Pod's error answer is a Reply."""
    try:
        status = json.loads(reply.text)
    except ValueError:
        return
    if (
        isinstance(status, dict)
        and status.get("kind") == "Status"
        and status.get("status") == "Failure"
    ):
        raise api_error_from_status(status)


def _check_request(path: Any, port: Any, method: Any, headers: Any, body: Any) -> None:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ArgumentError(f"the path must start with '/': {path!r}")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, (int, str))
    ):
        raise ArgumentError(f"port must be a port number or name, not {port!r}")
    if not isinstance(method, str) or not method.isalpha():
        raise ArgumentError(f"method must be an HTTP method like 'GET', not {method!r}")
    if headers is not None and not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise ArgumentError(f"headers must be a dict of strings, not {headers!r}")
    if body is not None and not isinstance(body, (str, bytes)):
        raise ArgumentError(f"body must be text or bytes, not {type(body).__name__}")


def _from_the_controller(reply: Reply) -> bool:
    """Traefik's own refusals: no route (its `404 page not found`), no backend."""
    no_route = reply.status == 404 and reply.text.strip() == "404 page not found"
    return no_route or reply.status in (502, 503, 504)


def _why_the_ingress_said_no(route: Route, reply: Reply) -> str:
    said = (
        reply.text.strip().splitlines()[0] if reply.text.strip() else str(reply.status)
    )
    if reply.status == 404:
        return (f"the ingress controller has no route for {route.path} yet ({said}): a new "
                f"{route.rule} takes a moment to be picked up; try again")  # fmt: skip
    return (f"the ingress controller found no Pod of {route.service} that answers "
            f"({reply.status} {said}): are its Pods Ready? The Pods table shows them")  # fmt: skip


def _kept_out(route: Route, policies: list[str], text: str) -> str:
    names = ", ".join(policies)
    return (
        f"the API server's proxy could not reach the Pods of {route.service}: the "
        f"NetworkPolicies {names} let in only what they allow, as compose's backend "
        "network kept the browser out (this is correct: the backend stays private). "
        f"No Ingress or HTTPRoute routes to {route.service}, so there is no way in from "
        "outside: send the requests from a Pod on its network (kubectl exec <pod> -- "
        f"wget -qO- http://{route.service}), or route it through an Ingress (lesson 06). "
        f"{route.note + '. ' if route.note else ''}The API server said: {text}"
    )


def _selector(labels: dict[str, str]) -> str | None:
    return ",".join(f"{k}={v}" for k, v in labels.items()) or None


def _guards(spec: Obj, labels: dict[str, str]) -> bool:
    """Whether a policy selects a Pod with `labels` for incoming traffic (matchLabels
    only: a policy's matchExpressions are taken to match)."""
    match = (spec.get("podSelector") or {}).get("matchLabels") or {}
    selected = all(labels.get(k) == v for k, v in match.items())
    return selected and "Ingress" in (spec.get("policyTypes") or ["Ingress"])
