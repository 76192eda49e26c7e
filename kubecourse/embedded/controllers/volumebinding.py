"""The scheduler's VolumeBinding plugin: where a pod with PersistentVolumeClaims may go.

Faithful (`pkg/scheduler/framework/plugins/volumebinding`): PreFilter refuses a pod
whose claim is missing (`persistentvolumeclaim "data" not found`), being deleted, or
unbound in an Immediate class (`pod has unbound immediate PersistentVolumeClaims`),
for every node at once; Filter keeps a node only if each bound claim's volume
`nodeAffinity` admits it (`node(s) had volume node affinity conflict`) and an unbound
WaitForFirstConsumer claim that already names a node (`volume.kubernetes.io/selected-
node`) names this one (`node(s) didn't find available persistent volumes to bind`);
PreBind writes the chosen node into each unbound WaitForFirstConsumer claim's
`volume.kubernetes.io/selected-node` annotation, and the pod is bound only once every
claim is Bound (the provisioner has made a volume pinned to that node), so a pod
waiting for its volume stays Pending without events, as upstream.

Simplified: generic ephemeral volumes and CSI storage capacity are not considered;
binding waits without upstream's 10-minute timeout.
"""

from __future__ import annotations

import copy
from typing import Any

from kubecourse.embedded.api import Api
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.storage import STORAGE_CLASSES, class_of
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
PVCS = "persistentvolumeclaims"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
AFFINITY_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


def claim_names(pod: Obj) -> list[str]:
    names = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        source = (
            volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        )
        if isinstance(source, dict) and source.get("claimName"):
            names.append(str(source["claimName"]))
    return names


def uses_claim(pod: Obj, claim: str) -> bool:
    return claim in claim_names(pod)


def waits_for_first_consumer(store: Store, claim: Obj) -> bool:
    name = class_of(claim)
    storage_class = store.get(STORAGE_CLASSES, "", name) if name else None
    return (storage_class or {}).get("volumeBindingMode") == "WaitForFirstConsumer"


def is_bound(claim: Obj) -> bool:
    return bool((claim.get("spec") or {}).get("volumeName")) and (
        (claim.get("status") or {}).get("phase") == "Bound"
    )


def prefilter(store: Store, pod: Obj) -> str | None:
    """Why no node at all can take the pod, or None."""
    namespace = pod["metadata"]["namespace"]
    unbound_immediate = False
    for name in claim_names(pod):
        claim = store.get(PVCS, namespace, name)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if not is_bound(claim) and not waits_for_first_consumer(store, claim):
            unbound_immediate = True
    return UNBOUND_IMMEDIATE if unbound_immediate else None


def node_failure(store: Store, pod: Obj, node: Obj, matches: Any) -> str | None:
    """The Filter verdict for one node; `matches(terms, node)` evaluates node selector terms."""
    namespace = pod["metadata"]["namespace"]
    name = node["metadata"]["name"]
    for claim_name in claim_names(pod):
        claim = store.get(PVCS, namespace, claim_name)
        if claim is None:
            continue
        if is_bound(claim):
            volume = store.get("persistentvolumes", "", claim["spec"]["volumeName"])
            terms = (((volume or {}).get("spec") or {}).get("nodeAffinity") or {}).get(
                "required"
            ) or {}
            if terms.get("nodeSelectorTerms") and not matches(
                terms["nodeSelectorTerms"], node
            ):
                return AFFINITY_CONFLICT
            continue
        selected = (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE)
        if selected and selected != name:
            return NO_VOLUME
    return None


def prebind(api: Api, pod: Obj, node: str) -> bool:
    """Point the pod's unbound WaitForFirstConsumer claims at `node`; True when every
    claim is bound and the pod may be bound now."""
    namespace = pod["metadata"]["namespace"]
    ready = True
    for name in claim_names(pod):
        claim = api.store.get(PVCS, namespace, name)
        if claim is None or is_bound(claim):
            continue
        ready = False
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(SELECTED_NODE) != node:
            new = copy.deepcopy(claim)
            new["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node
            api.update(REGISTRY.get(PVCS), namespace, name, new)
    return ready
