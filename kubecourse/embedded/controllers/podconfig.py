"""What a kubelet reads before it can start a container: environment and volumes.

Faithful (`kubelet_pods.go` `makeEnvironmentVariables`, the configMap and secret volume
plugins): `envFrom` ConfigMaps and Secrets first (with `prefix`), then `env`, later
entries winning; `value` with `$(VAR)` expanded from the variables defined before it
(`$$` for a literal `$`, an unknown name left as it is); `valueFrom` `configMapKeyRef`,
`secretKeyRef` (Secret data base64-decoded), `fieldRef` (`metadata.name`,
`metadata.namespace`, `metadata.uid`, `metadata.labels['k']`,
`metadata.annotations['k']`, `spec.nodeName`, `spec.serviceAccountName`,
`status.hostIP`, `status.hostIPs`, `status.podIP`, `status.podIPs`) and
`resourceFieldRef` (requests and limits, a missing limit reading as the node's
allocatable); `$(VAR)` in `command` and `args` expanded the same way.  A missing
ConfigMap or Secret, or a missing key, is the kubelet's error text (`configmap "x" not
found`, `couldn't find key k in ConfigMap ns/x`) unless the reference is `optional:
true`.  Volumes: a configMap, secret or projected source that is missing (or names an
item key it lacks) stops the mount with the volume plugin's message (`configmap "x"
not found`, `configmap references non-existent config key: k`).

Simplified: `envFrom` keys that are not valid variable names are kept (upstream skips
them with an InvalidEnvironmentVariableNames event).  The whole environment, Service
variables included, is `environment.container_env`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
import re

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Obj
from kubecourse.embedded.store import Store

_EXPANSION = re.compile(r"\$\$|\$\(([^)]*)\)")


class ConfigError(Exception):
    """The container cannot be configured yet; the message is the kubelet's."""


# -- environment -----------------------------------------------------------------------------


def environment(
    store: Store, pod: Obj, container: Obj, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The container's declared variables, or ConfigError naming what is missing;
    `$(VAR)` may also name a variable of `base` (the Service variables)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(_env_from(store, pod, source))
    for var in container.get("env") or []:
        value = _env_value(store, pod, container, var, {**(base or {}), **env})
        if value is not None:
            env[str(var["name"])] = value
    return env


def _env_from(store: Store, pod: Obj, source: Obj) -> dict[str, str]:
    prefix = str(source.get("prefix") or "")
    if "configMapRef" in source:
        data = _config_map_data(store, pod, source["configMapRef"])
    elif "secretRef" in source:
        data = _secret_data(store, pod, source["secretRef"])
    else:
        data = None
    # A key with "=" can never be a variable name; the kubelet skips it.
    return {prefix + key: value for key, value in (data or {}).items() if "=" not in key}


def _env_value(
    store: Store, pod: Obj, container: Obj, var: Obj, env: dict[str, str]
) -> str | None:
    if "valueFrom" not in var:
        return expand(str(var.get("value") or ""), env)
    source = var["valueFrom"] or {}
    if "configMapKeyRef" in source:
        return _key_of(store, pod, source["configMapKeyRef"], "ConfigMap")
    if "secretKeyRef" in source:
        return _key_of(store, pod, source["secretKeyRef"], "Secret")
    if "fieldRef" in source:
        return field_value(pod, str((source["fieldRef"] or {}).get("fieldPath") or ""))
    if "resourceFieldRef" in source:
        return _resource_value(store, pod, container, source["resourceFieldRef"] or {})
    return ""


def _key_of(store: Store, pod: Obj, ref: Obj, kind: str) -> str | None:
    reader = _config_map_data if kind == "ConfigMap" else _secret_data
    data = reader(store, pod, ref)
    if data is None:
        return None  # optional and missing
    key = str(ref.get("key") or "")
    if key in data:
        return data[key]
    if ref.get("optional"):
        return None
    namespace = pod["metadata"].get("namespace") or "default"
    raise ConfigError(
        f"couldn't find key {key} in {kind} {namespace}/{ref.get('name')}"
    )


def _config_map_data(store: Store, pod: Obj, ref: Obj) -> dict[str, str] | None:
    found = store.get(
        "configmaps",
        pod["metadata"].get("namespace") or "default",
        str(ref.get("name") or ""),
    )
    if found is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'configmap "{ref.get("name")}" not found')
    data = {k: str(v) for k, v in (found.get("data") or {}).items()}
    for key, value in (found.get("binaryData") or {}).items():
        data.setdefault(key, _decoded(value))
    return data


def _secret_data(store: Store, pod: Obj, ref: Obj) -> dict[str, str] | None:
    found = store.get(
        "secrets",
        pod["metadata"].get("namespace") or "default",
        str(ref.get("name") or ""),
    )
    if found is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'secret "{ref.get("name")}" not found')
    return {k: _decoded(v) for k, v in (found.get("data") or {}).items()}


def _decoded(value: object) -> str:
    try:
        return base64.b64decode(str(value)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(value)


_LABEL_PATH = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def field_value(pod: Obj, path: str) -> str:
    """The downward API value of `fieldRef.fieldPath` (whole label and annotation maps
    as `key="value"` lines, as a downwardAPI volume file holds them)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    keyed = _LABEL_PATH.match(path)
    if keyed:
        return str((meta.get(keyed.group(1)) or {}).get(keyed.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):  # whole maps: downward API volumes
        items = sorted((meta.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{v}"' for k, v in items)
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.hostIPs": ",".join(
            ip.get("ip", "") for ip in status.get("hostIPs") or []
        ),
        "status.podIPs": ",".join(
            ip.get("ip", "") for ip in status.get("podIPs") or []
        ),
    }
    return str(simple.get(path) or "")


def _resource_value(store: Store, pod: Obj, container: Obj, ref: Obj) -> str:
    """requests.* / limits.* divided by `divisor`, rounded up, as the kubelet does."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "limits":
        node = store.get(
            "nodes", "", str((pod.get("spec") or {}).get("nodeName") or "")
        )
        value = (((node or {}).get("status") or {}).get("allocatable") or {}).get(name)
    try:
        amount = podutil.quantity(value if value is not None else 0)
        divisor = podutil.quantity(ref.get("divisor") or 1) or 1.0
    except ValueError:
        return "0"
    return str(math.ceil(amount / divisor))


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names replaced, `$$` escaped."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _EXPANSION.sub(replace, text)


def expanded(container: Obj, env: dict[str, str]) -> Obj:
    """The container with `$(VAR)` expanded in its command and args."""
    result = copy.deepcopy(container)
    for key in ("command", "args"):
        if isinstance(result.get(key), list):
            result[key] = [expand(str(word), env) for word in result[key]]
    return result


# -- volumes ---------------------------------------------------------------------------------


def volume_error(store: Store, pod: Obj) -> tuple[str, str] | None:
    """(volume, the plugin's message) for the first volume that cannot be set up."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        problem = _volume_problem(store, pod, volume)
        if problem is not None:
            return str(volume.get("name")), problem
    return None


def _volume_problem(store: Store, pod: Obj, volume: Obj) -> str | None:
    if isinstance(volume.get("configMap"), dict):
        return _source_problem(store, pod, volume["configMap"], "configmap")
    if isinstance(volume.get("secret"), dict):
        source = dict(volume["secret"], name=volume["secret"].get("secretName"))
        return _source_problem(store, pod, source, "secret")
    for source in (volume.get("projected") or {}).get("sources") or []:
        for key, kind in (("configMap", "configmap"), ("secret", "secret")):
            if isinstance(source.get(key), dict):
                problem = _source_problem(store, pod, source[key], kind)
                if problem is not None:
                    return problem
    return None


def _source_problem(store: Store, pod: Obj, source: Obj, kind: str) -> str | None:
    try:
        data = (_config_map_data if kind == "configmap" else _secret_data)(
            store, pod, source
        )
    except ConfigError as err:
        return str(err)
    if data is None:
        return None
    for item in source.get("items") or []:
        key = item.get("key")
        if key not in data and not source.get("optional"):
            what = "config" if kind == "configmap" else "secret"
            prefix = "configmap " if kind == "configmap" else ""
            return f"{prefix}references non-existent {what} key: {key}"
    return None
