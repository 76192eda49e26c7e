"""Server-side apply end to end: kubectl and the Python client see field ownership."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment

pytestmark = pytest.mark.kubectl

APPLY = "application/apply-patch+yaml"


def manifest(name: str, replicas: int | None = 2, **labels: str) -> str:
    obj = json.loads(json.dumps(deployment(name)))  # unshare the label maps
    obj["metadata"]["labels"].update(labels)
    if replicas is None:
        del obj["spec"]["replicas"]
    else:
        obj["spec"]["replicas"] = replicas
    return yaml.safe_dump(obj)


def get_yaml(kubectl: Any, name: str) -> dict[str, Any]:
    out = kubectl("get", "deploy", name, "-o", "yaml", "--show-managed-fields").stdout
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def entries(obj: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [
        (e["manager"], e["operation"], e.get("subresource"))
        for e in obj["metadata"].get("managedFields") or []
    ]


CONTROLLER_STATUS = ("kube-controller-manager", "Update", "status")  # the controller's


def applied(obj: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The entries but the deployment controller's status writes, present as upstream."""
    return [e for e in entries(obj) if e != CONTROLLER_STATUS]


def ssa(kubectl: Any, text: str, *flags: str, check: bool = True) -> Any:
    return kubectl("apply", "--server-side", *flags, "-f", "-", input=text, check=check)


def test_kubectl_server_side_apply_creates_then_updates_and_records_the_applier(
    kubectl: Any,
) -> None:
    first = ssa(kubectl, manifest("ssa-create"))
    assert "deployment.apps/ssa-create serverside-applied" in first.stdout
    second = ssa(kubectl, manifest("ssa-create", replicas=3))
    assert "deployment.apps/ssa-create serverside-applied" in second.stdout
    obj = get_yaml(kubectl, "ssa-create")
    assert obj["spec"]["replicas"] == 3
    assert applied(obj) == [("kubectl", "Apply", None)]
    fields = obj["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    assert (
        'k:{"name":"app"}' in fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    )


def test_managed_fields_are_hidden_unless_asked_for(kubectl: Any) -> None:
    ssa(kubectl, manifest("ssa-hidden"))
    plain = yaml.safe_load(kubectl("get", "deploy", "ssa-hidden", "-o", "yaml").stdout)
    assert "managedFields" not in plain["metadata"]
    assert get_yaml(kubectl, "ssa-hidden")["metadata"]["managedFields"]


def test_a_field_removed_from_the_manifest_is_removed_from_the_object(
    kubectl: Any,
) -> None:
    ssa(kubectl, manifest("ssa-prune", tier="web"))
    assert get_yaml(kubectl, "ssa-prune")["metadata"]["labels"]["tier"] == "web"
    ssa(kubectl, manifest("ssa-prune"))
    labels = get_yaml(kubectl, "ssa-prune")["metadata"]["labels"]
    assert labels == {"app": "ssa-prune"}


def test_kubectl_scale_takes_replicas_and_a_later_apply_conflicts_until_forced(
    kubectl: Any,
) -> None:
    ssa(kubectl, manifest("ssa-scale", replicas=2))
    kubectl("scale", "deploy/ssa-scale", "--replicas=4")
    scaled = get_yaml(kubectl, "ssa-scale")
    assert ("kubectl", "Update", "scale") in entries(scaled)  # manager from User-Agent
    blocked = ssa(kubectl, manifest("ssa-scale", replicas=2), check=False)
    assert blocked.returncode != 0
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource '
        '"scale" using apps/v1: .spec.replicas'
    ) in blocked.stderr
    assert get_yaml(kubectl, "ssa-scale")["spec"]["replicas"] == 4
    ssa(kubectl, manifest("ssa-scale", replicas=2), "--force-conflicts")
    forced = get_yaml(kubectl, "ssa-scale")
    assert forced["spec"]["replicas"] == 2
    assert applied(forced) == [("kubectl", "Apply", None)]


def test_after_client_side_apply_a_changed_field_conflicts_with_its_manager(
    kubectl: Any,
) -> None:
    kubectl("apply", "-f", "-", input=manifest("ssa-csa", replicas=2))
    csa = get_yaml(kubectl, "ssa-csa")
    assert ("kubectl-client-side-apply", "Update", None) in entries(csa)
    blocked = ssa(kubectl, manifest("ssa-csa", replicas=3), check=False)
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
        "using apps/v1: .spec.replicas"
    ) in blocked.stderr


def test_server_side_apply_of_the_same_manifest_migrates_client_side_ownership(
    kubectl: Any,
) -> None:
    kubectl("apply", "-f", "-", input=manifest("ssa-migrate", replicas=2))
    ssa(kubectl, manifest("ssa-migrate", replicas=2))
    migrated = get_yaml(kubectl, "ssa-migrate")
    assert ("kubectl-client-side-apply", "Update", None) not in entries(migrated)
    ssa(kubectl, manifest("ssa-migrate", replicas=3))
    assert get_yaml(kubectl, "ssa-migrate")["spec"]["replicas"] == 3


def test_the_same_value_from_another_manager_is_shared_and_survives_a_drop(
    kubectl: Any, apps: k8s.AppsV1Api
) -> None:
    ssa(kubectl, manifest("ssa-share", replicas=3))
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa-share"},
        "spec": {"replicas": 3},
    }
    apps.patch_namespaced_deployment(
        "ssa-share", "default", body, field_manager="autoscaler", _content_type=APPLY
    )
    ssa(kubectl, manifest("ssa-share", replicas=None))
    obj = get_yaml(kubectl, "ssa-share")
    assert obj["spec"]["replicas"] == 3
    assert ("autoscaler", "Apply", None) in entries(obj)


def test_python_client_apply_creates_with_201_and_conflicts_with_causes(
    apps: k8s.AppsV1Api,
) -> None:
    body = deployment("ssa-py", replicas=1)
    _, created, _ = apps.patch_namespaced_deployment_with_http_info(
        "ssa-py", "default", body, field_manager="py-a", _content_type=APPLY
    )
    assert created == 201
    _, again, _ = apps.patch_namespaced_deployment_with_http_info(
        "ssa-py", "default", body, field_manager="py-a", _content_type=APPLY
    )
    assert again == 200
    other = deployment("ssa-py", replicas=5)
    with pytest.raises(ApiException) as raised:
        apps.patch_namespaced_deployment(
            "ssa-py", "default", other, field_manager="py-b", _content_type=APPLY
        )
    assert raised.value.status == 409
    status = json.loads(raised.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "py-a": .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "py-a"',
            "field": ".spec.replicas",
        }
    ]


def test_python_client_forced_apply_takes_ownership(apps: k8s.AppsV1Api) -> None:
    apps.patch_namespaced_deployment(
        "ssa-force",
        "default",
        deployment("ssa-force", replicas=1),
        field_manager="py-a",
        _content_type=APPLY,
    )
    result = apps.patch_namespaced_deployment(
        "ssa-force",
        "default",
        deployment("ssa-force", replicas=3),
        field_manager="py-b",
        force=True,
        _content_type=APPLY,
    )
    assert result.spec.replicas == 3
    owners = {e.manager: e for e in result.metadata.managed_fields}
    assert set(owners) - {"kube-controller-manager"} == {"py-a", "py-b"}
    assert "f:replicas" in owners["py-b"].fields_v1["f:spec"]
    assert "f:replicas" not in owners["py-a"].fields_v1["f:spec"]


def test_a_python_client_update_is_recorded_with_its_field_manager(
    apps: k8s.AppsV1Api,
) -> None:
    apps.create_namespaced_deployment(
        "default", deployment("ssa-upd"), field_manager="creator"
    )
    patch = {"spec": {"replicas": 4}}
    result = apps.patch_namespaced_deployment(
        "ssa-upd", "default", patch, field_manager="editor"
    )
    owners = {e.manager: e for e in result.metadata.managed_fields}
    assert owners["editor"].operation == "Update"
    assert owners["editor"].fields_v1 == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in owners["creator"].fields_v1["f:spec"]


def test_apply_without_a_field_manager_is_invalid_patch_options(apps: k8s.AppsV1Api) -> None:
    with pytest.raises(ApiException) as raised:
        apps.patch_namespaced_deployment(
            "ssa-none", "default", deployment("ssa-none"), _content_type=APPLY
        )
    assert raised.value.status == 422
    assert json.loads(raised.value.body)["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply patch"
    )


def test_kubectl_server_side_apply_of_an_undeclared_field_is_refused_and_stores_nothing(
    kubectl: Any,
) -> None:
    text = yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ssa-typo"},
            "spec": {"replicaz": 1},
        }
    )
    done = ssa(kubectl, text, check=False)
    assert done.returncode != 0
    assert (
        "failed to create typed patch object (default/ssa-typo; apps/v1, Kind=Deployment): "
        ".spec.replicaz: field not declared in schema" in done.stderr
    )
    gone = kubectl("get", "deploy", "ssa-typo", check=False)
    assert "NotFound" in gone.stderr
