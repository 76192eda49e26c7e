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


def test_a_pod_naming_a_missing_service_account_is_forbidden(core: k8s.CoreV1Api) -> None:
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
        return [e.message for e in events if e.involved_object.name.startswith("ghostly-")]

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
