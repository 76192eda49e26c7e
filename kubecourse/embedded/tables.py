"""Server-side Tables (`meta.k8s.io/v1`), the columns `kubectl get` prints.

Faithful to the upstream printers (`pkg/printers/internalversion/printers.go`): the column
names, types, formats, priorities (priority 1 = shown by `-o wide`; the server always sends
every column, kubectl hides the wide ones), the cell values and their JSON types, and the
pod STATUS / RESTARTS logic, node STATUS and ROLES, Service EXTERNAL-IP and PORT(S), the
`+ N more...` endpoint lists, and `HumanDuration` ages.  Column descriptions that
upstream takes from the API documentation come from the same upstream schemas.

Not faithful: the upstream fallback for a kind without a printer is `NAME, CREATED AT`;
here it is `NAME, AGE`, like kubectl's own client-side fallback.  Quantities (PV/PVC
capacity) are shown as stored rather than re-canonicalised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from ipaddress import ip_address
from typing import Any

from kubecourse.embedded import schemas
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.selectors import (
    SelectorError,
    format_labels,
    label_selector_from_spec,
)

Obj = Mapping[str, Any]
Cell = str | int

# ---------------------------------------------------------------- ages


def human_duration(seconds: float) -> str:
    """`k8s.io/apimachinery/pkg/util/duration.HumanDuration`: `5s`, `3m2s`, `45m`, `5h`…"""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def age(value: Any, now: datetime) -> str:
    """`translateTimestampSince`: `<unknown>` without a timestamp."""
    moment = parse_time(value)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str | tuple[str, ...] = ""  # text, or (group, version, kind, *path)
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": _describe(self.description),
            "priority": self.priority,
        }


def _describe(source: str | tuple[str, ...]) -> str:
    if isinstance(source, str):
        return source
    group, version, kind, *path = source
    found = schemas.field_schema(group, version, kind, path)
    return str((found or {}).get("description", ""))


def _core(kind: str, *path: str) -> tuple[str, ...]:
    return ("", "v1", kind, *path)


NAME = Column("Name", format="name", description=_core("Pod", "metadata", "name"))
AGE = Column("Age", description=_core("Pod", "metadata", "creationTimestamp"))


def _wide(
    name: str, description: str | tuple[str, ...], type_: str = "string"
) -> Column:
    return Column(name, type_, description, priority=1)


_CONTAINERS = _wide("Containers", "Names of each container in the template.")
_IMAGES = _wide("Images", "Images referenced by each container in the template.")
_READY_PODS = Column("Ready", description="Number of the pod with ready state")


# ---------------------------------------------------------------- small helpers


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    current = obj
    for part in path:
        if not isinstance(current, Mapping):
            return default
        current = current.get(part)
    return default if current is None else current


def _list(obj: Any, *path: str) -> list[Any]:
    value = _get(obj, *path, default=[])
    return list(value) if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _template_containers(obj: Obj) -> list[Any]:
    return _list(obj, "spec", "template", "spec", "containers")


def _names(containers: list[Any]) -> str:
    return ",".join(str(c.get("name", "")) for c in containers)


def _images(containers: list[Any]) -> str:
    return ",".join(str(c.get("image", "")) for c in containers)


def format_label_selector(spec: Any) -> str:
    """`metav1.FormatLabelSelector`: `<none>` for nil or empty, `<error>` if invalid."""
    if spec is None:
        return "<none>"
    try:
        text = str(label_selector_from_spec(spec))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def _with_more(items: list[str], count: int, limit: int = 3, empty: str = "") -> str:
    text = ",".join(items)
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty


def _host_port(ip: str, port: Any) -> str:
    try:
        bracket = ip_address(ip).version == 6
    except ValueError:
        bracket = ":" in ip
    return f"[{ip}]:{port}" if bracket else f"{ip}:{port}"


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def _access_modes(modes: list[Any]) -> str:
    return ",".join(short for mode, short in _ACCESS_MODES if mode in modes)


def _load_balancer(status: Any) -> str:
    found = {
        str(entry.get("ip") or entry.get("hostname"))
        for entry in _list(status, "loadBalancer", "ingress")
        if entry.get("ip") or entry.get("hostname")
    }
    return ",".join(sorted(found))


# ---------------------------------------------------------------- pods

_POD_COLUMNS = (
    NAME,
    Column(
        "Ready",
        description="The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted.",
    ),
    AGE,
    _wide("IP", _core("Pod", "status", "podIP")),
    _wide("Node", _core("Pod", "spec", "nodeName")),
    _wide("Nominated Node", _core("Pod", "status", "nominatedNodeName")),
    _wide("Readiness Gates", _core("Pod", "spec", "readinessGates")),
)


@dataclass
class _PodTally:
    reason: str
    ready: int = 0
    total: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None


def _later(current: datetime | None, status: Obj) -> datetime | None:
    finished = parse_time(_get(status, "lastState", "terminated", "finishedAt"))
    if finished is None or (current is not None and current >= finished):
        return current
    return finished


def _is_sidecar(container: Any) -> bool:
    return isinstance(container, Mapping) and container.get("restartPolicy") == "Always"


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return f"{prefix}{terminated['reason']}"
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _init_containers(pod: Obj, tally: _PodTally) -> bool:
    """Count init containers; True while initialisation is still under way."""
    specs = {c.get("name"): c for c in _list(pod, "spec", "initContainers")}
    tally.total += sum(1 for c in specs.values() if _is_sidecar(c))
    for index, status in enumerate(_list(pod, "status", "initContainerStatuses")):
        tally.restarts += _int(status.get("restartCount"))
        tally.last_restart = _later(tally.last_restart, status)
        sidecar = _is_sidecar(specs.get(status.get("name")))
        if sidecar:
            tally.sidecar_restarts += _int(status.get("restartCount"))
            tally.sidecar_last_restart = _later(tally.sidecar_last_restart, status)
        terminated = _get(status, "state", "terminated")
        waiting_reason = _get(status, "state", "waiting", "reason", default="")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and status.get("started"):
            tally.ready += 1 if status.get("ready") else 0
            continue
        if terminated is not None:
            tally.reason = _terminated_reason(terminated, "Init:")
        elif waiting_reason and waiting_reason != "PodInitializing":
            tally.reason = f"Init:{waiting_reason}"
        else:
            tally.reason = f"Init:{index}/{len(specs)}"
        return True
    return False


def _has_condition(pod: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in _list(pod, "status", "conditions")
    )


def _containers(pod: Obj, tally: _PodTally) -> None:
    tally.restarts = tally.sidecar_restarts
    tally.last_restart = tally.sidecar_last_restart
    running = False
    for status in reversed(_list(pod, "status", "containerStatuses")):
        tally.restarts += _int(status.get("restartCount"))
        tally.last_restart = _later(tally.last_restart, status)
        waiting = _get(status, "state", "waiting", "reason", default="")
        terminated = _get(status, "state", "terminated")
        if waiting:
            tally.reason = str(waiting)
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif status.get("ready") and _get(status, "state", "running") is not None:
            running = True
            tally.ready += 1
    if tally.reason == "Completed" and running:
        tally.reason = "Running" if _has_condition(pod, "Ready") else "NotReady"


def _pod_tally(pod: Obj) -> _PodTally:
    phase = str(_get(pod, "status", "phase", default=""))
    tally = _PodTally(reason=str(_get(pod, "status", "reason", default="") or phase))
    tally.total = len(_list(pod, "spec", "containers"))
    for condition in _list(pod, "status", "conditions"):
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("reason") == "SchedulingGated"
        ):
            tally.reason = "SchedulingGated"
    initializing = _init_containers(pod, tally)
    if not initializing or _has_condition(pod, "Initialized"):
        _containers(pod, tally)
    if _get(pod, "metadata", "deletionTimestamp"):
        if _get(pod, "status", "reason") == "NodeLost":
            tally.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    return tally


def _readiness_gates(pod: Obj) -> str:
    gates = _list(pod, "spec", "readinessGates")
    if not gates:
        return "<none>"
    conditions = {
        c.get("type"): c.get("status") for c in _list(pod, "status", "conditions")
    }
    ready = sum(
        1 for gate in gates if conditions.get(gate.get("conditionType")) == "True"
    )
    return f"{ready}/{len(gates)}"


def _pod_cells(pod: Obj, now: datetime) -> list[Cell]:
    tally = _pod_tally(pod)
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart is not None:
        since = human_duration((now - tally.last_restart).total_seconds())
        restarts = f"{tally.restarts} ({since} ago)"
    ips = _list(pod, "status", "podIPs")
    return [
        _get(pod, "metadata", "name", default=""),
        f"{tally.ready}/{tally.total}",
        tally.reason,
        restarts,
        age(_get(pod, "metadata", "creationTimestamp"), now),
        str(ips[0].get("ip") or "<none>") if ips else "<none>",
        _get(pod, "spec", "nodeName", default="") or "<none>",
        _get(pod, "status", "nominatedNodeName", default="") or "<none>",
        _readiness_gates(pod),
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = _get(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [
        {"type": "Completed", "status": "True", "reason": phase, "message": message}
    ]


# ---------------------------------------------------------------- workloads

_DEPLOYMENT_COLUMNS = (
    NAME,
    _READY_PODS,
    Column(
        "Up-to-date",
        description=("apps", "v1", "Deployment", "status", "updatedReplicas"),
    ),
    Column(
        "Available",
        description=("apps", "v1", "Deployment", "status", "availableReplicas"),
    ),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", ("apps", "v1", "Deployment", "spec", "selector")),
)


def _deployment_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        f"{_int(_get(obj, 'status', 'readyReplicas'))}/{_int(_get(obj, 'spec', 'replicas'))}",
        _int(_get(obj, "status", "updatedReplicas")),
        _int(_get(obj, "status", "availableReplicas")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(obj, "spec", "selector")),
    ]


_REPLICASET_COLUMNS = (
    NAME,
    Column("Desired", "integer", ("apps", "v1", "ReplicaSet", "spec", "replicas")),
    Column("Current", "integer", ("apps", "v1", "ReplicaSet", "status", "replicas")),
    Column("Ready", "integer", ("apps", "v1", "ReplicaSet", "status", "readyReplicas")),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", ("apps", "v1", "ReplicaSet", "spec", "selector")),
)


def _replicaset_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        _int(_get(obj, "spec", "replicas")),
        _int(_get(obj, "status", "replicas")),
        _int(_get(obj, "status", "readyReplicas")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(obj, "spec", "selector")),
    ]


_STATEFULSET_COLUMNS = (NAME, _READY_PODS, AGE, _CONTAINERS, _IMAGES)


def _statefulset_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        f"{_int(_get(obj, 'status', 'readyReplicas'))}/{_int(_get(obj, 'spec', 'replicas'))}",
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
    ]


# ---------------------------------------------------------------- networking

_SERVICE_COLUMNS = (
    NAME,
    Column("Type", description=_core("Service", "spec", "type")),
    Column("Cluster-IP", description=_core("Service", "spec", "clusterIP")),
    Column("External-IP", description=_core("Service", "spec", "externalIPs")),
    Column("Port(s)", description=_core("Service", "spec", "ports")),
    AGE,
    _wide("Selector", _core("Service", "spec", "selector")),
)


def _service_external_ip(svc: Obj) -> str:
    kind = _get(svc, "spec", "type", default="")
    external = [str(ip) for ip in _list(svc, "spec", "externalIPs")]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        balancer = _load_balancer(_get(svc, "status", default={}))
        joined = [*([balancer] if balancer else []), *external]
        return ",".join(joined) or "<pending>"
    if kind == "ExternalName":
        return str(_get(svc, "spec", "externalName", default=""))
    return "<unknown>"


def _service_ports(svc: Obj) -> str:
    pieces = []
    for port in _list(svc, "spec", "ports"):
        protocol = port.get("protocol", "")
        if _int(port.get("nodePort")) > 0:
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(svc: Obj, now: datetime) -> list[Cell]:
    cluster_ips = _list(svc, "spec", "clusterIPs")
    cluster_ip = cluster_ips[0] if cluster_ips else _get(svc, "spec", "clusterIP")
    return [
        _get(svc, "metadata", "name", default=""),
        _get(svc, "spec", "type", default=""),
        str(cluster_ip or "<none>"),
        _service_external_ip(svc),
        _service_ports(svc),
        age(_get(svc, "metadata", "creationTimestamp"), now),
        format_labels(_get(svc, "spec", "selector")),
    ]


_ENDPOINTS_COLUMNS = (
    NAME,
    Column("Endpoints", description=_core("Endpoints", "subsets")),
    AGE,
)


def format_endpoints(endpoints: Obj) -> str:
    """`10.244.1.5:80,10.244.2.7:80 + 1 more...`, or `<none>` without subsets."""
    subsets = _list(endpoints, "subsets")
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [str(a.get("ip", "")) for a in _list(subset, "addresses")]
        ports = _list(subset, "ports")
        targets = (
            [(ip, None) for ip in addresses]
            if not ports
            else [(ip, p.get("port")) for p in ports for ip in addresses]
        )
        count += len(targets)
        for ip, port in targets:
            if len(shown) < 3:
                shown.append(ip if port is None else _host_port(ip, port))
    return _with_more(shown, count)


def _endpoints_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        format_endpoints(obj),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SLICE = ("discovery.k8s.io", "v1", "EndpointSlice")
_ENDPOINTSLICE_COLUMNS = (
    NAME,
    Column("AddressType", description=(*_SLICE, "addressType")),
    Column("Ports", description=(*_SLICE, "ports")),
    Column("Endpoints", description=(*_SLICE, "endpoints")),
    AGE,
)


def _endpointslice_cells(obj: Obj, now: datetime) -> list[Cell]:
    ports = [
        str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*")
        for p in _list(obj, "ports")
    ]
    addresses = [str(a) for e in _list(obj, "endpoints") for a in _list(e, "addresses")]
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "addressType", default=""),
        _with_more(ports[:3], len(ports), empty="<unset>"),
        _with_more(addresses[:3], len(addresses), empty="<unset>"),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_INGRESS_COLUMNS = (
    NAME,
    Column(
        "Class",
        description="The name of the IngressClass resource that should be used for "
        "additional configuration",
    ),
    Column(
        "Hosts",
        description="Hosts that incoming requests are matched against before the ingress rule",
    ),
    Column(
        "Address",
        description="Address is a list containing ingress points for the load-balancer",
    ),
    Column("Ports", description="Ports of TLS configurations that open"),
    AGE,
)


def _ingress_hosts(rules: list[Any]) -> str:
    hosts = [str(rule["host"]) for rule in rules[:3] if rule.get("host")]
    if not hosts:
        return "*"
    if len(rules) > 3:
        return f"{','.join(hosts)} + {len(rules) - 3} more..."
    return ",".join(hosts)


def _ingress_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "spec", "ingressClassName", default="") or "<none>",
        _ingress_hosts(_list(obj, "spec", "rules")),
        _load_balancer(_get(obj, "status", default={})),
        "80, 443" if _list(obj, "spec", "tls") else "80",
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_INGRESSCLASS_COLUMNS = (
    NAME,
    Column(
        "Controller",
        description="Controller that is responsible for handling this class",
    ),
    Column(
        "Parameters", description="A reference to a resource with additional parameters"
    ),
    AGE,
)


def _ingressclass_cells(obj: Obj, now: datetime) -> list[Cell]:
    parameters = _get(obj, "spec", "parameters")
    shown = "<none>"
    if isinstance(parameters, Mapping):
        shown = str(parameters.get("kind", ""))
        if parameters.get("apiGroup") is not None:
            shown += f".{parameters['apiGroup']}"
        shown += f"/{parameters.get('name', '')}"
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "spec", "controller", default=""),
        shown,
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_NETPOL = ("networking.k8s.io", "v1", "NetworkPolicy")
_NETWORKPOLICY_COLUMNS = (
    NAME,
    Column("Pod-Selector", description=(*_NETPOL, "spec", "podSelector")),
    AGE,
)


def _networkpolicy_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        format_label_selector(_get(obj, "spec", "podSelector", default={})),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


# ---------------------------------------------------------------- cluster

_NODE_INFO = ("", "v1", "Node", "status", "nodeInfo")
_NODE_COLUMNS = (
    NAME,
    Column("Status", description="The status of the node"),
    Column("Roles", description="The roles of the node"),
    AGE,
    Column("Version", description=(*_NODE_INFO, "kubeletVersion")),
    _wide("Internal-IP", _core("Node", "status", "addresses")),
    _wide("External-IP", _core("Node", "status", "addresses")),
    _wide("OS-Image", (*_NODE_INFO, "osImage")),
    _wide("Kernel-Version", (*_NODE_INFO, "kernelVersion")),
    _wide("Container-Runtime", (*_NODE_INFO, "containerRuntimeVersion")),
)

_ROLE_PREFIX = "node-role.kubernetes.io/"


def node_roles(node: Obj) -> list[str]:
    """Roles from `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`."""
    roles: set[str] = set()
    for key, value in (_get(node, "metadata", "labels", default={}) or {}).items():
        if key.startswith(_ROLE_PREFIX) and key != _ROLE_PREFIX:
            roles.add(key.removeprefix(_ROLE_PREFIX))
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return sorted(roles)


def node_status(node: Obj) -> str:
    """`Ready`, `NotReady` (Ready is False or Unknown), `Unknown` (no Ready condition),
    with `,SchedulingDisabled` for a cordoned node."""
    status = [
        "Ready" if c.get("status") == "True" else "NotReady"
        for c in _list(node, "status", "conditions")
        if c.get("type") == "Ready"
    ][-1:] or ["Unknown"]
    if _get(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_address(node: Obj, kind: str) -> str:
    for address in _list(node, "status", "addresses"):
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> list[Cell]:
    info = _get(node, "status", "nodeInfo", default={})
    return [
        _get(node, "metadata", "name", default=""),
        node_status(node),
        ",".join(node_roles(node)) or "<none>",
        age(_get(node, "metadata", "creationTimestamp"), now),
        str(info.get("kubeletVersion", "")),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


_NAMESPACE_COLUMNS = (
    NAME,
    Column("Status", description="The status of the namespace"),
    AGE,
)


def _namespace_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "status", "phase", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_EVENT_COLUMNS = (
    Column("Last Seen", description=_core("Event", "lastTimestamp")),
    Column("Type", description=_core("Event", "type")),
    Column("Reason", description=_core("Event", "reason")),
    Column("Object", description=_core("Event", "involvedObject")),
    _wide("Subobject", _core("Event", "involvedObject", "fieldPath")),
    _wide("Source", _core("Event", "source")),
    Column("Message", description=_core("Event", "message")),
    _wide("First Seen", _core("Event", "firstTimestamp")),
    _wide("Count", _core("Event", "count")),
    Column(
        "Name",
        priority=1,
        format="name",
        description=_core("Event", "metadata", "name"),
    ),
)


def _event_source(event: Obj) -> str:
    component = (
        _get(event, "source", "component") or event.get("reportingComponent") or ""
    )
    host = _get(event, "source", "host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def _event_cells(event: Obj, now: datetime) -> list[Cell]:
    first = age(event.get("firstTimestamp") or event.get("eventTime"), now)
    last = age(event["lastTimestamp"], now) if event.get("lastTimestamp") else first
    count = _int(event.get("count")) or 1
    if isinstance(event.get("series"), Mapping):
        last = age(_get(event, "series", "lastObservedTime"), now)
        count = _int(_get(event, "series", "count"))
    involved = _get(event, "involvedObject", default={})
    target = str(involved.get("kind", "")).lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        str(involved.get("fieldPath", "")),
        _event_source(event),
        str(event.get("message", "")).strip(),
        first,
        count,
        _get(event, "metadata", "name", default=""),
    ]


# ---------------------------------------------------------------- config and storage

_CONFIGMAP_COLUMNS = (NAME, Column("Data", "integer", _core("ConfigMap", "data")), AGE)


def _configmap_cells(obj: Obj, now: datetime) -> list[Cell]:
    data = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [
        _get(obj, "metadata", "name", default=""),
        data,
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SECRET_COLUMNS = (
    NAME,
    Column("Type", description=_core("Secret", "type")),
    Column("Data", "integer", _core("Secret", "data")),
    AGE,
)


def _secret_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        obj.get("type", ""),
        len(obj.get("data") or {}),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SERVICEACCOUNT_COLUMNS = (
    NAME,
    Column("Secrets", "integer", _core("ServiceAccount", "secrets")),
    AGE,
)


def _serviceaccount_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        len(_list(obj, "secrets")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_PVC = ("", "v1", "PersistentVolumeClaim")
_PVC_COLUMNS = (
    NAME,
    Column("Status", description=(*_PVC, "status", "phase")),
    Column("Volume", description=(*_PVC, "spec", "volumeName")),
    Column("Capacity", description=(*_PVC, "status", "capacity")),
    Column("Access Modes", description=(*_PVC, "status", "accessModes")),
    Column("StorageClass", description="StorageClass of the pvc"),
    Column("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
    AGE,
    _wide("VolumeMode", (*_PVC, "spec", "volumeMode")),
)

_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _storage_class(obj: Obj) -> str:
    annotations = _get(obj, "metadata", "annotations", default={}) or {}
    if _STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[_STORAGE_CLASS_ANNOTATION])
    return str(_get(obj, "spec", "storageClassName", default=""))


def _phase_or_terminating(obj: Obj) -> str:
    if _get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(_get(obj, "status", "phase", default=""))


def _pvc_cells(obj: Obj, now: datetime) -> list[Cell]:
    bound = bool(_get(obj, "spec", "volumeName"))
    return [
        _get(obj, "metadata", "name", default=""),
        _phase_or_terminating(obj),
        _get(obj, "spec", "volumeName", default=""),
        str(_get(obj, "status", "capacity", "storage", default="")) if bound else "",
        _access_modes(_list(obj, "status", "accessModes")) if bound else "",
        _storage_class(obj),
        _get(obj, "spec", "volumeAttributesClassName", default="") or "<unset>",
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _get(obj, "spec", "volumeMode", default="") or "<unset>",
    ]


_PV = ("", "v1", "PersistentVolume")
_PV_COLUMNS = (
    NAME,
    Column("Capacity", description=(*_PV, "spec", "capacity")),
    Column("Access Modes", description=(*_PV, "spec", "accessModes")),
    Column(
        "Reclaim Policy", description=(*_PV, "spec", "persistentVolumeReclaimPolicy")
    ),
    Column("Status", description=(*_PV, "status", "phase")),
    Column("Claim", description=(*_PV, "spec", "claimRef")),
    Column("StorageClass", description="StorageClass of the pv"),
    Column("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
    Column("Reason", description=(*_PV, "status", "reason")),
    AGE,
    _wide("VolumeMode", (*_PV, "spec", "volumeMode")),
)


def _pv_cells(obj: Obj, now: datetime) -> list[Cell]:
    claim = _get(obj, "spec", "claimRef")
    return [
        _get(obj, "metadata", "name", default=""),
        str(_get(obj, "spec", "capacity", "storage", default="0")),
        _access_modes(_list(obj, "spec", "accessModes")),
        _get(obj, "spec", "persistentVolumeReclaimPolicy", default=""),
        _phase_or_terminating(obj),
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        _storage_class(obj),
        _get(obj, "spec", "volumeAttributesClassName", default="") or "<unset>",
        _get(obj, "status", "reason", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _get(obj, "spec", "volumeMode", default="") or "<unset>",
    ]


_DEFAULT_COLUMNS = (NAME, AGE)


def _default_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


# ---------------------------------------------------------------- the Table

CellFunction = Callable[[Obj, datetime], list[Cell]]
PRINTERS: dict[tuple[str, str], tuple[tuple[Column, ...], CellFunction]] = {
    ("", "Pod"): (_POD_COLUMNS, _pod_cells),
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _deployment_cells),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _replicaset_cells),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _statefulset_cells),
    ("", "Service"): (_SERVICE_COLUMNS, _service_cells),
    ("", "Endpoints"): (_ENDPOINTS_COLUMNS, _endpoints_cells),
    ("discovery.k8s.io", "EndpointSlice"): (
        _ENDPOINTSLICE_COLUMNS,
        _endpointslice_cells,
    ),
    ("", "Node"): (_NODE_COLUMNS, _node_cells),
    ("", "Namespace"): (_NAMESPACE_COLUMNS, _namespace_cells),
    ("", "Event"): (_EVENT_COLUMNS, _event_cells),
    ("", "ConfigMap"): (_CONFIGMAP_COLUMNS, _configmap_cells),
    ("", "Secret"): (_SECRET_COLUMNS, _secret_cells),
    ("", "ServiceAccount"): (_SERVICEACCOUNT_COLUMNS, _serviceaccount_cells),
    ("", "PersistentVolumeClaim"): (_PVC_COLUMNS, _pvc_cells),
    ("", "PersistentVolume"): (_PV_COLUMNS, _pv_cells),
    ("networking.k8s.io", "Ingress"): (_INGRESS_COLUMNS, _ingress_cells),
    ("networking.k8s.io", "IngressClass"): (_INGRESSCLASS_COLUMNS, _ingressclass_cells),
    ("networking.k8s.io", "NetworkPolicy"): (
        _NETWORKPOLICY_COLUMNS,
        _networkpolicy_cells,
    ),
}


def _printer(rt: ResourceType) -> tuple[tuple[Column, ...], CellFunction]:
    return PRINTERS.get((rt.group, rt.kind), (_DEFAULT_COLUMNS, _default_cells))


@cache
def column_definitions(group: str, kind: str) -> tuple[dict[str, Any], ...]:
    columns, _ = PRINTERS.get((group, kind), (_DEFAULT_COLUMNS, _default_cells))
    return tuple(column.definition() for column in columns)


def _row_object(
    rt: ResourceType, obj: Obj, include_object: str
) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return {"kind": rt.kind, "apiVersion": rt.api_version, **obj}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def table_row(
    rt: ResourceType, obj: Obj, *, include_object: str = "Metadata", now: datetime
) -> dict[str, Any]:
    _, cells = _printer(rt)
    row: dict[str, Any] = {"cells": cells(obj, now)}
    if rt.group == "" and rt.kind == "Pod":
        conditions = _pod_conditions(obj)
        if conditions:
            row["conditions"] = conditions
    embedded = _row_object(rt, obj, include_object)
    if embedded is not None:
        row["object"] = embedded
    return row


def build_table(
    rt: ResourceType,
    objects: Sequence[Obj],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    now: datetime | None = None,
    include_headers: bool = True,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects` (all columns, wide ones at priority 1).

    `include_object` is the `includeObject` query parameter: `None`, `Metadata`
    (`PartialObjectMetadata`, the default) or `Object`.  Without headers (watch events
    after the first) `columnDefinitions` is null, as the API server sends it.
    """
    moment = now or datetime.now(timezone.utc)
    metadata = {"resourceVersion": resource_version} if resource_version else {}
    headers = [dict(c) for c in column_definitions(rt.group, rt.kind)]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": headers if include_headers else None,
        "rows": [
            table_row(rt, obj, include_object=include_object, now=moment)
            for obj in objects
        ],
    }
