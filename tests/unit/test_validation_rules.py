"""Validation with upstream's field paths, cause reasons and messages (validation*.py
through Api, so the kinds' whole create and update paths are exercised)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from kubecourse.embedded import status
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from tests.unit.refusals import causes_of

CM = REGISTRY.get("configmaps")
SECRET = REGISTRY.get("secrets")
POD = REGISTRY.get("pods")
SVC = REGISTRY.get("services")
DEPLOY = REGISTRY.get("deployments.apps")
QUALIFIED_REGEX = (
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def pod(**container: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox", **container}]},
    }


def test_label_keys_and_values_get_upstreams_messages(api: ConvertingApi) -> None:
    body = pod()
    body["metadata"]["labels"] = {
        "a/b/c": "x",
        "Example.COM/x": "y",
        "-x/y": "z",
        "ok": "v" * 64,
    }
    messages = [
        m
        for _, f, m in causes_of(lambda: api.create(POD, "default", body))
        if f == "metadata.labels"
    ]
    assert messages[0].startswith(
        'Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters'
    )
    assert messages[0].endswith(
        f"{QUALIFIED_REGEX} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    )
    assert messages[1].startswith(
        'Invalid value: "Example.COM/x": prefix part a lowercase RFC 1123 subdomain must consist of'
    )
    assert messages[2].startswith(
        'Invalid value: "-x/y": prefix part a lowercase RFC 1123 subdomain'
    )
    assert (
        messages[3]
        == f'Invalid value: "{"v" * 64}": must be no more than 63 characters'
    )


def test_annotation_keys_and_the_total_size_are_checked(api: ConvertingApi) -> None:
    body = pod()
    body["metadata"]["annotations"] = {
        "bad key": "v",
        "Upper.Case/Fine": "v",
        "big": "x" * (256 * 1024),
    }
    causes = causes_of(lambda: api.create(POD, "default", body))
    assert causes == [
        (
            "FieldValueInvalid",
            "metadata.annotations",
            'Invalid value: "bad key": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            f"'my.name',  or '123-abc', {QUALIFIED_REGEX}",
        ),
        (
            "FieldValueTooLong",
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes",
        ),
    ]


def test_a_pod_without_a_name_is_422_not_a_server_error(api: ConvertingApi) -> None:
    body = pod()
    body["metadata"] = {}
    assert causes_of(lambda: api.create(POD, "default", body)) == [
        (
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required",
        )
    ]


def test_container_rules_name_the_field_and_the_reason(api: ConvertingApi) -> None:
    body = pod(
        imagePullPolicy="Sometimes",
        ports=[
            {"containerPort": 80, "protocol": "tcp", "name": "http"},
            {"containerPort": 81, "name": "http"},
            {"containerPort": 82, "name": "averyveryverylong"},
        ],
        env=[
            {
                "name": "A",
                "value": "x",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
            }
        ],
        volumeMounts=[{"name": "data", "mountPath": "/d"}],
        resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1", "memory": "-1"}},
    )
    causes = causes_of(lambda: api.create(POD, "default", body))
    assert (
        "FieldValueNotSupported",
        "spec.containers[0].ports[0].protocol",
        'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
    ) in causes
    assert (
        "FieldValueDuplicate",
        "spec.containers[0].ports[1].name",
        'Duplicate value: "http"',
    ) in causes
    assert (
        "FieldValueInvalid",
        "spec.containers[0].ports[2].name",
        'Invalid value: "averyveryverylong": must be no more than 15 characters',
    ) in causes
    assert (
        "FieldValueNotSupported",
        "spec.containers[0].imagePullPolicy",
        'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    ) in causes
    assert (
        "FieldValueInvalid",
        "spec.containers[0].env[0].valueFrom",
        'Invalid value: "": may not be specified when `value` is not empty',
    ) in causes
    assert (
        "FieldValueNotFound",
        "spec.containers[0].volumeMounts[0].name",
        'Not found: "data"',
    ) in causes
    assert (
        "FieldValueInvalid",
        "spec.containers[0].resources.limits[memory]",
        'Invalid value: "-1": must be greater than or equal to 0',
    ) in causes
    assert (
        "FieldValueInvalid",
        "spec.containers[0].resources.requests[cpu]",
        'Invalid value: "2": must be less than or equal to cpu limit of 1',
    ) in causes


def service(**spec: Any) -> dict[str, Any]:
    ports = [{"name": "http", "port": 80, "targetPort": 8080}]
    return {
        "metadata": {"name": "svc"},
        "spec": {"selector": {"app": "web"}, "ports": ports, **spec},
    }


def test_service_rules_have_upstreams_messages(api: ConvertingApi) -> None:
    body = service(
        type="NodePort",
        ports=[
            {"name": "a", "port": 80, "protocol": "tcp"},
            {"name": "b", "port": 81, "targetPort": "bad_name"},
            {"name": "c", "port": 81},
        ],
        selector={"bad key": "x"},
        clusterIP="1.2.3.4",
    )
    causes = causes_of(lambda: api.create(SVC, "default", body))
    assert (
        "FieldValueNotSupported",
        "spec.ports[0].protocol",
        'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
    ) in causes
    assert (
        "FieldValueInvalid",
        "spec.ports[1].targetPort",
        'Invalid value: "bad_name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ) in causes
    assert any(
        f == "spec.ports[2]" and r == "FieldValueDuplicate" for r, f, _ in causes
    )
    assert any(
        f == "spec.selector"
        and m.startswith('Invalid value: "bad key": name part must consist')
        for _, f, m in causes
    )
    assert (
        "FieldValueInvalid",
        "spec.clusterIPs",
        'Invalid value: ["1.2.3.4"]: failed to allocate IP 1.2.3.4: the '
        "provided IP (1.2.3.4) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
    ) in causes


def deployment(
    strategy: dict[str, Any] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    labels = labels or {"app": "web"}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"metadata": {"name": "web"}, "spec": spec}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            {"type": "Rolling"},
            (
                "FieldValueNotSupported",
                "spec.strategy.type",
                'Unsupported value: "Rolling": supported values: "Recreate", "RollingUpdate"',
            ),
        ),
        (
            {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}},
            (
                "FieldValueForbidden",
                "spec.strategy.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            ),
        ),
        (
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0},
            },
            (
                "FieldValueInvalid",
                "spec.strategy.rollingUpdate.maxUnavailable",
                "Invalid value: 0: may not be 0 when `maxSurge` is 0",
            ),
        ),
    ],
)
def test_deployment_strategy_rules(
    api: ConvertingApi, strategy: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert expected in causes_of(
        lambda: api.create(DEPLOY, "default", deployment(strategy))
    )


def test_an_unparsable_selector_is_an_invalid_label_selector_not_a_mismatch(
    api: ConvertingApi,
) -> None:
    body = deployment(labels={"app": "w" * 64})
    causes = causes_of(lambda: api.create(DEPLOY, "default", body))
    assert (
        "FieldValueInvalid",
        "spec.selector",
        f'Invalid value: {{"matchLabels":{{"app":"{"w" * 64}"}}}}: invalid label selector',
    ) in causes
    assert all("does not match" not in m for _, _, m in causes)


def test_the_immutable_selector_prints_the_selector_as_json(api: ConvertingApi) -> None:
    api.create(DEPLOY, "default", deployment())
    changed = copy.deepcopy(api.get(DEPLOY, "default", "web"))
    changed["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert causes_of(lambda: api.update(DEPLOY, "default", "web", changed)) == [
        (
            "FieldValueInvalid",
            "spec.selector",
            'Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable',
        )
    ]


def test_configmap_keys_size_and_immutability(api: ConvertingApi) -> None:
    bad = {
        "metadata": {"name": "cm"},
        "data": {"bad key": "1", "../x": "2"},
        "binaryData": {"bad key": "MQ=="},
    }
    causes = causes_of(lambda: api.create(CM, "default", bad))
    assert (
        "FieldValueInvalid",
        "data[bad key]",
        'Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
        "for validation is '[-._a-zA-Z0-9]+')",
    ) in causes
    assert (
        "FieldValueInvalid",
        "data[../x]",
        "Invalid value: \"../x\": must not start with '..'",
    ) in causes
    assert (
        "FieldValueInvalid",
        "data[bad key]",
        'Invalid value: "bad key": duplicate of key present in binaryData',
    ) in causes
    with pytest.raises(status.StatusError) as raised:
        api.create(
            CM,
            "default",
            {"metadata": {"name": "big"}, "data": {"x": "y" * (1024 * 1024 + 1)}},
        )
    assert (
        raised.value.message
        == 'ConfigMap "big" is invalid: : Too long: may not be more than 1048576 bytes'
    )

    api.create(
        CM,
        "default",
        {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True},
    )
    thawed = copy.deepcopy(api.get(CM, "default", "frozen"))
    thawed["data"]["a"], thawed["immutable"] = "2", False
    assert causes_of(lambda: api.update(CM, "default", "frozen", thawed)) == [
        (
            "FieldValueForbidden",
            "immutable",
            "Forbidden: field is immutable when `immutable` is set",
        ),
        (
            "FieldValueForbidden",
            "data",
            "Forbidden: field is immutable when `immutable` is set",
        ),
    ]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("kind", "data", "fields"),
    [
        ("kubernetes.io/tls", {}, ["data[tls.crt]", "data[tls.key]"]),
        ("kubernetes.io/dockerconfigjson", {}, ["data[.dockerconfigjson]"]),
        ("kubernetes.io/basic-auth", {}, ["data[username]", "data[password]"]),
        ("kubernetes.io/ssh-auth", {"other": b64("x")}, ["data[ssh-privatekey]"]),
    ],
)
def test_secret_types_require_their_keys(
    api: ConvertingApi, kind: str, data: dict[str, str], fields: list[str]
) -> None:
    body = {"metadata": {"name": "s"}, "type": kind, "data": data}
    assert causes_of(lambda: api.create(SECRET, "default", body)) == [
        ("FieldValueRequired", f, "Required value") for f in fields
    ]


def test_a_docker_config_secret_must_hold_json_and_its_type_is_immutable(
    api: ConvertingApi,
) -> None:
    body = {
        "metadata": {"name": "reg"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": b64("{nope")},
    }
    assert causes_of(lambda: api.create(SECRET, "default", body)) == [
        (
            "FieldValueInvalid",
            "data[.dockerconfigjson]",
            "Invalid value: \"<secret contents redacted>\": invalid character 'n' looking for beginning of object key string",
        )
    ]
    api.create(
        SECRET, "default", {"metadata": {"name": "plain"}, "data": {"a": b64("1")}}
    )
    retyped = copy.deepcopy(api.get(SECRET, "default", "plain"))
    retyped["type"] = "kubernetes.io/basic-auth"
    assert (
        "FieldValueInvalid",
        "type",
        'Invalid value: "kubernetes.io/basic-auth": field is immutable',
    ) in causes_of(lambda: api.update(SECRET, "default", "plain", retyped))
