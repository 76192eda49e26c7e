"""Typed decoding: a wrong JSON type refuses the request, worded as each upstream path
words it, and nothing is stored (decoding.py through Api)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded import status
from kubecourse.embedded.api import WriteOptions
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY

CM = REGISTRY.get("configmaps")
SECRET = REGISTRY.get("secrets")
POD = REGISTRY.get("pods")
DEPLOY = REGISTRY.get("deployments.apps")
GATEWAY = REGISTRY.by_kind("gateway.networking.k8s.io/v1", "Gateway")


def refusal(call: Any) -> status.StatusError:
    with pytest.raises(status.StatusError) as raised:
        call()
    return raised.value


def deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx", **container}]
                },
            },
        },
    }


def test_a_number_in_configmap_data_cannot_be_handled_and_nothing_is_stored(
    api: ConvertingApi,
) -> None:
    err = refusal(
        lambda: api.create(
            CM, "default", {"metadata": {"name": "cfg"}, "data": {"port": 8080}}
        )
    )
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
        "number into Go struct field ConfigMap.data of type string"
    )
    assert api.store.get("configmaps", "default", "cfg") is None


def test_a_number_in_an_env_value_names_the_go_struct_and_json_path(
    api: ConvertingApi,
) -> None:
    err = refusal(
        lambda: api.create(
            DEPLOY, "default", deployment(env=[{"name": "PORT", "value": 8080}])
        )
    )
    assert err.message.endswith(
        "json: cannot unmarshal number into Go struct field "
        "EnvVar.spec.template.spec.containers.env.value of type string"
    )


@pytest.mark.parametrize(
    ("container", "tail"),
    [
        (
            {"ports": [{"containerPort": "80"}]},
            "string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
        ),
        (
            {"ports": [{"containerPort": 80, "protocol": 6}]},
            "number into Go struct field ContainerPort.spec.template.spec.containers.ports.protocol of type v1.Protocol",
        ),
        (
            {"ports": [{"containerPort": 1.5}]},
            "number 1.5 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
        ),
        (
            {"stdin": "yes"},
            "string into Go struct field Container.spec.template.spec.containers.stdin of type bool",
        ),
        (
            {"command": "sleep 10"},
            "string into Go struct field Container.spec.template.spec.containers.command of type []string",
        ),
        (
            {"resources": "big"},
            "string into Go struct field Container.spec.template.spec.containers.resources of type v1.ResourceRequirements",
        ),
    ],
)
def test_type_mismatches_read_like_the_go_decoder(
    api: ConvertingApi, container: dict[str, Any], tail: str
) -> None:
    err = refusal(lambda: api.create(DEPLOY, "default", deployment(**container)))
    assert (
        err.message
        == f'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal {tail}'
    )


def test_replicas_as_a_string_is_a_decoding_error_not_a_validation_one(
    api: ConvertingApi,
) -> None:
    body = deployment()
    body["spec"]["replicas"] = "2"
    err = refusal(lambda: api.create(DEPLOY, "default", body))
    assert (
        err.code == 400 and "DeploymentSpec.spec.replicas of type int32" in err.message
    )


def test_custom_decoders_stop_at_once_with_their_own_message(
    api: ConvertingApi,
) -> None:
    body = deployment(
        env=[{"name": "A", "value": 1}], resources={"limits": {"cpu": "lots"}}
    )
    err = refusal(lambda: api.create(DEPLOY, "default", body))
    assert err.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: quantities must match '
        "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    bad_surge = deployment()
    bad_surge["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": True},
    }
    err = refusal(lambda: api.create(DEPLOY, "default", bad_surge))
    assert err.message.endswith(
        "json: cannot unmarshal bool into Go value of type int32"
    )


def test_numbers_are_quantities_and_stay_accepted(api: ConvertingApi) -> None:
    created = api.create(
        DEPLOY,
        "default",
        deployment(resources={"limits": {"cpu": 1, "memory": "64Mi"}}),
    )
    assert (
        created["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
            "cpu"
        ]
        == 1
    )


def test_secret_data_that_is_not_base64_names_the_byte(api: ConvertingApi) -> None:
    err = refusal(
        lambda: api.create(
            SECRET, "default", {"metadata": {"name": "s"}, "data": {"p": "foo-bar"}}
        )
    )
    assert (
        err.message
        == 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3'
    )


def test_a_bad_timestamp_fails_as_time_parse_fails(api: ConvertingApi) -> None:
    body = {"metadata": {"name": "t", "creationTimestamp": "yesterday"}}
    err = refusal(lambda: api.create(CM, "default", body))
    assert err.message.endswith(
        'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'
    )


def test_an_update_and_the_status_subresource_decode_the_same_way(
    api: ConvertingApi,
) -> None:
    api.create(DEPLOY, "default", deployment())
    body = copy.deepcopy(api.get(DEPLOY, "default", "web"))
    body["status"] = {"replicas": "one"}
    err = refusal(
        lambda: api.update(DEPLOY, "default", "web", body, subresource="status")
    )
    assert "DeploymentStatus.status.replicas of type int32" in err.message


def test_a_merge_patch_result_that_does_not_decode_is_422_on_patch(
    api: ConvertingApi,
) -> None:
    api.create(DEPLOY, "default", deployment())
    err = refusal(
        lambda: api.patch(
            DEPLOY, "default", "web", "merge", {"spec": {"replicas": "3"}}
        )
    )
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message.startswith(
        ' "" is invalid: patch: Invalid value: "{\\"apiVersion\\":\\"apps/v1\\"'
    )
    assert err.message.endswith(
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    )
    assert err.details == {
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": err.message.split("patch: ", 1)[1],
                "field": "patch",
            }
        ]
    }


def test_a_strategic_patch_goes_through_the_unstructured_converter(
    api: ConvertingApi,
) -> None:
    api.create(DEPLOY, "default", deployment())
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "env": [{"name": "PORT", "value": 8080}]}
                    ]
                }
            }
        }
    }
    err = refusal(lambda: api.patch(DEPLOY, "default", "web", "strategic", patch))
    assert err.message == (
        ' "" is invalid: patch: Invalid value: "map[spec:map[template:map[spec:map[containers:'
        '[map[env:[map[name:PORT value:8080]] name:app]]]]]]": cannot convert int64 to string'
    )
    err = refusal(
        lambda: api.patch(
            DEPLOY, "default", "web", "strategic", {"spec": {"replicas": "3"}}
        )
    )
    assert err.message.endswith(": unrecognized type: int32")


def test_server_side_apply_lists_every_type_error_from_structured_merge_diff(
    api: ConvertingApi,
) -> None:
    intent = deployment(env=[{"name": "PORT", "value": 8080}])
    intent["spec"] = {"replicas": "3", **intent["spec"]}
    err = refusal(
        lambda: api.patch(
            DEPLOY, "default", "web", "apply", intent, WriteOptions(field_manager="me")
        )
    )
    assert (err.code, err.reason) == (500, "")
    assert err.message == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): errors:\n"
        "  .spec.replicas: expected numeric (int or float), got string\n"
        '  .spec.template.spec.containers[name="app"].env[name="PORT"].value: expected string, '
        "got &value.valueUnstructured{Value:8080}\n"
    )
    assert "reason" not in err.body()
    assert api.store.get("deployments.apps", "default", "web") is None


def test_gateway_api_kinds_answer_structural_schema_errors(api: ConvertingApi) -> None:
    body = {
        "metadata": {"name": "g"},
        "spec": {
            "gatewayClassName": 5,
            "listeners": [{"name": "h", "port": "80", "protocol": "HTTP"}],
        },
    }
    err = refusal(lambda: api.create(GATEWAY, "default", body))
    assert err.code == 422
    assert [c["message"] for c in err.details["causes"]] == [
        'Invalid value: "integer": spec.gatewayClassName in body must be of type string: "integer"',
        'Invalid value: "string": spec.listeners[0].port in body must be of type integer: "string"',
    ]


def test_unknown_fields_are_found_in_the_same_pass(api: ConvertingApi) -> None:
    err = refusal(
        lambda: api.create(
            CM,
            "default",
            {"metadata": {"name": "u"}, "dta": {}},
            WriteOptions(field_validation="Strict"),
        )
    )
    assert err.message == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        'strict decoding error: unknown field "dta"'
    )
    api.create(DEPLOY, "default", deployment())
    err = refusal(
        lambda: api.patch(
            DEPLOY,
            "default",
            "web",
            "strategic",
            {"spec": {"replicass": 2}},
            WriteOptions(field_validation="Strict"),
        )
    )
    assert err.code == 422 and err.message.endswith(
        'strict decoding error: unknown field "spec.replicass"'
    )


def test_a_null_container_decodes_to_an_empty_one_and_fails_validation(
    api: ConvertingApi,
) -> None:
    body = {"metadata": {"name": "p"}, "spec": {"containers": [None]}}
    err = refusal(lambda: api.create(POD, "default", body))
    assert err.code == 422 and "spec.containers[0].name: Required value" in err.message


def test_a_strict_create_names_the_kind_it_cannot_handle(api: ConvertingApi) -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"foo": 1, "containers": [{"name": "a", "image": "nginx"}]},
    }
    err = refusal(
        lambda: api.create(POD, "default", pod, WriteOptions(field_validation="Strict"))
    )
    assert (err.code, err.message) == (
        400,
        'Pod in version "v1" cannot be handled as a Pod: '
        'strict decoding error: unknown field "spec.foo"',
    )


@pytest.mark.parametrize("validation", ["Strict", "Warn", "Ignore"])
def test_server_side_apply_refuses_an_undeclared_field_whatever_field_validation(
    api: ConvertingApi, validation: str
) -> None:
    intent = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa"},
        "spec": {"replicaz": 1},
    }
    options = WriteOptions(field_manager="me", field_validation=validation)
    err = refusal(lambda: api.patch(DEPLOY, "default", "ssa", "apply", intent, options))
    assert (err.code, err.message) == (
        500,
        "failed to create typed patch object (default/ssa; apps/v1, Kind=Deployment): "
        ".spec.replicaz: field not declared in schema",
    )
    assert api.store.get("deployments.apps", "default", "ssa") is None


def test_server_side_apply_refuses_a_repeated_list_map_key(api: ConvertingApi) -> None:
    intent = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "twins"},
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx"},
                {"name": "app", "image": "busybox", "imagee": "x"},
            ]
        },
    }
    options = WriteOptions(field_manager="me")
    err = refusal(lambda: api.patch(POD, "default", "twins", "apply", intent, options))
    assert err.message == (
        "failed to create typed patch object (default/twins; /v1, Kind=Pod): errors:\n"
        '  .spec.containers: duplicate entries for key [name="app"]\n'
        '  .spec.containers[name="app"].imagee: field not declared in schema\n'
    )


@pytest.mark.parametrize("given", [None, "apps/v1beta2"])
def test_server_side_apply_with_another_api_version_is_a_bad_request(
    api: ConvertingApi, given: str | None
) -> None:
    intent: dict[str, Any] = {"kind": "Deployment", "metadata": {"name": "v"}}
    if given:
        intent["apiVersion"] = given
    options = WriteOptions(field_manager="me")
    err = refusal(lambda: api.patch(DEPLOY, "default", "v", "apply", intent, options))
    assert (err.code, err.message) == (
        400,
        "Incorrect version specified in apply patch. "
        f"Specified patch version: {given or ''}, expected: apps/v1",
    )
