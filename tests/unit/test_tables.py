"""Server-side Tables carry the columns and cells `kubectl get` prints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kubecourse.embedded.resources import REGISTRY, ResourceType
from kubecourse.embedded.tables import (
    age,
    build_table,
    format_endpoints,
    format_label_selector,
    human_duration,
    node_roles,
    node_status,
    parse_time,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rt(key: str) -> ResourceType:
    return REGISTRY.get(key)


def row(key: str, obj: dict[str, Any], **kwargs: Any) -> list[Any]:
    table = build_table(rt(key), [obj], now=NOW, **kwargs)
    cells: list[Any] = table["rows"][0]["cells"]
    return cells


def headers(key: str) -> list[tuple[str, int]]:
    table = build_table(rt(key), [], now=NOW)
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


def by_header(key: str, obj: dict[str, Any]) -> dict[str, Any]:
    return dict(zip([name for name, _ in headers(key)], row(key, obj), strict=True))


# ---------------------------------------------------------------- HumanDuration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),
        (-1, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (5, "5s"),
        (59, "59s"),
        (60, "60s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (599, "9m59s"),
        (600, "10m"),
        (659, "10m"),
        (45 * 60, "45m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (5 * 3600, "5h"),
        (8 * 3600 - 1, "7h59m"),
        (8 * 3600, "8h"),
        (48 * 3600 - 1, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (8 * 86400 - 1, "7d23h"),
        (8 * 86400, "8d"),
        (12 * 86400, "12d"),
        (730 * 86400 - 1, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400 - 1, "7y364d"),
        (8 * 365 * 86400, "8y"),
        (20 * 365 * 86400, "20y"),
    ],
)
def test_human_duration_at_every_boundary(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_age_without_a_timestamp_is_unknown() -> None:
    assert age(None, NOW) == "<unknown>"
    assert age("", NOW) == "<unknown>"
    assert age("not a time", NOW) == "<unknown>"


def test_age_reads_rfc3339_with_z_and_offsets() -> None:
    assert age(ago(minutes=5), NOW) == "5m"
    assert age("2025-01-01T13:00:00+02:00", NOW) == "60m"
    assert parse_time("2025-01-01T12:00:00") == NOW


# ---------------------------------------------------------------- the Table envelope


def test_table_envelope_has_kind_version_and_resource_version() -> None:
    table = build_table(rt("configmaps"), [], resource_version="105", now=NOW)
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "105"}
    assert table["rows"] == []


def test_column_definitions_have_all_upstream_fields() -> None:
    table = build_table(rt("pods"), [], now=NOW)
    for column in table["columnDefinitions"]:
        assert set(column) == {"name", "type", "format", "description", "priority"}
        assert column["description"]
    assert table["columnDefinitions"][0]["format"] == "name"


def test_descriptions_come_from_the_upstream_schema() -> None:
    definitions = build_table(rt("deployments.apps"), [], now=NOW)["columnDefinitions"]
    up_to_date = next(c for c in definitions if c["name"] == "Up-to-date")
    assert up_to_date["description"].startswith("Total number of non-terminating pods")
    name = definitions[0]["description"]
    assert name.startswith("Name must be unique within a namespace")


def test_watch_events_after_the_first_have_no_headers() -> None:
    table = build_table(rt("pods"), [], include_headers=False, now=NOW)
    assert table["columnDefinitions"] is None


def test_row_object_defaults_to_partial_object_metadata() -> None:
    obj = {"metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}}
    table = build_table(rt("configmaps"), [obj], now=NOW)
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"name": "cm", "labels": {"a": "b"}},
    }


def test_row_object_can_be_the_whole_object_or_nothing() -> None:
    obj = {"metadata": {"name": "cm"}, "data": {"k": "v"}}
    whole = build_table(rt("configmaps"), [obj], include_object="Object", now=NOW)
    assert whole["rows"][0]["object"] == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        **obj,
    }
    bare = build_table(rt("configmaps"), [obj], include_object="None", now=NOW)
    assert "object" not in bare["rows"][0]


def test_partial_object_metadata_carries_metadata_the_python_client_reads() -> None:
    from kubernetes.client import ApiClient

    obj = {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web"},
        }
    }
    embedded = build_table(rt("pods"), [obj], now=NOW)["rows"][0]["object"]
    deserialize = ApiClient()._ApiClient__deserialize  # type: ignore[attr-defined]
    meta = deserialize(embedded["metadata"], "V1ObjectMeta")
    assert meta.name == "web"
    assert meta.labels == {"app": "web"}
    assert meta.creation_timestamp == NOW.replace(hour=0)


def test_rows_follow_the_order_of_the_objects() -> None:
    objs = [{"metadata": {"name": n}} for n in ("b", "a", "c")]
    table = build_table(rt("configmaps"), objs, now=NOW)
    assert [r["cells"][0] for r in table["rows"]] == ["b", "a", "c"]


def test_default_now_is_the_current_time() -> None:
    fresh = {
        "metadata": {
            "name": "x",
            "creationTimestamp": datetime.now(timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
    }
    cells = build_table(rt("configmaps"), [fresh])["rows"][0]["cells"]
    assert cells[-1] in ("0s", "1s", "2s")


def test_kind_without_a_printer_shows_name_and_age() -> None:
    other = ResourceType(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        namespaced=True,
    )
    table = build_table(
        other,
        [{"metadata": {"name": "w", "creationTimestamp": ago(seconds=30)}}],
        now=NOW,
    )
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["w", "30s"]


# ---------------------------------------------------------------- pods


def pod(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1", "creationTimestamp": ago(minutes=5)},
        "spec": {"containers": [{"name": "app"}], "nodeName": "worker-1"},
        "status": {"phase": "Running", **status},
    }


def running(name: str = "app", restarts: int = 0, ready: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {}},
    }


def test_pod_columns_and_wide_columns() -> None:
    assert headers("pods") == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]


def test_running_pod_row() -> None:
    obj = pod(containerStatuses=[running()], podIPs=[{"ip": "10.244.1.5"}])
    assert row("pods", obj) == [
        "web-1",
        "1/1",
        "Running",
        "0",
        "5m",
        "10.244.1.5",
        "worker-1",
        "<none>",
        "<none>",
    ]


def test_pending_unscheduled_pod_shows_none_for_wide_columns() -> None:
    obj = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Pending"},
    }
    assert row("pods", obj) == [
        "p",
        "0/1",
        "Pending",
        "0",
        "<unknown>",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]


def test_restarts_show_how_long_ago_the_last_one_was() -> None:
    status = running(restarts=3)
    status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}}
    assert (
        by_header("pods", pod(containerStatuses=[status]))["Restarts"] == "3 (2m ago)"
    )


def test_restarts_sum_over_containers_and_use_the_latest_restart() -> None:
    first = running("a", restarts=1)
    first["lastState"] = {"terminated": {"finishedAt": ago(minutes=30)}}
    second = running("b", restarts=2)
    second["lastState"] = {"terminated": {"finishedAt": ago(seconds=40)}}
    obj = pod(containerStatuses=[first, second])
    obj["spec"]["containers"] = [{"name": "a"}, {"name": "b"}]
    assert by_header("pods", obj)["Restarts"] == "3 (40s ago)"


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({"waiting": {"reason": "ContainerCreating"}}, "ContainerCreating"),
        ({"waiting": {"reason": "ImagePullBackOff"}}, "ImagePullBackOff"),
        ({"waiting": {"reason": "CrashLoopBackOff"}}, "CrashLoopBackOff"),
        ({"terminated": {"reason": "Completed", "exitCode": 0}}, "Completed"),
        ({"terminated": {"reason": "Error", "exitCode": 1}}, "Error"),
        ({"terminated": {"exitCode": 137}}, "ExitCode:137"),
        ({"terminated": {"exitCode": 0, "signal": 9}}, "Signal:9"),
    ],
)
def test_container_state_reason_becomes_the_pod_status(
    state: dict[str, Any], status: str
) -> None:
    obj = pod(
        containerStatuses=[
            {"name": "app", "ready": False, "restartCount": 0, "state": state}
        ]
    )
    assert by_header("pods", obj)["Status"] == status


def test_pod_status_reason_overrides_the_phase() -> None:
    assert (
        by_header("pods", pod(phase="Failed", reason="Evicted"))["Status"] == "Evicted"
    )


def test_scheduling_gated_pod() -> None:
    obj = pod(
        phase="Pending",
        conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
        ],
    )
    assert by_header("pods", obj)["Status"] == "SchedulingGated"


def test_completed_container_beside_a_running_one_shows_running_or_not_ready() -> None:
    done = {
        "name": "a",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"reason": "Completed"}},
    }
    obj = pod(
        containerStatuses=[done, running("b")],
        conditions=[{"type": "Ready", "status": "True"}],
    )
    obj["spec"]["containers"] = [{"name": "a"}, {"name": "b"}]
    assert by_header("pods", obj)["Status"] == "Running"
    obj["status"]["conditions"] = []
    assert by_header("pods", obj)["Status"] == "NotReady"


def test_init_container_in_progress_shows_init_count() -> None:
    obj = pod(
        phase="Pending",
        initContainerStatuses=[
            {
                "name": "i1",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 0}},
            },
            {"name": "i2", "ready": False, "restartCount": 0, "state": {"running": {}}},
        ],
        containerStatuses=[
            {
                "name": "app",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}},
            }
        ],
    )
    obj["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    assert by_header("pods", obj)["Status"] == "Init:1/2"


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({"waiting": {"reason": "ImagePullBackOff"}}, "Init:ImagePullBackOff"),
        ({"waiting": {"reason": "PodInitializing"}}, "Init:0/1"),
        ({"terminated": {"exitCode": 1, "reason": "Error"}}, "Init:Error"),
        ({"terminated": {"exitCode": 2}}, "Init:ExitCode:2"),
        ({"terminated": {"exitCode": 2, "signal": 15}}, "Init:Signal:15"),
    ],
)
def test_failing_init_container_status(state: dict[str, Any], status: str) -> None:
    obj = pod(
        phase="Pending",
        initContainerStatuses=[
            {"name": "i", "ready": False, "restartCount": 2, "state": state}
        ],
    )
    obj["spec"]["initContainers"] = [{"name": "i"}]
    cells = by_header("pods", obj)
    assert cells["Status"] == status
    assert cells["Restarts"] == "2"


def test_started_sidecar_counts_as_a_ready_container() -> None:
    sidecar = {
        "name": "proxy",
        "ready": True,
        "started": True,
        "restartCount": 1,
        "state": {"running": {}},
    }
    obj = pod(
        initContainerStatuses=[sidecar],
        containerStatuses=[running()],
        conditions=[{"type": "Initialized", "status": "True"}],
    )
    obj["spec"]["initContainers"] = [{"name": "proxy", "restartPolicy": "Always"}]
    cells = by_header("pods", obj)
    assert cells["Ready"] == "2/2"
    assert cells["Status"] == "Running"
    assert cells["Restarts"] == "1"


def test_deleted_pod_shows_terminating() -> None:
    obj = pod(containerStatuses=[running()])
    obj["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert by_header("pods", obj)["Status"] == "Terminating"


def test_deleted_pod_on_a_lost_node_shows_unknown() -> None:
    obj = pod(reason="NodeLost")
    obj["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert by_header("pods", obj)["Status"] == "Unknown"


def test_deleted_completed_pod_keeps_its_terminal_status() -> None:
    obj = pod(phase="Succeeded")
    obj["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert by_header("pods", obj)["Status"] == "Succeeded"


def test_finished_pods_carry_a_completed_row_condition() -> None:
    succeeded = build_table(rt("pods"), [pod(phase="Succeeded")], now=NOW)["rows"][0]
    assert succeeded["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    failed = build_table(rt("pods"), [pod(phase="Failed")], now=NOW)["rows"][0]
    assert failed["conditions"][0]["reason"] == "Failed"
    running_row = build_table(rt("pods"), [pod()], now=NOW)["rows"][0]
    assert "conditions" not in running_row


def test_readiness_gates_count_true_conditions() -> None:
    obj = pod(
        conditions=[
            {"type": "example.com/lb", "status": "True"},
            {"type": "example.com/x", "status": "False"},
        ]
    )
    obj["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/x"},
    ]
    assert by_header("pods", obj)["Readiness Gates"] == "1/2"


def test_nominated_node_is_shown() -> None:
    assert (
        by_header("pods", pod(nominatedNodeName="worker-2"))["Nominated Node"]
        == "worker-2"
    )


# ---------------------------------------------------------------- workloads


def test_deployment_row() -> None:
    obj = {
        "metadata": {"name": "web", "creationTimestamp": ago(hours=5)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.27"},
                        {"name": "s", "image": "busybox"},
                    ]
                }
            },
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert headers("deployments.apps") == [
        ("Name", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    assert row("deployments.apps", obj) == [
        "web",
        "2/3",
        3,
        2,
        "5h",
        "nginx,s",
        "nginx:1.27,busybox",
        "app=web",
    ]


def test_deployment_without_status_shows_zeros() -> None:
    obj = {"metadata": {"name": "web"}, "spec": {"replicas": 1}}
    cells = by_header("deployments.apps", obj)
    assert (
        cells["Ready"],
        cells["Up-to-date"],
        cells["Available"],
        cells["Selector"],
    ) == ("0/1", 0, 0, "<none>")


def test_replicaset_row_uses_integers() -> None:
    obj = {
        "metadata": {
            "name": "web-7d9c6b8f4d",
            "creationTimestamp": ago(days=3, hours=4),
        },
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web", "pod-template-hash": "7d9c6b8f4d"}
            },
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
        },
        "status": {"replicas": 3, "readyReplicas": 1},
    }
    assert row("replicasets.apps", obj) == [
        "web-7d9c6b8f4d",
        3,
        3,
        1,
        "3d4h",
        "nginx",
        "nginx",
        "app=web,pod-template-hash=7d9c6b8f4d",
    ]
    table = build_table(rt("replicasets.apps"), [], now=NOW)
    assert [c["type"] for c in table["columnDefinitions"][1:4]] == ["integer"] * 3


def test_statefulset_row() -> None:
    obj = {
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "pg", "image": "postgres"}]}},
        },
        "status": {"readyReplicas": 2},
    }
    assert row("statefulsets.apps", obj) == ["db", "2/2", "<unknown>", "pg", "postgres"]


def test_invalid_selector_shows_error() -> None:
    assert (
        format_label_selector({"matchExpressions": [{"key": "a", "operator": "Bad"}]})
        == "<error>"
    )
    assert format_label_selector({}) == "<none>"
    assert format_label_selector(None) == "<none>"


# ---------------------------------------------------------------- services and endpoints


def service(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "creationTimestamp": ago(seconds=5)},
        "spec": spec,
    }


def test_cluster_ip_service_row() -> None:
    obj = service(
        type="ClusterIP",
        clusterIP="10.96.12.34",
        clusterIPs=["10.96.12.34"],
        ports=[{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}],
        selector={"app": "web", "tier": "fe"},
    )
    assert row("services", obj) == [
        "web",
        "ClusterIP",
        "10.96.12.34",
        "<none>",
        "80/TCP,443/TCP",
        "5s",
        "app=web,tier=fe",
    ]


def test_node_port_service_shows_node_ports() -> None:
    obj = service(
        type="NodePort",
        clusterIPs=["10.96.0.9"],
        ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
    )
    cells = by_header("services", obj)
    assert cells["Port(s)"] == "80:30080/TCP"
    assert cells["External-IP"] == "<none>"


def test_headless_service_without_ports() -> None:
    cells = by_header(
        "services", service(type="ClusterIP", clusterIP="None", clusterIPs=["None"])
    )
    assert (cells["Cluster-IP"], cells["Port(s)"], cells["Selector"]) == (
        "None",
        "<none>",
        "<none>",
    )


def test_load_balancer_without_an_address_is_pending() -> None:
    assert (
        by_header("services", service(type="LoadBalancer"))["External-IP"]
        == "<pending>"
    )


def test_load_balancer_addresses_and_external_ips_are_joined() -> None:
    obj = service(type="LoadBalancer", externalIPs=["1.2.3.4"])
    obj["status"] = {
        "loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}
    }
    assert by_header("services", obj)["External-IP"] == "5.6.7.8,lb.example.com,1.2.3.4"


def test_external_ips_and_external_names() -> None:
    assert (
        by_header(
            "services", service(type="ClusterIP", externalIPs=["1.1.1.1", "2.2.2.2"])
        )["External-IP"]
        == "1.1.1.1,2.2.2.2"
    )
    assert (
        by_header(
            "services", service(type="ExternalName", externalName="db.example.com")
        )["External-IP"]
        == "db.example.com"
    )
    assert by_header("services", service())["External-IP"] == "<unknown>"


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "subsets": list(subsets)}


def addresses(*ips: str) -> list[dict[str, str]]:
    return [{"ip": ip} for ip in ips]


def test_endpoints_list_ip_and_port() -> None:
    obj = endpoints(
        {"addresses": addresses("10.244.1.5", "10.244.2.7"), "ports": [{"port": 80}]}
    )
    assert row("endpoints", obj) == ["web", "10.244.1.5:80,10.244.2.7:80", "<unknown>"]


def test_endpoints_beyond_three_are_summarised() -> None:
    obj = endpoints(
        {
            "addresses": addresses(
                "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"
            ),
            "ports": [{"port": 80}],
        }
    )
    assert format_endpoints(obj) == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."


def test_endpoints_count_every_port_of_every_address() -> None:
    obj = endpoints(
        {
            "addresses": addresses("10.0.0.1", "10.0.0.2"),
            "ports": [{"port": 80}, {"port": 443}],
        }
    )
    assert format_endpoints(obj) == "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."


def test_endpoints_without_subsets_show_none() -> None:
    assert format_endpoints(endpoints()) == "<none>"


def test_endpoints_with_only_not_ready_addresses_are_blank() -> None:
    assert (
        format_endpoints(
            endpoints(
                {"notReadyAddresses": addresses("10.0.0.1"), "ports": [{"port": 80}]}
            )
        )
        == ""
    )


def test_headless_endpoints_without_ports_list_ips() -> None:
    assert (
        format_endpoints(endpoints({"addresses": addresses("10.0.0.1")})) == "10.0.0.1"
    )


def test_ipv6_endpoints_are_bracketed() -> None:
    assert (
        format_endpoints(
            endpoints({"addresses": addresses("fd00::1"), "ports": [{"port": 80}]})
        )
        == "[fd00::1]:80"
    )


def test_endpointslice_row() -> None:
    obj = {
        "metadata": {"name": "web-abcde"},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}],
        "endpoints": [
            {"addresses": ["10.0.0.1"]},
            {"addresses": ["10.0.0.2", "10.0.0.3"]},
            {"addresses": ["10.0.0.4"]},
        ],
    }
    assert row("endpointslices.discovery.k8s.io", obj) == [
        "web-abcde",
        "IPv4",
        "80,named,*",
        "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
        "<unknown>",
    ]


def test_empty_endpointslice_shows_unset() -> None:
    cells = row(
        "endpointslices.discovery.k8s.io",
        {"metadata": {"name": "s"}, "addressType": "IPv4"},
    )
    assert cells[2:4] == ["<unset>", "<unset>"]


def test_ingress_row() -> None:
    obj = {
        "metadata": {"name": "shop"},
        "spec": {
            "ingressClassName": "traefik",
            "rules": [{"host": "a.local"}, {"host": "b.local"}],
            "tls": [{"hosts": ["a.local"]}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.2"}]}},
    }
    assert row("ingresses.networking.k8s.io", obj) == [
        "shop",
        "traefik",
        "a.local,b.local",
        "172.18.0.2",
        "80, 443",
        "<unknown>",
    ]


def test_ingress_defaults_and_many_hosts() -> None:
    rules = [{"host": f"h{i}"} for i in range(5)]
    cells = row(
        "ingresses.networking.k8s.io",
        {"metadata": {"name": "i"}, "spec": {"rules": rules}},
    )
    assert cells[1:5] == ["<none>", "h0,h1,h2 + 2 more...", "", "80"]
    cells = row(
        "ingresses.networking.k8s.io",
        {"metadata": {"name": "i"}, "spec": {"rules": [{}]}},
    )
    assert cells[2] == "*"


def test_ingress_class_row() -> None:
    obj = {
        "metadata": {"name": "traefik"},
        "spec": {
            "controller": "traefik.io/ingress-controller",
            "parameters": {"kind": "Config", "apiGroup": "example.com", "name": "c"},
        },
    }
    assert row("ingressclasses.networking.k8s.io", obj)[:3] == [
        "traefik",
        "traefik.io/ingress-controller",
        "Config.example.com/c",
    ]
    plain = {
        "metadata": {"name": "x"},
        "spec": {"controller": "c", "parameters": {"kind": "K", "name": "n"}},
    }
    assert row("ingressclasses.networking.k8s.io", plain)[2] == "K/n"


def test_network_policy_row() -> None:
    obj = {
        "metadata": {"name": "deny"},
        "spec": {"podSelector": {"matchLabels": {"app": "db"}}},
    }
    assert row("networkpolicies.networking.k8s.io", obj)[:2] == ["deny", "app=db"]
    everyone = {"metadata": {"name": "all"}, "spec": {"podSelector": {}}}
    assert row("networkpolicies.networking.k8s.io", everyone)[1] == "<none>"


# ---------------------------------------------------------------- nodes, namespaces, events


def node(ready: str | None = "True", **spec: Any) -> dict[str, Any]:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    return {
        "metadata": {
            "name": "worker-1",
            "creationTimestamp": ago(days=12),
            "labels": {"kubernetes.io/hostname": "worker-1"},
        },
        "spec": spec,
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": "172.18.0.3"},
                {"type": "Hostname", "address": "worker-1"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.37.0",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "containerd://2.0.0",
            },
        },
    }


def test_node_row() -> None:
    assert row("nodes", node()) == [
        "worker-1",
        "Ready",
        "<none>",
        "12d",
        "v1.37.0",
        "172.18.0.3",
        "<none>",
        "Debian GNU/Linux 12 (bookworm)",
        "6.1.0",
        "containerd://2.0.0",
    ]


@pytest.mark.parametrize(
    ("ready", "unschedulable", "status"),
    [
        ("True", False, "Ready"),
        ("True", True, "Ready,SchedulingDisabled"),
        ("False", False, "NotReady"),
        ("Unknown", False, "NotReady"),
        ("Unknown", True, "NotReady,SchedulingDisabled"),
        (None, False, "Unknown"),
        (None, True, "Unknown,SchedulingDisabled"),
    ],
)
def test_node_status(ready: str | None, unschedulable: bool, status: str) -> None:
    assert node_status(node(ready, unschedulable=unschedulable)) == status


def test_node_roles_come_from_role_labels() -> None:
    obj = node()
    obj["metadata"]["labels"].update(
        {
            "node-role.kubernetes.io/control-plane": "",
            "node-role.kubernetes.io/": "",
            "kubernetes.io/role": "edge",
        }
    )
    assert node_roles(obj) == ["control-plane", "edge"]
    assert by_header("nodes", obj)["Roles"] == "control-plane,edge"


def test_node_without_info_shows_unknown_wide_columns() -> None:
    cells = row("nodes", {"metadata": {"name": "n"}})
    assert cells[1] == "Unknown"
    assert cells[5:] == ["<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]


def test_namespace_row() -> None:
    obj = {
        "metadata": {"name": "shop", "creationTimestamp": ago(minutes=45)},
        "status": {"phase": "Active"},
    }
    assert headers("namespaces") == [("Name", 0), ("Status", 0), ("Age", 0)]
    assert row("namespaces", obj) == ["shop", "Active", "45m"]


def event(**fields: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1.17f", "namespace": "default"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-1",
            "fieldPath": "spec.containers{app}",
        },
        "reason": "Started",
        "message": "Started container app\n",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "worker-1"},
        "firstTimestamp": ago(minutes=10),
        "lastTimestamp": ago(minutes=1),
        "count": 2,
        **fields,
    }


def test_event_row_has_every_column_in_order() -> None:
    assert [name for name, priority in headers("events") if priority == 0] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]
    assert row("events", event()) == [
        "60s",
        "Normal",
        "Started",
        "pod/web-1",
        "spec.containers{app}",
        "kubelet, worker-1",
        "Started container app",
        "10m",
        2,
        "web-1.17f",
    ]


def test_event_without_last_timestamp_uses_the_first_or_event_time() -> None:
    cells = by_header(
        "events",
        event(
            lastTimestamp=None,
            firstTimestamp=None,
            eventTime=ago(seconds=7),
            count=None,
        ),
    )
    assert (cells["Last Seen"], cells["First Seen"], cells["Count"]) == ("7s", "7s", 1)


def test_event_series_gives_count_and_last_seen() -> None:
    cells = by_header(
        "events", event(series={"count": 9, "lastObservedTime": ago(seconds=3)})
    )
    assert (cells["Last Seen"], cells["Count"]) == ("3s", 9)


def test_event_source_falls_back_to_reporting_fields() -> None:
    cells = by_header(
        "events",
        event(
            source={}, reportingComponent="deployment-controller", reportingInstance=""
        ),
    )
    assert cells["Source"] == "deployment-controller"


def test_event_about_an_unnamed_object_shows_only_the_kind() -> None:
    assert (
        by_header("events", event(involvedObject={"kind": "Node"}))["Object"] == "node"
    )


# ---------------------------------------------------------------- config and storage


def test_configmap_counts_data_and_binary_data() -> None:
    obj = {
        "metadata": {"name": "cfg"},
        "data": {"a": "1", "b": "2"},
        "binaryData": {"c": "AA=="},
    }
    assert row("configmaps", obj)[:2] == ["cfg", 3]


def test_secret_row() -> None:
    obj = {
        "metadata": {"name": "tls"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "x", "tls.key": "y"},
    }
    assert row("secrets", obj)[:3] == ["tls", "kubernetes.io/tls", 2]


def test_service_account_counts_secrets() -> None:
    assert row("serviceaccounts", {"metadata": {"name": "default"}})[:2] == [
        "default",
        0,
    ]
    assert (
        row("serviceaccounts", {"metadata": {"name": "a"}, "secrets": [{"name": "s"}]})[
            1
        ]
        == 1
    )


def test_bound_pvc_row() -> None:
    obj = {
        "metadata": {"name": "data"},
        "spec": {
            "volumeName": "pv-1",
            "storageClassName": "standard",
            "volumeMode": "Filesystem",
        },
        "status": {
            "phase": "Bound",
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
        },
    }
    assert row("persistentvolumeclaims", obj) == [
        "data",
        "Bound",
        "pv-1",
        "1Gi",
        "RWO,RWX",
        "standard",
        "<unset>",
        "<unknown>",
        "Filesystem",
    ]


def test_pending_pvc_hides_capacity_and_prefers_the_class_annotation() -> None:
    obj = {
        "metadata": {
            "name": "d",
            "annotations": {"volume.beta.kubernetes.io/storage-class": "old"},
            "deletionTimestamp": ago(seconds=1),
        },
        "spec": {"storageClassName": "standard"},
        "status": {"phase": "Pending"},
    }
    assert row("persistentvolumeclaims", obj)[1:6] == ["Terminating", "", "", "", "old"]


def test_pv_row() -> None:
    obj = {
        "metadata": {"name": "pv-1"},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOncePod", "ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"namespace": "default", "name": "data"},
            "storageClassName": "standard",
        },
        "status": {"phase": "Bound"},
    }
    assert row("persistentvolumes", obj) == [
        "pv-1",
        "5Gi",
        "ROX,RWOP",
        "Delete",
        "Bound",
        "default/data",
        "standard",
        "<unset>",
        "",
        "<unknown>",
        "<unset>",
    ]


def test_controller_revision_rows_name_the_owner_with_its_group() -> None:
    revision = {
        "metadata": {
            "name": "agent-5868544b8d",
            "creationTimestamp": ago(minutes=3),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": True}],
        },
        "revision": 2,
    }

    assert headers("controllerrevisions.apps") == [("Name", 0), ("Controller", 0), ("Revision", 0), ("Age", 0)]
    assert row("controllerrevisions.apps", revision) == ["agent-5868544b8d", "daemonset.apps/agent", 2, "3m"]
    orphan = {"metadata": {"name": "lone", "creationTimestamp": ago(seconds=5)}, "revision": 1}
    assert row("controllerrevisions.apps", orphan)[1] == "<none>"


def test_job_status_prefers_finished_conditions_over_terminating() -> None:
    job = {
        "metadata": {"name": "pi", "deletionTimestamp": ago(seconds=1)},
        "spec": {"completions": 1},
        "status": {"conditions": [{"type": "Failed", "status": "True"}]},
    }
    assert row("jobs.batch", job)[1] == "Failed"
    job["status"]["conditions"] = [{"type": "FailureTarget", "status": "True"}]
    assert row("jobs.batch", job)[1] == "Terminating"
