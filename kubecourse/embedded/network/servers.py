"""The building blocks of simulated servers, and the servers of the simpler images.

`HttpStream` answers HTTP/1.1 requests on one connection, `ClosingStream` stands for a
protocol that is not simulated; `Whoami`, `HttpEcho`, `HelloApp`, `TcpOnly` and
`Unknown` are the behaviours of the table in `network.catalog` (nginx and traefik have
modules of their own).  Responses are written as the image's program writes them:
`go_response` orders headers as Go's net/http does.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from kubecourse.embedded.controllers import images
from kubecourse.embedded.network.http import (
    MalformedMessage,
    Request,
    Response,
    canonical,
    http_date,
    read_request,
)
from kubecourse.embedded.network.wire import Peer, Stream

Obj = dict[str, Any]
Handler = Callable[[Request, Peer, int], Awaitable[Response | None]]


@dataclass
class Host:
    """The container a server runs in, as the server can see it."""

    pod: Obj
    container: Obj
    env: dict[str, str] = field(default_factory=dict)
    # Its mounted volumes, read on demand: (path -> content, the mount paths).
    volumes: Callable[[], tuple[dict[str, str], list[str]]] = lambda: ({}, [])
    network: Any = None  # the Network, for servers that are clients too (a proxy)

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def hostname(self) -> str:
        return str(
            self.env.get("HOSTNAME") or self.pod["spec"].get("hostname") or self.name
        )

    @property
    def pod_ip(self) -> str:
        return str((self.pod.get("status") or {}).get("podIP") or "")

    @property
    def image(self) -> str:
        return str(self.container.get("image") or "")

    @property
    def words(self) -> list[str]:
        """The container's arguments (`command` + `args`)."""
        return [
            str(w)
            for w in (self.container.get("command") or [])
            + (self.container.get("args") or [])
        ]

    def flag(self, name: str) -> str | None:
        """`--name V`, `--name=V`, `-name=V` among the arguments, as Go's flag package reads them."""
        words = self.words
        for index, word in enumerate(words):
            bare = word.lstrip("-")
            if bare == name and index + 1 < len(words) and word.startswith("-"):
                return words[index + 1]
            if word.startswith("-") and bare.startswith(name + "="):
                return bare.split("=", 1)[1]
        return None


# -- streams ----------------------------------------------------------------------------


class HttpStream:
    """An HTTP/1.1 server connection: complete requests are answered in order."""

    def __init__(self, handler: Handler, client: Peer, port: int) -> None:
        self.handler, self.client, self.port = handler, client, port
        self.buffer = bytearray()
        self.closed = False

    async def receive(self, data: bytes) -> bytes:
        self.buffer.extend(data)
        out = b""
        while not self.closed:
            try:
                request = read_request(self.buffer)
            except MalformedMessage:
                self.closed = True
                return out + bad_request().encode()
            if request is None:
                break
            response = await self.handler(request, self.client, self.port)
            if response is None:  # the server drops the connection
                self.closed = True
                break
            out += response.encode()
            self.closed = (
                not request.keep_alive or response.header("Connection") == "close"
            )
        return out

    async def finish(self) -> bytes:
        self.closed = True
        return b""


class ClosingStream:
    """A server whose protocol is not simulated: it closes once the client speaks."""

    def __init__(self, banner: bytes = b"") -> None:
        self.banner = banner
        self.closed = False

    async def receive(self, data: bytes) -> bytes:
        self.closed = True
        return self.banner

    async def finish(self) -> bytes:
        self.closed = True
        return b""


def bad_request() -> Response:
    return Response(400, [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                    b"400 Bad Request")  # fmt: skip


def go_response(
    status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
    headers: list[tuple[str, str]] | None = None, request: Request | None = None,
) -> Response:  # fmt: skip
    """A response as Go's net/http writes it: handler headers (sorted), then Date,
    Content-Length, Content-Type and Connection."""
    out = sorted(headers or [])
    out += [("Date", http_date()), ("Content-Length", str(len(body)))]
    if body and content_type:
        out.append(("Content-Type", content_type))
    if request is not None and not request.keep_alive:
        out.append(("Connection", "close"))
    return Response(
        status, out, b"" if request is not None and request.method == "HEAD" else body
    )


# -- servers ----------------------------------------------------------------------------


class HttpServer(abc.ABC):
    """An HTTP server on fixed ports; subclasses answer `handle`."""

    def __init__(self, host: Host, ports: set[int]) -> None:
        self.host, self._ports = host, ports

    def ports(self) -> set[int]:
        return set(self._ports)

    def accept(self, port: int, client: Peer) -> Stream:
        return HttpStream(self.handle, client, port)

    @abc.abstractmethod
    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        """The answer to one request, or None to close the connection."""


class Whoami(HttpServer):
    """traefik/whoami: the pod's name and IPs, and the request as it arrived."""

    def __init__(self, host: Host) -> None:
        port = host.flag("port") or host.env.get("WHOAMI_PORT_NUMBER") or "80"
        super().__init__(host, {int(port)} if port.isdigit() else set())
        self.name = host.flag("name") or host.env.get("WHOAMI_NAME") or ""

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        path = request.path
        if path == "/health":
            return go_response(200, b"", request=request)
        if path == "/api":
            cors = [
                ("Access-Control-Allow-Methods", "*"),
                ("Access-Control-Allow-Origin", "*"),
            ]
            return go_response(200, self._json(request, client), "application/json",
                               cors, request)  # fmt: skip
        if path == "/bench":
            return go_response(
                200, b"1", "text/plain", [("Connection", "keep-alive")], request
            )
        if path == "/data":
            return go_response(200, _data(request.query), "text/plain; charset=utf-8",
                               request=request)  # fmt: skip
        return go_response(200, self._text(request, client), request=request)

    def _ips(self) -> list[str]:
        return ["127.0.0.1", self.host.pod_ip]

    def _text(self, request: Request, client: Peer) -> bytes:
        lines = [f"Name: {self.name}"] if self.name else []
        lines.append(f"Hostname: {self.host.hostname}")
        lines += [f"IP: {ip}" for ip in self._ips()]
        lines.append(f"RemoteAddr: {client}")
        return ("\n".join(lines) + "\n").encode() + go_request_dump(request)

    def _json(self, request: Request, client: Peer) -> bytes:
        headers: dict[str, list[str]] = {}
        for key, value in sorted(request.headers, key=lambda kv: canonical(kv[0])):
            if key.lower() != "host":  # Go keeps the Host apart from the header map
                headers.setdefault(canonical(key), []).append(value)
        data = {"hostname": self.host.hostname, "ip": self._ips(), "headers": headers,
                "url": request.target, "host": request.header("Host") or "",
                "method": request.method}  # fmt: skip
        if self.name:
            data["name"] = self.name
        data["remoteAddr"] = str(client)
        return (json.dumps(data, separators=(",", ":")) + "\n").encode()


def go_request_dump(request: Request) -> bytes:
    """A request as Go's `Request.Write` prints it (what whoami echoes)."""
    lines = [f"{request.method} {request.target} HTTP/1.1",
             f"Host: {request.header('Host') or ''}",
             f"User-Agent: {request.header('User-Agent') or 'Go-http-client/1.1'}"]  # fmt: skip
    if request.body:
        lines.append(f"Content-Length: {len(request.body)}")
    skip = {"host", "user-agent", "content-length", "transfer-encoding", "trailer"}
    others = sorted(
        (canonical(k), v) for k, v in request.headers if k.lower() not in skip
    )
    lines += [f"{k}: {v}" for k, v in others]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + request.body


def _data(query: str) -> bytes:
    values = parse_qs(query)
    size_text = (values.get("size") or ["1"])[0]
    size = max(int(size_text), 0) if size_text.lstrip("-").isdigit() else 1
    unit = (values.get("unit") or [""])[0].lower()
    size *= {"kb": 1 << 10, "mb": 1 << 20}.get(unit, 1)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    size = min(size, 4 << 20)  # the simulation keeps its answers small
    return (alphabet * (size // len(alphabet) + 1))[:size]


class HttpEcho(HttpServer):
    """hashicorp/http-echo: the `-text` it was given."""

    def __init__(self, host: Host) -> None:
        listen = host.flag("listen") or ":5678"
        port = listen.rsplit(":", 1)[-1]
        super().__init__(host, {int(port)} if port.isdigit() else set())
        self.text = host.flag("text") or ""

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        headers = [("X-App-Name", "http-echo"), ("X-App-Version", "1.0.0")]
        return go_response(
            200, (self.text + "\n").encode(), headers=headers, request=request
        )


class HelloApp(HttpServer):
    """Google's hello-app sample: a greeting with its version and hostname."""

    def __init__(self, host: Host) -> None:
        port = host.env.get("PORT") or "8080"
        super().__init__(host, {int(port)} if port.isdigit() else set())

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        version = images.tag(self.host.image)
        text = f"Hello, world!\nVersion: {version}\nHostname: {self.host.hostname}\n"
        return go_response(200, text.encode(), request=request)


class TcpOnly:
    """A database or broker: it accepts connections; its protocol is not simulated."""

    def __init__(self, ports: set[int], banner: bytes = b"") -> None:
        self._ports, self.banner = ports, banner

    def ports(self) -> set[int]:
        return set(self._ports)

    def accept(self, port: int, client: Peer) -> Stream:
        return ClosingStream(self.banner)


class Unknown(HttpServer):
    """An image the simulation does not know: its declared ports, answered honestly."""

    def __init__(self, host: Host) -> None:
        declared = {
            int(p["containerPort"])
            for p in host.container.get("ports") or []
            if (p.get("protocol") or "TCP") == "TCP" and p.get("containerPort")
        }
        super().__init__(host, declared)

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        text = (
            f"kubecourse: the embedded cluster does not know what the image "
            f"{self.host.image} serves, so nothing answers {request.method} "
            f"{request.path} on port {port} of pod {self.host.name}; images with a "
            "simulated server are listed in docs/embedded-cluster.md (Images)\n"
        )
        return go_response(501, text.encode(), request=request)
