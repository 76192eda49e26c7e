"""The bootstrap policy and kubeadm's RBAC objects as API objects (see policy.py for
where each comes from and what is left out)."""

from __future__ import annotations

import copy

from kubecourse.embedded.rbac.controller_policy import CONTROLLER_ROLES
from kubecourse.embedded.rbac.policy import (
    AGGREGATE_TO,
    AGGREGATED,
    AGGREGATES_TO,
    AUTOUPDATE,
    BOOTSTRAP_TOKENS,
    BOOTSTRAPPING,
    CLUSTER_ROLES,
    GLW,
    GROUP,
    Obj,
    aggregation_rule,
    rule,
)

API_VERSION = f"{GROUP}/v1"
KINDS_BY_KEY = {
    f"clusterroles.{GROUP}": "ClusterRole",
    f"clusterrolebindings.{GROUP}": "ClusterRoleBinding",
    f"roles.{GROUP}": "Role",
    f"rolebindings.{GROUP}": "RoleBinding",
}


def _meta(name: str, namespace: str = "", bootstrap: bool = True) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if bootstrap:
        meta["labels"] = {BOOTSTRAPPING: "rbac-defaults"}
        meta["annotations"] = {AUTOUPDATE: "true"}
    return meta


def group(name: str) -> Obj:
    return {"kind": "Group", "apiGroup": GROUP, "name": name}


def user(name: str) -> Obj:
    return {"kind": "User", "apiGroup": GROUP, "name": name}


def service_account(name: str, namespace: str = "kube-system") -> Obj:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def _role(
    kind: str, name: str, rules: list[Obj], namespace: str = "", bootstrap: bool = True
) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": _meta(name, namespace, bootstrap),
        "rules": copy.deepcopy(rules),
    }


def _binding(
    kind: str,
    name: str,
    role: tuple[str, str],
    subjects: list[Obj],
    namespace: str = "",
    bootstrap: bool = True,
) -> Obj:
    binding: Obj = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": _meta(name, namespace, bootstrap),
        "roleRef": {"apiGroup": GROUP, "kind": role[0], "name": role[1]},
    }
    if subjects:
        binding["subjects"] = subjects
    return binding


# ---------------------------------------------------------------- kube-apiserver's


def cluster_roles() -> list[Obj]:
    roles = [_role("ClusterRole", name, rules) for name, rules in CLUSTER_ROLES.items()]
    for name, target in AGGREGATES_TO.items():
        labels = next(r for r in roles if r["metadata"]["name"] == name)["metadata"][
            "labels"
        ]
        labels[f"{AGGREGATE_TO}{target}"] = "true"
    for name, (target, further) in AGGREGATED.items():
        role = _role("ClusterRole", name, [])
        role["rules"] = None  # filled by the clusterrole-aggregation controller
        role["aggregationRule"] = aggregation_rule(target)
        if further:
            role["metadata"]["labels"][f"{AGGREGATE_TO}{further}"] = "true"
        roles.append(role)
    roles += [
        _role("ClusterRole", f"system:controller:{name}", rules)
        for name, rules in CONTROLLER_ROLES.items()
    ]
    return sorted(roles, key=lambda r: str(r["metadata"]["name"]))


_CLUSTER_BINDINGS: dict[str, list[Obj]] = {
    "cluster-admin": [group("system:masters")],
    "system:basic-user": [group("system:authenticated")],
    "system:discovery": [group("system:authenticated")],
    "system:kube-controller-manager": [user("system:kube-controller-manager")],
    "system:kube-dns": [service_account("kube-dns")],
    "system:kube-scheduler": [user("system:kube-scheduler")],
    "system:monitoring": [group("system:monitoring")],
    "system:node": [],  # the Node authorizer grants nodes their access since 1.8
    "system:node-proxier": [user("system:kube-proxy")],
    "system:public-info-viewer": [
        group("system:authenticated"),
        group("system:unauthenticated"),
    ],
    "system:service-account-issuer-discovery": [group("system:serviceaccounts")],
    "system:volume-scheduler": [user("system:kube-scheduler")],
}


def cluster_role_bindings() -> list[Obj]:
    bindings = [
        _binding("ClusterRoleBinding", name, ("ClusterRole", name), subjects)
        for name, subjects in _CLUSTER_BINDINGS.items()
    ]
    bindings += [
        _binding(
            "ClusterRoleBinding",
            f"system:controller:{name}",
            ("ClusterRole", f"system:controller:{name}"),
            [service_account(name)],
        )
        for name in CONTROLLER_ROLES
    ]
    return sorted(bindings, key=lambda b: str(b["metadata"]["name"]))


_LEASES = rule("create get list update watch", "coordination.k8s.io", "leases")
_CANDIDATES = rule(
    "create get list update watch", "coordination.k8s.io", "leasecandidates"
)


def roles() -> list[Obj]:
    """The Roles kube-apiserver bootstraps in kube-system and kube-public."""
    system = "kube-system"
    return [
        _role(
            "Role",
            "system:controller:bootstrap-signer",
            [
                rule(GLW, "core", "configmaps"),
                rule("update", "core", "configmaps", names="cluster-info"),
                rule("create patch update", "core events.k8s.io", "events"),
            ],
            "kube-public",
        ),
        _role(
            "Role",
            "extension-apiserver-authentication-reader",
            [
                rule(
                    GLW,
                    "core",
                    "configmaps",
                    names="extension-apiserver-authentication",
                )
            ],
            system,
        ),
        _role(
            "Role",
            "system::leader-locking-kube-controller-manager",
            [_LEASES, _CANDIDATES],
            system,
        ),
        _role(
            "Role",
            "system::leader-locking-kube-scheduler",
            [_LEASES, _CANDIDATES],
            system,
        ),
        _role(
            "Role",
            "system:controller:bootstrap-signer",
            [rule(GLW, "core", "secrets")],
            system,
        ),
        _role(
            "Role",
            "system:controller:cloud-provider",
            [rule("create get list watch", "core", "configmaps")],
            system,
        ),
        _role(
            "Role",
            "system:controller:token-cleaner",
            [
                rule("delete get list watch", "core", "secrets"),
                rule("create patch update", "core events.k8s.io", "events"),
            ],
            system,
        ),
    ]


def role_bindings() -> list[Obj]:
    system = "kube-system"
    controller_manager = user("system:kube-controller-manager")
    scheduler = user("system:kube-scheduler")

    def bound(
        name: str, role: str, subjects: list[Obj], namespace: str = system
    ) -> Obj:
        return _binding("RoleBinding", name, ("Role", role), subjects, namespace)

    signer = "system:controller:bootstrap-signer"
    return [
        bound(signer, signer, [service_account("bootstrap-signer")], "kube-public"),
        bound(
            "system::extension-apiserver-authentication-reader",
            "extension-apiserver-authentication-reader",
            [controller_manager, scheduler],
        ),
        bound(
            "system::leader-locking-kube-controller-manager",
            "system::leader-locking-kube-controller-manager",
            [
                controller_manager,
                service_account("kube-controller-manager"),
                service_account("leader-election-controller"),
            ],
        ),
        bound(
            "system::leader-locking-kube-scheduler",
            "system::leader-locking-kube-scheduler",
            [scheduler, service_account("kube-scheduler")],
        ),
        bound(signer, signer, [service_account("bootstrap-signer")]),
        bound(
            "system:controller:cloud-provider",
            "system:controller:cloud-provider",
            [service_account("cloud-provider")],
        ),
        bound(
            "system:controller:token-cleaner",
            "system:controller:token-cleaner",
            [service_account("token-cleaner")],
        ),
    ]


# ---------------------------------------------------------------- kubeadm's


def kubeadm_objects() -> list[Obj]:
    """What `kubeadm init` creates (kind runs it): no bootstrapping label, no
    autoupdate annotation."""
    tokens = group(BOOTSTRAP_TOKENS)

    def crb(name: str, role: str, subjects: list[Obj]) -> Obj:
        return _binding(
            "ClusterRoleBinding", name, ("ClusterRole", role), subjects, bootstrap=False
        )

    def reader(
        name: str, namespace: str, config: str, subjects: list[Obj]
    ) -> list[Obj]:
        role = _role(
            "Role",
            name,
            [rule("get", "core", "configmaps", names=config)],
            namespace,
            False,
        )
        binding = _binding(
            "RoleBinding", name, ("Role", name), subjects, namespace, False
        )
        return [role, binding]

    nodes = group("system:nodes")
    certificates = "system:certificates.k8s.io:certificatesigningrequests:"
    return [
        crb(
            "kubeadm:cluster-admins", "cluster-admin", [group("kubeadm:cluster-admins")]
        ),
        _role(
            "ClusterRole",
            "kubeadm:get-nodes",
            [rule("get", "core", "nodes")],
            bootstrap=False,
        ),
        crb("kubeadm:get-nodes", "kubeadm:get-nodes", [tokens]),
        crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", [tokens]),
        crb(
            "kubeadm:node-autoapprove-bootstrap", f"{certificates}nodeclient", [tokens]
        ),
        crb(
            "kubeadm:node-autoapprove-certificate-rotation",
            f"{certificates}selfnodeclient",
            [nodes],
        ),
        crb(
            "kubeadm:node-proxier",
            "system:node-proxier",
            [service_account("kube-proxy")],
        ),
        *reader(
            "kubeadm:kubelet-config", "kube-system", "kubelet-config", [nodes, tokens]
        ),
        *reader(
            "kubeadm:nodes-kubeadm-config",
            "kube-system",
            "kubeadm-config",
            [tokens, nodes],
        ),
        *reader(
            "kubeadm:bootstrap-signer-clusterinfo",
            "kube-public",
            "cluster-info",
            [user("system:anonymous")],
        ),
    ]


def bootstrap_objects() -> list[Obj]:
    """Every RBAC object a fresh kind cluster has, bootstrap policy first."""
    return [
        *cluster_roles(),
        *cluster_role_bindings(),
        *roles(),
        *role_bindings(),
        *kubeadm_objects(),
    ]
