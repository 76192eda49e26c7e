"""The Deployment controller: one ReplicaSet per pod template, rolled out by strategy.

Faithful: the new ReplicaSet is `<deployment>-<pod-template-hash>`, the hash an FNV-32a
of the template (plus `status.collisionCount`) printed in decimal and mapped through the
alphabet `bcdfghjklmnpqrstvwxz2456789` digit by digit, exactly like `SafeEncodeString`
(the hashed bytes are our canonical JSON, not Go's struct dump, so the hash values
differ from a real cluster's); the `pod-template-hash` label on the RS selector, the
template and so the pods; controller ownerReferences; annotations `revision`,
`desired-replicas` and `max-replicas` (and `revision` on the Deployment); the
Deployment's own annotations (`kubernetes.io/change-cause` for `kubectl rollout
history`) copied to the new ReplicaSet at every sync, but upstream's skip list
(`last-applied-configuration`, `revision`, `revision-history`, `desired-replicas`,
`max-replicas`, `deprecated.deployment.rollback.to`); a template already served by a
ReplicaSet reuses it (a rollback takes the next revision, the old one appended to
`revision-history`); the
RollingUpdate arithmetic of `reconcileNewReplicaSet` / `reconcileOldReplicaSets`
(maxSurge rounds up, maxUnavailable down, both 0 means 1 unavailable; unhealthy old pods
go first, then old available pods within the budget); Recreate scales old sets to 0, waits
until no old pod exists, then scales the new one; old sets beyond
`revisionHistoryLimit` are deleted; `paused` stops rollouts but not scaling; status
counts and the Available / Progressing conditions carry upstream reasons and messages,
including ProgressDeadlineExceeded; events ScalingReplicaSet.

Simplified: a change of `spec.replicas` during a rollout is not spread proportionally
over old and new sets (the new set takes it, old sets shrink by the usual budget).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import (
    Controller,
    Key,
    Obj,
    controller_of,
    owner_reference,
)
from kubecourse.embedded.controllers.rollout import (
    available_condition,
    deployment_status,
    max_surge,
    max_unavailable,
    merge_conditions,
    progressing_condition,
    replica_count,
    spec_total,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "deployment-controller"
CREATE_ERROR = "ReplicaSetCreateError"  # upstream FailedRSCreateReason
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
HISTORY = "deployment.kubernetes.io/revision-history"
HISTORY_LIMIT = 2000  # the controller's maxRevHistoryLengthInChars
NOT_COPIED = (  # upstream's annotationsToSkip
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    HISTORY,
    DESIRED,
    MAX,
    "deprecated.deployment.rollback.to",
)
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
RS = "replicasets.apps"


def pod_template_hash(template: Obj, collision_count: int | None = None) -> str:
    """FNV-32a of the canonical template JSON (and collision count), safe-encoded."""
    canonical = _semantic(template)
    data = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += int(collision_count).to_bytes(4, "little") + b"\0\0\0\0"
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(value))


def template_without_hash(template: Obj) -> Obj:
    """The template as the Deployment would have it: no hash label, and compared
    semantically, so null and empty values (`creationTimestamp: null`) count as absent."""
    stripped: Obj = _semantic(template)
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    result: Obj = _semantic(stripped)
    return result


def same_template(rs: Obj, d: Obj) -> bool:
    wanted = _semantic(d["spec"].get("template") or {})
    return bool(template_without_hash(rs["spec"].get("template") or {}) == wanted)


def _semantic(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def revision_of(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class DeploymentController(Controller):
    name = "deployment"
    watches = ("deployments.apps", RS, "pods")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "deployments.apps":
            return super().keys_for(change)
        if change.resource == RS:
            key = podutil.owner_key(change.obj, "Deployment")
            return [key] if key else self._selecting(change.obj)
        if change.type == "DELETED":  # Recreate waits for old pods to be gone
            rs_key = podutil.owner_key(change.obj, "ReplicaSet")
            rs = self.store.get(RS, *rs_key) if rs_key else None
            key = podutil.owner_key(rs, "Deployment") if rs else None
            return [key] if key else []
        return []

    def _selecting(self, rs: Obj) -> list[Key]:
        namespace = rs["metadata"].get("namespace") or ""
        return [
            (namespace, d["metadata"]["name"])
            for d in self.store.items("deployments.apps", namespace)
            if podutil.selector_matches(
                d["spec"].get("selector"), rs["metadata"].get("labels")
            )
        ]

    async def reconcile(self, key: Key) -> float | None:
        d = self.store.get("deployments.apps", *key)
        if d is None or podutil.is_terminating(d):
            return None

        rss = self._claim_replicasets(d)
        created: str | None = None
        if d["spec"].get("paused"):
            self._scale_paused(d, rss)
        elif (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            created = self._recreate(d, rss)
        else:
            created = self._rolling(d, rss)
        self._cleanup(d)

        return self._sync_status(key, created)

    # -- ownership and lookup ------------------------------------------------------------

    def _claim_replicasets(self, d: Obj) -> list[Obj]:
        namespace = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        claimed: list[Obj] = []
        for rs in list(self.store.items(RS, namespace)):
            ref = controller_of(rs)
            if ref is not None and ref.get("uid") == uid:
                claimed.append(rs)
            elif (
                ref is None
                and not podutil.is_terminating(rs)
                and podutil.selector_matches(
                    d["spec"].get("selector"), rs["metadata"].get("labels")
                )
            ):
                adopted = copy.deepcopy(rs)
                adopted["metadata"].setdefault("ownerReferences", []).append(
                    owner_reference(d)
                )
                claimed.append(
                    self.api.update(
                        self.ctx.rt(RS), namespace, rs["metadata"]["name"], adopted
                    )
                )
        return claimed

    def _owned(self, d: Obj) -> list[Obj]:
        return list(
            podutil.owned_by(
                self.store.items(RS, d["metadata"]["namespace"]), d["metadata"]["uid"]
            )
        )

    def _find_new(self, d: Obj, rss: list[Obj]) -> Obj | None:
        same = [rs for rs in rss if same_template(rs, d)]
        same.sort(key=lambda rs: (podutil.created_at(rs), rs["metadata"]["name"]))
        return same[0] if same else None

    # -- strategies ----------------------------------------------------------------------

    def _rolling(self, d: Obj, rss: list[Obj]) -> str | None:
        new, created = self._ensure_new(
            d, rss, lambda current: self._surge_target(d, rss, current)
        )
        if new is None:
            return None
        old = [rs for rs in rss if rs["metadata"]["uid"] != new["metadata"]["uid"]]
        wanted = int(d["spec"].get("replicas", 1))
        new_replicas = int(new["spec"].get("replicas", 0))
        if new_replicas > wanted:
            new = self._scale(d, new, wanted)
        elif new_replicas < wanted:
            new = self._scale(d, new, self._surge_target(d, [*old, new], new))
        else:
            new = self._scale(d, new, wanted)  # refreshes stale annotations only
        self._scale_down_old(d, new, old)
        return created

    def _surge_target(self, d: Obj, rss: list[Obj], new: Obj | None) -> int:
        """How many replicas the new set may have (upstream `NewRSNewReplicas`).

        An old set counts the larger of its `spec.replicas` and its `status.replicas`:
        a scale-down only frees room once its ReplicaSet controller has really deleted
        the pods (and reported so), so live pods never exceed replicas + maxSurge.
        Its status update re-queues this Deployment (we watch ReplicaSets)."""
        wanted = int(d["spec"].get("replicas", 1))
        current_new = int(new["spec"].get("replicas", 0)) if new else 0
        total = sum(
            max(int(rs["spec"].get("replicas", 0)), replica_count(rs, "replicas"))
            for rs in rss
            if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]
        )
        total += current_new
        max_total = wanted + max_surge(d)
        if total >= max_total:
            return current_new
        return current_new + max(0, min(max_total - total, wanted - current_new))

    def _scale_down_old(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        if not any(int(rs["spec"].get("replicas", 0)) for rs in old):
            return
        wanted = int(d["spec"].get("replicas", 1))
        min_available = wanted - max_unavailable(d)
        old = sorted(
            old, key=lambda rs: (podutil.created_at(rs), rs["metadata"]["name"])
        )
        everything = [*old, new]
        new_unavailable = int(new["spec"].get("replicas", 0)) - replica_count(
            new, "availableReplicas"
        )
        budget = spec_total(everything) - min_available - new_unavailable
        if budget <= 0:
            return

        old, budget = self._drop_unhealthy(d, old, budget)
        available = sum(replica_count(rs, "availableReplicas") for rs in [*old, new])
        excess = min(budget, available - min_available)
        for rs in old:
            replicas = int(rs["spec"].get("replicas", 0))
            if excess <= 0:
                break
            if replicas:
                step = min(replicas, excess)
                self._scale(d, rs, replicas - step)
                excess -= step

    def _drop_unhealthy(
        self, d: Obj, old: list[Obj], budget: int
    ) -> tuple[list[Obj], int]:
        """Old sets lose their unavailable pods first (upstream `cleanupUnhealthyReplicas`)."""
        result: list[Obj] = []
        for rs in old:
            replicas = int(rs["spec"].get("replicas", 0))
            unhealthy = replicas - replica_count(rs, "availableReplicas")
            step = min(budget, unhealthy)
            if step > 0 and replicas:
                rs = self._scale(d, rs, replicas - step)
                budget -= step
            result.append(rs)
        return result, budget

    def _recreate(self, d: Obj, rss: list[Obj]) -> str | None:
        new = self._find_new(d, rss)
        old = [
            rs
            for rs in rss
            if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]
        ]
        active = [rs for rs in old if int(rs["spec"].get("replicas", 0)) > 0]
        for rs in active:
            self._scale(d, rs, 0)
        if active or self._old_pods_exist(d, old):
            return None

        wanted = int(d["spec"].get("replicas", 1))
        new, created = self._ensure_new(d, rss, lambda _: wanted)
        if new is not None:
            self._scale(d, new, wanted)
        return created

    def _old_pods_exist(self, d: Obj, old: list[Obj]) -> bool:
        uids = {rs["metadata"]["uid"] for rs in old}
        for pod in self.store.items("pods", d["metadata"]["namespace"]):
            ref = controller_of(pod)
            if (
                ref is not None
                and ref.get("uid") in uids
                and not podutil.is_terminal(pod)
            ):
                return True
        return False

    def _scale_paused(self, d: Obj, rss: list[Obj]) -> None:
        """A paused Deployment still follows spec.replicas with its newest active set."""
        new = self._find_new(d, rss)
        active = [rs for rs in rss if int(rs["spec"].get("replicas", 0)) > 0]
        target = new if new is not None and (new in active or not active) else None
        if target is None and len(active) == 1:
            target = active[0]
        if target is not None:
            self._scale(d, target, int(d["spec"].get("replicas", 1)))

    # -- the new ReplicaSet --------------------------------------------------------------

    def _ensure_new(
        self, d: Obj, rss: list[Obj], replicas_for: Callable[[Obj | None], int]
    ) -> tuple[Obj | None, str | None]:
        """The new set (created if missing, revision bumped if reused); and its name
        when this call created it."""
        new = self._find_new(d, rss)
        next_revision = (
            max((revision_of(rs) for rs in rss if rs is not new), default=0) + 1
        )
        if new is not None:
            updates = new_set_annotations(d, new, next_revision)
            if updates:
                new = self._annotate(new, updates)
            self._record_revision(d, revision_of(new))
            return new, None
        created = self._create_new(d, replicas_for(None), next_revision)
        if created is not None:
            self._record_revision(d, next_revision)
            self._event_scaled(
                d, created["metadata"]["name"], 0, int(created["spec"]["replicas"])
            )
        return created, created["metadata"]["name"] if created else None

    def _create_new(self, d: Obj, replicas: int, revision: int) -> Obj | None:
        collisions = (d.get("status") or {}).get("collisionCount")
        body = new_replicaset(d, replicas, revision, collisions)
        namespace = d["metadata"]["namespace"]
        try:
            return self.api.create(self.ctx.rt(RS), namespace, body)
        except StatusError as err:
            if err.code != 409:
                name = body["metadata"]["name"]
                message = f'Failed to create new replica set "{name}": {err.message}'
                self._report_create_error(d, message)
                raise  # the work queue retries the Deployment with back-off
        existing = self.store.get(RS, namespace, body["metadata"]["name"])
        if existing is not None and same_template(existing, d):
            return copy.deepcopy(existing)  # ours, or adoptable on the next pass
        self._bump_collisions(d)
        return None

    def _report_create_error(self, d: Obj, message: str) -> None:
        """A refused ReplicaSet: Progressing False (reason ReplicaSetCreateError, as
        upstream with a progress deadline, the default) and a Warning event."""
        current = podutil.condition(d, "Progressing") or {}
        if (current.get("status"), current.get("reason")) != ("False", CREATE_ERROR):
            now = podutil.iso()
            wanted = {
                "type": "Progressing",
                "status": "False",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": CREATE_ERROR,
                "message": message,
            }
            body = copy.deepcopy(d)
            status = body.setdefault("status", {})
            others = [c for c in status.get("conditions") or [] if c["type"] != "Progressing"]
            status["conditions"] = others + merge_conditions(d, [wanted])
            meta = d["metadata"]
            rt = self.ctx.rt("deployments.apps")
            self.api.update(rt, meta["namespace"], meta["name"], body, subresource="status")
        self.ctx.record_event(d, CREATE_ERROR, message, component=COMPONENT, type="Warning")

    def _bump_collisions(self, d: Obj) -> None:
        new = copy.deepcopy(d)
        status = new.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        self.api.update(
            self.ctx.rt("deployments.apps"),
            d["metadata"]["namespace"],
            d["metadata"]["name"],
            new,
            subresource="status",
        )

    def _record_revision(self, d: Obj, revision: int) -> None:
        current = self.store.get(
            "deployments.apps", d["metadata"]["namespace"], d["metadata"]["name"]
        )
        if current is None or (current["metadata"].get("annotations") or {}).get(
            REVISION
        ) == str(revision):
            return
        # As upstream, through the status subresource: no new generation.
        self._annotate(current, {REVISION: str(revision)}, "deployments.apps", "status")

    def _annotate(
        self,
        obj: Obj,
        annotations: dict[str, str],
        resource: str = RS,
        subresource: str | None = None,
    ) -> Obj:
        new = copy.deepcopy(obj)
        new["metadata"].setdefault("annotations", {}).update(annotations)
        meta = obj["metadata"]
        return self.api.update(
            self.ctx.rt(resource), meta["namespace"], meta["name"], new, subresource=subresource
        )

    # -- scaling ---------------------------------------------------------------------------

    def _scale(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        wanted = int(d["spec"].get("replicas", 1))
        annotations = {DESIRED: str(wanted), MAX: str(wanted + max_surge(d))}
        current = int(rs["spec"].get("replicas", 0))
        present = rs["metadata"].get("annotations") or {}
        if current == replicas and all(
            present.get(k) == v for k, v in annotations.items()
        ):
            return rs
        new = copy.deepcopy(rs)
        new["spec"]["replicas"] = replicas
        new["metadata"].setdefault("annotations", {}).update(annotations)
        meta = rs["metadata"]
        updated = self.api.update(self.ctx.rt(RS), meta["namespace"], meta["name"], new)
        if current != replicas:
            self._event_scaled(d, meta["name"], current, replicas)
        return updated

    def _event_scaled(self, d: Obj, rs_name: str, before: int, after: int) -> None:
        direction = "up" if after > before else "down"
        message = f"Scaled {direction} replica set {rs_name} from {before} to {after}"
        self.ctx.record_event(d, "ScalingReplicaSet", message, component=COMPONENT)

    def _cleanup(self, d: Obj) -> None:
        """Delete old, empty sets beyond revisionHistoryLimit, oldest revision first."""
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        rss = self._owned(d)
        new = self._find_new(d, rss)
        idle = [
            rs
            for rs in rss
            if rs is not new
            and not int(rs["spec"].get("replicas", 0))
            and not replica_count(rs, "replicas")
            and not podutil.is_terminating(rs)
        ]
        idle.sort(key=lambda rs: (revision_of(rs), podutil.created_at(rs)))
        for rs in idle[: max(0, len(idle) - limit)]:
            try:
                self.api.delete(
                    self.ctx.rt(RS), rs["metadata"]["namespace"], rs["metadata"]["name"]
                )
            except StatusError:
                continue

    # -- status ----------------------------------------------------------------------------

    def _sync_status(self, key: Key, created: str | None) -> float | None:
        d = self.store.get("deployments.apps", *key)
        if d is None:
            return None
        rss = self._owned(d)
        new_rs = self._find_new(d, rss)
        status = deployment_status(d, rss, new_rs)
        progressing, wait = progressing_condition(d, status, new_rs, created)
        wanted = [available_condition(d, status), progressing]
        status["conditions"] = merge_conditions(d, wanted + replica_failures(rss, new_rs))
        if status != d.get("status"):
            body = copy.deepcopy(d)
            body["status"] = status
            self.api.update(
                self.ctx.rt("deployments.apps"),
                key[0],
                key[1],
                body,
                subresource="status",
            )
        return wait


def replica_failures(rss: list[Obj], new_rs: Obj | None) -> list[Obj]:
    """The ReplicaFailure condition of the new set (else of an old one), as the
    Deployment's own (upstream `getReplicaFailures` in `syncRolloutStatus`)."""
    first = new_rs["metadata"]["name"] if new_rs is not None else None
    ordered = sorted(rss, key=lambda rs: rs["metadata"]["name"] != first)
    for rs in ordered:
        found = podutil.condition(rs, "ReplicaFailure")
        if found is not None:
            since = found.get("lastTransitionTime")
            return [
                {
                    "type": "ReplicaFailure",
                    "status": found.get("status"),
                    "lastUpdateTime": since,
                    "lastTransitionTime": since,
                    "reason": found.get("reason"),
                    "message": found.get("message"),
                }
            ]
    return []


def new_set_annotations(d: Obj, rs: Obj, next_revision: int) -> dict[str, str]:
    """What upstream's `SetNewReplicaSetAnnotations` changes on the existing new set at
    every sync: the Deployment's annotations copied (but those in NOT_COPIED), the
    revision raised to the next one, and on a rollback the old revision appended to
    `revision-history` (at most 2,000 characters, oldest dropped first)."""
    present = rs["metadata"].get("annotations") or {}
    updates = {
        k: v
        for k, v in (d["metadata"].get("annotations") or {}).items()
        if k not in NOT_COPIED and present.get(k) != v
    }
    old = revision_of(rs)
    if old < next_revision:
        updates[REVISION] = str(next_revision)
        if REVISION in present:
            updates[HISTORY] = _history(present.get(HISTORY, ""), str(old))
    return updates


def _history(history: str, revision: str) -> str:
    revisions = [r for r in history.split(",") if r]
    while revisions and len(",".join([*revisions, revision])) > HISTORY_LIMIT:
        revisions.pop(0)
    return ",".join([*revisions, revision])


def new_replicaset(d: Obj, replicas: int, revision: int, collisions: int | None) -> Obj:
    template = copy.deepcopy(d["spec"].get("template") or {})
    hash_ = pod_template_hash(template, collisions)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_
    selector = copy.deepcopy(d["spec"].get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_
    annotations = {
        k: v
        for k, v in (d["metadata"].get("annotations") or {}).items()
        if k not in NOT_COPIED
    }
    surge = max_surge(d)
    wanted = int(d["spec"].get("replicas", 1))
    annotations.update(
        {REVISION: str(revision), DESIRED: str(wanted), MAX: str(wanted + surge)}
    )
    spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if d["spec"].get("minReadySeconds"):
        spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{d['metadata']['name']}-{hash_}",
            "namespace": d["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": annotations,
            "ownerReferences": [owner_reference(d)],
        },
        "spec": spec,
    }
