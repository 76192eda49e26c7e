"""The service registry (services.py, nodeports.py) through Api: NodePorts allocated,
refused and released, and a change of `type` followed through as upstream."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from kubecourse.embedded import ipaddresses, nodeports, status
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store

SVC = REGISTRY.get("services")


@pytest.fixture
def api() -> ConvertingApi:
    return _api(Store())


def _api(store: Store) -> ConvertingApi:
    api = ConvertingApi(store)
    api.ensure_namespace("default")
    ipaddresses.ensure(api, "2026-01-01T00:00:00Z")
    return api


def service(name: str, *ports: dict[str, Any], **spec: Any) -> dict[str, Any]:
    listed = list(ports) or [{"name": "http", "port": 80}]
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": listed, **spec},
    }


def create(api: ConvertingApi, body: dict[str, Any]) -> dict[str, Any]:
    return api.create(SVC, "default", body)


def patch(api: ConvertingApi, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return api.patch(SVC, "default", name, "strategic", {"spec": spec})


def refusal(call: Any) -> status.StatusError:
    with pytest.raises(status.StatusError) as raised:
        call()
    return raised.value


def node_ports(obj: dict[str, Any]) -> list[Any]:
    return [p.get("nodePort") for p in obj["spec"]["ports"]]


def ip_addresses(api: ConvertingApi) -> set[str]:
    return ipaddresses.allocated(api.store)


# ---------------------------------------------------------------- the allocator


def test_the_static_band_of_the_default_range_is_its_first_86_ports() -> None:
    assert nodeports.range_offset(2768) == 86
    assert nodeports.range_offset(16) == 0
    assert nodeports.range_offset(100) == 16
    assert nodeports.range_offset(100_000) == 128


def test_chosen_ports_are_random_and_come_from_the_upper_band() -> None:
    allocation = nodeports.Allocation(set(), random.Random(7))
    chosen = [allocation.allocate_next() for _ in range(50)]
    assert len(set(chosen)) == 50
    assert all(30086 <= port <= 32767 for port in chosen)
    assert chosen != sorted(chosen)


def test_the_lower_band_is_used_only_when_the_upper_band_is_full() -> None:
    upper = set(range(30086, 32768))
    allocation = nodeports.Allocation(upper, random.Random(1))
    assert 30000 <= allocation.allocate_next() < 30086
    full = nodeports.Allocation(set(range(30000, 32768)), random.Random(1))
    with pytest.raises(nodeports.PortError, match="^range is full$"):
        full.allocate_next()


def test_an_explicit_port_must_be_in_range_and_free() -> None:
    allocation = nodeports.Allocation({30080}, random.Random(1))
    with pytest.raises(
        nodeports.PortError, match="^provided port is already allocated$"
    ):
        allocation.allocate(30080)
    with pytest.raises(nodeports.PortError) as raised:
        allocation.allocate(80)
    assert str(raised.value) == (
        "provided port is not in the valid range. The range of valid ports is 30000-32767"
    )
    allocation.allocate(30123)
    assert 30123 in allocation.used


# ---------------------------------------------------------------- create


def test_a_node_port_service_gets_a_port_from_the_upper_band(
    api: ConvertingApi,
) -> None:
    created = create(api, service("web", type="NodePort"))
    (port,) = node_ports(created)
    assert 30086 <= port <= 32767
    assert created["spec"]["externalTrafficPolicy"] == "Cluster"


def test_a_node_port_held_by_another_service_is_already_allocated(
    api: ConvertingApi,
) -> None:
    create(api, service("a", {"port": 80, "nodePort": 30123}, type="NodePort"))
    error = refusal(
        lambda: create(
            api, service("b", {"port": 80, "nodePort": 30123}, type="NodePort")
        )
    )
    assert error.code == 422
    assert error.message == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30123: '
        "provided port is already allocated"
    )


def test_a_node_port_asked_twice_in_one_service_is_already_allocated(
    api: ConvertingApi,
) -> None:
    body = service(
        "b",
        {"name": "a", "port": 80, "nodePort": 30123},
        {"name": "b", "port": 81, "nodePort": 30123},
        type="NodePort",
    )
    error = refusal(lambda: create(api, body))
    assert error.details["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.ports[1].nodePort",
            "message": "Invalid value: 30123: provided port is already allocated",
        }
    ]


def test_a_node_port_outside_the_range_is_refused_before_validation(
    api: ConvertingApi,
) -> None:
    body = service(
        "b", {"port": 80, "nodePort": 80, "protocol": "tcp"}, type="NodePort"
    )
    error = refusal(lambda: create(api, body))
    assert error.message == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided '
        "port is not in the valid range. The range of valid ports is 30000-32767"
    )


def test_one_port_number_on_two_protocols_shares_one_node_port(
    api: ConvertingApi,
) -> None:
    body = service(
        "dns",
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        type="NodePort",
    )
    first, second = node_ports(create(api, body))
    assert first == second


def test_a_load_balancer_gets_node_ports_unless_it_opts_out(api: ConvertingApi) -> None:
    created = create(api, service("lb", type="LoadBalancer"))
    assert created["spec"]["allocateLoadBalancerNodePorts"] is True
    assert node_ports(created)[0]
    assert created["status"] == {"loadBalancer": {}}
    bare = create(
        api, service("bare", type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    )
    assert node_ports(bare) == [None]


def test_a_dry_run_holds_no_node_port(api: ConvertingApi) -> None:
    from kubecourse.embedded.api import WriteOptions

    body = service("dry", {"port": 80, "nodePort": 30123}, type="NodePort")
    api.create(SVC, "default", body, WriteOptions(dry_run=True))
    assert node_ports(
        create(api, service("real", {"port": 80, "nodePort": 30123}, type="NodePort"))
    ) == [30123]


# ---------------------------------------------------------------- type changes


def test_a_service_patched_to_node_port_gets_a_node_port_and_a_traffic_policy(
    api: ConvertingApi,
) -> None:
    create(api, service("web"))
    patched = patch(api, "web", {"type": "NodePort"})
    assert node_ports(patched)[0] >= 30086
    assert patched["spec"]["externalTrafficPolicy"] == "Cluster"


def test_a_node_port_service_turned_cluster_ip_loses_and_frees_its_node_ports(
    api: ConvertingApi,
) -> None:
    create(api, service("web", {"port": 80, "nodePort": 30123}, type="NodePort"))
    patched = patch(api, "web", {"type": "ClusterIP"})
    assert node_ports(patched) == [None]
    assert "externalTrafficPolicy" not in patched["spec"]
    again = create(
        api, service("next", {"port": 80, "nodePort": 30123}, type="NodePort")
    )
    assert node_ports(again) == [30123]


def test_turning_cluster_ip_while_changing_the_node_port_is_forbidden(
    api: ConvertingApi,
) -> None:
    create(api, service("web", {"port": 80, "nodePort": 30123}, type="NodePort"))
    error = refusal(
        lambda: patch(
            api,
            "web",
            {"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30124}]},
        )
    )
    assert error.message == (
        'Service "web" is invalid: spec.ports[0].nodePort: Forbidden: may not be used '
        "when `type` is 'ClusterIP'"
    )


def test_a_deleted_service_frees_its_node_port(api: ConvertingApi) -> None:
    create(api, service("web", {"port": 80, "nodePort": 30123}, type="NodePort"))
    api.delete(SVC, "default", "web")
    again = create(
        api, service("next", {"port": 80, "nodePort": 30123}, type="NodePort")
    )
    assert node_ports(again) == [30123]


def test_an_update_that_leaves_out_node_ports_keeps_them_by_port_name(
    api: ConvertingApi,
) -> None:
    created = create(api, service("web", type="NodePort"))
    body = service("web", {"name": "http", "port": 80}, type="NodePort")
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    replaced = api.update(SVC, "default", "web", body)
    assert node_ports(replaced) == node_ports(created)


def test_an_update_adding_a_port_held_elsewhere_is_already_allocated(
    api: ConvertingApi,
) -> None:
    create(api, service("a", {"port": 80, "nodePort": 30123}, type="NodePort"))
    create(api, service("b", type="NodePort"))
    error = refusal(
        lambda: patch(
            api, "b", {"ports": [{"name": "http", "port": 80, "nodePort": 30123}]}
        )
    )
    assert error.message == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30123: '
        "provided port is already allocated"
    )


def test_a_service_turned_external_name_loses_its_address(api: ConvertingApi) -> None:
    created = create(api, service("web"))
    ip = created["spec"]["clusterIP"]
    assert ip in ip_addresses(api)
    patched = api.patch(
        SVC,
        "default",
        "web",
        "merge",
        {"spec": {"type": "ExternalName", "externalName": "example.com"}},
    )
    spec = patched["spec"]
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert field not in spec
    assert ip not in ip_addresses(api)


def test_an_external_name_service_turned_cluster_ip_is_given_an_address(
    api: ConvertingApi,
) -> None:
    create(api, service("ext", type="ExternalName", externalName="example.com"))
    assert not ip_addresses(api) - {"10.96.0.1"}
    patched = api.patch(
        SVC,
        "default",
        "ext",
        "merge",
        {"spec": {"type": "ClusterIP", "externalName": None}},
    )
    spec = patched["spec"]
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["clusterIP"] in ip_addresses(api)


def test_a_load_balancer_turned_cluster_ip_drops_its_load_balancer_fields(
    api: ConvertingApi,
) -> None:
    create(api, service("web"))
    balanced = patch(api, "web", {"type": "LoadBalancer"})
    assert balanced["spec"]["allocateLoadBalancerNodePorts"] is True
    assert node_ports(balanced)[0]
    back = patch(api, "web", {"type": "ClusterIP"})
    for field in ("allocateLoadBalancerNodePorts", "externalTrafficPolicy"):
        assert field not in back["spec"]
    assert node_ports(back) == [None]


# ---------------------------------------------------------------- restart


def test_node_ports_held_before_a_restart_are_still_held_after_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.sqlite"
    first = _api(Store(db))
    create(first, service("web", {"port": 80, "nodePort": 30123}, type="NodePort"))
    first.store.close()
    second = _api(Store(db))
    error = refusal(
        lambda: create(
            second, service("b", {"port": 80, "nodePort": 30123}, type="NodePort")
        )
    )
    assert "provided port is already allocated" in error.message


# ---------------------------------------------------------------- validation


def test_an_unknown_session_affinity_is_unsupported(api: ConvertingApi) -> None:
    error = refusal(lambda: create(api, service("web", sessionAffinity="Sticky")))
    assert error.message == (
        'Service "web" is invalid: spec.sessionAffinity: Unsupported value: "Sticky": '
        'supported values: "ClientIP", "None"'
    )


def test_an_external_name_service_needs_its_name(api: ConvertingApi) -> None:
    error = refusal(lambda: create(api, service("ext", type="ExternalName")))
    assert (
        error.message == 'Service "ext" is invalid: spec.externalName: Required value'
    )


def test_a_traffic_policy_on_a_cluster_ip_service_is_invalid(
    api: ConvertingApi,
) -> None:
    error = refusal(lambda: create(api, service("web", externalTrafficPolicy="Local")))
    assert error.message == (
        'Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": '
        "may only be set for externally-accessible services"
    )


def test_a_repeated_port_and_protocol_is_a_duplicate(api: ConvertingApi) -> None:
    body = service("web", {"name": "a", "port": 80}, {"name": "b", "port": 80})
    error = refusal(lambda: create(api, body))
    assert error.details["causes"] == [
        {
            "reason": "FieldValueDuplicate",
            "field": "spec.ports[1]",
            "message": 'Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,'
            '"Port":80,"TargetPort":0,"NodePort":0}',
        }
    ]
