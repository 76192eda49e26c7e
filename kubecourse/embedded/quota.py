"""ResourceQuota: what each object uses, the ResourceQuota admission plugin, and the
status the quota controller keeps (controllers/resourcequota.py).

Faithful to the upstream evaluators (`pkg/quota/v1/evaluator/core`) and admission
(`plugin/pkg/admission/resourcequota`):
- Pods use `count/pods` (every pod in storage) and, while not terminal (nor past a
  deletion's grace period), `pods`, `cpu` / `requests.cpu`, `memory` /
  `requests.memory`, `limits.cpu`, `limits.memory` (and ephemeral storage, huge pages
  and extended resources as `requests.<name>`), summed over containers, an init
  container counting when it asks for more;
- Services use `services`, `services.loadbalancers` and `services.nodeports` (one per
  port of a NodePort or LoadBalancer Service); claims `persistentvolumeclaims`,
  `requests.storage` and the per-class `<class>.storageclass.storage.k8s.io/...`;
  ConfigMaps, Secrets, ReplicationControllers and ResourceQuotas their legacy names;
  every namespaced kind `count/<resource>[.<group>]`;
- `spec.scopes` and `scopeSelector` (Terminating, NotTerminating, BestEffort,
  NotBestEffort, PriorityClass) narrow a quota to matching pods;
- a create whose non-zero usage would exceed a quota is refused, 403: `pods "web-x" is
  forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`
  (only the exceeded resources, sorted); a pod without the request or limit a compute
  quota counts is refused first: `failed quota: q: must specify limits.cpu for: web`;
- quantities print as Go's `Quantity.String()` does (`500m`, `1Gi`).

Simplified: admission counts from the store at the moment of the request (upstream
reads the quota's `status.used`, which its controller keeps current, and charges it on
every admitted write, so neither "status unknown for quota" nor a conflict retry
happens here); updates are not charged (a Service turned NodePort is not refused);
the CrossNamespacePodAffinity and VolumeAttributesClass scopes never match; pod
overhead is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from kubecourse.embedded import quantity, status
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.selectors import label_selector_from_spec
from kubecourse.embedded.store import Store
from kubecourse.embedded.validation import invalid_value, not_supported

Obj = dict[str, Any]
Causes = list[dict[str, str]]

QUOTAS = "resourcequotas"
COMPUTE = ("cpu", "memory", "ephemeral-storage")
# The resources each container must request when a quota counts them.
CONSTRAINED = (
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
)
LEGACY_COUNTS = {
    "pods": "pods",
    "services": "services",
    "configmaps": "configmaps",
    "secrets": "secrets",
    "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
    "persistentvolumeclaims": "persistentvolumeclaims",
}
STANDARD = {
    *LEGACY_COUNTS,
    "services.nodeports",
    "services.loadbalancers",
    *COMPUTE,
    *(f"requests.{r}" for r in COMPUTE),
    *(f"limits.{r}" for r in COMPUTE),
    "requests.storage",
}
INTEGER = {*LEGACY_COUNTS, "services.nodeports", "services.loadbalancers"}
SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
)
_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


@dataclass
class Usage:
    """Amounts by resource name, each remembering whether it prints as binary."""

    amounts: dict[str, Fraction] = field(default_factory=dict)
    binary: dict[str, bool] = field(default_factory=dict)

    def add(self, name: str, value: Fraction, binary: bool = False) -> None:
        self.binary.setdefault(name, binary)  # Go's Add keeps the first format
        self.amounts[name] = self.amounts.get(name, Fraction(0)) + value

    def merge(self, other: Usage) -> None:
        for name, value in other.amounts.items():
            self.add(name, value, other.binary.get(name, False))

    def get(self, name: str) -> Fraction:
        return self.amounts.get(name, Fraction(0))

    def shown(self, name: str) -> str:
        """`Quantity.String()`; `0` for a name nothing uses."""
        return quantity.format_value(self.get(name), self.binary.get(name, False))


# ---------------------------------------------------------------- which kind a name counts


def counted_resource(name: str) -> str | None:
    """The store key of the objects a quota resource name counts (`pods`,
    `deployments.apps`), or None for a name nothing counts."""
    if name.startswith("count/"):
        return name.removeprefix("count/") or None
    if name in LEGACY_COUNTS:
        return LEGACY_COUNTS[name]
    if name.startswith("services."):
        return "services"
    if name == "requests.storage" or _CLASS_SUFFIX in name:
        return "persistentvolumeclaims"
    if name in COMPUTE or name.startswith(("requests.", "limits.", "hugepages-")):
        return "pods"
    return None


# ---------------------------------------------------------------- what an object uses


def usage_of(key: str, obj: Obj, now: float | None = None) -> Usage:
    """Everything `obj` (stored under `key`) counts towards."""
    usage = Usage()
    usage.add(f"count/{key}", Fraction(1))
    if key == "pods":
        _pod_usage(obj, usage, now)
    elif key == "services":
        _service_usage(obj, usage)
    elif key == "persistentvolumeclaims":
        _claim_usage(obj, usage)
    elif key in LEGACY_COUNTS:
        usage.add(key, Fraction(1))
    return usage


def pod_is_live(pod: Obj, now: float | None = None) -> bool:
    """`QuotaV1Pod`: not terminal, and not deleted past its grace period."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    deadline = _parse_time(pod["metadata"].get("deletionTimestamp"))
    moment = datetime.now(timezone.utc).timestamp() if now is None else now
    return deadline is None or moment <= deadline


def _pod_usage(pod: Obj, usage: Usage, now: float | None) -> None:
    if not pod_is_live(pod, now):
        return
    usage.add("pods", Fraction(1))
    requests, limits = pod_resources(pod.get("spec") or {})
    for name, (value, binary) in requests.items():
        if name in COMPUTE:
            usage.add(name, value, binary)
        usage.add(f"requests.{name}", value, binary)
    for name, (value, binary) in limits.items():
        if name in COMPUTE:
            usage.add(f"limits.{name}", value, binary)


Amounts = dict[str, tuple[Fraction, bool]]


def pod_resources(spec: Obj) -> tuple[Amounts, Amounts]:
    """Pod requests and limits: containers summed, each init container a floor."""
    totals: list[Amounts] = [{}, {}]
    for container in spec.get("containers") or []:
        for side, kind in enumerate(("requests", "limits")):
            for name, (value, binary) in _container_amounts(container, kind).items():
                previous = totals[side].get(name, (Fraction(0), binary))
                totals[side][name] = (previous[0] + value, previous[1])
    for container in spec.get("initContainers") or []:
        for side, kind in enumerate(("requests", "limits")):
            for name, entry in _container_amounts(container, kind).items():
                if entry[0] > totals[side].get(name, (Fraction(-1), False))[0]:
                    totals[side][name] = entry
    return totals[0], totals[1]


def _container_amounts(container: Any, kind: str) -> Amounts:
    resources = (
        (container.get("resources") or {}) if isinstance(container, dict) else {}
    )
    found: Amounts = {}
    for name, text in (resources.get(kind) or {}).items():
        try:
            found[name] = (quantity.parse(text), quantity.is_binary(text))
        except ValueError:
            continue  # validation refuses it; nothing to count
    return found


def _service_usage(service: Obj, usage: Usage) -> None:
    spec = service.get("spec") or {}
    usage.add("services", Fraction(1))
    kind = spec.get("type") or "ClusterIP"
    if kind == "LoadBalancer":
        usage.add("services.loadbalancers", Fraction(1))
    node_ports = kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)
    )
    if node_ports:
        usage.add("services.nodeports", Fraction(len(spec.get("ports") or [])))


def _claim_usage(claim: Obj, usage: Usage) -> None:
    spec = claim.get("spec") or {}
    usage.add("persistentvolumeclaims", Fraction(1))
    text = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    storage = _amount(text)
    if storage is not None:
        usage.add("requests.storage", storage, quantity.is_binary(text))
    klass = spec.get("storageClassName")
    if klass:
        usage.add(f"{klass}{_CLASS_SUFFIX}persistentvolumeclaims", Fraction(1))
        if storage is not None:
            usage.add(
                f"{klass}{_CLASS_SUFFIX}requests.storage",
                storage,
                quantity.is_binary(text),
            )


def _amount(text: Any) -> Fraction | None:
    try:
        return quantity.parse(text) if text is not None else None
    except ValueError:
        return None


def _parse_time(text: Any) -> float | None:
    if not text:
        return None
    moment = datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    )
    return moment.timestamp()


# ---------------------------------------------------------------- scopes


def matches(quota: Obj, key: str, obj: Obj) -> bool:
    """Whether a quota's scopes cover this object (scoped quotas track pods only)."""
    spec = quota.get("spec") or {}
    scopes = list(spec.get("scopes") or [])
    expressions = ((spec.get("scopeSelector") or {}).get("matchExpressions")) or []
    if not scopes and not expressions:
        return True
    if key != "pods":
        return False
    pod_spec = obj.get("spec") or {}
    return all(_scope_matches(s, pod_spec) for s in scopes) and all(
        _expression_matches(e, pod_spec) for e in expressions
    )


def _scope_matches(scope: str, spec: Obj) -> bool:
    terminating = spec.get("activeDeadlineSeconds") is not None
    best_effort = _best_effort(spec)
    return {
        "Terminating": terminating,
        "NotTerminating": not terminating,
        "BestEffort": best_effort,
        "NotBestEffort": not best_effort,
        "PriorityClass": bool(spec.get("priorityClassName")),
    }.get(scope, False)


def _expression_matches(expression: Obj, spec: Obj) -> bool:
    scope = expression.get("scopeName")
    if scope != "PriorityClass":
        return _scope_matches(str(scope), spec)
    selector = {
        "matchExpressions": [
            {
                "key": "priorityClass",
                "operator": expression.get("operator"),
                "values": expression.get("values") or [],
            }
        ]
    }
    labels = (
        {"priorityClass": spec["priorityClassName"]}
        if spec.get("priorityClassName")
        else {}
    )
    try:
        return bool(label_selector_from_spec(selector).matches(labels))
    except ValueError:
        return False


def _best_effort(spec: Obj) -> bool:
    containers = list(spec.get("containers") or []) + list(
        spec.get("initContainers") or []
    )
    return not any(
        (c.get("resources") or {}).get(kind)
        for c in containers
        if isinstance(c, dict)
        for kind in ("requests", "limits")
    )


# ---------------------------------------------------------------- usage of a namespace


def hard_of(quota: Obj) -> dict[str, Fraction]:
    parsed: dict[str, Fraction] = {}
    for name, text in ((quota.get("spec") or {}).get("hard") or {}).items():
        value = _amount(text)
        if value is not None:
            parsed[name] = value
    return parsed


def namespace_usage(store: Store, quota: Obj, names: Iterable[str]) -> Usage:
    """What the objects of the quota's namespace use of `names`, scopes applied."""
    namespace = quota["metadata"].get("namespace") or ""
    wanted = set(names)
    keys = {counted_resource(name) for name in wanted} - {None}
    total = Usage()
    for key in sorted(k for k in keys if k):
        for obj in store.items(key, namespace):
            if matches(quota, key, obj):
                total.merge(_masked(usage_of(key, obj), wanted))
    return total


def _masked(usage: Usage, names: set[str]) -> Usage:
    kept = Usage()
    for name in names & usage.amounts.keys():
        kept.add(name, usage.amounts[name], usage.binary.get(name, False))
    return kept


def quota_status(store: Store, quota: Obj) -> Obj:
    """`status.hard` (the spec's, canonical) and `status.used` for every hard name."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    used = namespace_usage(store, quota, hard)
    return {
        "hard": {name: quantity.canonical(text) for name, text in hard.items()},
        "used": {name: used.shown(name) for name in hard},
    }


# ---------------------------------------------------------------- admission


def admit_create(store: Store, rt: ResourceType, obj: Obj) -> None:
    """The ResourceQuota plugin on a create: constraints, then the limits."""
    namespace = obj["metadata"].get("namespace") or ""
    quotas = sorted(store.items(QUOTAS, namespace), key=lambda q: q["metadata"]["name"])
    pertinent = [q for q in quotas if matches(q, rt.key, obj)]
    if not pertinent:
        return
    name = obj["metadata"].get("name") or obj["metadata"].get("generateName") or ""
    for quota in pertinent:
        missing = _missing_constraints(rt.key, obj, hard_of(quota))
        if missing:
            raise _forbidden(
                rt, name, f"failed quota: {quota['metadata']['name']}: {missing}"
            )

    requested = usage_of(rt.key, obj)
    for quota in pertinent:
        _check_limits(store, rt, name, quota, requested)


def _missing_constraints(key: str, obj: Obj, hard: dict[str, Fraction]) -> str:
    """`podEvaluator.Constraints`: every container must state what a quota counts."""
    required = sorted(set(CONSTRAINED) & set(hard))
    if key != "pods" or not required:
        return ""
    spec = obj.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for container in list(spec.get("containers") or []) + list(
        spec.get("initContainers") or []
    ):
        stated = _stated(container)
        for resource in required:
            if resource not in stated:
                missing.setdefault(resource, set()).add(str(container.get("name", "")))
    parts = [f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing)]
    return f"must specify {'; '.join(parts)}" if parts else ""


def _stated(container: Obj) -> set[str]:
    resources = container.get("resources") or {}
    stated: set[str] = set()
    for name in resources.get("requests") or {}:
        if name in ("cpu", "memory"):
            stated |= {name, f"requests.{name}"}
    for name in resources.get("limits") or {}:
        if name in ("cpu", "memory"):
            stated.add(f"limits.{name}")
    return stated


def _check_limits(
    store: Store, rt: ResourceType, name: str, quota: Obj, requested: Usage
) -> None:
    hard = hard_of(quota)
    asked = [n for n in sorted(hard) if requested.get(n) != 0]
    if not asked:
        return
    used = namespace_usage(store, quota, asked)
    exceeded = [n for n in asked if used.get(n) + requested.get(n) > hard[n]]
    if not exceeded:
        return
    hard_text = (quota.get("spec") or {}).get("hard") or {}
    message = (
        f"exceeded quota: {quota['metadata']['name']}, "
        f"requested: {_listed(exceeded, requested.shown)}, "
        f"used: {_listed(exceeded, used.shown)}, "
        f"limited: {_listed(exceeded, lambda n: quantity.canonical(hard_text[n]))}"
    )
    raise _forbidden(rt, name, message)


def _listed(names: list[str], shown: Callable[[str], str]) -> str:
    return ",".join(f"{n}={shown(n)}" for n in names)


def _forbidden(rt: ResourceType, name: str, message: str) -> status.StatusError:
    details: Obj = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    return status.forbidden(f'{rt.qualified} "{name}" is forbidden: {message}', details)


# ---------------------------------------------------------------- the object itself


def default_quota(obj: Obj) -> None:
    """Decoding: quantities must parse (400 as upstream's decoder), and are stored in
    canonical form."""
    hard = (obj.get("spec") or {}).get("hard")
    if isinstance(hard, dict):
        obj["spec"]["hard"] = {
            k: canonical_or_bad_request("ResourceQuota", v) for k, v in hard.items()
        }


def canonical_or_bad_request(kind: str, value: Any) -> str:
    try:
        return quantity.canonical(value)
    except ValueError as err:
        raise status.bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: quantities must '
            "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        ) from err


def quota_causes(obj: Obj) -> Causes:
    """`ValidateResourceQuotaSpec`: names, non-negative (whole for counts), scopes."""
    spec = obj.get("spec") or {}
    causes: Causes = []
    for name, text in (spec.get("hard") or {}).items():
        path = f"spec.hard[{name}]"
        if (
            "/" not in name
            and name not in STANDARD
            and not name.startswith(("hugepages-", "requests.hugepages-"))
        ):
            causes.append(
                invalid_value(path, name, "must be a standard resource for quota")
            )
        value = _amount(text)
        if value is not None and value < 0:
            causes.append(
                invalid_value(path, text, "must be greater than or equal to 0")
            )
        elif value is not None and name in INTEGER and value.denominator != 1:
            causes.append(invalid_value(path, text, "must be an integer"))
    return causes + _scope_causes(spec)


def _scope_causes(spec: Obj) -> Causes:
    scopes = list(spec.get("scopes") or [])
    shown = "[]core.ResourceQuotaScope{" + ", ".join(f'"{s}"' for s in scopes) + "}"
    causes: Causes = []
    for scope in scopes:
        if scope not in SCOPES:
            causes.append(not_supported("spec.scopes", scope, SCOPES))
    standard = [n for n in (spec.get("hard") or {}) if n in STANDARD]
    if any(not _scope_valid_for(scope, name) for scope in scopes for name in standard):
        causes.append(_scopes_invalid(shown, "unsupported scope applied to resource"))
    for pair in (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")):
        if set(pair) <= set(scopes):
            causes.append(_scopes_invalid(shown, "conflicting scopes"))
    return causes


def _scope_valid_for(scope: str, name: str) -> bool:
    """`IsResourceQuotaScopeValidForResource`: BestEffort counts pods only, the other
    pod scopes pods and their compute resources."""
    if scope == "BestEffort":
        return name == "pods"
    return counted_resource(name) == "pods"


def _scopes_invalid(shown: str, detail: str) -> dict[str, str]:
    return {
        "reason": "FieldValueInvalid",
        "field": "spec.scopes",
        "message": f"Invalid value: {shown}: {detail}",
    }
