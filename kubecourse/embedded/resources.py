"""The resource types the embedded API server serves, and how to find them.

One `ResourceType` per served resource, with the facts discovery, routing, OpenAPI,
Tables and the store need.  Everything that varies by kind is looked up here, so adding
a kind is adding a line (plus its strategy, if it needs defaulting or validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    has_status: bool = field(default=False)
    # Store key shared with another served version (events.k8s.io Events live with
    # core Events); empty: the resource's own `plural.group`.
    storage: str = ""
    # Served as a CustomResourceDefinition would be (Gateway API): no strategic merge
    # patch, CRD verb order in discovery.
    custom: bool = False
    # Discovery's singularName when it is not the lower-cased kind (metrics-server
    # advertises "" for its resources).
    singular_name: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular(self) -> str:
        return self.kind.lower() if self.singular_name is None else self.singular_name

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> str:
        """Store key: `deployments.apps`, or `pods` for the core group."""
        return self.storage or self.qualified

    @property
    def qualified(self) -> str:
        """How Status messages name it: `deployments.apps` / `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def base_path(self, namespace: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


def _rt(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    verbs: tuple[str, ...] | None = None,
    storage: str = "",
    custom: bool = False,
    singular: str | None = None,
) -> ResourceType:
    kwargs: dict[str, object] = {"storage": storage, "custom": custom, "singular_name": singular}
    if verbs is not None:
        kwargs["verbs"] = verbs
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        subresources=sub,
        has_status="status" in sub,
        **kwargs,  # type: ignore[arg-type]
    )


ALL = ("all",)
GATEWAY = "gateway.networking.k8s.io"
GATEWAY_API = ("gateway-api",)
# The order in which the apiextensions server lists a custom resource's verbs.
CRD_VERBS = (
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
)

METRICS_VERBS = ("get", "list")

# Kinds a 1.37 cluster serves that the course does not teach but kubectl reaches
# (`apply --prune`, `cluster-info dump`, `describe ns`, `create quota|priorityclass`).
KINDS_BEYOND_THE_CHECKLIST: tuple[ResourceType, ...] = (
    _rt(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        short=("rc",),
        categories=ALL,
        sub=("status", "scale"),
    ),
    _rt("", "v1", "PodTemplate", "podtemplates"),
    # Computed on each read, never stored (componentstatus.py); deprecated in v1.19.
    _rt("", "v1", "ComponentStatus", "componentstatuses", False, ("cs",), verbs=METRICS_VERBS),
    _rt("", "v1", "ResourceQuota", "resourcequotas", short=("quota",), sub=("status",)),
    _rt("", "v1", "LimitRange", "limitranges", short=("limits",)),
    _rt("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        ("api-extensions",),
        ("status",),
    ),
    _rt("networking.k8s.io", "v1", "IPAddress", "ipaddresses", False, ("ip",)),
    _rt("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", False, sub=("status",)),
)

# RBAC (kubecourse/embedded/rbac/): the kinds the authorizer reads.
RBAC = "rbac.authorization.k8s.io"
RBAC_KINDS: tuple[ResourceType, ...] = (
    _rt(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _rt(RBAC, "v1", "ClusterRole", "clusterroles", False),
    _rt(RBAC, "v1", "RoleBinding", "rolebindings"),
    _rt(RBAC, "v1", "Role", "roles"),
)

RESOURCES: tuple[ResourceType, ...] = (
    _rt(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        ("ns",),
        sub=("status", "finalize"),
        # Namespaces are not deleted as a collection upstream.
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _rt("", "v1", "Node", "nodes", False, ("no",), sub=("status",)),
    _rt(
        "",
        "v1",
        "Pod",
        "pods",
        short=("po",),
        categories=ALL,
        sub=(
            "status",
            "binding",
            "eviction",
            "log",
            "exec",
            "attach",
            "portforward",
            "ephemeralcontainers",
            "proxy",
        ),
    ),
    _rt(
        "", "v1", "Service", "services", short=("svc",), categories=ALL, sub=("status", "proxy")
    ),
    _rt("", "v1", "Endpoints", "endpoints", short=("ep",)),
    _rt("", "v1", "Event", "events", short=("ev",)),
    _rt("", "v1", "ConfigMap", "configmaps", short=("cm",)),
    _rt("", "v1", "Secret", "secrets"),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), sub=("token",)),
    _rt(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        short=("pvc",),
        sub=("status",),
    ),
    _rt(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short=("deploy",),
        categories=ALL,
        sub=("status", "scale"),
    ),
    _rt(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short=("rs",),
        categories=ALL,
        sub=("status", "scale"),
    ),
    _rt(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short=("sts",),
        categories=ALL,
        sub=("status", "scale"),
    ),
    _rt(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        short=("ds",),
        categories=ALL,
        sub=("status",),
    ),
    # Written by the DaemonSet controller; read by `kubectl rollout history|undo ds`.
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _rt(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        False,
        ("pv",),
        sub=("status",),
    ),
    # The same stored Events as core v1, converted (conversion.py).
    _rt("events.k8s.io", "v1", "Event", "events", short=("ev",), storage="events"),
    # Reviews: created and answered, never stored (reviews.py).
    *(
        _rt(group, "v1", kind, f"{kind.lower()}s", namespaced, verbs=("create",))
        for group, kind, namespaced in (
            ("authentication.k8s.io", "SelfSubjectReview", False),
            ("authentication.k8s.io", "TokenReview", False),
            ("authorization.k8s.io", "LocalSubjectAccessReview", True),
            ("authorization.k8s.io", "SelfSubjectAccessReview", False),
            ("authorization.k8s.io", "SelfSubjectRulesReview", False),
            ("authorization.k8s.io", "SubjectAccessReview", False),
        )
    ),
    # Stored as v2; v1 is converted from it (conversion.py).
    _rt(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=("hpa",),
        categories=ALL,
        sub=("status",),
    ),
    _rt(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=("hpa",),
        categories=ALL,
        sub=("status",),
    ),
    _rt("batch", "v1", "Job", "jobs", categories=ALL, sub=("status",)),
    _rt(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        short=("cj",),
        categories=ALL,
        sub=("status",),
    ),
    _rt(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        short=("ing",),
        sub=("status",),
    ),
    _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _rt(
        "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=("netpol",)
    ),
    _rt(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short=("pdb",),
        sub=("status",),
    ),
    # After policy, as kube-apiserver orders its groups (rbac would come between).
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    _rt("coordination.k8s.io", "v1", "Lease", "leases"),
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    *KINDS_BEYOND_THE_CHECKLIST,
    *RBAC_KINDS,
    # Gateway API, served as a cluster with its CRDs installed serves it.
    _rt(
        GATEWAY,
        "v1",
        "GatewayClass",
        "gatewayclasses",
        False,
        ("gc",),
        GATEWAY_API,
        ("status",),
        CRD_VERBS,
        custom=True,
    ),
    _rt(
        GATEWAY,
        "v1",
        "Gateway",
        "gateways",
        True,
        ("gtw",),
        GATEWAY_API,
        ("status",),
        CRD_VERBS,
        custom=True,
    ),
    _rt(
        GATEWAY,
        "v1",
        "HTTPRoute",
        "httproutes",
        True,
        (),
        GATEWAY_API,
        ("status",),
        CRD_VERBS,
        custom=True,
    ),
    # metrics.k8s.io, as metrics-server serves it behind an aggregated APIService:
    # read-only, computed from the last scrape (metricsapi.py), never stored.
    _rt("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, verbs=METRICS_VERBS, singular=""),
    _rt("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", verbs=METRICS_VERBS, singular=""),
)

# Subresource verbs as a real server advertises them.
SUBRESOURCE_VERBS: dict[str, tuple[str, ...]] = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "finalize": ("update",),
    "binding": ("create",),
    "eviction": ("create",),
    "log": ("get",),
    "token": ("create",),
    "ephemeralcontainers": ("get", "patch", "update"),
    # The streaming ("connect") subresources, served by `kubecourse.embedded.streams`.
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
    # The API server's proxy to a Pod or a Service (`kubecourse.embedded.network.proxy`).
    "proxy": ("create", "delete", "get", "patch", "update"),
}

# The kind a subresource speaks, when it is not the parent's own kind.
SUBRESOURCE_KIND: dict[str, tuple[str, str, str]] = {
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
    "log": ("", "v1", "Pod"),
    "token": ("authentication.k8s.io", "v1", "TokenRequest"),
    "exec": ("", "v1", "PodExecOptions"),
    "attach": ("", "v1", "PodAttachOptions"),
    "portforward": ("", "v1", "PodPortForwardOptions"),
}
# Subresources that upgrade the connection (kube-apiserver's "connect" verbs).
CONNECT_SUBRESOURCES = ("exec", "attach", "portforward", "proxy")


class Registry:
    """Lookups over a set of resource types."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self.resources = resources
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        self._by_gvk = {(r.group, r.version, r.kind): r for r in resources}

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self._by_gvk.get((group, version, kind))

    def get(self, key: str) -> ResourceType:
        """By store key (`pods`, `deployments.apps`); the first version served."""
        for r in self.resources:
            if r.key == key:
                return r
        raise KeyError(key)

    def group_versions(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for r in self.resources:
            if (r.group, r.version) not in seen:
                seen.append((r.group, r.version))
        return seen

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.resources if r.group == group and r.version == version]


REGISTRY = Registry()


def rt(key: str) -> ResourceType:
    """Shorthand for controllers: `rt("pods")`, `rt("deployments.apps")`."""
    return REGISTRY.get(key)
