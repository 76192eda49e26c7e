"""Spec rules of Ingress, IngressClass, NetworkPolicy, Endpoints, PVC, PV, StatefulSet,
Deployment, Node, Lease and the Gateway API kinds, with upstream's paths and messages
(validation_network.py, validation_kinds.py, validation_crd.py, through `Api`)."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from tests.unit.refusals import causes_of

INGRESS = REGISTRY.get("ingresses.networking.k8s.io")
INGRESS_CLASS = REGISTRY.get("ingressclasses.networking.k8s.io")
POLICY = REGISTRY.get("networkpolicies.networking.k8s.io")
ENDPOINTS = REGISTRY.get("endpoints")
PVC = REGISTRY.get("persistentvolumeclaims")
PV = REGISTRY.get("persistentvolumes")
STS = REGISTRY.get("statefulsets.apps")
DEPLOY = REGISTRY.get("deployments.apps")
RS = REGISTRY.get("replicasets.apps")
NODE = REGISTRY.get("nodes")
LEASE = REGISTRY.get("leases.coordination.k8s.io")
GATEWAY = REGISTRY.by_kind("gateway.networking.k8s.io/v1", "Gateway")
ROUTE = REGISTRY.by_kind("gateway.networking.k8s.io/v1", "HTTPRoute")
PORT_RANGE = "must be between 1 and 65535, inclusive"


def ingress_path(**path: Any) -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    return {"path": "/", "pathType": "Prefix", "backend": backend, **path}


def ingress(*paths: dict[str, Any], host: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": list(paths)}}
    if host is not None:
        rule["host"] = host
    return {"metadata": {"name": "web"}, "spec": {"rules": [rule]}}


def test_a_wildcard_host_may_have_one_star_in_front(api: ConvertingApi) -> None:
    body = ingress(ingress_path(), host="*.*.example.com")
    assert causes_of(lambda: api.create(INGRESS, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.rules[0].host",
            'Invalid value: "*.*.example.com": a wildcard DNS-1123 subdomain must start '
            "with '*.', followed by a valid DNS subdomain, which must consist of lower "
            "case alphanumeric characters, '-' or '.' and end with an alphanumeric "
            "character (e.g. '*.example.com', regex used for validation is "
            r"'\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )
    ]


def test_ingress_paths_types_and_backends_are_checked(api: ConvertingApi) -> None:
    body = ingress(
        ingress_path(path="foo"),
        ingress_path(pathType="Fuzzy"),
        ingress_path(backend={"service": {"name": "web"}}),
        {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
    )
    here = "spec.rules[0].http.paths"
    assert causes_of(lambda: api.create(INGRESS, "default", body)) == [
        (
            "FieldValueInvalid",
            f"{here}[0].path",
            'Invalid value: "foo": must be an absolute path',
        ),
        (
            "FieldValueNotSupported",
            f"{here}[1].pathType",
            'Unsupported value: "Fuzzy": supported values: "Exact", '
            '"ImplementationSpecific", "Prefix"',
        ),
        (
            "FieldValueRequired",
            f"{here}[2].backend",
            "Required value: port name or number is required",
        ),
        (
            "FieldValueRequired",
            f"{here}[3].pathType",
            "Required value: pathType must be specified",
        ),
    ]


def test_a_valid_ingress_is_accepted(api: ConvertingApi) -> None:
    body = ingress(ingress_path(path="/api", pathType="Exact"), host="*.example.com")
    assert api.create(INGRESS, "default", body)["metadata"]["name"] == "web"


def test_an_ingress_class_controller_is_a_domain_prefixed_path(
    api: ConvertingApi,
) -> None:
    body = {"metadata": {"name": "c"}, "spec": {"controller": "traefik"}}
    assert causes_of(lambda: api.create(INGRESS_CLASS, None, body)) == [
        (
            "FieldValueInvalid",
            "spec.controller",
            'Invalid value: "traefik": must be a domain-prefixed path (such as "acme.io/foo")',
        )
    ]


def test_network_policy_types_cidrs_and_ports_are_checked(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "np"},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Inbound"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}],
                    "ports": [{"port": 99999}],
                }
            ],
        },
    }
    assert causes_of(lambda: api.create(POLICY, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.ingress[0].ports[0].port",
            f"Invalid value: 99999: {PORT_RANGE}",
        ),
        (
            "FieldValueInvalid",
            "spec.ingress[0].from[0].ipBlock.cidr",
            'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        ),
        (
            "FieldValueNotSupported",
            "spec.policyTypes[0]",
            'Unsupported value: "Inbound": supported values: "Ingress", "Egress"',
        ),
    ]


def test_endpoints_addresses_may_not_be_invalid_or_loopback(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "manual"},
        "subsets": [
            {
                "addresses": [{"ip": "999.0.0.1"}, {"ip": "127.0.0.1"}],
                "ports": [{"port": 0}],
            }
        ],
    }
    assert causes_of(lambda: api.create(ENDPOINTS, "default", body)) == [
        (
            "FieldValueInvalid",
            "subsets[0].addresses[0].ip",
            'Invalid value: "999.0.0.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
        ),
        (
            "FieldValueInvalid",
            "subsets[0].addresses[0].ip",
            'Invalid value: "999.0.0.1": must be a valid IP address',
        ),
        (
            "FieldValueInvalid",
            "subsets[0].addresses[1].ip",
            'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
        ),
        (
            "FieldValueInvalid",
            "subsets[0].ports[0].port",
            f"Invalid value: 0: {PORT_RANGE}",
        ),
    ]


def test_endpoint_ports_get_the_tcp_protocol(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "manual"},
        "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}],
    }
    created = api.create(ENDPOINTS, "default", body)
    assert created["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_a_claims_access_modes_and_storage_are_checked(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteSometimes"],
            "resources": {"requests": {"storage": "-1Gi"}},
        },
    }
    assert causes_of(lambda: api.create(PVC, "default", body)) == [
        (
            "FieldValueNotSupported",
            "spec.accessModes",
            'Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
            '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        ),
        (
            "FieldValueInvalid",
            "spec.resources[storage]",
            'Invalid value: "-1Gi": must be greater than zero',
        ),
    ]


def test_a_persistent_volume_needs_a_volume_source(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "pv1"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
    }
    assert causes_of(lambda: api.create(PV, None, body)) == [
        ("FieldValueRequired", "spec", "Required value: must specify a volume type")
    ]


def labelled(name: str, **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    body = {"selector": {"matchLabels": labels}, "template": template, **spec}
    return {"metadata": {"name": name}, "spec": body}


def test_a_statefulset_pod_management_policy_is_one_of_two(api: ConvertingApi) -> None:
    body = labelled("db", podManagementPolicy="Random")
    assert causes_of(lambda: api.create(STS, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.podManagementPolicy",
            "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        )
    ]


def test_deployment_counters_may_not_be_negative(api: ConvertingApi) -> None:
    body = labelled("web", minReadySeconds=-1, revisionHistoryLimit=-1)
    assert causes_of(lambda: api.create(DEPLOY, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.minReadySeconds",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "FieldValueInvalid",
            "spec.revisionHistoryLimit",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
    ]


@pytest.mark.parametrize("rt", [DEPLOY, RS])
def test_an_empty_selector_is_invalid_for_deployment(
    api: ConvertingApi, rt: Any
) -> None:
    body = labelled("web")
    body["spec"]["selector"] = {}
    assert causes_of(lambda: api.create(rt, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: {}: empty selector is invalid for deployment",
        )
    ]


def test_a_missing_selector_is_required_and_matches_no_template(
    api: ConvertingApi,
) -> None:
    body = labelled("web")
    del body["spec"]["selector"]
    assert causes_of(lambda: api.create(DEPLOY, "default", body)) == [
        ("FieldValueRequired", "spec.selector", "Required value"),
        (
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
        ),
    ]


def test_a_node_taint_effect_is_one_of_three(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "k", "value": "v", "effect": "Sometimes"}]},
    }
    assert causes_of(lambda: api.create(NODE, None, body)) == [
        (
            "FieldValueNotSupported",
            "spec.taints[0].effect",
            'Unsupported value: "Sometimes": supported values: "NoSchedule", '
            '"PreferNoSchedule", "NoExecute"',
        )
    ]


def test_a_lease_duration_is_positive(api: ConvertingApi) -> None:
    body = {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": -5}}
    assert causes_of(lambda: api.create(LEASE, "default", body)) == [
        (
            "FieldValueInvalid",
            "spec.leaseDurationSeconds",
            "Invalid value: -5: must be greater than 0",
        )
    ]


def test_an_http_route_path_type_is_checked_against_the_crd_enum(
    api: ConvertingApi,
) -> None:
    match = {"path": {"type": "Regexish", "value": "/"}}
    body = {"metadata": {"name": "r"}, "spec": {"rules": [{"matches": [match]}]}}
    assert causes_of(lambda: api.create(ROUTE, "default", body)) == [
        (
            "FieldValueNotSupported",
            "spec.rules[0].matches[0].path.type",
            'Unsupported value: "Regexish": supported values: "Exact", "PathPrefix", '
            '"RegularExpression"',
        )
    ]


def test_gateway_listener_names_are_list_map_keys(api: ConvertingApi) -> None:
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    body = {
        "metadata": {"name": "g"},
        "spec": {
            "gatewayClassName": "traefik",
            "listeners": [listener, {**listener, "port": 8080}],
        },
    }
    assert causes_of(lambda: api.create(GATEWAY, "default", body)) == [
        ("FieldValueDuplicate", "spec.listeners[1]", 'Duplicate value: {"name":"http"}')
    ]
