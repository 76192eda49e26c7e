"""Escalation prevention on RBAC writes: a user may only grant permissions it holds.

Faithful (`pkg/registry/rbac/*/policybased`, `pkg/registry/rbac/validation`):

- creating or updating a Role or ClusterRole is allowed when the user may `escalate`
  it (`escalate` on `roles` / `clusterroles`), else only if the user's own rules (in
  the request's namespace; cluster-wide ones for a ClusterRole) cover every rule of
  it;
- creating or updating a RoleBinding or ClusterRoleBinding is allowed when the user may
  `bind` its role (`bind` on `roles` / `clusterroles`, by the role's name), else only if
  the user holds every rule of the referenced role; a missing role is then 404
  (`roles.rbac.authorization.k8s.io "x" not found`);
- refused: `clusterroles.rbac.authorization.k8s.io "x" is forbidden: user "jane"
  (groups=["system:authenticated"]) is attempting to grant RBAC permissions not
  currently held:` and the missing rules, compacted, one per line;
- members of `system:masters` and the API server's own (in-process) writes skip the
  checks; an update that changes only ownerReferences or finalizers is not checked.

Simplified: the check runs after validation, where upstream runs it first, so an
object that is both invalid and escalating is refused as Invalid.
"""

from __future__ import annotations

import json
from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.auth import UserInfo
from kubecourse.embedded.rbac import context
from kubecourse.embedded.rbac.authorizer import (
    GROUP,
    MASTERS,
    Authorizer,
    RoleNotFound,
    aggregate,
    forbidden_for,
)
from kubecourse.embedded.rbac.rules import (
    Attributes,
    Rule,
    compact,
    compact_string,
    covers,
)
from kubecourse.embedded.store import Store

Obj = dict[str, Any]

ROLE_RESOURCES = {"Role": "roles", "ClusterRole": "clusterroles"}
BINDING_RESOURCES = {
    "RoleBinding": "rolebindings",
    "ClusterRoleBinding": "clusterrolebindings",
}
_GC_FIELDS = ("ownerReferences", "finalizers", "managedFields", "resourceVersion")


def check(store: Store, kind: str, obj: Obj, old: Obj | None = None) -> None:
    """Raise the registry's 403 (or 404) if writing `obj` would escalate."""
    request = context.current()
    if request is None or MASTERS in request.user.groups:
        return
    if old is not None and _only_gc_fields_change(old, obj):
        return
    authz = Authorizer(store)
    namespace = str(obj["metadata"].get("namespace") or "")
    if kind in ROLE_RESOURCES:
        _check_role(authz, request, kind, obj, namespace)
    elif kind in BINDING_RESOURCES:
        _check_binding(authz, request.user, kind, obj, namespace)


def _check_role(
    authz: Authorizer, request: context.Request, kind: str, obj: Obj, namespace: str
) -> None:
    resource = ROLE_RESOURCES[kind]
    escalate = Attributes(
        "escalate", "", resource, "", GROUP, request.attrs.namespace, request.attrs.name
    )
    if authz.authorize(request.user, escalate).allowed:
        return
    rules: list[Rule] = [r for r in obj.get("rules") or [] if isinstance(r, dict)]
    _confirm_no_escalation(authz, request.user, namespace, rules, resource, obj)


def _check_binding(
    authz: Authorizer, user: UserInfo, kind: str, obj: Obj, namespace: str
) -> None:
    ref = obj.get("roleRef") or {}
    role_resource = ROLE_RESOURCES.get(str(ref.get("kind")), "")
    bind = Attributes(
        "bind", "", role_resource, "", GROUP, namespace, str(ref.get("name") or "")
    )
    if role_resource and authz.authorize(user, bind).allowed:
        return
    try:
        rules = authz.role_rules(ref, namespace)
    except RoleNotFound:
        name = str(ref.get("name") or "")
        raise status.StatusError(
            404,
            "NotFound",
            f'{role_resource or "roles"}.{GROUP} "{name}" not found',
            {"name": name, "group": GROUP, "kind": role_resource or "roles"},
        ) from None
    _confirm_no_escalation(authz, user, namespace, rules, BINDING_RESOURCES[kind], obj)


def _confirm_no_escalation(
    authz: Authorizer,
    user: UserInfo,
    namespace: str,
    rules: list[Rule],
    resource: str,
    obj: Obj,
) -> None:
    """`ConfirmNoEscalation`."""
    owned, errors = authz.rules_for(user, namespace)
    held, missing = covers(owned, rules)
    if held:
        return
    lines = sorted({compact_string(rule) for rule in compact(missing)})
    groups = " ".join(json.dumps(g) for g in user.groups)
    message = (
        f'user "{user.username}" (groups=[{groups}]) is attempting to grant RBAC '
        "permissions not currently held:\n" + "\n".join(lines)
    )
    if errors:
        message += f"; resolution errors: [{aggregate(errors)}]"
    raise forbidden_for(
        GROUP, resource, str(obj["metadata"].get("name") or ""), message
    )


def _only_gc_fields_change(old: Obj, new: Obj) -> bool:
    """`IsOnlyMutatingGCFields`."""

    def stripped(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj["metadata"].items() if k not in _GC_FIELDS}
        return {**obj, "metadata": meta}

    return stripped(old) == stripped(new)
