"""The resource metrics pipeline's data: what metrics-server last scraped, and the
`metrics.k8s.io/v1beta1` objects built from it.

`ResourceMetrics` holds one scrape (the simulated metrics-server replaces it every
`Timings.metrics_resolution`, see `controllers/metricsserver.py`); the API handler
(`metricsapi.py`) and the HPA controller read it, as both read metrics-server upstream.

Faithful to metrics-server's objects: NodeMetrics (`timestamp`, `window`, `usage`) and
PodMetrics (`timestamp`, `window`, `containers[]` with `name` and `usage`), CPU in
nanocores and memory in bytes printed as canonical quantities (`12345678n`, `3052Ki`),
`window` as a Go duration (`15s`, `10.5s`), `metadata` with the name, namespace, the
node's or pod's labels and a `creationTimestamp` of the moment of the request.  The
OpenAPI schemas are written here (no maintained package ships metrics-server's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubecourse.embedded import quantity

Obj = dict[str, Any]
GROUP_VERSION = "metrics.k8s.io/v1beta1"
# The extras that set a simulated load (see `controllers/usage.py`), checked at admission.
LOAD_CPU = "kubecourse.io/cpu-load"
LOAD_MEMORY = "kubecourse.io/memory-load"
_LOAD_UNITS = {
    LOAD_CPU: "a CPU quantity such as 250m or 1.5",
    LOAD_MEMORY: "a memory quantity such as 200Mi",
}


@dataclass(frozen=True)
class ContainerSample:
    name: str
    cpu_nanocores: int
    memory_bytes: int


@dataclass(frozen=True)
class PodSample:
    namespace: str
    name: str
    timestamp: float
    window: float
    containers: tuple[ContainerSample, ...]


@dataclass(frozen=True)
class NodeSample:
    name: str
    timestamp: float
    window: float
    cpu_nanocores: int
    memory_bytes: int


@dataclass
class ResourceMetrics:
    """The last scrape; empty until the first one (as a freshly started metrics-server)."""

    pods: dict[tuple[str, str], PodSample] = field(default_factory=dict)
    nodes: dict[str, NodeSample] = field(default_factory=dict)
    scrapes: int = 0

    def replace(self, pods: list[PodSample], nodes: list[NodeSample]) -> None:
        self.pods = {(p.namespace, p.name): p for p in pods}
        self.nodes = {n.name: n for n in nodes}
        self.scrapes += 1

    def pod(self, namespace: str, name: str) -> PodSample | None:
        return self.pods.get((namespace, name))


def load_annotation_causes(annotations: Any) -> list[dict[str, str]]:
    """422 causes for load annotations that are not non-negative quantities."""
    causes = []
    for key, unit in _LOAD_UNITS.items():
        value = (annotations or {}).get(key) if isinstance(annotations, dict) else None
        if value is None:
            continue
        try:
            valid = quantity.parse(value) >= 0
        except ValueError:
            valid = False
        if not valid:
            field = f"metadata.annotations[{key}]"
            message = f"Invalid value: {json.dumps(str(value))}: must be {unit}"
            causes.append(
                {"reason": "FieldValueInvalid", "message": message, "field": field}
            )
    return causes


# ---------------------------------------------------------------- the API objects


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: float) -> str:
    """A `metav1.Duration` as Go prints it, to the millisecond: `15s`, `1m0.5s`, `500ms`."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    hours, minutes = divmod(minutes, 60)
    whole, fraction = divmod(rest, 1000)
    text = f"{whole}.{fraction:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def usage(cpu_nanocores: int, memory_bytes: int) -> dict[str, str]:
    return {
        "cpu": quantity.from_nano(cpu_nanocores),
        "memory": quantity.from_bytes(memory_bytes),
    }


def _metadata(source: Obj, now: float) -> Obj:
    meta = source.get("metadata") or {}
    out: Obj = {"name": meta.get("name")}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    out["creationTimestamp"] = rfc3339(now)
    if meta.get("labels"):
        out["labels"] = dict(meta["labels"])
    return out


def node_metrics(sample: NodeSample, node: Obj, now: float) -> Obj:
    return {
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _metadata(node, now),
        "timestamp": rfc3339(sample.timestamp),
        "window": go_duration(sample.window),
        "usage": usage(sample.cpu_nanocores, sample.memory_bytes),
    }


def pod_metrics(sample: PodSample, pod: Obj, now: float) -> Obj:
    return {
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _metadata(pod, now),
        "timestamp": rfc3339(sample.timestamp),
        "window": go_duration(sample.window),
        "containers": [
            {"name": c.name, "usage": usage(c.cpu_nanocores, c.memory_bytes)}
            for c in sample.containers
        ],
    }


# ---------------------------------------------------------------- OpenAPI schemas

_PREFIX = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
_DEFS = "#/$defs/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."


def _ref(name: str, description: str) -> Obj:
    return {"$ref": _DEFS + name, "description": description}


def _usage(description: str) -> Obj:
    quantity_ref = {"$ref": _DEFS + "io.k8s.apimachinery.pkg.api.resource.Quantity"}
    return {
        "type": "object",
        "description": description,
        "additionalProperties": quantity_ref,
    }


def _object(kind: str, description: str, properties: Obj, required: list[str]) -> Obj:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "The versioned schema of this object.",
            },
            "kind": {
                "type": "string",
                "description": "The REST resource this object represents.",
            },
            "metadata": _ref(_META + "ObjectMeta", "Standard object metadata."),
            **properties,
        },
        "required": required,
        "x-kubernetes-group-version-kind": [
            {"group": "metrics.k8s.io", "kind": kind, "version": "v1beta1"}
        ],
    }


def _sampled() -> Obj:
    return {
        "timestamp": _ref(
            _META + "Time", "When the sample was taken (the end of its window)."
        ),
        "window": {
            "type": "string",
            "description": "How long the usage was averaged over.",
        },
    }


def _list(kind: str) -> Obj:
    schema = _object(
        kind + "List",
        f"A list of {kind} objects.",
        {
            "items": {
                "type": "array",
                "description": "The metrics.",
                "items": {"$ref": _DEFS + _PREFIX + kind},
            }
        },
        ["items"],
    )
    schema["properties"]["metadata"] = _ref(
        _META + "ListMeta", "Standard list metadata."
    )
    return schema


def metrics_definitions() -> dict[str, Obj]:
    """NodeMetrics, PodMetrics, ContainerMetrics and the two lists, by upstream name."""
    container = {
        "type": "object",
        "description": "Resource usage of one container.",
        "properties": {
            "name": {
                "type": "string",
                "description": "The container's name in the pod spec.",
            },
            "usage": _usage("CPU (cores) and memory (working set, bytes) in use."),
        },
        "required": ["name", "usage"],
    }
    node = _object(
        "NodeMetrics",
        "Resource usage of a node.",
        {
            **_sampled(),
            "usage": _usage("CPU (cores) and memory (working set, bytes) in use."),
        },
        ["timestamp", "window", "usage"],
    )
    containers = {
        "type": "array",
        "description": "Usage per container.",
        "items": {"$ref": _DEFS + _PREFIX + "ContainerMetrics"},
    }
    pod = _object(
        "PodMetrics",
        "Resource usage of a pod, container by container.",
        {**_sampled(), "containers": containers},
        ["timestamp", "window", "containers"],
    )
    return {
        _PREFIX + "ContainerMetrics": container,
        _PREFIX + "NodeMetrics": node,
        _PREFIX + "NodeMetricsList": _list("NodeMetrics"),
        _PREFIX + "PodMetrics": pod,
        _PREFIX + "PodMetricsList": _list("PodMetrics"),
    }
