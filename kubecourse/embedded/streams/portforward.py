"""`port-forward` into a Pod's simulated servers, over both wire formats.

kubectl 1.31+ tunnels SPDY/3.1 through a WebSocket (`SPDY/3.1+portforward.k8s.io`):
for every local connection it opens an error stream and a data stream (headers
`streamtype`, `port`, `requestid`), writes what its local client sends on the data
stream and reads the error stream to its end.  The official Python client
(`kubernetes.stream.portforward`) speaks `v4.channel.k8s.io`: two channels per port of
the `ports` query (data `2i`, error `2i+1`), each opened by a message carrying the port
number (two bytes, little-endian).

As the kubelet (through containerd) does, each forwarded connection is a connection to
`localhost:<port>` inside the Pod's network namespace (`Network.loopback`: no Service,
no NetworkPolicy in the way): its bytes reach the container's simulated server and
the server's answer comes back on the data stream, so `curl 127.0.0.1:8080` through
`kubectl port-forward pod/web 8080:80` gets what the Pod serves.  When the server
closes the connection the data stream is closed (FIN); when nothing listens on the
port the error stream carries containerd's message, `error forwarding port 80 to pod
<sandbox id>, uid : failed to execute portforward in network namespace
"/var/run/netns/cni-<id>": failed to connect to localhost:80 inside namespace
"<sandbox id>", IPv4: dial tcp4 127.0.0.1:80: connect: connection refused IPv6 dial
tcp6 [::1]:80: connect: connection refused `, which kubectl logs (`an error occurred
forwarding 8080 -> 80`) before it stops with `error: lost connection to pod`.
`kubectl port-forward svc/web` and `deploy/web` are resolved to a Pod by kubectl
itself, as on any cluster.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from kubecourse.embedded.network import Network
from kubecourse.embedded.network.wire import Connection, NetError
from kubecourse.embedded.streams import spdy

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNELS = "v4.channel.k8s.io"
PROTOCOLS = (SPDY_TUNNEL, CHANNELS)
CHUNK = 32 * 1024  # bytes per DATA frame / message


def sandbox_id(pod: Obj) -> str:
    """The Pod sandbox's id as containerd shows it (what the kubelet's message names)."""
    return hashlib.sha256(f"{pod['metadata'].get('uid')}/sandbox".encode()).hexdigest()


def refused(pod: Obj, port: int | str) -> str:
    """containerd's message for a port nothing listens on, as the kubelet relays it."""
    sandbox = sandbox_id(pod)
    netns = uuid.UUID(hashlib.md5(sandbox.encode()).hexdigest())
    return (
        f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward "
        f'in network namespace "/var/run/netns/cni-{netns}": failed to connect to '
        f'localhost:{port} inside namespace "{sandbox}", IPv4: dial tcp4 127.0.0.1:{port}: '
        f"connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused "
    )


def _open(network: Network, pod: Obj, port: int) -> Connection | str:
    """A connection to the Pod's localhost:port, or the error message for it."""
    try:
        return network.loopback(pod, port)
    except NetError:
        return refused(pod, port)


# -- SPDY (kubectl) ----------------------------------------------------------------------------


@dataclass
class _Request:
    """One forwarded connection: its error and data streams, by SPDY stream id."""

    port: str
    streams: dict[str, int] = field(default_factory=dict)
    inbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class SpdySession:
    """A kubectl port-forward session, until kubectl closes it."""

    def __init__(self, ws: web.WebSocketResponse, pod: Obj, network: Network) -> None:
        self.ws, self.pod, self.network = ws, pod, network
        self.codec = spdy.Codec()
        self.requests: dict[str, _Request] = {}
        self.by_stream: dict[int, _Request] = {}

    async def run(self) -> None:
        try:
            await self._frames()
        finally:
            for request in self.requests.values():
                if request.task is not None:
                    request.task.cancel()
            await self.ws.close()

    async def _frames(self) -> None:
        async for message in self.ws:
            if message.type is not WSMsgType.BINARY:
                continue
            try:
                frames = self.codec.feed(message.data)
            except spdy.ProtocolError:
                return
            for frame in frames:
                if not await self._handle(frame):
                    return

    async def _handle(self, frame: spdy.Frame) -> bool:
        """Answer one frame; False when the client ends the session (GOAWAY)."""
        if frame.type == spdy.PING:
            await self.ws.send_bytes(self.codec.ping(frame.value))
        elif frame.type == spdy.GOAWAY:
            return False
        elif frame.type == spdy.SYN_STREAM:
            await self._stream_opened(frame)
        elif frame.type == spdy.DATA:
            request = self.by_stream.get(frame.stream_id)
            if request is not None and request.streams.get("data") == frame.stream_id:
                if frame.data:
                    request.inbox.put_nowait(frame.data)
                if frame.fin:
                    request.inbox.put_nowait(None)
        elif frame.type == spdy.RST_STREAM:
            request = self.by_stream.get(frame.stream_id)
            if request is not None:
                request.inbox.put_nowait(None)
        # SETTINGS and WINDOW_UPDATE need no answer.
        return True

    async def _stream_opened(self, frame: spdy.Frame) -> None:
        kind = frame.headers.get("streamtype", "")
        if kind not in ("error", "data"):
            await self.ws.send_bytes(
                self.codec.rst_stream(frame.stream_id, spdy.RST_PROTOCOL_ERROR)
            )
            return
        await self.ws.send_bytes(self.codec.syn_reply(frame.stream_id))
        key = frame.headers.get("requestid", "")
        request = self.requests.setdefault(key, _Request(frame.headers.get("port", "")))
        request.streams[kind] = frame.stream_id
        self.by_stream[frame.stream_id] = request
        if (
            len(request.streams) == 2 and request.task is None
        ):  # the kubelet waits for both
            request.task = asyncio.create_task(self._forward(key, request))

    async def _forward(self, key: str, request: _Request) -> None:
        try:
            await self._pump(request)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        except Exception:  # a bug of ours must not hang kubectl
            log.exception("port-forward to %s failed", self.pod["metadata"].get("name"))
        finally:
            self.requests.pop(key, None)

    async def _pump(self, request: _Request) -> None:
        error, data = request.streams["error"], request.streams["data"]
        port = request.port
        target = _open(self.network, self.pod, int(port)) if _valid_port(port) else (
            f'invalid port header "{port}"')  # fmt: skip
        if isinstance(target, str):
            await self.ws.send_bytes(self.codec.data(error, target.encode()))
            await self._close(error, data)
            return
        while not target.closed:
            chunk = await request.inbox.get()
            answer = await (target.close() if chunk is None else target.send(chunk))
            await self._send(data, answer)
            if chunk is None:
                break
        await self._close(error, data)

    async def _send(self, stream: int, payload: bytes) -> None:
        for start in range(0, len(payload), CHUNK):
            await self.ws.send_bytes(
                self.codec.data(stream, payload[start : start + CHUNK])
            )

    async def _close(self, error: int, data: int) -> None:
        await self.ws.send_bytes(self.codec.data(error, fin=True))
        await self.ws.send_bytes(self.codec.data(data, fin=True))


def _valid_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


async def serve_spdy(ws: web.WebSocketResponse, pod: Obj, network: Network) -> None:
    await SpdySession(ws, pod, network).run()


# -- v4.channel.k8s.io (the Python client) -----------------------------------------------------


async def serve_channels(
    ws: web.WebSocketResponse, pod: Obj, ports: list[int], network: Network
) -> None:
    """The Python client's port-forward: one connection per port, for the session."""
    for index, port in enumerate(ports):
        number = port.to_bytes(2, "little")
        await ws.send_bytes(bytes([2 * index]) + number)
        await ws.send_bytes(bytes([2 * index + 1]) + number)
    targets: list[Connection | None] = []
    for index, port in enumerate(ports):
        target = _open(network, pod, port)
        if isinstance(target, str):
            await ws.send_bytes(bytes([2 * index + 1]) + target.encode())
            targets.append(None)
        else:
            targets.append(target)
    if any(t is not None for t in targets):
        await _relay_channels(ws, targets)
    await ws.close()


async def _relay_channels(
    ws: web.WebSocketResponse, targets: list[Connection | None]
) -> None:
    async for message in ws:
        if message.type is not WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], bytes(message.data[1:])
        index = channel // 2
        target = targets[index] if channel % 2 == 0 and index < len(targets) else None
        if target is None or not payload:
            continue
        answer = await target.send(payload)
        for start in range(0, len(answer), CHUNK):
            await ws.send_bytes(bytes([channel]) + answer[start : start + CHUNK])
        if target.closed:
            targets[index] = None
        if all(t is None for t in targets):
            return
