"""The registry strategies and admission plugins of the kinds served beyond the
checklist, in kube-apiserver's order, behind a few hooks that `Api` calls.

| hook (Api) | what runs |
|---|---|
| `default_create` / `default_update` (after the kind's defaulter) | ReplicationController, PodTemplate, ResourceQuota, LimitRange, PriorityClass, CRD, RBAC defaulting |
| `mutate_create` (mutating admission) | LimitRanger defaults, then Priority, on Pods |
| `kind_causes` / `kind_update_causes` (validation) | the new kinds' validation (422), RBAC's (`roleRef` immutable) |
| `validate_create` / `validate_update` (validating admission) | PersistentVolumeClaimResize (storage.py), LimitRanger limits, PriorityClass single default, CRD refusal, ClusterIP already held, RBAC escalation prevention (the rbac registry's), then ResourceQuota |
| `check_delete` | system PriorityClasses and the installed CRDs are not deletable |
| `after_create` / `after_update` / `after_remove` | a Service's IPAddresses recorded and released (on update when its ClusterIPs change: to or from ExternalName) |
| `computed_get` / `computed_list` | ComponentStatus, answered on each read |
| `ensure_builtin_objects` (at start) | system PriorityClasses, the `kubernetes` ServiceCIDR and its repair pass, the Gateway API CRDs, the RBAC bootstrap policy and kubeadm's bindings |

The modules behind them say what is faithful and what is simplified: priority.py,
quota.py, limitranger.py, ipaddresses.py, crds.py, componentstatus.py, and
rbac/validation.py, rbac/escalation.py, rbac/reconcile.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubecourse.embedded import (
    componentstatus,
    crds,
    defaults,
    ipaddresses,
    limitranger,
    priority,
    quota,
    services,
    storage,
    validation,
)
from kubecourse.embedded.rbac import escalation as rbac_escalation
from kubecourse.embedded.rbac import reconcile as rbac_reconcile
from kubecourse.embedded.rbac import validation as rbac_validation
from kubecourse.embedded.resources import REGISTRY, ResourceType
from kubecourse.embedded.store import Store

if TYPE_CHECKING:
    from kubecourse.embedded.api import Api

Obj = dict[str, Any]
Causes = list[dict[str, str]]


# ---------------------------------------------------------------- defaulting


def _default_replication_controller(obj: Obj) -> None:
    """`SetDefaults_ReplicationController`: selector and labels from the template's
    labels when empty, one replica."""
    spec = obj.setdefault("spec", {})
    template = spec.get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels")
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    if isinstance(template, dict):
        defaults.default_template(template)


def _default_pod_template(obj: Obj) -> None:
    template = obj.setdefault("template", {})
    if isinstance(template, dict):
        defaults.default_template(template)


DEFAULTERS = {
    "ReplicationController": _default_replication_controller,
    "PodTemplate": _default_pod_template,
    "ResourceQuota": quota.default_quota,
    "LimitRange": limitranger.default_limit_range,
    "PriorityClass": priority.default_priority_class,
    "CustomResourceDefinition": crds.default_crd,
}


def default_create(rt: ResourceType, obj: Obj) -> None:
    if _is_rbac(rt):
        rbac_validation.default(rt.kind, obj)
        return
    defaulter = DEFAULTERS.get(rt.kind)
    if defaulter is not None:
        defaulter(obj)


def _is_rbac(rt: ResourceType) -> bool:
    return rt.group == "rbac.authorization.k8s.io"


def default_update(rt: ResourceType, obj: Obj) -> None:
    default_create(rt, obj)


# ---------------------------------------------------------------- admission


def shown_name(meta: Obj) -> str:
    """Mutating admission runs before name generation upstream: a generated name is
    still its `generateName` there."""
    name, prefix = str(meta.get("name") or ""), str(meta.get("generateName") or "")
    if prefix and name.startswith(prefix) and len(name) == len(prefix) + 5:
        return prefix
    return name


def mutate_create(store: Store, rt: ResourceType, obj: Obj) -> None:
    if rt.kind != "Pod":
        return
    limitranger.apply_defaults(store, obj)
    priority.admit_pod(store, obj, shown_name(obj["metadata"]))
    obj.setdefault("status", {})["qosClass"] = defaults.qos_class(obj.get("spec") or {})


def validate_create(store: Store, rt: ResourceType, obj: Obj) -> None:
    if rt.kind == "Pod":
        limitranger.check_pod(store, obj)
    elif rt.kind == "PersistentVolumeClaim":
        limitranger.check_claim(store, obj)
    elif rt.kind == "PriorityClass":
        priority.check_single_default(store, obj, creating=True)
    elif rt.kind == "CustomResourceDefinition":
        crds.check_create(obj)
    elif rt.kind == "Service":
        ipaddresses.check_available(store, obj)
    elif _is_rbac(rt):
        rbac_escalation.check(store, rt.kind, obj)
    if rt.namespaced:
        quota.admit_create(store, rt, obj)


def validate_update(store: Store, rt: ResourceType, old: Obj, new: Obj) -> None:
    if rt.kind == "PersistentVolumeClaim":
        storage.check_claim_resize(store, old, new)
    elif _is_rbac(rt):
        rbac_escalation.check(store, rt.kind, new, old)
    elif rt.kind == "PriorityClass":
        priority.check_single_default(store, new, creating=False)
    elif (
        rt.kind == "CustomResourceDefinition"
        and old["metadata"]["name"] in crds.installed_names()
    ):
        crds.check_update(old, new)


def check_delete(rt: ResourceType, obj: Obj) -> None:
    if rt.kind == "PriorityClass":
        priority.check_delete(obj["metadata"]["name"])
    elif rt.kind == "CustomResourceDefinition":
        crds.check_delete(obj["metadata"]["name"])


def after_create(api: Api, rt: ResourceType, obj: Obj) -> None:
    if rt.kind == "Service":
        ipaddresses.record(api, obj)


def after_update(api: Api, rt: ResourceType, old: Obj, new: Obj) -> None:
    if rt.kind == "Service" and services.cluster_ips_changed(old, new):
        ipaddresses.release(api, old)
        ipaddresses.record(api, new)


def after_remove(api: Api, rt: ResourceType, obj: Obj) -> None:
    if rt.kind == "Service":
        ipaddresses.release(api, obj)


# ---------------------------------------------------------------- validation


def _replication_controller_causes(obj: Obj) -> Causes:
    """`ValidateReplicationControllerSpec`."""
    spec = obj.get("spec") or {}
    causes = validation.validate_replicas(spec)
    if not spec.get("selector"):
        causes.append(validation.required("spec.selector"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return causes + [validation.required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    selector = spec.get("selector") or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            validation.invalid_value(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        )
    causes += validation.validate_labels(
        labels or None, "spec.template.metadata.labels"
    )
    pod_spec = template.get("spec")
    causes += validation.validate_pod_spec(pod_spec, "spec.template.spec")
    policy = (pod_spec or {}).get("restartPolicy")
    if policy not in (None, "Always"):
        causes.append(
            validation.not_supported(
                "spec.template.spec.restartPolicy", policy, ("Always",)
            )
        )
    if (pod_spec or {}).get("activeDeadlineSeconds") is not None:
        causes.append(
            validation.forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicationController is not Supported",
            )
        )
    return causes


def _pod_template_causes(obj: Obj) -> Causes:
    template = obj.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    causes = validation.validate_labels(labels, "template.metadata.labels")
    return causes + validation.validate_pod_spec(template.get("spec"), "template.spec")


VALIDATORS = {
    "ReplicationController": _replication_controller_causes,
    "PodTemplate": _pod_template_causes,
    "ResourceQuota": quota.quota_causes,
    "LimitRange": limitranger.limit_range_causes,
    "PriorityClass": priority.class_causes,
    "IPAddress": ipaddresses.ip_address_causes,
    "ServiceCIDR": ipaddresses.service_cidr_causes,
}


def kind_causes(rt: ResourceType, obj: Obj) -> Causes:
    if _is_rbac(rt):
        return rbac_validation.causes(rt.kind, obj)
    validator = VALIDATORS.get(rt.kind)
    return validator(obj) if validator is not None else []


def kind_update_causes(rt: ResourceType, old: Obj, new: Obj) -> Causes:
    if _is_rbac(rt):
        return rbac_validation.update_causes(rt.kind, old, new)
    if rt.kind == "PriorityClass":
        return priority.class_update_causes(old, new)
    if rt.kind == "IPAddress":
        return ipaddresses.ip_address_update_causes(old, new)
    return []


# ---------------------------------------------------------------- computed kinds


def computed_get(rt: ResourceType, name: str) -> Obj | None:
    """An object answered on each read rather than stored, or None."""
    if rt.kind == "ComponentStatus":
        return componentstatus.find(name)
    return None


def computed_list(rt: ResourceType) -> list[Obj] | None:
    if rt.kind == "ComponentStatus":
        return componentstatus.component_statuses()
    return None


def is_computed(rt: ResourceType) -> bool:
    return rt.group == "" and rt.kind == "ComponentStatus"


# ---------------------------------------------------------------- at start


def ensure_builtin_objects(api: Api, now: str) -> None:
    """What kube-apiserver's post-start hooks create when missing, at every start."""
    classes = REGISTRY.get(priority.STORE_KEY)
    for name in priority.SYSTEM_CLASSES:
        if api.store.get(priority.STORE_KEY, "", name) is None:
            api.create(classes, None, priority.system_class(name))
    ipaddresses.ensure(api, now)
    definitions = REGISTRY.get(crds.STORE_KEY)
    crds.ensure(
        lambda body: api.create(definitions, None, body),
        lambda name: api.store.get(crds.STORE_KEY, "", name) is not None,
        now,
    )
    rbac_reconcile.ensure(api)
