"""`port-forward` to a Pod whose ports nothing listens on, over both wire formats.

kubectl 1.31+ tunnels SPDY/3.1 through a WebSocket (`SPDY/3.1+portforward.k8s.io`):
for every local connection it opens an error stream and a data stream (headers
`streamtype`, `port`, `requestid`), and reads the error stream to its end.  The
official Python client (`kubernetes.stream.portforward`) speaks `v4.channel.k8s.io`:
two channels per port of the `ports` query (data `2i`, error `2i+1`), each opened by a
message carrying the port number (two bytes, little-endian).

The embedded cluster runs no processes, so every forwarded connection fails the way a
kubelet reports a port nobody listens on: the data stream is closed and the error
stream carries `error forwarding port 80 to pod <sandbox id>, uid : ...` with the
reason, which kubectl logs (`an error occurred forwarding 8080 -> 80`) before it stops
with `error: lost connection to pod`.  kubectl itself starts, listens on its local port
and prints `Forwarding from 127.0.0.1:8080 -> 80` as against a real cluster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from kubecourse.embedded.streams import spdy

Obj = dict[str, Any]
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNELS = "v4.channel.k8s.io"
PROTOCOLS = (SPDY_TUNNEL, CHANNELS)


def sandbox_id(pod: Obj) -> str:
    """The Pod sandbox's id as containerd shows it (what the kubelet's message names)."""
    return hashlib.sha256(f"{pod['metadata'].get('uid')}/sandbox".encode()).hexdigest()


def refused(pod: Obj, port: int | str) -> str:
    meta = pod["metadata"]
    return (
        f"error forwarding port {port} to pod {sandbox_id(pod)}, uid : "
        f"the embedded cluster does not run processes, so nothing listens on port {port} "
        f"in pod {meta.get('namespace')}/{meta.get('name')}; "
        "traffic through Pods and Services is not simulated yet"
    )


@dataclass
class _Request:
    """One forwarded connection: its error and data streams, by SPDY stream id."""

    port: str
    streams: dict[str, int] = field(default_factory=dict)


async def serve_spdy(ws: web.WebSocketResponse, pod: Obj) -> None:
    """A kubectl port-forward session, until kubectl closes it."""
    codec = spdy.Codec()
    requests: dict[str, _Request] = {}
    async for message in ws:
        if message.type is not WSMsgType.BINARY:
            continue
        try:
            frames = codec.feed(message.data)
        except spdy.ProtocolError:
            await ws.close()
            return
        for frame in frames:
            if not await _handle(ws, codec, frame, requests, pod):
                await ws.close()
                return


async def _handle(
    ws: web.WebSocketResponse,
    codec: spdy.Codec,
    frame: spdy.Frame,
    requests: dict[str, _Request],
    pod: Obj,
) -> bool:
    """Answer one frame; False when the client ends the session (GOAWAY)."""
    if frame.type == spdy.PING:
        await ws.send_bytes(codec.ping(frame.value))
    elif frame.type == spdy.GOAWAY:
        return False
    elif frame.type == spdy.SYN_STREAM:
        await _stream_opened(ws, codec, frame, requests, pod)
    # DATA sent to a port nobody listens on is dropped; RST_STREAM, SETTINGS and
    # WINDOW_UPDATE need no answer.
    return True


async def _stream_opened(
    ws: web.WebSocketResponse,
    codec: spdy.Codec,
    frame: spdy.Frame,
    requests: dict[str, _Request],
    pod: Obj,
) -> None:
    kind = frame.headers.get("streamtype", "")
    if kind not in ("error", "data"):
        await ws.send_bytes(codec.rst_stream(frame.stream_id, spdy.RST_PROTOCOL_ERROR))
        return
    await ws.send_bytes(codec.syn_reply(frame.stream_id))
    key = frame.headers.get("requestid", "")
    request = requests.setdefault(key, _Request(frame.headers.get("port", "")))
    request.streams[kind] = frame.stream_id
    if len(request.streams) < 2:
        return  # the kubelet waits for both streams of a request
    del requests[key]
    message = (
        refused(pod, request.port)
        if _valid_port(request.port)
        else (f'invalid port header "{request.port}"')
    )
    await ws.send_bytes(codec.data(request.streams["error"], message.encode()))
    await ws.send_bytes(codec.data(request.streams["error"], fin=True))
    await ws.send_bytes(codec.data(request.streams["data"], fin=True))


def _valid_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


async def serve_channels(ws: web.WebSocketResponse, pod: Obj, ports: list[int]) -> None:
    """The Python client's port-forward: every port reports its error, then the end."""
    for index, port in enumerate(ports):
        number = port.to_bytes(2, "little")
        await ws.send_bytes(bytes([2 * index]) + number)
        await ws.send_bytes(bytes([2 * index + 1]) + number)
    for index, port in enumerate(ports):
        await ws.send_bytes(bytes([2 * index + 1]) + refused(pod, port).encode())
    await ws.close()
