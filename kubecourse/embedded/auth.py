"""Who a request is: the course's admin token, and service-account tokens from TokenRequest.

The kubeconfig's bearer token is the cluster admin, as kind's kubeconfig is: kind
(kubeadm >= 1.29) writes a client certificate for `CN=kubernetes-admin,
O=kubeadm:cluster-admins`, a group bound to the `cluster-admin` ClusterRole, so the
user is `kubernetes-admin` in groups `kubeadm:cluster-admins` and
`system:authenticated` (what `kubectl auth whoami` prints on kind).

`POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token` (TokenRequest,
authentication.k8s.io/v1) mints a service-account token as kube-apiserver does: a JWT
(ES256, signed with the API server's own P-256 key, `kid` the key's SHA-256) with the
upstream claims (`aud`, `exp`, `iat`, `nbf`, `iss`, `jti`, `sub`
`system:serviceaccount:<ns>:<name>`, and `kubernetes.io` naming the namespace, the
service account and a bound Pod, Secret or Node).  Defaults and checks are upstream's:
`expirationSeconds` 3600 when absent, at least 600 and at most 2^32 (422 otherwise),
audiences default to the API server's (`https://kubernetes.default.svc.cluster.local`,
kind's issuer), a body name or namespace must match the URL, a bound object must exist
(and match its uid) and a bound Pod must run as that service account.

Such tokens are accepted, like a real API server accepts them: the request is then
`system:serviceaccount:<ns>:<name>` (uid the service account's) in groups
`system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`,
with the `authentication.kubernetes.io/credential-id` extra (`JTI=<jti>`, and the pod's
name and uid for a pod-bound token).  A token is refused (401) when it has expired,
names another audience, or its service account (or bound object) is gone or was
re-created.  What it may do is the RBAC authorizer's business (rbac/).

`review` answers a TokenReview (authentication.k8s.io/v1) with the same checks, for
the audiences asked (the API server's when none): the user, the audiences the token
was accepted for, or `token audiences ["vault"] is invalid for the target audiences
[...]`; any other refusal is `invalid bearer token`.

Tokens are never logged.  Not faithful: tokens signed by this server only (no external
issuers, OIDC discovery documents or JWKS endpoint), no `--service-account-max-token-
expiration`; a TokenReview of an expired or orphaned token says `invalid bearer
token` rather than the JWT validator's own words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from kubecourse.embedded import status
from kubecourse.embedded.store import Store

Obj = dict[str, Any]

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ISSUER = API_AUDIENCE
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
CLOCK_SKEW = 60


@dataclass(frozen=True)
class UserInfo:
    username: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> Obj:
        """The `UserInfo` of authentication.k8s.io/v1 (empty fields left out)."""
        info: Obj = {"username": self.username}
        if self.uid:
            info["uid"] = self.uid
        info["groups"] = list(self.groups)
        if self.extra:
            info["extra"] = {k: list(v) for k, v in self.extra.items()}
        return info


ADMIN = UserInfo("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """ES256 JWTs with the API server's P-256 key (the serving key stands in for the
    service-account signing key a kubeadm cluster keeps in sa.key)."""

    def __init__(self, key_file: Path) -> None:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the service-account signing key must be an EC key")
        self._key = key
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = _b64(hashlib.sha256(public).digest())

    def sign(self, claims: Obj) -> str:
        header = {"alg": "ES256", "kid": self.kid}
        signing_input = ".".join(
            _b64(json.dumps(part, separators=(",", ":")).encode())
            for part in (header, claims)
        )
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str) -> Obj | None:
        """The claims of a token this signer made, or None (any other string)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            raw = _unb64(parts[2])
            if (
                header.get("alg") != "ES256"
                or header.get("kid") != self.kid
                or len(raw) != 64
            ):
                return None
            signature = encode_dss_signature(
                int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
            )
            self._key.public_key().verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256())
            )
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, InvalidSignature, AttributeError):
            return None
        return claims if isinstance(claims, dict) else None


class Authenticator:
    """Maps a request's `Authorization` header to a user (or a Status error)."""

    def __init__(
        self, admin_token: str, store: Store, signer: TokenSigner | None = None
    ) -> None:
        self._admin_token = admin_token.encode()
        self.store = store
        self.signer = signer

    def authenticate(self, header: str) -> UserInfo:
        scheme, _, credential = header.partition(" ")
        token = credential.strip()
        if scheme.lower() != "bearer" or not token:
            raise status.unauthorized()
        if hmac.compare_digest(token.encode(), self._admin_token):
            return ADMIN
        claims = self.signer.verify(token) if self.signer is not None else None
        if claims is None:
            raise status.forbidden(
                'forbidden: User "system:anonymous" cannot access this cluster: the token is not valid'
            )
        user = self._service_account_user(claims, (API_AUDIENCE,))
        if user is None:
            raise status.unauthorized()
        return user

    def review(
        self, token: str, audiences: list[str]
    ) -> tuple[UserInfo | None, list[str], str]:
        """A TokenReview: (the user, the audiences it was accepted for, the error)."""
        audiences = audiences or [API_AUDIENCE]
        if hmac.compare_digest(token.encode(), self._admin_token):
            # A static token knows no audiences: it is valid for the API server's only.
            if API_AUDIENCE in audiences:
                return ADMIN, [API_AUDIENCE], ""
            return None, [], "invalid bearer token"
        claims = self.signer.verify(token) if self.signer is not None else None
        if claims is None:
            return None, [], "invalid bearer token"
        accepted = [a for a in audiences if a in (claims.get("aud") or [])]
        if not accepted:
            theirs = " ".join(json.dumps(str(a)) for a in claims.get("aud") or [])
            ours = " ".join(json.dumps(a) for a in audiences)
            return (
                None,
                [],
                f"token audiences [{theirs}] is invalid for the target audiences [{ours}]",
            )
        user = self._service_account_user(claims, tuple(accepted))
        if user is None:
            return None, [], "invalid bearer token"
        return user, accepted, ""

    def _service_account_user(
        self, claims: Obj, audiences: tuple[str, ...]
    ) -> UserInfo | None:
        now = time.time()
        token_audiences = claims.get("aud") or []
        if not (
            isinstance(claims.get("exp"), int) and claims["exp"] > now - CLOCK_SKEW
        ):
            return None
        if claims.get("iss") != ISSUER or not set(audiences) & set(token_audiences):
            return None
        private = claims.get("kubernetes.io") or {}
        namespace = str(private.get("namespace", ""))
        account = private.get("serviceaccount") or {}
        if not self._still_there("serviceaccounts", namespace, account):
            return None
        extra = {CREDENTIAL_ID: [f"JTI={claims.get('jti', '')}"]}
        for kind, resource in (
            ("pod", "pods"),
            ("secret", "secrets"),
            ("node", "nodes"),
        ):
            bound = private.get(kind)
            if bound is None:
                continue
            if kind != "node" and not self._still_there(resource, namespace, bound):
                return None
            if kind in ("pod", "node"):
                extra[f"authentication.kubernetes.io/{kind}-name"] = [
                    str(bound.get("name"))
                ]
                extra[f"authentication.kubernetes.io/{kind}-uid"] = [
                    str(bound.get("uid"))
                ]
        name = str(account.get("name"))
        groups = (
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            "system:authenticated",
        )
        return UserInfo(
            f"system:serviceaccount:{namespace}:{name}",
            groups,
            str(account.get("uid")),
            extra,
        )

    def _still_there(self, resource: str, namespace: str, ref: Obj) -> bool:
        ns = "" if resource == "nodes" else namespace
        obj = self.store.get(resource, ns, str(ref.get("name")))
        return obj is not None and obj["metadata"].get("uid") == ref.get("uid")

    # -- TokenRequest --------------------------------------------------------------------

    def token_request(self, namespace: str, name: str, body: Any) -> Obj:
        """`POST serviceaccounts/<name>/token`: the TokenRequest, with its status filled."""
        request = _token_request_body(body)
        meta = request.setdefault("metadata", {})
        _check_names(meta, namespace, name)
        account = self.store.get("serviceaccounts", namespace, name)
        if account is None:
            raise status.StatusError(
                404,
                "NotFound",
                f'serviceaccounts "{name}" not found',
                {"name": name, "kind": "serviceaccounts"},
            )
        spec = request.setdefault("spec", {})
        spec["audiences"] = list(spec.get("audiences") or [API_AUDIENCE])
        if (
            spec.get("expirationSeconds") is None
        ):  # absent, or null as Go's JSON writes it
            spec["expirationSeconds"] = DEFAULT_EXPIRATION
        _check_expiration(spec["expirationSeconds"])
        bound = self._bound_claims(namespace, name, spec.get("boundObjectRef"))

        if self.signer is None:
            raise status.StatusError(
                500, "InternalError", "this server has no service-account signing key"
            )
        issued = int(time.time())
        expires = issued + int(spec["expirationSeconds"])
        claims = _claims(account, spec["audiences"], issued, expires, bound)
        meta.update(name=name, namespace=namespace, creationTimestamp=_iso(issued))
        request["status"] = {
            "token": self.signer.sign(claims),
            "expirationTimestamp": _iso(expires),
        }
        return request

    def _bound_claims(self, namespace: str, account: str, ref: Any) -> Obj:
        if not ref:
            return {}
        if not isinstance(ref, dict):
            raise status.bad_request("spec.boundObjectRef must be an object")
        kind, api_version = str(ref.get("kind")), ref.get("apiVersion") or "v1"
        resource = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}.get(kind)
        if resource is None or api_version != "v1":
            raise status.bad_request(
                f"cannot bind token to object of type {api_version}, Kind={kind}"
            )
        obj = self.store.get(
            resource, "" if kind == "Node" else namespace, str(ref.get("name"))
        )
        if obj is None:
            raise status.StatusError(
                404,
                "NotFound",
                f'{resource} "{ref.get("name")}" not found',
                {"name": ref.get("name"), "kind": resource},
            )
        if kind == "Pod" and obj["spec"].get("serviceAccountName") != account:
            raise status.bad_request(
                f'cannot bind token for serviceaccount "{account}" to pod running with different serviceaccount name.'
            )
        uid = obj["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != uid:
            raise status.StatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind} "{ref.get("name")}": the UID in the bound object reference '
                f"({ref['uid']}) does not match the UID in record. The object might have been deleted and then recreated",
            )
        claims: Obj = {kind.lower(): {"name": obj["metadata"]["name"], "uid": uid}}
        node_name = obj["spec"].get("nodeName") if kind == "Pod" else None
        node = self.store.get("nodes", "", node_name) if node_name else None
        if node_name:
            claims["node"] = {
                "name": node_name,
                "uid": node["metadata"]["uid"] if node else "",
            }
        return claims


def _token_request_body(body: Any) -> Obj:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a TokenRequest object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if (kind and kind != "TokenRequest") or (
        api_version and api_version != "authentication.k8s.io/v1"
    ):
        raise status.bad_request(
            f"the server could not process a {kind or '?'} ({api_version or '?'}) at the serviceaccounts/token "
            "endpoint (expected authentication.k8s.io/v1 TokenRequest)"
        )
    request = json.loads(json.dumps(body))
    request.update(kind="TokenRequest", apiVersion="authentication.k8s.io/v1")
    request.pop("status", None)
    return dict(request)


def _invalid(
    name: str, field_path: str, value: Any, message: str
) -> status.StatusError:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    text = f"Invalid value: {shown}: {message}"
    return status.StatusError(
        422,
        "Invalid",
        f'TokenRequest.authentication.k8s.io "{name}" is invalid: {field_path}: {text}',
        {
            "name": name,
            "group": "authentication.k8s.io",
            "kind": "TokenRequest",
            "causes": [status.cause(field_path, text)],
        },
    )


def _check_names(meta: Any, namespace: str, name: str) -> None:
    if not isinstance(meta, dict):
        raise status.bad_request("metadata must be an object")
    if meta.get("name") and meta["name"] != name:
        raise _invalid(
            name,
            "metadata.name",
            meta["name"],
            "must match the service account name if specified",
        )
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise _invalid(
            name,
            "metadata.namespace",
            meta["namespace"],
            "must match the service account namespace if specified",
        )


def _check_expiration(seconds: Any) -> None:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise status.bad_request(
            f"spec.expirationSeconds must be an integer, not {seconds!r}"
        )
    if seconds < MIN_EXPIRATION:
        raise _invalid(
            "",
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration less than 10 minutes",
        )
    if seconds > MAX_EXPIRATION:
        raise _invalid(
            "",
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration larger than 2^32 seconds",
        )


def _claims(
    account: Obj, audiences: list[str], issued: int, expires: int, bound: Obj
) -> Obj:
    meta = account["metadata"]
    private: Obj = {
        "namespace": meta["namespace"],
        **bound,
        "serviceaccount": {"name": meta["name"], "uid": meta["uid"]},
    }
    return {
        "aud": audiences,
        "exp": expires,
        "iat": issued,
        "iss": ISSUER,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": dict(sorted(private.items())),
        "nbf": issued,
        "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
    }


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
