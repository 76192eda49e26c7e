"""Validation as kube-apiserver applies it: names, required fields, selectors, immutability.

Each check returns a list of causes (`{"reason", "message", "field"}`) so one request
reports every problem at once, in the real message formats (`Invalid value: "Web": a
lowercase RFC 1123 subdomain must consist of ...`).  Only the rules the course's kinds
need are here; the docs' conformance table lists what is not checked.  The kinds added
for issue 3 (Job, CronJob, DaemonSet, HPA, PDB, Gateway API) are reached through
`validate_kind` / `validate_kind_update`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from kubecourse.embedded import (
    cron,
    validation_core,
    validation_crd,
    validation_kinds,
    validation_meta,
    validation_update,
)
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.status import cause

Causes = list[dict[str, str]]
Matcher = Callable[[dict[str, Any], dict[str, str]], bool]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)

# Kinds whose names are DNS labels rather than subdomains.
_LABEL_NAMED = {"Namespace"}
_DNS1035_NAMED = {"Service"}


def invalid_value(field: str, value: Any, detail: str) -> dict[str, str]:
    return cause(field, f"Invalid value: {go_repr(value)}: {detail}")


def required(field: str) -> dict[str, str]:
    return cause(field, "Required value", "FieldValueRequired")


def forbidden(field: str, detail: str) -> dict[str, str]:
    return cause(field, f"Forbidden: {detail}", "FieldValueForbidden")


def go_repr(value: Any) -> str:
    """Values as apiserver 1.34+ prints them in field errors: strings quoted, numbers
    plain, anything else as JSON (`{"app":"x"}`)."""
    return validation_meta.go_value(value)


def validate_name(rt: ResourceType, name: str, field: str = "metadata.name") -> Causes:
    if rt.group == "rbac.authorization.k8s.io":  # ValidateRBACName
        return path_segment_name(name, field)
    if rt.kind in _LABEL_NAMED:
        pattern, message, limit = DNS1123_LABEL, LABEL_MSG, 63
    elif rt.kind in _DNS1035_NAMED:
        pattern, message, limit = DNS1035_LABEL, DNS1035_MSG, 63
    else:
        pattern, message, limit = DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253
    causes: Causes = []
    if len(name) > limit:
        causes.append(
            invalid_value(field, name, f"must be no more than {limit} characters")
        )
    if not pattern.match(name):
        causes.append(invalid_value(field, name, message))
    return causes


def validate_labels(labels: Any, field: str) -> Causes:
    if labels is not None and not isinstance(labels, dict):
        return [invalid_value(field, labels, "must be a map of string keys to string values")]
    return validation_meta.validate_labels(labels, field)


def validate_metadata(rt: ResourceType, obj: dict[str, Any]) -> Causes:
    meta = obj.get("metadata") or {}
    causes: Causes = []
    name = meta.get("name")
    if not name:
        causes.append(
            cause(
                "metadata.name",
                "Required value: name or generateName is required",
                "FieldValueRequired",
            )
        )
    else:
        causes += validate_name(rt, name)
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    causes += validation_meta.validate_annotations(meta.get("annotations"), "metadata.annotations")
    return causes


def validate_containers(
    containers: Any,
    field: str,
    volumes: set[str] | None = None,
    port_names: set[str] | None = None,
) -> Causes:
    if not containers:
        return [required(field)]
    causes: Causes = []
    seen: set[str] = set()
    port_names = set() if port_names is None else port_names
    for i, container in enumerate(containers):
        here = f"{field}[{i}]"
        if not isinstance(container, dict):
            continue
        name = container.get("name")
        if not name:
            causes.append(required(f"{here}.name"))
        elif not DNS1123_LABEL.match(name):
            causes.append(invalid_value(f"{here}.name", name, LABEL_MSG))
        elif name in seen:
            causes.append(
                cause(
                    f"{here}.name",
                    f"Duplicate value: {go_repr(name)}",
                    "FieldValueDuplicate",
                )
            )
        seen.add(name or "")
        if not container.get("image"):
            causes.append(required(f"{here}.image"))
        ports = container.get("ports") or []
        causes += _validate_ports(ports, f"{here}.ports")
        causes += validation_core.port_causes(ports, f"{here}.ports", port_names)
        causes += validation_core.container_causes(container, here, volumes)
    return causes


def _validate_ports(ports: list[dict[str, Any]], field: str) -> Causes:
    causes: Causes = []
    for j, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        number = port.get("containerPort")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid_value(
                    f"{field}[{j}].containerPort",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
    return causes


def validate_pod_spec(spec: Any, field: str, claims: set[str] | None = None) -> Causes:
    """`claims`: a StatefulSet's volumeClaimTemplates, which its pods' mounts may name."""
    if not isinstance(spec, dict):
        return [required(field)]
    volumes = validation_core.volume_names(spec) | (claims or set())
    names: set[str] = set()
    causes = validate_containers(spec.get("containers"), f"{field}.containers", volumes, names)
    if spec.get("initContainers"):
        causes += validate_containers(spec["initContainers"], f"{field}.initContainers", volumes, names)
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        causes.append(
            cause(
                f"{field}.restartPolicy",
                f'Unsupported value: {go_repr(policy)}: supported values: "Always", "OnFailure", "Never"',
                "FieldValueNotSupported",
            )
        )
    return causes


def validate_selector_matches_template(
    spec: dict[str, Any],
    matches: Callable[[dict[str, Any], dict[str, str]], bool],
    kind: str = "deployment",
) -> Causes:
    """The selector rules of `Validate{Deployment,ReplicaSet,StatefulSet,DaemonSet}Spec`:
    a missing selector is required (not for a DaemonSet) and, selecting nothing, does
    not match the template; an empty one is `empty selector is invalid for <kind>`
    (a ReplicaSet's says `deployment`, as upstream's does)."""
    selector = spec.get("selector")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if not isinstance(selector, dict):
        mismatch = invalid_value(
            "spec.template.metadata.labels",
            template_labels,
            "`selector` does not match template `labels`",
        )
        return ([] if kind == "daemonset" else [required("spec.selector")]) + [mismatch]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        shown = validation_meta.selector_value(selector)
        detail = f"empty selector is invalid for {kind}"
        return [cause("spec.selector", f"Invalid value: {shown}: {detail}")]
    labels = template_labels or {}
    causes = validation_meta.validate_label_selector(selector, "spec.selector")
    causes += validate_labels(labels, "spec.template.metadata.labels")
    if validation_meta.selector_parse_error(selector):
        shown = validation_meta.selector_value(selector)
        return causes + [cause("spec.selector", f"Invalid value: {shown}: invalid label selector")]
    if causes:
        return causes
    if not matches(selector, labels):
        return [
            invalid_value(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        ]
    return []


def validate_replicas(spec: dict[str, Any]) -> Causes:
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        return [
            invalid_value(
                "spec.replicas", replicas, "must be greater than or equal to 0"
            )
        ]
    if replicas is not None and replicas > 2**31 - 1:
        return [invalid_value("spec.replicas", replicas, "must be a 32-bit integer")]
    return []


def validate_service_spec(spec: dict[str, Any]) -> Causes:
    causes: Causes = []
    kind = spec.get("type", "ClusterIP")
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid_value(
                    f"spec.ports[{i}].port",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            causes.append(required(f"spec.ports[{i}].name"))
        if name in names and name:
            causes.append(
                cause(
                    f"spec.ports[{i}].name",
                    f"Duplicate value: {go_repr(name)}",
                    "FieldValueDuplicate",
                )
            )
        names.add(name)
    if kind not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            cause(
                "spec.type",
                f'Unsupported value: {go_repr(kind)}: supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
                "FieldValueNotSupported",
            )
        )
    return causes


POD_MUTABLE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def validate_pod_update(old: dict[str, Any], new: dict[str, Any]) -> Causes:
    """A Pod's spec is immutable but for images, deadlines and added tolerations."""
    old_spec = _mutable_stripped(old.get("spec") or {})
    new_spec = _mutable_stripped(new.get("spec") or {})
    old_tol = (old.get("spec") or {}).get("tolerations") or []
    new_tol = (new.get("spec") or {}).get("tolerations") or []
    tolerations_ok = all(t in new_tol for t in old_tol)
    if old_spec == new_spec and tolerations_ok:
        return []
    changed = sorted(
        k for k in set(old_spec) | set(new_spec) if old_spec.get(k) != new_spec.get(k)
    )
    detail = POD_MUTABLE_MESSAGE
    if changed:
        detail += "\n  changed: " + ", ".join(f"spec.{k}" for k in changed)
    return [forbidden("spec", detail)]


def _mutable_stripped(spec: dict[str, Any]) -> dict[str, Any]:
    stripped = {
        k: v
        for k, v in spec.items()
        if k
        not in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")
    }
    for key in ("containers", "initContainers"):
        if key in stripped:
            stripped[key] = [
                {k: v for k, v in c.items() if k != "image"} for c in stripped[key]
            ]
    return stripped


def no_new_finalizers(old_meta: dict[str, Any], new_meta: dict[str, Any]) -> Causes:
    """`ValidateNoNewFinalizers`: nothing may be added to an object being deleted."""
    if not old_meta.get("deletionTimestamp"):
        return []
    extra = sorted(set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
    if not extra:
        return []
    shown = "[]string{" + ", ".join(json.dumps(f) for f in extra) + "}"
    return [
        forbidden(
            "metadata.finalizers",
            f"no new finalizers can be added if the object is being deleted, found new finalizers {shown}",
        )
    ]


def immutable(field: str, old: Any, new: Any) -> Causes:
    if old is not None and old != new:
        if field.endswith("selector") and isinstance(new, dict):
            shown = validation_meta.selector_value(new)
            return [cause(field, f"Invalid value: {shown}: field is immutable")]
        return [invalid_value(field, new, "field is immutable")]
    return []


# ---------------------------------------------------------------- the kinds of issue 3


def not_supported(field: str, value: Any, supported: tuple[str, ...]) -> dict[str, str]:
    listed = ", ".join(json.dumps(v) for v in supported)
    return cause(
        field,
        f"Unsupported value: {go_repr(value)}: supported values: {listed}",
        "FieldValueNotSupported",
    )


def _non_negative(spec: dict[str, Any], name: str, field: str) -> Causes:
    value = spec.get(name)
    if value is not None and (not isinstance(value, int) or value < 0):
        return [
            invalid_value(
                f"{field}.{name}", value, "must be greater than or equal to 0"
            )
        ]
    return []


def _template_restart_policy(
    template: Any, field: str, allowed: tuple[str, ...]
) -> Causes:
    policy = ((template or {}).get("spec") or {}).get("restartPolicy")
    if policy in allowed:
        return []
    here = f"{field}.spec.restartPolicy"
    if policy is None:
        return [required(here)]
    return [not_supported(here, policy, allowed)]


def validate_job_spec(spec: Any, field: str) -> Causes:
    if not isinstance(spec, dict):
        return [required(field)]
    causes: Causes = []
    for name in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        causes += _non_negative(spec, name, field)
    template = spec.get("template")
    causes += validate_pod_spec((template or {}).get("spec"), f"{field}.template.spec")
    causes += _template_restart_policy(
        template, f"{field}.template", ("OnFailure", "Never")
    )
    return causes


def validate_job(obj: dict[str, Any], matches: Matcher) -> Causes:
    spec = obj.get("spec") or {}
    causes = validate_job_spec(spec, "spec")
    if spec.get("manualSelector"):
        causes += validate_selector_matches_template(spec, matches)
    return causes


def cron_schedule_error(schedule: str) -> str | None:
    """Why a schedule does not parse (robfig/cron's message), or the TZ refusal."""
    problem = cron.error(schedule)
    if problem is None and "TZ" in schedule:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    return problem


_TIME_ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def time_zone_error(zone: str) -> str | None:
    """`validateTimeZone`: an IANA name the server's zone database knows."""
    if zone == "":
        return "timeZone must be nil or non-empty string"
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.match(part):
            return f"unknown time zone {zone}"
    if zone.lower() == "local":
        return "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
    try:
        cron.load_zone(zone)
    except cron.CronError as err:
        return str(err)
    return None


def _cron_schedule_causes(spec: dict[str, Any]) -> Causes:
    schedule = spec.get("schedule")
    if not schedule:
        return [required("spec.schedule")]
    causes: Causes = []
    problem = cron.error(str(schedule))
    if problem:
        causes.append(invalid_value("spec.schedule", schedule, problem))
    if "TZ" in str(schedule):
        detail = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        causes.append(invalid_value("spec.schedule", schedule, detail))
    return causes


def _job_template_causes(spec: dict[str, Any]) -> Causes:
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    causes = validate_job_spec(job_spec, "spec.jobTemplate.spec")
    if isinstance(job_spec, dict) and job_spec.get("selector") is not None:
        causes.append(
            invalid_value(
                "spec.jobTemplate.spec.selector",
                job_spec["selector"],
                "`selector` will be auto-generated",
            )
        )
    if isinstance(job_spec, dict) and job_spec.get("manualSelector"):
        causes.append(
            not_supported("spec.jobTemplate.spec.manualSelector", True, ("nil", "false"))
        )
    return causes


def validate_cronjob(obj: dict[str, Any]) -> Causes:
    spec = obj.get("spec") or {}
    name = str((obj.get("metadata") or {}).get("name") or "")
    causes = _cron_schedule_causes(spec)
    for field_name in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        causes += _non_negative(spec, field_name, "spec")
    zone = spec.get("timeZone")
    if zone is not None:
        problem = time_zone_error(str(zone))
        if problem:
            causes.append(invalid_value("spec.timeZone", zone, problem))
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        causes.append(
            not_supported(
                "spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")
            )
        )
    causes += _job_template_causes(spec)
    if len(name) > 52:  # the controller appends `-<11 digits>`; a Job name has 63 at most
        causes.append(invalid_value("metadata.name", name, "must be no more than 52 characters"))
    return causes


def validate_daemonset(obj: dict[str, Any], matches: Matcher) -> Causes:
    spec = obj.get("spec") or {}
    template = spec.get("template")
    causes = validate_selector_matches_template(spec, matches, "daemonset")
    causes += validate_pod_spec((template or {}).get("spec"), "spec.template.spec")
    causes += _daemonset_strategy(spec.get("updateStrategy") or {})
    return causes + _template_restart_policy(template, "spec.template", ("Always",))


def _daemonset_strategy(strategy: dict[str, Any]) -> Causes:
    """`ValidateDaemonSetUpdateStrategy`: exactly one of maxUnavailable / maxSurge."""
    kind = strategy.get("type")
    if kind not in ("OnDelete", "RollingUpdate"):
        return [not_supported("spec.updateStrategy.type", kind, ("OnDelete", "RollingUpdate"))]
    rolling = strategy.get("rollingUpdate") or {}
    if kind != "RollingUpdate":
        return []
    field = "spec.updateStrategy.rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable", 0), rolling.get("maxSurge", 0)
    causes = _int_or_percent(unavailable, f"{field}.maxUnavailable")
    causes += _int_or_percent(surge, f"{field}.maxSurge")
    if causes:
        return causes
    has_unavailable, has_surge = str(unavailable).rstrip("%") != "0", str(surge).rstrip("%") != "0"
    if has_unavailable and has_surge:
        return [invalid_value(f"{field}.maxSurge", surge, "may not be set when maxUnavailable is non-zero")]
    if not has_unavailable and not has_surge:
        return [cause(f"{field}.maxUnavailable", "Required value: cannot be 0 when maxSurge is 0", "FieldValueRequired")]
    return []


def validate_hpa(obj: dict[str, Any]) -> Causes:
    # Its rules are many; they live in their own module (imported here, not at the top,
    # because that module builds on this one's helpers).
    from kubecourse.embedded.hpa_validation import validate_hpa_spec

    return validate_hpa_spec(obj.get("spec") or {})


def _int_or_percent(value: Any, field: str) -> Causes:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return [invalid_value(field, value, "must be greater than or equal to 0")]
        return []
    text = str(value)
    if text.endswith("%") and text[:-1].isdigit():
        if int(text[:-1]) > 100:
            return [invalid_value(field, value, "must not be greater than 100%")]
        return []
    return [
        invalid_value(
            field,
            value,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        )
    ]


def validate_pdb(obj: dict[str, Any]) -> Causes:
    spec = obj.get("spec") or {}
    causes: Causes = []
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        causes.append(
            invalid_value(
                "spec", spec, "minAvailable and maxUnavailable cannot be both set"
            )
        )
    if low is not None:
        causes += _int_or_percent(low, "spec.minAvailable")
    if high is not None:
        causes += _int_or_percent(high, "spec.maxUnavailable")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        causes.append(
            not_supported(
                "spec.unhealthyPodEvictionPolicy",
                policy,
                ("AlwaysAllow", "IfHealthyBudget"),
            )
        )
    return causes


def _required_fields(obj: dict[str, Any], fields: tuple[str, ...]) -> Causes:
    spec = obj.get("spec") or {}
    return [required(f"spec.{name}") for name in fields if not spec.get(name)]


def validate_controller_revision(obj: dict[str, Any]) -> Causes:
    revision = obj.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        return [invalid_value("revision", revision, "must be greater than or equal to 0")]
    return []


KIND_VALIDATORS: dict[str, Callable[[dict[str, Any], Matcher], Causes]] = {
    "ConfigMap": lambda obj, _: validation_core.configmap_causes(obj),
    "Secret": lambda obj, _: validation_core.secret_causes(obj),
    "Service": lambda obj, _: validation_core.service_causes(obj.get("spec") or {}),
    "Deployment": lambda obj, _: validation_core.strategy_causes((obj.get("spec") or {}).get("strategy")),
    "ControllerRevision": lambda obj, _: validate_controller_revision(obj),
    "Job": validate_job,
    "CronJob": lambda obj, _: validate_cronjob(obj),
    "DaemonSet": validate_daemonset,
    "HorizontalPodAutoscaler": lambda obj, _: validate_hpa(obj),
    "PodDisruptionBudget": lambda obj, _: validate_pdb(obj),
    "GatewayClass": lambda obj, _: _required_fields(obj, ("controllerName",)),
    "Gateway": lambda obj, _: _required_fields(obj, ("gatewayClassName", "listeners")),
}


def validate_kind(rt: ResourceType, obj: dict[str, Any], matches: Matcher) -> Causes:
    """The spec rules of the kinds added for issue 3, then validation_kinds.py's."""
    validator = KIND_VALIDATORS.get(rt.kind)
    causes = validator(obj, matches) if validator is not None else []
    if rt.custom:
        causes += validation_crd.causes(rt.group, rt.version, rt.kind, obj)
    return causes + validation_kinds.causes(rt.kind, obj)


def validate_kind_update(
    rt: ResourceType, old: dict[str, Any], new: dict[str, Any]
) -> Causes:
    """Immutable fields: these below, then validation_update.py's."""
    return _kind_update(rt, old, new) + validation_update.update_causes(rt.kind, old, new)


def _kind_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> Causes:
    """Job selector and template, DaemonSet selector, ControllerRevision data,
    GatewayClass controllerName, ConfigMap and Secret data when immutable."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if rt.kind == "ConfigMap":
        return validation_core.immutable_data_causes(old, new, ("data", "binaryData"))
    if rt.kind == "Secret":
        return validation_core.secret_update_causes(old, new)
    if rt.kind == "Job":
        return immutable(
            "spec.selector", old_spec.get("selector"), new_spec.get("selector")
        ) + immutable(
            "spec.template", old_spec.get("template"), new_spec.get("template")
        )
    if rt.kind == "DaemonSet":
        return immutable(
            "spec.selector", old_spec.get("selector"), new_spec.get("selector")
        )
    if rt.kind == "ControllerRevision":
        return immutable("data", old.get("data"), new.get("data"))
    if rt.kind == "GatewayClass":
        return immutable(
            "spec.controllerName",
            old_spec.get("controllerName"),
            new_spec.get("controllerName"),
        )
    return []


def path_segment_name(name: str, field: str) -> Causes:
    """`path.IsValidPathSegmentName`: the names of RBAC objects (`system:basic-user`)."""
    if name in (".", ".."):
        return [invalid_value(field, name, f"may not be '{name}'")]
    return [
        invalid_value(field, name, f"may not contain '{bad}'")
        for bad in ("/", "%")
        if bad in name
    ]
