"""The project's routes as Gateway API objects: one Gateway and HTTPRoutes.

Optional (`gateway=True`): the Gateway API is the Ingress's successor, but its kinds
are CRDs that a cluster may not have installed. The Gateway stands where the Traefik
container stood (a listener on port 80); each compose service with routes gets an
HTTPRoute per host. Unlike the Ingress, HTTPRoute has standard path rewriting: the
`URLRewrite` filter with `ReplacePrefixMatch` (or `ReplaceFullPath` for exact paths)
does what Traefik's stripprefix, addprefix and replacepathregex middlewares did.
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import Manifest, Plan, Translation
from kubecourse.compose.names import clean_name, derived_name
from kubecourse.compose.routes import Route

GATEWAY_API = "gateway.networking.k8s.io/v1"
GATEWAY_CLASS = "kubecourse"
_PATH_TYPES = {"Prefix": "PathPrefix", "Exact": "Exact"}


def emit_gateway(
    t: Translation, plans: list[Plan], routes: list[Route]
) -> list[Manifest]:
    """The Gateway and one HTTPRoute per (compose service, host)."""
    gateway = _gateway(t, plans, routes)
    groups: dict[tuple[str, str | None], list[Route]] = {}
    for route in sorted(routes, key=lambda r: (-len(r.match.path), r.match.path)):
        groups.setdefault((route.service, route.match.host), []).append(route)
    hosts_per_service: dict[str, int] = {}
    for service, _ in groups:
        hosts_per_service[service] = hosts_per_service.get(service, 0) + 1
    emitted = [gateway]
    for (service, host), items in groups.items():
        name = t.names[service]
        if hosts_per_service[service] > 1:
            name = derived_name(name, clean_name(host or "any-host") or "host")
        emitted.append(_http_route(t, name, host, items))
    return emitted


def _gateway(t: Translation, plans: list[Plan], routes: list[Route]) -> Manifest:
    manifest = {
        "apiVersion": GATEWAY_API, "kind": "Gateway",
        "metadata": {"name": t.project.name},
        "spec": {"gatewayClassName": GATEWAY_CLASS,
                 "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]},
    }  # fmt: skip
    proxy = [p.service.name for p in plans if p.role == "proxy"]
    why = ("the entry point that the Traefik container was: a listener on port 80 that "
           f"the HTTPRoutes attach to. gatewayClassName `{GATEWAY_CLASS}` names the "
           "embedded cluster's gateway; on another cluster use its class (for example "
           "`eg` for Envoy Gateway, `nginx` for NGINX Gateway Fabric, `traefik`)")  # fmt: skip
    for service in proxy:
        t.decide(service, "image", f"Gateway/{t.project.name}", why)
    users = tuple(dict.fromkeys([*proxy, *(r.service for r in routes)]))
    return t.emit(manifest, users, why)


def _http_route(
    t: Translation, name: str, host: str | None, routes: list[Route]
) -> Manifest:
    spec: dict[str, Any] = {"parentRefs": [{"name": t.project.name}]}
    if host is not None:
        spec["hostnames"] = [host]
    spec["rules"] = [_rule(t, route) for route in routes]
    manifest = {"apiVersion": GATEWAY_API, "kind": "HTTPRoute",
                "metadata": {"name": name}, "spec": spec}  # fmt: skip
    service = routes[0].service
    for route in routes:
        t.decide(service, f"labels.traefik.http.routers.{route.router}.rule",
                 f"HTTPRoute/{name} {host or ''}{route.match.path}", _why(route))  # fmt: skip
    return t.emit(
        manifest, (service,), f"the Traefik routers of {service} as Gateway API rules"
    )


def _rule(t: Translation, route: Route) -> dict[str, Any]:
    path_type = _PATH_TYPES[route.match.path_type]
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": path_type, "value": route.match.path}}],
    }
    if route.rewrite is not None:
        rule["filters"] = [
            {"type": "URLRewrite", "urlRewrite": {"path": _rewrite(route)}}
        ]
    rule["backendRefs"] = [{"name": t.names[route.service], "port": route.port}]
    return rule


def _rewrite(route: Route) -> dict[str, str]:
    if route.match.path_type == "Prefix":
        return {"type": "ReplacePrefixMatch", "replacePrefixMatch": str(route.rewrite)}
    return {"type": "ReplaceFullPath", "replaceFullPath": str(route.rewrite)}


def _why(route: Route) -> str:
    why = (f"Traefik router `{route.router}` as an HTTPRoute rule to port {route.port}; "
           "the longest matching path wins, as in an Ingress")  # fmt: skip
    if route.rewrite is not None:
        kind = (
            "ReplacePrefixMatch"
            if route.match.path_type == "Prefix"
            else "ReplaceFullPath"
        )
        why += (f"; the middleware's rewrite is the standard URLRewrite filter: {kind} "
                f"{route.match.path} -> {route.rewrite}")  # fmt: skip
    return why
