"""One stored object, served in more than one group-version.

Two resources are served from another resource's storage, as kube-apiserver serves
them:

- `events.k8s.io/v1` Events are the core `v1` Events (one store, key `events`),
  converted field by field: `involvedObject` → `regarding`, `message` → `note`,
  `source` → `deprecatedSource`, `firstTimestamp`/`lastTimestamp`/`count` →
  `deprecatedFirstTimestamp`/`deprecatedLastTimestamp`/`deprecatedCount`,
  `reportingComponent` → `reportingController`; `related`, `series`, `action`,
  `reason`, `type`, `reportingInstance` and `eventTime` keep their names.
- `autoscaling/v1` HorizontalPodAutoscalers are the stored `autoscaling/v2` ones:
  `targetCPUUtilizationPercentage` is the v2 CPU `Utilization` metric, and
  `currentCPUUtilizationPercentage` the current CPU utilization in the status.

`ConvertingApi` is the `Api` the HTTP layer uses: for a served-but-not-stored type it
converts request bodies to the storage version, runs the storage version's
defaulting, validation and storage, and converts every object it returns (get, list,
watch events, writes) back; Status messages name the served resource
(`events.events.k8s.io "x" not found`).  For every other type it is `Api` unchanged.
It also runs the issue-3 kinds' validation (`validation.validate_kind`).

Simplified (documented deviations):
- A core Event without `eventTime` (what the old-style recorders, ours included,
  write) is served through events.k8s.io with `eventTime` taken from its first
  timestamp (or creation time), in MicroTime form.  A real server sends `null` there,
  which the Python client's `EventsV1Event` model rejects.
- autoscaling/v1 is the simple CPU case: metrics other than CPU utilization, the
  `behavior` and the status conditions are not shown in v1 (upstream keeps them in
  `autoscaling.alpha.kubernetes.io/*` annotations); a write through v1 keeps the
  stored object's other metrics and `behavior`, so nothing is lost.
- field selectors through events.k8s.io accept the v1 names (`regarding.name`, `note`,
  `reportingController`, `deprecatedSource`) by mapping them onto the core ones.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded import status, validation
from kubecourse.embedded.api import (
    Api,
    Causes,
    Texts,
    WatchStream,
    WriteOptions,
    check_apply_version,
)
from kubecourse.embedded.defaults import cpu_metric
from kubecourse.embedded.listing import ListPage
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.selectors import label_selector_from_spec

Obj = dict[str, Any]
Existing = Obj | None


# ---------------------------------------------------------------- events


_EVENT_RENAMES = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
)
_EVENT_KEPT = (
    "metadata",
    "reason",
    "type",
    "action",
    "related",
    "series",
    "reportingInstance",
    "eventTime",
)


def micro_time(stamp: str) -> str:
    """`2025-01-01T12:00:00Z` → `2025-01-01T12:00:00.000000Z` (MicroTime)."""
    if stamp.endswith("Z") and "." not in stamp:
        return stamp[:-1] + ".000000Z"
    return stamp


def core_event_to_v1(event: Obj) -> Obj:
    """A core v1 Event as `events.k8s.io/v1` shows it."""
    out: Obj = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for name in _EVENT_KEPT:
        if event.get(name) is not None:
            out[name] = copy.deepcopy(event[name])
    for core, v1 in _EVENT_RENAMES:
        if event.get(core) not in (None, "", {}):
            out[v1] = copy.deepcopy(event[core])
    if not out.get("eventTime"):
        meta = event.get("metadata") or {}
        first = event.get("firstTimestamp") or meta.get("creationTimestamp") or ""
        out["eventTime"] = micro_time(str(first)) if first else None
    return out


def v1_event_to_core(event: Mapping[str, Any], _existing: Existing = None) -> Obj:
    """An `events.k8s.io/v1` Event as the core v1 Event it is stored as."""
    out: Obj = {"kind": "Event", "apiVersion": "v1"}
    for name in _EVENT_KEPT:
        if name in event:
            out[name] = copy.deepcopy(event[name])
    for core, v1 in _EVENT_RENAMES:
        if v1 in event:
            out[core] = copy.deepcopy(event[v1])
    out.setdefault("involvedObject", {})
    return out


_EVENT_FIELD_LABELS = (
    ("regarding.", "involvedObject."),
    ("deprecatedSource", "source"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
)


def event_field_selector(text: str | None) -> str | None:
    """events.k8s.io field selector names → the core names the store answers."""
    if not text:
        return text
    terms = []
    for term in text.split(","):
        for v1, core in _EVENT_FIELD_LABELS:
            if term.startswith(v1):
                term = core + term[len(v1) :]
                break
        terms.append(term)
    return ",".join(terms)


# ---------------------------------------------------------------- HPA


def _cpu_utilization(metrics: Any, key: str) -> int | None:
    for metric in metrics or []:
        resource = (metric or {}).get("resource") or {}
        value = (resource.get(key) or {}).get("averageUtilization")
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            return value if isinstance(value, int) else None
    return None


def hpa_v2_to_v1(hpa: Obj) -> Obj:
    """A stored autoscaling/v2 HPA as autoscaling/v1 shows it (the CPU case)."""
    spec = hpa.get("spec") or {}
    v1_spec: Obj = {"scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef", {}))}
    for name in ("minReplicas", "maxReplicas"):
        if name in spec:
            v1_spec[name] = spec[name]
    cpu = _cpu_utilization(spec.get("metrics"), "target")
    if cpu is not None:
        v1_spec["targetCPUUtilizationPercentage"] = cpu
    out: Obj = {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v1",
        "metadata": copy.deepcopy(hpa.get("metadata", {})),
        "spec": v1_spec,
    }
    if "status" in hpa:
        out["status"] = _hpa_status_v1(hpa["status"] or {})
    return out


def _hpa_status_v1(v2: Obj) -> Obj:
    out: Obj = {
        "currentReplicas": v2.get("currentReplicas", 0),
        "desiredReplicas": v2.get("desiredReplicas", 0),
    }
    for name in ("observedGeneration", "lastScaleTime"):
        if v2.get(name) is not None:
            out[name] = v2[name]
    cpu = _cpu_utilization(v2.get("currentMetrics"), "current")
    if cpu is not None:
        out["currentCPUUtilizationPercentage"] = cpu
    return out


def hpa_v1_to_v2(hpa: Mapping[str, Any], existing: Existing = None) -> Obj:
    """An autoscaling/v1 HPA as the stored v2 one, keeping what v1 cannot express."""
    spec = hpa.get("spec") or {}
    old_spec = (existing or {}).get("spec") or {}
    metrics = [
        m
        for m in copy.deepcopy(old_spec.get("metrics") or [])
        if _cpu_utilization([m], "target") is None
    ]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.insert(0, cpu_metric(spec["targetCPUUtilizationPercentage"]))
    v2_spec: Obj = {
        k: copy.deepcopy(v)
        for k, v in spec.items()
        if k != "targetCPUUtilizationPercentage"
    }
    if metrics:
        v2_spec["metrics"] = metrics
    if "behavior" in old_spec:
        v2_spec["behavior"] = copy.deepcopy(old_spec["behavior"])
    out: Obj = {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": copy.deepcopy(hpa.get("metadata", {})),
        "spec": v2_spec,
    }
    if "status" in hpa:
        out["status"] = _hpa_status_v2(hpa["status"] or {}, existing)
    return out


def _hpa_status_v2(v1: Obj, existing: Existing) -> Obj:
    out = copy.deepcopy((existing or {}).get("status") or {})
    for name in (
        "currentReplicas",
        "desiredReplicas",
        "observedGeneration",
        "lastScaleTime",
    ):
        if name in v1:
            out[name] = v1[name]
    cpu = v1.get("currentCPUUtilizationPercentage")
    if cpu is not None:
        current = {"averageUtilization": cpu}
        out["currentMetrics"] = [
            {"type": "Resource", "resource": {"name": "cpu", "current": current}}
        ]
    return out


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Conversion:
    storage_api_version: str
    storage_kind: str
    to_storage: Callable[[Obj, Existing], Obj]
    from_storage: Callable[[Obj], Obj]
    field_selector: Callable[[str | None], str | None] = lambda text: text


CONVERSIONS: dict[tuple[str, str, str], Conversion] = {
    ("events.k8s.io", "v1", "Event"): Conversion(
        "v1", "Event", v1_event_to_core, core_event_to_v1, event_field_selector
    ),
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): Conversion(
        "autoscaling/v2", "HorizontalPodAutoscaler", hpa_v1_to_v2, hpa_v2_to_v1
    ),
}


def conversion_for(rt: ResourceType) -> Conversion | None:
    return CONVERSIONS.get((rt.group, rt.version, rt.kind))


@contextmanager
def _served_names(served: ResourceType, storage: ResourceType) -> Iterator[None]:
    """Re-word Status errors from the storage type so they name the served one."""
    try:
        yield
    except status.StatusError as err:
        err.message = err.message.replace(
            f'{storage.qualified} "', f'{served.qualified} "'
        )
        details = err.details or {}
        if details.get("kind") == storage.plural and storage.group != served.group:
            details.pop("group", None)
            if served.group:
                details["group"] = served.group
        raise


class ConvertedWatch(WatchStream):
    """A storage-version watch whose objects come out in the served version."""

    def __init__(self, inner: WatchStream, convert: Callable[[Obj], Obj]) -> None:
        self._inner = inner
        self._convert = convert

    async def next(self, timeout: float) -> tuple[str, Obj] | None:
        event = await self._inner.next(timeout)
        if event is None or event is WatchStream.CLOSED:
            return event
        kind, obj = event
        if kind == "BOOKMARK":  # only its resourceVersion (and annotations) matter
            return event
        return kind, self._convert(obj)

    def close(self) -> None:
        self._inner.close()


class ConvertingApi(Api):
    """`Api`, serving converted group-versions and validating the issue-3 kinds."""

    def _storage(self, rt: ResourceType) -> tuple[Conversion, ResourceType] | None:
        conversion = conversion_for(rt)
        if conversion is None:
            return None
        storage = self.registry.by_kind(
            conversion.storage_api_version, conversion.storage_kind
        )
        assert storage is not None, f"no storage type for {rt.api_version} {rt.kind}"
        return conversion, storage

    # -- validation hooks (the issue-3 kinds) ---------------------------------------

    def _validate(self, rt: ResourceType, obj: Obj) -> Causes:
        matches = _matches_selector
        return super()._validate(rt, obj) + validation.validate_kind(rt, obj, matches)

    def _validate_update(self, rt: ResourceType, old: Obj, new: Obj) -> Causes:
        extra = validation.validate_kind_update(rt, old, new)
        return super()._validate_update(rt, old, new) + extra

    # -- reads ------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self._storage(rt)
        if found is None:
            return super().get(rt, namespace, name)
        conversion, storage = found
        with _served_names(rt, storage):
            return conversion.from_storage(super().get(storage, namespace, name))

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListPage:
        found = self._storage(rt)
        target = found[1] if found else rt
        selector = found[0].field_selector(field_selector) if found else field_selector
        page = super().list(
            target,
            namespace,
            label_selector=label_selector,
            field_selector=selector,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
        )
        if found is not None:
            page.items = [found[0].from_storage(item) for item in page.items]
        return page

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        send_initial_events: bool = False,
    ) -> WatchStream:
        found = self._storage(rt)
        target = found[1] if found else rt
        selector = found[0].field_selector(field_selector) if found else field_selector
        stream = super().watch(
            target,
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=selector,
            send_initial_events=send_initial_events,
        )
        return ConvertedWatch(stream, found[0].from_storage) if found else stream

    # -- writes -----------------------------------------------------------------------

    def _to_storage(
        self, rt: ResourceType, body: Any, options: WriteOptions, existing: Existing
    ) -> Any:
        """Check unknown fields against the served schema, then convert."""
        found = self._storage(rt)
        if found is None or not isinstance(body, dict):
            return body
        self._check_type(rt, body)
        served = copy.deepcopy(body)
        self._check_fields(rt, served, options)
        return found[0].to_storage(served, existing)

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Obj,
        options: WriteOptions | None = None,
    ) -> Obj:
        found = self._storage(rt)
        if found is None:
            return super().create(rt, namespace, body, options)
        options = options or WriteOptions()
        stored = self._to_storage(rt, body, options, None)
        with _served_names(rt, found[1]):
            return found[0].from_storage(
                super().create(found[1], namespace, stored, options)
            )

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Obj,
        options: WriteOptions | None = None,
        *,
        subresource: str | None = None,
    ) -> Obj:
        found = self._storage(rt)
        if found is None:
            return super().update(
                rt, namespace, name, body, options, subresource=subresource
            )
        conversion, storage = found
        options = options or WriteOptions()
        with _served_names(rt, storage):
            existing = self._existing(storage, namespace, name)
            stored = self._to_storage(rt, body, options, existing)
            result = super().update(
                storage, namespace, name, stored, options, subresource=subresource
            )
        return conversion.from_storage(result)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        patch: Any,
        options: WriteOptions | None = None,
        *,
        subresource: str | None = None,
        force: bool = False,
    ) -> Obj:
        found = self._storage(rt)
        absent = (
            found is not None
            and self.store.get(rt.key, self._ns(rt, namespace), name) is None
        )
        if found is None or (patch_type == "apply" and absent):
            return super().patch(
                rt,
                namespace,
                name,
                patch_type,
                patch,
                options,
                subresource=subresource,
                force=force,
            )
        options = dataclasses.replace(options or WriteOptions(), patch_type=patch_type, patch=patch)
        old = self.get(rt, namespace, name)
        if patch_type == "apply":
            patch = _apply_intent(self, rt, name, patch, options)
            patch_type = "strategic"
        new = self._patched(copy.deepcopy(old), patch_type, patch, rt)
        new_rv = (new.get("metadata") or {}).get("resourceVersion")
        if new_rv and new_rv != old["metadata"]["resourceVersion"]:
            raise status.conflict(rt, name)
        return self.update(rt, namespace, name, new, options, subresource=subresource)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: Obj | None = None,
        dry_run: bool = False,
        orphan_dependents: bool | None = None,
        warnings: Texts | None = None,
    ) -> Obj:
        found = self._storage(rt)
        target = found[1] if found else rt
        with _served_names(rt, target):
            result = super().delete(
                target,
                namespace,
                name,
                grace_period_seconds=grace_period_seconds,
                propagation_policy=propagation_policy,
                preconditions=preconditions,
                dry_run=dry_run,
                orphan_dependents=orphan_dependents,
                warnings=warnings,
            )
        if found is None:
            return result
        if result.get("kind") == "Status":
            details = result.get("details") or {}
            details.pop("group", None)
            if rt.group:
                details["group"] = rt.group
            return result
        return found[0].from_storage(result)


def _apply_intent(
    api: ConvertingApi, rt: ResourceType, name: str, intent: Any, options: WriteOptions
) -> Obj:
    """Server-side apply on an existing converted object, as `Api._apply` does it."""
    if not options.field_manager:
        raise status.bad_request(
            "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests"
        )
    if not isinstance(intent, dict):
        raise status.bad_request("apply patch must be a YAML or JSON object")
    check_apply_version(rt, intent)
    api._check_type(rt, intent)
    obj: Obj = copy.deepcopy(intent)
    meta = obj.setdefault("metadata", {})
    if meta.get("name") not in (None, name):
        raise status.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on "
            f"the URL ({name})"
        )
    meta.pop("resourceVersion", None)
    obj.pop("status", None)
    return obj


def _matches_selector(selector: Obj, labels: dict[str, str]) -> bool:
    try:
        return bool(label_selector_from_spec(selector).matches(labels))
    except ValueError:
        return False
