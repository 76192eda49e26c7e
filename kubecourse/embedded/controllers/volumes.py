"""The PersistentVolume controller (kube-controller-manager's persistentvolume-binder).

Faithful (`pkg/controller/volume/persistentvolume`), for each Pending claim:

- a volume made for it (`claimRef` with its uid) or named by `spec.volumeName`, or an
  Available volume of the same class with enough capacity and the access modes, binds
  it: the claim gets `spec.volumeName`, the `pv.kubernetes.io/bind-completed` and
  `bound-by-controller` annotations, `status.phase: Bound` with the volume's capacity
  and access modes; the volume `claimRef` and `status.phase: Bound`;
- otherwise, with `storageClassName: ""`: FailedBinding "no persistent volumes
  available for this claim and no storage class is set";
- a class that does not exist: Warning ProvisioningFailed `storageclass.storage.k8s.io
  "fast" not found`;
- a WaitForFirstConsumer class, until the scheduler names a node
  (`volume.kubernetes.io/selected-node`): WaitForFirstConsumer "waiting for first
  consumer to be created before binding";
- then the `volume.kubernetes.io/storage-provisioner` (and beta) annotations name the
  class's provisioner, and ExternalProvisioning "Waiting for a volume to be created
  either by the external provisioner '...'" until it has made the volume (for
  `rancher.io/local-path`, `provisioner`).

Each waiting claim is looked at again every `timings.pv_sync_period` (15 s), so its
event's count grows as upstream's does.  When a claim is deleted its volume is
Released; a Delete volume made by an external provisioner is deleted by it, any
other Delete volume here, and a Retain volume stays Released.

Simplified: no label selectors or volume modes in matching, and the smallest fitting
volume is not sought (the first is taken).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable

from kubecourse.embedded import quantity
from kubecourse.embedded.controllers.base import Context, Controller, Key, Obj
from kubecourse.embedded.controllers.volumebinding import (
    SELECTED_NODE,
    waits_for_first_consumer,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.storage import STORAGE_CLASSES, class_of
from kubecourse.embedded.store import Change

COMPONENT = "persistentvolume-controller"
PVCS = "persistentvolumeclaims"
PVS = "persistentvolumes"
PROVISIONER_ANNOTATIONS = (
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
)
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
EXTERNAL_PROVISIONING = (
    "Waiting for a volume to be created either by the external provisioner '{}' or "
    "manually by the system administrator. If volume creation is delayed, please verify "
    "that the provisioner is running and correctly registered."
)


class VolumeBinder(Controller):
    name = "persistentvolume-binder"
    watches = (PVCS, PVS)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._told: dict[tuple[str, str], float] = {}  # (claim uid, reason) -> when

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == PVCS:
            return super().keys_for(change)
        ref = (change.obj.get("spec") or {}).get("claimRef") or {}
        return [(str(ref["namespace"]), str(ref["name"]))] if ref.get("name") else []

    async def reconcile(self, key: Key) -> float | None:
        claim = self.store.get(PVCS, *key)
        if claim is None:
            self._release(key)
            return None
        if claim["metadata"].get("deletionTimestamp") or _phase(claim) == "Bound":
            return None

        volume = self._volume_for(claim)
        if volume is not None:
            self._bind(claim, volume)
            return None
        self._wait(claim)
        return self.ctx.timings.pv_sync_period

    # -- finding a volume --------------------------------------------------------------

    def _volume_for(self, claim: Obj) -> Obj | None:
        meta, spec = claim["metadata"], claim.get("spec") or {}
        if spec.get("volumeName"):
            return self.store.get(PVS, "", spec["volumeName"])
        volumes = list(self.store.items(PVS))
        for volume in volumes:
            ref = volume["spec"].get("claimRef") or {}
            if ref.get("uid") == meta["uid"]:
                return volume
        if waits_for_first_consumer(self.store, claim):
            return (
                None  # static volumes are matched once a node is chosen: not modelled
            )
        return next((v for v in volumes if _matches(claim, v)), None)

    def _wait(self, claim: Obj) -> None:
        """Say why the claim is still Pending (once per sync period)."""
        name = class_of(claim)
        if not name:
            self._tell(
                claim,
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
            )
            return
        storage_class = self.store.get(STORAGE_CLASSES, "", name)
        if storage_class is None:
            message = f'storageclass.storage.k8s.io "{name}" not found'
            self._tell(claim, "ProvisioningFailed", message, "Warning")
            return
        annotations = claim["metadata"].get("annotations") or {}
        if (
            waits_for_first_consumer(self.store, claim)
            and SELECTED_NODE not in annotations
        ):
            self._tell(
                claim,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            )
            return
        provisioner = str(storage_class.get("provisioner", ""))
        self._name_provisioner(claim, provisioner)
        self._tell(
            claim, "ExternalProvisioning", EXTERNAL_PROVISIONING.format(provisioner)
        )

    def _name_provisioner(self, claim: Obj, provisioner: str) -> None:
        annotations = claim["metadata"].get("annotations") or {}
        if all(annotations.get(a) == provisioner for a in PROVISIONER_ANNOTATIONS):
            return
        new = copy.deepcopy(claim)
        new["metadata"].setdefault("annotations", {}).update(
            dict.fromkeys(PROVISIONER_ANNOTATIONS, provisioner)
        )
        meta = claim["metadata"]
        self.api.update(self.ctx.rt(PVCS), meta["namespace"], meta["name"], new)

    def _tell(
        self, claim: Obj, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        key = (str(claim["metadata"]["uid"]), reason)
        now = time.monotonic()
        if now - self._told.get(key, -1e9) < self.ctx.timings.pv_sync_period - 0.01:
            return
        self._told[key] = now
        self.ctx.record_event(claim, reason, message, component=COMPONENT, type=type_)

    # -- binding -----------------------------------------------------------------------

    def _bind(self, claim: Obj, volume: Obj) -> None:
        volume = self._claim_volume(claim, volume)
        meta = claim["metadata"]
        new = copy.deepcopy(claim)
        new["spec"]["volumeName"] = volume["metadata"]["name"]
        new["metadata"].setdefault("annotations", {}).update(
            {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
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
        self._touch_claims_of(meta["uid"])

    def _claim_volume(self, claim: Obj, volume: Obj) -> Obj:
        """The volume's side of the binding: claimRef, then status Bound."""
        meta = claim["metadata"]
        ref = volume["spec"].get("claimRef") or {}
        if ref.get("uid") != meta["uid"]:
            new = copy.deepcopy(volume)
            new["spec"]["claimRef"] = claim_ref(claim)
            volume = self.api.update(
                self.ctx.rt(PVS), None, volume["metadata"]["name"], new
            )
        return self._set_phase(volume, "Bound")

    def _set_phase(self, volume: Obj, phase: str) -> Obj:
        if (volume.get("status") or {}).get("phase") == phase:
            return volume
        new = copy.deepcopy(volume)
        new["status"] = {"phase": phase, "lastPhaseTransitionTime": _now()}
        return self.api.update(
            self.ctx.rt(PVS),
            None,
            volume["metadata"]["name"],
            new,
            subresource="status",
        )

    def _touch_claims_of(self, uid: str) -> None:
        for key in [k for k in self._told if k[0] == uid]:
            del self._told[key]

    # -- release -----------------------------------------------------------------------

    def _release(self, key: Key) -> None:
        """A deleted claim's volume is Released; a Delete one made here goes too."""
        for volume in list(self.store.items(PVS)):
            ref = volume["spec"].get("claimRef") or {}
            if (ref.get("namespace"), ref.get("name")) != key or _phase(
                volume
            ) == "Released":
                continue
            released = self._set_phase(volume, "Released")
            external = PROVISIONED_BY in (volume["metadata"].get("annotations") or {})
            if (
                volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete"
                and not external
            ):
                self._delete_volume(released["metadata"]["name"])

    def _delete_volume(self, name: str) -> None:
        try:
            self.api.delete(self.ctx.rt(PVS), None, name)
        except StatusError:
            pass


def claim_ref(claim: Obj) -> Obj:
    meta = claim["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "resourceVersion": meta["resourceVersion"],
    }


def _matches(claim: Obj, volume: Obj) -> bool:
    """An Available volume this claim may take: same class, room, access modes."""
    spec, wanted = volume.get("spec") or {}, claim.get("spec") or {}
    if _phase(volume) not in ("", "Available") or spec.get("claimRef"):
        return False
    if str(spec.get("storageClassName") or "") != class_of(claim):
        return False
    asked = ((wanted.get("resources") or {}).get("requests") or {}).get("storage", "0")
    has = (spec.get("capacity") or {}).get("storage", "0")
    if quantity.parse(str(has)) < quantity.parse(str(asked)):
        return False
    return set(wanted.get("accessModes") or []) <= set(spec.get("accessModes") or [])


def _phase(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
