"""What running containers use, simulated: the numbers the kubelets report to metrics-server.

No process runs, so usage comes from the image's behaviour plus the load a lesson asks
for.  Idle usage by image (repository, as in `images`):

| image | CPU (millicores) | memory (MiB) |
|---|---|---|
| `traefik/whoami` | 1 | 3 |
| `nginx` | 2 | 7 |
| `traefik` | 2 | 40 |
| `redis`, `valkey/valkey` | 3 | 5 |
| `postgres` | 6 | 30 |
| `mariadb` | 6 | 90 |
| `mysql` | 8 | 380 |
| `mongo` | 8 | 150 |
| `rabbitmq` | 25 | 120 |
| `etcd` | 20 | 40 |
| `kube-apiserver` | 45 | 230 |
| `kube-controller-manager` | 15 | 45 |
| `kube-scheduler` | 3 | 20 |
| `coredns/coredns` | 2 | 14 |
| `kube-proxy` | 1 | 14 |
| `kindest/kindnetd` | 1 | 10 |
| `kindest/local-path-provisioner` | 1 | 8 |
| any other image running a shell `command` (busybox, alpine) | 0.2 | 0.6 |
| anything else | 1 | 12 |

Each container's figures are spread by a stable ±15 % (a hash of the pod's uid and the
container name, so two replicas differ but each keeps its own), and CPU wobbles by a
further ±5 % from scrape to scrape.  Memory is reported in whole 4 KiB pages.

The extra that drives load, Kubernetes-shaped (an annotation a lesson sets with
`kubectl annotate`):

- `kubecourse.io/cpu-load: "400m"` and `kubecourse.io/memory-load: "200Mi"` on a
  **Deployment, ReplicaSet, StatefulSet or DaemonSet**: that much in total, shared
  evenly by its Running, Ready pods (as traffic through a Service reaches only Ready
  endpoints), so scaling out lowers each pod's share; on a **Pod**: that much more for
  that pod alone.  The load goes to the pod's first container.  A Deployment's
  ReplicaSets carry copies of its annotations, which are not counted again.

Faithful limits: a container's CPU never exceeds its `limits.cpu` (throttling), nor its
memory its `limits.memory`; a node never uses more CPU than its capacity (its pods'
CPU is scaled down together, as under contention).  Node usage is the sum of its pods
plus a system baseline (kubelet and container runtime: 25m / 180Mi on a worker,
65m / 270Mi on the control plane; 150m / 600Mi there when its components are not
running as static pods, the cluster started without system workloads).  Simplified: memory above a limit is capped, not OOM-killed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from kubecourse.embedded import quantity
from kubecourse.embedded.controllers import images, podutil
from kubecourse.embedded.controllers.base import Obj, controller_of
from kubecourse.embedded.metrics import LOAD_CPU, LOAD_MEMORY, ContainerSample
from kubecourse.embedded.store import Store

MIB = 2**20
PAGE = 4096
# The kinds whose load annotation is shared by their pods, by store key.
WORKLOADS = {
    "Deployment": "deployments.apps",
    "ReplicaSet": "replicasets.apps",
    "StatefulSet": "statefulsets.apps",
    "DaemonSet": "daemonsets.apps",
}


@dataclass(frozen=True)
class Profile:
    cpu_millicores: float
    memory_mib: float


PROFILES = {
    "traefik/whoami": Profile(1, 3),
    "nginx": Profile(2, 7),
    "traefik": Profile(2, 40),
    "redis": Profile(3, 5),
    "valkey/valkey": Profile(3, 5),
    "postgres": Profile(6, 30),
    "mariadb": Profile(6, 90),
    "mysql": Profile(8, 380),
    "mongo": Profile(8, 150),
    "rabbitmq": Profile(25, 120),
    # kind's system pods
    "etcd": Profile(20, 40),
    "kube-apiserver": Profile(45, 230),
    "kube-controller-manager": Profile(15, 45),
    "kube-scheduler": Profile(3, 20),
    "coredns/coredns": Profile(2, 14),
    "kube-proxy": Profile(1, 14),
    "kindest/kindnetd": Profile(1, 10),
    "kindest/local-path-provisioner": Profile(1, 8),
}
SHELL = Profile(0.2, 0.6)
DEFAULT = Profile(1, 12)
SYSTEM_CONTROL_PLANE = Profile(150, 600)
# The same node once its control-plane components run as (static) pods of their own.
SYSTEM_CONTROL_PLANE_HOST = Profile(65, 270)
SYSTEM_WORKER = Profile(25, 180)


@dataclass(frozen=True)
class Load:
    cpu_millicores: float = 0.0
    memory_bytes: float = 0.0

    def __add__(self, other: Load) -> Load:
        return Load(
            self.cpu_millicores + other.cpu_millicores,
            self.memory_bytes + other.memory_bytes,
        )

    def share(self, parts: int) -> Load:
        return Load(self.cpu_millicores / parts, self.memory_bytes / parts)


# ---------------------------------------------------------------- the annotations


def annotated_load(obj: Obj) -> Load:
    annotations = obj["metadata"].get("annotations") or {}
    return Load(
        _amount(annotations.get(LOAD_CPU)) * 1000,
        _amount(annotations.get(LOAD_MEMORY)),
    )


def _amount(text: str | None) -> float:
    if text is None:
        return 0.0
    try:
        return max(float(quantity.parse(text)), 0.0)
    except ValueError:
        return 0.0  # refused at admission; an object stored before that counts as none


# ---------------------------------------------------------------- sharing workload load


def owner_chain(store: Store, pod: Obj) -> list[Obj]:
    """The pod's controllers, nearest first: a ReplicaSet, then its Deployment."""
    chain: list[Obj] = []
    current = pod
    namespace = pod["metadata"].get("namespace") or ""
    while (ref := controller_of(current)) is not None and ref.get("kind") in WORKLOADS:
        owner = store.get(WORKLOADS[str(ref["kind"])], namespace, str(ref.get("name")))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            break
        chain.append(owner)
        current = owner
    return chain


def _copies_its_deployment(owner: Obj) -> bool:
    """A Deployment's ReplicaSet carries copies of the Deployment's annotations (the
    deployment controller copies them at every sync, and never removes one): its load
    is the Deployment's, counted there once."""
    ref = controller_of(owner)
    return (
        owner.get("kind") == "ReplicaSet"
        and ref is not None
        and ref.get("kind") == "Deployment"
    )


def serving(pod: Obj) -> bool:
    """Reached by traffic: Running, Ready and not being deleted."""
    running = (pod.get("status") or {}).get("phase") == "Running"
    return running and podutil.is_ready(pod) and not podutil.is_terminating(pod)


def plan_loads(store: Store, pods: Iterable[Obj]) -> dict[str, Load]:
    """Extra usage per pod uid: its own annotation plus its share of its owners'."""
    pods = list(pods)
    receivers: dict[str, list[str]] = {}
    owners: dict[str, Obj] = {}
    for pod in pods:
        if not serving(pod):
            continue
        for owner in owner_chain(store, pod):
            uid = owner["metadata"]["uid"]
            owners[uid] = owner
            receivers.setdefault(uid, []).append(pod["metadata"]["uid"])
    plan = {pod["metadata"]["uid"]: annotated_load(pod) for pod in pods}
    for uid, owner in owners.items():
        if _copies_its_deployment(owner):
            continue
        share = annotated_load(owner).share(len(receivers[uid]))
        for pod_uid in receivers[uid]:
            plan[pod_uid] = plan[pod_uid] + share
    return plan


# ---------------------------------------------------------------- usage


def profile(container: Obj) -> Profile:
    image = str(container.get("image") or "")
    known = PROFILES.get(images.repository(image)) if image else None
    if known is not None:
        return known
    return SHELL if images.script_of(container) is not None else DEFAULT


def _unit(*parts: object) -> float:
    """A stable number in [0, 1) from its parts."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def container_usage(pod: Obj, index: int, load: Load, scrape: int) -> ContainerSample:
    """One container's CPU (nanocores) and memory (bytes) at scrape number `scrape`."""
    container = pod["spec"]["containers"][index]
    uid, name = pod["metadata"]["uid"], container["name"]
    base = profile(container)
    spread = 0.85 + 0.3 * _unit(uid, name)
    wobble = 0.95 + 0.1 * _unit(uid, name, scrape)
    extra = load if index == 0 else Load()
    cpu = base.cpu_millicores * spread * wobble + extra.cpu_millicores
    memory = base.memory_mib * MIB * spread + extra.memory_bytes
    limits = (container.get("resources") or {}).get("limits") or {}
    if "cpu" in limits:
        cpu = min(cpu, quantity.milli_value(limits["cpu"]))
    if "memory" in limits:
        memory = min(memory, float(quantity.parse(limits["memory"])))
    return ContainerSample(name, round(cpu * 1_000_000), int(memory // PAGE) * PAGE)


def system_usage(node: Obj, scrape: int, static_pods: bool = False) -> ContainerSample:
    """What the node's own daemons use: kubelet, containerd, and the control plane's
    components unless they run as static pods (`static_pods`), reported as pods."""
    labels = node["metadata"].get("labels") or {}
    control_plane = "node-role.kubernetes.io/control-plane" in labels
    if not control_plane:
        base = SYSTEM_WORKER
    else:
        base = SYSTEM_CONTROL_PLANE_HOST if static_pods else SYSTEM_CONTROL_PLANE
    name = node["metadata"]["name"]
    cpu = base.cpu_millicores * (0.9 + 0.2 * _unit(name, scrape))
    memory = base.memory_mib * MIB * (0.95 + 0.1 * _unit(name))
    return ContainerSample("", round(cpu * 1_000_000), int(memory // PAGE) * PAGE)


def cpu_capacity_nanocores(node: Obj) -> int:
    status = node.get("status") or {}
    text = (status.get("allocatable") or status.get("capacity") or {}).get("cpu", "0")
    return int(quantity.parse(text) * Fraction(10**9))


def throttle(
    samples: list[ContainerSample], available_nanocores: int
) -> list[ContainerSample]:
    """Scale CPU down together when the pods want more than the node has left."""
    wanted = sum(s.cpu_nanocores for s in samples)
    if wanted <= available_nanocores or wanted == 0:
        return samples
    factor = max(available_nanocores, 0) / wanted
    return [
        ContainerSample(s.name, int(s.cpu_nanocores * factor), s.memory_bytes)
        for s in samples
    ]
