"""resourceVersion and UID semantics through the official client: consistent paged
lists, Exact lists, future resourceVersions, UID preconditions, the final write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment

NS = "default"


def _status(err: ApiException) -> Any:
    return json.loads(err.body)


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


# -- UID preconditions ---------------------------------------------------------------


def test_a_stale_uid_in_a_replace_is_a_conflict(core: k8s.CoreV1Api) -> None:
    kept = core.create_namespaced_config_map(NS, _cm("uidtest", a="1"))
    core.delete_namespaced_config_map("uidtest", NS)
    fresh = core.create_namespaced_config_map(NS, _cm("uidtest", a="2"))
    kept.metadata.resource_version = None
    kept.data = {"a": "stale"}

    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("uidtest", NS, kept)

    assert err.value.status == 409
    body = _status(err.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "uidtest": Precondition failed: '
        f"UID in precondition: {kept.metadata.uid}, UID in object meta: {fresh.metadata.uid}"
    )
    assert body["details"] == {"name": "uidtest", "kind": "configmaps"}
    assert core.read_namespaced_config_map("uidtest", NS).data == {"a": "2"}


def test_a_replace_with_the_stored_uid_or_none_goes_through(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(NS, _cm("uidsame", a="1"))
    made.metadata.resource_version = None
    made.data = {"a": "2"}
    assert core.replace_namespaced_config_map("uidsame", NS, made).data == {"a": "2"}
    replaced = core.replace_namespaced_config_map("uidsame", NS, _cm("uidsame", a="3"))
    assert replaced.metadata.uid == made.metadata.uid


def test_a_patch_that_changes_the_uid_is_invalid(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(NS, _cm("uidpatch", a="1"))
    other = "6f1c1a8e-0000-4000-8000-000000000000"

    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("uidpatch", NS, {"metadata": {"uid": other}})

    assert err.value.status == 422
    assert _status(err.value)["message"] == (
        f'ConfigMap "uidpatch" is invalid: metadata.uid: Invalid value: "{other}": '
        "field is immutable"
    )
    assert core.read_namespaced_config_map("uidpatch", NS).metadata.uid == made.metadata.uid


def test_a_server_side_apply_that_changes_the_uid_is_invalid(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, _cm("uidapply", a="1"))
    other = "6f1c1a8e-0000-4000-8000-000000000001"
    intent = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "uidapply", "uid": other}}

    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            "uidapply", NS, intent, field_manager="test", _content_type="application/apply-patch+yaml"
        )

    assert err.value.status == 422
    assert "metadata.uid: Invalid value" in _status(err.value)["message"]


def test_a_stale_uid_in_a_status_replace_is_a_conflict(apps: k8s.AppsV1Api) -> None:
    kept = apps.create_namespaced_deployment(NS, deployment("uidstatus", replicas=0))
    apps.delete_namespaced_deployment("uidstatus", NS)
    fresh = apps.create_namespaced_deployment(NS, deployment("uidstatus", replicas=0))
    kept.metadata.resource_version = None

    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment_status("uidstatus", NS, kept)

    assert err.value.status == 409
    assert _status(err.value)["message"] == (
        'Operation cannot be fulfilled on deployments.apps "uidstatus": Precondition failed: '
        f"UID in precondition: {kept.metadata.uid}, UID in object meta: {fresh.metadata.uid}"
    )


def test_a_stale_uid_in_a_scale_is_a_conflict(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("uidscale", replicas=0))
    made = apps.read_namespaced_deployment("uidscale", NS)
    other = "6f1c1a8e-0000-4000-8000-000000000002"
    scale = {"metadata": {"name": "uidscale", "uid": other}, "spec": {"replicas": 1}}

    with pytest.raises(ApiException) as put:
        apps.replace_namespaced_deployment_scale("uidscale", NS, scale)
    with pytest.raises(ApiException) as patch:
        apps.patch_namespaced_deployment_scale("uidscale", NS, {"metadata": {"uid": other}})

    tail = f"Precondition failed: UID in precondition: {other}, UID in object meta: {made.metadata.uid}"
    assert put.value.status == patch.value.status == 409
    assert _status(put.value)["message"] == (
        f'Operation cannot be fulfilled on deployments.apps "uidscale": {tail}'
    )
    assert _status(patch.value)["message"] == (
        f'Operation cannot be fulfilled on deployments/scale.apps "uidscale": {tail}'
    )
    assert apps.read_namespaced_deployment("uidscale", NS).spec.replicas == 0
