"""The RBAC authorizer: is a user allowed to do what a request asks, from the stored
Roles, ClusterRoles, RoleBindings and ClusterRoleBindings.

Faithful to kube-apiserver's `--authorization-mode=Node,RBAC` for the identities that
reach the embedded cluster (`plugin/pkg/auth/authorizer/rbac`):

- members of `system:masters` are allowed everything before RBAC is asked (the
  privileged-group authorizer, which gives no reason);
- otherwise the rules visited are those of every ClusterRoleBinding whose subjects
  include the user, then, for a namespaced request, of every RoleBinding in that
  namespace that does: a RoleBinding to a ClusterRole grants that role's rules in the
  binding's namespace only; the first rule that allows the request gives the reason
  `RBAC: allowed by RoleBinding "read/default" of Role "pod-reader" to
  ServiceAccount "robot/default"`;
- subjects: a User by name, a Group among the user's groups (the authenticator adds
  `system:authenticated`, and `system:serviceaccounts`,
  `system:serviceaccounts:<ns>` for service accounts), a ServiceAccount by
  namespace (the binding's when the subject has none) and name;
- a binding whose role is missing is skipped and its error becomes the reason of a
  refusal (`RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found`); a
  ClusterRoleBinding may not refer to a Role;
- `rules_for` is the rule resolver's `RulesFor` (SelfSubjectRulesReview, and the
  escalation check): RBAC's rules only, so `system:masters` lists what the
  `cluster-admin` ClusterRoleBinding gives it, as upstream.

Simplified: the Node authorizer has no one to authorize (no kubelet authenticates);
bindings are read from the store on each request, in creation order, rather than
from an informer's cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.auth import UserInfo
from kubecourse.embedded.rbac.rules import Attributes, Rule, rule_allows
from kubecourse.embedded.store import Store

Obj = dict[str, Any]

GROUP = "rbac.authorization.k8s.io"
ROLES = f"roles.{GROUP}"
CLUSTER_ROLES = f"clusterroles.{GROUP}"
ROLE_BINDINGS = f"rolebindings.{GROUP}"
CLUSTER_ROLE_BINDINGS = f"clusterrolebindings.{GROUP}"
MASTERS = "system:masters"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class RoleNotFound(Exception):
    """A binding's roleRef names no stored role (the lister's NotFound)."""


def describe_subject(subject: Obj, namespace: str) -> str:
    kind, name = str(subject.get("kind")), str(subject.get("name"))
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or namespace}"'
    return f'{kind} "{name}"'


def applies_to(user: UserInfo, subject: Obj, namespace: str) -> bool:
    """`appliesToUser`: `namespace` is the binding's ("" for a ClusterRoleBinding)."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        account_namespace = subject.get("namespace") or namespace
        return bool(account_namespace) and (
            user.username == f"{SERVICE_ACCOUNT_PREFIX}{account_namespace}:{name}"
        )
    return False


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- the rules a binding grants --------------------------------------------------

    def role_rules(self, ref: Any, namespace: str) -> list[Rule]:
        """`GetRoleReferenceRules` (raises RoleNotFound with the lister's message)."""
        ref = ref if isinstance(ref, dict) else {}
        kind, name = ref.get("kind"), str(ref.get("name") or "")
        if kind == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
            if role is None:
                raise RoleNotFound(f'clusterrole.{GROUP} "{name}" not found')
        elif kind == "Role":
            role = self.store.get(ROLES, namespace, name) if namespace else None
            if role is None:
                raise RoleNotFound(f'role.{GROUP} "{name}" not found')
        else:
            raise RoleNotFound(f'unsupported role reference kind: "{kind}"')
        rules = role.get("rules")
        return (
            [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
        )

    def _visit(
        self, user: UserInfo, namespace: str
    ) -> Iterator[tuple[str, Rule | None, str]]:
        """(source, rule, "") for every rule bound to the user, ("", None, error) for a
        binding whose role cannot be read: `VisitRulesFor`."""
        sources = [("ClusterRoleBinding", CLUSTER_ROLE_BINDINGS, "")]
        if namespace:
            sources.append(("RoleBinding", ROLE_BINDINGS, namespace))
        for label, key, binding_ns in sources:
            for binding in list(
                self.store.items(key, binding_ns if binding_ns else None)
            ):
                yield from self._binding_rules(user, label, binding, binding_ns)

    def _binding_rules(
        self, user: UserInfo, label: str, binding: Obj, namespace: str
    ) -> Iterator[tuple[str, Rule | None, str]]:
        subjects = binding.get("subjects") or []
        subject = next(
            (
                s
                for s in subjects
                if isinstance(s, dict) and applies_to(user, s, namespace)
            ),
            None,
        )
        if subject is None:
            return
        ref = binding.get("roleRef") or {}
        try:
            rules = self.role_rules(ref, namespace)
        except RoleNotFound as err:
            yield "", None, str(err)
            return
        name = binding["metadata"]["name"]
        shown = f"{name}/{namespace}" if namespace else name
        source = (
            f'{label} "{shown}" of {ref.get("kind")} "{ref.get("name")}" to '
            f"{describe_subject(subject, namespace)}"
        )
        for rule in rules:
            yield source, rule, ""

    # -- decisions -------------------------------------------------------------------

    def authorize(self, user: UserInfo, attrs: Attributes) -> Decision:
        if MASTERS in user.groups:
            return Decision(True)
        errors: list[str] = []
        for source, rule, error in self._visit(user, attrs.namespace):
            if rule is None:
                errors.append(error)
            elif rule_allows(attrs, rule):
                return Decision(True, f"RBAC: allowed by {source}")
        return Decision(False, f"RBAC: {aggregate(errors)}" if errors else "")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule bound to the user in `namespace` (cluster-wide ones included),
        and the errors met on the way: `RulesFor`."""
        rules: list[Rule] = []
        errors: list[str] = []
        for _, rule, error in self._visit(user, namespace):
            if rule is None:
                errors.append(error)
            else:
                rules.append(rule)
        return rules, errors


def aggregate(errors: list[str]) -> str:
    """`utilerrors.NewAggregate(errs).Error()`."""
    return errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"


def forbidden(
    user: UserInfo, attrs: Attributes, reason: str = ""
) -> status.StatusError:
    """The 403 kube-apiserver's authorization filter sends (`ForbiddenStatusError`)."""
    if not attrs.is_resource:
        text = f'User "{user.username}" cannot {attrs.verb} path "{attrs.path}"'
        return status.forbidden(f"forbidden: {_with_reason(text, reason)}", {})
    scope = (
        f'in the namespace "{attrs.namespace}"'
        if attrs.namespace
        else "at the cluster scope"
    )
    text = (
        f'User "{user.username}" cannot {attrs.verb} resource "{attrs.combined_resource}" '
        f'in API group "{attrs.group}" {scope}'
    )
    return forbidden_for(
        attrs.group, attrs.resource, attrs.name, _with_reason(text, reason)
    )


def forbidden_for(
    group: str, resource: str, name: str, message: str
) -> status.StatusError:
    """`apierrors.NewForbidden(GroupResource{group, resource}, name, errors.New(message))`."""
    qualified = f"{resource}.{group}" if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    details: Obj = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = resource
    return status.forbidden(f"{subject} is forbidden: {message}", details)


def _with_reason(text: str, reason: str) -> str:
    return f"{text}: {reason}" if reason else text
