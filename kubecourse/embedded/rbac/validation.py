"""Defaulting and validation of Role, ClusterRole, RoleBinding and ClusterRoleBinding,
as kube-apiserver's rbac registry applies them.

Faithful (`pkg/apis/rbac/v1/defaults.go`, `pkg/apis/rbac/validation`): `roleRef.apiGroup`
defaults to `rbac.authorization.k8s.io`, a User or Group subject's `apiGroup` too; names
are path segments (`system:controller:x` is fine; `.`, `..`, `/` and `%` are not);
every rule needs verbs, a resource rule apiGroups and resources, a non-resource rule
no resources (and no place in a Role); an aggregation rule at least one valid label
selector; `roleRef` must name a Role or ClusterRole of rbac.authorization.k8s.io and
may not change (`roleRef: Invalid value: rbac.RoleRef{APIGroup:"...", Kind:"Role",
Name:"x"}: cannot change roleRef`); subjects are a User, Group or ServiceAccount with
the right apiGroup, a ServiceAccount of a ClusterRoleBinding needs its namespace.
Roles and ClusterRoles are always written with `rules` (null when empty), as Go's
JSON has no omitempty there.
"""

from __future__ import annotations

import json
from typing import Any

from kubecourse.embedded.rbac.authorizer import GROUP
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.selectors import SelectorError, label_selector_from_spec
from kubecourse.embedded.validation import (
    invalid_value,
    not_supported,
    path_segment_name,
    required,
    validate_name,
)

Obj = dict[str, Any]
Causes = list[dict[str, str]]

ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


# ---------------------------------------------------------------- defaulting


def default(kind: str, obj: Obj) -> None:
    if kind in ROLE_KINDS:
        obj.setdefault("rules", None)
        return
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            if subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = GROUP


# ---------------------------------------------------------------- validation


def _rule_causes(rule: Any, namespaced: bool, field: str) -> Causes:
    """`ValidatePolicyRule`."""
    if not isinstance(rule, dict):
        return [invalid_value(field, rule, "must be an object")]
    causes: Causes = []
    if not rule.get("verbs"):
        detail = "verbs must contain at least one value"
        causes.append(_required(f"{field}.verbs", detail))
    if rule.get("nonResourceURLs"):
        return causes + _url_rule_causes(rule, namespaced, f"{field}.nonResourceURLs")

    if not rule.get("apiGroups"):
        detail = "resource rules must supply at least one api group"
        causes.append(_required(f"{field}.apiGroups", detail))
    if not rule.get("resources"):
        detail = "resource rules must supply at least one resource"
        causes.append(_required(f"{field}.resources", detail))
    return causes


def _url_rule_causes(rule: Obj, namespaced: bool, field: str) -> Causes:
    urls = rule["nonResourceURLs"]
    causes: Causes = []
    if namespaced:
        detail = "namespaced rules cannot apply to non-resource URLs"
        causes.append(_invalid_list(field, urls, detail))
    if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
        detail = "rules cannot apply to both regular resources and non-resource URLs"
        causes.append(_invalid_list(field, urls, detail))
    return causes


def _required(field: str, detail: str) -> dict[str, str]:
    cause = required(field)
    cause["message"] = f"Required value: {detail}"
    return cause


def _invalid_list(field: str, values: Any, detail: str) -> dict[str, str]:
    """A []string shown as Go's %#v prints it: `[]string{"/healthz"}`."""
    shown = (
        ", ".join(json.dumps(str(v)) for v in values)
        if isinstance(values, list)
        else ""
    )
    cause = invalid_value(field, "", detail)
    cause["message"] = f"Invalid value: []string{{{shown}}}: {detail}"
    return cause


def _aggregation_causes(rule: Any) -> Causes:
    if rule is None:
        return []
    selectors = rule.get("clusterRoleSelectors") if isinstance(rule, dict) else None
    field = "aggregationRule.clusterRoleSelectors"
    if not selectors:
        return [
            _required(
                field,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            )
        ]
    causes: Causes = []
    for i, selector in enumerate(selectors):
        try:
            label_selector_from_spec(selector)
        except (SelectorError, ValueError, TypeError, AttributeError) as err:
            detail = f"invalid label selector. ({err})"
            causes.append(invalid_value(f"{field}[{i}]", str(selector), detail))
    return causes


def _subject_causes(subject: Any, namespaced: bool, field: str) -> Causes:
    """`ValidateRoleBindingSubject`."""
    if not isinstance(subject, dict):
        return [invalid_value(field, subject, "must be an object")]
    causes: Causes = []
    name, kind, group = (
        subject.get("name") or "",
        subject.get("kind"),
        subject.get("apiGroup") or "",
    )
    if not name:
        causes.append(required(f"{field}.name"))
    if kind == "ServiceAccount":
        if name:
            causes += validate_name(
                REGISTRY.get("serviceaccounts"), str(name), f"{field}.name"
            )
        if group:
            causes.append(not_supported(f"{field}.apiGroup", group, ("",)))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{field}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            causes.append(not_supported(f"{field}.apiGroup", group, (GROUP,)))
    else:
        causes.append(not_supported(f"{field}.kind", kind, SUBJECT_KINDS))
    return causes


def _role_ref_causes(ref: Any) -> Causes:
    ref = ref if isinstance(ref, dict) else {}
    causes: Causes = []
    if ref.get("apiGroup") != GROUP:
        causes.append(
            not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (GROUP,))
        )
    if ref.get("kind") not in ROLE_KINDS:
        causes.append(not_supported("roleRef.kind", ref.get("kind") or "", ROLE_KINDS))
    name = ref.get("name")
    if not name:
        causes.append(required("roleRef.name"))
    else:
        causes += path_segment_name(str(name), "roleRef.name")
    return causes


def causes(kind: str, obj: Obj) -> Causes:
    """Validation of a new or updated object of one of the four kinds."""
    namespaced = kind in ("Role", "RoleBinding")
    if kind in ROLE_KINDS:
        rules = obj.get("rules") or []
        found = [
            c
            for i, rule in enumerate(rules if isinstance(rules, list) else [])
            for c in _rule_causes(rule, namespaced, f"rules[{i}]")
        ]
        if kind == "ClusterRole":
            found += _aggregation_causes(obj.get("aggregationRule"))
        return found
    found = _role_ref_causes(obj.get("roleRef"))
    subjects = obj.get("subjects") or []
    for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
        found += _subject_causes(subject, namespaced, f"subjects[{i}]")
    return found


def update_causes(kind: str, old: Obj, new: Obj) -> Causes:
    """`roleRef` is immutable."""
    if kind not in BINDING_KINDS or old.get("roleRef") == new.get("roleRef"):
        return []
    ref = new.get("roleRef") or {}
    shown = (
        f"rbac.RoleRef{{APIGroup:{json.dumps(str(ref.get('apiGroup') or ''))}, "
        f"Kind:{json.dumps(str(ref.get('kind') or ''))}, Name:{json.dumps(str(ref.get('name') or ''))}}}"
    )
    cause = invalid_value("roleRef", "", "cannot change roleRef")
    cause["message"] = f"Invalid value: {shown}: cannot change roleRef"
    return [cause]
