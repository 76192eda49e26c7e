"""The API server's `pods/proxy` and `services/proxy` subresources.

`/api/v1/namespaces/{ns}/services/{name}/proxy/{path}` and `.../pods/{name}/proxy/{path}`
(what `kubectl proxy` forwards to, what `kubectl get --raw` and the Python client's
`connect_get_namespaced_service_proxy_with_path` ask for) are answered as
kube-apiserver's proxy handler answers them:

- the name is `name`, `name:port` or `scheme:name:port` (scheme `http` or `https`),
  anything else `400 invalid service request "..."` / `invalid pod request`;
- a Service port given by number is looked up among the Service's ports (`503 no service
  port 8080 found for service "web"`); the port name (`""` for an unnamed port, so a
  Service with only named ports needs `web:http`) picks the subset of its v1 Endpoints,
  and a random ready address of it is the target (`503 no endpoints available for
  service "web"` when there is none); a Pod's port is the one given or the first
  declared `containerPort`, and a Pod without an IP is `400 address not allowed`;
- `.../proxy` without a trailing slash is redirected (301) to `.../proxy/` for GET and
  HEAD;
- the request goes from the control plane node straight to the Pod (not through the
  ClusterIP, so NetworkPolicies judge it by the node's address: a policy that admits
  only the ingress controller keeps it out), with the client's method, headers (less
  `Authorization`, which the API server consumed, and hop-by-hop headers), body and
  query, `X-Forwarded-For` and `X-Forwarded-Uri` added, `Accept-Encoding: gzip` when
  the client sent none;
- a connection that fails is `503 ServiceUnavailable`, `error trying to reach service:
  dial tcp 10.244.1.5:80: connect: connection refused` (or `i/o timeout` after
  `Timings.proxy_dial_timeout`, `EOF` for a server that closes without answering);
  otherwise the Pod's answer is relayed with its status and headers (less CORS headers,
  which the API server's proxy transport removes).

Simplified: HTML answers are not rewritten to keep their links inside the proxy; no
WebSocket or other upgrade through the proxy; `nodes/proxy` is not served.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from kubecourse.embedded import status
from kubecourse.embedded.network.http import Request, Response, without
from kubecourse.embedded.network.router import Network
from kubecourse.embedded.network.servers import HttpStream
from kubecourse.embedded.network.wire import EmptyReply, NetError, exchange

Obj = dict[str, Any]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HOP_BY_HOP = ("Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
              "Transfer-Encoding", "Upgrade", "Proxy-Authorization")  # fmt: skip
TLS_ON_PLAIN = "tls: first record does not look like a TLS handshake"
GO_PORTS = {"http": 80, "https": 443, "ssh": 22, "smtp": 25, "telnet": 23, "ftp": 21}


def split_scheme_name_port(id_: str) -> tuple[str, str, str] | None:
    """`[scheme:]name[:port]` as apimachinery's SplitSchemeNamePort reads it."""
    parts = id_.split(":")
    if len(parts) > 3:
        return None
    scheme, name, port = ("", parts[0], "") if len(parts) == 1 else (
        ("", parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[1], parts[2]))  # fmt: skip
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme or "http", name, port


class ProxyServer:
    """Serves the two proxy subresources for one cluster's network."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.random = random.Random()

    async def serve(
        self, request: web.Request, namespace: str, name: str
    ) -> web.StreamResponse:
        """`kind` is read from the path: `.../namespaces/<ns>/<pods|services>/<name>/proxy`."""
        if request.method not in METHODS:
            raise status.method_not_allowed()
        parts = request.path.split("/")
        kind = parts[5] if len(parts) > 5 else ""
        rest = _rest(request.raw_path)
        if not rest and request.method in ("GET", "HEAD"):
            query = f"?{request.query_string}" if request.query_string else ""
            raise web.HTTPMovedPermanently(request.path + "/" + query)
        if kind == "pods":
            scheme, ip, port = self._pod_target(namespace, name)
        else:
            scheme, ip, port = self._service_target(namespace, name)
        upstream = await _upstream_request(request, rest or "/")
        answer = await self._send(ip, port, scheme, upstream)
        return _relay(answer)

    # -- where to -------------------------------------------------------------------------

    def _pod_target(self, namespace: str, id_: str) -> tuple[str, str, int]:
        parsed = split_scheme_name_port(id_)
        if parsed is None:
            raise status.bad_request(f"invalid pod request {_quoted(id_)}")
        scheme, name, port = parsed
        pod = self.network.ctx.api.get(self.network.ctx.rt("pods"), namespace, name)
        if not port:
            declared = [
                p
                for c in pod["spec"].get("containers") or []
                for p in c.get("ports") or []
            ]
            port = str(declared[0]["containerPort"]) if declared else ""
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if not _global_unicast(ip):
            raise status.bad_request("address not allowed")
        return scheme, ip, _port_number(port, scheme, ip)

    def _service_target(self, namespace: str, id_: str) -> tuple[str, str, int]:
        parsed = split_scheme_name_port(id_)
        if parsed is None:
            raise status.bad_request(f"invalid service request {_quoted(id_)}")
        scheme, name, port = parsed
        api, ctx = self.network.ctx.api, self.network.ctx
        if port.isdigit():
            svc = api.get(ctx.rt("services"), namespace, name)
            named = [
                p for p in svc["spec"].get("ports") or [] if str(p.get("port")) == port
            ]
            if not named:
                raise _unavailable(f'no service port {port} found for service "{name}"')
            port = str(named[0].get("name") or "")
        endpoints = api.get(ctx.rt("endpoints"), namespace, name)
        subsets = endpoints.get("subsets") or []
        if not subsets:
            raise _unavailable(f'no endpoints available for service "{name}"')
        start = self.random.randrange(len(subsets))
        for index in range(len(subsets)):
            subset = subsets[(start + index) % len(subsets)]
            addresses = subset.get("addresses") or []
            for entry in subset.get("ports") or []:
                if (entry.get("name") or "") == port and addresses:
                    address = self.random.choice(addresses)
                    pod = self._pod_of(namespace, address)
                    if pod is not None:
                        return scheme, str(address["ip"]), int(entry["port"])
        raise _unavailable(f"no endpoints available for service {_quoted(id_)}")

    def _pod_of(self, namespace: str, address: Obj) -> Obj | None:
        ref = address.get("targetRef") or {}
        pod = self.network.store.get(
            "pods", ref.get("namespace") or namespace, str(ref.get("name") or "")
        )
        if pod is None or (pod.get("status") or {}).get("podIP") != address.get("ip"):
            return None
        return pod

    # -- the request ----------------------------------------------------------------------

    async def _send(
        self, ip: str, port: int, scheme: str, upstream: Request
    ) -> Response:
        network = self.network
        try:
            conn = network.connect(network.control_plane(), ip, port)
        except NetError as err:
            if err.kind == "timeout":
                await network.wait(network.timings.proxy_dial_timeout)
            raise _unreachable(err.go_dial()) from err
        if (
            scheme == "https"
        ):  # the simulated servers speak plain HTTP, or nothing at all
            plain = isinstance(conn.stream, HttpStream)
            await conn.close()
            raise _unreachable(TLS_ON_PLAIN if plain else "EOF")
        try:
            return await exchange(conn, upstream)
        except EmptyReply as err:
            raise _unreachable("EOF") from err


async def _upstream_request(request: web.Request, path: str) -> Request:
    body = await request.read()
    headers = without(list(request.headers.items()), "Authorization", *HOP_BY_HOP)
    client = request.remote or "127.0.0.1"
    forwarded = request.headers.get("X-Forwarded-For")
    headers = without(headers, "X-Forwarded-For", "X-Forwarded-Uri")
    headers.append(
        ("X-Forwarded-For", f"{forwarded}, {client}" if forwarded else client)
    )
    headers.append(("X-Forwarded-Uri", request.raw_path.split("?", 1)[0]))
    if request.headers.get("Accept-Encoding") is None:
        headers.append(("Accept-Encoding", "gzip"))
    if body and request.headers.get("Content-Length") is None:
        headers.append(("Content-Length", str(len(body))))
    target = path + (f"?{request.query_string}" if request.query_string else "")
    return Request(request.method, target, "HTTP/1.1", headers, body)


def _relay(answer: Response) -> web.Response:
    headers = [(k, v) for k, v in without(answer.headers, *HOP_BY_HOP, "Content-Length")
               if not k.lower().startswith("access-control-")]  # fmt: skip
    response = web.Response(
        status=answer.status or 502, reason=answer.reason or None, body=answer.body
    )
    for key, value in headers:
        response.headers.add(key, value)
    return response


def _rest(raw_path: str) -> str:
    """What follows `/proxy` in `/api/v1/namespaces/<ns>/<kind>/<name>/proxy...` ("" when
    nothing, not even a slash, follows), decoded as the API server decodes its path and
    re-encoded as Go writes a URL path (so a client's `%2F` reaches the Pod as `/`)."""
    parts = raw_path.split("?", 1)[0].split("/")
    if len(parts) <= 8:
        return ""
    return quote(unquote("/" + "/".join(parts[8:])), safe="/$&+,:;=@!'()*~")


def _port_number(port: str, scheme: str, ip: str) -> int:
    if not port:
        return 443 if scheme == "https" else 80
    if port.isdigit():
        return int(port)
    if port in GO_PORTS:
        return GO_PORTS[port]
    raise _unreachable(f"dial tcp: lookup tcp/{port}: unknown port")


def _global_unicast(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (
        address.is_loopback
        or address.is_multicast
        or address.is_link_local
        or address.is_unspecified
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unavailable(message: str) -> status.StatusError:
    return status.StatusError(503, "ServiceUnavailable", message)


def _unreachable(detail: str) -> status.StatusError:
    return _unavailable(f"error trying to reach service: {detail}")
