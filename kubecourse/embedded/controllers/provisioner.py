"""kind's local-path provisioner (`rancher.io/local-path`), as its pod in
`local-path-storage` behaves.

Faithful: it works while a `local-path-provisioner` pod is Running and Ready (with
the cluster started without system workloads, always), under the identity
`rancher.io/local-path_<pod>_<uuid>` its events carry.  A claim the
persistentvolume-controller handed to it (`volume.kubernetes.io/storage-provisioner:
rancher.io/local-path`) gets, on the node the scheduler chose
(`volume.kubernetes.io/selected-node`): the event Provisioning "External provisioner
is provisioning volume for claim \"ns/name\"", a PersistentVolume `pvc-<claim uid>`
(hostPath `/var/local-path-provisioner/pvc-<uid>_<ns>_<name>`, DirectoryOrCreate,
`nodeAffinity` on `kubernetes.io/hostname` of that node, the class's reclaim policy
and name, the claim's size, access modes and volume mode, `claimRef`, annotations
`pv.kubernetes.io/provisioned-by` and `local.path.provisioner/selected-node`), then
ProvisioningSucceeded "Successfully provisioned volume pvc-...".  Refusals, as Warning
ProvisioningFailed `failed to provision volume with StorageClass "standard": ...`: no
node chosen (an Immediate class: `configuration error, no node was specified`), an
access mode other than ReadWriteOnce / ReadWriteOncePod, or `volumeMode: Block`
(`rancher.io/local-path does not support block volume provisioning`).  A Released
volume it made with reclaim policy Delete is deleted.

Simplified: no helper pod runs to make or remove the directory, and `parameters`
(nodePath, pathPattern) are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Controller, Key, Obj
from kubecourse.embedded.controllers.volumebinding import SELECTED_NODE
from kubecourse.embedded.controllers.volumes import PROVISIONED_BY, PVCS, PVS, claim_ref
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.storage import STORAGE_CLASSES, class_of
from kubecourse.embedded.store import Change
from kubecourse.embedded.system.addons import LOCAL_PATH_NAMESPACE

PROVISIONER = "rancher.io/local-path"
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
NODE_ANNOTATION = "local.path.provisioner/selected-node"
BASE_PATH = "/var/local-path-provisioner"
APP_LABEL = "local-path-provisioner"
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")


class LocalPathProvisioner(Controller):
    name = "local-path-provisioner"
    watches = (PVCS, PVS, "pods")

    def keys_for(self, change: Change) -> Iterable[Key]:
        obj = change.obj
        if change.resource == PVCS:
            return super().keys_for(change)
        if change.resource == PVS:
            return [("", obj["metadata"]["name"])]
        if _is_provisioner_pod(obj):
            return [
                (c["metadata"]["namespace"], c["metadata"]["name"])
                for c in self.store.items(PVCS)
            ]
        return []

    async def reconcile(self, key: Key) -> float | None:
        identity = self._identity()
        if identity is None:
            return None  # no provisioner running; its pod starting re-queues the claims
        if not key[0]:
            self._reclaim(key[1])
            return None
        claim = self.store.get(PVCS, *key)
        if claim is None or not self._wants_volume(claim):
            return None
        problem = self._problem(claim)
        if problem is not None:
            message = f'failed to provision volume with StorageClass "{class_of(claim)}": {problem}'
            self._event(claim, identity, "ProvisioningFailed", message, "Warning")
            return self.ctx.timings.pv_sync_period
        self._provision(claim, identity)
        return None

    def _identity(self) -> str | None:
        """`rancher.io/local-path_<pod>_<uuid>` of the running provisioner, if any."""
        if not self.ctx.system_workloads:
            return PROVISIONER
        for pod in self.store.items("pods", LOCAL_PATH_NAMESPACE):
            if (
                _is_provisioner_pod(pod)
                and podutil.is_ready(pod)
                and not podutil.is_terminating(pod)
            ):
                instance = uuid.uuid5(uuid.NAMESPACE_OID, str(pod["metadata"]["uid"]))
                return f"{PROVISIONER}_{pod['metadata']['name']}_{instance}"
        return None

    def _wants_volume(self, claim: Obj) -> bool:
        annotations = claim["metadata"].get("annotations") or {}
        spec = claim.get("spec") or {}
        if claim["metadata"].get("deletionTimestamp") or spec.get("volumeName"):
            return False
        if annotations.get(PROVISIONER_ANNOTATION) != PROVISIONER:
            return False
        return self.store.get(PVS, "", volume_name(claim)) is None

    def _problem(self, claim: Obj) -> str | None:
        spec = claim.get("spec") or {}
        if spec.get("volumeMode") == "Block":
            return f"{PROVISIONER} does not support block volume provisioning"
        if any(mode not in ACCESS_MODES for mode in spec.get("accessModes") or []):
            return "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes"
        if not (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE):
            return "configuration error, no node was specified"
        return None

    def _provision(self, claim: Obj, identity: str) -> None:
        meta = claim["metadata"]
        message = f'External provisioner is provisioning volume for claim "{meta["namespace"]}/{meta["name"]}"'
        self._event(claim, identity, "Provisioning", message)
        storage_class = self.store.get(STORAGE_CLASSES, "", class_of(claim)) or {}
        body = volume_for(claim, str(storage_class.get("reclaimPolicy") or "Delete"))
        try:
            self.api.create(self.ctx.rt(PVS), None, body)
        except StatusError as err:
            if err.code != 409:
                raise
            return
        self._event(
            claim,
            identity,
            "ProvisioningSucceeded",
            f"Successfully provisioned volume {body['metadata']['name']}",
        )

    def _reclaim(self, name: str) -> None:
        """A Released volume of ours with reclaim policy Delete goes."""
        volume = self.store.get(PVS, "", name)
        if volume is None or (volume.get("status") or {}).get("phase") != "Released":
            return
        made_here = (volume["metadata"].get("annotations") or {}).get(
            PROVISIONED_BY
        ) == PROVISIONER
        if (
            made_here
            and volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete"
        ):
            try:
                self.api.delete(self.ctx.rt(PVS), None, name)
            except StatusError:
                pass

    def _event(
        self,
        claim: Obj,
        identity: str,
        reason: str,
        message: str,
        type_: str = "Normal",
    ) -> None:
        self.ctx.record_event(claim, reason, message, component=identity, type=type_)


def _is_provisioner_pod(pod: Obj) -> bool:
    meta = pod["metadata"]
    return (
        meta.get("namespace") == LOCAL_PATH_NAMESPACE
        and (meta.get("labels") or {}).get("app") == APP_LABEL
    )


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def volume_for(claim: Obj, reclaim_policy: str) -> Obj:
    meta, spec = claim["metadata"], claim.get("spec") or {}
    node = str((meta.get("annotations") or {})[SELECTED_NODE])
    name = volume_name(claim)
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    return {
        "metadata": {
            "name": name,
            "annotations": {PROVISIONED_BY: PROVISIONER, NODE_ANNOTATION: node},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": reclaim_policy,
            "storageClassName": class_of(claim),
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "hostPath": {
                "path": f"{BASE_PATH}/{name}_{meta['namespace']}_{meta['name']}",
                "type": "DirectoryOrCreate",
            },
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "In",
                                    "values": [node],
                                }
                            ]
                        }
                    ]
                }
            },
            "claimRef": claim_ref(claim),
        },
    }
