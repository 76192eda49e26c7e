"""The StatefulSet controller: pods with stable names and their own volumes.

Faithful: pods `<sts>-0 … <sts>-N-1`, each labelled `statefulset.kubernetes.io/pod-name`,
`apps.kubernetes.io/pod-index` and `controller-revision-hash`, with `hostname` and
`subdomain` (the governing `serviceName`) set; with OrderedReady (the default) a pod is
created only when every lower ordinal is Running and Ready, and scale-down removes the
highest ordinal first, one at a time; with Parallel all are created or removed at once;
a pod deleted (or finished) is re-created with the same name; one PersistentVolumeClaim
per volumeClaimTemplate per ordinal, `<claim>-<sts>-<i>`, created before the pod and
kept when the set scales down (retention policy Retain); status replicas,
readyReplicas, currentReplicas, updatedReplicas, availableReplicas, revisions and
observedGeneration; events SuccessfulCreate / SuccessfulDelete as upstream words them, and
FailedCreate / FailedDelete (`create Pod web-1 in StatefulSet web failed error: ...`)
for a refused write, which the work queue retries with back-off.

Simplified: a template change does not roll existing pods (they keep their revision
until deleted); no ControllerRevision objects are written; minReadySeconds is ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Controller, Key, Obj, owner_reference
from kubecourse.embedded.controllers.deployment import pod_template_hash
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "statefulset-controller"
STS = "statefulsets.apps"


class StatefulSetController(Controller):
    name = "statefulset"
    watches = (STS, "pods")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == STS:
            return super().keys_for(change)
        key = podutil.owner_key(change.obj, "StatefulSet")
        return [key] if key else []

    async def reconcile(self, key: Key) -> float | None:
        sts = self.store.get(STS, *key)
        if sts is None or podutil.is_terminating(sts):
            return None
        pods = {p["metadata"]["name"]: p for p in podutil.pods_of(self.store, sts)}
        wanted = int(sts["spec"].get("replicas", 1))
        ordered = (
            sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        )

        failure: StatusError | None = None
        try:
            self._create_missing(sts, pods, wanted, ordered)
            self._remove_extra(sts, pods, wanted, ordered)
        except StatusError as err:
            failure = err
        self._update_status(key)
        if failure is not None:
            raise failure  # after the status, as upstream: the queue retries the key
        return None

    def _create_missing(
        self, sts: Obj, pods: dict[str, Obj], wanted: int, ordered: bool
    ) -> None:
        name = sts["metadata"]["name"]
        for ordinal in range(wanted):
            pod = pods.get(f"{name}-{ordinal}")
            if (
                pod is not None
                and podutil.is_terminal(pod)
                and not podutil.is_terminating(pod)
            ):
                self._delete(
                    sts, pod
                )  # a finished pod is removed at once and re-created
                pod = None
            if pod is None:
                self._create(sts, ordinal)
                if ordered:
                    return
            elif ordered and (podutil.is_terminating(pod) or not podutil.is_ready(pod)):
                return

    def _remove_extra(
        self, sts: Obj, pods: dict[str, Obj], wanted: int, ordered: bool
    ) -> None:
        extra = sorted(
            (p for p in pods.values() if _ordinal(p, sts) >= wanted),
            key=lambda p: -_ordinal(p, sts),
        )
        for pod in extra:
            if not podutil.is_terminating(pod):
                self._delete(sts, pod)
            if ordered:
                return

    def _create(self, sts: Obj, ordinal: int) -> None:
        namespace = sts["metadata"]["namespace"]
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            self._ensure_claim(sts, claim, ordinal)
        pod = pod_for(sts, ordinal)
        what = f"Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']}"
        try:
            self.api.create(self.ctx.rt("pods"), namespace, pod)
        except StatusError as err:
            if err.code == 409:
                return
            self._failed(
                sts, "FailedCreate", f"create {what} failed error: {err.message}"
            )
            if podutil.namespace_terminating(err):
                return
            raise
        message = f"create {what} successful"
        self.ctx.record_event(sts, "SuccessfulCreate", message, component=COMPONENT)

    def _failed(self, sts: Obj, reason: str, message: str) -> None:
        self.ctx.record_event(sts, reason, message, component=COMPONENT, type="Warning")

    def _ensure_claim(self, sts: Obj, claim: Obj, ordinal: int) -> None:
        namespace = sts["metadata"]["namespace"]
        name = claim_name(sts, claim, ordinal)
        if self.store.get("persistentvolumeclaims", namespace, name) is not None:
            return
        labels = {
            **(claim.get("metadata") or {}).get("labels", {}),
            **_selector_labels(sts),
        }
        body = {
            "metadata": {"name": name, "labels": labels},
            "spec": copy.deepcopy(claim.get("spec") or {}),
        }
        try:
            self.api.create(self.ctx.rt("persistentvolumeclaims"), namespace, body)
        except StatusError as err:
            if err.code != 409:
                pod = f"{sts['metadata']['name']}-{ordinal}"
                message = f"create Claim {name} for Pod {pod} in StatefulSet {sts['metadata']['name']} failed error: {err.message}"
                self._failed(sts, "FailedCreate", message)
                raise
            return
        message = f"create Claim {name} Pod {sts['metadata']['name']}-{ordinal} in StatefulSet {sts['metadata']['name']} success"
        self.ctx.record_event(sts, "SuccessfulCreate", message, component=COMPONENT)

    def _delete(self, sts: Obj, pod: Obj) -> None:
        what = f"Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']}"
        try:
            self.api.delete(
                self.ctx.rt("pods"),
                pod["metadata"]["namespace"],
                pod["metadata"]["name"],
            )
        except StatusError as err:
            if err.code == 404:
                return
            self._failed(
                sts, "FailedDelete", f"delete {what} failed error: {err.message}"
            )
            raise
        message = f"delete {what} successful"
        self.ctx.record_event(sts, "SuccessfulDelete", message, component=COMPONENT)

    def _update_status(self, key: Key) -> None:
        sts = self.store.get(STS, *key)
        if sts is None:
            return
        revision = revision_name(sts)
        pods = [
            p for p in podutil.pods_of(self.store, sts) if not podutil.is_terminal(p)
        ]
        ready = sum(1 for p in pods if podutil.is_ready(p))
        updated = sum(
            1
            for p in pods
            if (p["metadata"].get("labels") or {}).get("controller-revision-hash")
            == revision
        )
        status: Obj = {
            "observedGeneration": int(sts["metadata"].get("generation", 1)),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": updated,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        status = {
            k: v
            for k, v in status.items()
            if v or k in ("replicas", "availableReplicas")
        }
        if status != sts.get("status"):
            new = copy.deepcopy(sts)
            new["status"] = status
            self.api.update(self.ctx.rt(STS), key[0], key[1], new, subresource="status")


def revision_name(sts: Obj) -> str:
    return f"{sts['metadata']['name']}-{pod_template_hash(sts['spec'].get('template') or {})}"


def claim_name(sts: Obj, claim: Obj, ordinal: int) -> str:
    return f"{(claim.get('metadata') or {}).get('name')}-{sts['metadata']['name']}-{ordinal}"


def _selector_labels(sts: Obj) -> dict[str, str]:
    return dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})


def _ordinal(pod: Obj, sts: Obj) -> int:
    suffix = pod["metadata"]["name"][len(sts["metadata"]["name"]) + 1 :]
    return int(suffix) if suffix.isdigit() else -1


def pod_for(sts: Obj, ordinal: int) -> Obj:
    template = copy.deepcopy(sts["spec"].get("template") or {})
    meta = template.get("metadata") or {}
    name = f"{sts['metadata']['name']}-{ordinal}"
    labels = {
        **(meta.get("labels") or {}),
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(ordinal),
        "controller-revision-hash": revision_name(sts),
    }
    spec = template.get("spec") or {}
    spec["hostname"] = name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = {
        (c.get("metadata") or {}).get("name"): c
        for c in sts["spec"].get("volumeClaimTemplates") or []
    }
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
    for claim_key, claim in claims.items():
        volumes.append(
            {
                "name": claim_key,
                "persistentVolumeClaim": {"claimName": claim_name(sts, claim, ordinal)},
            }
        )
    if volumes:
        spec["volumes"] = volumes
    metadata: Obj = {
        "name": name,
        "labels": labels,
        "ownerReferences": [owner_reference(sts)],
    }
    if meta.get("annotations"):
        metadata["annotations"] = dict(meta["annotations"])
    return {"metadata": metadata, "spec": spec}
