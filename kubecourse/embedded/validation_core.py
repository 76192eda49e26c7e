"""Spec rules of `pkg/apis/core/validation` and `apps/validation` the course meets.

Faithful, with upstream's field paths, cause reasons and messages:
- containers: `imagePullPolicy` and port `protocol` values, port names (IANA_SVC_NAME,
  unique in the pod), `env` entries with both `value` and `valueFrom`, volume mounts
  of volumes the pod does not have, resource quantities that are negative, and
  requests above limits;
- Services: port protocols, `(port, protocol)` and `(nodePort, protocol)` pairs and
  names that repeat, `targetPort` names, a `nodePort` on a ClusterIP Service, a
  `clusterIP` outside the service range, selector keys and values, `sessionAffinity`
  and `externalTrafficPolicy` values (the latter only on NodePort/LoadBalancer
  Services or ones with `externalIPs`), an ExternalName Service's `externalName`
  (required) and its address fields (forbidden); a `nodePort` outside 30000-32767 or
  already held is the allocator's refusal (nodeports.py), before validation;
- Deployments: strategy type, `rollingUpdate` under Recreate, maxSurge and
  maxUnavailable both 0 (or a percentage above 100%);
- ConfigMaps and Secrets: data keys, the 1 MiB total, `immutable` (data and the flag
  itself frozen once set), the Secret types' required keys (`kubernetes.io/tls`,
  `dockerconfigjson`, `basic-auth`, `ssh-auth`) and an immutable `type`.

Simplified: a `(port, protocol)` duplicate shows its value as upstream's internal
ServicePort struct marshals (`{"Name":"","Protocol":"TCP",...}`), written here from
the fields upstream's key has, not from Go; resource names are not checked.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from kubecourse.embedded import quantity
from kubecourse.embedded.status import cause
from kubecourse.embedded.validation_meta import (
    config_key_errors,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    port_name_errors,
    required,
    too_long,
    validate_labels,
)

Causes = list[dict[str, str]]
Obj = dict[str, Any]

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
SESSION_AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
MAX_DATA_BYTES = 1024 * 1024
IMMUTABLE = "field is immutable when `immutable` is set"


# ---------------------------------------------------------------- containers


def container_causes(container: Obj, here: str, volumes: set[str] | None) -> Causes:
    """A container's own rules (names and images are validation.py's)."""
    causes: Causes = []
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        causes.append(not_supported(f"{here}.imagePullPolicy", policy, PULL_POLICIES))
    causes += _env_causes(container.get("env") or [], f"{here}.env")
    causes += _mount_causes(
        container.get("volumeMounts") or [], f"{here}.volumeMounts", volumes
    )
    causes += resources_causes(container.get("resources") or {}, f"{here}.resources")
    return causes


def port_causes(ports: list[Any], here: str, seen_names: set[str]) -> Causes:
    """`validateContainerPorts`: names unique in the pod, protocols known."""
    causes: Causes = []
    for j, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        at = f"{here}[{j}]"
        name = port.get("name")
        if name:
            causes += [
                invalid(f"{at}.name", name, message)
                for message in port_name_errors(str(name))
            ]
            if name in seen_names:
                causes.append(duplicate(f"{at}.name", name))
            seen_names.add(str(name))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in PROTOCOLS:
            causes.append(not_supported(f"{at}.protocol", protocol, PROTOCOLS))
    return causes


def _env_causes(env: list[Any], here: str) -> Causes:
    causes: Causes = []
    for i, var in enumerate(env):
        if isinstance(var, dict) and var.get("valueFrom") and var.get("value"):
            detail = "may not be specified when `value` is not empty"
            causes.append(invalid(f"{here}[{i}].valueFrom", "", detail))
    return causes


def _mount_causes(mounts: list[Any], here: str, volumes: set[str] | None) -> Causes:
    if volumes is None:
        return []
    causes: Causes = []
    for i, mount in enumerate(mounts):
        name = (mount or {}).get("name") if isinstance(mount, dict) else None
        if name and name not in volumes:
            causes.append(not_found(f"{here}[{i}].name", name))
    return causes


def resources_causes(resources: Obj, here: str) -> Causes:
    """`ValidateResourceRequirements`: no negative quantity; requests within limits."""
    causes: Causes = []
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            causes += _quantity_causes(f"{here}.{kind}[{name}]", value)
    for name, value in requests.items():
        if name in limits and _exceeds(value, limits[name]):
            detail = f"must be less than or equal to {name} limit of {_canonical(limits[name])}"
            causes.append(
                invalid(f"{here}.requests[{name}]", _canonical(value), detail)
            )
    return causes


def _quantity_causes(field: str, value: Any) -> Causes:
    try:
        amount = quantity.parse(value)
    except ValueError:
        return []  # refused earlier, by decoding
    if amount < 0:
        return [invalid(field, _canonical(value), "must be greater than or equal to 0")]
    return []


def _exceeds(request: Any, limit: Any) -> bool:
    try:
        return quantity.parse(request) > quantity.parse(limit)
    except ValueError:
        return False


def _canonical(value: Any) -> str:
    return str(value).strip() if not isinstance(value, float) else json.dumps(value)


def volume_names(spec: Obj) -> set[str]:
    return {
        str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, dict)
    }


# ---------------------------------------------------------------- Services


def service_causes(spec: Obj) -> Causes:
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    causes = validate_labels(spec.get("selector"), "spec.selector")
    causes += _service_port_causes(ports, spec.get("type") or "ClusterIP")
    causes += _duplicate_port_causes(ports)
    causes += _duplicate_node_port_causes(ports)
    causes += _cluster_ip_causes(spec)
    causes += _external_name_causes(spec)
    causes += _session_affinity_causes(spec)
    causes += _external_traffic_policy_causes(spec)
    return causes


def _duplicate_node_port_causes(ports: list[Obj]) -> Causes:
    causes: Causes = []
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not port.get("nodePort"):
            continue
        key = (port.get("protocol") or "TCP", port["nodePort"])
        if key in seen:
            causes.append(duplicate(f"spec.ports[{i}]", port["nodePort"]))
        seen.add(key)
    return causes


def _external_name_causes(spec: Obj) -> Causes:
    """An ExternalName Service has a CNAME and no address or IP families."""
    if spec.get("type") != "ExternalName":
        return []
    causes = [
        forbidden(f"spec.{field}", "may not be set for ExternalName services")
        for field in ("clusterIPs", "ipFamilies", "ipFamilyPolicy")
        if spec.get(field)
    ]
    if not str(spec.get("externalName") or "").rstrip("."):
        causes.append(required("spec.externalName"))
    return causes


def _session_affinity_causes(spec: Obj) -> Causes:
    affinity = spec.get("sessionAffinity")
    if affinity in SESSION_AFFINITIES:
        return []
    return [not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES)]


def _external_traffic_policy_causes(spec: Obj) -> Causes:
    policy = spec.get("externalTrafficPolicy")
    kind = spec.get("type")
    accessible = kind in ("NodePort", "LoadBalancer") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )
    if not accessible:
        if not policy:
            return []
        detail = "may only be set for externally-accessible services"
        return [invalid("spec.externalTrafficPolicy", policy, detail)]
    if policy and policy not in TRAFFIC_POLICIES:
        return [not_supported("spec.externalTrafficPolicy", policy, TRAFFIC_POLICIES)]
    return []


def _service_port_causes(ports: list[Obj], kind: str) -> Causes:
    causes: Causes = []
    for i, port in enumerate(ports):
        at = f"spec.ports[{i}]"
        protocol = port.get("protocol")
        if protocol is not None and protocol not in PROTOCOLS:
            causes.append(not_supported(f"{at}.protocol", protocol, PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, str) and not target.isdigit():
            causes += [
                invalid(f"{at}.targetPort", target, message)
                for message in port_name_errors(target)
            ]
        if port.get("nodePort") and kind == "ClusterIP":
            causes.append(
                forbidden(
                    f"{at}.nodePort", "may not be used when `type` is 'ClusterIP'"
                )
            )
    return causes


def _duplicate_port_causes(ports: list[Obj]) -> Causes:
    causes: Causes = []
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol") or "TCP", port.get("port"))
        if key in seen:
            shown = json.dumps(
                {
                    "Name": "",
                    "Protocol": key[0],
                    "AppProtocol": None,
                    "Port": key[1],
                    "TargetPort": 0,
                    "NodePort": 0,
                },
                separators=(",", ":"),
            )
            causes.append(
                cause(
                    f"spec.ports[{i}]",
                    f"Duplicate value: {shown}",
                    "FieldValueDuplicate",
                )
            )
        seen.add(key)
    return causes


def _cluster_ip_causes(spec: Obj) -> Causes:
    ip = spec.get("clusterIP")
    if not ip or ip == "None" or not isinstance(ip, str):
        return []
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        return [invalid("spec.clusterIPs[0]", ip, detail)]
    if address in SERVICE_RANGE:
        return []
    detail = (
        f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
        f"The range of valid IPs is {SERVICE_RANGE}"
    )
    return [invalid("spec.clusterIPs", [ip], detail)]


# ---------------------------------------------------------------- Deployments


def strategy_causes(strategy: Any) -> Causes:
    """`ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`."""
    if not isinstance(strategy, dict):
        return []
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    field = "spec.strategy"
    if kind == "Recreate":
        if rolling is not None:
            return [
                forbidden(
                    f"{field}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [not_supported(f"{field}.type", kind, ("Recreate", "RollingUpdate"))]
    if not isinstance(rolling, dict):
        return [
            required(
                f"{field}.rollingUpdate", "this should be defaulted and never be nil"
            )
        ]
    return _rolling_update_causes(rolling, f"{field}.rollingUpdate")


def _rolling_update_causes(rolling: Obj, field: str) -> Causes:
    unavailable, surge = (
        rolling.get("maxUnavailable", "25%"),
        rolling.get("maxSurge", "25%"),
    )
    causes = _int_or_percent_causes(unavailable, f"{field}.maxUnavailable")
    causes += _int_or_percent_causes(surge, f"{field}.maxSurge")
    if causes:
        return causes
    if _is_zero(unavailable) and _is_zero(surge):
        return [
            invalid(
                f"{field}.maxUnavailable",
                unavailable,
                "may not be 0 when `maxSurge` is 0",
            )
        ]
    if isinstance(unavailable, str) and int(unavailable[:-1]) > 100:
        return [
            invalid(
                f"{field}.maxUnavailable", unavailable, "must not be greater than 100%"
            )
        ]
    return []


def _int_or_percent_causes(value: Any, field: str) -> Causes:
    if isinstance(value, int) and not isinstance(value, bool):
        return (
            [invalid(field, value, "must be greater than or equal to 0")]
            if value < 0
            else []
        )
    text = str(value)
    if text.endswith("%") and text[:-1].isdigit():
        return []
    detail = (
        "a valid percent string must be a numeric string followed by an ending '%' "
        "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
    )
    return [invalid(field, value, detail)]


def _is_zero(value: Any) -> bool:
    return str(value).rstrip("%") == "0"


# ---------------------------------------------------------------- ConfigMaps and Secrets


def _data_size(*maps: Any) -> int:
    return sum(
        len(str(k).encode()) + len(str(v))
        for m in maps
        if isinstance(m, dict)
        for k, v in m.items()
    )


def configmap_causes(obj: Obj) -> Causes:
    """`ValidateConfigMap`: keys, no key in both maps, 1 MiB in all."""
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    causes: Causes = []
    for name, values in (("data", data), ("binaryData", binary)):
        for key in values:
            causes += [
                invalid(f"{name}[{key}]", key, message)
                for message in config_key_errors(str(key))
            ]
    for key in data:
        if key in binary:
            causes.append(
                invalid(f"data[{key}]", key, "duplicate of key present in binaryData")
            )
    if (
        _data_size(data) + sum(len(str(v)) * 3 // 4 + len(k) for k, v in binary.items())
        > MAX_DATA_BYTES
    ):
        causes.append(too_long("", MAX_DATA_BYTES))
    return causes


def immutable_data_causes(old: Obj, new: Obj, fields: tuple[str, ...]) -> Causes:
    """`ValidateConfigMapUpdate` / `ValidateSecretUpdate` once `immutable: true`."""
    if not old.get("immutable"):
        return []
    causes: Causes = []
    if not new.get("immutable"):
        causes.append(forbidden("immutable", IMMUTABLE))
    for name in fields:
        if (old.get(name) or {}) != (new.get(name) or {}):
            causes.append(forbidden(name, IMMUTABLE))
    return causes


_SECRET_REQUIRED = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
}


def secret_causes(obj: Obj) -> Causes:
    """`ValidateSecret`: keys, 1 MiB, and what each Secret type requires."""
    data = obj.get("data") or {}
    causes: Causes = []
    for key in data:
        causes += [
            invalid(f"data[{key}]", key, message)
            for message in config_key_errors(str(key))
        ]
    kind = obj.get("type") or "Opaque"
    causes += [required(f"data[{key}]") for key in _missing_keys(kind, data)]
    if kind == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in data:
        causes += _docker_config_causes(data[".dockerconfigjson"])
    if kind == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            causes.append(
                required("metadata.annotations[kubernetes.io/service-account.name]")
            )
    if sum(len(str(v)) * 3 // 4 for v in data.values()) > MAX_DATA_BYTES:
        causes.append(too_long("data", MAX_DATA_BYTES))
    return causes


def _missing_keys(kind: str, data: Obj) -> list[str]:
    if kind == "kubernetes.io/basic-auth":
        return (
            [] if "username" in data or "password" in data else ["username", "password"]
        )
    if kind == "kubernetes.io/ssh-auth":
        return [] if data.get("ssh-privatekey") else ["ssh-privatekey"]
    return [key for key in _SECRET_REQUIRED.get(kind, ()) if key not in data]


def _docker_config_causes(encoded: Any) -> Causes:
    import base64

    from kubecourse.embedded import gowire

    try:
        raw = base64.b64decode(str(encoded))
        document = json.loads(raw)
    except ValueError:
        message = (
            gowire.json_syntax_error(base64.b64decode(str(encoded) + "=="))
            or "unexpected end of JSON input"
        )
        return [
            invalid("data[.dockerconfigjson]", "<secret contents redacted>", message)
        ]
    if not isinstance(document, dict):
        message = f"json: cannot unmarshal {'array' if isinstance(document, list) else 'string'} into Go value of type map[string]interface {{}}"
        return [
            invalid("data[.dockerconfigjson]", "<secret contents redacted>", message)
        ]
    return []


def secret_update_causes(old: Obj, new: Obj) -> Causes:
    causes = immutable_data_causes(old, new, ("data",))
    old_type, new_type = old.get("type") or "Opaque", new.get("type") or "Opaque"
    if old_type != new_type:
        causes.append(invalid("type", new_type, "field is immutable"))
    return causes
