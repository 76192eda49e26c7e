"""Printers of the RBAC kinds.

Faithful to the upstream printers: RoleBinding and ClusterRoleBinding `NAME ROLE AGE`
with ROLE as `Role/pod-reader` or `ClusterRole/view`, and `-o wide` USERS, GROUPS and
SERVICEACCOUNTS (`namespace/name`), each joined by `, ` (`rbac.SubjectsStrings`);
Role and ClusterRole have no printer upstream, so the default table convertor's
`NAME  CREATED AT` (RFC 3339).
"""

from __future__ import annotations

from datetime import datetime

from kubecourse.embedded.tables.common import (
    AGE,
    CREATED_AT_COLUMNS,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _get,
    _list,
    _wide,
    age,
    name_and_created_at,
)

RBAC = "rbac.authorization.k8s.io"

_BINDING_COLUMNS = (
    NAME,
    Column("Role", description=(RBAC, "v1", "RoleBinding", "roleRef")),
    AGE,
    _wide("Users", "Users in the roleBinding"),
    _wide("Groups", "Groups in the roleBinding"),
    _wide("ServiceAccounts", "ServiceAccounts in the roleBinding"),
)


def subjects_strings(subjects: list[object]) -> tuple[list[str], list[str], list[str]]:
    """`rbac.SubjectsStrings`: users, groups and service accounts (`ns/name`)."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for subject in subjects:
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), str(subject.get("name") or "")
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace') or ''}/{name}")
    return users, groups, accounts


def _binding_cells(obj: Obj, now: datetime) -> list[Cell]:
    ref = _get(obj, "roleRef", default={})
    users, groups, accounts = subjects_strings(_list(obj, "subjects"))
    return [
        str(_get(obj, "metadata", "name", default="")),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(_get(obj, "metadata", "creationTimestamp"), now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(accounts),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    (RBAC, "Role"): (CREATED_AT_COLUMNS, name_and_created_at),
    (RBAC, "ClusterRole"): (CREATED_AT_COLUMNS, name_and_created_at),
    (RBAC, "RoleBinding"): (_BINDING_COLUMNS, _binding_cells),
    (RBAC, "ClusterRoleBinding"): (_BINDING_COLUMNS, _binding_cells),
}
