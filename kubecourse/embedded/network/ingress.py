"""The `traefik` image as the cluster's ingress controller: Ingress and HTTPRoute rules.

A Traefik Pod listens on its entrypoints (`--entrypoints.<name>.address=:P`, `:80` when
none is given) and routes each request by the rules it watches, as Traefik's
`kubernetesingress` and `kubernetesgateway` providers do:

- **Ingress** objects of its class: `spec.ingressClassName` naming an IngressClass
  whose `spec.controller` is `traefik.io/ingress-controller`, or no class at all.  A
  rule's `host` must equal the request's Host (`*.example.com` matches one label);
  `pathType: Exact` matches the path exactly, `Prefix` (and `ImplementationSpecific`)
  whole path segments, as the Ingress API defines it (Traefik 3.4+ with
  `strictPrefixMatching`); `defaultBackend` takes what no rule matched.  The Ingress API
  has no rewrite, so the path reaches the backend unchanged.
- **HTTPRoutes** attached (`parentRefs`) to a Gateway of a GatewayClass whose
  `controllerName` is `traefik.io/gateway-controller`, on a listener whose port is the
  entrypoint's and which admits the route (`allowedRoutes.namespaces.from`: Same, All,
  Selector; `sectionName`), with `hostnames` (or the listener's); matches on the path
  (`PathPrefix` by segments, `Exact`, `RegularExpression`), `method`, `headers`
  (Exact) and `queryParams` (Exact); filters `URLRewrite` (`ReplacePrefixMatch`,
  `ReplaceFullPath`, `hostname`), `RequestHeaderModifier` (set / add / remove) and
  `RequestRedirect` (a 302 or the given status); `backendRefs` by weight.

The most specific match wins: a route with a host before one without, an exact path
before a prefix, the longer path, more header and query matches, HTTPRoute rules
before Ingress paths, then the oldest object.  The chosen backend Service's ready
endpoints take turns (Traefik's round robin) and the request goes straight to the Pod,
from the Traefik Pod (so NetworkPolicies see the controller's namespace), with Traefik's
headers: `X-Forwarded-For`, `-Host`, `-Port`, `-Proto`, `-Server`, `X-Real-Ip` and
`Accept-Encoding: gzip`.  No match: `404 page not found`.  A backend without ready
endpoints is skipped, as Traefik drops such a service.  A Pod that refuses or sends
nothing: 502 `Bad Gateway`; one that never answers: 504 `Gateway Timeout` after the
dial timeout (`Timings.proxy_dial_timeout`).

Simplified: no TLS, middlewares (Traefik's own CRDs are not served), sticky sessions,
or Ingress / Gateway status; Traefik's `PathPrefix` in a `Host` rule label is not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.network.http import Request, Response, without
from kubecourse.embedded.network.servers import Host, HttpServer, go_response
from kubecourse.embedded.network.wire import EmptyReply, NetError, Peer, exchange

Obj = dict[str, Any]
INGRESS_CONTROLLER = "traefik.io/ingress-controller"
GATEWAY_CONTROLLER = "traefik.io/gateway-controller"
INGRESSES = "ingresses.networking.k8s.io"
INGRESS_CLASSES = "ingressclasses.networking.k8s.io"
GATEWAYS = "gateways.gateway.networking.k8s.io"
GATEWAY_CLASSES = "gatewayclasses.gateway.networking.k8s.io"
ROUTES = "httproutes.gateway.networking.k8s.io"
# What Traefik removes from a client it does not trust (forwardedHeaders.insecure off).
UNTRUSTED = ("X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port",
             "X-Forwarded-Server", "X-Forwarded-Uri", "X-Forwarded-Method",
             "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info", "X-Real-Ip")  # fmt: skip
HOP_BY_HOP = (
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Transfer-Encoding",
    "Upgrade",
    "Te",
    "Trailer",
)


@dataclass
class Backend:
    namespace: str
    service: str
    port: int | str  # a Service port number, or its name (Ingress)
    weight: int = 1


@dataclass
class Route:
    """One match of one rule, with what to do when it wins."""

    host: str | None  # None: any host
    path: str
    kind: str  # "Exact", "Prefix" or "RegularExpression"
    backends: list[Backend]
    gateway: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)
    queries: list[tuple[str, str]] = field(default_factory=list)
    method: str | None = None
    filters: list[Obj] = field(default_factory=list)
    created: str = ""

    def rank(self) -> tuple[int, int, int, int, int, int]:
        return (self.host is not None, self.kind == "Exact", len(self.path),
                self.method is not None, len(self.headers) + len(self.queries), self.gateway)  # fmt: skip


class Traefik(HttpServer):
    def __init__(self, host: Host) -> None:
        ports = set()
        for word in host.words:
            match = re.fullmatch(
                r"--entry[pP]oints\.[^.=]+\.address=[^:]*:(\d+)(/tcp)?", word
            )
            if match:
                ports.add(int(match.group(1)))
        super().__init__(host, ports or {80})

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        network = self.host.network
        routes = ingress_routes(network.store) + gateway_routes(network.store, port)
        route = best(routes, request, lambda b: bool(self._endpoints(b)))
        if route is None:
            return not_found(request)
        redirect = _redirect(route, request)
        if redirect is not None:
            return redirect
        backend = _weighted(route.backends, network.random)
        endpoints = self._endpoints(backend)
        if not endpoints:
            return go_response(503, b"no available server\n", request=request)
        uid = str(self.host.pod["metadata"].get("uid"))
        key = (uid, backend.namespace, backend.service, str(backend.port))
        turn = network.turns.get(key, -1) + 1
        network.turns[key] = turn
        ip, target = endpoints[turn % len(endpoints)]
        return await self._forward(
            rewrite(route, request), ip, target, client, port, request
        )

    def _endpoints(self, backend: Backend) -> list[tuple[str, int]]:
        network = self.host.network
        svc = network.store.get("services", backend.namespace, backend.service)
        if svc is None:
            return []
        for entry in svc["spec"].get("ports") or []:
            if backend.port in (entry.get("port"), entry.get("name")):
                return [(e.ip, e.port) for e in network.usable_endpoints(svc, entry)]
        return []

    async def _forward(
        self,
        upstream: Request,
        ip: str,
        port: int,
        client: Peer,
        entry_port: int,
        original: Request,
    ) -> Response:
        network = self.host.network
        upstream.headers = self._forwarded_headers(upstream, client, entry_port)
        try:
            conn = network.connect(network.source_of(self.host.pod), ip, port)
            answer = await exchange(conn, upstream)
        except NetError as err:
            if err.kind == "timeout":
                await network.wait(network.timings.proxy_dial_timeout)
                return go_response(504, b"Gateway Timeout", request=original)
            return go_response(502, b"Bad Gateway", request=original)
        except EmptyReply:
            return go_response(502, b"Bad Gateway", request=original)
        headers = sorted(without(answer.headers, *HOP_BY_HOP))
        if not original.keep_alive:
            headers.append(("Connection", "close"))
        return Response(
            answer.status or 502, headers, answer.body, reason=answer.reason
        )

    def _forwarded_headers(
        self, request: Request, client: Peer, port: int
    ) -> list[tuple[str, str]]:
        kept = without(request.headers, *HOP_BY_HOP, *UNTRUSTED)
        host = request.header("Host") or ""
        forwarded_port = (
            host.rsplit(":", 1)[1] if ":" in host else str(port if port != 80 else 80)
        )
        if request.header("Accept-Encoding") is None:
            kept.append(("Accept-Encoding", "gzip"))
        return kept + [
            ("X-Forwarded-For", client.ip), ("X-Forwarded-Host", host),
            ("X-Forwarded-Port", forwarded_port), ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Server", self.host.hostname), ("X-Real-Ip", client.ip),
        ]  # fmt: skip


def not_found(request: Request) -> Response:
    return go_response(404, b"404 page not found\n", headers=[("X-Content-Type-Options", "nosniff")],
                       request=request)  # fmt: skip


# -- choosing a route ------------------------------------------------------------------------


def best(routes: list[Route], request: Request, available: Any = None) -> Route | None:
    host = (request.header("Host") or "").split(":")[0].lower()
    matching = [r for r in routes if _matches(r, host, request)]
    if available is not None:
        matching = [
            r
            for r in matching
            if any(available(b) for b in r.backends) or _redirects(r)
        ]
    if not matching:
        return None
    matching.sort(key=lambda r: r.created)
    return max(matching, key=lambda r: r.rank())


def _matches(route: Route, host: str, request: Request) -> bool:
    if route.host is not None and not _host_matches(route.host, host):
        return False
    if route.method is not None and route.method != request.method:
        return False
    if any((request.header(name) or None) != value for name, value in route.headers):
        return False
    query = dict(pair.partition("=")[::2] for pair in request.query.split("&") if pair)
    if any(query.get(name) != value for name, value in route.queries):
        return False
    return path_matches(route.kind, route.path, request.path)


def _host_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    return host == pattern


def path_matches(kind: str, path: str, requested: str) -> bool:
    if kind == "Exact":
        return requested == path
    if kind == "RegularExpression":
        return re.match(path, requested) is not None
    prefix = path.rstrip("/")
    return not prefix or requested == prefix or requested.startswith(prefix + "/")


def _weighted(backends: list[Backend], rng: Any) -> Backend:
    weights = [max(b.weight, 0) for b in backends]
    if not any(weights):
        return backends[0]
    return rng.choices(backends, weights=weights)[0]  # type: ignore[no-any-return]


def rewrite(route: Route, request: Request) -> Request:
    """The request as the backend receives it (URLRewrite, RequestHeaderModifier)."""
    target, headers = request.target, list(request.headers)
    for item in route.filters:
        kind = item.get("type")
        if kind == "URLRewrite":
            spec = item.get("urlRewrite") or {}
            target = _rewritten_path(route, (spec.get("path") or {}), request)
            if spec.get("hostname"):
                headers = [*without(headers, "Host"), ("Host", str(spec["hostname"]))]
        elif kind == "RequestHeaderModifier":
            headers = _modified(headers, item.get("requestHeaderModifier") or {})
    return Request(request.method, target, "HTTP/1.1", headers, request.body)


def _rewritten_path(route: Route, spec: Obj, request: Request) -> str:
    query = "?" + request.query if request.query else ""
    if spec.get("type") == "ReplaceFullPath":
        return str(spec.get("replaceFullPath") or "/") + query
    if spec.get("type") != "ReplacePrefixMatch" or route.kind != "Prefix":
        return request.target
    replacement = str(spec.get("replacePrefixMatch") or "/")
    rest = request.path[len(route.path.rstrip("/")) :]
    if replacement.endswith("/") and rest.startswith("/"):
        rest = rest[1:]
    return (replacement + rest or "/") + query


def _modified(headers: list[tuple[str, str]], spec: Obj) -> list[tuple[str, str]]:
    for entry in spec.get("set") or []:
        headers = [
            *without(headers, str(entry["name"])),
            (str(entry["name"]), str(entry["value"])),
        ]
    for entry in spec.get("add") or []:
        headers.append((str(entry["name"]), str(entry["value"])))
    return without(headers, *[str(name) for name in spec.get("remove") or []])


def _redirects(route: Route) -> bool:
    return any(f.get("type") == "RequestRedirect" for f in route.filters)


def _redirect(route: Route, request: Request) -> Response | None:
    for item in route.filters:
        if item.get("type") != "RequestRedirect":
            continue
        spec = item.get("requestRedirect") or {}
        host = spec.get("hostname") or (request.header("Host") or "").split(":")[0]
        scheme = spec.get("scheme") or "http"
        port = f":{spec['port']}" if spec.get("port") else ""
        path = (
            _rewritten_path(route, spec.get("path") or {}, request)
            if spec.get("path")
            else request.target
        )
        location = f"{scheme}://{host}{port}{path}"
        return go_response(int(spec.get("statusCode") or 302), b"", headers=[("Location", location)],
                           request=request)  # fmt: skip
    return None


# -- the rules Traefik watches ------------------------------------------------------------------


def ingress_routes(store: Any) -> list[Route]:
    """Routes from the Ingresses of Traefik's class (or of no class)."""
    ours = {c["metadata"]["name"] for c in store.items(INGRESS_CLASSES)
            if (c.get("spec") or {}).get("controller") == INGRESS_CONTROLLER}  # fmt: skip
    routes: list[Route] = []
    for ing in store.items(INGRESSES):
        spec, meta = ing.get("spec") or {}, ing["metadata"]
        legacy = (meta.get("annotations") or {}).get("kubernetes.io/ingress.class")
        cls = spec.get("ingressClassName") or legacy
        if cls is not None and cls not in ours and cls != "traefik":
            continue
        routes += _ingress_rules(meta, spec)
    return routes


def _ingress_rules(meta: Obj, spec: Obj) -> list[Route]:
    routes, created = [], str(meta.get("creationTimestamp") or "")
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            service = ((path.get("backend") or {}).get("service")) or {}
            port = service.get("port") or {}
            kind = "Exact" if path.get("pathType") == "Exact" else "Prefix"
            backend = Backend(
                meta["namespace"],
                str(service.get("name")),
                port.get("number") or port.get("name") or 80,
            )
            routes.append(
                Route(
                    rule.get("host"),
                    str(path.get("path") or "/"),
                    kind,
                    [backend],
                    created=created,
                )
            )
    default = ((spec.get("defaultBackend") or {}).get("service")) or {}
    if default:
        port = default.get("port") or {}
        backend = Backend(
            meta["namespace"],
            str(default.get("name")),
            port.get("number") or port.get("name") or 80,
        )
        routes.append(Route(None, "", "Prefix", [backend], created=created))
    return routes


def gateway_routes(store: Any, port: int) -> list[Route]:
    """Routes from HTTPRoutes attached to our Gateways' listeners on `port`."""
    classes = {c["metadata"]["name"] for c in store.items(GATEWAY_CLASSES)
               if (c.get("spec") or {}).get("controllerName") == GATEWAY_CONTROLLER}  # fmt: skip
    gateways = {(g["metadata"]["namespace"], g["metadata"]["name"]): g for g in store.items(GATEWAYS)
                if (g.get("spec") or {}).get("gatewayClassName") in classes}  # fmt: skip
    routes: list[Route] = []
    for route in store.items(ROUTES):
        for hosts in _attachments(store, route, gateways, port):
            routes += _route_rules(route, hosts)
    return routes


def _attachments(
    store: Any, route: Obj, gateways: dict[tuple[str, str], Obj], port: int
) -> list[list[str | None]]:
    """For each listener on `port` that admits the route: the hostnames it serves."""
    namespace = route["metadata"]["namespace"]
    found = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if (ref.get("kind") or "Gateway") != "Gateway":
            continue
        gateway = gateways.get(
            (ref.get("namespace") or namespace, str(ref.get("name")))
        )
        for listener in ((gateway or {}).get("spec") or {}).get("listeners") or []:
            if listener.get("port") != port or (
                ref.get("sectionName") not in (None, listener.get("name"))
            ):
                continue
            if ref.get("port") not in (None, port) or not _admits(
                store, gateway or {}, listener, namespace
            ):
                continue
            found.append(_hostnames(route, listener))
    return found


def _admits(store: Any, gateway: Obj, listener: Obj, namespace: str) -> bool:
    allowed = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    where = allowed.get("from") or "Same"
    if where == "All":
        return True
    if where == "Selector":
        ns = store.get("namespaces", "", namespace) or {}
        return podutil.selector_matches(
            allowed.get("selector") or {},
            (ns.get("metadata") or {}).get("labels") or {},
        )
    return bool(namespace == gateway["metadata"]["namespace"])


def _hostnames(route: Obj, listener: Obj) -> list[str | None]:
    names = [str(h) for h in (route.get("spec") or {}).get("hostnames") or []]
    own = listener.get("hostname")
    if own and names:
        names = [
            n
            for n in names
            if _host_matches(str(own), n) or _host_matches(n, str(own)) or n == own
        ]
        return list(names) if names else []
    if own:
        return [str(own)]
    return list(names) or [None]


def _route_rules(route: Obj, hosts: list[str | None]) -> list[Route]:
    meta, created = (
        route["metadata"],
        str(route["metadata"].get("creationTimestamp") or ""),
    )
    routes = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        backends = [Backend(str(b.get("namespace") or meta["namespace"]), str(b.get("name")), int(b.get("port") or 0),
                            int(b.get("weight", 1))) for b in rule.get("backendRefs") or []
                    if (b.get("kind") or "Service") == "Service"]  # fmt: skip
        for match in rule.get("matches") or [
            {"path": {"type": "PathPrefix", "value": "/"}}
        ]:
            path = match.get("path") or {"type": "PathPrefix", "value": "/"}
            kind = {"PathPrefix": "Prefix"}.get(
                str(path.get("type")), str(path.get("type") or "Prefix")
            )
            headers = [
                (str(h["name"]), str(h["value"])) for h in match.get("headers") or []
            ]
            queries = [
                (str(q["name"]), str(q["value"]))
                for q in match.get("queryParams") or []
            ]
            for host in hosts:
                routes.append(Route(host, str(path.get("value") or "/"), kind, backends, True, headers, queries,
                                    match.get("method"), list(rule.get("filters") or []), created))  # fmt: skip
    return routes
