"""The environment variables the kubelet gives a container when it starts.

Faithful to the kubelet's rules (`makeEnvironmentVariables`): `envFrom` ConfigMaps and
Secrets (with their `prefix`), then `env` in order, a `value` expanding `$(NAME)`
references to variables defined before it or to Service variables (`$$` escapes, an
unknown reference stays as written), `valueFrom` a ConfigMap or Secret key, a
`fieldRef` (`metadata.name`, `.namespace`, `.uid`, `.labels['k']`, `.annotations['k']`,
`spec.nodeName`, `spec.serviceAccountName`, `status.hostIP(s)`, `status.podIP(s)`) or a
`resourceFieldRef` (limits and requests, with `divisor`, a missing limit reading as the
node's allocatable); then the Docker-link variables of every Service with a ClusterIP
in the Pod's namespace (`enableServiceLinks`, on by default) and of `default/kubernetes`
always: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`, `<NAME>_SERVICE_PORT_<PORT>`,
`<NAME>_PORT`, `<NAME>_PORT_<n>_<PROTO>` and its `_PROTO`, `_PORT`, `_ADDR`.  The
runtime adds `PATH` and `HOSTNAME` and runc `HOME`.  Computed once, when the container
starts, so a Service created later, or a ConfigMap changed later, is not seen until
the Pod is replaced, as on a real node.

Simplified: a missing ConfigMap, Secret or key that is not `optional` leaves the
variable out (a real kubelet refuses to start the container with
CreateContainerConfigError); the image's own `ENV` lines are not known, only `PATH`.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
Env = list[tuple[str, str]]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MASTER_SERVICE = ("default", "kubernetes")


def container_env(store: Store, pod: Obj, container: Obj) -> Env:
    """The container's environment, in the order `env` prints it."""
    services = service_env(store, pod)
    declared: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        declared.update(_env_from(store, pod, source))
    for var in container.get("env") or []:
        value = _value(store, pod, container, var, {**services, **declared})
        if value is not None:
            declared[str(var["name"])] = value
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


# -- env and envFrom -----------------------------------------------------------------------


def _env_from(store: Store, pod: Obj, source: Obj) -> dict[str, str]:
    prefix = str(source.get("prefix") or "")
    namespace = pod["metadata"].get("namespace") or "default"
    if source.get("configMapRef"):
        data = object_data(
            store, "configmaps", namespace, source["configMapRef"].get("name")
        )
    elif source.get("secretRef"):
        data = object_data(store, "secrets", namespace, source["secretRef"].get("name"))
    else:
        data = {}
    return {prefix + k: v for k, v in sorted(data.items()) if "=" not in k}


def _value(
    store: Store, pod: Obj, container: Obj, var: Obj, defined: dict[str, str]
) -> str | None:
    source = var.get("valueFrom")
    if not source:
        return expand(str(var.get("value") or ""), defined)
    namespace = pod["metadata"].get("namespace") or "default"
    if source.get("configMapKeyRef"):
        ref = source["configMapKeyRef"]
        return object_data(store, "configmaps", namespace, ref.get("name")).get(
            str(ref.get("key"))
        )
    if source.get("secretKeyRef"):
        ref = source["secretKeyRef"]
        return object_data(store, "secrets", namespace, ref.get("name")).get(
            str(ref.get("key"))
        )
    if source.get("fieldRef"):
        return field_value(pod, str(source["fieldRef"].get("fieldPath") or ""))
    if source.get("resourceFieldRef"):
        return resource_value(store, pod, container, source["resourceFieldRef"])
    return None


def expand(text: str, defined: dict[str, str]) -> str:
    """The kubelet's `$(NAME)` expansion: defined names replaced, `$$` to `$`."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("$(", i) and (end := text.find(")", i + 2)) >= 0:
            name = text[i + 2 : end]
            out.append(defined.get(name, text[i : end + 1]))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


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


# -- downward API ------------------------------------------------------------------------


def field_value(pod: Obj, path: str) -> str | None:
    """A `fieldRef` as the kubelet resolves it (labels and annotations by key)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    for field, mapping in (
        ("metadata.labels", "labels"),
        ("metadata.annotations", "annotations"),
    ):
        if path.startswith(field + "["):
            key = path[len(field) + 1 : -1].strip("'\"")
            return str((meta.get(mapping) or {}).get(key, ""))
        if path == field:
            items = sorted((meta.get(mapping) or {}).items())
            return "\n".join(f'{k}="{v}"' for k, v in items)
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.hostIPs": ",".join(a["ip"] for a in status.get("hostIPs") or []),
        "status.podIPs": ",".join(a["ip"] for a in status.get("podIPs") or []),
    }
    return None if path not in simple else str(simple[path] or "")


def resource_value(store: Store, pod: Obj, container: Obj, ref: Obj) -> str | None:
    """A `resourceFieldRef`: the container's limit or request over `divisor`, rounded up."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in (
        "cpu",
        "memory",
        "ephemeral-storage",
    ):
        return None
    target = container
    if ref.get("containerName"):
        named = [
            c
            for c in pod["spec"].get("containers", [])
            if c["name"] == ref["containerName"]
        ]
        target = named[0] if named else container
    resources = target.get("resources") or {}
    amount = (resources.get(kind) or {}).get(name)
    if amount is None and kind == "requests":
        amount = (resources.get("limits") or {}).get(name, "0")
    if amount is None:
        node = store.get("nodes", "", str(pod["spec"].get("nodeName") or ""))
        amount = ((node or {}).get("status", {}).get("allocatable") or {}).get(
            name, "0"
        )
    divisor = podutil.quantity(ref.get("divisor") or "1") or 1.0
    return str(math.ceil(podutil.quantity(amount) / divisor - 1e-9))
