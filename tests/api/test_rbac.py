"""RBAC through kubectl (1.37, and 1.31 where bodies are JSON rather than protobuf) and
the typed Python client: the four kinds, the bootstrap policy, the authorizer behind
service-account tokens and impersonation, escalation prevention, the access reviews."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import CompletedProcess

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually
from tests.api.rawhttp import request

Kubectl = Callable[..., CompletedProcess[str]]
RBAC = "rbac.authorization.k8s.io"
ROBOT = "system:serviceaccount:default:robot"


@pytest.fixture(scope="module")
def rbac(api_client: k8s.ApiClient) -> k8s.RbacAuthorizationV1Api:
    return k8s.RbacAuthorizationV1Api(api_client)


@pytest.fixture(scope="module")
def robot_token(kubectl: Kubectl) -> str:
    """A service account `robot` that may get and list pods in default, and its token."""
    kubectl("create", "serviceaccount", "robot")
    kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    kubectl(
        "create",
        "rolebinding",
        "read-pods",
        "--role=pod-reader",
        "--serviceaccount=default:robot",
    )
    kubectl("run", "web", "--image=busybox", "--", "sleep", "3600")
    return kubectl("create", "token", "robot").stdout.strip()


def _client(cluster: EmbeddedCluster, token: str) -> k8s.CoreV1Api:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + token}
    config.ssl_ca_cert = str(cluster.ca_file)
    return k8s.CoreV1Api(k8s.ApiClient(config))


# ---------------------------------------------------------------- the bootstrap policy


def test_get_clusterroles_lists_kinds_roles_with_their_creation_time(
    kubectl: Kubectl,
) -> None:
    lines = kubectl("get", "clusterroles").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "AT"]
    names = {line.split()[0] for line in lines[1:]}
    assert {"admin", "cluster-admin", "edit", "view", "kubeadm:get-nodes"} <= names
    assert {
        "system:discovery",
        "system:node",
        "system:controller:job-controller",
    } <= names
    created = lines[1].split()[1]
    assert created.endswith("Z") and "T" in created


def test_view_edit_and_admin_are_aggregated_from_the_aggregate_to_roles(
    rbac: k8s.RbacAuthorizationV1Api,
) -> None:
    def resources(role: str) -> set[str]:
        rules = rbac.read_cluster_role(role).rules or []
        return {r for rule in rules for r in rule.resources or []}

    eventually(lambda: "pods/log" in resources("view"), what="view aggregated")
    eventually(
        lambda: "pods/exec" in resources("edit") and "pods/log" in resources("edit"),
        what="edit",
    )
    eventually(
        lambda: {"roles", "pods/exec", "pods/log"} <= resources("admin"), what="admin"
    )
    assert "secrets" not in resources("view")
    view = rbac.read_cluster_role("view")
    assert view.metadata.labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
    assert (
        view.metadata.annotations["rbac.authorization.kubernetes.io/autoupdate"]
        == "true"
    )


def test_a_labelled_cluster_role_joins_an_aggregated_one_and_leaves_it(
    rbac: k8s.RbacAuthorizationV1Api,
) -> None:
    rbac.create_cluster_role(
        k8s.V1ClusterRole(
            metadata=k8s.V1ObjectMeta(
                name="crontab-viewer", labels={f"{RBAC}/aggregate-to-view": "true"}
            ),
            rules=[
                k8s.V1PolicyRule(
                    verbs=["get"],
                    api_groups=["stable.example.com"],
                    resources=["crontabs"],
                )
            ],
        )
    )

    def view_has_crontabs() -> bool:
        return any(
            "crontabs" in (r.resources or [])
            for r in rbac.read_cluster_role("view").rules or []
        )

    eventually(view_has_crontabs, what="view aggregating crontab-viewer")
    eventually(
        lambda: any(
            "crontabs" in (r.resources or [])
            for r in rbac.read_cluster_role("admin").rules or []
        ),
        what="admin aggregating view's new rule through edit",
    )
    rbac.delete_cluster_role("crontab-viewer")
    eventually(lambda: not view_has_crontabs(), what="the rule gone again")


def test_deleted_bootstrap_roles_come_back_at_restart_without_duplicates(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from kubecourse.embedded.cluster import ClusterOptions

    state = tmp_path_factory.mktemp("state")
    with EmbeddedCluster(
        ClusterOptions(state_dir=state, run_controllers=False)
    ) as first:
        assert (
            request(
                first, "DELETE", f"/apis/{RBAC}/v1/clusterroles/system:discovery"
            ).status
            == 200
        )
        listed = request(first, "GET", f"/apis/{RBAC}/v1/clusterroles").json()["items"]
        versions = {
            r["metadata"]["name"]: r["metadata"]["resourceVersion"] for r in listed
        }
    with EmbeddedCluster(
        ClusterOptions(state_dir=state, run_controllers=False)
    ) as second:
        again = request(second, "GET", f"/apis/{RBAC}/v1/clusterroles").json()["items"]
    names = [r["metadata"]["name"] for r in again]
    assert (
        "system:discovery" in names
        and len(names) == len(set(names)) == len(versions) + 1
    )
    assert all(
        r["metadata"]["resourceVersion"] == versions[r["metadata"]["name"]]
        for r in again
        if r["metadata"]["name"] in versions
    )


# ---------------------------------------------------------------- kubectl create and get


@pytest.mark.parametrize("which", ["kubectl", "kubectl_131"])
def test_kubectl_creates_the_four_kinds_with_protobuf_and_json_bodies(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: Kubectl = request.getfixturevalue(which)
    suffix = which.replace("_", "-")
    made = [
        run(
            "create",
            "role",
            f"r-{suffix}",
            "--verb=get,list",
            "--resource=pods,deployments.apps",
        ),
        run(
            "create",
            "clusterrole",
            f"c-{suffix}",
            "--verb=get",
            "--non-resource-url=/metrics",
        ),
        run(
            "create",
            "rolebinding",
            f"rb-{suffix}",
            f"--role=r-{suffix}",
            "--user=jane",
            "--group=devs",
        ),
        run(
            "create",
            "clusterrolebinding",
            f"crb-{suffix}",
            "--clusterrole=view",
            "--serviceaccount=default:builder",
        ),
    ]
    assert [m.stdout.split()[0] for m in made] == [
        f"role.rbac.authorization.k8s.io/r-{suffix}",
        f"clusterrole.rbac.authorization.k8s.io/c-{suffix}",
        f"rolebinding.rbac.authorization.k8s.io/rb-{suffix}",
        f"clusterrolebinding.rbac.authorization.k8s.io/crb-{suffix}",
    ]
    wide = run("get", "rolebinding", f"rb-{suffix}", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "ROLE",
        "AGE",
        "USERS",
        "GROUPS",
        "SERVICEACCOUNTS",
    ]
    assert wide[1].split()[:2] == [f"rb-{suffix}", f"Role/r-{suffix}"] and wide[
        1
    ].split()[3:] == ["jane", "devs"]
    plain = run("get", "clusterrolebinding", f"crb-{suffix}").stdout.splitlines()
    assert plain[0].split() == ["NAME", "ROLE", "AGE"]
    assert (
        run("get", "clusterrolebinding", f"crb-{suffix}", "-o", "wide").stdout.split()[
            -1
        ]
        == "default/builder"
    )


def test_describe_shows_a_roles_rules_and_a_bindings_subjects(kubectl: Kubectl) -> None:
    kubectl(
        "create",
        "role",
        "describe-me",
        "--verb=get,list",
        "--resource=pods",
        "--resource-name=web",
    )
    kubectl(
        "create",
        "rolebinding",
        "describe-me",
        "--role=describe-me",
        "--serviceaccount=default:robot",
    )
    role = kubectl("describe", "role", "describe-me").stdout
    assert "PolicyRule:" in role
    assert ["pods", "[]", "[web]", "[get", "list]"] in [
        line.split() for line in role.splitlines()
    ]
    binding = [
        line.split()
        for line in kubectl(
            "describe", "rolebinding", "describe-me"
        ).stdout.splitlines()
    ]
    assert ["Kind:", "Role"] in binding and [
        "ServiceAccount",
        "robot",
        "default",
    ] in binding


def test_role_ref_cannot_be_changed(kubectl: Kubectl) -> None:
    kubectl(
        "create", "clusterrolebinding", "fixed-ref", "--clusterrole=view", "--user=jane"
    )
    changed = kubectl(
        "patch",
        "clusterrolebinding",
        "fixed-ref",
        "-p",
        '{"roleRef":{"name":"edit"}}',
        check=False,
    )
    assert changed.returncode == 1
    assert changed.stderr.strip() == (
        'The ClusterRoleBinding "fixed-ref" is invalid: roleRef: Invalid value: '
        'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: '
        "cannot change roleRef"
    )


def test_the_typed_client_reads_and_writes_the_four_kinds(
    rbac: k8s.RbacAuthorizationV1Api,
) -> None:
    role = rbac.create_namespaced_role(
        "default",
        k8s.V1Role(
            metadata=k8s.V1ObjectMeta(name="typed"),
            rules=[
                k8s.V1PolicyRule(
                    verbs=["get"], api_groups=[""], resources=["configmaps"]
                )
            ],
        ),
    )
    assert isinstance(role, k8s.V1Role) and role.rules[0].resources == ["configmaps"]
    binding = rbac.create_namespaced_role_binding(
        "default",
        k8s.V1RoleBinding(
            metadata=k8s.V1ObjectMeta(name="typed"),
            role_ref=k8s.V1RoleRef(api_group=RBAC, kind="Role", name="typed"),
            subjects=[k8s.RbacV1Subject(kind="User", name="jane")],
        ),
    )
    assert binding.subjects[0].api_group == RBAC  # defaulted
    assert isinstance(rbac.list_cluster_role(), k8s.V1ClusterRoleList)
    assert isinstance(rbac.list_cluster_role_binding(), k8s.V1ClusterRoleBindingList)
    assert rbac.list_role_binding_for_all_namespaces().items
    patched = rbac.patch_namespaced_role(
        "typed", "default", {"metadata": {"labels": {"team": "a"}}}
    )
    assert patched.metadata.labels == {"team": "a"}
    rbac.delete_namespaced_role_binding("typed", "default")
    rbac.delete_namespaced_role("typed", "default")
    with pytest.raises(ApiException) as missing:
        rbac.read_namespaced_role("typed", "default")
    assert missing.value.status == 404


# ---------------------------------------------------------------- the authorizer


def test_a_service_account_reads_pods_with_its_role_but_cannot_delete_them(
    kubectl: Kubectl, cluster: EmbeddedCluster, robot_token: str
) -> None:
    eventually(
        lambda: "web" in kubectl("--token", robot_token, "get", "pods").stdout,
        what="pods listed",
    )
    refused = kubectl("--token", robot_token, "delete", "pod", "web", check=False)
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): pods "web" is forbidden: User "{ROBOT}" cannot delete '
        'resource "pods" in API group "" in the namespace "default"'
    )
    other = kubectl(
        "--token", robot_token, "get", "pods", "-n", "kube-system", check=False
    )
    assert 'in the namespace "kube-system"' in other.stderr
    nodes = kubectl("--token", robot_token, "get", "nodes", check=False)
    assert nodes.stderr.strip().endswith(
        'cannot list resource "nodes" in API group "" at the cluster scope'
    )

    core = _client(cluster, robot_token)
    assert [p.metadata.name for p in core.list_namespaced_pod("default").items] == [
        "web"
    ]
    with pytest.raises(ApiException) as denied:
        core.delete_namespaced_pod("web", "default")
    assert denied.value.status == 403 and "cannot delete resource" in str(
        denied.value.body
    )


def test_auth_can_i_answers_for_an_impersonated_service_account(
    kubectl: Kubectl, robot_token: str
) -> None:
    assert kubectl("auth", "can-i", "list", "pods", f"--as={ROBOT}").stdout == "yes\n"
    assert (
        kubectl("auth", "can-i", "delete", "pods", f"--as={ROBOT}", check=False).stdout
        == "no\n"
    )
    listed = [
        line.split()
        for line in kubectl(
            "auth", "can-i", "--list", f"--as={ROBOT}"
        ).stdout.splitlines()
    ]
    assert ["pods", "[]", "[]", "[get", "list]"] in listed
    assert [
        "selfsubjectaccessreviews.authorization.k8s.io",
        "[]",
        "[]",
        "[create]",
    ] in listed
    assert ["[/healthz]", "[]", "[get]"] in listed


def test_a_rolebinding_to_view_lets_a_user_read_its_namespace_but_not_secrets(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "namespace", "team-view")
    kubectl(
        "create",
        "rolebinding",
        "mia-views",
        "--clusterrole=view",
        "--user=mia",
        "-n",
        "team-view",
    )
    kubectl("create", "configmap", "settings", "-n", "team-view", "--from-literal=a=b")
    eventually(
        lambda: (
            "settings"
            in kubectl(
                "get", "configmaps", "-n", "team-view", "--as=mia", check=False
            ).stdout
        ),
        what="mia reading configmaps",
    )
    secrets = kubectl("get", "secrets", "-n", "team-view", "--as=mia", check=False)
    assert 'User "mia" cannot list resource "secrets"' in secrets.stderr
    assert kubectl("get", "namespace", "team-view", "--as=mia").returncode == 0
    assert (
        kubectl(
            "auth", "can-i", "list", "pods", "--as=mia", "-n", "default", check=False
        ).stdout
        == "no\n"
    )


def test_impersonation_needs_the_impersonate_verb(
    kubectl: Kubectl, cluster: EmbeddedCluster, robot_token: str
) -> None:
    who = kubectl("auth", "whoami", "--as=jane", "--as-group=devs").stdout.splitlines()
    assert who[1].split() == ["Username", "jane"] and who[2].split() == [
        "Groups",
        "[devs",
        "system:authenticated]",
    ]
    refused = kubectl("--token", robot_token, "get", "pods", "--as=jane", check=False)
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): users "jane" is forbidden: User "{ROBOT}" cannot '
        'impersonate resource "users" in API group "" at the cluster scope'
    )
    groups_only = request(
        cluster, "GET", "/api/v1/pods", headers={"Impersonate-Group": "system:masters"}
    )
    assert groups_only.status == 500
    assert groups_only.json()["message"].startswith(
        "Internal error occurred: requested [{Group  system:masters"
    )


def test_escalation_is_refused_to_a_user_who_may_write_roles(kubectl: Kubectl) -> None:
    kubectl(
        "create",
        "role",
        "role-maker",
        "--verb=create,get",
        "--resource=roles,rolebindings",
    )
    kubectl(
        "create", "rolebinding", "jane-makes-roles", "--role=role-maker", "--user=jane"
    )
    refused = kubectl(
        "create",
        "role",
        "deleter",
        "--verb=delete",
        "--resource=pods",
        "--as=jane",
        check=False,
    )
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): roles.rbac.authorization.k8s.io "deleter" is forbidden: '
        'user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions '
        'not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}'
    )
    bound = kubectl(
        "create",
        "rolebinding",
        "up",
        "--clusterrole=admin",
        "--user=bob",
        "--as=jane",
        check=False,
    )
    assert "is attempting to grant RBAC permissions not currently held" in bound.stderr
    kubectl(
        "create", "role", "getter", "--verb=get", "--resource=roles", "--as=jane"
    )  # held: allowed


def test_websocket_exec_needs_create_as_well_as_get(
    kubectl: Kubectl, robot_token: str
) -> None:
    kubectl("create", "role", "exec-get", "--verb=get", "--resource=pods/exec")
    kubectl(
        "create",
        "rolebinding",
        "robot-exec-get",
        "--role=exec-get",
        "--serviceaccount=default:robot",
    )
    eventually(
        lambda: "Running" in kubectl("get", "pod", "web").stdout, what="web running"
    )
    refused = kubectl(
        "--token", robot_token, "exec", "web", "--", "echo", "hi", check=False
    )
    assert refused.stderr.strip() == (
        f'error: unable to upgrade connection: pods "web" is forbidden: User "{ROBOT}" cannot '
        'create resource "pods/exec" in API group "" in the namespace "default"'
    )
    kubectl("create", "role", "exec-create", "--verb=create", "--resource=pods/exec")
    kubectl(
        "create",
        "rolebinding",
        "robot-exec-create",
        "--role=exec-create",
        "--serviceaccount=default:robot",
    )
    assert (
        kubectl("--token", robot_token, "exec", "web", "--", "echo", "hi").stdout
        == "hi\n"
    )


# ---------------------------------------------------------------- the reviews


def test_subject_access_reviews_answer_for_the_subject_they_name(
    api_client: k8s.ApiClient, robot_token: str
) -> None:
    authz = k8s.AuthorizationV1Api(api_client)
    review = authz.create_subject_access_review(
        k8s.V1SubjectAccessReview(
            spec=k8s.V1SubjectAccessReviewSpec(
                user=ROBOT,
                groups=["system:serviceaccounts"],
                resource_attributes=k8s.V1ResourceAttributes(
                    verb="list", resource="pods", namespace="default"
                ),
            )
        )
    )
    assert review.status.allowed is True
    assert review.status.reason == (
        'RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to '
        'ServiceAccount "robot/default"'
    )
    local = authz.create_namespaced_local_subject_access_review(
        "default",
        k8s.V1LocalSubjectAccessReview(
            spec=k8s.V1SubjectAccessReviewSpec(
                user="jane",
                resource_attributes=k8s.V1ResourceAttributes(
                    verb="delete", resource="pods", namespace="default"
                ),
            )
        ),
    )
    assert local.status.allowed is False and local.metadata.namespace == "default"
    with pytest.raises(ApiException) as invalid:
        authz.create_subject_access_review(
            {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}
        )
    assert invalid.value.status == 422
    assert (
        'spec.user: Invalid value: \\"\\": at least one of user or group must be specified'
        in str(invalid.value.body)
    )


def test_token_reviews_say_who_a_token_is(
    api_client: k8s.ApiClient, robot_token: str
) -> None:
    authn = k8s.AuthenticationV1Api(api_client)
    review = authn.create_token_review(
        k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token=robot_token))
    )
    assert review.status.authenticated is True
    assert review.status.user.username == ROBOT
    assert review.status.user.groups == [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ]
    assert review.status.audiences == ["https://kubernetes.default.svc.cluster.local"]
    wrong = authn.create_token_review(
        k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token="nope"))
    )
    assert (
        wrong.status.authenticated is None
        and wrong.status.error == "invalid bearer token"
    )
    other = authn.create_token_review(
        k8s.V1TokenReview(
            spec=k8s.V1TokenReviewSpec(token=robot_token, audiences=["vault"])
        )
    )
    assert other.status.error == (
        'token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the '
        'target audiences ["vault"]'
    )


def test_the_reviews_are_forbidden_to_a_service_account_without_bindings(
    cluster: EmbeddedCluster, robot_token: str
) -> None:
    body = {"spec": {"token": "x"}}
    refused = request(
        cluster,
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        body,
        token=robot_token,
    )
    assert refused.status == 403
    assert refused.json()["message"] == (
        f'tokenreviews.authentication.k8s.io is forbidden: User "{ROBOT}" cannot create resource '
        '"tokenreviews" in API group "authentication.k8s.io" at the cluster scope'
    )
    rules = request(
        cluster,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"spec": {}},
        token=robot_token,
    )
    assert rules.status == 400 and rules.json()["message"] == "no namespace on request"
