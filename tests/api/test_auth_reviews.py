"""`kubectl auth whoami|can-i`, `kubectl create token` and the review APIs behind them."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from subprocess import CompletedProcess
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded import auth
from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually
from tests.api.rawhttp import request

Kubectl = Callable[..., CompletedProcess[str]]
ADMIN_REASON = (
    'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole '
    '"cluster-admin" to Group "kubeadm:cluster-admins"'
)
SA_USER = "system:serviceaccount:default:default"


def claims(token: str) -> Any:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sa_token(core: k8s.CoreV1Api, name: str = "default", **spec: Any) -> str:
    eventually(lambda: _exists(core, name), what=f"service account {name}")
    made = core.create_namespaced_service_account_token(name, "default", {"spec": spec})
    token: str = made.status.token
    return token


def _exists(core: k8s.CoreV1Api, name: str) -> bool:
    return any(
        sa.metadata.name == name
        for sa in core.list_namespaced_service_account("default").items
    )


# ---- the admin ---------------------------------------------------------------------


def test_kubectl_auth_whoami_is_kinds_admin(kubectl: Kubectl) -> None:
    assert kubectl("auth", "whoami").stdout.splitlines() == [
        "ATTRIBUTE   VALUE",
        "Username    kubernetes-admin",
        "Groups      [kubeadm:cluster-admins system:authenticated]",
    ]


def test_kubectl_auth_can_i_says_yes_to_the_admin(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "create", "deployments").stdout == "yes\n"
    assert kubectl("auth", "can-i", "get", "/logs").stdout == "yes\n"
    listed = kubectl("auth", "can-i", "--list").stdout.splitlines()
    assert listed[0].split() == [
        "Resources",
        "Non-Resource",
        "URLs",
        "Resource",
        "Names",
        "Verbs",
    ]
    assert listed[1].split() == ["*.*", "[]", "[]", "[*]"]
    assert [
        "selfsubjectaccessreviews.authorization.k8s.io",
        "[]",
        "[]",
        "[create]",
    ] in [line.split() for line in listed]


def test_python_client_reviews_deserialise_as_typed_models(
    api_client: k8s.ApiClient,
) -> None:
    authz, authn = (
        k8s.AuthorizationV1Api(api_client),
        k8s.AuthenticationV1Api(api_client),
    )
    access = authz.create_self_subject_access_review(
        k8s.V1SelfSubjectAccessReview(
            spec=k8s.V1SelfSubjectAccessReviewSpec(
                resource_attributes=k8s.V1ResourceAttributes(
                    verb="create",
                    group="apps",
                    resource="deployments",
                    namespace="default",
                )
            )
        )
    )
    assert access.status.allowed is True and access.status.reason == ADMIN_REASON
    assert access.spec.resource_attributes.resource == "deployments"

    rules = authz.create_self_subject_rules_review(
        k8s.V1SelfSubjectRulesReview(
            spec=k8s.V1SelfSubjectRulesReviewSpec(namespace="default")
        )
    )
    assert rules.status.incomplete is False
    assert ["*"] in [r.verbs for r in rules.status.resource_rules]
    assert ["*"] in [r.non_resource_urls for r in rules.status.non_resource_rules]

    me = authn.create_self_subject_review(k8s.V1SelfSubjectReview())
    assert me.status.user_info.username == "kubernetes-admin"
    assert me.status.user_info.groups == [
        "kubeadm:cluster-admins",
        "system:authenticated",
    ]


def test_an_access_review_needs_exactly_one_kind_of_attributes(
    cluster: EmbeddedCluster,
) -> None:
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    empty = request(cluster, "POST", path, {"spec": {}})
    assert empty.status == 422
    assert empty.json()["details"]["causes"][0]["field"] == "spec.resourceAttributes"
    both = request(
        cluster,
        "POST",
        path,
        {
            "spec": {
                "resourceAttributes": {"verb": "get"},
                "nonResourceAttributes": {"path": "/x"},
            }
        },
    )
    assert (
        both.status == 422
        and "cannot be specified in combination" in both.json()["message"]
    )
    assert request(cluster, "GET", path).status == 405


# ---- TokenRequest ------------------------------------------------------------------


def test_create_token_honours_expiration_seconds_and_defaults_the_audience(
    core: k8s.CoreV1Api,
) -> None:
    eventually(lambda: _exists(core, "default"), what="the default service account")
    before = time.time()
    made = core.create_namespaced_service_account_token(
        "default",
        "default",
        k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=1200)
        ),
    )
    assert isinstance(made, k8s.AuthenticationV1TokenRequest)
    assert (
        made.spec.audiences == [auth.API_AUDIENCE]
        and made.spec.expiration_seconds == 1200
    )
    expires = made.status.expiration_timestamp.timestamp()
    assert before + 1200 - 2 <= expires <= time.time() + 1200
    payload = claims(made.status.token)
    assert payload["sub"] == SA_USER and payload["exp"] - payload["iat"] == 1200
    assert payload["kubernetes.io"]["serviceaccount"]["name"] == "default"
    assert made.metadata.name == "default" and made.metadata.namespace == "default"


def test_token_requests_are_checked_like_upstream(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    eventually(lambda: _exists(core, "default"), what="the default service account")
    path = "/api/v1/namespaces/default/serviceaccounts/{}/token"
    short = request(
        cluster, "POST", path.format("default"), {"spec": {"expirationSeconds": 599}}
    )
    assert short.status == 422 and short.json()["message"] == (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: '
        "may not specify a duration less than 10 minutes"
    )
    long = request(
        cluster,
        "POST",
        path.format("default"),
        {"spec": {"expirationSeconds": 2**32 + 1}},
    )
    assert long.status == 422 and "larger than 2^32 seconds" in long.json()["message"]
    missing = request(cluster, "POST", path.format("ghost"), {"spec": {}})
    assert (
        missing.status == 404
        and missing.json()["message"] == 'serviceaccounts "ghost" not found'
    )
    renamed = request(
        cluster,
        "POST",
        path.format("default"),
        {"metadata": {"name": "other"}, "spec": {}},
    )
    assert (
        renamed.status == 422
        and renamed.json()["details"]["causes"][0]["field"] == "metadata.name"
    )
    unbound = request(
        cluster,
        "POST",
        path.format("default"),
        {
            "spec": {
                "boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}
            }
        },
    )
    assert unbound.status == 400


def test_kubectl_create_token_prints_a_token_the_server_accepts_for_discovery_only(
    kubectl: Kubectl,
) -> None:
    eventually(
        lambda: "default" in kubectl("get", "sa").stdout,
        what="the default service account",
    )
    token = kubectl("create", "token", "default", "--duration=15m").stdout.strip()
    assert claims(token)["exp"] - claims(token)["iat"] == 900

    who = kubectl("--token", token, "auth", "whoami").stdout.splitlines()
    assert who[1].split() == ["Username", SA_USER]
    assert who[3].split()[:2] == ["Groups", "[system:serviceaccounts"]
    assert "authentication.kubernetes.io/credential-id" in who[4]
    assert (
        kubectl("--token", token, "auth", "can-i", "list", "pods", check=False).stdout
        == "no\n"
    )
    assert kubectl("--token", token, "get", "--raw", "/apis").returncode == 0
    refused = kubectl("--token", token, "get", "pods", check=False)
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "{SA_USER}" cannot list resource '
        '"pods" in API group "" in the namespace "default"'
    )


def test_a_pod_bound_token_names_the_pod_and_dies_with_it(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "holder"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    )
    token = sa_token(
        core, boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "holder"}
    )
    me = request(
        cluster,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {},
        token=token,
    )
    extra = me.json()["status"]["userInfo"]["extra"]
    assert extra["authentication.kubernetes.io/pod-name"] == ["holder"]
    core.delete_namespaced_pod("holder", "default", grace_period_seconds=0)
    eventually(
        lambda: request(cluster, "GET", "/api", token=token).status == 401,
        what="the token refused",
    )


def test_tokens_of_a_recreated_account_and_expired_tokens_are_refused(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    core.create_namespaced_service_account("default", {"metadata": {"name": "brief"}})
    token = sa_token(core, "brief")
    assert request(cluster, "GET", "/api", token=token).status == 200
    core.delete_namespaced_service_account("brief", "default")
    core.create_namespaced_service_account("default", {"metadata": {"name": "brief"}})
    assert request(cluster, "GET", "/api", token=token).status == 401

    signer = auth.TokenSigner(cluster.certificates.key_file)
    stale = {**claims(sa_token(core, "brief")), "exp": int(time.time()) - 3600}
    assert request(cluster, "GET", "/api", token=signer.sign(stale)).status == 401


def test_tokens_never_reach_the_log(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sa_token(core)
    request(cluster, "GET", "/api/v1/pods", token=token)
    assert token not in caplog.text and cluster.token not in caplog.text


def test_discovery_and_openapi_advertise_the_review_apis_and_the_token_subresource(
    api_client: k8s.ApiClient, cluster: EmbeddedCluster
) -> None:
    core = {r.name: r for r in k8s.CoreV1Api(api_client).get_api_resources().resources}
    token = core["serviceaccounts/token"]
    assert (token.group, token.version, token.kind, token.verbs) == (
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
        ["create"],
    )
    authz = k8s.AuthorizationV1Api(api_client).get_api_resources().resources
    assert {(r.name, tuple(r.verbs), r.namespaced) for r in authz} == {
        ("localsubjectaccessreviews", ("create",), True),
        ("selfsubjectaccessreviews", ("create",), False),
        ("selfsubjectrulesreviews", ("create",), False),
        ("subjectaccessreviews", ("create",), False),
    }
    document = request(
        cluster, "GET", "/openapi/v3/apis/authentication.k8s.io/v1"
    ).json()
    assert list(document["paths"]) == [
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        "/apis/authentication.k8s.io/v1/tokenreviews",
    ]
    assert list(
        document["paths"]["/apis/authentication.k8s.io/v1/selfsubjectreviews"]
    ) == ["post", "parameters"]
    v1 = request(cluster, "GET", "/openapi/v3/api/v1").json()["paths"]
    assert "post" in v1["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]


def test_a_json_token_request_with_nulls_gets_the_defaults(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    """kubectl <= 1.31 sends JSON, with the nulls Go writes for unset pointers and slices."""
    eventually(lambda: _exists(core, "default"), what="the default service account")
    body = {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"audiences": None, "expirationSeconds": None, "boundObjectRef": None},
        "status": {"token": "", "expirationTimestamp": None},
    }
    made = request(
        cluster,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        body,
    )
    assert made.status == 201
    assert made.json()["spec"]["expirationSeconds"] == 3600 and made.json()["spec"][
        "audiences"
    ] == [auth.API_AUDIENCE]


def test_expiration_timestamp_is_rfc3339(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_service_account_token_with_http_info(
        "default", "default", {"spec": {}}
    )
    assert made[1] == 201 and isinstance(made[0].status.expiration_timestamp, datetime)
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_service_account_token(
            "default", "default", {"spec": {"expirationSeconds": 10}}
        )
    assert refused.value.status == 422
