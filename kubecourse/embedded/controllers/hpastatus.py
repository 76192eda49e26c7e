"""What the HPA controller writes: conditions, the status it recreates on every sync, the
current metric statuses, and the messages of metrics it cannot get.

Faithful to `horizontal.go`: `setCondition` moves `lastTransitionTime` only when the
status changes; `setStatus` keeps `lastScaleTime` (new on a rescale) and conditions and
sets `observedGeneration`; a Utilization metric's current value carries both
`averageUtilization` and `averageValue` (memory as a binary quantity of milli-bytes, as
`buildQuantity` does).
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded import quantity
from kubecourse.embedded.api import now_iso
from kubecourse.embedded.controllers import replicacalc as calc

Obj = dict[str, Any]
# The metric types that need a custom or external metrics API: their condition reason,
# their source field, and which API.
CUSTOM_METRICS = {
    "Pods": ("FailedGetPodsMetric", "pods", "custom"),
    "Object": ("FailedGetObjectMetric", "object", "custom"),
    "External": ("FailedGetExternalMetric", "external", "external"),
}


def condition(hpa: Obj, type_: str, status_: str, reason: str, message: str) -> None:
    """`setCondition`: the transition time moves only when the status does."""
    conditions = hpa["status"].setdefault("conditions", [])
    for entry in conditions:
        if entry["type"] == type_:
            if entry.get("status") != status_:
                entry["lastTransitionTime"] = now_iso()
            entry.update(status=status_, reason=reason, message=message)
            return
    conditions.append(
        {
            "type": type_,
            "status": status_,
            "lastTransitionTime": now_iso(),
            "reason": reason,
            "message": message,
        }
    )


def set_status(
    hpa: Obj, current: int, desired: int, statuses: list[Obj] | None, rescaled: bool
) -> None:
    old = hpa.get("status") or {}
    status: Obj = {
        "currentReplicas": current,
        "desiredReplicas": desired,
        "currentMetrics": statuses,
    }
    if rescaled:
        status["lastScaleTime"] = now_iso()
    elif old.get("lastScaleTime"):
        status["lastScaleTime"] = old["lastScaleTime"]
    if old.get("conditions"):
        status["conditions"] = old["conditions"]
    status["observedGeneration"] = int(hpa["metadata"].get("generation") or 1)
    hpa["status"] = status


def tolerances(hpa: Obj) -> calc.Tolerances:
    behavior = hpa["spec"].get("behavior") or {}

    def tolerance(direction: str) -> float:
        value = (behavior.get(direction) or {}).get("tolerance")
        return calc.TOLERANCE if value is None else float(quantity.parse(value))

    return calc.Tolerances(down=tolerance("scaleDown"), up=tolerance("scaleUp"))


def metric_name(resource: str, kind: object, utilization: bool) -> str:
    if not utilization:
        return f"{resource} resource"
    if kind == "ContainerResource":
        return f"{resource} container resource utilization (percentage of request)"
    return f"{resource} resource utilization (percentage of request)"


def metric_status(spec: Obj, source: Obj, proposal: calc.Proposal) -> Obj:
    resource = str(source.get("name"))
    current: Obj = {}
    if proposal.utilization is not None:
        current["averageUtilization"] = proposal.utilization
    current["averageValue"] = quantity.from_milli(
        proposal.average, binary=resource == "memory"
    )
    if spec.get("type") == "ContainerResource":
        body = {
            "name": resource,
            "container": source.get("container"),
            "current": current,
        }
        return {"type": "ContainerResource", "containerResource": body}
    return {"type": "Resource", "resource": {"name": resource, "current": current}}


def custom_metric_error(spec: Obj) -> str:
    _, lower, api = CUSTOM_METRICS[str(spec.get("type"))]
    source = spec.get(lower) or {}
    name = (source.get("metric") or {}).get("name", "")
    registered = f"no {api} metrics API ({api}.metrics.k8s.io) registered"
    return f"unable to get {'external ' if api == 'external' else ''}metric {name}: unable to fetch metrics from {api} metrics API: {registered}"
