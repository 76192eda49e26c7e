"""fieldValidation and dryRun as kube-apiserver applies them."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import deployment


def test_kubectl_apply_rejects_an_unknown_field_strictly(kubectl) -> None:
    bad = deployment("typo")
    bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = "oops"
    done = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert done.returncode != 0
    assert 'unknown field "spec.template.spec.containers[0].imagee"' in done.stderr
    assert "typo" not in kubectl("get", "deployments").stdout


def _post(cluster: EmbeddedCluster, path: str, body: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        cluster.url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return response.status, dict(response.headers), json.loads(response.read())


def test_unknown_fields_warn_by_default_and_are_dropped(cluster: EmbeddedCluster) -> None:
    code, headers, obj = _post(cluster, "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "warned"}, "dta": {"a": "1"}})
    assert code == 201
    assert headers["Warning"] == '299 - "unknown field \\"dta\\""'
    assert "dta" not in obj


def test_ignore_drops_unknown_fields_silently(cluster: EmbeddedCluster) -> None:
    path = "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore"
    code, headers, obj = _post(cluster, path, {"metadata": {"name": "ignored"}, "dta": {"a": "1"}})
    assert code == 201 and "Warning" not in headers and "dta" not in obj


def test_a_bad_field_validation_value_is_invalid_create_options(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "v"}}, field_validation="Loose")
    assert err.value.status == 422
    assert json.loads(err.value.body)["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_server_dry_run_validates_and_persists_nothing(kubectl, core: k8s.CoreV1Api) -> None:
    done = kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(deployment("dry")))
    assert "deployment.apps/dry created (server dry run)" in done.stdout
    assert "dry" not in kubectl("get", "deployments").stdout
    with pytest.raises(ApiException):
        core.create_namespaced_config_map("default", {"metadata": {"name": "Bad"}}, dry_run="All")
