"""The environment the kubelet gives a container when it starts, as `env` prints it.

Faithful to the kubelet's `makeEnvironmentVariables`: the declared variables
(`envFrom`, `env`, `valueFrom`, `$(NAME)` expansion; `podconfig.environment`, which
refuses a missing ConfigMap, Secret or key as the kubelet does), where `$(NAME)` may
also name a Service variable; then the Docker-link variables of every Service with a
ClusterIP in the Pod's namespace (`enableServiceLinks`, on by default) and of
`default/kubernetes` always: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`,
`<NAME>_SERVICE_PORT_<PORT>`, `<NAME>_PORT`, `<NAME>_PORT_<n>_<PROTO>` and its `_PROTO`,
`_PORT`, `_ADDR`.  The runtime adds `PATH` and `HOSTNAME` and runc `HOME`.  Computed
once, when the container is created, so a Service created later, or a ConfigMap changed
later, is not seen until the Pod is replaced, as on a real node.

Simplified: the image's own `ENV` lines are not known, only `PATH`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubecourse.embedded.controllers import podconfig
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
Env = list[tuple[str, str]]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MASTER_SERVICE = ("default", "kubernetes")


def container_env(store: Store, pod: Obj, container: Obj) -> Env:
    """The container's environment, in the order `env` prints it; ConfigError (from
    `podconfig`) when a ConfigMap, Secret or key it needs is missing."""
    services = service_env(store, pod)
    declared = podconfig.environment(store, pod, container, services)
    uid = run_as(pod, container, "runAsUser")
    head = [("PATH", PATH), ("HOSTNAME", hostname(pod))]
    linked = [(k, v) for k, v in services.items() if k not in declared]
    home = [("HOME", "/root" if uid == 0 else "/")]
    return [*head, *declared.items(), *linked, *home]


def hostname(pod: Obj) -> str:
    """What `hostname` says in the Pod: `spec.hostname`, else the Pod's name (the
    node's name on `hostNetwork`)."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork") and spec.get("nodeName"):
        return str(spec["nodeName"])
    return str(spec.get("hostname") or pod["metadata"]["name"])


def run_as(pod: Obj, container: Obj, field: str) -> int:
    """`runAsUser` / `runAsGroup`: the container's, else the Pod's, else root."""
    for context in (
        container.get("securityContext"),
        pod["spec"].get("securityContext"),
    ):
        if context and context.get(field) is not None:
            return int(context[field])
    return 0


# -- Service links -------------------------------------------------------------------------


def service_env(store: Store, pod: Obj) -> dict[str, str]:
    namespace = pod["metadata"].get("namespace") or "default"
    links = pod["spec"].get("enableServiceLinks", True) is not False
    chosen: dict[str, Obj] = {}
    master = store.get("services", *MASTER_SERVICE)
    if master is not None:
        chosen[MASTER_SERVICE[1]] = master
    if links:
        for svc in store.items("services", namespace):
            chosen[svc["metadata"]["name"]] = svc
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(_service_vars(chosen[name]))
    return env


def _service_vars(svc: Obj) -> dict[str, str]:
    spec = svc.get("spec") or {}
    ip, ports = spec.get("clusterIP"), spec.get("ports") or []
    if not ip or ip == "None" or not ports:
        return {}
    prefix = svc["metadata"]["name"].upper().replace("-", "_")
    env = {
        f"{prefix}_SERVICE_HOST": ip,
        f"{prefix}_SERVICE_PORT": str(ports[0]["port"]),
    }
    for port in ports:
        if port.get("name"):
            name = str(port["name"]).upper().replace("-", "_")
            env[f"{prefix}_SERVICE_PORT_{name}"] = str(port["port"])
    for index, port in enumerate(ports):
        protocol = str(port.get("protocol") or "TCP")
        url = f"{protocol.lower()}://{ip}:{port['port']}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        link = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
        env[link] = url
        env[f"{link}_PROTO"] = protocol.lower()
        env[f"{link}_PORT"] = str(port["port"])
        env[f"{link}_ADDR"] = ip
    return env


# -- ConfigMap and Secret data for volume files -----------------------------------------


def object_data(
    store: Store, resource: str, namespace: str, name: Any
) -> dict[str, str]:
    """A ConfigMap's `data`, or a Secret's decoded `data` (and `stringData`)."""
    obj = store.get(resource, namespace, str(name)) if name else None
    if obj is None:
        return {}
    if resource == "configmaps":
        return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    decoded = {str(k): _decode(v) for k, v in (obj.get("data") or {}).items()}
    decoded.update({str(k): str(v) for k, v in (obj.get("stringData") or {}).items()})
    return decoded


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(value)
