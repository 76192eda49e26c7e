"""The kinds served beyond the checklist, through kubectl 1.37 and the Python client:
ReplicationController, PodTemplate, ComponentStatus, ResourceQuota, LimitRange,
PriorityClass, CustomResourceDefinition, IPAddress and ServiceCIDR."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api import rawhttp
from tests.api.conftest import eventually

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

RC = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""


def namespace(core: k8s.CoreV1Api, name: str) -> str:
    core.create_namespace({"metadata": {"name": name}})
    return name


def running(core: k8s.CoreV1Api, ns: str, selector: str) -> int:
    pods = core.list_namespaced_pod(ns, label_selector=selector).items
    return sum(1 for p in pods if p.status.phase == "Running")


# ---------------------------------------------------------------- ReplicationController


def test_a_replication_controller_runs_and_scales_its_pods_like_upstream(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    ns = namespace(core, "rc")
    assert (
        "replicationcontroller/web created"
        in kubectl("apply", "-n", ns, "-f", "-", input=RC).stdout
    )
    eventually(lambda: running(core, ns, "app=web") == 2, what="two rc pods")

    kubectl("scale", "-n", ns, "rc", "web", "--replicas=3")
    eventually(lambda: running(core, ns, "app=web") == 3, what="three rc pods")
    rc = core.read_namespaced_replication_controller("web", ns)
    assert rc.spec.selector == {"app": "web"}  # defaulted from the template's labels
    assert rc.metadata.labels == {"app": "web"}
    assert (
        core.read_namespaced_replication_controller_scale("web", ns).status.selector
        == "app=web"
    )
    pod = core.list_namespaced_pod(ns).items[0]
    assert pod.metadata.owner_references[0].kind == "ReplicationController"
    assert pod.metadata.generate_name == "web-"

    eventually(
        lambda: (
            core.read_namespaced_replication_controller("web", ns).status.ready_replicas
            == 3
        )
    )
    table = kubectl("get", "-n", ns, "rc", "-o", "wide").stdout.splitlines()
    assert table[0].split() == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert table[1].split()[:4] == ["web", "3", "3", "3"]
    events = kubectl("describe", "-n", ns, "rc", "web").stdout
    assert "replication-controller  Created pod: web-" in events


def test_a_replication_controller_without_an_always_restart_policy_is_invalid(
    core: k8s.CoreV1Api,
) -> None:
    body = {
        "metadata": {"name": "bad"},
        "spec": {
            "selector": {"app": "other"},
            "template": {
                "metadata": {"labels": {"app": "bad"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "nginx"}],
                },
            },
        },
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_replication_controller("default", body)
    assert err.value.status == 422
    causes = {
        c["field"]: c["message"]
        for c in json.loads(err.value.body)["details"]["causes"]
    }
    assert (
        causes["spec.template.spec.restartPolicy"]
        == 'Unsupported value: "Never": supported values: "Always"'
    )
    assert causes["spec.template.metadata.labels"].endswith(
        "`selector` does not match template `labels`"
    )


def test_apply_prune_removes_the_selected_objects_the_directory_no_longer_holds(
    kubectl: Kubectl, core: k8s.CoreV1Api, tmp_path: Path
) -> None:
    ns = namespace(core, "prune")
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {0}, labels: {{set: p1}}}}\ndata: {{k: v}}\n"
    (tmp_path / "a.yaml").write_text(config.format("a"))
    (tmp_path / "b.yaml").write_text(config.format("b"))
    kubectl("apply", "-n", ns, "-f", str(tmp_path), "-l", "set=p1", "--prune")
    (tmp_path / "b.yaml").unlink()

    done = kubectl("apply", "-n", ns, "-f", str(tmp_path), "-l", "set=p1", "--prune")
    assert "configmap/a unchanged" in done.stdout
    assert "configmap/b pruned" in done.stdout
    assert "no matches for kind" not in done.stderr
    names = {c.metadata.name for c in core.list_namespaced_config_map(ns).items}
    assert names == {"a", "kube-root-ca.crt"}


def test_cluster_info_dump_reads_every_kind_it_asks_for(kubectl: Kubectl) -> None:
    done = kubectl("cluster-info", "dump", "--namespaces", "default")
    assert '"kind": "ReplicationControllerList"' in done.stdout


# ---------------------------------------------------------------- ComponentStatus


def test_get_cs_shows_the_components_healthy_and_the_deprecation_warning(
    kubectl: Kubectl,
) -> None:
    done = kubectl("get", "cs")
    assert done.stderr == "Warning: v1 ComponentStatus is deprecated in v1.19+\n"
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows == [
        ["NAME", "STATUS", "MESSAGE", "ERROR"],
        ["scheduler", "Healthy", "ok"],
        ["controller-manager", "Healthy", "ok"],
        ["etcd-0", "Healthy", "ok"],
    ]
    one = kubectl("get", "cs", "etcd-0").stdout.splitlines()
    assert one[1].split() == ["etcd-0", "Healthy", "ok"]


def test_component_statuses_are_read_only(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    assert core.read_component_status("etcd-0").conditions[0].status == "True"
    with pytest.raises(ApiException) as err:
        core.read_component_status("etcd-1")
    assert err.value.status == 404
    assert (
        json.loads(err.value.body)["message"] == 'componentstatuses "etcd-1" not found'
    )

    created = rawhttp.request(
        cluster, "POST", "/api/v1/componentstatuses", {"metadata": {"name": "x"}}
    )
    assert (created.status, created.json()["reason"]) == (405, "MethodNotAllowed")
    watched = rawhttp.request(cluster, "GET", "/api/v1/componentstatuses?watch=true")
    assert watched.status == 405
    assert (
        watched.json()["message"]
        == 'watch is not supported on resources of kind "componentstatuses"'
    )
    assert watched.header("Warning") == [
        '299 - "v1 ComponentStatus is deprecated in v1.19+"'
    ]


# ---------------------------------------------------------------- ResourceQuota


def test_create_quota_refuses_the_pod_beyond_it_as_upstream(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    ns = namespace(core, "quota-pods")
    assert (
        kubectl("create", "quota", "q", "--hard=pods=2", "-n", ns).stdout
        == "resourcequota/q created\n"
    )
    kubectl("run", "p1", "--image=nginx", "-n", ns)
    kubectl("run", "p2", "--image=nginx", "-n", ns)

    refused = kubectl("run", "p3", "--image=nginx", "-n", ns, check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        'Error from server (Forbidden): pods "p3" is forbidden: exceeded quota: q, requested: pods=1, '
        "used: pods=2, limited: pods=2\n"
    )
    eventually(
        lambda: (
            core.read_namespaced_resource_quota("q", ns).status.used == {"pods": "2"}
        )
    )
    described = kubectl("describe", "quota", "q", "-n", ns).stdout
    assert ["pods", "2", "2"] in [line.split() for line in described.splitlines()]
    assert "Resource Quotas" in kubectl("describe", "ns", ns).stdout
    table = kubectl("get", "quota", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "REQUEST", "LIMIT", "AGE"]
    assert table[1].split()[:3] == ["q", "pods:", "2/2"]

    core.delete_namespaced_pod("p1", ns, grace_period_seconds=0)
    eventually(
        lambda: (
            core.read_namespaced_resource_quota("q", ns).status.used == {"pods": "1"}
        ),
        what="pods 1",
    )


def test_a_compute_quota_makes_the_replicaset_report_failed_create(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    ns = namespace(core, "quota-cpu")
    core.create_namespaced_resource_quota(
        ns, {"metadata": {"name": "compute"}, "spec": {"hard": {"limits.cpu": "2"}}}
    )
    kubectl("create", "deployment", "web", "--image=nginx", "-n", ns)

    def failed() -> list[str]:
        events = core.list_namespaced_event(
            ns, field_selector="reason=FailedCreate"
        ).items
        return [e.message for e in events]

    messages = eventually(failed, what="a FailedCreate event")
    assert messages[0].startswith('Error creating: pods "web-')
    assert messages[0].endswith(
        '" is forbidden: failed quota: compute: must specify limits.cpu for: nginx'
    )
    assert not core.list_namespaced_pod(ns).items


# ---------------------------------------------------------------- LimitRange

LIMITS = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: limits
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
"""


def test_a_limit_range_defaults_containers_and_refuses_too_much(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    ns = namespace(core, "limits")
    kubectl("apply", "-n", ns, "-f", "-", input=LIMITS)
    described = [
        line.split()
        for line in kubectl(
            "describe", "limitrange", "limits", "-n", ns
        ).stdout.splitlines()
    ]
    assert ["Container", "cpu", "-", "1", "100m", "500m", "-"] in described
    assert ["Container", "memory", "-", "-", "256Mi", "256Mi", "-"] in described
    assert kubectl("get", "limits", "-n", ns).stdout.splitlines()[0].split() == [
        "NAME",
        "CREATED",
        "AT",
    ]

    kubectl("run", "small", "--image=nginx", "-n", ns)
    small = core.read_namespaced_pod("small", ns)
    assert small.spec.containers[0].resources.requests == {
        "cpu": "100m",
        "memory": "256Mi",
    }
    assert small.spec.containers[0].resources.limits == {
        "cpu": "500m",
        "memory": "256Mi",
    }
    assert small.metadata.annotations["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container small; cpu, memory limit for container small"
    )
    assert small.status.qos_class == "Burstable"

    big = {
        "spec": {
            "containers": [
                {"name": "big", "image": "nginx", "resources": {"limits": {"cpu": "2"}}}
            ]
        }
    }
    refused = kubectl(
        "run",
        "big",
        "--image=nginx",
        "-n",
        ns,
        f"--overrides={json.dumps(big)}",
        check=False,
    )
    assert refused.stderr == (
        'Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2\n'
    )
    assert "Resource Limits" in kubectl("describe", "ns", ns).stdout


def test_describe_ns_says_when_it_has_no_quota_and_no_limit_range(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    ns = namespace(core, "bare")
    described = kubectl("describe", "ns", ns).stdout
    assert "No resource quota." in described
    assert "No LimitRange resource." in described


# ---------------------------------------------------------------- PriorityClass


def test_priority_classes_set_pod_priority_and_the_system_ones_stay(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    rows = [line.split() for line in kubectl("get", "pc").stdout.splitlines()]
    assert rows[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert ["system-cluster-critical", "2000000000", "false"] in [r[:3] for r in rows]
    assert ["system-node-critical", "2000001000", "false"] in [r[:3] for r in rows]

    kubectl("create", "priorityclass", "high", "--value=1000", "--description=for web")
    overrides = json.dumps({"spec": {"priorityClassName": "high"}})
    kubectl("run", "urgent", "--image=nginx", f"--overrides={overrides}")
    urgent = core.read_namespaced_pod("urgent", "default")
    assert (urgent.spec.priority, urgent.spec.preemption_policy) == (
        1000,
        "PreemptLowerPriority",
    )
    assert core.read_namespaced_pod("small", "limits").spec.priority == 0

    missing = json.dumps({"spec": {"priorityClassName": "nope"}})
    refused = kubectl(
        "run", "lost", "--image=nginx", f"--overrides={missing}", check=False
    )
    assert (
        refused.stderr
        == 'Error from server (Forbidden): pods "lost" is forbidden: no PriorityClass with name nope was found\n'
    )
    kept = kubectl("delete", "pc", "system-node-critical", check=False)
    assert kept.stderr == (
        'Error from server (Forbidden): priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
        "this is a system priority class and cannot be deleted\n"
    )


def test_only_one_priority_class_may_be_the_global_default(
    api_client: k8s.ApiClient,
) -> None:
    scheduling = k8s.SchedulingV1Api(api_client)
    scheduling.create_priority_class(
        {"metadata": {"name": "normal"}, "value": 10, "globalDefault": True}
    )
    with pytest.raises(ApiException) as err:
        scheduling.create_priority_class(
            {"metadata": {"name": "other"}, "value": 20, "globalDefault": True}
        )
    assert err.value.status == 403
    assert (
        "PriorityClass normal is already marked as default. Only one default can exist"
        in err.value.body
    )
    scheduling.delete_priority_class("normal")


# ---------------------------------------------------------------- CustomResourceDefinition

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
"""


def test_the_gateway_api_crds_are_installed_and_new_ones_are_refused(
    kubectl: Kubectl, api_client: k8s.ApiClient
) -> None:
    rows = [line.split() for line in kubectl("get", "crd").stdout.splitlines()]
    assert rows[0] == ["NAME", "CREATED", "AT"]
    assert [r[0] for r in rows[1:]] == [
        "gatewayclasses.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
    ]
    crd = k8s.ApiextensionsV1Api(api_client).read_custom_resource_definition(
        "httproutes.gateway.networking.k8s.io"
    )
    assert crd.metadata.annotations["gateway.networking.k8s.io/channel"] == "standard"
    assert [c.type for c in crd.status.conditions] == ["NamesAccepted", "Established"]
    assert (
        crd.spec.versions[0]
        .schema.open_apiv3_schema.properties["spec"]
        .properties["rules"]
        .type
        == "array"
    )

    refused = kubectl("apply", "-f", "-", input=CRD, check=False)
    assert refused.returncode == 1
    assert (
        'customresourcedefinitions.apiextensions.k8s.io "crontabs.stable.example.com" is forbidden: '
        in refused.stderr
    )
    assert "does not serve new custom resources yet" in refused.stderr
    assert "crontabs" not in kubectl("api-resources").stdout


def test_a_misspelt_kind_is_no_match_for_the_kind(kubectl: Kubectl) -> None:
    typo = "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n"
    done = kubectl("apply", "-f", "-", input=typo, check=False)
    assert done.stderr == (
        'error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind '
        '"Deploymnet" in version "apps/v1"\nensure CRDs are installed first\n'
    )


# ---------------------------------------------------------------- IPAddress and ServiceCIDR


def test_every_cluster_ip_is_an_ip_address_held_by_its_service(
    kubectl: Kubectl, core: k8s.CoreV1Api, api_client: k8s.ApiClient
) -> None:
    networking = k8s.NetworkingV1Api(api_client)
    service = core.create_namespaced_service(
        "default", {"metadata": {"name": "held"}, "spec": {"ports": [{"port": 80}]}}
    )
    ip = service.spec.cluster_ip
    held = networking.read_ip_address(ip)
    assert held.spec.parent_ref.to_dict() == {
        "group": "",
        "resource": "services",
        "namespace": "default",
        "name": "held",
    }
    assert (
        held.metadata.labels["ipaddress.kubernetes.io/managed-by"]
        == "ipallocator.k8s.io"
    )
    rows = [line.split() for line in kubectl("get", "ipaddresses").stdout.splitlines()]
    assert [ip, "services/default/held"] in rows

    twin = {
        "metadata": {"name": "twin"},
        "spec": {"clusterIP": ip, "ports": [{"port": 80}]},
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service("default", twin)
    assert err.value.status == 422
    assert (
        f"failed to allocate IP {ip}: provided IP is already allocated"
        in err.value.body
    )

    core.delete_namespaced_service("held", "default")
    with pytest.raises(ApiException) as err:
        networking.read_ip_address(ip)
    assert err.value.status == 404
    cidr = networking.read_service_cidr("kubernetes")
    assert cidr.spec.cidrs == ["10.96.0.0/12"]
    assert (
        cidr.status.conditions[0].message == "Kubernetes default Service CIDR is ready"
    )


def test_ip_addresses_are_repaired_at_start(
    cluster: EmbeddedCluster, api_client: k8s.ApiClient
) -> None:
    networking = k8s.NetworkingV1Api(api_client)
    cluster.call(
        lambda: cluster.store.remove("ipaddresses.networking.k8s.io", "", "10.96.0.1")
    )
    from kubecourse.embedded import plugins
    from kubecourse.embedded.api import now_iso

    cluster.call(lambda: plugins.ensure_builtin_objects(cluster.api, now_iso()))
    assert networking.read_ip_address("10.96.0.1").spec.parent_ref.name == "kubernetes"


# ---------------------------------------------------------------- the typed client


def test_the_typed_client_reads_every_new_kind(
    core: k8s.CoreV1Api, api_client: k8s.ApiClient
) -> None:
    template = {
        "metadata": {"name": "tpl", "labels": {"a": "b"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    created = core.create_namespaced_pod_template("default", template)
    assert (created.template.spec.restart_policy, created.metadata.generation) == (
        "Always",
        1,
    )
    assert core.delete_namespaced_pod_template("tpl", "default").metadata.name == "tpl"
    assert [c.metadata.name for c in core.list_component_status().items] == [
        "scheduler",
        "controller-manager",
        "etcd-0",
    ]
    assert core.list_replication_controller_for_all_namespaces().items
    assert core.list_resource_quota_for_all_namespaces().items
    assert core.list_limit_range_for_all_namespaces().items
    assert core.list_pod_template_for_all_namespaces().items == []
    assert (
        k8s.SchedulingV1Api(api_client)
        .read_priority_class("system-node-critical")
        .value
        == 2000001000
    )
    assert (
        len(k8s.ApiextensionsV1Api(api_client).list_custom_resource_definition().items)
        == 3
    )
    networking = k8s.NetworkingV1Api(api_client)
    assert "10.96.0.1" in {i.metadata.name for i in networking.list_ip_address().items}
    assert [c.metadata.name for c in networking.list_service_cidr().items] == [
        "kubernetes"
    ]


def test_kubectl_explains_the_new_kinds(kubectl: Kubectl) -> None:
    assert (
        "value represents the integer value of this priority class"
        in kubectl("explain", "pc.value").stdout
    )
    assert (
        "FIELD: hard <map[string]Quantity>"
        in kubectl("explain", "quota.spec.hard").stdout
    )
    assert (
        "FIELD: selector <map[string]string>"
        in kubectl("explain", "rc.spec.selector").stdout
    )
    assert "KIND:       IPAddress" in kubectl("explain", "ipaddress").stdout
    v2 = kubectl(
        "explain", "limitrange.spec.limits", "--output=plaintext-openapiv2"
    ).stdout
    assert "maxLimitRequestRatio" in v2
