"""Simulated TCP: connections into simulated servers, and how connecting fails.

A `Connection` is what a client holds once a server has accepted it: bytes written to
it reach the server's `Stream`, which answers with the bytes the server writes back
(at once: no process runs, so a server's answer is computed when a request is
complete).  Connecting fails as the kernel reports it, a `NetError` whose `kind` is one
of `refused` (RST: nothing listens, or kube-proxy's REJECT for a Service without
endpoints), `timeout` (packets dropped: a NetworkPolicy, a powered-off node, a ClusterIP
port kube-proxy has no rule for), `unreachable` (no route to host: an address in a
node's Pod range that no Pod has) and `outside` (an address outside the cluster, which
the simulation never connects to).  The caller decides how long a timeout takes, as the
client's own timeout or the kernel's SYN retries would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kubecourse.embedded.network.http import (
    MalformedMessage,
    Request,
    Response,
    complete_response,
    read_response,
)

Obj = dict[str, Any]

STRERROR = {
    "refused": "Connection refused",
    "timeout": "Connection timed out",
    "unreachable": "No route to host",
    "reset": "Connection reset by peer",
}


@dataclass(frozen=True)
class Peer:
    """One end of a connection as the other end sees it."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


class NetError(Exception):
    """Connecting to `ip:port` failed (see the module docstring for the kinds)."""

    def __init__(self, kind: str, ip: str, port: int, detail: str = "") -> None:
        super().__init__(f"{kind} {ip}:{port} {detail}".strip())
        self.kind, self.ip, self.port, self.detail = kind, ip, port, detail

    @property
    def strerror(self) -> str:
        return STRERROR.get(self.kind, "Network is unreachable")

    def go_dial(self) -> str:
        """How Go's net.Dial words it (the API server, the ingress controller)."""
        if self.kind == "timeout":
            return f"dial tcp {self.ip}:{self.port}: i/o timeout"
        if self.kind == "outside":
            return f"dial tcp {self.ip}:{self.port}: {self.detail}"
        return f"dial tcp {self.ip}:{self.port}: connect: {self.strerror.lower()}"


class Stream(Protocol):
    """The server's side of one accepted connection."""

    closed: bool  # the server has closed its side

    async def receive(self, data: bytes) -> bytes:
        """Bytes from the client; the bytes the server writes back."""
        ...

    async def finish(self) -> bytes:
        """The client closed its side; what the server writes before it closes."""
        ...


class Server(Protocol):
    """What listens in one container: its ports, and a stream per connection."""

    def ports(self) -> set[int]: ...

    def accept(self, port: int, client: Peer) -> Stream: ...


class Dialer(Protocol):
    """A Pod's view of the network: what the programs in its containers connect with."""

    connect_timeout: float  # how long the kernel tries before a dropped SYN fails

    def connect(self, ip: str, port: int) -> Connection: ...


@dataclass
class Connection:
    """An accepted connection, as the client holds it."""

    pod: Obj
    container: str
    port: int
    client: Peer  # the client's address as the server sees it
    stream: Stream
    address: Peer  # what the client connected to (a ClusterIP, a node port, ...)
    received: bytearray = field(default_factory=bytearray)

    @property
    def closed(self) -> bool:
        return self.stream.closed

    async def send(self, data: bytes) -> bytes:
        if self.stream.closed:
            return b""
        return await self.stream.receive(data)

    async def close(self) -> bytes:
        return b"" if self.stream.closed else await self.stream.finish()


class EmptyReply(Exception):
    """The server closed the connection without answering."""


async def exchange(conn: Connection, request: Request) -> Response:
    """Send one HTTP request and read its whole response (raises EmptyReply)."""
    data = await conn.send(request.encode())
    head_only = request.method == "HEAD"
    if not data and not conn.closed:
        data = await conn.close()
    if not data:
        raise EmptyReply()
    if not conn.closed and not complete_response(data, head_only):
        data += await conn.close()
    try:
        return read_response(data, head_only)
    except MalformedMessage:
        if data.startswith(b"HTTP/"):
            raise
        return Response(0, [], data, "HTTP/0.9")
