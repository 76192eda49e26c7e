"""Services as kube-apiserver's service registry treats them, through kubectl and the
official client: a change of `type` followed through, NodePorts allocated at random
from the upper band, refused when held (Traefik's 30080 included), freed when let go,
and still held after a restart."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from tests.api.conftest import FAST

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
UPPER_BAND = range(30086, 32768)


def spec_of(kubectl: Kubectl, name: str) -> dict[str, Any]:
    found = json.loads(kubectl("get", "service", name, "-o", "json").stdout)
    spec: dict[str, Any] = found["spec"]
    return spec


def node_port_service(name: str, node_port: int | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": 8080}
    if node_port is not None:
        port["nodePort"] = node_port
    return {
        "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [port]},
    }


def ip_addresses(kubectl: Kubectl) -> set[str]:
    listed = kubectl("get", "ipaddresses", "-o", "name").stdout.split()
    return {name.split("/", 1)[1] for name in listed}


def test_kubectl_patch_to_node_port_allocates_one_and_defaults_the_policy(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "service", "clusterip", "np-web", "--tcp=80:8080")
    done = kubectl("patch", "service", "np-web", "-p", '{"spec":{"type":"NodePort"}}')
    assert done.stdout.strip() == "service/np-web patched"

    spec = spec_of(kubectl, "np-web")
    node_port = spec["ports"][0]["nodePort"]
    assert node_port in UPPER_BAND
    assert spec["externalTrafficPolicy"] == "Cluster"
    table = kubectl("get", "service", "np-web").stdout
    assert f"80:{node_port}/TCP" in table


def test_kubectl_patch_back_to_cluster_ip_clears_the_node_port(
    kubectl: Kubectl,
) -> None:
    kubectl(
        "create", "service", "nodeport", "np-back", "--tcp=80:8080", "--node-port=30124"
    )
    done = kubectl("patch", "service", "np-back", "-p", '{"spec":{"type":"ClusterIP"}}')
    assert done.stdout.strip() == "service/np-back patched"

    spec = spec_of(kubectl, "np-back")
    assert "nodePort" not in spec["ports"][0]
    assert "externalTrafficPolicy" not in spec
    again = kubectl(
        "create",
        "service",
        "nodeport",
        "np-again",
        "--tcp=80:8080",
        "--node-port=30124",
    )
    assert again.stdout.strip() == "service/np-again created"


def test_a_patch_may_not_take_the_ingress_controllers_node_port(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "service", "clusterip", "np-thief", "--tcp=80:8080")
    patch = '{"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}}'
    done = kubectl("patch", "service", "np-thief", "-p", patch, check=False)
    assert done.returncode == 1
    assert (
        'The Service "np-thief" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
        "provided port is already allocated"
    ) in done.stderr
    assert spec_of(kubectl, "np-thief")["type"] == "ClusterIP"


def test_the_client_is_refused_a_held_or_out_of_range_node_port(
    core: k8s.CoreV1Api,
) -> None:
    core.create_namespaced_service("default", node_port_service("np-a", 30123))
    with pytest.raises(ApiException) as held:
        core.create_namespaced_service("default", node_port_service("np-b", 30123))
    assert held.value.status == 422
    body = json.loads(held.value.body)
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.ports[0].nodePort",
            "message": "Invalid value: 30123: provided port is already allocated",
        }
    ]

    with pytest.raises(ApiException) as outside:
        core.create_namespaced_service("default", node_port_service("np-c", 80))
    assert json.loads(outside.value.body)["message"] == (
        'Service "np-c" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided '
        "port is not in the valid range. The range of valid ports is 30000-32767"
    )


def test_kubectl_turns_a_service_external_name_and_back(kubectl: Kubectl) -> None:
    kubectl("create", "service", "clusterip", "np-ext", "--tcp=80:8080")
    ip = spec_of(kubectl, "np-ext")["clusterIP"]
    assert ip in ip_addresses(kubectl)

    patch = '{"spec":{"type":"ExternalName","externalName":"example.com"}}'
    kubectl("patch", "service", "np-ext", "-p", patch)
    spec = spec_of(kubectl, "np-ext")
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert field not in spec
    assert ip not in ip_addresses(kubectl)

    back = '{"spec":{"type":"ClusterIP","externalName":null}}'
    kubectl("patch", "service", "np-ext", "--type=merge", "-p", back)
    spec = spec_of(kubectl, "np-ext")
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["clusterIP"] in ip_addresses(kubectl)


def test_a_load_balancer_gets_node_ports_and_stays_pending(
    core: k8s.CoreV1Api, kubectl: Kubectl
) -> None:
    body = node_port_service("np-lb")
    body["spec"]["type"] = "LoadBalancer"
    created = core.create_namespaced_service("default", body)
    assert created.spec.allocate_load_balancer_node_ports is True
    assert created.spec.ports[0].node_port in UPPER_BAND
    assert created.status.load_balancer.ingress is None
    row = kubectl("get", "service", "np-lb", "--no-headers").stdout.split()
    assert row[1:4] == ["LoadBalancer", created.spec.cluster_ip, "<pending>"]


def test_kubectl_apply_of_a_sticky_session_affinity_is_unsupported(
    kubectl: Kubectl,
) -> None:
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "np-sticky"},
            "spec": {"sessionAffinity": "Sticky", "ports": [{"port": 80}]},
        }
    )
    done = kubectl("apply", "-f", "-", input=manifest, check=False)
    assert done.returncode == 1
    assert (
        'The Service "np-sticky" is invalid: spec.sessionAffinity: Unsupported value: '
        '"Sticky": supported values: "ClientIP", "None"'
    ) in done.stderr


def test_node_ports_are_still_held_after_a_restart(tmp_path: Path) -> None:
    options = ClusterOptions(state_dir=tmp_path, timings=FAST)
    with EmbeddedCluster(options) as first, _client(first) as api_client:
        core = k8s.CoreV1Api(api_client)
        core.create_namespaced_service("default", node_port_service("kept", 30200))
    with EmbeddedCluster(options) as second, _client(second) as api_client:
        core = k8s.CoreV1Api(api_client)
        for name, held in (("b", 30200), ("c", 30080)):
            with pytest.raises(ApiException) as refused:
                core.create_namespaced_service("default", node_port_service(name, held))
            message = json.loads(refused.value.body)["message"]
            assert message.endswith(f"{held}: provided port is already allocated")


def _client(cluster: EmbeddedCluster) -> k8s.ApiClient:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + cluster.token}
    config.ssl_ca_cert = str(cluster.ca_file)
    return k8s.ApiClient(config)


def test_applying_the_file_without_its_type_turns_the_service_back_to_cluster_ip(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    plain = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "back"},
        "spec": {"selector": {"app": "back"}, "ports": [{"name": "http", "port": 80}]},
    }
    exposed = {**plain, "spec": {**plain["spec"], "type": "NodePort", "sessionAffinity": "ClientIP"}}
    for manifest in (plain, exposed, plain):
        path = tmp_path / "svc.yaml"
        path.write_text(yaml.safe_dump(manifest))
        kubectl("apply", "-f", str(path))

    spec = json.loads(kubectl("get", "svc", "back", "-o", "json").stdout)["spec"]

    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert "nodePort" not in spec["ports"][0] and "externalTrafficPolicy" not in spec


def test_client_ip_affinity_gets_its_default_timeout(kubectl: Kubectl) -> None:
    kubectl("create", "service", "clusterip", "sticky", "--tcp=80")
    kubectl("patch", "svc", "sticky", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}')

    spec = json.loads(kubectl("get", "svc", "sticky", "-o", "json").stdout)["spec"]

    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
