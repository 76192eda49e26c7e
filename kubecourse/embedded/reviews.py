"""The review APIs: created and answered at once, never stored.

| kind | group | kubectl | answered by |
|---|---|---|---|
| SelfSubjectReview | authentication.k8s.io | `auth whoami` | the requester (after impersonation) |
| TokenReview | authentication.k8s.io | | the authenticator (auth.py) |
| SelfSubjectAccessReview | authorization.k8s.io | `auth can-i VERB RESOURCE` | the RBAC authorizer |
| SelfSubjectRulesReview | authorization.k8s.io | `auth can-i --list` | the rule resolver |
| SubjectAccessReview | authorization.k8s.io | | the RBAC authorizer, for `spec.user` / `spec.groups` |
| LocalSubjectAccessReview (namespaced) | authorization.k8s.io | | the same, in the URL's namespace |

Faithful: the access reviews answer `allowed` with RBAC's reason (`RBAC: allowed by
ClusterRoleBinding "..." of ClusterRole "..." to Group "..."`), or not allowed with
the reason of a refusal (a missing role's error); a SubjectAccessReview evaluates
exactly the user, groups, uid and extra it names (no implicit
`system:authenticated`); validation as upstream (exactly one of resourceAttributes
and nonResourceAttributes, a user or a group, empty metadata, a
LocalSubjectAccessReview's `spec.resourceAttributes.namespace` equal to its
namespace and no nonResourceAttributes); a SelfSubjectRulesReview needs
`spec.namespace` (400 `no namespace on request`) and lists every rule bound to the
requester there, `incomplete` with the `evaluationError` when a bound role is
missing; a TokenReview needs `spec.token` (400) and answers `authenticated`, the
user and the audiences, or the `error`.

Simplified: field and label selectors of resource attributes (alpha upstream) are
ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.auth import Authenticator, UserInfo
from kubecourse.embedded.rbac.authorizer import Authorizer, aggregate
from kubecourse.embedded.rbac.rules import Attributes

Obj = dict[str, Any]
AUTHENTICATION = "authentication.k8s.io"
AUTHORIZATION = "authorization.k8s.io"
REVIEWS = {
    (AUTHENTICATION, "selfsubjectreviews"): "SelfSubjectReview",
    (AUTHENTICATION, "tokenreviews"): "TokenReview",
    (AUTHORIZATION, "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    (AUTHORIZATION, "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
    (AUTHORIZATION, "subjectaccessreviews"): "SubjectAccessReview",
    (AUTHORIZATION, "localsubjectaccessreviews"): "LocalSubjectAccessReview",
}


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


def _spec(review: Obj) -> Obj:
    spec = review.get("spec")
    review["spec"] = spec if isinstance(spec, dict) else {}
    return dict(review["spec"])


def _invalid(
    kind: str, causes: list[dict[str, str]], name: str = ""
) -> status.StatusError:
    parts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    group = AUTHENTICATION if kind == "TokenReview" else AUTHORIZATION
    return status.StatusError(
        422,
        "Invalid",
        f'{kind}.{group} "{name}" is invalid: {summary}',
        {"name": name, "group": group, "kind": kind, "causes": causes},
    )


def _cause(field: str, value: str, message: str) -> dict[str, str]:
    return status.cause(field, f"Invalid value: {value}: {message}")


# ---------------------------------------------------------------- attributes


def _resource_attributes(given: Any) -> Attributes:
    if not isinstance(given, dict):
        raise status.bad_request("spec.resourceAttributes must be an object")
    text = {
        k: str(given.get(k) or "")
        for k in ("verb", "resource", "subresource", "group", "namespace", "name")
    }
    return Attributes(
        text["verb"],
        "",
        text["resource"] or "*",  # a resource request, even for ""
        text["subresource"],
        text["group"],
        text["namespace"],
        text["name"],
    )


def _non_resource_attributes(given: Any) -> Attributes:
    if not isinstance(given, dict):
        raise status.bad_request("spec.nonResourceAttributes must be an object")
    return Attributes(str(given.get("verb") or ""), str(given.get("path") or ""))


def _attributes_causes(spec: Obj) -> list[dict[str, str]]:
    """`ValidateSelfSubjectAccessReviewSpec`."""
    resource, non_resource = (
        spec.get("resourceAttributes"),
        spec.get("nonResourceAttributes"),
    )
    if resource and non_resource:
        return [
            _cause(
                "spec.nonResourceAttributes",
                _go_struct("NonResourceAttributes", non_resource),
                "cannot be specified in combination with resourceAttributes",
            )
        ]
    if not resource and not non_resource:
        return [
            _cause(
                "spec.resourceAttributes",
                "null",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )
        ]
    return []


def _go_struct(kind: str, value: Any) -> str:
    fields = value if isinstance(value, dict) else {}
    inner = ", ".join(f'{k[:1].upper()}{k[1:]}:"{v}"' for k, v in fields.items())
    return f"&authorization.{kind}{{{inner}}}"


def _attributes(spec: Obj) -> Attributes:
    if spec.get("resourceAttributes"):
        return _resource_attributes(spec["resourceAttributes"])
    return _non_resource_attributes(spec["nonResourceAttributes"])


def _status(allowed: bool, reason: str) -> Obj:
    answer: Obj = {"allowed": allowed}
    if reason:
        answer["reason"] = reason
    return answer


def _subject(spec: Obj) -> UserInfo:
    extra = spec.get("extra") if isinstance(spec.get("extra"), dict) else {}
    return UserInfo(
        str(spec.get("user") or ""),
        tuple(str(g) for g in spec.get("groups") or []),
        str(spec.get("uid") or ""),
        {str(k): [str(v) for v in values or []] for k, values in (extra or {}).items()},
    )


class Reviews:
    """The six review kinds, answered by the server's authenticator and authorizer."""

    def __init__(self, authn: Authenticator, authz: Authorizer) -> None:
        self.authn = authn
        self.authz = authz

    def answer(
        self, group: str, plural: str, user: UserInfo, namespace: str | None, body: Any
    ) -> Obj:
        kind = REVIEWS[(group, plural)]
        review = _review_body(body, kind, group)
        answer = {
            "SelfSubjectReview": self.self_subject_review,
            "TokenReview": self.token_review,
            "SelfSubjectAccessReview": self.self_subject_access_review,
            "SelfSubjectRulesReview": self.self_subject_rules_review,
            "SubjectAccessReview": self.subject_access_review,
            "LocalSubjectAccessReview": self.local_subject_access_review,
        }[kind]
        return answer(review, user, namespace or "")

    # -- authentication ----------------------------------------------------------------

    def self_subject_review(self, review: Obj, user: UserInfo, _: str) -> Obj:
        """`kubectl auth whoami`: the requester's user info."""
        review["status"] = {"userInfo": user.to_json()}
        return review

    def token_review(self, review: Obj, _: UserInfo, __: str) -> Obj:
        spec = _spec(review)
        token = spec.get("token")
        if not token or not isinstance(token, str):
            raise status.bad_request(
                "token is required for TokenReview in authentication"
            )
        audiences = [str(a) for a in spec.get("audiences") or []]
        found, accepted, error = self.authn.review(token, audiences)
        answer: Obj = {"user": found.to_json() if found is not None else {}}
        if found is not None:
            answer = {"authenticated": True, **answer, "audiences": accepted}
        if error:
            answer["error"] = error
        review["status"] = answer
        return review

    # -- authorization -----------------------------------------------------------------

    def self_subject_access_review(self, review: Obj, user: UserInfo, _: str) -> Obj:
        """`kubectl auth can-i VERB RESOURCE`: may the requester do it?"""
        spec = _spec(review)
        causes = _attributes_causes(spec)
        if causes:
            raise _invalid("SelfSubjectAccessReview", causes)
        decision = self.authz.authorize(user, _attributes(spec))
        review["status"] = _status(decision.allowed, decision.reason)
        return review

    def subject_access_review(self, review: Obj, _: UserInfo, __: str) -> Obj:
        """May `spec.user` (in `spec.groups`) do it?"""
        spec = _spec(review)
        causes = _attributes_causes(spec) + _subject_causes(spec)
        if _has_metadata(review["metadata"], allow_namespace=False):
            causes.append(status.cause("metadata", 'Invalid value: "": must be empty'))
        if causes:
            raise _invalid("SubjectAccessReview", causes)
        decision = self.authz.authorize(_subject(spec), _attributes(spec))
        review["status"] = _status(decision.allowed, decision.reason)
        return review

    def local_subject_access_review(
        self, review: Obj, _: UserInfo, namespace: str
    ) -> Obj:
        """A SubjectAccessReview in one namespace."""
        spec = _spec(review)
        meta = review["metadata"]
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace
        causes = (
            _attributes_causes(spec)
            + _subject_causes(spec)
            + _local_causes(spec, namespace)
        )
        if _has_metadata(meta, allow_namespace=True):
            causes.append(
                status.cause(
                    "metadata", 'Invalid value: "": must be empty except for namespace'
                )
            )
        if causes:
            raise _invalid("LocalSubjectAccessReview", causes)
        decision = self.authz.authorize(_subject(spec), _attributes(spec))
        review["status"] = _status(decision.allowed, decision.reason)
        return review

    def self_subject_rules_review(self, review: Obj, user: UserInfo, _: str) -> Obj:
        """`kubectl auth can-i --list`: every rule bound to the requester."""
        spec = _spec(review)
        namespace = spec.get("namespace")
        if not namespace:
            raise status.bad_request("no namespace on request")
        rules, errors = self.authz.rules_for(user, str(namespace))
        answer: Obj = {
            "resourceRules": [_resource_rule(r) for r in rules if r.get("resources")],
            "nonResourceRules": [
                _non_resource_rule(r) for r in rules if r.get("nonResourceURLs")
            ],
            "incomplete": False,
        }
        if errors:
            answer["evaluationError"] = aggregate(errors)
        return {
            "kind": "SelfSubjectRulesReview",
            "apiVersion": f"{AUTHORIZATION}/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {},
            "status": answer,
        }


def _subject_causes(spec: Obj) -> list[dict[str, str]]:
    if spec.get("user") or spec.get("groups"):
        return []
    return [
        _cause("spec.user", '""', "at least one of user or group must be specified")
    ]


def _local_causes(spec: Obj, namespace: str) -> list[dict[str, str]]:
    causes = []
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict) and (resource.get("namespace") or "") != namespace:
        shown = f'"{resource.get("namespace") or ""}"'
        causes.append(
            _cause(
                "spec.resourceAttributes.namespace",
                shown,
                "must match metadata.namespace",
            )
        )
    if spec.get("nonResourceAttributes"):
        shown = _go_struct("NonResourceAttributes", spec["nonResourceAttributes"])
        causes.append(
            _cause(
                "spec.nonResourceAttributes",
                shown,
                "disallowed on this kind of request",
            )
        )
    return causes


def _has_metadata(meta: Obj, allow_namespace: bool) -> bool:
    ignored = {"creationTimestamp", "managedFields"} | (
        {"namespace"} if allow_namespace else set()
    )
    return any(v not in (None, "", {}, []) for k, v in meta.items() if k not in ignored)


def _resource_rule(rule: Any) -> Obj:
    made = {f: list(rule.get(f) or []) for f in ("verbs", "apiGroups", "resources")}
    if rule.get("resourceNames"):
        made["resourceNames"] = list(rule["resourceNames"])
    return made


def _non_resource_rule(rule: Any) -> Obj:
    return {
        "verbs": list(rule.get("verbs") or []),
        "nonResourceURLs": list(rule["nonResourceURLs"]),
    }
