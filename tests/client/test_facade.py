"""kubectl's verbs through the facade, and the course helpers' tidy rows."""

from __future__ import annotations

import textwrap

import pytest

from kubecourse.client import Cluster
from kubecourse.client.cluster import load_objects
from kubecourse.errors import (
    ClusterError,
    InvalidError,
    NotFoundError,
    UnsafeClusterError,
)

DEPLOYMENT = textwrap.dedent("""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: facade-web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: facade-web}}
      template:
        metadata: {labels: {app: facade-web}}
        spec: {containers: [{name: web, image: nginx:1.27-alpine, ports: [{containerPort: 80}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: facade-web}
    spec: {selector: {app: facade-web}, ports: [{port: 80}]}
""")


def test_summary_names_the_cluster_and_versions(cluster: Cluster) -> None:
    text = cluster.summary()
    assert "kubecourse (embedded)" in text and "Kubernetes v1.37" in text and "namespace default" in text


def test_apply_creates_then_configures_like_kubectl(cluster: Cluster) -> None:
    assert cluster.apply(DEPLOYMENT) == ["deployment.apps/facade-web created", "service/facade-web created"]
    assert cluster.apply(DEPLOYMENT.replace("replicas: 2", "replicas: 3"))[0] == "deployment.apps/facade-web configured"
    assert cluster.get("deploy", "facade-web")["spec"]["replicas"] == 3


def test_pods_rows_have_ip_node_and_readiness(cluster: Cluster) -> None:
    cluster.wait_ready("facade-web", timeout=30)
    rows = cluster.pods({"app": "facade-web"})
    assert len(rows) == 3
    assert all(r.ip and r.ip.startswith("10.244.") and r.node and r.ready and r.phase == "Running" for r in rows)
    assert "NAME" in str(rows) and "<table>" in rows._repr_html_()


def test_endpoints_list_the_ready_pod_ips(cluster: Cluster) -> None:
    ips = {r.ip for r in cluster.pods({"app": "facade-web"})}
    endpoints = cluster.endpoints("facade-web")
    assert {e.ip for e in endpoints if e.ready} == ips
    assert all(e.ports == "80/TCP" for e in endpoints)


def test_scale_changes_replicas_and_rejects_nonsense(cluster: Cluster) -> None:
    assert cluster.scale("facade-web", 1) == 1
    cluster.wait_for(lambda: len(cluster.pods({"app": "facade-web"})) == 1, 30, "scale down")
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="replicas must be a whole number"):
            cluster.scale("facade-web", bad)  # type: ignore[arg-type]


def test_nodes_rows_show_roles_cidrs_and_pod_counts(cluster: Cluster) -> None:
    nodes = {n.name: n for n in cluster.nodes()}
    assert nodes["kubecourse-control-plane"].roles == "control-plane"
    assert nodes["kubecourse-worker"].pod_cidr == "10.244.1.0/24"
    # Every pod on the node counts, as `kubectl describe node` counts them: the control
    # plane runs only kind's system pods and the Traefik ingress controller, each worker its own daemons plus the lesson's.
    everywhere = cluster.core.list_pod_for_all_namespaces().items
    for name, row in nodes.items():
        here = [p for p in everywhere if p.spec.node_name == name]
        assert row.pods == len(here)
    control_plane = [p for p in everywhere if p.spec.node_name == "kubecourse-control-plane"]
    assert {p.metadata.namespace for p in control_plane} == {"kube-system", "local-path-storage", "traefik"}
    web = [r.node for r in cluster.pods({"app": "facade-web"})]
    assert web and "kubecourse-control-plane" not in web
    assert sum(nodes[n].pods for n in nodes if n != "kubecourse-control-plane") == 6 + len(web)


def test_api_errors_come_out_as_our_errors_with_the_status(cluster: Cluster) -> None:
    with pytest.raises(NotFoundError) as missing:
        cluster.get("deployment", "no-such-thing")
    assert missing.value.code == 404
    assert 'Deployment "no-such-thing" does not exist in namespace "default"' in str(missing.value)
    assert "the Deployments there are: facade-web" in str(missing.value)
    server_said = missing.value.__cause__
    assert isinstance(server_said, NotFoundError)
    assert 'deployments.apps "no-such-thing" not found' in str(server_said)
    with pytest.raises(InvalidError) as invalid:
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})
    assert invalid.value.causes[0]["field"] == "metadata.name"


def test_writes_outside_the_namespace_are_refused(cluster: Cluster) -> None:
    with pytest.raises(UnsafeClusterError, match="namespace 'kube-system'"):
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}})
    with pytest.raises(UnsafeClusterError, match="kube-system"):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    assert not [c for c in cluster.list("configmap", namespace="kube-system") if c["metadata"]["name"] == "x"]


def test_unknown_kinds_and_bad_yaml_are_named(cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="does not serve the kind 'Widgetz'"):
        cluster.apply({"apiVersion": "v1", "kind": "Widgetz", "metadata": {"name": "w"}})
    with pytest.raises(ClusterError, match="not valid YAML"):
        load_objects("a: [1, 2\nb: c")
    with pytest.raises(ClusterError, match="cannot read"):
        load_objects("missing-file.yaml")
    with pytest.raises(ClusterError, match="without metadata.name"):
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})


def test_delete_pod_brings_a_replacement_with_a_new_name_and_ip(cluster: Cluster) -> None:
    before = cluster.pods({"app": "facade-web"})[0]
    cluster.delete("pod", before.name)

    def replaced() -> bool:
        rows = [r for r in cluster.pods({"app": "facade-web"}) if r.status != "Terminating"]
        return len(rows) == 1 and rows[0].name != before.name and rows[0].ready

    cluster.wait_for(replaced, 30, "a replacement pod")
    after = cluster.pods({"app": "facade-web"})[0]
    assert after.name != before.name and after.ip != before.ip


def test_kubectl_runs_against_the_same_cluster(cluster: Cluster) -> None:
    out = cluster.kubectl("get", "deployment", "facade-web")
    assert out.splitlines()[0].split()[:2] == ["NAME", "READY"]
    with pytest.raises(ClusterError, match="NotFound"):
        cluster.kubectl("get", "pod", "nope")


def test_apply_goes_on_past_a_bad_object_and_reports_every_failure(cluster: Cluster) -> None:
    from kubecourse.client.cluster import ApplyError

    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied-anyway"}}
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}
    with pytest.raises(ApplyError) as err:
        cluster.apply([bad, good])
    assert err.value.applied == ["configmap/applied-anyway created"]
    assert len(err.value.failures) == 1 and "ConfigMap/Not_Valid" in err.value.failures[0]
    assert cluster.get("configmap", "applied-anyway")["metadata"]["name"] == "applied-anyway"
