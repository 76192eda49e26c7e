"""The embedded cluster's controllers (reconcile loops), in the order they start.

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
| persistentvolume-binder | `volumes` | PV binder + kind's local-path provisioner |
| scheduler | `scheduler` | kube-scheduler (default profile, simplified) |
| kubelet | `kubelet` (+ `heartbeat`, `containers`, `podconfig`, `podstatus`, `environment`, `images`) | every node's kubelet (heartbeats, power, ConfigMap/Secret env and volumes, the environment `kubectl exec` sees, restarts) and container runtime |
| node-lifecycle | `nodelifecycle` | node lifecycle controller and taint-eviction controller |
| endpoints | `endpoints` | endpoints controller |
| endpointslice | `endpointslices` | endpointslice controller |
| metrics-server | `metricsserver` (+ `usage`) | metrics-server (its scrapes; the API is `metricsapi`) |
| horizontal-pod-autoscaler | `horizontal` (+ `replicacalc`, `hpastatus`) | HPA controller |
| resourcequota | `resourcequota` (counting: `kubecourse.embedded.quota`) | resource quota controller |
"""

from __future__ import annotations

from kubecourse.embedded.controllers.base import Context, Controller
from kubecourse.embedded.controllers.cronjob import CronJobController
from kubecourse.embedded.controllers.daemonset import DaemonSetController
from kubecourse.embedded.controllers.deployment import DeploymentController
from kubecourse.embedded.controllers.disruption import DisruptionController
from kubecourse.embedded.controllers.endpoints import EndpointsController
from kubecourse.embedded.controllers.endpointslices import EndpointSliceController
from kubecourse.embedded.controllers.garbage import GarbageCollector
from kubecourse.embedded.controllers.horizontal import HorizontalController
from kubecourse.embedded.controllers.job import JobController
from kubecourse.embedded.controllers.kubelet import Kubelet
from kubecourse.embedded.controllers.metricsserver import MetricsServer
from kubecourse.embedded.controllers.namespace import NamespaceController
from kubecourse.embedded.controllers.nodelifecycle import NodeLifecycleController
from kubecourse.embedded.controllers.replicaset import ReplicaSetController
from kubecourse.embedded.controllers.replicationcontroller import (
    ReplicationControllerController,
)
from kubecourse.embedded.controllers.resourcequota import ResourceQuotaController
from kubecourse.embedded.controllers.scheduler import Scheduler
from kubecourse.embedded.controllers.statefulset import StatefulSetController
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
        Scheduler(ctx),
        Kubelet(ctx),
        NodeLifecycleController(ctx),
        EndpointsController(ctx),
        EndpointSliceController(ctx),
        MetricsServer(ctx),
        HorizontalController(ctx),
        ResourceQuotaController(ctx),
    ]
