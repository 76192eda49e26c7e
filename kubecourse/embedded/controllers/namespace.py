"""Namespaces: what every namespace holds, and emptying one that is being deleted.

Faithful: every active namespace gets the ServiceAccount `default` (the service account
controller) and the ConfigMap `kube-root-ca.crt` with the cluster CA under `ca.crt` (the
root-CA publisher), both re-created if deleted; a namespace with a deletionTimestamp
(phase Terminating) has every namespaced object in it deleted (pods terminate
gracefully through their kubelet), reports the deleter's five conditions while anything
is left (`NamespaceContentRemaining`, and `NamespaceFinalizersRemaining` naming the
finalizers that hold it), and is then removed (`finalize_delete`, standing in for
removing the `kubernetes` finalizer).

Simplified: the CA is a fixed, well-formed but fake certificate; discovery and
group-version parsing never fail, so those two conditions are always False.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable

from kubecourse.embedded.controllers.base import Controller, Key, Obj, set_condition
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

ROOT_CA = "kube-root-ca.crt"
FAKE_CA = """-----BEGIN CERTIFICATE-----
MIIDBTCCAe2gAwIBAgIIa3ViZWNvdXJzZTANBgkqhkiG9w0BAQsFADAVMRMwEQYD
VQQDEwprdWJlcm5ldGVzMB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAwMDAwMFow
FTETMBEGA1UEAxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBAKtdWJlY291cnNlIGVtYmVkZGVkIGNsdXN0ZXIgLSBub3QgYSByZWFs
IGNlcnRpZmljYXRlIGF1dGhvcml0eSwgb25seSBhIHBsYWNlaG9sZGVyIGZvciB0
aGUgbGVhcm5lcnMga3ViZS1yb290LWNhLmNydCBjb25maWdtYXAuAgMBAAGjWTBX
MA4GA1UdDwEB/wQEAwICpDAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBRrdWJl
Y291cnNlLWZha2UtY2EwFQYDVR0RBA4wDIIKa3ViZXJuZXRlczANBgkqhkiG9w0B
AQsFAAOCAQEAa3ViZWNvdXJzZQ==
-----END CERTIFICATE-----
"""
NAMESPACED = tuple(rt.key for rt in REGISTRY.resources if rt.namespaced)


class NamespaceController(Controller):
    name = "namespace"
    watches = ("namespaces", "serviceaccounts", "configmaps")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "namespaces":
            return [("", change.obj["metadata"]["name"])]
        name = change.obj["metadata"]["name"]
        if change.type == "DELETED" and name in ("default", ROOT_CA):
            return [("", change.obj["metadata"]["namespace"])]
        return []

    async def reconcile(self, key: Key) -> float | None:
        ns = self.store.get("namespaces", "", key[1])
        if ns is None:
            return None
        if ns["metadata"].get("deletionTimestamp"):
            return self._drain(ns)
        self._ensure_defaults(key[1])
        return None

    def _ensure_defaults(self, namespace: str) -> None:
        if self.store.get("serviceaccounts", namespace, "default") is None:
            self._create(
                "serviceaccounts", namespace, {"metadata": {"name": "default"}}
            )
        if self.store.get("configmaps", namespace, ROOT_CA) is None:
            body = {
                "metadata": {
                    "name": ROOT_CA,
                    "annotations": {"kubernetes.io/description": _CA_DESCRIPTION},
                },
                "data": {"ca.crt": FAKE_CA},
            }
            self._create("configmaps", namespace, body)

    def _create(self, resource: str, namespace: str, body: Obj) -> None:
        try:
            self.api.create(REGISTRY.get(resource), namespace, body)
        except StatusError as err:
            if err.code not in (403, 409):
                raise

    def _drain(self, ns: Obj) -> float | None:
        """Delete what is left; report it; finish when nothing is."""
        name = ns["metadata"]["name"]
        remaining, finalizers = Counter[str](), Counter[str]()
        for resource in NAMESPACED:
            for obj in list(self.store.items(resource, name)):
                remaining[resource] += 1
                finalizers.update(obj["metadata"].get("finalizers") or [])
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(resource, name, obj["metadata"]["name"])
        if not remaining:
            self.api.finalize_delete(REGISTRY.get("namespaces"), None, name)
            return None
        self._report(ns, remaining, finalizers)
        return 0.2

    def _delete(self, resource: str, namespace: str, name: str) -> None:
        try:
            # The namespace deleter's explicit policy: a Job's pods go too.
            self.api.delete(
                REGISTRY.get(resource), namespace, name, propagation_policy="Background"
            )
        except StatusError:
            pass

    def _report(self, ns: Obj, remaining: Counter[str], finalizers: Counter[str]) -> None:
        """The five conditions of upstream's namespace deleter, in its order."""
        new = copy.deepcopy(ns)
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        kinds = ", ".join(
            f"{r if '.' in r else r + '.'} has {n} resource instances"
            for r, n in sorted(remaining.items())
        )
        changed = set_condition(
            conditions,
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered",
        )
        changed |= set_condition(
            conditions,
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        )
        changed |= set_condition(
            conditions,
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        )
        changed |= set_condition(
            conditions,
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            f"Some resources are remaining: {kinds}",
        )
        changed |= _finalizers_condition(conditions, finalizers)
        for condition in conditions:
            condition.pop("lastProbeTime", None)
        if changed:
            self.api.update(
                REGISTRY.get("namespaces"),
                None,
                ns["metadata"]["name"],
                new,
                subresource="status",
            )


def _finalizers_condition(conditions: list[Obj], finalizers: Counter[str]) -> bool:
    if not finalizers:
        return set_condition(
            conditions,
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        )
    held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
    return set_condition(
        conditions,
        "NamespaceFinalizersRemaining",
        "True",
        "SomeFinalizersRemain",
        f"Some content in the namespace has finalizers remaining: {held}",
    )


_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using "
    "internal endpoints such as the internal service IP or kubernetes.default.svc. "
    "No other usage is guaranteed across distributions of Kubernetes clusters."
)
