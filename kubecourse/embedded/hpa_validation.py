"""Validation of HorizontalPodAutoscaler specs (autoscaling/v2, as stored), with the
field paths and messages of `pkg/apis/autoscaling/validation`.

Faithful: minReplicas at least 1 (scale to zero is an alpha gate), maxReplicas above 0
and not below minReplicas, scaleTargetRef kind and name required, each metric's type
and matching source, resource names, target types (Utilization, Value, AverageValue),
positive targets, utilization xor raw value for (container) resources, and behavior's
windows (0 to 3600 s), selectPolicy, and policies (type Pods or Percent, value and
periodSeconds above 0, period at most 1800 s).  Simplified: Object, Pods and External
sources are checked for their target only.
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded import quantity
from kubecourse.embedded.status import cause
from kubecourse.embedded.validation import (
    Causes,
    forbidden,
    invalid_value,
    not_supported,
)

Obj = dict[str, Any]
SOURCES = {
    "Object": "object",
    "Pods": "pods",
    "Resource": "resource",
    "External": "external",
    "ContainerResource": "containerResource",
}
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD = 1800


def required(field: str, detail: str = "") -> dict[str, str]:
    return cause(
        field,
        f"Required value: {detail}" if detail else "Required value",
        "FieldValueRequired",
    )


def validate_hpa_spec(spec: Obj) -> Causes:
    causes: Causes = []
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.append(
            invalid_value("spec.minReplicas", low, "must be greater than or equal to 1")
        )
    if not isinstance(high, int) or high < 1:
        causes.append(
            invalid_value(
                "spec.maxReplicas",
                high if isinstance(high, int) else 0,
                "must be greater than 0",
            )
        )
    if isinstance(low, int) and isinstance(high, int) and high < low:
        causes.append(
            invalid_value(
                "spec.maxReplicas",
                high,
                "must be greater than or equal to `minReplicas`",
            )
        )
    ref = spec.get("scaleTargetRef") or {}
    for name in ("kind", "name"):
        if not ref.get(name):
            causes.append(required(f"spec.scaleTargetRef.{name}"))
    for i, metric in enumerate(spec.get("metrics") or []):
        causes += _metric(metric or {}, f"spec.metrics[{i}]")
    behavior = spec.get("behavior") or {}
    for direction in ("scaleUp", "scaleDown"):
        if behavior.get(direction) is not None:
            causes += _rules(behavior[direction], f"spec.behavior.{direction}")
    return causes


def _metric(metric: Obj, path: str) -> Causes:
    kind = metric.get("type") or ""
    if not kind:
        return [required(f"{path}.type", "must specify a metric source type")]
    if kind not in SOURCES:
        return [not_supported(f"{path}.type", kind, tuple(sorted(SOURCES)))]
    field = SOURCES[kind]
    source = metric.get(field)
    if not isinstance(source, dict):
        return [
            required(
                f"{path}.{field}",
                "must populate information for the given metric source",
            )
        ]
    causes = [
        forbidden(f"{path}.{other}", "must populate the given metric source only")
        for other in SOURCES.values()
        if other != field and metric.get(other) is not None
    ]
    target = source.get("target") or {}
    causes += _target(target, f"{path}.{field}.target")
    if kind in ("Resource", "ContainerResource"):
        causes += _resource(source, target, f"{path}.{field}", kind)
    return causes


def _resource(source: Obj, target: Obj, path: str, kind: str) -> Causes:
    causes: Causes = []
    if not source.get("name"):
        causes.append(required(f"{path}.name", "must specify a resource name"))
    if kind == "ContainerResource" and not source.get("container"):
        causes.append(required(f"{path}.container", "must specify a container"))
    utilization, value = target.get("averageUtilization"), target.get("averageValue")
    if utilization is None and value is None:
        causes.append(
            required(
                f"{path}.target.averageUtilization",
                "must set either a target raw value or a target utilization",
            )
        )
    if utilization is not None and value is not None:
        causes.append(
            forbidden(
                f"{path}.target.averageValue",
                "may not set both a target raw value and a target utilization",
            )
        )
    return causes


def _target(target: Obj, path: str) -> Causes:
    kind = target.get("type") or ""
    causes: Causes = []
    if not kind:
        causes.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        causes.append(
            invalid_value(
                f"{path}.type",
                kind,
                "must be either Utilization, Value, or AverageValue",
            )
        )
    for name in ("value", "averageValue"):
        if target.get(name) is not None and not _positive(target[name]):
            causes.append(
                invalid_value(f"{path}.{name}", str(target[name]), "must be positive")
            )
    utilization = target.get("averageUtilization")
    if utilization is not None and (
        not isinstance(utilization, int) or utilization < 1
    ):
        causes.append(
            invalid_value(
                f"{path}.averageUtilization", utilization, "must be greater than 0"
            )
        )
    return causes


def _positive(value: object) -> bool:
    try:
        return quantity.parse(value) > 0
    except ValueError:
        return False


def _rules(rules: Obj, path: str) -> Causes:
    causes: Causes = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        causes.append(
            invalid_value(
                f"{path}.stabilizationWindowSeconds",
                window,
                "must be greater than or equal to zero",
            )
        )
    if isinstance(window, int) and window > MAX_STABILIZATION_WINDOW:
        causes.append(
            invalid_value(
                f"{path}.stabilizationWindowSeconds",
                window,
                f"must be less than or equal to {MAX_STABILIZATION_WINDOW}",
            )
        )
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        causes.append(
            not_supported(f"{path}.selectPolicy", select, ("Disabled", "Max", "Min"))
        )
    policies = rules.get("policies") or []
    if not policies:
        causes.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        causes += _policy(policy or {}, f"{path}.policies[{i}]")
    return causes


def _policy(policy: Obj, path: str) -> Causes:
    causes: Causes = []
    if policy.get("type") not in ("Percent", "Pods"):
        causes.append(
            not_supported(f"{path}.type", policy.get("type") or "", ("Percent", "Pods"))
        )
    for name in ("value", "periodSeconds"):
        value = policy.get(name)
        if not isinstance(value, int) or value <= 0:
            causes.append(
                invalid_value(
                    f"{path}.{name}",
                    value if isinstance(value, int) else 0,
                    "must be greater than zero",
                )
            )
    period = policy.get("periodSeconds")
    if isinstance(period, int) and period > MAX_PERIOD:
        causes.append(
            invalid_value(
                f"{path}.periodSeconds",
                period,
                f"must be less than or equal to {MAX_PERIOD}",
            )
        )
    return causes
