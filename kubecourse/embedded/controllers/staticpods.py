"""The kubelet's static pods: the control plane's components, and their mirror pods.

Faithful: the kubelet of the control-plane node runs the static pods of its manifest
directory (`system.controlplane`) whatever the API holds, and keeps a mirror pod for
each in the API: created when missing (at kubelet start, or after someone deleted it),
so `kubectl delete pod etcd-kubecourse-control-plane -n kube-system` is answered as by
a real kubelet: the mirror pod is removed at once (grace 0, as the kubelet's mirror
client deletes it) and posted again with a new uid, while the static pod goes on
running (its status, start time and restart count carry over).  A mirror pod whose
`kubernetes.io/config.hash` no longer matches the manifest is replaced (the static pod
restarts).  A powered-off node's kubelet does none of this, and a cluster started
without system workloads has no manifests.

The mirror pods then go through the ordinary kubelet (`kubelet`), which reports their
status like any pod's; it leaves a deleted mirror pod to this controller.

Simplified: the static pod's own uid (its config hash upstream) is the mirror's.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from kubecourse.embedded.controllers.base import Context, Controller, Key, Obj
from kubecourse.embedded.controllers.heartbeat import powered_off
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change
from kubecourse.embedded.system import controlplane

log = logging.getLogger(__name__)
NAMESPACE = "kube-system"
RETRY = 1.0  # seconds before a refused mirror pod is posted again


class StaticPods(Controller):
    name = "kubelet-static-pods"
    watches = ("nodes", "pods")

    def __init__(self, ctx: Context, cluster_name: str = "kubecourse") -> None:
        super().__init__(ctx)
        self.cluster_name = cluster_name
        self._seen: dict[
            str, str
        ] = {}  # manifest hash -> when the kubelet first read it
        self._running: dict[
            str, Obj
        ] = {}  # mirror name -> the static pod's last status

    def keys_for(self, change: Change) -> Iterable[Key]:
        """One key per node: ("", node)."""
        obj = change.obj
        if change.resource == "nodes":
            return [("", obj["metadata"]["name"])]
        if controlplane.is_mirror(obj) or change.type == "DELETED":
            node = (obj.get("spec") or {}).get("nodeName")
            return [("", node)] if node else []
        return []

    async def reconcile(self, key: Key) -> float | None:
        if not self.ctx.system_workloads:
            return None  # started without system workloads: no manifests to run
        node = self.store.get("nodes", "", key[1])
        if node is None or powered_off(node) or not controlplane.internal_ip(node):
            return None
        posted = [
            self._sync(node, m)
            for m in controlplane.static_pods(node, self.cluster_name)
        ]
        return None if all(posted) else RETRY  # the API refused a mirror pod: try again

    def _sync(self, node: Obj, manifest: Obj) -> bool:
        """Keep the static pod's mirror pod in the API; False if it could not be posted."""
        wanted = controlplane.mirror_pod(manifest, node, self._seen_at(manifest))
        name = wanted["metadata"]["name"]
        mirror = self.store.get("pods", NAMESPACE, name)
        if mirror is not None and _status_worth_keeping(mirror):
            self._running[name] = copy.deepcopy(mirror["status"])

        if mirror is None:
            return self._post(wanted)
        if mirror["metadata"].get("deletionTimestamp"):
            self._delete(mirror)
            return self._post(wanted)
        if _hash(mirror) != _hash(wanted) and controlplane.is_mirror(mirror):
            self._running.pop(name, None)  # a new manifest: the static pod restarts
            self._delete(mirror)
            return self._post(wanted)
        return True

    def _seen_at(self, manifest: Obj) -> str:
        digest = controlplane.config_hash(manifest)
        if digest not in self._seen:
            now = datetime.now(timezone.utc)
            self._seen[digest] = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        return self._seen[digest]

    def _delete(self, mirror: Obj) -> None:
        meta = mirror["metadata"]
        try:
            self.api.delete(
                self.ctx.rt("pods"),
                NAMESPACE,
                meta["name"],
                grace_period_seconds=0,
                preconditions={"uid": meta["uid"]},
            )
        except StatusError as err:
            if err.code not in (404, 409):
                raise

    def _post(self, pod: Obj) -> bool:
        """Create the mirror pod; a static pod that was running shows it at once."""
        name = pod["metadata"]["name"]
        try:
            created = self.api.create(self.ctx.rt("pods"), NAMESPACE, pod)
        except StatusError as err:
            if err.code == 409:
                return True  # posted meanwhile
            if err.code in (
                403,
                404,
                422,
            ):  # kube-system missing, or admission refused it
                log.debug("mirror pod %s not posted: %s", name, err.message)
                return False
            raise
        status = self._running.get(name) or _scheduled(created["status"])
        new = copy.deepcopy(created)
        new["status"] = status
        self.api.update(self.ctx.rt("pods"), NAMESPACE, name, new, subresource="status")
        return True


def _hash(pod: Obj) -> str | None:
    annotations = pod["metadata"].get("annotations") or {}
    value = annotations.get(controlplane.HASH)
    return str(value) if value is not None else None


def _status_worth_keeping(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and bool(status.get("containerStatuses"))


def _scheduled(status: Obj) -> Obj:
    """The kubelet reports its pods scheduled (mirror pods are never bound)."""
    new = copy.deepcopy(status)
    conditions = new.setdefault("conditions", [])
    if not any(c.get("type") == "PodScheduled" for c in conditions):
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": datetime.now(timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            }
        )
    return new
