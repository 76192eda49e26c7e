"""Which way a request from outside the cluster reaches a Service.

A browser reaches the shop through the ingress controller, as it reached the compose
shop through Traefik: the backend's NetworkPolicies admit only the controller's
namespace (claim 12), so the API server's service proxy is dropped at the backend's
door.  `find_route` therefore looks, with the API only, for the way a learner's
request is meant to travel:

1. an HTTPRoute or Ingress in the Service's namespace whose backend is the Service
   (HTTPRoutes first: Traefik ranks them before Ingress paths; rules without a host
   first).  Its class (the HTTPRoute's Gateway's GatewayClass `controllerName`; the
   Ingress's `ingressClassName`, else the default IngressClass) names the controller,
   and the controller's Service is found by its labels: Traefik's charts and the
   embedded cluster label it `app.kubernetes.io/name=traefik`, ingress-nginx's
   `app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller`;
   another controller is found by the labels its IngressClass carries.  The request
   then goes to that Service (its port for the listener, else `web`/`http`/80) through
   the API server's service proxy, with the rule's path (and host, if it has one);
2. otherwise the Service itself through the API server's service proxy, on its first
   port by name (a Service whose ports are named needs `name:port` there).

The same lookups work on kind with the course's Traefik, as on the embedded cluster.
Simplified: a path match on headers, methods, query parameters or a regular expression
is not used (the rule is skipped); a host rule is sent with its `Host` header, which a
cluster's API server proxy may not pass on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from kubecourse.client.apierrors import translated_errors
from kubecourse.errors import NotFoundError

Obj = dict[str, Any]
INGRESS = "ingress"
SERVICE_PROXY = "service proxy"
GATEWAY_API = ("gateway.networking.k8s.io", "v1")
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
# The Service of a known controller, by the labels its install gives it.
KNOWN_CONTROLLERS = {
    "traefik.io/ingress-controller": "app.kubernetes.io/name=traefik",
    "traefik.io/gateway-controller": "app.kubernetes.io/name=traefik",
    "k8s.io/ingress-nginx": "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller",
}
HTTP_PORT_NAMES = ("web", "http")
_REGEX = re.compile(r"[\^$*+?()\[\]{}|\\]")


@dataclass(frozen=True)
class Route:
    """How requests for `service` travel: `via` INGRESS or SERVICE_PROXY, to the
    Service `target_namespace/target` on `port`, with `path` (and `host`)."""

    service: str
    namespace: str
    via: str
    target: str
    target_namespace: str
    port: int | str | None
    path: str = "/"
    rule: str = (
        ""  # the object that routes them ("Ingress shop", "HTTPRoute account-api")
    )
    host: str | None = None
    note: str = ""  # why a route was found but not used

    def __str__(self) -> str:
        if self.via == INGRESS:
            host = f"{self.host}" if self.host else ""
            return (f"through the ingress controller (Service {self.target_namespace}/"
                    f"{self.target}; {self.rule} routes {host}{self.path} to {self.service})")  # fmt: skip
        port = f":{self.port}" if self.port is not None else ""
        return f"through the API server's service proxy (Service {self.service}{port})"


@dataclass(frozen=True)
class _Candidate:
    rule: str
    path: str
    host: str | None
    controller: (
        str | None
    )  # the class's controller name, None when the class is missing
    labels: str | None  # the class's own app.kubernetes.io labels, as a selector
    port: int | None  # the Gateway listener's port


def find_route(api_client: k8s.ApiClient, service: Obj, namespace: str) -> Route:
    """The way in from outside for the Service `service` (as the API serves it)."""
    name = service["metadata"]["name"]
    proxy = Route(name, namespace, SERVICE_PROXY, name, namespace, _proxy_port(service))
    unused: list[str] = []
    for candidate in _candidates(api_client, name, namespace):
        entry = _controller_service(api_client, candidate)
        if entry is not None:
            ns, target, port = entry
            return Route(name, namespace, INGRESS, target, ns, port, candidate.path,
                         candidate.rule, candidate.host)  # fmt: skip
        unused.append(candidate.rule)
    if unused:
        note = (f"{', '.join(unused)} routes to {name}, but no Service of its ingress "
                "controller was found, so the requests go through the API server's proxy")  # fmt: skip
        return Route(**{**proxy.__dict__, "note": note})
    return proxy


def _proxy_port(service: Obj) -> int | str | None:
    ports = (service.get("spec") or {}).get("ports") or []
    if not ports:
        return None
    return _port_of(ports[0])


def _candidates(
    api_client: k8s.ApiClient, service: str, namespace: str
) -> list[_Candidate]:
    found = [
        *_http_routes(api_client, service, namespace),
        *_ingresses(api_client, service, namespace),
    ]
    return sorted(
        found, key=lambda c: (not c.rule.startswith("HTTPRoute"), c.host is not None)
    )


# -- Ingress ---------------------------------------------------------------------------


def _ingresses(
    api_client: k8s.ApiClient, service: str, namespace: str
) -> Iterator[_Candidate]:
    networking = k8s.NetworkingV1Api(api_client)
    with translated_errors():
        ingresses = api_client.sanitize_for_serialization(
            networking.list_namespaced_ingress(namespace)
        )["items"]
    for ingress in ingresses:
        controller, labels = _ingress_class(networking, ingress)
        rule = f"Ingress {ingress['metadata']['name']}"
        for path, host in _ingress_paths(ingress.get("spec") or {}, service):
            yield _Candidate(rule, path, host, controller, labels, None)


def _ingress_paths(spec: Obj, service: str) -> Iterator[tuple[str, str | None]]:
    for rule in spec.get("rules") or []:
        host = rule.get("host")
        if host and host.startswith("*"):
            continue
        for path in (rule.get("http") or {}).get("paths") or []:
            backend = (path.get("backend") or {}).get("service") or {}
            value = path.get("path") or "/"
            if backend.get("name") == service and not _REGEX.search(value):
                yield value, host
    default = (spec.get("defaultBackend") or {}).get("service") or {}
    if default.get("name") == service:
        yield "/", None


def _ingress_class(
    networking: k8s.NetworkingV1Api, ingress: Obj
) -> tuple[str | None, str | None]:
    """(controller, the class's labels as a selector) of the Ingress's class."""
    meta = ingress["metadata"]
    wanted = (ingress.get("spec") or {}).get("ingressClassName") or (
        meta.get("annotations") or {}).get("kubernetes.io/ingress.class")  # fmt: skip
    with translated_errors():
        listed = networking.list_ingress_class()
    classes = networking.api_client.sanitize_for_serialization(listed)["items"]
    if wanted:
        chosen = [c for c in classes if c["metadata"]["name"] == wanted]
    else:
        chosen = [
            c
            for c in classes
            if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
        ]
        chosen = chosen or (classes if len(classes) == 1 else [])
    if not chosen:
        return None, None
    return (chosen[0].get("spec") or {}).get("controller"), _label_selector(chosen[0])


# -- Gateway API -----------------------------------------------------------------------


def _http_routes(
    api_client: k8s.ApiClient, service: str, namespace: str
) -> Iterator[_Candidate]:
    custom = k8s.CustomObjectsApi(api_client)
    for route in _custom_list(custom, namespace, "httproutes"):
        spec = route.get("spec") or {}
        hosts = [h for h in spec.get("hostnames") or [] if not h.startswith("*")]
        host = hosts[0] if hosts else None
        parents = [
            _gateway_class(custom, p, namespace) for p in spec.get("parentRefs") or []
        ]
        controller, port = next((p for p in parents if p[0]), (None, None))
        rule = f"HTTPRoute {route['metadata']['name']}"
        for path in _route_paths(spec, service, namespace):
            yield _Candidate(rule, path, host, controller, None, port)


def _route_paths(spec: Obj, service: str, namespace: str) -> Iterator[str]:
    for rule in spec.get("rules") or []:
        refs = rule.get("backendRefs") or []
        if not any(_is_the_service(ref, service, namespace) for ref in refs):
            continue
        for match in rule.get("matches") or [{}]:
            path = match.get("path") or {"type": "PathPrefix", "value": "/"}
            plain = not (
                match.get("headers") or match.get("method") or match.get("queryParams")
            )
            if plain and path.get("type", "PathPrefix") in ("PathPrefix", "Exact"):
                yield str(path.get("value") or "/")


def _is_the_service(ref: Obj, service: str, namespace: str) -> bool:
    return (
        ref.get("name") == service
        and ref.get("kind", "Service") == "Service"
        and ref.get("group", "") == ""
        and ref.get("namespace", namespace) == namespace
    )


def _gateway_class(
    custom: k8s.CustomObjectsApi, parent: Obj, namespace: str
) -> tuple[str | None, int | None]:
    """(controllerName, listener port) of the Gateway a parentRef names."""
    if parent.get("kind", "Gateway") != "Gateway":
        return None, None
    gateway = _custom_get(
        custom, parent.get("namespace", namespace), "gateways", parent["name"]
    )
    spec = (gateway or {}).get("spec") or {}
    listeners = [
        x
        for x in spec.get("listeners") or []
        if parent.get("sectionName") in (None, x.get("name"))
    ]
    port = parent.get("port") or (listeners[0].get("port") if listeners else None)
    gateway_class = _custom_get(
        custom, None, "gatewayclasses", spec.get("gatewayClassName") or ""
    )
    controller = ((gateway_class or {}).get("spec") or {}).get("controllerName")
    return controller, port


def _custom_list(
    custom: k8s.CustomObjectsApi, namespace: str, plural: str
) -> list[Obj]:
    """The Gateway API's objects; none when the cluster does not serve them (kind)."""
    group, version = GATEWAY_API
    try:
        with translated_errors():
            found: Any = custom.list_namespaced_custom_object(
                group, version, namespace, plural
            )
    except NotFoundError:
        return []
    return list(found.get("items") or [])


def _custom_get(
    custom: k8s.CustomObjectsApi, namespace: str | None, plural: str, name: str
) -> Obj | None:
    group, version = GATEWAY_API
    if not name:
        return None
    try:
        with translated_errors():
            found: Any = (
                custom.get_cluster_custom_object(group, version, plural, name)
                if namespace is None
                else custom.get_namespaced_custom_object(
                    group, version, namespace, plural, name
                )
            )
    except NotFoundError:
        return None
    return dict(found)


# -- the controller's own Service ------------------------------------------------------


def _controller_service(
    api_client: k8s.ApiClient, candidate: _Candidate
) -> tuple[str, str, int | str] | None:
    """(namespace, name, port) of the Service in front of the candidate's controller."""
    selector = KNOWN_CONTROLLERS.get(candidate.controller or "") or candidate.labels
    if candidate.controller is None or not selector:
        return None
    core = k8s.CoreV1Api(api_client)
    with translated_errors():
        services = api_client.sanitize_for_serialization(
            core.list_service_for_all_namespaces(label_selector=selector))["items"]  # fmt: skip
    for service in sorted(
        services, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])
    ):
        port = _http_port(service, candidate.port)
        if port is not None:
            return service["metadata"]["namespace"], service["metadata"]["name"], port
    return None


def _http_port(service: Obj, listener: int | None) -> int | str | None:
    ports = (service.get("spec") or {}).get("ports") or []
    ranked = (
        [p for p in ports if listener is not None and p.get("port") == listener]
        + [p for p in ports if p.get("name") in HTTP_PORT_NAMES]
        + [p for p in ports if p.get("port") == 80]
    )
    if not ranked:
        return None
    return _port_of(ranked[0])


def _port_of(port: Obj) -> int | str:
    """A Service port as the proxy names it: by name when it has one."""
    return str(port["name"]) if port.get("name") else int(port["port"])


def _label_selector(obj: Obj) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    wanted = {
        k: v
        for k, v in labels.items()
        if k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")
    }
    return ",".join(f"{k}={v}" for k, v in sorted(wanted.items())) or None
