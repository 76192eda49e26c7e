"""Admission that needs the store: what the ServiceAccount plugin adds to a new Pod.

Faithful: unless the Pod is a kubelet's mirror pod, or the Pod or its ServiceAccount
sets `automountServiceAccountToken: false`, or a container already mounts something at
`/var/run/secrets/kubernetes.io/serviceaccount`, the Pod gets the projected volume
`kube-api-access-<5 random>` (a bound token expiring in 3607 s, `ca.crt` from the
ConfigMap `kube-root-ca.crt`, and the namespace from the downward API, mode 420), and
every container and init container mounts it read-only there.  So `kubectl describe
pod` lists it under Mounts and Volumes as on a real cluster.

A Pod naming a ServiceAccount that does not exist is refused as upstream refuses it,
`pods "web-7d9f8-" is forbidden: error looking up service account ns/x: serviceaccount
"x" not found` (the generateName, as the name is not generated yet), so a ReplicaSet
reports FailedCreate and retries until the account exists.

Simplified: a missing `default` account is not refused (upstream looks it up ten times
over a second or two, while the service account controller makes it, which here always
has), and no token is issued (no process reads it).
"""

from __future__ import annotations

import random
from typing import Any

from kubecourse.embedded.status import forbidden
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def check_service_account(store: Store, pod: Obj, name: str) -> None:
    """Refuse a Pod whose ServiceAccount does not exist (but for `default`); `name` is
    the requested name, or the generateName."""
    account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    if _is_mirror(pod) or account == "default":
        return
    namespace = pod["metadata"].get("namespace") or "default"
    if store.get("serviceaccounts", namespace, account) is not None:
        return
    name = name or "Unknown"
    raise forbidden(
        f'pods "{name}" is forbidden: error looking up service account '
        f'{namespace}/{account}: serviceaccount "{account}" not found',
        {"name": name, "kind": "pods"},
    )


def mount_service_account_token(store: Store, pod: Obj) -> None:
    """Add the token volume and its mounts to a Pod being created, when due."""
    spec = pod.setdefault("spec", {})
    if _is_mirror(pod) or not _automounts(store, pod):
        return  # a kubelet's mirror pod is never changed (upstream refuses its spec then)
    containers = list(spec.get("initContainers") or []) + list(
        spec.get("containers") or []
    )
    if any(_mounted(container) for container in containers):
        return

    name = TOKEN_VOLUME_PREFIX + "".join(random.choice(NAME_ALPHABET) for _ in range(5))
    spec.setdefault("volumes", []).append(token_volume(name))
    mount = {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
    for container in containers:
        container.setdefault("volumeMounts", []).append(dict(mount))


def _is_mirror(pod: Obj) -> bool:
    return "kubernetes.io/config.mirror" in (pod["metadata"].get("annotations") or {})


def _automounts(store: Store, pod: Obj) -> bool:
    spec = pod["spec"]
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    namespace = pod["metadata"].get("namespace") or "default"
    account = store.get(
        "serviceaccounts", namespace, spec.get("serviceAccountName") or "default"
    )
    setting = (account or {}).get("automountServiceAccountToken")
    return setting is None or bool(setting)


def _mounted(container: Obj) -> bool:
    return any(
        isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH
        for m in container.get("volumeMounts") or []
    )


def token_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {
                    "serviceAccountToken": {
                        "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                        "path": "token",
                    }
                },
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {
                                    "apiVersion": "v1",
                                    "fieldPath": "metadata.namespace",
                                },
                            }
                        ]
                    }
                },
            ],
        },
    }
