"""User impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` headers
(`kubectl --as`, `--as-group`, `--as-uid`), as kube-apiserver's impersonation filter
handles them.

Faithful (`k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`): the requester
must be allowed the verb `impersonate` on each thing asked for, in this order: the
user (`users` by name, or, for `system:serviceaccount:<ns>:<name>`, `serviceaccounts`
`<name>` in `<ns>`), each group (`groups`), each extra value (`userextras/<key>` of
authentication.k8s.io) and the uid (`uids` of authentication.k8s.io); the first refusal
is the authorization filter's 403 (`users "jane" is forbidden: User "x" cannot
impersonate resource "users" in API group "" at the cluster scope`).  The request then
runs as the impersonated user: a service account gets its two groups when no group is
asked for, and everyone but `system:anonymous` gets `system:authenticated` unless
`system:authenticated` or `system:unauthenticated` is asked for.  Groups, extras or a
uid without a user is a 500, as upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from kubecourse.embedded import status
from kubecourse.embedded.auth import UserInfo
from kubecourse.embedded.rbac.authorizer import (
    SERVICE_ACCOUNT_PREFIX,
    Authorizer,
    forbidden,
)
from kubecourse.embedded.rbac.rules import Attributes

USER = "impersonate-user"
GROUP = "impersonate-group"
UID = "impersonate-uid"
EXTRA = "impersonate-extra-"
AUTHENTICATION = "authentication.k8s.io"
ANONYMOUS = "system:anonymous"
Headers = Sequence[tuple[str, str]]  # every (name, value), repeated headers included


@dataclass(frozen=True)
class Wanted:
    """One thing asked for: its kind, namespace, name and (extras) key."""

    kind: str
    name: str
    namespace: str = ""
    key: str = ""

    def go_repr(self) -> str:
        """`v1.ObjectReference` as Go's %v prints it."""
        version = (
            "authentication.k8s.io/v1" if self.kind in ("UserExtra", "UID") else ""
        )
        return f"{{{self.kind} {self.namespace} {self.name}  {version}  {self.key}}}"

    def attributes(self) -> Attributes:
        if self.kind == "ServiceAccount":
            return Attributes(
                "impersonate", "", "serviceaccounts", "", "", self.namespace, self.name
            )
        if self.kind == "UserExtra":
            return Attributes(
                "impersonate", "", "userextras", self.key, AUTHENTICATION, "", self.name
            )
        if self.kind == "UID":
            return Attributes(
                "impersonate", "", "uids", "", AUTHENTICATION, "", self.name
            )
        resource = "users" if self.kind == "User" else "groups"
        return Attributes("impersonate", "", resource, "", "", "", self.name)


def _split_service_account(username: str) -> tuple[str, str] | None:
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def _values(headers: Headers, name: str) -> list[str]:
    return [value for header, value in headers if header.lower() == name and value]


def _extras(headers: Headers) -> list[Wanted]:
    found = []
    for header, value in headers:
        if header.lower().startswith(EXTRA):
            key = unquote(header[len(EXTRA) :].lower())
            found.append(Wanted("UserExtra", value, key=key))
    return found


def wanted(headers: Headers) -> list[Wanted]:
    """`buildImpersonationRequests`."""
    asked: list[Wanted] = []
    username = next(iter(_values(headers, USER)), "")
    if username:
        account = _split_service_account(username)
        if account is not None:
            asked.append(Wanted("ServiceAccount", account[1], account[0]))
        else:
            asked.append(Wanted("User", username))
    asked += [Wanted("Group", g) for g in _values(headers, GROUP)]
    asked += _extras(headers)
    asked += [Wanted("UID", uid) for uid in _values(headers, UID)[:1]]
    if asked and not username:
        shown = " ".join(w.go_repr() for w in asked)
        message = f"requested [{shown}] without impersonating a user"
        raise status.StatusError(
            500,
            "InternalError",
            f"Internal error occurred: {message}",
            {"causes": [{"message": message}]},
        )
    return asked


def impersonate(
    authz: Authorizer, requester: UserInfo, headers: Headers
) -> UserInfo | None:
    """The impersonated user, None when nothing is asked, or the 403 of a refusal."""
    asked = wanted(headers)
    if not asked:
        return None
    for item in asked:
        attrs = item.attributes()
        decision = authz.authorize(requester, attrs)
        if not decision.allowed:
            raise forbidden(requester, attrs, decision.reason)
    return _user(asked)


def _user(asked: list[Wanted]) -> UserInfo:
    first = asked[0]
    groups = [w.name for w in asked if w.kind == "Group"]
    if first.kind == "ServiceAccount":
        username = f"{SERVICE_ACCOUNT_PREFIX}{first.namespace}:{first.name}"
        if not groups:
            groups = [
                "system:serviceaccounts",
                f"system:serviceaccounts:{first.namespace}",
            ]
    else:
        username = first.name
    if username != ANONYMOUS:
        if not {"system:authenticated", "system:unauthenticated"} & set(groups):
            groups.append("system:authenticated")
    elif "system:unauthenticated" not in groups:
        groups.append("system:unauthenticated")
    extra: dict[str, list[str]] = {}
    for w in asked:
        if w.kind == "UserExtra":
            extra.setdefault(w.key, []).append(w.name)
    uid = next((w.name for w in asked if w.kind == "UID"), "")
    return UserInfo(username, tuple(groups), uid, extra)
