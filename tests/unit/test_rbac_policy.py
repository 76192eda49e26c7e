"""RBAC writes: defaulting and validation, escalation prevention, the bootstrap policy
and its reconciliation at start."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded import status
from kubecourse.embedded.api import Api
from kubecourse.embedded.auth import UserInfo
from kubecourse.embedded.rbac import context, reconcile
from kubecourse.embedded.rbac.bootstrap import bootstrap_objects
from kubecourse.embedded.rbac.policy import AUTOUPDATE, BOOTSTRAPPING
from kubecourse.embedded.rbac.requestinfo import request_attributes
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store

RBAC = "rbac.authorization.k8s.io"
ROLES = REGISTRY.get(f"roles.{RBAC}")
CLUSTER_ROLES = REGISTRY.get(f"clusterroles.{RBAC}")
BINDINGS = REGISTRY.get(f"rolebindings.{RBAC}")
CLUSTER_BINDINGS = REGISTRY.get(f"clusterrolebindings.{RBAC}")
JANE = UserInfo("jane", ("system:authenticated",))
READ_PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}


@pytest.fixture
def api() -> Api:
    made = Api(Store())
    for name in ("default", "kube-system", "kube-public"):
        made.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": name}})
    reconcile.ensure(made)
    return made


def _invalid(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(status.StatusError) as refused:
        call()
    assert refused.value.code == 422
    details = refused.value.details or {}
    return [(c["field"], c["message"]) for c in details["causes"]]


# ---------------------------------------------------------------- validation


def test_rbac_names_are_path_segments_so_colons_are_fine(api: Api) -> None:
    made = api.create(
        ROLES, "default", {"metadata": {"name": "team:reader"}, "rules": [READ_PODS]}
    )
    assert made["metadata"]["name"] == "team:reader"
    causes = _invalid(
        lambda: api.create(ROLES, "default", {"metadata": {"name": "a/b"}, "rules": []})
    )
    assert causes == [("metadata.name", "Invalid value: \"a/b\": may not contain '/'")]


def test_policy_rules_are_validated_with_upstream_messages(api: Api) -> None:
    body = {
        "metadata": {"name": "bad"},
        "rules": [{"apiGroups": [""], "resources": ["pods"]}, {"verbs": ["get"]}],
    }
    assert _invalid(lambda: api.create(ROLES, "default", body)) == [
        ("rules[0].verbs", "Required value: verbs must contain at least one value"),
        (
            "rules[1].apiGroups",
            "Required value: resource rules must supply at least one api group",
        ),
        (
            "rules[1].resources",
            "Required value: resource rules must supply at least one resource",
        ),
    ]
    urls = {
        "metadata": {"name": "urls"},
        "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
    }
    assert _invalid(lambda: api.create(ROLES, "default", urls)) == [
        (
            "rules[0].nonResourceURLs",
            'Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs',
        )
    ]
    assert api.create(CLUSTER_ROLES, None, urls)["rules"][0]["nonResourceURLs"] == [
        "/healthz"
    ]


def test_bindings_are_defaulted_and_their_subjects_validated(api: Api) -> None:
    body = {
        "metadata": {"name": "b"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "jane"},
            {"kind": "ServiceAccount", "name": "robot"},
        ],
    }
    made = api.create(BINDINGS, "default", body)
    assert made["roleRef"]["apiGroup"] == RBAC
    assert made["subjects"] == [
        {"kind": "User", "name": "jane", "apiGroup": RBAC},
        {"kind": "ServiceAccount", "name": "robot"},
    ]
    cluster = {
        **body,
        "metadata": {"name": "c"},
        "subjects": [{"kind": "ServiceAccount", "name": "r"}],
    }
    assert _invalid(lambda: api.create(CLUSTER_BINDINGS, None, cluster)) == [
        ("subjects[0].namespace", "Required value")
    ]
    wrong = {
        **body,
        "metadata": {"name": "d"},
        "roleRef": {"apiGroup": RBAC, "kind": "Thing", "name": "x"},
    }
    assert _invalid(lambda: api.create(BINDINGS, "default", wrong)) == [
        (
            "roleRef.kind",
            'Unsupported value: "Thing": supported values: "Role", "ClusterRole"',
        )
    ]


def test_role_ref_cannot_change(api: Api) -> None:
    body = {
        "metadata": {"name": "b"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
    }
    api.create(BINDINGS, "default", body)
    patch = {"roleRef": {"name": "edit"}}
    assert _invalid(lambda: api.patch(BINDINGS, "default", "b", "merge", patch)) == [
        (
            "roleRef",
            'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", '
            'Name:"edit"}: cannot change roleRef',
        )
    ]


def test_an_aggregation_rule_needs_a_selector(api: Api) -> None:
    body = {
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": []},
    }
    assert _invalid(lambda: api.create(CLUSTER_ROLES, None, body)) == [
        (
            "aggregationRule.clusterRoleSelectors",
            "Required value: at least one clusterRoleSelector required if aggregationRule is non-nil",
        )
    ]


# ---------------------------------------------------------------- escalation


def as_jane(method: str, path: str) -> Any:
    """Serve a request of jane's (what the HTTP layer sets around each request)."""
    return context.serving(JANE, request_attributes(method, path))


def _grant(api: Api, name: str, *rules: dict[str, Any]) -> None:
    """Give jane `rules` in default, written by the API server itself (no user)."""
    api.create(ROLES, "default", {"metadata": {"name": name}, "rules": list(rules)})
    ref = {"kind": "Role", "name": name}
    api.create(
        BINDINGS,
        "default",
        {
            "metadata": {"name": name},
            "roleRef": ref,
            "subjects": [{"kind": "User", "name": "jane"}],
        },
    )


MAKE_ROLES = {
    "verbs": ["create", "update"],
    "apiGroups": [RBAC],
    "resources": ["roles", "rolebindings"],
}
ROLES_PATH = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"
BINDINGS_PATH = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"


def test_a_user_may_not_create_a_role_granting_more_than_it_holds(api: Api) -> None:
    _grant(api, "maker", MAKE_ROLES, READ_PODS)
    with as_jane("POST", ROLES_PATH):
        api.create(ROLES, "default", {"metadata": {"name": "ok"}, "rules": [READ_PODS]})
        wider = {
            "verbs": ["get", "delete"],
            "apiGroups": [""],
            "resources": ["pods", "secrets"],
        }
        with pytest.raises(status.StatusError) as refused:
            api.create(
                ROLES, "default", {"metadata": {"name": "wide"}, "rules": [wider]}
            )
    assert refused.value.code == 403
    assert refused.value.message == (
        'roles.rbac.authorization.k8s.io "wide" is forbidden: user "jane" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}'
    )
    assert api.store.get(ROLES.key, "default", "wide") is None


def test_a_user_may_not_widen_a_role_by_an_update_either(api: Api) -> None:
    _grant(api, "maker", MAKE_ROLES, READ_PODS)
    with as_jane("POST", ROLES_PATH):
        api.create(
            ROLES, "default", {"metadata": {"name": "mine"}, "rules": [READ_PODS]}
        )
    widened = [{**READ_PODS, "verbs": ["get", "list", "delete"]}]
    with (
        as_jane("PATCH", f"{ROLES_PATH}/mine"),
        pytest.raises(status.StatusError) as refused,
    ):
        api.patch(ROLES, "default", "mine", "merge", {"rules": widened})
    assert refused.value.code == 403 and 'Verbs:["delete"]' in refused.value.message


def test_the_escalate_verb_lets_a_user_write_any_role(api: Api) -> None:
    escalate = {"verbs": ["escalate"], "apiGroups": [RBAC], "resources": ["roles"]}
    _grant(api, "maker", MAKE_ROLES, escalate)
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    with as_jane("POST", ROLES_PATH):
        assert api.create(
            ROLES, "default", {"metadata": {"name": "all"}, "rules": [everything]}
        )


def test_the_bind_verb_lets_a_user_bind_a_role_it_does_not_hold(api: Api) -> None:
    bind = {
        "verbs": ["bind"],
        "apiGroups": [RBAC],
        "resources": ["clusterroles"],
        "resourceNames": ["edit"],
    }
    _grant(api, "binder", MAKE_ROLES, bind)
    ref = {"kind": "ClusterRole", "name": "edit"}
    body = {
        "metadata": {"name": "e"},
        "roleRef": ref,
        "subjects": [{"kind": "User", "name": "bob"}],
    }
    admin = {
        **body,
        "metadata": {"name": "a"},
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
    }
    with as_jane("POST", BINDINGS_PATH):
        assert api.create(BINDINGS, "default", body)
        with pytest.raises(status.StatusError) as refused:
            api.create(BINDINGS, "default", admin)
    assert refused.value.code == 403
    assert (
        "is attempting to grant RBAC permissions not currently held"
        in refused.value.message
    )


def test_binding_a_missing_role_is_not_found_for_a_checked_user(api: Api) -> None:
    _grant(api, "maker", MAKE_ROLES)
    ref = {"kind": "Role", "name": "nothing"}
    body = {
        "metadata": {"name": "x"},
        "roleRef": ref,
        "subjects": [{"kind": "User", "name": "bob"}],
    }
    with as_jane("POST", BINDINGS_PATH), pytest.raises(status.StatusError) as refused:
        api.create(BINDINGS, "default", body)
    assert refused.value.code == 404
    assert (
        refused.value.message == 'roles.rbac.authorization.k8s.io "nothing" not found'
    )
    assert api.create(BINDINGS, "default", body)  # the API server itself may


def test_members_of_system_masters_are_not_checked(api: Api) -> None:
    root = UserInfo("root", ("system:masters", "system:authenticated"))
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    with context.serving(root, request_attributes("POST", ROLES_PATH)):
        assert api.create(
            ROLES, "default", {"metadata": {"name": "all"}, "rules": [everything]}
        )


# ---------------------------------------------------------------- bootstrap policy


def _names(api: Api, rt: Any, namespace: str | None = None) -> set[str]:
    return {o["metadata"]["name"] for o in api.store.items(rt.key, namespace)}


def test_the_bootstrap_policy_has_what_kubectl_lists_on_kind(api: Api) -> None:
    roles = _names(api, CLUSTER_ROLES)
    assert {
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:discovery",
        "system:basic-user",
    } <= roles
    assert {"system:node", "system:kube-scheduler", "kubeadm:get-nodes"} <= roles
    assert "system:controller:deployment-controller" in roles
    assert len(roles) >= 65
    bindings = _names(api, CLUSTER_BINDINGS)
    assert {
        "cluster-admin",
        "kubeadm:cluster-admins",
        "system:public-info-viewer",
    } <= bindings
    assert "system:controller:replicaset-controller" in bindings
    assert "system::leader-locking-kube-scheduler" in _names(api, ROLES, "kube-system")
    assert "kubeadm:bootstrap-signer-clusterinfo" in _names(
        api, BINDINGS, "kube-public"
    )


def test_bootstrap_objects_are_labelled_and_annotated_and_kubeadms_are_not(
    api: Api,
) -> None:
    view = api.store.get(CLUSTER_ROLES.key, "", "view")
    assert view is not None
    assert view["metadata"]["labels"] == {
        BOOTSTRAPPING: "rbac-defaults",
        "rbac.authorization.k8s.io/aggregate-to-edit": "true",
    }
    assert view["metadata"]["annotations"] == {AUTOUPDATE: "true"}
    assert view["aggregationRule"] == {
        "clusterRoleSelectors": [
            {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}
        ]
    }
    kubeadm = api.store.get(CLUSTER_BINDINGS.key, "", "kubeadm:cluster-admins")
    assert kubeadm is not None and "labels" not in kubeadm["metadata"]
    assert kubeadm["subjects"] == [
        {"kind": "Group", "apiGroup": RBAC, "name": "kubeadm:cluster-admins"}
    ]


def test_reconciling_twice_writes_nothing(api: Api) -> None:
    before = api.store.rv
    reconcile.ensure(api)
    assert api.store.rv == before


def test_reconcile_recreates_deleted_objects_and_restores_missing_rules(
    api: Api,
) -> None:
    api.delete(CLUSTER_ROLES, None, "system:discovery")
    basic = copy.deepcopy(api.store.get(CLUSTER_ROLES.key, "", "system:basic-user"))
    assert basic is not None
    basic["rules"] = basic["rules"][:1] + [READ_PODS]  # one rule lost, one added
    api.update(CLUSTER_ROLES, None, "system:basic-user", basic)

    reconcile.ensure(api)
    assert api.store.get(CLUSTER_ROLES.key, "", "system:discovery") is not None
    rules = api.store.get(CLUSTER_ROLES.key, "", "system:basic-user")["rules"]  # type: ignore[index]
    assert READ_PODS in rules  # additions are kept
    assert {
        "apiGroups": ["authentication.k8s.io"],
        "resources": ["selfsubjectreviews"],
        "verbs": ["create"],
    } in rules


def test_reconcile_leaves_a_role_annotated_autoupdate_false_alone(api: Api) -> None:
    edited = copy.deepcopy(api.store.get(CLUSTER_ROLES.key, "", "system:basic-user"))
    assert edited is not None
    edited["metadata"]["annotations"][AUTOUPDATE] = "false"
    edited["rules"] = [READ_PODS]
    api.update(CLUSTER_ROLES, None, "system:basic-user", edited)
    reconcile.ensure(api)
    assert api.store.get(CLUSTER_ROLES.key, "", "system:basic-user")["rules"] == [
        READ_PODS
    ]  # type: ignore[index]


def test_reconcile_restores_subjects_and_recreates_a_binding_whose_role_changed(
    api: Api,
) -> None:
    binding = api.store.get(CLUSTER_BINDINGS.key, "", "system:public-info-viewer")
    assert binding is not None
    api.patch(
        CLUSTER_BINDINGS,
        None,
        "system:public-info-viewer",
        "json",
        [{"op": "remove", "path": "/subjects/1"}],
    )
    reconcile.ensure(api)
    restored = api.store.get(CLUSTER_BINDINGS.key, "", "system:public-info-viewer")
    assert restored is not None and restored["subjects"] == binding["subjects"]


def test_every_bootstrap_object_passes_validation() -> None:
    made = Api(Store())
    for name in ("kube-system", "kube-public"):
        made.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": name}})
    reconcile.ensure(made)  # raises on the first invalid one
    assert made.store.count(CLUSTER_ROLES.key) == len(
        [o for o in bootstrap_objects() if o["kind"] == "ClusterRole"]
    )


# ---------------------------------------------------------------- Tables


def test_binding_rows_name_the_role_and_split_the_subjects_as_upstream() -> None:
    from datetime import datetime, timezone

    from kubecourse.embedded.tables import build_table

    binding = {
        "metadata": {"name": "mixed", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "jane"},
            {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "robot", "namespace": "default"},
        ],
    }
    now = datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)
    table = build_table(BINDINGS, [binding], now=now)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Role",
        "Age",
        "Users",
        "Groups",
        "ServiceAccounts",
    ]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 1, 1, 1]
    assert table["rows"][0]["cells"] == [
        "mixed",
        "ClusterRole/view",
        "5m",
        "jane, bob",
        "devs",
        "default/robot",
    ]
    role = build_table(
        ROLES,
        [{"metadata": {"name": "r", "creationTimestamp": "2026-01-01T00:00:00Z"}}],
    )
    assert [c["name"] for c in role["columnDefinitions"]] == ["Name", "Created At"]
    assert role["rows"][0]["cells"] == ["r", "2026-01-01T00:00:00Z"]
