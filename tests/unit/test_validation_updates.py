"""What an update may not change (validation_update.py) and the PVC resize admission
(storage.py), through `Api` so the whole update path runs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded import status
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from tests.unit.refusals import causes_of

PVC = REGISTRY.get("persistentvolumeclaims")
PV = REGISTRY.get("persistentvolumes")
STS = REGISTRY.get("statefulsets.apps")
SC = REGISTRY.get("storageclasses.storage.k8s.io")
INGRESS_CLASS = REGISTRY.get("ingressclasses.networking.k8s.io")
JOB = REGISTRY.get("jobs.batch")
NODE = REGISTRY.get("nodes")
SLICE = REGISTRY.get("endpointslices.discovery.k8s.io")


def edited(api: ConvertingApi, rt: Any, name: str, ns: str | None = "default") -> Any:
    return copy.deepcopy(api.get(rt, ns, name))


def claim(
    name: str = "data", size: str = "1Gi", cls: str = "standard"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": cls,
            "resources": {"requests": {"storage": size}},
        },
    }


def bind(api: ConvertingApi, name: str, capacity: str = "1Gi") -> None:
    bound = edited(api, PVC, name)
    bound["spec"]["volumeName"] = "pv-" + name
    api.update(PVC, "default", name, bound)
    bound = edited(api, PVC, name)
    bound["status"] = {"phase": "Bound", "capacity": {"storage": capacity}}
    api.update(PVC, "default", name, bound, subresource="status")


def test_a_claims_access_modes_are_immutable(api: ConvertingApi) -> None:
    api.create(PVC, "default", claim())
    changed = edited(api, PVC, "data")
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    [(reason, field, message)] = causes_of(
        lambda: api.update(PVC, "default", "data", changed)
    )
    assert (reason, field) == ("FieldValueForbidden", "spec")
    assert message.startswith(
        "Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n  core.PersistentVolumeClaimSpec{\n"
        '- \tAccessModes: ["ReadWriteOnce"],\n+ \tAccessModes: ["ReadWriteMany"],\n'
    )


def test_a_pending_claims_storage_request_is_immutable(api: ConvertingApi) -> None:
    api.create(PVC, "default", claim())
    changed = edited(api, PVC, "data")
    changed["spec"]["resources"]["requests"]["storage"] = "2Gi"
    [(_, field, _)] = causes_of(lambda: api.update(PVC, "default", "data", changed))
    assert field == "spec"


def test_the_binder_may_set_a_claims_volume_name_once(api: ConvertingApi) -> None:
    api.create(PVC, "default", claim())
    bind(api, "data")
    changed = edited(api, PVC, "data")
    changed["spec"]["volumeName"] = "another"
    [(_, field, _)] = causes_of(lambda: api.update(PVC, "default", "data", changed))
    assert field == "spec"


def test_growing_a_bound_claim_needs_a_class_that_allows_expansion(
    api: ConvertingApi,
) -> None:
    api.create(SC, None, {"metadata": {"name": "standard"}, "provisioner": "x.io/p"})
    api.create(PVC, "default", claim())
    bind(api, "data")
    grown = edited(api, PVC, "data")
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    with pytest.raises(status.StatusError) as raised:
        api.update(PVC, "default", "data", grown)
    assert (raised.value.code, raised.value.message) == (
        403,
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc '
        "can be resized and the storageclass that provisions the pvc must support resize",
    )

    expandable = edited(api, SC, "standard", None)
    expandable["allowVolumeExpansion"] = True
    api.update(SC, None, "standard", expandable)
    resized = api.update(PVC, "default", "data", grown)
    assert resized["spec"]["resources"]["requests"]["storage"] == "2Gi"


def test_a_bound_claim_cannot_ask_for_less_than_its_capacity(
    api: ConvertingApi,
) -> None:
    api.create(PVC, "default", claim(size="2Gi"))
    bind(api, "data", capacity="2Gi")
    shrunk = edited(api, PVC, "data")
    shrunk["spec"]["resources"]["requests"]["storage"] = "1Gi"
    assert causes_of(lambda: api.update(PVC, "default", "data", shrunk)) == [
        (
            "FieldValueForbidden",
            "spec.resources.requests.storage",
            "Forbidden: field can not be less than status.capacity",
        )
    ]


def statefulset() -> dict[str, Any]:
    labels = {"app": "db"}
    return {
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "postgres"}]},
            },
        },
    }


STS_FORBIDDEN = (
    "FieldValueForbidden",
    "spec",
    "Forbidden: updates to statefulset spec for fields other than 'replicas', "
    "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
)


@pytest.mark.parametrize(
    ("field", "value"),
    [("serviceName", "other"), ("podManagementPolicy", "Parallel"),
     ("selector", {"matchLabels": {"app": "db", "x": "y"}})],
)  # fmt: skip
def test_a_statefulsets_frozen_fields_are_forbidden(
    api: ConvertingApi, field: str, value: Any
) -> None:
    api.create(STS, "default", statefulset())
    changed = edited(api, STS, "db")
    changed["spec"][field] = value
    changed["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    causes = causes_of(lambda: api.update(STS, "default", "db", changed))
    assert causes == [STS_FORBIDDEN]


def test_a_statefulsets_replicas_template_and_strategy_may_change(
    api: ConvertingApi,
) -> None:
    api.create(STS, "default", statefulset())
    changed = edited(api, STS, "db")
    changed["spec"]["replicas"] = 3
    changed["spec"]["minReadySeconds"] = 5
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:17"
    changed["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert api.update(STS, "default", "db", changed)["spec"]["replicas"] == 3


def test_a_persistent_volumes_source_is_immutable(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"},
        },
    }
    api.create(PV, None, body)
    changed = edited(api, PV, "pv1", None)
    changed["spec"]["hostPath"]["path"] = "/elsewhere"
    changed["spec"]["capacity"]["storage"] = "2Gi"  # capacity may change
    [(reason, field, message)] = causes_of(lambda: api.update(PV, None, "pv1", changed))
    assert (reason, field) == ("FieldValueForbidden", "spec.persistentvolumesource")
    assert message.startswith(
        "Forbidden: spec.persistentvolumesource is immutable after creation\n"
    )


def test_an_ingress_class_controller_is_immutable(api: ConvertingApi) -> None:
    body = {"metadata": {"name": "c"}, "spec": {"controller": "example.com/a"}}
    api.create(INGRESS_CLASS, None, body)
    changed = edited(api, INGRESS_CLASS, "c", None)
    changed["spec"]["controller"] = "example.com/b"
    assert causes_of(lambda: api.update(INGRESS_CLASS, None, "c", changed)) == [
        (
            "FieldValueInvalid",
            "spec.controller",
            'Invalid value: "example.com/b": field is immutable',
        )
    ]


def test_a_non_indexed_jobs_completions_are_immutable(api: ConvertingApi) -> None:
    template = {
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox"}],
        }
    }
    api.create(
        JOB, "default", {"metadata": {"name": "j"}, "spec": {"template": template}}
    )
    changed = edited(api, JOB, "j")
    changed["spec"]["completions"] = 3
    assert causes_of(lambda: api.update(JOB, "default", "j", changed)) == [
        (
            "FieldValueInvalid",
            "spec.completions",
            "Invalid value: 3: field is immutable",
        )
    ]


def test_a_nodes_pod_cidrs_are_fixed_once_set(api: ConvertingApi) -> None:
    api.create(NODE, None, {"metadata": {"name": "n1"}, "spec": {}})
    assigned = edited(api, NODE, "n1", None)
    assigned["spec"]["podCIDRs"] = ["10.244.9.0/24"]
    api.update(NODE, None, "n1", assigned)  # from "" to valid
    changed = edited(api, NODE, "n1", None)
    changed["spec"]["podCIDRs"] = ["10.244.8.0/24"]
    assert causes_of(lambda: api.update(NODE, None, "n1", changed)) == [
        (
            "FieldValueForbidden",
            "spec.podCIDRs",
            'Forbidden: node updates may not change podCIDR except from "" to valid',
        )
    ]


def test_an_endpoint_slices_address_type_is_immutable(api: ConvertingApi) -> None:
    body = {"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": []}
    api.create(SLICE, "default", body)
    changed = edited(api, SLICE, "s")
    changed["addressType"] = "IPv6"
    assert causes_of(lambda: api.update(SLICE, "default", "s", changed)) == [
        (
            "FieldValueInvalid",
            "addressType",
            'Invalid value: "IPv6": field is immutable',
        )
    ]
