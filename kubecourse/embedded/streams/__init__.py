"""The streaming subresources of Pods: `exec`, `attach` and `portforward`, over WebSocket.

| subresource | WebSocket subprotocols | clients | module |
|---|---|---|---|
| `pods/exec` | `v5.channel.k8s.io`, `v4.channel.k8s.io` | `kubectl exec` (1.30+: v5), `kubernetes.stream.stream()` | `remotecommand` (+ `kubecourse.embedded.shell`) |
| `pods/attach` | the same | `kubectl attach` | `remotecommand` |
| `pods/portforward` | `SPDY/3.1+portforward.k8s.io`, `v4.channel.k8s.io` | `kubectl port-forward` (1.31+), `kubernetes.stream.portforward()` | `portforward` (+ `spdy`) |
| `pods/proxy`, `services/proxy` | (plain HTTP) | `kubectl proxy`, `kubectl get --raw`, `connect_*_proxy_with_path` | `kubecourse.embedded.network.proxy` |

A request is checked first as kube-apiserver checks it before upgrading (the bearer
token, by the server's middleware; the Pod exists; the container is one of the Pod's:
400 `container x is not valid for pod y`, or `a container name must be specified for
pod y, choose one of: [...]`; the Pod has a node: 400 `pod y does not have a host
assigned`; it is an upgrade: 400 `Upgrade request required`), then, once upgraded, as
the kubelet answers through the API server's stream translator: a container that is
not running is `Internal error occurred: unable to upgrade connection: container not
found ("web")`, a node that is powered off `error dialing backend: ...`.

kubectl tries WebSocket first and falls back to SPDY (a POST with `Upgrade: SPDY/3.1`)
when the upgrade fails; a SPDY request that passes the checks above is refused with a
400 saying the embedded cluster serves these over WebSocket only (what kubectl before
1.30, or with `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`, prints).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from kubecourse.embedded import status
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Context
from kubecourse.embedded.controllers.kubelet import powered_off
from kubecourse.embedded.network import Network
from kubecourse.embedded.network.proxy import ProxyServer
from kubecourse.embedded.streams import portforward, remotecommand
from kubecourse.embedded.streams.sandbox import (
    container_sandbox,
    interactive_shell,
    resolve_name,
    volume_mounts,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SPDY_REFUSED = (
    "the embedded cluster serves exec, attach and port-forward over WebSocket only "
    "(kubectl 1.31 or newer, or the Python client's kubernetes.stream); "
    "this client asked for SPDY/3.1"
)
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False", "")


class StreamServer:
    """Serves `pods/{exec,attach,portforward,proxy}` and `services/proxy` for one cluster."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.network = Network(
            ctx,
            volumes=lambda pod, container: volume_mounts(ctx.store, pod, container),
            resolver=lambda pod, name: resolve_name(ctx.store, pod, name),
        )
        self.proxy = ProxyServer(self.network)
        ctx.sandboxes = lambda pod, container: container_sandbox(
            ctx, pod, container, self.network
        )

    async def serve(
        self, request: web.Request, namespace: str, name: str, subresource: str
    ) -> web.StreamResponse:
        if subresource == "proxy":
            return await self.proxy.serve(request, namespace, name)
        if request.method not in ("GET", "POST"):
            raise status.method_not_allowed()
        pod = self.ctx.api.get(self.ctx.rt("pods"), namespace, name)
        if subresource == "portforward":
            return await self._portforward(request, pod)
        options = stream_options(request.query, subresource)
        container = pick_container(pod, options.container)
        _check_host(pod)
        protocol = negotiate(request, remotecommand.PROTOCOLS)
        ws = web.WebSocketResponse(protocols=(protocol,))
        await ws.prepare(request)
        try:
            await self._session(ws, pod, container, options, subresource)
        except Exception:  # a bug of ours must not leave the client hanging
            log.exception(
                "%s session on pod %s/%s failed", subresource, namespace, name
            )
            await ws.close()
        return ws

    async def _session(
        self,
        ws: web.WebSocketResponse,
        pod: Obj,
        container: Obj,
        options: remotecommand.Options,
        subresource: str,
    ) -> None:
        session = remotecommand.Session(ws, options)
        await session.open()
        problem = self._kubelet_problem(pod, container)
        if problem is not None:
            await session.finish(remotecommand.internal_error(problem))
            return
        if subresource == "exec":
            box = container_sandbox(self.ctx, pod, container, self.network)
            await remotecommand.run_exec(session, box, secrets.token_hex(32))
        else:
            await self._attach(session, pod, container)

    async def _attach(
        self, session: remotecommand.Session, pod: Obj, container: Obj
    ) -> None:
        """A shell container's shell (`kubectl run -it`), else its new log lines."""
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"], container["name"])
        command = interactive_shell(container)
        if command is None or not session.options.stdin:
            lines = self.ctx.logbook.get(key, [])
            await remotecommand.run_attach(
                session, lines, lambda: self._running(pod, container)
            )
            return
        session.options.command = command
        box = container_sandbox(self.ctx, pod, container, self.network)
        code = await remotecommand.run_exec(session, box, "", exit_codes=False)
        if code is not None:  # the shell was the container's process: it ended
            self.ctx.container_exited(*key, code)

    async def _portforward(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        _check_host(pod)
        problem = self._node_problem(pod)
        if problem is not None:  # before the upgrade: kubectl's SPDY retry meets it too
            raise status.StatusError(500, "InternalError", problem)
        protocol = negotiate(request, portforward.PROTOCOLS)
        ports = _ports(request.query) if protocol == portforward.CHANNELS else []
        ws = web.WebSocketResponse(protocols=(protocol,))
        await ws.prepare(request)
        if protocol == portforward.SPDY_TUNNEL:
            await portforward.serve_spdy(ws, pod, self.network)
        else:
            await portforward.serve_channels(ws, pod, ports, self.network)
        return ws

    # -- what the kubelet would say ----------------------------------------------------

    def _node_problem(self, pod: Obj) -> str | None:
        node = self.ctx.store.get("nodes", "", pod["spec"]["nodeName"])
        ready = podutil.condition(node, "Ready") if node is not None else None
        if (
            node is not None
            and not powered_off(node)
            and (ready or {}).get("status") == "True"
        ):
            return None
        addresses = ((node or {}).get("status") or {}).get("addresses") or []
        ip = next(
            (a["address"] for a in addresses if a.get("type") == "InternalIP"), ""
        )
        return f"error dialing backend: dial tcp {ip}:10250: connect: no route to host"

    def _kubelet_problem(self, pod: Obj, container: Obj) -> str | None:
        problem = self._node_problem(pod)
        if problem is None and not self._running(pod, container):
            problem = f'unable to upgrade connection: container not found ("{container["name"]}")'
        return problem

    def _running(self, pod: Obj, container: Obj) -> bool:
        meta = pod["metadata"]
        now = self.ctx.store.get("pods", meta["namespace"], meta["name"])
        if now is None or now["metadata"].get("uid") != meta.get("uid"):
            return False
        if podutil.is_terminating(now) or podutil.is_terminal(now):
            return False
        status = now.get("status") or {}
        for key in ("containerStatuses", "ephemeralContainerStatuses"):
            for entry in status.get(key) or []:
                if entry.get("name") == container["name"]:
                    return "running" in (entry.get("state") or {})
        return False


# -- checks before the upgrade ---------------------------------------------------------------


def stream_options(query: MultiMapping[str], subresource: str) -> remotecommand.Options:
    """`PodExecOptions` / `PodAttachOptions` from the query, as the kubelet validates them."""
    flags = {name: _bool(query, name) for name in ("stdin", "stdout", "stderr", "tty")}
    command = list(query.getall("command", []))
    if subresource == "exec" and not command:
        raise status.bad_request("you must specify at least 1 command")
    if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
        raise status.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return remotecommand.Options(query.get("container") or None, command, **flags)


def _bool(query: MultiMapping[str], name: str) -> bool:
    value = query.get(name, "")
    if value not in _TRUE and value not in _FALSE:
        raise status.bad_request(
            f'{name}: Invalid value: "{value}": must be true or false'
        )
    return value in _TRUE


def pick_container(pod: Obj, name: str | None) -> Obj:
    """The container a request names, or the Pod's only one (the API server's rules)."""
    spec, pod_name = pod["spec"], pod["metadata"]["name"]
    containers = spec.get("containers") or []
    if name is None:
        if len(containers) == 1:
            return dict(containers[0])
        names = " ".join(c["name"] for c in containers)
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{names}]"
        init = " ".join(c["name"] for c in spec.get("initContainers") or [])
        raise status.bad_request(
            message + (f" or one of the init containers: [{init}]" if init else "")
        )
    every = [
        *containers,
        *(spec.get("initContainers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]
    for container in every:
        if container.get("name") == name:
            return dict(container)
    raise status.bad_request(f"container {name} is not valid for pod {pod_name}")


def _check_host(pod: Obj) -> None:
    if not pod["spec"].get("nodeName"):
        raise status.bad_request(
            f"pod {pod['metadata']['name']} does not have a host assigned"
        )


def negotiate(request: web.Request, supported: tuple[str, ...]) -> str:
    """The subprotocol to answer with: the client's first one we speak."""
    upgrade = request.headers.get("Upgrade", "").strip().lower()
    if upgrade.startswith("spdy/"):
        raise status.bad_request(SPDY_REFUSED)
    if upgrade != "websocket":
        raise status.bad_request("Upgrade request required")
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    asked = [p.strip() for p in header.split(",") if p.strip()]
    for protocol in asked:
        if protocol in supported:
            return protocol
    raise status.bad_request(
        f"requested protocol(s) are not supported: [{' '.join(asked)}]; supports [{' '.join(supported)}]"
    )


def _ports(query: MultiMapping[str]) -> list[int]:
    ports: list[int] = []
    for text in ",".join(query.getall("ports", [])).split(","):
        if not text.strip():
            continue
        if not text.strip().isdigit() or not 0 < int(text) < 65536:
            raise status.bad_request(
                f'ports: Invalid value: "{text}": must be a port number (1-65535)'
            )
        ports.append(int(text))
    if not ports:
        raise status.bad_request(
            'ports: Required value: query parameter "ports" is required'
        )
    return ports
