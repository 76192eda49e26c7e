"""Admission that needs the store: what the ServiceAccount plugin adds to a new Pod.

Faithful: unless the Pod is a kubelet's mirror pod, or the Pod or its ServiceAccount
sets `automountServiceAccountToken: false`, or a container already mounts something at
`/var/run/secrets/kubernetes.io/serviceaccount`, the Pod gets the projected volume
`kube-api-access-<5 random>` (a bound token expiring in 3607 s, `ca.crt` from the
ConfigMap `kube-root-ca.crt`, and the namespace from the downward API, mode 420), and
every container and init container mounts it read-only there.  So `kubectl describe
pod` lists it under Mounts and Volumes as on a real cluster.

Simplified: a missing ServiceAccount does not refuse the Pod (upstream answers
`serviceaccount "x" not found` until the service account controller made it), and no
token is issued (no process reads it).
"""

from __future__ import annotations

import random
from typing import Any

from kubecourse.embedded.store import Store

Obj = dict[str, Any]
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


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
