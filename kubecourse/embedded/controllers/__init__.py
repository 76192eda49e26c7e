"""The embedded cluster's controllers (reconcile loops), in the order they start.

kube-apiserver's own bootstrap controller (`bootstrap`: the `kubernetes` Service and
the system namespaces) is started by the cluster beside these, even when they are not.

| controller | module | upstream counterpart |
|---|---|---|
| namespace | `namespace` | namespace controller, service-account and root-CA publishers |
| garbagecollector | `garbage` | garbage collector (ownerReferences) |
| deployment | `deployment` | deployment controller |
| replicaset | `replicaset` | replicaset controller |
| replicationcontroller | `replicationcontroller` | replication controller (the replicaset controller's code) |
| statefulset | `statefulset` | statefulset controller |
| job | `job` (+ `jobutil`, `jobpods`) | job controller |
| cronjob | `cronjob` (schedules: `kubecourse.embedded.cron`) | cronjob controller (v2) |
| ttl-after-finished | `ttl` | TTL-after-finished controller |
| daemonset | `daemonset` (+ `history`) | daemonset controller, ControllerRevisions |
| disruption | `disruption` | disruption controller (PodDisruptionBudget status) |
| persistentvolume-binder | `volumes` | PV controller (binding, WaitForFirstConsumer, release) |
| local-path-provisioner | `provisioner` | kind's local-path provisioner (the pod in `local-path-storage`) |
| scheduler | `scheduler` (+ `volumebinding`) | kube-scheduler (default profile, simplified; the VolumeBinding plugin) |
| kubelet-static-pods | `staticpods` | the control plane's kubelet: static pods and their mirror pods |
| kubelet | `kubelet` (+ `heartbeat`, `nodeevents`, `pulls`, `registry`, `containers`, `probes`, `ephemeral`, `addresses`, `podconfig`, `podstatus`, `environment`, `images`, `imageconfig`, `interpreters`, `systemlogs`) | every node's kubelet (heartbeats, node events, power, the image manager and which images exist, ConfigMap/Secret env and volumes, the environment `kubectl exec` sees, probes, restarts, ephemeral containers, pod IPs) and container runtime (ENTRYPOINT/CMD, what a process prints) |
| node-lifecycle | `nodelifecycle` | node lifecycle controller and taint-eviction controller |
| podgc | `podgc` | pod garbage collector (Pods of deleted Nodes, unscheduled terminating Pods) |
| endpoints | `endpoints` | endpoints controller |
| endpointslice | `endpointslices` | endpointslice controller |
| endpointslicemirroring | `endpointslicemirroring` | endpointslicemirroring controller (Endpoints of Services without a selector) |
| metrics-server | `metricsserver` (+ `usage`) | metrics-server (its scrapes; the API is `metricsapi`) |
| horizontal-pod-autoscaler | `horizontal` (+ `replicacalc`, `hpastatus`) | HPA controller |
| resourcequota | `resourcequota` (counting: `kubecourse.embedded.quota`) | resource quota controller |
| clusterrole-aggregation | `clusterroleaggregation` | ClusterRole aggregation controller (`admin`, `edit`, `view`) |
"""

from __future__ import annotations

from kubecourse.embedded.controllers.base import Context, Controller
from kubecourse.embedded.controllers.clusterroleaggregation import (
    ClusterRoleAggregationController,
)
from kubecourse.embedded.controllers.cronjob import CronJobController
from kubecourse.embedded.controllers.daemonset import DaemonSetController
from kubecourse.embedded.controllers.deployment import DeploymentController
from kubecourse.embedded.controllers.disruption import DisruptionController
from kubecourse.embedded.controllers.endpoints import EndpointsController
from kubecourse.embedded.controllers.endpointslicemirroring import (
    EndpointSliceMirroringController,
)
from kubecourse.embedded.controllers.endpointslices import EndpointSliceController
from kubecourse.embedded.controllers.garbage import GarbageCollector
from kubecourse.embedded.controllers.horizontal import HorizontalController
from kubecourse.embedded.controllers.job import JobController
from kubecourse.embedded.controllers.kubelet import Kubelet
from kubecourse.embedded.controllers.metricsserver import MetricsServer
from kubecourse.embedded.controllers.namespace import NamespaceController
from kubecourse.embedded.controllers.nodelifecycle import NodeLifecycleController
from kubecourse.embedded.controllers.podgc import PodGCController
from kubecourse.embedded.controllers.provisioner import LocalPathProvisioner
from kubecourse.embedded.controllers.replicaset import ReplicaSetController
from kubecourse.embedded.controllers.replicationcontroller import (
    ReplicationControllerController,
)
from kubecourse.embedded.controllers.resourcequota import ResourceQuotaController
from kubecourse.embedded.controllers.scheduler import Scheduler
from kubecourse.embedded.controllers.statefulset import StatefulSetController
from kubecourse.embedded.controllers.staticpods import StaticPods
from kubecourse.embedded.controllers.ttl import TTLAfterFinishedController
from kubecourse.embedded.controllers.volumes import VolumeBinder


def default_controllers(ctx: Context) -> list[Controller]:
    return [
        NamespaceController(ctx),
        GarbageCollector(ctx),
        DeploymentController(ctx),
        ReplicaSetController(ctx),
        ReplicationControllerController(ctx),
        StatefulSetController(ctx),
        JobController(ctx),
        CronJobController(ctx),
        TTLAfterFinishedController(ctx),
        DaemonSetController(ctx),
        DisruptionController(ctx),
        VolumeBinder(ctx),
        LocalPathProvisioner(ctx),
        Scheduler(ctx),
        StaticPods(ctx),
        Kubelet(ctx),
        NodeLifecycleController(ctx),
        PodGCController(ctx),
        EndpointsController(ctx),
        EndpointSliceController(ctx),
        EndpointSliceMirroringController(ctx),
        MetricsServer(ctx),
        HorizontalController(ctx),
        ResourceQuotaController(ctx),
        ClusterRoleAggregationController(ctx),
    ]
