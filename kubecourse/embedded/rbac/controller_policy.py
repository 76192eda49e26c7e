"""The `system:controller:<name>` ClusterRoles kube-apiserver bootstraps for
kube-controller-manager's controllers (upstream's `controller_policy.go`), each bound
to the `kube-system/<name>` ServiceAccount the controller runs as.

Rules as upstream's for a 1.3x cluster with default feature gates, in the notation of
policy.py.  The embedded controllers run in-process and authenticate as nobody, so
these roles are what `kubectl get clusterroles` and `kubectl describe` show, and what
a learner may bind to; they do not limit the simulated controllers.
"""

from __future__ import annotations

from kubecourse.embedded.rbac.policy import EVENTS, GLW, Obj, rule

_RS = "create delete get list patch update watch"

CONTROLLER_ROLES: dict[str, list[Obj]] = {
    "attachdetach-controller": [
        rule("list watch", "core", "persistentvolumeclaims persistentvolumes"),
        rule(GLW, "core", "nodes"),
        rule("patch update", "core", "nodes/status"),
        rule("list watch", "core", "pods"),
        EVENTS,
        rule("create delete get list watch", "storage.k8s.io", "volumeattachments"),
        rule(GLW, "storage.k8s.io", "csidrivers"),
        rule(GLW, "storage.k8s.io", "csinodes"),
    ],
    "certificate-controller": [
        rule(
            "delete get list watch", "certificates.k8s.io", "certificatesigningrequests"
        ),
        rule(
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests/approval certificatesigningrequests/status",
        ),
        rule(
            "approve",
            "certificates.k8s.io",
            "signers",
            names="kubernetes.io/kube-apiserver-client-kubelet",
        ),
        rule(
            "sign",
            "certificates.k8s.io",
            "signers",
            names="kubernetes.io/kube-apiserver-client "
            "kubernetes.io/kube-apiserver-client-kubelet kubernetes.io/kubelet-serving "
            "kubernetes.io/legacy-unknown",
        ),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
        EVENTS,
    ],
    "clusterrole-aggregation-controller": [
        rule(
            "escalate get list patch update watch",
            "rbac.authorization.k8s.io",
            "clusterroles",
        )
    ],
    "cronjob-controller": [
        rule("get list update watch", "batch", "cronjobs"),
        rule(_RS, "batch", "jobs"),
        rule("update", "batch", "cronjobs/status"),
        rule("update", "batch", "cronjobs/finalizers"),
        rule("delete list watch", "core", "pods"),
        EVENTS,
    ],
    "daemon-set-controller": [
        rule(GLW, "apps extensions", "daemonsets"),
        rule("update", "apps extensions", "daemonsets/status"),
        rule("update", "apps extensions", "daemonsets/finalizers"),
        rule("list watch", "core", "nodes"),
        rule("create delete list patch watch", "core", "pods"),
        rule("create", "core", "pods/binding"),
        rule(_RS, "apps", "controllerrevisions"),
        EVENTS,
    ],
    "deployment-controller": [
        rule("get list update watch", "apps extensions", "deployments"),
        rule("update", "apps extensions", "deployments/status"),
        rule("update", "apps extensions", "deployments/finalizers"),
        rule(_RS, "apps extensions", "replicasets"),
        rule("get list update watch", "core", "pods"),
        EVENTS,
    ],
    "disruption-controller": [
        rule(GLW, "apps extensions", "deployments"),
        rule(GLW, "apps extensions", "replicasets"),
        rule(GLW, "core", "replicationcontrollers"),
        rule(GLW, "policy", "poddisruptionbudgets"),
        rule(GLW, "apps", "statefulsets"),
        rule("update", "policy", "poddisruptionbudgets/status"),
        rule("patch update", "core", "pods/status"),
        rule("get", "*", "*/scale"),
        EVENTS,
    ],
    "endpoint-controller": [
        rule(GLW, "core", "pods services"),
        rule("create delete get list update watch", "core", "endpoints"),
        rule("create", "core", "endpoints/restricted"),
        EVENTS,
    ],
    "endpointslice-controller": [
        rule(GLW, "core", "nodes pods services"),
        rule("update", "core", "services/finalizers"),
        rule(
            "create delete get list update watch", "discovery.k8s.io", "endpointslices"
        ),
        EVENTS,
    ],
    "endpointslicemirroring-controller": [
        rule(GLW, "core", "endpoints services"),
        rule("update", "core", "services/finalizers"),
        rule("update", "core", "endpoints/finalizers"),
        rule(
            "create delete get list update watch", "discovery.k8s.io", "endpointslices"
        ),
        EVENTS,
    ],
    "ephemeral-volume-controller": [
        rule(GLW, "core", "pods"),
        rule("update", "core", "pods/finalizers"),
        rule("create get list watch", "core", "persistentvolumeclaims"),
        EVENTS,
    ],
    "expand-controller": [
        rule("get list patch update watch", "core", "persistentvolumes"),
        rule("patch update", "core", "persistentvolumeclaims/status"),
        rule(GLW, "core", "persistentvolumeclaims"),
        EVENTS,
    ],
    "generic-garbage-collector": [
        rule("delete get list patch update watch", "*", "*"),
        EVENTS,
    ],
    "horizontal-pod-autoscaler": [
        rule(GLW, "autoscaling", "horizontalpodautoscalers"),
        rule("update", "autoscaling", "horizontalpodautoscalers/status"),
        rule("get update", "*", "*/scale"),
        rule("list watch", "core", "pods"),
        rule("list watch", "metrics.k8s.io", "pods"),
        rule(GLW, "custom.metrics.k8s.io", "*"),
        rule(GLW, "external.metrics.k8s.io", "*"),
        EVENTS,
    ],
    "job-controller": [
        rule("get list patch update watch", "batch", "jobs"),
        rule("update", "batch", "jobs/status"),
        rule("update", "batch", "jobs/finalizers"),
        rule("create delete list patch watch", "core", "pods"),
        EVENTS,
    ],
    "legacy-service-account-token-cleaner": [
        rule(
            "get",
            "core",
            "configmaps",
            names="kube-apiserver-legacy-service-account-token-tracking",
        ),
        rule("delete patch", "core", "secrets"),
    ],
    "namespace-controller": [
        rule("delete get list watch", "core", "namespaces"),
        rule("update", "core", "namespaces/finalize namespaces/status"),
        rule("delete deletecollection get list watch", "*", "*"),
    ],
    "node-controller": [
        rule("delete get list patch update watch", "core", "nodes"),
        rule("patch update", "core", "nodes/status"),
        rule("patch update", "core", "pods/status"),
        rule("delete get list watch", "core", "pods"),
        EVENTS,
    ],
    "persistent-volume-binder": [
        rule("create delete get list update watch", "core", "persistentvolumes"),
        rule("update", "core", "persistentvolumes/status"),
        rule("get list update watch", "core", "persistentvolumeclaims"),
        rule("update", "core", "persistentvolumeclaims/status"),
        rule("create delete get list watch", "core", "pods"),
        rule(GLW, "storage.k8s.io", "storageclasses"),
        rule("list watch", "core", "nodes"),
        EVENTS,
        rule("watch", "core", "events"),
    ],
    "pod-garbage-collector": [
        rule("delete list watch", "core", "pods"),
        rule(GLW, "core", "nodes"),
        rule("patch", "core", "pods/status"),
    ],
    "pv-protection-controller": [
        rule("get list update watch", "core", "persistentvolumes"),
        EVENTS,
    ],
    "pvc-protection-controller": [
        rule("get list update watch", "core", "persistentvolumeclaims"),
        rule("update", "core", "persistentvolumeclaims/status"),
        rule(GLW, "core", "pods"),
        EVENTS,
    ],
    "replicaset-controller": [
        rule("get list update watch", "apps extensions", "replicasets"),
        rule("update", "apps extensions", "replicasets/status"),
        rule("update", "apps extensions", "replicasets/finalizers"),
        rule("create delete list patch watch", "core", "pods"),
        EVENTS,
    ],
    "replication-controller": [
        rule("get list update watch", "core", "replicationcontrollers"),
        rule("update", "core", "replicationcontrollers/status"),
        rule("update", "core", "replicationcontrollers/finalizers"),
        rule("create delete list patch watch", "core", "pods"),
        EVENTS,
    ],
    "resource-claim-controller": [
        rule(GLW, "core", "pods"),
        rule("update", "core", "pods/finalizers"),
        rule("create delete get list watch", "resource.k8s.io", "resourceclaims"),
        rule("patch update", "resource.k8s.io", "resourceclaims resourceclaims/status"),
        rule("patch update", "core", "pods/status"),
        EVENTS,
        rule("patch update", "resource.k8s.io", "resourceclaims/binding"),
    ],
    "resourcequota-controller": [
        rule("list watch", "*", "*"),
        rule("update", "core", "resourcequotas/status"),
        EVENTS,
    ],
    "root-ca-cert-publisher": [rule("create update", "core", "configmaps"), EVENTS],
    "route-controller": [
        rule("list watch", "core", "nodes"),
        rule("patch", "core", "nodes/status"),
        EVENTS,
    ],
    "selinux-warning-controller": [
        EVENTS,
        rule(GLW, "core", "persistentvolumes"),
        rule(GLW, "core", "persistentvolumeclaims"),
        rule(GLW, "core", "pods"),
        rule(GLW, "storage.k8s.io", "csidrivers"),
    ],
    "service-account-controller": [rule("create", "core", "serviceaccounts"), EVENTS],
    "service-cidrs-controller": [
        rule("get list patch update watch", "networking.k8s.io", "servicecidrs"),
        rule("patch update", "networking.k8s.io", "servicecidrs/finalizers"),
        rule("patch update", "networking.k8s.io", "servicecidrs/status"),
        rule(GLW, "networking.k8s.io", "ipaddresses"),
        EVENTS,
    ],
    "service-controller": [
        rule(GLW, "core", "services"),
        rule("patch update", "core", "services/status"),
        rule("list watch", "core", "nodes"),
        EVENTS,
    ],
    "statefulset-controller": [
        rule("list watch", "core", "pods"),
        rule(GLW, "apps", "statefulsets"),
        rule("update", "apps", "statefulsets/status"),
        rule("update", "apps", "statefulsets/finalizers"),
        rule("create delete get patch update", "core", "pods"),
        rule(_RS, "apps", "controllerrevisions"),
        rule("create get list watch", "core", "persistentvolumeclaims"),
        rule("delete update", "core", "persistentvolumeclaims"),
        rule("update", "core", "pods/finalizers"),
        EVENTS,
    ],
    "ttl-after-finished-controller": [
        rule("delete get list watch", "batch", "jobs"),
        EVENTS,
    ],
    "ttl-controller": [rule("list patch update watch", "core", "nodes"), EVENTS],
    "validatingadmissionpolicy-status-controller": [
        rule(GLW, "admissionregistration.k8s.io", "validatingadmissionpolicies"),
        rule(
            "get patch update",
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies/status",
        ),
        EVENTS,
    ],
    "volumeattributesclass-protection-controller": [
        rule(GLW, "core", "persistentvolumeclaims"),
        rule(GLW, "core", "persistentvolumes"),
        rule("get list update watch", "storage.k8s.io", "volumeattributesclasses"),
        EVENTS,
    ],
}
