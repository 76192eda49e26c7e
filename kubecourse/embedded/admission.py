"""Admission that needs the store: the ServiceAccount plugin on a new Pod, the
DefaultIngressClass plugin on a new Ingress.

Faithful: a Pod naming a ServiceAccount that does not exist is refused, 403 `pods
"nosa" is forbidden: error looking up service account default/ghost: serviceaccount
"ghost" not found` (a controller's Pods show it in a FailedCreate event, and the
controller retries).  Unless the Pod is a kubelet's mirror pod, or the Pod or its
ServiceAccount sets `automountServiceAccountToken: false`, or a container already mounts something at
`/var/run/secrets/kubernetes.io/serviceaccount`, the Pod gets the projected volume
`kube-api-access-<5 random>` (a bound token expiring in 3607 s, `ca.crt` from the
ConfigMap `kube-root-ca.crt`, and the namespace from the downward API, mode 420), and
every container and init container mounts it read-only there.  So `kubectl describe
pod` lists it under Mounts and Volumes as on a real cluster.

DefaultIngressClass: a new Ingress with neither `spec.ingressClassName` nor the legacy
`kubernetes.io/ingress.class` annotation gets the name of the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"` (the newest when several are,
as since 1.28), so the system `traefik` class is written into it as on kind.

Simplified: upstream waits (ten tries, about a second) for a namespace's `default`
ServiceAccount, which the service account controller creates just after the
namespace; here it is taken as there in a namespace that is not terminating, so a Pod
in a brand-new namespace is never refused in that race (the namespace controller,
namespace.py, creates it at once).  No token is issued (no process reads it).
"""

from __future__ import annotations

import random
from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_ACCOUNT = "default"


def check_service_account(store: Store, pod: Obj, shown_name: str) -> None:
    """Refuse a Pod whose ServiceAccount does not exist (`shown_name` is the name as
    admission sees it: a generated name is still its `generateName`)."""
    account = pod.get("spec", {}).get("serviceAccountName")
    namespace = pod["metadata"].get("namespace") or "default"
    if _is_mirror(pod) or not account or account == DEFAULT_ACCOUNT:
        return
    if store.get("serviceaccounts", namespace, account) is not None:
        return
    raise status.forbidden(
        f'pods "{shown_name}" is forbidden: error looking up service account '
        f'{namespace}/{account}: serviceaccount "{account}" not found',
        {"name": shown_name, "kind": "pods"},
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


INGRESS_CLASSES = "ingressclasses.networking.k8s.io"
DEFAULT_INGRESS_CLASS = "ingressclass.kubernetes.io/is-default-class"
LEGACY_INGRESS_CLASS = "kubernetes.io/ingress.class"


def default_ingress_class(store: Store, ingress: Obj) -> None:
    """Name the default IngressClass in a new Ingress that names none."""
    spec = ingress.setdefault("spec", {})
    annotations = ingress["metadata"].get("annotations") or {}
    if spec.get("ingressClassName") is not None or LEGACY_INGRESS_CLASS in annotations:
        return
    defaults = [
        c
        for c in store.items(INGRESS_CLASSES)
        if (c["metadata"].get("annotations") or {}).get(DEFAULT_INGRESS_CLASS) == "true"
    ]
    if defaults:
        newest = max(
            defaults,
            key=lambda c: (
                c["metadata"].get("creationTimestamp") or "",
                c["metadata"]["name"],
            ),
        )
        spec["ingressClassName"] = newest["metadata"]["name"]
