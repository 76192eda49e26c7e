"""The PersistentVolumeClaim binder, as kind's local-path provisioner behaves.

Faithful: a Pending claim without a volume gets a PersistentVolume named `pvc-<claim
uid>` (storage class `standard`, reclaim policy Delete, the claim's size and access
modes, a `hostPath` under `/var/local-path-provisioner/`, `claimRef` to the claim, the
`pv.kubernetes.io/provisioned-by: rancher.io/local-path` annotation); the claim is then
Bound to it (`spec.volumeName`, `spec.storageClassName: standard` when unset, the
bind-completed annotations, `status.phase: Bound`, capacity and access modes) and the
volume reports `status.phase: Bound`; deleting the claim deletes its volume (Delete).

Simplified: binding is immediate, whereas local-path's `WaitForFirstConsumer` waits
for a pod using the claim to be scheduled (and pins the volume to that node); claims
naming another storage class, a selector or a pre-existing volume are bound the same way.
"""

from __future__ import annotations

import copy

from kubecourse.embedded.controllers.base import Controller, Key, Obj
from kubecourse.embedded.status import StatusError

PROVISIONER = "rancher.io/local-path"
STORAGE_CLASS = "standard"
PVCS = "persistentvolumeclaims"


class VolumeBinder(Controller):
    name = "persistentvolume-binder"
    watches = (PVCS,)

    async def reconcile(self, key: Key) -> float | None:
        claim = self.store.get(PVCS, *key)
        if claim is None:
            self._release(key)
            return None
        if claim["metadata"].get("deletionTimestamp"):
            return None
        if (claim.get("status") or {}).get("phase") == "Bound":
            return None
        name = f"pvc-{claim['metadata']['uid']}"
        volume = self.store.get("persistentvolumes", "", name)
        if volume is None:
            volume = self.api.create(
                self.ctx.rt("persistentvolumes"), None, volume_for(claim)
            )
            self._mark_volume_bound(volume)
        self._bind(claim, volume)
        return None

    def _mark_volume_bound(self, volume: Obj) -> None:
        new = copy.deepcopy(volume)
        new["status"] = {"phase": "Bound"}
        self.api.update(
            self.ctx.rt("persistentvolumes"),
            None,
            volume["metadata"]["name"],
            new,
            subresource="status",
        )

    def _bind(self, claim: Obj, volume: Obj) -> None:
        meta = claim["metadata"]
        new = copy.deepcopy(claim)
        new["spec"]["volumeName"] = volume["metadata"]["name"]
        new["spec"].setdefault("storageClassName", STORAGE_CLASS)
        new["metadata"].setdefault("annotations", {}).update(
            {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
                "volume.kubernetes.io/storage-provisioner": PROVISIONER,
            }
        )
        bound = self.api.update(self.ctx.rt(PVCS), meta["namespace"], meta["name"], new)
        bound["status"] = {
            "phase": "Bound",
            "accessModes": list(volume["spec"].get("accessModes") or []),
            "capacity": dict(volume["spec"].get("capacity") or {}),
        }
        self.api.update(
            self.ctx.rt(PVCS),
            meta["namespace"],
            meta["name"],
            bound,
            subresource="status",
        )

    def _release(self, key: Key) -> None:
        """A deleted claim's volume goes too (reclaim policy Delete)."""
        for volume in list(self.store.items("persistentvolumes")):
            ref = volume["spec"].get("claimRef") or {}
            reclaim = volume["spec"].get("persistentVolumeReclaimPolicy")
            if (ref.get("namespace"), ref.get("name")) == key and reclaim == "Delete":
                self._delete_volume(volume["metadata"]["name"])

    def _delete_volume(self, name: str) -> None:
        try:
            self.api.delete(self.ctx.rt("persistentvolumes"), None, name)
        except StatusError:
            pass


def volume_for(claim: Obj) -> Obj:
    meta = claim["metadata"]
    spec = claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    name = f"pvc-{meta['uid']}"
    return {
        "metadata": {
            "name": name,
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName") or STORAGE_CLASS,
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "hostPath": {
                "path": f"/var/local-path-provisioner/{name}_{meta['namespace']}_{meta['name']}",
                "type": "DirectoryOrCreate",
            },
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
            },
        },
    }
