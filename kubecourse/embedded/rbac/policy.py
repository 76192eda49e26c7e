"""The RBAC objects a kind cluster starts with, written down as data.

Two sources, as on a kind (kubeadm) cluster:

- kube-apiserver's bootstrap policy (its `rbac/bootstrap-roles` post-start hook,
  `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`): the ClusterRoles `cluster-admin`,
  `admin`, `edit` and `view` (the last three aggregated from the
  `system:aggregate-to-*` roles), the `system:*` roles of users and components, the
  `system:controller:*` roles of kube-controller-manager's controllers, their
  ClusterRoleBindings, and the Roles and RoleBindings in kube-system and kube-public.
  They carry the label `kubernetes.io/bootstrapping: rbac-defaults` and the annotation
  `rbac.authorization.kubernetes.io/autoupdate: "true"`, and are reconciled at every
  start (reconcile.py);
- kubeadm's `init` phases: `kubeadm:cluster-admins` (which makes the kubeconfig's
  `kubernetes-admin` a cluster admin), `kubeadm:get-nodes` and the bootstrap-token and
  node-certificate bindings, the kubelet-config and kubeadm-config readers; these have
  neither label nor annotation.

The rules are upstream's of the 1.3x bootstrap policy as data in a compact notation:
`rule("get list watch", "core apps", "pods deployments", names="x")` (`core` is the
legacy group "") and `urls("get", "/healthz /livez")`.  Left out: the roles of
features a default 1.37 cluster has off (device taints), rules on resource.k8s.io
(DRA) that the 1.34+ scheduler and node roles add (the group is not served here).  The
roles the addons install (CoreDNS, kube-proxy, kindnet, local-path-provisioner) come
with those components (`kubecourse.embedded.system.addons`).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

GROUP = "rbac.authorization.k8s.io"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING = "kubernetes.io/bootstrapping"
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
BOOTSTRAP_TOKENS = "system:bootstrappers:kubeadm:default-node-token"


def rule(verbs: str, groups: str, resources: str, names: str = "") -> Obj:
    made: Obj = {
        "verbs": verbs.split(),
        "apiGroups": ["" if g == "core" else g for g in groups.split()],
        "resources": resources.split(),
    }
    if names:
        made["resourceNames"] = names.split()
    return made


def urls(verbs: str, paths: str) -> Obj:
    return {"verbs": verbs.split(), "nonResourceURLs": paths.split()}


RW = "create delete deletecollection patch update"
GLW = "get list watch"
ALL_RW = "create delete deletecollection get list patch update watch"
EVENTS = rule("create patch update", "core events.k8s.io", "events")


def aggregation_rule(target: str) -> Obj:
    return {
        "clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE_TO}{target}": "true"}}]
    }


# ---------------------------------------------------------------- cluster roles

_AGGREGATE_TO_EDIT = [
    rule(
        GLW,
        "core",
        "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy",
    ),
    rule("impersonate", "core", "serviceaccounts"),
    rule(RW, "core", "pods pods/attach pods/exec pods/portforward pods/proxy"),
    rule("create", "core", "pods/eviction"),
    rule(
        RW,
        "core",
        "configmaps events persistentvolumeclaims replicationcontrollers "
        "replicationcontrollers/scale secrets serviceaccounts services services/proxy",
    ),
    rule("create", "core", "serviceaccounts/token"),
    rule(
        RW,
        "apps",
        "daemonsets deployments deployments/rollback deployments/scale replicasets "
        "replicasets/scale statefulsets statefulsets/scale",
    ),
    rule(RW, "autoscaling", "horizontalpodautoscalers"),
    rule(RW, "batch", "cronjobs jobs"),
    rule(
        RW,
        "extensions",
        "daemonsets deployments deployments/rollback deployments/scale ingresses "
        "networkpolicies replicasets replicasets/scale replicationcontrollers/scale",
    ),
    rule(RW, "policy", "poddisruptionbudgets"),
    rule(RW, "networking.k8s.io", "ingresses networkpolicies"),
    rule(ALL_RW, "coordination.k8s.io", "leases"),
]

_AGGREGATE_TO_VIEW = [
    rule(
        GLW,
        "core",
        "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods "
        "replicationcontrollers replicationcontrollers/scale serviceaccounts services "
        "services/status",
    ),
    rule(
        GLW,
        "core",
        "bindings events limitranges namespaces/status pods/log pods/status "
        "replicationcontrollers/status resourcequotas resourcequotas/status",
    ),
    rule(GLW, "core", "namespaces"),
    rule(GLW, "discovery.k8s.io", "endpointslices"),
    rule(
        GLW,
        "apps",
        "controllerrevisions daemonsets daemonsets/status deployments deployments/scale "
        "deployments/status replicasets replicasets/scale replicasets/status statefulsets "
        "statefulsets/scale statefulsets/status",
    ),
    rule(
        GLW, "autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status"
    ),
    rule(GLW, "batch", "cronjobs cronjobs/status jobs jobs/status"),
    rule(
        GLW,
        "extensions",
        "daemonsets daemonsets/status deployments deployments/scale deployments/status "
        "ingresses ingresses/status networkpolicies replicasets replicasets/scale "
        "replicasets/status replicationcontrollers/scale",
    ),
    rule(GLW, "policy", "poddisruptionbudgets poddisruptionbudgets/status"),
    rule(GLW, "networking.k8s.io", "ingresses ingresses/status networkpolicies"),
]

_LEADER = "create"  # a component's own Lease: created, then read and renewed by name

_KUBE_CONTROLLER_MANAGER = [
    EVENTS,
    rule(_LEADER, "coordination.k8s.io", "leases"),
    rule(
        "get update", "coordination.k8s.io", "leases", names="kube-controller-manager"
    ),
    rule("create", "core", "secrets serviceaccounts"),
    rule("delete", "core", "secrets"),
    rule("get", "core", "configmaps namespaces secrets serviceaccounts"),
    rule("update", "core", "secrets serviceaccounts"),
    rule("create", "authentication.k8s.io", "tokenreviews"),
    rule("create", "authorization.k8s.io", "subjectaccessreviews"),
    rule("list watch", "*", "*"),
    rule("create", "core", "serviceaccounts/token"),
]

_KUBE_SCHEDULER = [
    EVENTS,
    rule(_LEADER, "coordination.k8s.io", "leases"),
    rule("get update", "coordination.k8s.io", "leases", names="kube-scheduler"),
    rule(GLW, "core", "nodes"),
    rule("delete get list watch", "core", "pods"),
    rule("create", "core", "bindings pods/binding"),
    rule("patch update", "core", "pods/status"),
    rule(GLW, "core", "replicationcontrollers services"),
    rule(GLW, "apps extensions", "replicasets"),
    rule(GLW, "apps", "statefulsets"),
    rule(GLW, "policy", "poddisruptionbudgets"),
    rule(GLW, "core", "persistentvolumeclaims persistentvolumes"),
    rule("create", "authentication.k8s.io", "tokenreviews"),
    rule("create", "authorization.k8s.io", "subjectaccessreviews"),
    rule(GLW, "storage.k8s.io", "csinodes"),
    rule(GLW, "core", "namespaces"),
    rule(GLW, "storage.k8s.io", "csidrivers"),
    rule(GLW, "storage.k8s.io", "csistoragecapacities"),
]

_NODE = [
    rule("create", "authentication.k8s.io", "tokenreviews"),
    rule(
        "create",
        "authorization.k8s.io",
        "localsubjectaccessreviews subjectaccessreviews",
    ),
    rule(GLW, "core", "services"),
    rule("create get list watch", "core", "nodes"),
    rule("patch update", "core", "nodes/status"),
    rule("patch update", "core", "nodes"),
    rule("create patch update", "core", "events"),
    rule(GLW, "core", "pods"),
    rule("create delete", "core", "pods"),
    rule("patch update", "core", "pods/status"),
    rule("create", "core", "pods/eviction"),
    rule(GLW, "core", "configmaps secrets"),
    rule("get", "core", "persistentvolumeclaims persistentvolumes"),
    rule("get", "core", "endpoints"),
    rule("create get list watch", "certificates.k8s.io", "certificatesigningrequests"),
    rule("create delete get patch update", "coordination.k8s.io", "leases"),
    rule("get", "storage.k8s.io", "volumeattachments"),
    rule("create", "core", "serviceaccounts/token"),
    rule("get patch update", "core", "persistentvolumeclaims/status"),
    rule(GLW, "storage.k8s.io", "csidrivers"),
    rule("create delete get patch update", "storage.k8s.io", "csinodes"),
    rule(GLW, "node.k8s.io", "runtimeclasses"),
]


def _approver(signer: str) -> list[Obj]:
    return [
        rule(
            "approve", "certificates.k8s.io", "signers", names=f"kubernetes.io/{signer}"
        )
    ]


_CERTIFICATES = "system:certificates.k8s.io:"

CLUSTER_ROLES: dict[str, list[Obj]] = {
    "cluster-admin": [rule("*", "*", "*"), urls("*", "*")],
    "system:aggregate-to-admin": [
        rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
        rule(ALL_RW, GROUP, "rolebindings roles"),
    ],
    "system:aggregate-to-edit": _AGGREGATE_TO_EDIT,
    "system:aggregate-to-view": _AGGREGATE_TO_VIEW,
    "system:auth-delegator": [
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
    ],
    "system:basic-user": [
        rule(
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews selfsubjectrulesreviews",
        ),
        rule("create", "authentication.k8s.io", "selfsubjectreviews"),
    ],
    f"{_CERTIFICATES}certificatesigningrequests:nodeclient": [
        rule("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient")
    ],
    f"{_CERTIFICATES}certificatesigningrequests:selfnodeclient": [
        rule(
            "create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient"
        )
    ],
    f"{_CERTIFICATES}kube-apiserver-client-approver": _approver(
        "kube-apiserver-client"
    ),
    f"{_CERTIFICATES}kube-apiserver-client-kubelet-approver": _approver(
        "kube-apiserver-client-kubelet"
    ),
    f"{_CERTIFICATES}kubelet-serving-approver": _approver("kubelet-serving"),
    f"{_CERTIFICATES}legacy-unknown-approver": _approver("legacy-unknown"),
    "system:discovery": [
        urls(
            "get",
            "/api /api/* /apis /apis/* /healthz /livez /openapi /openapi/* /readyz "
            "/version /version/",
        )
    ],
    "system:heapster": [
        rule(GLW, "core", "events namespaces nodes pods"),
        rule(GLW, "extensions", "deployments"),
    ],
    "system:kube-aggregator": [rule(GLW, "core", "endpoints services")],
    "system:kube-controller-manager": _KUBE_CONTROLLER_MANAGER,
    "system:kube-dns": [rule("list watch", "core", "endpoints services")],
    "system:kube-scheduler": _KUBE_SCHEDULER,
    "system:kubelet-api-admin": [
        rule(GLW, "core", "nodes"),
        rule("proxy", "core", "nodes"),
        rule("*", "core", "nodes/log nodes/metrics nodes/proxy nodes/stats"),
    ],
    "system:monitoring": [
        urls(
            "get",
            "/healthz /healthz/* /livez /livez/* /metrics /metrics/slis /readyz /readyz/*",
        )
    ],
    "system:node": _NODE,
    "system:node-bootstrapper": [
        rule(
            "create get list watch", "certificates.k8s.io", "certificatesigningrequests"
        )
    ],
    "system:node-problem-detector": [
        rule("get", "core", "nodes"),
        rule("patch", "core", "nodes/status"),
        EVENTS,
    ],
    "system:node-proxier": [
        rule("list watch", "core", "endpoints services"),
        rule(GLW, "core", "nodes"),
        EVENTS,
        rule("list watch", "discovery.k8s.io", "endpointslices"),
    ],
    "system:persistent-volume-provisioner": [
        rule("create delete get list watch", "core", "persistentvolumes"),
        rule("get list update watch", "core", "persistentvolumeclaims"),
        rule(GLW, "storage.k8s.io", "storageclasses"),
        rule("watch", "core", "events"),
        EVENTS,
    ],
    "system:public-info-viewer": [
        urls("get", "/healthz /livez /readyz /version /version/")
    ],
    "system:service-account-issuer-discovery": [
        urls("get", "/.well-known/openid-configuration /openid/v1/jwks")
    ],
    "system:volume-scheduler": [
        rule("get list patch update watch", "core", "persistentvolumes"),
        rule(GLW, "storage.k8s.io", "storageclasses"),
        rule("get list patch update watch", "core", "persistentvolumeclaims"),
    ],
}

# Aggregated roles: (target of their selector, the label that aggregates them further).
AGGREGATED: dict[str, tuple[str, str]] = {
    "admin": ("admin", ""),
    "edit": ("edit", "admin"),
    "view": ("view", "edit"),
}
# The roles whose rules are aggregated, and where.
AGGREGATES_TO = {
    "system:aggregate-to-admin": "admin",
    "system:aggregate-to-edit": "edit",
    "system:aggregate-to-view": "view",
}
