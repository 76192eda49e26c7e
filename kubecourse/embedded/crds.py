"""CustomResourceDefinitions (`apiextensions.k8s.io/v1`): the Gateway API kinds the
server serves, listed as a cluster with the Gateway API CRDs installed lists them.

The server serves GatewayClass, Gateway and HTTPRoute (`gateway.networking.k8s.io/v1`)
as a cluster with the standard-channel CRDs installed does, so those three CRDs exist
from the start: `kubectl get crd` lists them, `kubectl get crd
httproutes.gateway.networking.k8s.io -o yaml` shows the names, scope, printer columns
and the structural schema the server validates with (schemas.py), the standard-channel
annotations (`gateway.networking.k8s.io/bundle-version`, `.../channel: standard`) and
the status a real apiextensions server writes (NamesAccepted, Established,
`acceptedNames`, `storedVersions`).  kubectl's fallbacks that read CRDs (validation of
an unknown kind, `explain`) find them.

Not supported yet: serving a new custom resource.  Creating any other CRD is refused,
403, saying so and changing nothing; changing or deleting the three installed ones
is refused the same way (their kinds are built into the server).  Labels and
annotations may be changed.  Simplified: only v1 is listed (the standard channel also
serves v1beta1 of these kinds); the schema is the server's minimal one, without the
upstream descriptions and CEL rules.
"""

from __future__ import annotations

import copy
from typing import Any

from kubecourse.embedded import schemas, status
from kubecourse.embedded.resources import GATEWAY, REGISTRY, ResourceType

Obj = dict[str, Any]

STORE_KEY = "customresourcedefinitions.apiextensions.k8s.io"
ANNOTATIONS = {
    "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/4530",
    "gateway.networking.k8s.io/bundle-version": "v1.4.1",
    "gateway.networking.k8s.io/channel": "standard",
}
_AGE = {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
PRINTER_COLUMNS: dict[str, list[Obj]] = {
    "GatewayClass": [
        {"jsonPath": ".spec.controllerName", "name": "Controller", "type": "string"},
        {
            "jsonPath": '.status.conditions[?(@.type=="Accepted")].status',
            "name": "Accepted",
            "type": "string",
        },
        _AGE,
        {
            "jsonPath": ".spec.description",
            "name": "Description",
            "priority": 1,
            "type": "string",
        },
    ],
    "Gateway": [
        {"jsonPath": ".spec.gatewayClassName", "name": "Class", "type": "string"},
        {"jsonPath": ".status.addresses[*].value", "name": "Address", "type": "string"},
        {
            "jsonPath": '.status.conditions[?(@.type=="Programmed")].status',
            "name": "Programmed",
            "type": "string",
        },
        _AGE,
    ],
    "HTTPRoute": [
        {"jsonPath": ".spec.hostnames", "name": "Hostnames", "type": "string"},
        _AGE,
    ],
}
_FORBIDDEN_NOTE = (
    "the embedded cluster serves the Gateway API kinds built in, so their "
    "CustomResourceDefinitions cannot be changed or deleted"
)
_NOT_SERVED_NOTE = (
    "the embedded cluster does not serve new custom resources yet; only the Gateway "
    "API CustomResourceDefinitions it ships (gatewayclasses, gateways, httproutes) "
    "are installed"
)


def _served_custom() -> list[ResourceType]:
    return [rt for rt in REGISTRY.resources if rt.custom and rt.group == GATEWAY]


def crd_name(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}"


def installed_names() -> set[str]:
    return {crd_name(rt) for rt in _served_custom()}


def _names(rt: ResourceType) -> Obj:
    names: Obj = {"kind": rt.kind, "listKind": rt.list_kind, "plural": rt.plural}
    if rt.short_names:
        names["shortNames"] = list(rt.short_names)
    names["singular"] = rt.singular
    if rt.categories:
        names["categories"] = list(rt.categories)
    return dict(sorted(names.items()))


def _crd_schema(rt: ResourceType) -> Obj:
    """The server's structural schema as a CRD's `openAPIV3Schema`."""
    found = schemas.kind_schema(rt.group, rt.version, rt.kind)
    schema = copy.deepcopy(found or {"type": "object"})
    schema.pop("x-kubernetes-group-version-kind", None)
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


def definition(rt: ResourceType, now: str) -> Obj:
    """The CRD a Gateway API kind would have been installed with."""
    names = _names(rt)
    version: Obj = {
        "additionalPrinterColumns": PRINTER_COLUMNS.get(rt.kind, [_AGE]),
        "name": rt.version,
        "schema": {"openAPIV3Schema": _crd_schema(rt)},
        "served": True,
        "storage": True,
    }
    if rt.has_status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name(rt), "annotations": dict(ANNOTATIONS)},
        "spec": {
            "group": rt.group,
            "names": names,
            "scope": "Namespaced" if rt.namespaced else "Cluster",
            "versions": [version],
            "conversion": {"strategy": "None"},
        },
        "status": _established(names, now, rt.version),
    }


def _established(names: Obj, now: str, version: str) -> Obj:
    return {
        "acceptedNames": copy.deepcopy(names),
        "conditions": [
            {
                "lastTransitionTime": now,
                "message": "no conflicts found",
                "reason": "NoConflicts",
                "status": "True",
                "type": "NamesAccepted",
            },
            {
                "lastTransitionTime": now,
                "message": "the initial names have been accepted",
                "reason": "InitialNamesAccepted",
                "status": "True",
                "type": "Established",
            },
        ],
        "storedVersions": [version],
    }


def ensure(create: Any, exists: Any, now: str) -> None:
    """At start: the installed CRDs, when missing (`create(body)`, `exists(name)`)."""
    for rt in _served_custom():
        if not exists(crd_name(rt)):
            create(definition(rt, now))


def default_crd(obj: Obj) -> None:
    """`SetDefaults_CustomResourceDefinitionSpec`: the conversion strategy."""
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})


def _forbidden(name: str, note: str) -> status.StatusError:
    return status.forbidden(
        f'customresourcedefinitions.apiextensions.k8s.io "{name}" is forbidden: {note}',
        {
            "name": name,
            "group": "apiextensions.k8s.io",
            "kind": "customresourcedefinitions",
        },
    )


def check_create(obj: Obj) -> None:
    """A new CRD: only the installed names exist (a repeat is AlreadyExists)."""
    name = str(obj["metadata"].get("name") or "")
    if name not in installed_names():
        raise _forbidden(name, _NOT_SERVED_NOTE)


def check_update(old: Obj, new: Obj) -> None:
    """An installed CRD keeps its spec and status; metadata may change."""
    if old.get("spec") != new.get("spec") or old.get("status") != new.get("status"):
        raise _forbidden(old["metadata"]["name"], _FORBIDDEN_NOTE)


def check_delete(name: str) -> None:
    if name in installed_names():
        raise _forbidden(name, _FORBIDDEN_NOTE)
