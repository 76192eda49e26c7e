"""kubectl's typed `create` generators end to end: kubectl >= 1.32 sends their bodies
as protobuf (application/vnd.kubernetes.protobuf), which the server must decode; 1.31
sends JSON.  Every test runs with kubectl 1.37, 1.32 (the first protobuf sender) and
1.31, each against a cluster of its own; a version not installed is skipped, saying why.

Only kinds the embedded cluster serves are exercised here (`create quota` and
`create priorityclass` included); the decoding of Job,
CronJob, PodDisruptionBudget, HorizontalPodAutoscaler, TokenRequest and
SelfSubjectAccessReview bodies is covered by tests/unit/test_protobuf.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from tests.api.conftest import FAST

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module", params=["kubectl", "kubectl_132", "kubectl_131"])
def which(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def cluster(which: str) -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=FAST)) as running:
        yield running


@pytest.fixture(scope="module")
def run(request: pytest.FixtureRequest, which: str) -> Kubectl:
    chosen: Kubectl = request.getfixturevalue(which)
    return chosen


def get(run: Kubectl, *args: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(run("get", *args, "-o", "json").stdout)
    return found


def test_create_namespace(run: Kubectl) -> None:
    done = run("create", "namespace", "pb-team")
    assert "namespace/pb-team created" in done.stdout
    ns = get(run, "namespace", "pb-team")
    assert ns["metadata"]["name"] == "pb-team"
    assert "creationTimestamp" in ns["metadata"]


def test_create_deployment(run: Kubectl) -> None:
    run(
        "create", "deployment", "pb-web", "--image=nginx:1.27", "--replicas=2",
        "--port=80",
    )  # fmt: skip
    deploy = get(run, "deployment", "pb-web")
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "pb-web"}}
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["ports"][0]["containerPort"] == 80
    assert container["imagePullPolicy"] == "IfNotPresent"  # defaulted by the server


def test_create_deployment_with_zero_replicas(run: Kubectl) -> None:
    run("create", "deployment", "pb-idle", "--image=nginx:1.27", "--replicas=0")
    assert get(run, "deployment", "pb-idle")["spec"]["replicas"] == 0


def test_create_deployment_with_command(run: Kubectl) -> None:
    run("create", "deployment", "pb-sleep", "--image=busybox:1.36", "--", "sleep", "1d")
    spec = get(run, "deployment", "pb-sleep")["spec"]["template"]["spec"]
    assert spec["containers"][0]["command"] == ["sleep", "1d"]


@pytest.mark.parametrize(
    ("kind", "extra", "expected_type"),
    [
        ("clusterip", ["--tcp=80:8080"], "ClusterIP"),
        ("nodeport", ["--tcp=80:8080", "--node-port=30081"], "NodePort"),
        ("loadbalancer", ["--tcp=443:8443"], "LoadBalancer"),
    ],
)
def test_create_service(
    run: Kubectl, kind: str, extra: list[str], expected_type: str
) -> None:
    name = f"pb-svc-{kind}"
    run("create", "service", kind, name, *extra)
    svc = get(run, "service", name)
    assert svc["spec"]["type"] == expected_type
    port = svc["spec"]["ports"][0]
    assert port["protocol"] == "TCP"
    assert isinstance(port["targetPort"], int)
    if kind == "nodeport":
        assert port["nodePort"] == 30081


def test_create_headless_and_externalname_services(run: Kubectl) -> None:
    run("create", "service", "clusterip", "pb-headless", "--clusterip=None")
    assert get(run, "service", "pb-headless")["spec"]["clusterIP"] == "None"
    run("create", "service", "externalname", "pb-ext", "--external-name=example.com")
    ext = get(run, "service", "pb-ext")["spec"]
    assert (ext["type"], ext["externalName"]) == ("ExternalName", "example.com")


def test_create_configmap(run: Kubectl) -> None:
    run(
        "create", "configmap", "pb-cfg", "--from-literal=a=1",
        "--from-literal=b=two words",
    )  # fmt: skip
    assert get(run, "configmap", "pb-cfg")["data"] == {"a": "1", "b": "two words"}


def test_create_secret_generic(run: Kubectl) -> None:
    run("create", "secret", "generic", "pb-sec", "--from-literal=user=admin")
    secret = get(run, "secret", "pb-sec")
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["user"]) == b"admin"


def test_create_secret_docker_registry(run: Kubectl) -> None:
    run(
        "create", "secret", "docker-registry", "pb-reg", "--docker-server=r.example",
        "--docker-username=u", "--docker-password=p",
    )  # fmt: skip
    secret = get(run, "secret", "pb-reg")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"]["r.example"]["username"] == "u"


def test_create_serviceaccount(run: Kubectl) -> None:
    done = run("create", "serviceaccount", "pb-robot")
    assert "serviceaccount/pb-robot created" in done.stdout
    assert get(run, "serviceaccount", "pb-robot")["metadata"]["name"] == "pb-robot"


def test_create_ingress(run: Kubectl) -> None:
    run(
        "create", "ingress", "pb-ing", "--class=nginx",
        "--rule=foo.com/bar*=svc1:8080,tls=my-cert", "--rule=/path=svc2:http",
    )  # fmt: skip
    spec = get(run, "ingress", "pb-ing")["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["foo.com"], "secretName": "my-cert"}]
    first, second = (rule["http"]["paths"][0] for rule in spec["rules"])
    assert first["pathType"] == "Prefix"
    assert first["backend"]["service"] == {"name": "svc1", "port": {"number": 8080}}
    assert second["backend"]["service"]["port"] == {"name": "http"}


def test_dry_run_server_with_protobuf_body(run: Kubectl) -> None:
    done = run(
        "create", "configmap", "pb-dry", "--from-literal=k=v", "--dry-run=server"
    )
    assert "configmap/pb-dry created (server dry run)" in done.stdout
    assert run("get", "configmap", "pb-dry", check=False).returncode != 0


def test_create_quota(run: Kubectl) -> None:
    run("create", "quota", "pb-q", "--hard=pods=2,requests.cpu=1000m", "--scopes=NotTerminating")
    quota = get(run, "resourcequota", "pb-q")
    assert quota["spec"] == {"hard": {"pods": "2", "requests.cpu": "1"}, "scopes": ["NotTerminating"]}


def test_create_priorityclass(run: Kubectl) -> None:
    run("create", "priorityclass", "pb-zero", "--value=0", "--description=none")
    klass = get(run, "priorityclass", "pb-zero")
    assert (klass["value"], klass["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert klass["description"] == "none"
    assert klass["metadata"]["generation"] == 1
