"""Pod printer: READY, STATUS (the kubelet-style reason logic), RESTARTS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubecourse.embedded.tables.common import (
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _core,
    _get,
    _int,
    _list,
    _wide,
    age,
    human_duration,
    parse_time,
)

# ---------------------------------------------------------------- pods

_POD_COLUMNS = (
    NAME,
    Column(
        "Ready",
        description="The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted.",
    ),
    AGE,
    _wide("IP", _core("Pod", "status", "podIP")),
    _wide("Node", _core("Pod", "spec", "nodeName")),
    _wide("Nominated Node", _core("Pod", "status", "nominatedNodeName")),
    _wide("Readiness Gates", _core("Pod", "spec", "readinessGates")),
)


@dataclass
class _PodTally:
    reason: str
    ready: int = 0
    total: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None


def _later(current: datetime | None, status: Obj) -> datetime | None:
    finished = parse_time(_get(status, "lastState", "terminated", "finishedAt"))
    if finished is None or (current is not None and current >= finished):
        return current
    return finished


def _is_sidecar(container: Any) -> bool:
    return isinstance(container, Mapping) and container.get("restartPolicy") == "Always"


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return f"{prefix}{terminated['reason']}"
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _init_containers(pod: Obj, tally: _PodTally) -> bool:
    """Count init containers; True while initialisation is still under way."""
    specs = {c.get("name"): c for c in _list(pod, "spec", "initContainers")}
    tally.total += sum(1 for c in specs.values() if _is_sidecar(c))
    for index, status in enumerate(_list(pod, "status", "initContainerStatuses")):
        tally.restarts += _int(status.get("restartCount"))
        tally.last_restart = _later(tally.last_restart, status)
        sidecar = _is_sidecar(specs.get(status.get("name")))
        if sidecar:
            tally.sidecar_restarts += _int(status.get("restartCount"))
            tally.sidecar_last_restart = _later(tally.sidecar_last_restart, status)
        terminated = _get(status, "state", "terminated")
        waiting_reason = _get(status, "state", "waiting", "reason", default="")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and status.get("started"):
            tally.ready += 1 if status.get("ready") else 0
            continue
        if terminated is not None:
            tally.reason = _terminated_reason(terminated, "Init:")
        elif waiting_reason and waiting_reason != "PodInitializing":
            tally.reason = f"Init:{waiting_reason}"
        else:
            tally.reason = f"Init:{index}/{len(specs)}"
        return True
    return False


def _has_condition(pod: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in _list(pod, "status", "conditions")
    )


def _containers(pod: Obj, tally: _PodTally) -> None:
    tally.restarts = tally.sidecar_restarts
    tally.last_restart = tally.sidecar_last_restart
    running = False
    for status in reversed(_list(pod, "status", "containerStatuses")):
        tally.restarts += _int(status.get("restartCount"))
        tally.last_restart = _later(tally.last_restart, status)
        waiting = _get(status, "state", "waiting", "reason", default="")
        terminated = _get(status, "state", "terminated")
        if waiting:
            tally.reason = str(waiting)
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif status.get("ready") and _get(status, "state", "running") is not None:
            running = True
            tally.ready += 1
    if tally.reason == "Completed" and running:
        tally.reason = "Running" if _has_condition(pod, "Ready") else "NotReady"


def _pod_tally(pod: Obj) -> _PodTally:
    phase = str(_get(pod, "status", "phase", default=""))
    tally = _PodTally(reason=str(_get(pod, "status", "reason", default="") or phase))
    tally.total = len(_list(pod, "spec", "containers"))
    for condition in _list(pod, "status", "conditions"):
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("reason") == "SchedulingGated"
        ):
            tally.reason = "SchedulingGated"
    initializing = _init_containers(pod, tally)
    if not initializing or _has_condition(pod, "Initialized"):
        _containers(pod, tally)
    if _get(pod, "metadata", "deletionTimestamp"):
        if _get(pod, "status", "reason") == "NodeLost":
            tally.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    return tally


def _readiness_gates(pod: Obj) -> str:
    gates = _list(pod, "spec", "readinessGates")
    if not gates:
        return "<none>"
    conditions = {
        c.get("type"): c.get("status") for c in _list(pod, "status", "conditions")
    }
    ready = sum(
        1 for gate in gates if conditions.get(gate.get("conditionType")) == "True"
    )
    return f"{ready}/{len(gates)}"


def _pod_cells(pod: Obj, now: datetime) -> list[Cell]:
    tally = _pod_tally(pod)
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart is not None:
        since = human_duration((now - tally.last_restart).total_seconds())
        restarts = f"{tally.restarts} ({since} ago)"
    ips = _list(pod, "status", "podIPs")
    return [
        _get(pod, "metadata", "name", default=""),
        f"{tally.ready}/{tally.total}",
        tally.reason,
        restarts,
        age(_get(pod, "metadata", "creationTimestamp"), now),
        str(ips[0].get("ip") or "<none>") if ips else "<none>",
        _get(pod, "spec", "nodeName", default="") or "<none>",
        _get(pod, "status", "nominatedNodeName", default="") or "<none>",
        _readiness_gates(pod),
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = _get(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [
        {"type": "Completed", "status": "True", "reason": phase, "message": message}
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): (_POD_COLUMNS, _pod_cells),
}
