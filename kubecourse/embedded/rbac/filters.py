"""The API server's request filters in their order: authentication, impersonation,
authorization.

Every request but the public health and version paths goes through `admit`: the
bearer token names the user (auth.py; 401/403 for a missing or unknown one), the
`Impersonate-*` headers may replace it (impersonation.py), and the RBAC authorizer
decides (authorizer.py; 403 with kube-apiserver's message).  The course's admin is no
exception: it is allowed because kind's `kubeadm:cluster-admins` ClusterRoleBinding
gives its group `cluster-admin`, as on kind.

The WebSocket GET that opens `pods/exec`, `pods/attach` and `pods/portforward` is
authorized as `get`, then also as `create` (kube-apiserver 1.35+,
`AuthorizePodWebsocketUpgradeCreatePermission`, on by default): a role granting only
`get pods/exec` cannot exec, and the refusal is the pod registry's `pods "web" is
forbidden: ` followed by the authorizer's reason (usually empty, as upstream).
"""

from __future__ import annotations

from collections.abc import Mapping

from kubecourse.embedded.auth import Authenticator, UserInfo
from kubecourse.embedded.rbac import impersonation
from kubecourse.embedded.rbac.authorizer import Authorizer, forbidden, forbidden_for
from kubecourse.embedded.rbac.requestinfo import request_attributes
from kubecourse.embedded.rbac.rules import Attributes

CONNECT_SUBRESOURCES = ("exec", "attach", "portforward")


class RequestFilter:
    def __init__(self, authn: Authenticator, authz: Authorizer) -> None:
        self.authn = authn
        self.authz = authz

    def admit(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: impersonation.Headers,
    ) -> tuple[UserInfo, Attributes]:
        """The user a request runs as and what it asks for; raises its StatusError."""
        authorization = next(
            (v for k, v in headers if k.lower() == "authorization"), ""
        )
        user = self.authn.authenticate(authorization)
        user = impersonation.impersonate(self.authz, user, headers) or user

        attrs = request_attributes(method, path, query)
        decision = self.authz.authorize(user, attrs)
        if not decision.allowed:
            raise forbidden(user, attrs, decision.reason)
        if attrs.subresource in CONNECT_SUBRESOURCES and attrs.verb == "get":
            self._also_create(user, attrs)
        return user, attrs

    def _also_create(self, user: UserInfo, attrs: Attributes) -> None:
        """`ensureAuthorizedForVerb(ctx, a, "create")` of the pod connect REST."""
        create = Attributes(
            "create",
            attrs.path,
            attrs.resource,
            attrs.subresource,
            attrs.group,
            attrs.namespace,
            attrs.name,
        )
        decision = self.authz.authorize(user, create)
        if not decision.allowed:
            raise forbidden_for(
                attrs.group, attrs.resource, attrs.name, decision.reason
            )
