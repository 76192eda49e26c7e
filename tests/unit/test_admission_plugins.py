"""Admission that needs the store (admission.py) and the PersistentVolume defaults,
through `Api` as kube-apiserver runs them on create."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded import defaults, status
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY

POD = REGISTRY.get("pods")
SA = REGISTRY.get("serviceaccounts")
PV = REGISTRY.get("persistentvolumes")
INGRESS = REGISTRY.get("ingresses.networking.k8s.io")
INGRESS_CLASS = REGISTRY.get("ingressclasses.networking.k8s.io")
DEFAULT_CLASS = {"ingressclass.kubernetes.io/is-default-class": "true"}


def pod(name: str = "nosa", **spec: Any) -> dict[str, Any]:
    containers = [{"name": "app", "image": "nginx"}]
    return {"metadata": {"name": name}, "spec": {"containers": containers, **spec}}


def refusal(call: Any) -> status.StatusError:
    with pytest.raises(status.StatusError) as raised:
        call()
    return raised.value


def test_a_pod_naming_a_missing_service_account_is_forbidden(
    api: ConvertingApi,
) -> None:
    err = refusal(lambda: api.create(POD, "default", pod(serviceAccountName="ghost")))
    assert (err.code, err.reason, err.message) == (
        403,
        "Forbidden",
        'pods "nosa" is forbidden: error looking up service account default/ghost: '
        'serviceaccount "ghost" not found',
    )
    assert api.store.get("pods", "default", "nosa") is None


def test_a_generated_pod_name_is_still_its_prefix_in_the_refusal(
    api: ConvertingApi,
) -> None:
    body = pod(serviceAccountName="ghost")
    body["metadata"] = {"generateName": "web-7d4b9-"}
    err = refusal(lambda: api.create(POD, "default", body))
    assert err.message.startswith('pods "web-7d4b9-" is forbidden: ')


def test_a_pod_naming_an_existing_service_account_is_admitted(
    api: ConvertingApi,
) -> None:
    api.create(SA, "default", {"metadata": {"name": "builder"}})
    created = api.create(POD, "default", pod(serviceAccountName="builder"))
    assert created["spec"]["serviceAccountName"] == "builder"


def test_a_pod_in_a_namespace_whose_default_account_is_not_made_yet_is_admitted(
    api: ConvertingApi,
) -> None:
    api.ensure_namespace("brand-new")  # no namespace controller runs here
    assert api.store.get("serviceaccounts", "brand-new", "default") is None
    created = api.create(POD, "brand-new", pod())
    assert created["spec"]["serviceAccountName"] == "default"


def ingress(name: str, **spec: Any) -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    return {
        "metadata": {"name": name},
        "spec": {"rules": [{"http": {"paths": [path]}}], **spec},
    }


def ingress_class(name: str, default: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = dict(DEFAULT_CLASS)
    return {"metadata": meta, "spec": {"controller": "example.com/ingress"}}


def test_an_ingress_without_a_class_gets_the_default_class(api: ConvertingApi) -> None:
    api.create(INGRESS_CLASS, None, ingress_class("plain", default=False))
    api.create(INGRESS_CLASS, None, ingress_class("chosen", default=True))
    created = api.create(INGRESS, "default", ingress("web"))
    assert created["spec"]["ingressClassName"] == "chosen"


def test_an_ingress_naming_a_class_or_the_legacy_annotation_keeps_it(
    api: ConvertingApi,
) -> None:
    api.create(INGRESS_CLASS, None, ingress_class("chosen", default=True))
    named = api.create(INGRESS, "default", ingress("named", ingressClassName="other"))
    legacy = ingress("legacy")
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    kept = api.create(INGRESS, "default", legacy)
    assert named["spec"]["ingressClassName"] == "other"
    assert "ingressClassName" not in kept["spec"]


def test_without_a_default_class_an_ingress_stays_classless(api: ConvertingApi) -> None:
    api.create(INGRESS_CLASS, None, ingress_class("plain", default=False))
    created = api.create(INGRESS, "default", ingress("web"))
    assert "ingressClassName" not in created["spec"]


def test_a_hand_made_persistent_volume_is_defaulted(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"},
        },
    }
    spec = api.create(PV, None, body)["spec"]
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"
    assert spec["volumeMode"] == "Filesystem"
    assert spec["hostPath"] == {"path": "/data", "type": ""}


def test_an_init_container_without_resources_makes_a_limited_pod_burstable() -> None:
    limited = {"resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}
    alone = {"containers": [{"name": "app", **limited}]}
    with_init = {**alone, "initContainers": [{"name": "wait-for-db"}]}

    assert defaults.qos_class(alone) == "Guaranteed"
    assert defaults.qos_class(with_init) == "Burstable"
