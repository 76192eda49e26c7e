"""A Deployment's rollout arithmetic and status, as the deployment controller reports it.

Faithful: maxSurge / maxUnavailable resolution (percentages of spec.replicas, surge
rounded up, unavailable down, both 0 meaning 1 unavailable, 0/0 for Recreate); status
counts summed over the Deployment's ReplicaSets (`updatedReplicas` from the newest,
`unavailableReplicas` as spec total minus available, zero fields omitted); the
Available condition (MinimumReplicasAvailable / MinimumReplicasUnavailable) and the
Progressing condition with upstream reasons and messages (NewReplicaSetCreated,
FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, DeploymentPaused,
DeploymentResumed, ProgressDeadlineExceeded after progressDeadlineSeconds without
progress), in the order a real server lists them (Available, then Progressing); the
transition time moves only with the status, the update time with each change.
"""

from __future__ import annotations

import time

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Obj, parse_time


def max_surge(d: Obj) -> int:
    return _rolling_params(d)[0]


def max_unavailable(d: Obj) -> int:
    return _rolling_params(d)[1]


def _rolling_params(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas (0, 0 for Recreate)."""
    strategy = d["spec"].get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = int(d["spec"].get("replicas", 1))
    surge = podutil.scaled_value(
        rolling.get("maxSurge", "25%"), replicas, round_up=True
    )
    unavailable = podutil.scaled_value(
        rolling.get("maxUnavailable", "25%"), replicas, round_up=False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def replica_count(rs: Obj, field: str) -> int:
    return int((rs.get("status") or {}).get(field) or 0)


def spec_total(rss: list[Obj]) -> int:
    return sum(int(rs["spec"].get("replicas", 0)) for rs in rss)


def deployment_status(d: Obj, rss: list[Obj], new_rs: Obj | None) -> Obj:
    available = sum(replica_count(rs, "availableReplicas") for rs in rss)
    status: Obj = {
        "observedGeneration": int(d["metadata"].get("generation", 1)),
        "replicas": sum(replica_count(rs, "replicas") for rs in rss),
        "updatedReplicas": replica_count(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(replica_count(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(spec_total(rss) - available, 0),
    }
    status = {k: v for k, v in status.items() if v}  # omitempty
    collisions = (d.get("status") or {}).get("collisionCount")
    if collisions:
        status["collisionCount"] = collisions
    return status


def available_condition(d: Obj, status: Obj) -> Obj:
    wanted = int(d["spec"].get("replicas", 1))
    if status.get("availableReplicas", 0) >= wanted - max_unavailable(d):
        return _condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    return _condition(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    )


def progressing_condition(
    d: Obj, status: Obj, new_rs: Obj | None, created: str | None
) -> tuple[Obj, float | None]:
    """The Progressing condition (upstream `syncRolloutStatus`) and when to look again
    for the progress deadline."""
    previous = podutil.condition(d, "Progressing")
    name = new_rs["metadata"]["name"] if new_rs else ""
    if d["spec"].get("paused"):
        return _condition(
            "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"
        ), None
    if previous and previous.get("reason") == "DeploymentPaused":
        return _condition(
            "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"
        ), 0.0
    if _complete(d, status):
        return _condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name}" has successfully progressed.',
        ), None
    if created:
        return _condition(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            f'Created new replica set "{created}"',
        ), _deadline(d)
    if _made_progress(d, status):
        return _condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{name}" is progressing.',
        ), _deadline(d)
    if previous is None and new_rs is not None:
        return _condition(
            "Progressing",
            "True",
            "FoundNewReplicaSet",
            f'Found new replica set "{name}"',
        ), _deadline(d)
    return _check_deadline(d, previous, name)


def _check_deadline(
    d: Obj, previous: Obj | None, name: str
) -> tuple[Obj, float | None]:
    if previous is None:
        return _condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{name}" is progressing.',
        ), _deadline(d)
    if previous.get("reason") in ("ProgressDeadlineExceeded", "NewReplicaSetAvailable"):
        return previous, None
    updated = parse_time(previous.get("lastUpdateTime"))
    deadline = float(d["spec"].get("progressDeadlineSeconds", 600))
    left = (updated.timestamp() + deadline - time.time()) if updated else deadline
    if left > 0:
        return previous, left + 0.5
    message = f'ReplicaSet "{name}" has timed out progressing.'
    return _condition("Progressing", "False", "ProgressDeadlineExceeded", message), None


def _deadline(d: Obj) -> float:
    return float(d["spec"].get("progressDeadlineSeconds", 600)) + 0.5


def _complete(d: Obj, status: Obj) -> bool:
    wanted = int(d["spec"].get("replicas", 1))
    fields = ("updatedReplicas", "replicas", "availableReplicas")
    return all(int(status.get(field, 0)) == wanted for field in fields)


def _made_progress(d: Obj, status: Obj) -> bool:
    old = d.get("status") or {}
    if old.get("observedGeneration") != status.get("observedGeneration"):
        return True

    def grew(field: str) -> bool:
        return int(status.get(field, 0)) > int(old.get(field, 0))

    shrank = int(status.get("replicas", 0)) < int(old.get("replicas", 0))
    return shrank or any(
        map(grew, ("updatedReplicas", "readyReplicas", "availableReplicas"))
    )


def _condition(type_: str, status: str, reason: str, message: str) -> Obj:
    now = podutil.iso()
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def merge_conditions(d: Obj, wanted: list[Obj]) -> list[Obj]:
    """Keep timestamps of unchanged conditions; the transition time moves only with the
    status, the update time whenever reason or message change (or progress is made)."""
    merged: list[Obj] = []
    for entry in wanted:
        previous = podutil.condition(d, entry["type"])
        if previous is None:
            merged.append(entry)
            continue
        if previous.get("status") == entry["status"]:
            entry = {**entry, "lastTransitionTime": previous.get("lastTransitionTime")}
            same = (
                previous.get("reason") == entry["reason"]
                and previous.get("message") == entry["message"]
            )
            if same and entry["reason"] != "ReplicaSetUpdated":
                entry["lastUpdateTime"] = previous.get("lastUpdateTime")
        merged.append(entry)
    return merged
