"""Authorization, and the self-review APIs kubectl's `auth` commands call.

RBAC is not simulated: the server knows the ClusterRoleBindings a fresh kind cluster
has for the identities that can reach it (auth.py), with their rules, and nothing else
(no Role or RoleBinding objects are served).  So:

- the admin (`kubeadm:cluster-admins`, or `system:masters`) may do everything, through
  `cluster-admin`;
- every authenticated user gets `system:basic-user` (create the three self reviews),
  `system:discovery` and `system:public-info-viewer` (GET the discovery, OpenAPI,
  version and health paths); service accounts also get
  `system:service-account-issuer-discovery`.  That is all a service account may do
  in a real cluster without bindings; anything else is 403 with kube-apiserver's
  message (`pods is forbidden: User "system:serviceaccount:default:default" cannot
  list resource "pods" in API group "" in the namespace "default"`).

Served (create only, cluster-scoped, nothing stored): `SelfSubjectReview`
(authentication.k8s.io/v1, `kubectl auth whoami`), `SelfSubjectAccessReview` (`kubectl
auth can-i`, with RBAC's reason `RBAC: allowed by ClusterRoleBinding "..." of
ClusterRole "..." to Group "..."`) and `SelfSubjectRulesReview` (`kubectl auth can-i
--list`), all authorization.k8s.io/v1.  Not served: SubjectAccessReview,
LocalSubjectAccessReview and TokenReview.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.auth import UserInfo

Obj = dict[str, Any]

ALL: Obj = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
SELF_REVIEWS = [
    {
        "verbs": ["create"],
        "apiGroups": ["authentication.k8s.io"],
        "resources": ["selfsubjectreviews"],
    },
    {
        "verbs": ["create"],
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
    },
]
DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
ISSUER_URLS = [
    "/.well-known/openid-configuration",
    "/.well-known/openid-configuration/",
    "/openid/v1/jwks",
    "/openid/v1/jwks/",
]


@dataclass(frozen=True)
class Binding:
    """A ClusterRoleBinding of a fresh kind cluster, with its ClusterRole's rules."""

    name: str
    role: str
    group: str
    resource_rules: tuple[Obj, ...] = ()
    non_resource_rules: tuple[Obj, ...] = ()

    def reason(self) -> str:
        return f'RBAC: allowed by ClusterRoleBinding "{self.name}" of ClusterRole "{self.role}" to Group "{self.group}"'


BINDINGS = (
    Binding(
        "cluster-admin",
        "cluster-admin",
        "system:masters",
        (ALL,),
        ({"verbs": ["*"], "nonResourceURLs": ["*"]},),
    ),
    Binding(
        "kubeadm:cluster-admins",
        "cluster-admin",
        "kubeadm:cluster-admins",
        (ALL,),
        ({"verbs": ["*"], "nonResourceURLs": ["*"]},),
    ),
    Binding(
        "system:basic-user",
        "system:basic-user",
        "system:authenticated",
        tuple(SELF_REVIEWS),
    ),
    Binding(
        "system:discovery",
        "system:discovery",
        "system:authenticated",
        (),
        ({"verbs": ["get"], "nonResourceURLs": DISCOVERY_URLS},),
    ),
    Binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        "system:authenticated",
        (),
        ({"verbs": ["get"], "nonResourceURLs": PUBLIC_URLS},),
    ),
    Binding(
        "system:service-account-issuer-discovery",
        "system:service-account-issuer-discovery",
        "system:serviceaccounts",
        (),
        ({"verbs": ["get"], "nonResourceURLs": ISSUER_URLS},),
    ),
)


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as kube-apiserver's RequestInfo names it."""

    verb: str
    path: str = ""
    resource: str = ""
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def bindings_for(user: UserInfo) -> list[Binding]:
    return [b for b in BINDINGS if b.group in user.groups]


def _has(values: list[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def _url_matches(patterns: list[str], path: str) -> bool:
    return any(
        p == "*" or p == path or (p.endswith("*") and path.startswith(p[:-1]))
        for p in patterns
    )


def _allows(binding: Binding, attrs: Attributes) -> bool:
    if not attrs.is_resource:
        return any(
            _has(r["verbs"], attrs.verb)
            and _url_matches(r["nonResourceURLs"], attrs.path)
            for r in binding.non_resource_rules
        )
    resource = (
        f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    )
    return any(
        _has(r["verbs"], attrs.verb)
        and _has(r["apiGroups"], attrs.group)
        and (
            _has(r["resources"], resource)
            or (attrs.subresource and f"*/{attrs.subresource}" in r["resources"])
        )
        and (not r.get("resourceNames") or attrs.name in r["resourceNames"])
        for r in binding.resource_rules
    )


def authorize(user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason), the first binding that allows it giving the reason."""
    for binding in bindings_for(user):
        if _allows(binding, attrs):
            return True, binding.reason()
    return False, ""


def forbidden(user: UserInfo, attrs: Attributes) -> status.StatusError:
    """The 403 kube-apiserver's authorization filter sends."""
    if not attrs.is_resource:
        return status.forbidden(
            f'forbidden: User "{user.username}" cannot {attrs.verb} path "{attrs.path}"',
            {},
        )
    resource = (
        f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    )
    scope = (
        f'in the namespace "{attrs.namespace}"'
        if attrs.namespace
        else "at the cluster scope"
    )
    reason = f'User "{user.username}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {scope}'
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    details: Obj = {"kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    return status.forbidden(f"{subject} is forbidden: {reason}", details)


# ---------------------------------------------------------------- request attributes

_VERBS = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "HEAD": "get",
    "GET": "get",
}


def request_attributes(method: str, path: str, watch: bool) -> Attributes:
    """kube-apiserver's RequestInfo: a resource request under /api/v1 or /apis/g/v, else
    a non-resource path."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return Attributes(verb=_VERBS.get(method, method.lower()), path=path)
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        namespace = rest[1]
    resource, name = rest[0], rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = _VERBS.get(method, method.lower())
    if method == "GET" and not name:
        verb = "watch" if watch else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    elif watch:
        verb = "watch"
    return Attributes(verb, path, resource, subresource, group, namespace, name)


# ---------------------------------------------------------------- the review APIs


def _review_body(body: Any, kind: str, group: str) -> Obj:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise status.bad_request(f"the request body must be a {kind} object")
    if body.get("kind") not in (None, "", kind) or body.get("apiVersion") not in (
        None,
        "",
        f"{group}/v1",
    ):
        raise status.bad_request(
            f"the server could not process a {body.get('kind')} ({body.get('apiVersion')}) at the "
            f"{kind.lower()}s endpoint (expected {group}/v1 {kind})"
        )
    review = copy.deepcopy(body)
    review.update(kind=kind, apiVersion=f"{group}/v1")
    meta = review.get("metadata")
    review["metadata"] = dict(meta) if isinstance(meta, dict) else {}
    review["metadata"].setdefault("creationTimestamp", None)
    return review


def self_subject_review(user: UserInfo, body: Any) -> Obj:
    """`kubectl auth whoami`: the requester's user info."""
    review = _review_body(body, "SelfSubjectReview", "authentication.k8s.io")
    review["status"] = {"userInfo": user.to_json()}
    return review


def self_subject_access_review(user: UserInfo, body: Any) -> Obj:
    """`kubectl auth can-i VERB RESOURCE`: may the requester do it?"""
    review = _review_body(body, "SelfSubjectAccessReview", "authorization.k8s.io")
    spec = review.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    resource, non_resource = (
        spec.get("resourceAttributes"),
        spec.get("nonResourceAttributes"),
    )
    if resource and non_resource:
        raise _invalid_review(
            "spec.nonResourceAttributes",
            "cannot be specified in combination with resourceAttributes",
        )
    if not resource and not non_resource:
        raise _invalid_review(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    attrs = (
        _attributes(resource) if resource else _non_resource_attributes(non_resource)
    )
    allowed, reason = authorize(user, attrs)
    review["spec"] = spec
    review["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
    return review


def _attributes(given: Any) -> Attributes:
    if not isinstance(given, dict):
        raise status.bad_request("spec.resourceAttributes must be an object")
    text = {
        k: str(given.get(k) or "")
        for k in ("verb", "resource", "subresource", "group", "namespace", "name")
    }
    return Attributes(
        text["verb"],
        "",
        text["resource"] or "*",
        text["subresource"],
        text["group"],
        text["namespace"],
        text["name"],
    )


def _non_resource_attributes(given: Any) -> Attributes:
    if not isinstance(given, dict):
        raise status.bad_request("spec.nonResourceAttributes must be an object")
    return Attributes(str(given.get("verb") or ""), str(given.get("path") or ""))


def _invalid_review(field_path: str, message: str) -> status.StatusError:
    text = f"Invalid value: null: {message}"
    return status.StatusError(
        422,
        "Invalid",
        f'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: {field_path}: {text}',
        {
            "group": "authorization.k8s.io",
            "kind": "SelfSubjectAccessReview",
            "causes": [status.cause(field_path, text)],
        },
    )


def self_subject_rules_review(user: UserInfo, body: Any) -> Obj:
    """`kubectl auth can-i --list`: every rule of the requester's bindings."""
    review = _review_body(body, "SelfSubjectRulesReview", "authorization.k8s.io")
    spec = review.get("spec")
    review["spec"] = spec if isinstance(spec, dict) else {}
    bindings = bindings_for(user)
    review["status"] = {
        "resourceRules": [copy.deepcopy(r) for b in bindings for r in b.resource_rules],
        "nonResourceRules": [
            copy.deepcopy(r) for b in bindings for r in b.non_resource_rules
        ],
        "incomplete": False,
    }
    return review


REVIEWS = {
    ("authentication.k8s.io", "selfsubjectreviews"): self_subject_review,
    ("authorization.k8s.io", "selfsubjectaccessreviews"): self_subject_access_review,
    ("authorization.k8s.io", "selfsubjectrulesreviews"): self_subject_rules_review,
}
