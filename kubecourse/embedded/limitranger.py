"""LimitRange: its defaulting and validation, and the LimitRanger admission plugin.

Faithful to upstream (`plugin/pkg/admission/limitranger`, `ValidateLimitRange`,
`SetDefaults_LimitRangeItem`):
- a `Container` item's `default` limit falls back to its `max`, its `defaultRequest`
  to `default`, then to `min`; quantities are stored canonical (`1000m` is `1`) and
  one that does not parse is a 400, as decoding refuses it;
- validation: `min <= defaultRequest <= default <= max`
  (`spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2
  is greater than max value 1`), `maxLimitRequestRatio` at least 1 and at most
  max/min, no `default` / `defaultRequest` on a `Pod` item, a min or max storage on a
  `PersistentVolumeClaim` item, one item per type;
- a new Pod's containers (and init containers) without a request or limit get the
  defaults, and the Pod the annotation `kubernetes.io/limit-ranger: LimitRanger plugin
  set: cpu, memory request for container web; cpu limit for container web`;
- then every container (`Container` items), the pod's sums (`Pod` items) and a new
  claim's storage request (`PersistentVolumeClaim` items) are checked against min,
  max and maxLimitRequestRatio, refused with a 403 whose message lists upstream's
  errors: `pods "web" is forbidden: maximum cpu usage per Container is 500m, but
  limit is 1`, `minimum memory usage per Container is 64Mi.  No request is
  specified`, `cpu max limit to request ratio per Container is 2, but provided ratio
  is 4.000000`.

Simplified: updates are not checked (upstream checks pod resizes); errors list the
resources in name order (upstream follows Go's map order); resource names in a
LimitRange are not checked against the standard ones.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kubecourse.embedded import quantity, status
from kubecourse.embedded.quota import canonical_or_bad_request, pod_resources
from kubecourse.embedded.store import Store
from kubecourse.embedded.validation import forbidden, invalid_value, required

Obj = dict[str, Any]
Causes = list[dict[str, str]]

LIMIT_RANGES = "limitranges"
ANNOTATION = "kubernetes.io/limit-ranger"
_FIELDS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


# ---------------------------------------------------------------- the object


def default_limit_range(obj: Obj) -> None:
    """Canonical quantities, and a Container item's defaults from max and min."""
    for item in (obj.get("spec") or {}).get("limits") or []:
        if not isinstance(item, dict):
            continue
        for name in _FIELDS:
            values = item.get(name)
            if isinstance(values, dict):
                item[name] = {
                    k: canonical_or_bad_request("LimitRange", v)
                    for k, v in values.items()
                }
        if item.get("type") == "Container":
            _default_container_item(item)


def _default_container_item(item: Obj) -> None:
    default = dict(item.get("default") or {})
    request = dict(item.get("defaultRequest") or {})
    for source, target in (
        (item.get("max"), default),
        (default, request),
        (item.get("min"), request),
    ):
        for key, value in (source or {}).items():
            target.setdefault(key, value)
    for name, values in (("default", default), ("defaultRequest", request)):
        if values:
            item[name] = values


def limit_range_causes(obj: Obj) -> Causes:
    causes: Causes = []
    seen: set[str] = set()
    for index, item in enumerate((obj.get("spec") or {}).get("limits") or []):
        path = f"spec.limits[{index}]"
        kind = str(item.get("type") or "")
        if not kind:
            causes.append(required(f"{path}.type"))
        elif kind in seen:
            causes.append(
                {
                    "reason": "FieldValueDuplicate",
                    "field": f"{path}.type",
                    "message": f'Duplicate value: "{kind}"',
                }
            )
        seen.add(kind)
        causes += _item_causes(item, kind, path)
    return causes


def _item_causes(item: Obj, kind: str, path: str) -> Causes:
    causes: Causes = []
    if kind == "Pod":
        for name in ("default", "defaultRequest"):
            if item.get(name):
                causes.append(
                    forbidden(
                        f"{path}.{name}", "may not be specified when `type` is 'Pod'"
                    )
                )
    if kind == "PersistentVolumeClaim" and not (
        "storage" in (item.get("min") or {}) or "storage" in (item.get("max") or {})
    ):
        causes.append(
            {
                "reason": "FieldValueRequired",
                "field": f"{path}.limits",
                "message": "Required value: either minimum or maximum storage value is "
                "required, but neither was provided",
            }
        )
    keys = sorted({k for name in _FIELDS for k in (item.get(name) or {})})
    for key in keys:
        causes += _key_causes(item, key, path)
    return causes


def _key_causes(item: Obj, key: str, path: str) -> Causes:
    """The order rules of one resource across min, max, default, defaultRequest."""
    found = {n: (item.get(n) or {}).get(key) for n in _FIELDS}
    value = {n: quantity.parse(t) for n, t in found.items() if t is not None}
    low, high, limit, request = (
        value.get(n) for n in ("min", "max", "default", "defaultRequest")
    )
    # (field, the value upstream reports, smaller, larger, message), in upstream's order
    rules = (
        (
            "min",
            "min",
            low,
            high,
            f"min value {found['min']} is greater than max value {found['max']}",
        ),
        (
            "defaultRequest",
            "defaultRequest",
            low,
            request,
            f"min value {found['min']} is greater than default request value {found['defaultRequest']}",
        ),
        (
            "defaultRequest",
            "defaultRequest",
            request,
            high,
            f"default request value {found['defaultRequest']} is greater than max value {found['max']}",
        ),
        (
            "defaultRequest",
            "defaultRequest",
            request,
            limit,
            f"default request value {found['defaultRequest']} is greater than default limit value {found['default']}",
        ),
        (
            "default",
            "min",
            low,
            limit,
            f"min value {found['min']} is greater than default value {found['default']}",
        ),
        (
            "default",
            "max",
            limit,
            high,
            f"default value {found['default']} is greater than max value {found['max']}",
        ),
    )
    causes: Causes = []
    for field, reported, smaller, larger, message in rules:
        if smaller is not None and larger is not None and smaller > larger:
            causes.append(
                invalid_value(f"{path}.{field}[{key}]", found[reported], message)
            )
    return causes + _ratio_causes(found, value, key, path)


def _ratio_causes(
    found: dict[str, Any], value: dict[str, Fraction], key: str, path: str
) -> Causes:
    ratio = value.get("maxLimitRequestRatio")
    if ratio is None:
        return []
    field = f"{path}.maxLimitRequestRatio[{key}]"
    text = found["maxLimitRequestRatio"]
    if ratio < 1:
        return [invalid_value(field, text, f"ratio {text} is less than 1")]
    low, high = value.get("min"), value.get("max")
    if low and high is not None:
        bound = _milli(high) / _milli(low)
        if ratio > bound:
            return [
                invalid_value(
                    field, text, f"ratio {text} is greater than max/min = {bound:f}"
                )
            ]
    return []


def _milli(value: Fraction) -> int:
    return int(-(-value * 1000 // 1))


# ---------------------------------------------------------------- admission


def _limit_ranges(store: Store, namespace: str) -> list[Obj]:
    ranges = store.items(LIMIT_RANGES, namespace)
    return sorted(ranges, key=lambda r: r["metadata"]["name"])


def _items(limit_range: Obj, kind: str) -> list[Obj]:
    return [
        i
        for i in (limit_range.get("spec") or {}).get("limits") or []
        if i.get("type") == kind
    ]


def apply_defaults(store: Store, pod: Obj) -> None:
    """LimitRanger's mutation of a new Pod: default requests and limits."""
    spec = pod.setdefault("spec", {})
    for limit_range in _limit_ranges(store, pod["metadata"].get("namespace") or ""):
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        for item in _items(limit_range, "Container"):
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
        notes: list[str] = []
        for prefix, group in (
            ("container", "containers"),
            ("init container", "initContainers"),
        ):
            for container in spec.get(group) or []:
                notes += _merge(container, requests, limits, prefix)
        if notes:
            annotations = pod["metadata"].setdefault("annotations", {})
            annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _merge(
    container: Obj, requests: dict[str, str], limits: dict[str, str], prefix: str
) -> list[str]:
    resources = container.setdefault("resources", {})
    notes = []
    for kind, defaults, word in (
        ("requests", requests, "request"),
        ("limits", limits, "limit"),
    ):
        current = dict(resources.get(kind) or {})
        added = sorted(k for k in defaults if k not in current)
        if added:
            resources[kind] = {**current, **{k: defaults[k] for k in added}}
            notes.append(
                f"{', '.join(added)} {word} for {prefix} {container.get('name', '')}"
            )
    return notes


def check_pod(store: Store, pod: Obj) -> None:
    """LimitRanger's validation of a new Pod; 403 listing every violation."""
    spec = pod.get("spec") or {}
    errors: list[str] = []
    for limit_range in _limit_ranges(store, pod["metadata"].get("namespace") or ""):
        for item in _items(limit_range, "Container"):
            for container in list(spec.get("containers") or []) + list(
                spec.get("initContainers") or []
            ):
                resources = container.get("resources") or {}
                errors += _violations(
                    item,
                    "Container",
                    resources.get("requests") or {},
                    resources.get("limits") or {},
                )
        for item in _items(limit_range, "Pod"):
            requests, limits = pod_resources(spec)
            errors += _violations(item, "Pod", _texts(requests), _texts(limits))
    _refuse("pods", pod, errors)


def check_claim(store: Store, claim: Obj) -> None:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    errors: list[str] = []
    for limit_range in _limit_ranges(store, claim["metadata"].get("namespace") or ""):
        for item in _items(limit_range, "PersistentVolumeClaim"):
            for key, enforced in sorted((item.get("min") or {}).items()):
                errors += _minimum("PersistentVolumeClaim", key, enforced, requests, {})
            for key, enforced in sorted((item.get("max") or {}).items()):
                errors += _maximum_request(
                    "PersistentVolumeClaim", key, enforced, requests
                )
    _refuse("persistentvolumeclaims", claim, errors)


def _texts(amounts: dict[str, tuple[Fraction, bool]]) -> dict[str, str]:
    return {k: quantity.format_value(v, binary) for k, (v, binary) in amounts.items()}


def _violations(
    item: Obj, kind: str, requests: dict[str, Any], limits: dict[str, Any]
) -> list[str]:
    errors: list[str] = []
    for key, enforced in sorted((item.get("min") or {}).items()):
        errors += _minimum(kind, key, enforced, requests, limits)
    for key, enforced in sorted((item.get("max") or {}).items()):
        errors += _maximum(kind, key, enforced, requests, limits)
    for key, enforced in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        errors += _ratio(kind, key, enforced, requests, limits)
    return errors


def _minimum(
    kind: str, key: str, enforced: str, requests: dict[str, Any], limits: dict[str, Any]
) -> list[str]:
    floor = quantity.milli_value(enforced)
    if key not in requests:
        return [
            f"minimum {key} usage per {kind} is {enforced}.  No request is specified"
        ]
    if quantity.milli_value(requests[key]) < floor:
        return [
            f"minimum {key} usage per {kind} is {enforced}, but request is {_shown(requests[key])}"
        ]
    if key in limits and quantity.milli_value(limits[key]) < floor:
        return [
            f"minimum {key} usage per {kind} is {enforced}, but limit is {_shown(limits[key])}"
        ]
    return []


def _maximum(
    kind: str, key: str, enforced: str, requests: dict[str, Any], limits: dict[str, Any]
) -> list[str]:
    ceiling = quantity.milli_value(enforced)
    if key not in limits:
        return [f"maximum {key} usage per {kind} is {enforced}.  No limit is specified"]
    if quantity.milli_value(limits[key]) > ceiling:
        return [
            f"maximum {key} usage per {kind} is {enforced}, but limit is {_shown(limits[key])}"
        ]
    if key in requests and quantity.milli_value(requests[key]) > ceiling:
        return [
            f"maximum {key} usage per {kind} is {enforced}, but request is {_shown(requests[key])}"
        ]
    return []


def _maximum_request(
    kind: str, key: str, enforced: str, requests: dict[str, Any]
) -> list[str]:
    if key not in requests:
        return [
            f"maximum {key} usage per {kind} is {enforced}.  No request is specified"
        ]
    if quantity.milli_value(requests[key]) > quantity.milli_value(enforced):
        return [
            f"maximum {key} usage per {kind} is {enforced}, but request is {_shown(requests[key])}"
        ]
    return []


def _ratio(
    kind: str, key: str, enforced: str, requests: dict[str, Any], limits: dict[str, Any]
) -> list[str]:
    request = quantity.milli_value(requests[key]) if key in requests else 0
    limit = quantity.milli_value(limits[key]) if key in limits else 0
    prefix = f"{key} max limit to request ratio per {kind} is {enforced}"
    if request == 0:
        return [f"{prefix}, but no request is specified or request is 0"]
    if limit == 0:
        return [f"{prefix}, but no limit is specified or limit is 0"]
    observed = limit / request
    if observed * 1000 > quantity.milli_value(enforced):
        return [f"{prefix}, but provided ratio is {observed:f}"]
    return []


def _shown(text: Any) -> str:
    try:
        return quantity.canonical(text)
    except ValueError:
        return str(text)


def _refuse(plural: str, obj: Obj, errors: list[str]) -> None:
    unique = list(dict.fromkeys(errors))  # utilerrors.NewAggregate drops repeats
    if not unique:
        return
    message = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    name = obj["metadata"].get("name") or ""
    raise status.forbidden(
        f'{plural} "{name}" is forbidden: {message}', {"name": name, "kind": plural}
    )
