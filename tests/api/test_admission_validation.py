"""Admission and validation a learner meets, through the official client and kubectl:
the ServiceAccount and DefaultIngressClass plugins, immutable fields, field rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment, eventually


def test_a_pod_naming_a_missing_service_account_is_forbidden(
    core: k8s.CoreV1Api,
) -> None:
    body = {
        "metadata": {"name": "nosa"},
        "spec": {
            "serviceAccountName": "ghost",
            "containers": [{"name": "app", "image": "nginx"}],
        },
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", body)
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'pods "nosa" is forbidden: error looking up service account default/ghost: '
        'serviceaccount "ghost" not found'
    )


def test_a_deployment_naming_a_missing_service_account_reports_failed_create(
    apps: k8s.AppsV1Api, core: k8s.CoreV1Api
) -> None:
    body = deployment("ghostly")
    body["spec"]["template"]["spec"]["serviceAccountName"] = "ghost"
    apps.create_namespaced_deployment("default", body)

    def failed() -> list[str]:
        events = core.list_namespaced_event(
            "default", field_selector="reason=FailedCreate"
        ).items
        return [
            e.message for e in events if e.involved_object.name.startswith("ghostly-")
        ]

    messages = eventually(failed, what="a FailedCreate event")
    assert messages[0].startswith('Error creating: pods "ghostly-')
    assert messages[0].endswith(
        '-" is forbidden: error looking up service account default/ghost: '
        'serviceaccount "ghost" not found'
    )


def test_an_ingress_without_a_class_gets_the_system_traefik_class(kubectl: Any) -> None:
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "classless"},
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": "web", "port": {"number": 80}}
                                },
                            }
                        ]
                    }
                }
            ]
        },
    }
    kubectl("apply", "-f", "-", input=yaml.safe_dump(ingress))
    shown = kubectl("get", "ingress", "classless").stdout
    assert shown.splitlines()[1].split()[:2] == ["classless", "traefik"]


def test_kubectl_server_dry_run_reports_an_ingress_path_that_is_not_absolute(
    kubectl: Any,
) -> None:
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "relative"},
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "foo",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web"}},
                            }
                        ]
                    }
                }
            ]
        },
    }
    done = kubectl(
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        input=yaml.safe_dump(ingress),
        check=False,
    )
    assert done.returncode != 0
    assert (
        'The Ingress "relative" is invalid: \n'
        '* spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path\n'
        "* spec.rules[0].http.paths[0].backend: Required value: port name or number is required"
        in done.stderr
    )


def test_a_claims_access_modes_cannot_change_after_creation(
    core: k8s.CoreV1Api,
) -> None:
    claim = {
        "metadata": {"name": "frozen"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    core.create_namespaced_persistent_volume_claim("default", claim)
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_persistent_volume_claim(
            "frozen", "default", {"spec": {"accessModes": ["ReadWriteMany"]}}
        )
    assert err.value.status == 422
    [cause] = json.loads(err.value.body)["details"]["causes"]
    assert cause["field"] == "spec"
    assert cause["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n"
    )


def test_kubectl_cannot_change_a_statefulsets_service_name(kubectl: Any) -> None:
    kubectl("create", "service", "clusterip", "db", "--clusterip=None")
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 0,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "nginx"}]},
            },
        },
    }
    kubectl("apply", "-f", "-", input=yaml.safe_dump(sts))
    done = kubectl(
        "patch",
        "statefulset",
        "db",
        "-p",
        '{"spec":{"serviceName":"other"}}',
        check=False,
    )
    assert done.returncode != 0
    assert (
        'The StatefulSet "db" is invalid: spec: Forbidden: updates to statefulset spec '
        "for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden" in done.stderr
    )


def test_kubectl_create_ingress_rules_pass_validation_and_get_the_default_class(
    kubectl: Any,
) -> None:
    kubectl(
        "create", "ingress", "generated",
        "--rule=foo.com/bar=svc1:8080", "--rule=*.example.com/*=svc2:http",
    )  # fmt: skip
    created = yaml.safe_load(
        kubectl("get", "ingress", "generated", "-o", "yaml").stdout
    )
    assert created["spec"]["ingressClassName"] == "traefik"
    paths = [r["http"]["paths"][0] for r in created["spec"]["rules"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [
        ("/bar", "Exact"),
        ("/", "Prefix"),
    ]


def test_kubectl_server_dry_run_reports_network_policy_mistakes(kubectl: Any) -> None:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "typo"},
        "spec": {"podSelector": {}, "policyTypes": ["Inbound"]},
    }
    done = kubectl(
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        input=yaml.safe_dump(policy),
        check=False,
    )
    assert done.returncode != 0
    assert (
        'The NetworkPolicy "typo" is invalid: spec.policyTypes[0]: Unsupported value: '
        '"Inbound": supported values: "Ingress", "Egress"' in done.stderr
    )
