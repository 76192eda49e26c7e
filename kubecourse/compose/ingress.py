"""The project's routes as one `networking.k8s.io/v1` Ingress.

Path rewriting has no field in the Ingress API (each controller has its own
annotation or CRD), so it is recorded in annotations that no controller reads (one
warning per rewritten route says so) and a learner can translate for a real controller:

- `kubecourse.io/strip-prefix`: JSON object mapping each path (`host/path`, or `/path`
  without a host) to the prefix Traefik's stripprefix removed;
- `kubecourse.io/rewrite-prefix`: JSON object mapping each rewritten path to the
  path that replaces it (every rewrite, strip, addprefix or replacepathregex, in
  one form: `{"/api/orders": "/orders"}`).

On a real cluster, ingress-nginx does this with `nginx.ingress.kubernetes.io/rewrite-target`
and a regex path, and Traefik with a `Middleware` object named in
`traefik.ingress.kubernetes.io/router.middlewares`; Gateway API has it built in.
"""

from __future__ import annotations

import json
from typing import Any

from kubecourse.compose.context import STRIP_PREFIX_ANNOTATION, Manifest, Translation
from kubecourse.compose.routes import Route

REWRITE_ANNOTATION = "kubecourse.io/rewrite-prefix"


def emit_ingress(t: Translation, routes: list[Route]) -> Manifest:
    """One Ingress for every route, longest paths first."""
    by_host: dict[str | None, list[Route]] = {}
    for route in sorted(routes, key=lambda r: (-len(r.match.path), r.match.path)):
        by_host.setdefault(route.match.host, []).append(route)
    rules = [_rule(t, host, items) for host, items in by_host.items()]
    manifest: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": t.project.name}, "spec": {"rules": rules},
    }  # fmt: skip
    annotations = _rewrite_annotations(routes)
    if annotations:
        manifest["metadata"]["annotations"] = annotations
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


def _rewrite_annotations(routes: list[Route]) -> dict[str, str]:
    annotations = {}
    strips = {_strip_key(r): r.strip for r in routes if r.strip}
    if strips:
        annotations[STRIP_PREFIX_ANNOTATION] = json.dumps(strips)
    rewrites = {_strip_key(r): r.rewrite for r in routes if r.rewrite}
    if rewrites:
        annotations[REWRITE_ANNOTATION] = json.dumps(rewrites)
    return annotations


def _strip_key(route: Route) -> str:
    return f"{route.match.host or ''}{route.match.path}"


def _explain(t: Translation, routes: list[Route]) -> None:
    for route in routes:
        target = f"Ingress/{t.project.name} {route.match.host or ''}{route.match.path} ({route.match.path_type})"
        why = (f"Traefik router `{route.router}` becomes an Ingress path sending "
               f"requests to Service {t.names[route.service]} port {route.port}")  # fmt: skip
        if route.rewrite:
            why += _why_rewrite(route)
        t.decide(
            route.service,
            f"labels.traefik.http.routers.{route.router}.rule",
            target,
            why,
        )
        if route.rewrite:
            _warn_rewrite(t, route, target)


def _warn_rewrite(t: Translation, route: Route, target: str) -> None:
    """The rewrite lives only in annotations no real ingress controller reads."""
    path = route.match.path
    sample = f"{path.rstrip('/')}/1"
    what = f"strip the prefix `{route.strip}`" if route.strip else "rewrite the path"
    why = (f"the Ingress alone will not {what} on a real ingress controller: a request "
           f"for {sample} reaches {t.names[route.service]} unchanged, as {sample}. The "
           f"{REWRITE_ANNOTATION} annotation only records the rewrite; no ingress "
           "controller reads it. ")  # fmt: skip
    if t.options.get("gateway"):
        why += ("The HTTPRoute generated with `--gateway` does the rewrite with the "
                "standard URLRewrite filter; to keep using the Ingress, add your "
                "controller's own rewrite (ingress-nginx: a regex path and "
                "nginx.ingress.kubernetes.io/rewrite-target; Traefik: a Middleware "
                "object named in traefik.ingress.kubernetes.io/router.middlewares)")  # fmt: skip
    else:
        why += ("Pass `--gateway` (or `gateway=True` in Python) for an HTTPRoute that "
                "does it with the standard URLRewrite filter, or add your controller's "
                "own rewrite (ingress-nginx: a regex path and nginx.ingress.kubernetes.io/"
                "rewrite-target; Traefik: a Middleware object named in "
                "traefik.ingress.kubernetes.io/router.middlewares)")  # fmt: skip
    t.warn(route.service, f"labels.traefik.http.routers.{route.router}.middlewares",
           f"{target}: annotation only", why)  # fmt: skip


def _why_rewrite(route: Route) -> str:
    path, rewrite = route.match.path, str(route.rewrite)
    sample = f"{path.rstrip('/')}/1"
    arrives = (
        f"{rewrite.rstrip('/')}/1" if route.match.path_type == "Prefix" else rewrite
    )
    what = f"removed `{route.strip}`" if route.strip else "rewrote the path"
    return (f"; Traefik's middleware {what} first, so a request for {sample} arrives as "
            f"{arrives}. The Ingress API has no field for this, so it is recorded in "
            f"the {REWRITE_ANNOTATION} annotation"
            + (f" (and {STRIP_PREFIX_ANNOTATION})" if route.strip else "")
            + "; on ingress-nginx use a regex path with nginx.ingress.kubernetes.io/"
            "rewrite-target, on Traefik a Middleware object, or use the Gateway API "
            "output (`--gateway`, or `gateway=True` in Python), where URLRewrite is "
            "standard")  # fmt: skip


def _summary(routes: list[Route]) -> str:
    return (f"{len(routes)} route(s) from the Traefik labels; the cluster's ingress "
            "controller plays the part of the Traefik proxy")  # fmt: skip
