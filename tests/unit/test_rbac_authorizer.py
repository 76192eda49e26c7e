"""The RBAC authorizer: rule matching, RequestInfo, scoping of bindings, subjects, the
reasons and 403 messages kube-apiserver writes."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.api import Api
from kubecourse.embedded.auth import ADMIN, UserInfo
from kubecourse.embedded.rbac import reconcile
from kubecourse.embedded.rbac.authorizer import Authorizer, forbidden
from kubecourse.embedded.rbac.requestinfo import request_attributes
from kubecourse.embedded.rbac.rules import (
    Attributes,
    compact,
    compact_string,
    covers,
    rule_allows,
)
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store

RBAC = "rbac.authorization.k8s.io"
ROBOT = UserInfo(
    "system:serviceaccount:default:robot",
    (
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ),
)
JANE = UserInfo("jane", ("system:authenticated",))


def pods(
    verb: str, namespace: str = "default", name: str = "", sub: str = ""
) -> Attributes:
    return Attributes(verb, "", "pods", sub, "", namespace, name)


# ---------------------------------------------------------------- rules


def test_a_rule_allows_only_its_verbs_groups_and_resources() -> None:
    rule = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}
    assert rule_allows(pods("get"), rule) and rule_allows(pods("list"), rule)
    assert not rule_allows(pods("delete"), rule)
    assert not rule_allows(Attributes("get", "", "pods", "", "apps"), rule)
    assert not rule_allows(Attributes("get", "", "services"), rule)
    assert not rule_allows(pods("get", sub="log"), rule)


def test_wildcards_and_star_slash_subresource_rules_match() -> None:
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    assert rule_allows(Attributes("escalate", "", "clusterroles", "", RBAC), everything)
    scales = {"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/scale"]}
    assert rule_allows(Attributes("get", "", "deployments", "scale", "apps"), scales)
    assert not rule_allows(Attributes("get", "", "deployments", "", "apps"), scales)
    logs = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}
    assert rule_allows(pods("get", sub="log"), logs) and not rule_allows(
        pods("get"), logs
    )


def test_resource_names_limit_a_rule_to_those_objects() -> None:
    rule = {
        "verbs": ["get"],
        "apiGroups": [""],
        "resources": ["pods"],
        "resourceNames": ["web"],
    }
    assert rule_allows(pods("get", name="web"), rule)
    assert not rule_allows(pods("get", name="db"), rule)
    assert not rule_allows(pods("get"), rule)  # a list has no name


def test_non_resource_urls_match_exactly_or_by_a_star_prefix() -> None:
    rule = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}
    assert rule_allows(Attributes("get", "/healthz"), rule)
    assert rule_allows(Attributes("get", "/apis/apps/v1"), rule)
    assert not rule_allows(Attributes("get", "/healthz/etcd"), rule)
    assert not rule_allows(Attributes("post", "/healthz"), rule)
    assert not rule_allows(pods("get"), rule)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        (
            "GET",
            "/api/v1/namespaces/default/pods",
            {},
            ("list", "pods", "", "default", ""),
        ),
        ("GET", "/api/v1/pods", {"watch": "true"}, ("watch", "pods", "", "", "")),
        (
            "GET",
            "/api/v1/namespaces/default/pods",
            {"fieldSelector": "metadata.name=web"},
            ("list", "pods", "", "default", "web"),
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods/web/log",
            {},
            ("get", "pods", "log", "default", "web"),
        ),
        (
            "DELETE",
            "/apis/apps/v1/namespaces/x/deployments",
            {},
            ("deletecollection", "deployments", "", "x", ""),
        ),
        ("PATCH", "/api/v1/nodes/n1", {}, ("patch", "nodes", "", "", "n1")),
        ("GET", "/api/v1/namespaces/dev", {}, ("get", "namespaces", "", "dev", "dev")),
        (
            "PUT",
            "/api/v1/namespaces/dev/finalize",
            {},
            ("update", "namespaces", "finalize", "dev", "dev"),
        ),
        (
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {},
            ("create", "clusterroles", "", "", ""),
        ),
    ],
)
def test_request_info_names_the_verb_resource_namespace_and_name(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    attrs = request_attributes(method, path, query)
    assert (
        attrs.verb,
        attrs.resource,
        attrs.subresource,
        attrs.namespace,
        attrs.name,
    ) == expected


def test_non_resource_paths_are_not_resource_requests() -> None:
    for path in ("/api", "/apis/apps/v1", "/healthz", "/openapi/v3"):
        attrs = request_attributes("GET", path)
        assert not attrs.is_resource and attrs.path == path and attrs.verb == "get"


def test_covers_finds_the_pieces_an_owner_lacks_and_compacts_them() -> None:
    owned = [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/status"]}
    ]
    wanted = [
        {
            "verbs": ["get", "delete"],
            "apiGroups": [""],
            "resources": ["pods", "secrets"],
        }
    ]
    held, missing = covers(owned, wanted)
    assert not held
    assert sorted(compact_string(r) for r in compact(missing)) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}',
    ]
    assert covers(
        owned, [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes/status"]}]
    )[0]


def test_covers_treats_resource_names_and_urls_as_upstream() -> None:
    named = [
        {
            "verbs": ["get"],
            "apiGroups": [""],
            "resources": ["cm"],
            "resourceNames": ["a"],
        }
    ]
    assert covers(named, named)[0]
    assert not covers(
        named, [{"verbs": ["get"], "apiGroups": [""], "resources": ["cm"]}]
    )[0]
    urls = [{"verbs": ["get"], "nonResourceURLs": ["/metrics/*"]}]
    assert covers(urls, [{"verbs": ["get"], "nonResourceURLs": ["/metrics/slis"]}])[0]
    assert not covers(urls, [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])[0]


# ---------------------------------------------------------------- bindings


@pytest.fixture
def api() -> Api:
    made = Api(Store())
    for name in ("default", "kube-system", "kube-public", "dev"):
        made.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": name}})
    reconcile.ensure(made)
    return made


def _make(api: Api, key: str, namespace: str | None, body: dict[str, Any]) -> None:
    api.create(REGISTRY.get(f"{key}.{RBAC}"), namespace, body)


def _role(api: Api, name: str, namespace: str, *rules: dict[str, Any]) -> None:
    _make(api, "roles", namespace, {"metadata": {"name": name}, "rules": list(rules)})


def _bind(
    api: Api, name: str, namespace: str | None, role: tuple[str, str], *subjects: Any
) -> None:
    key = "rolebindings" if namespace else "clusterrolebindings"
    ref = {"apiGroup": RBAC, "kind": role[0], "name": role[1]}
    _make(
        api,
        key,
        namespace,
        {"metadata": {"name": name}, "roleRef": ref, "subjects": list(subjects)},
    )


READ_PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}
READ_NAMESPACES = {"verbs": ["get"], "apiGroups": [""], "resources": ["namespaces"]}


def _reader(api: Api) -> tuple[str, str]:
    """A ClusterRole like `view` (whose rules only the aggregation controller fills)."""
    body = {"metadata": {"name": "reader"}, "rules": [READ_PODS, READ_NAMESPACES]}
    _make(api, "clusterroles", None, body)
    return ("ClusterRole", "reader")


ROBOT_SUBJECT = {"kind": "ServiceAccount", "name": "robot", "namespace": "default"}


def test_a_role_binding_grants_its_role_in_its_namespace_only(api: Api) -> None:
    _role(api, "pod-reader", "default", READ_PODS)
    _bind(api, "read", "default", ("Role", "pod-reader"), ROBOT_SUBJECT)
    authz = Authorizer(api.store)

    allowed = authz.authorize(ROBOT, pods("list"))
    assert allowed.allowed and allowed.reason == (
        'RBAC: allowed by RoleBinding "read/default" of Role "pod-reader" to '
        'ServiceAccount "robot/default"'
    )
    assert not authz.authorize(ROBOT, pods("list", "dev")).allowed
    assert not authz.authorize(ROBOT, pods("list", "")).allowed  # all namespaces
    assert not authz.authorize(ROBOT, pods("delete", name="web")).allowed


def test_a_role_binding_to_a_cluster_role_grants_it_in_the_binding_namespace(
    api: Api,
) -> None:
    _bind(api, "jane-view", "dev", _reader(api), {"kind": "User", "name": "jane"})
    authz = Authorizer(api.store)
    assert authz.authorize(JANE, pods("get", "dev", "web")).allowed
    assert authz.authorize(
        JANE, Attributes("get", "", "namespaces", "", "", "dev", "dev")
    ).allowed
    assert not authz.authorize(JANE, pods("get", "default", "web")).allowed
    assert not authz.authorize(
        JANE, Attributes("list", "", "secrets", "", "", "dev")
    ).allowed


def test_a_cluster_role_binding_grants_everywhere_and_at_the_cluster_scope(
    api: Api,
) -> None:
    _bind(api, "jane-view", None, _reader(api), {"kind": "User", "name": "jane"})
    authz = Authorizer(api.store)
    assert authz.authorize(JANE, pods("list", "")).allowed
    assert authz.authorize(JANE, pods("list", "kube-system")).allowed
    assert not authz.authorize(JANE, Attributes("list", "", "nodes")).allowed


def test_service_account_subjects_without_a_namespace_mean_the_binding_namespace(
    api: Api,
) -> None:
    _role(api, "pod-reader", "default", READ_PODS)
    _bind(
        api,
        "read",
        "default",
        ("Role", "pod-reader"),
        {"kind": "ServiceAccount", "name": "robot"},
    )
    assert Authorizer(api.store).authorize(ROBOT, pods("get", name="x")).allowed


def test_groups_and_the_implicit_service_account_groups_are_subjects(api: Api) -> None:
    group = {
        "kind": "Group",
        "apiGroup": RBAC,
        "name": "system:serviceaccounts:default",
    }
    _bind(api, "all-sas", "default", _reader(api), group)
    authz = Authorizer(api.store)
    assert authz.authorize(ROBOT, pods("list")).allowed
    other = UserInfo("system:serviceaccount:dev:x", ("system:serviceaccounts:dev",))
    assert not authz.authorize(other, pods("list")).allowed


def test_every_authenticated_user_may_discover_and_review_itself(api: Api) -> None:
    authz = Authorizer(api.store)
    assert authz.authorize(JANE, Attributes("get", "/apis/apps/v1")).allowed
    assert authz.authorize(JANE, Attributes("get", "/version")).allowed
    review = Attributes(
        "create", "", "selfsubjectaccessreviews", "", "authorization.k8s.io"
    )
    assert authz.authorize(JANE, review).allowed
    assert not authz.authorize(JANE, Attributes("get", "/metrics")).allowed


def test_a_missing_role_is_the_reason_of_a_refusal(api: Api) -> None:
    _bind(api, "broken", "default", ("Role", "gone"), {"kind": "User", "name": "jane"})
    decision = Authorizer(api.store).authorize(JANE, pods("list"))
    assert not decision.allowed
    assert decision.reason == 'RBAC: role.rbac.authorization.k8s.io "gone" not found'
    message = forbidden(JANE, pods("list"), decision.reason).message
    assert message.endswith(
        'in the namespace "default": RBAC: role.rbac.authorization.k8s.io "gone" not found'
    )


def test_the_admin_is_allowed_through_kubeadm_cluster_admins(api: Api) -> None:
    authz = Authorizer(api.store)
    decision = authz.authorize(
        ADMIN, Attributes("delete", "", "nodes", "", "", "", "n1")
    )
    assert decision.reason == (
        'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole '
        '"cluster-admin" to Group "kubeadm:cluster-admins"'
    )
    api.delete(
        REGISTRY.get(f"clusterrolebindings.{RBAC}"), None, "kubeadm:cluster-admins"
    )
    assert not authz.authorize(ADMIN, pods("list")).allowed  # as on kind


def test_system_masters_is_allowed_before_rbac_without_a_reason(api: Api) -> None:
    masters = UserInfo("root", ("system:masters",))
    assert (
        Authorizer(api.store).authorize(masters, Attributes("anything", "/x")).allowed
    )
    rules, errors = Authorizer(api.store).rules_for(masters, "default")
    assert {
        "verbs": ["*"],
        "apiGroups": ["*"],
        "resources": ["*"],
    } in rules and not errors


def test_forbidden_messages_name_user_verb_resource_and_scope() -> None:
    namespaced = forbidden(ROBOT, pods("list")).body()
    assert namespaced["message"] == (
        'pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource '
        '"pods" in API group "" in the namespace "default"'
    )
    assert namespaced["details"] == {"kind": "pods"} and namespaced["code"] == 403
    named = forbidden(
        JANE, Attributes("get", "", "clusterroles", "", RBAC, "", "admin")
    ).body()
    assert named["message"] == (
        'clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "jane" cannot get '
        'resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'
    )
    assert named["details"] == {"name": "admin", "group": RBAC, "kind": "clusterroles"}
    path = forbidden(JANE, Attributes("get", "/logs")).body()
    assert path["message"] == 'forbidden: User "jane" cannot get path "/logs"'


# ---------------------------------------------------------------- impersonation


def test_impersonating_a_service_account_gives_it_its_groups(api: Api) -> None:
    from kubecourse.embedded.rbac.impersonation import impersonate

    headers = [("Impersonate-User", "system:serviceaccount:dev:builder")]
    user = impersonate(Authorizer(api.store), ADMIN, headers)
    assert user == UserInfo(
        "system:serviceaccount:dev:builder",
        (
            "system:serviceaccounts",
            "system:serviceaccounts:dev",
            "system:authenticated",
        ),
    )
    asked = [
        ("impersonate-user", "jane"),
        ("Impersonate-Group", "system:unauthenticated"),
    ]
    assert impersonate(Authorizer(api.store), ADMIN, asked) == UserInfo(
        "jane", ("system:unauthenticated",)
    )


def test_extras_and_uids_need_their_own_impersonate_rights(api: Api) -> None:
    from kubecourse.embedded import status
    from kubecourse.embedded.rbac.impersonation import impersonate

    rule = {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"]}
    _make(
        api, "clusterroles", None, {"metadata": {"name": "as-users"}, "rules": [rule]}
    )
    _bind(
        api,
        "jane-as-users",
        None,
        ("ClusterRole", "as-users"),
        {"kind": "User", "name": "jane"},
    )
    authz = Authorizer(api.store)
    assert impersonate(authz, JANE, [("Impersonate-User", "bob")]) == UserInfo(
        "bob", ("system:authenticated",)
    )

    headers = [("Impersonate-User", "bob"), ("Impersonate-Extra-Scopes%2Fread", "all")]
    with pytest.raises(status.StatusError) as refused:
        impersonate(authz, JANE, headers)
    assert refused.value.message == (
        'userextras.authentication.k8s.io "all" is forbidden: User "jane" cannot impersonate '
        'resource "userextras/scopes/read" in API group "authentication.k8s.io" at the cluster scope'
    )
    full = impersonate(
        Authorizer(api.store), ADMIN, [*headers, ("Impersonate-Uid", "u-1")]
    )
    assert (
        full is not None
        and full.extra == {"scopes/read": ["all"]}
        and full.uid == "u-1"
    )
