"""Traefik routing labels as one `networking.k8s.io/v1` Ingress for the project.

Compose users route with labels on each service, read by a Traefik container through
the Docker socket. In Kubernetes the routes are an Ingress object and the cluster's
ingress controller plays Traefik's part. Prefix stripping has no field in the Ingress
API (each controller has its own annotation or CRD), so it is recorded explicitly in
the annotation `kubecourse.io/strip-prefix`: a JSON object mapping each path
(`host/path`, or `/path` without a host) to the prefix removed before the request
reaches the backend.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kubecourse.compose.context import (
    STRIP_PREFIX_ANNOTATION,
    Manifest,
    Plan,
    Translation,
)
from kubecourse.compose.images import is_traefik_proxy
from kubecourse.compose.traefik import (
    Match,
    Router,
    RuleError,
    middlewares,
    parse_rule,
    routers,
    service_ports,
)

_HOST = re.compile(
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


@dataclass(frozen=True)
class Route:
    """One path of the Ingress and where it came from."""

    service: str
    router: str
    match: Match
    port: int
    strip: str | None


def build_ingress(t: Translation, plans: list[Plan]) -> Manifest | None:
    """The project's Ingress from every service's Traefik routers, or None."""
    exposed_by_default = _exposed_by_default(plans)
    shared = _all_middlewares(plans)
    routes: list[Route] = []
    for plan in plans:
        if plan.kind is not None and _enabled(t, plan, exposed_by_default):
            routes += _service_routes(t, plan, shared)
    routes = _deduplicate(t, routes)
    if not routes:
        return None
    return _emit(t, plans, routes)


def _exposed_by_default(plans: list[Plan]) -> bool:
    for plan in plans:
        if plan.kind is None and is_traefik_proxy(plan.service.image):
            argv = [*(plan.service.entrypoint or []), *(plan.service.command or [])]
            return "--providers.docker.exposedbydefault=false" not in argv
    return True


def _all_middlewares(plans: list[Plan]) -> dict[str, dict[str, str]]:
    """Traefik's docker provider shares middlewares across containers, so merge them."""
    found: dict[str, dict[str, str]] = {}
    for plan in plans:
        found.update(middlewares(plan.service.labels))
    return found


def _enabled(t: Translation, plan: Plan, exposed_by_default: bool) -> bool:
    labels = plan.service.labels
    flag = labels.get("traefik.enable", "").lower()
    if flag == "true" or (flag != "false" and exposed_by_default):
        return True
    if routers(labels):
        t.decide(plan.service.name, "labels.traefik.enable", "(not routed)",
                 "Traefik ignores this service (traefik.enable is not true and the proxy "
                 "does not expose services by default), so the Ingress does too")  # fmt: skip
    return False


def _service_routes(
    t: Translation, plan: Plan, shared: dict[str, dict[str, str]]
) -> list[Route]:
    routes: list[Route] = []
    for router in routers(plan.service.labels):
        routes += _router_routes(t, plan, router, shared)
    return routes


def _router_routes(
    t: Translation, plan: Plan, router: Router, shared: dict[str, dict[str, str]]
) -> list[Route]:
    key = f"labels.traefik.http.routers.{router.name}"
    rule = router.attributes.get("rule")
    if rule is None:
        t.warn(
            plan.service.name,
            key,
            "(not routed)",
            "the router has no rule; add `.rule`",
        )
        return []
    try:
        matches = parse_rule(rule)
    except RuleError as exc:
        t.warn(plan.service.name, f"{key}.rule", "(not routed)", str(exc))
        return []
    port = _backend_port(t, plan, router, key)
    if port is None:
        return []
    _note_router_options(t, plan, router, key)
    prefixes = _strip_prefixes(t, plan, router, shared, key)
    return [
        Route(
            plan.service.name,
            router.name,
            match,
            port,
            _strip_for(match.path, prefixes),
        )
        for match in matches
        if _usable(t, plan, match, key)
    ]


def _usable(t: Translation, plan: Plan, match: Match, key: str) -> bool:
    if match.host is not None and not _HOST.match(match.host):
        t.warn(plan.service.name, f"{key}.rule", "(not routed)",
               f"`{match.host}` is not a valid DNS host name for an Ingress rule")  # fmt: skip
        return False
    if not match.path.startswith("/") or "{" in match.path:
        t.warn(plan.service.name, f"{key}.rule", "(not routed)",
               f"the path `{match.path}` is a pattern, not a plain path an Ingress can match")  # fmt: skip
        return False
    return True


def _backend_port(t: Translation, plan: Plan, router: Router, key: str) -> int | None:
    ports = service_ports(plan.service.labels)
    chosen = ports.get(router.attributes.get("service", ""))
    if chosen is None and len(ports) == 1:
        chosen = next(iter(ports.values()))
    if chosen is not None and chosen.isdigit():
        return int(chosen)
    if len(plan.ports) >= 1:
        if len(plan.ports) > 1:
            t.warn(plan.service.name, key, f"port {plan.ports[0].container}",
                   "several ports and no loadbalancer.server.port label; the first "
                   "port is used, as Traefik would")  # fmt: skip
        return plan.ports[0].container
    t.warn(plan.service.name, key, "(not routed)",
           "no port is known for this service; add `expose:` or a "
           "loadbalancer.server.port label")  # fmt: skip
    return None


def _strip_prefixes(
    t: Translation,
    plan: Plan,
    router: Router,
    shared: dict[str, dict[str, str]],
    key: str,
) -> list[str]:
    prefixes: list[str] = []
    for raw in router.attributes.get("middlewares", "").split(","):
        name = raw.strip().split("@", 1)[0]
        if not name:
            continue
        middleware = shared.get(name)
        if middleware is not None and middleware["type"] == "stripprefix":
            prefixes += [
                p.strip()
                for p in middleware.get("prefixes", "").split(",")
                if p.strip()
            ]
            continue
        kind = (
            middleware["type"] if middleware else "defined outside the compose labels"
        )
        t.warn(plan.service.name, f"{key}.middlewares", "(dropped)",
               f"middleware `{name}` ({kind}) has no Ingress equivalent; configure it "
               "on the ingress controller")  # fmt: skip
    return prefixes


def _strip_for(path: str, prefixes: list[str]) -> str | None:
    """The prefix Traefik would strip from requests on `path` (the longest that fits)."""
    fitting = [
        prefix for prefix in prefixes if path.startswith(prefix.rstrip("/") or "/")
    ]
    return max(fitting, key=len) if fitting else None


def _note_router_options(t: Translation, plan: Plan, router: Router, key: str) -> None:
    name = plan.service.name
    attributes = router.attributes
    if "entrypoints" in attributes:
        t.decide(name, f"{key}.entrypoints", "(ingress controller)",
                 "entrypoints are the proxy's listening ports; the ingress controller "
                 "listens on 80 and 443 for every Ingress")  # fmt: skip
    if "priority" in attributes:
        t.decide(name, f"{key}.priority", "(path length)",
                 "an Ingress always prefers the longest matching path, so `/` only "
                 "receives what no longer path matches, as the low priority intended")  # fmt: skip
    if any(option.startswith("tls") for option in attributes):
        t.warn(name, f"{key}.tls", "(not translated)",
               "TLS needs a certificate Secret and `spec.tls` on the Ingress (or "
               "cert-manager in place of the certresolver); not generated yet")  # fmt: skip


def _deduplicate(t: Translation, routes: list[Route]) -> list[Route]:
    kept: dict[tuple[str | None, str, str], Route] = {}
    for route in routes:
        key = (route.match.host, route.match.path, route.match.path_type)
        if key in kept:
            t.warn(route.service, f"labels.traefik.http.routers.{route.router}", "(dropped)",
                   f"the path {route.match.path} is already routed to {kept[key].service}")  # fmt: skip
            continue
        kept[key] = route
    return list(kept.values())


def _emit(t: Translation, plans: list[Plan], routes: list[Route]) -> Manifest:
    by_host: dict[str | None, list[Route]] = {}
    for route in sorted(routes, key=lambda r: (-len(r.match.path), r.match.path)):
        by_host.setdefault(route.match.host, []).append(route)
    rules = [_rule(t, host, items) for host, items in by_host.items()]
    manifest: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": t.project.name}, "spec": {"rules": rules},
    }  # fmt: skip
    strips = {_strip_key(r): r.strip for r in routes if r.strip}
    if strips:
        manifest["metadata"]["annotations"] = {
            STRIP_PREFIX_ANNOTATION: json.dumps(strips)
        }
    services = tuple(dict.fromkeys(route.service for route in routes))
    _explain(t, routes)
    return t.emit(manifest, services, _summary(routes))


def _rule(t: Translation, host: str | None, routes: list[Route]) -> dict[str, Any]:
    paths = [_path(t, route) for route in routes]
    rule: dict[str, Any] = {"http": {"paths": paths}}
    if host is not None:
        rule = {"host": host, **rule}
    return rule


def _path(t: Translation, route: Route) -> dict[str, Any]:
    backend = {"name": t.names[route.service], "port": {"number": route.port}}
    return {"path": route.match.path, "pathType": route.match.path_type,
            "backend": {"service": backend}}  # fmt: skip


def _strip_key(route: Route) -> str:
    return f"{route.match.host or ''}{route.match.path}"


def _explain(t: Translation, routes: list[Route]) -> None:
    for route in routes:
        target = f"Ingress/{t.project.name} {route.match.host or ''}{route.match.path} ({route.match.path_type})"
        why = (f"Traefik router `{route.router}` becomes an Ingress path sending "
               f"requests to Service {t.names[route.service]} port {route.port}")  # fmt: skip
        if route.strip:
            why += (f"; the stripprefix middleware removed `{route.strip}` first, so a "
                    f"request for {route.match.path}/1 arrives as "
                    f"{route.match.path[len(route.strip.rstrip('/')):] or '/'}/1 "
                    f"(recorded in the {STRIP_PREFIX_ANNOTATION} annotation, since the "
                    "Ingress API has no field for it)")  # fmt: skip
        t.decide(
            route.service,
            f"labels.traefik.http.routers.{route.router}.rule",
            target,
            why,
        )


def _summary(routes: list[Route]) -> str:
    return (f"{len(routes)} route(s) from the Traefik labels; the cluster's ingress "
            "controller plays the part of the Traefik proxy")  # fmt: skip
