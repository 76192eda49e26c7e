"""The ReplicationController controller: the ReplicaSet controller on the older kind.

Upstream runs the ReplicaSet controller's code for ReplicationControllers behind an
adapter (`pkg/controller/replication`), and so does this module: the same pod
creation (`generateName: <rc>-`, template labels, a controller ownerReference to
`v1 ReplicationController`), adoption and release, scale-down ranking, status
(replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
observedGeneration) and events (SuccessfulCreate, SuccessfulDelete, FailedCreate with
the API's refusal, e.g. an exceeded quota), from the component
`replication-controller`.  The one difference is the selector: a plain label map
(`spec.selector: {app: web}`), defaulted from the template's labels at creation.

Simplified as the ReplicaSet controller is (see replicaset.py); a refused create is
retried and reported with the ReplicaFailure condition, as there.
"""

from __future__ import annotations

from kubecourse.embedded.controllers.base import Obj
from kubecourse.embedded.controllers.replicaset import ReplicaSetController


class ReplicationControllerController(ReplicaSetController):
    name = "replicationcontroller"
    watches = ("replicationcontrollers", "pods")
    resource = "replicationcontrollers"
    owner_kind = "ReplicationController"
    component = "replication-controller"

    def selector(self, rc: Obj) -> Obj | None:
        """The label map as the LabelSelector it means (nothing, when empty)."""
        labels = rc["spec"].get("selector")
        return {"matchLabels": dict(labels)} if labels else None
