"""Traefik routing labels as routes: (host, path) -> Service port, with URL rewriting.

Compose users route with labels on each service, read by a Traefik container through
the Docker socket. In Kubernetes the routes become an Ingress (see `ingress`) and,
on request, Gateway API HTTPRoutes (see `gateway`); the cluster's ingress controller
or gateway plays Traefik's part. The middlewares that rewrite the path -
`stripprefix`, `addprefix` and `replacepathregex` when its regex is a plain prefix -
are folded into one *replacement prefix* per route: `PathPrefix(/api/orders)` with
`/api` stripped is "requests under /api/orders arrive under /orders", which is exactly
Gateway API's `ReplacePrefixMatch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubecourse.compose.context import Plan, Translation
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

MAX_ROUTERS = 200
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
    rewrite: str | None = None


def build_routes(t: Translation, plans: list[Plan]) -> set[str]:
    """Emit the Ingress (and with the gateway option the Gateway API objects).

    Returns the Kubernetes names of the Services that receive routed traffic.
    """
    routes = collect_routes(t, plans)
    if not routes:
        return set()
    from kubecourse.compose.gateway import emit_gateway
    from kubecourse.compose.ingress import emit_ingress

    emit_ingress(t, routes)
    if t.options.get("gateway"):
        emit_gateway(t, plans, routes)
    return {t.names[route.service] for route in routes}


def collect_routes(t: Translation, plans: list[Plan]) -> list[Route]:
    """Every usable route from every service's Traefik routers."""
    exposed_by_default = _exposed_by_default(plans)
    shared = _all_middlewares(plans)
    routes: list[Route] = []
    for plan in plans:
        if plan.kind is not None and _enabled(t, plan, exposed_by_default):
            routes += _service_routes(t, plan, shared)
    return _deduplicate(t, routes)


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
    ports = service_ports(plan.service.labels)
    found = routers(plan.service.labels)
    if len(found) > MAX_ROUTERS:
        t.warn(plan.service.name, "labels", f"{MAX_ROUTERS} routers",
               f"{len(found)} Traefik routers on one service; only the first "
               f"{MAX_ROUTERS} are translated")  # fmt: skip
    for router in found[:MAX_ROUTERS]:
        routes += _router_routes(t, plan, router, shared, ports)
    return routes


def _router_routes(
    t: Translation,
    plan: Plan,
    router: Router,
    shared: dict[str, dict[str, str]],
    ports: dict[str, str],
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
    port = _backend_port(t, plan, router, key, ports)
    if port is None:
        return []
    _note_router_options(t, plan, router, key)
    steps = _middleware_steps(t, plan, router, shared, key)
    routes = []
    for match in matches:
        if _usable(t, plan, match, key):
            strip, rewrite = _rewrite(t, plan, key, match.path, steps)
            routes.append(
                Route(plan.service.name, router.name, match, port, strip, rewrite)
            )
    return routes


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


def _backend_port(
    t: Translation, plan: Plan, router: Router, key: str, ports: dict[str, str]
) -> int | None:
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


Step = tuple[str, str, str]  # (kind, argument, replacement)
_PROBES = ("", "/x", "/x/y.z")


def _middleware_steps(
    t: Translation,
    plan: Plan,
    router: Router,
    shared: dict[str, dict[str, str]],
    key: str,
) -> list[Step]:
    """The router's path-rewriting middlewares, in order; the rest are warned."""
    steps: list[Step] = []
    for raw in router.attributes.get("middlewares", "").split(","):
        name = raw.strip().split("@", 1)[0]
        if not name:
            continue
        middleware = shared.get(name)
        step = _step(middleware) if middleware is not None else None
        if step is not None:
            steps += step
            continue
        kind = (
            middleware["type"] if middleware else "defined outside the compose labels"
        )
        t.warn(plan.service.name, f"{key}.middlewares", "(dropped)",
               f"middleware `{name}` ({kind}) has no Ingress or HTTPRoute equivalent; "
               "configure it on the ingress controller")  # fmt: skip
    return steps


def _step(middleware: dict[str, str]) -> list[Step] | None:
    kind = middleware["type"]
    if kind == "stripprefix":
        prefixes = [p.strip() for p in middleware.get("prefixes", "").split(",")]
        return [("strip", ",".join(p for p in prefixes if p), "")]
    if kind == "addprefix" and middleware.get("prefix", "").startswith("/"):
        return [("add", middleware["prefix"], "")]
    if kind == "replacepathregex" and "regex" in middleware:
        return [("replace", middleware["regex"], middleware.get("replacement", ""))]
    return None


def _rewrite(
    t: Translation, plan: Plan, key: str, path: str, steps: list[Step]
) -> tuple[str | None, str | None]:
    """(prefix stripped, replacement for the matched path) after the steps."""
    current, stripped = path, None
    for kind, argument, replacement in steps:
        try:
            current, removed = _apply(kind, argument, replacement, current)
        except RewriteError as exc:
            t.warn(plan.service.name, f"{key}.middlewares", "(not rewritten)",
                   f"{exc}; requests for {path} reach the backend unchanged")  # fmt: skip
            return None, None
        stripped = stripped or removed
    if current == path:
        return None, None
    only_strip = all(kind == "strip" for kind, _, _ in steps)
    return (stripped if only_strip else None), current


class RewriteError(ValueError):
    """A rewrite that cannot be expressed as one replacement of the matched path."""


def _apply(
    kind: str, argument: str, replacement: str, current: str
) -> tuple[str, str | None]:
    if kind == "strip":
        fitting = [
            p
            for p in argument.split(",")
            if p and current.startswith(p.rstrip("/") or "/")
        ]
        if not fitting:
            raise RewriteError(
                f"the stripped prefix {argument} is not part of the path {current}"
            )
        prefix = max(fitting, key=len)
        return current[len(prefix.rstrip("/")) :] or "/", prefix
    if kind == "add":
        return argument.rstrip("/") + current, None
    return _regex(argument, replacement, current), None


def _regex(regex: str, replacement: str, current: str) -> str:
    try:
        pattern = re.compile(regex)
        python = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement)
        results = [pattern.sub(python, current + probe, count=1) for probe in _PROBES]
    except (re.error, IndexError) as exc:
        raise RewriteError(f"the regex `{regex}` cannot be used here ({exc})") from None
    base = results[0].rstrip("/")
    pairs = zip(results[1:], _PROBES[1:], strict=True)
    if any(result != base + probe for result, probe in pairs):
        raise RewriteError(
            f"replacepathregex `{regex}` -> `{replacement}` changes more than the "
            "beginning of the path, which Ingress and HTTPRoute cannot express"
        )
    if not results[0].startswith("/"):
        raise RewriteError(f"replacepathregex turns the path into `{results[0]}`")
    return base or "/"


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
