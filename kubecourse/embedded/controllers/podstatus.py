"""Pod and container status as a kubelet writes it (the shapes, not the decisions).

Container statuses (waiting, running, terminated, with `restartCount` and `lastState`),
the pod's conditions in a real pod's order with transition times kept (PodScheduled
True added for a pod bound by its `nodeName`, as the kubelet adds it).
"""

from __future__ import annotations

import copy

from kubecourse.embedded.controllers import images, podutil
from kubecourse.embedded.controllers.base import Obj, set_condition

CONDITION_ORDER = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


def waiting(
    container: Obj,
    reason: str,
    message: str | None = None,
    *,
    restarts: int = 0,
    last: Obj | None = None,
    identity: Obj | None = None,
) -> Obj:
    state: Obj = {"reason": reason}
    if message is not None:
        state["message"] = message
    return {
        **(
            identity
            or {
                "name": container["name"],
                "image": images.normalise(container["image"]),
                "imageID": "",
            }
        ),
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {"waiting": state},
        "lastState": copy.deepcopy(last or {}),
    }


def identity(pod: Obj, container: Obj, restarts: int = 0) -> Obj:
    return {
        "name": container["name"],
        "image": images.normalise(container["image"]),
        "imageID": images.image_id(container["image"]),
        "containerID": images.container_id(
            pod["metadata"]["uid"], container["name"], restarts
        ),
    }


def running(
    pod: Obj,
    container: Obj,
    started: float,
    ready: bool,
    *,
    restarts: int = 0,
    last: Obj | None = None,
) -> Obj:
    return {
        **identity(pod, container, restarts),
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": podutil.iso(started)}},
        "lastState": copy.deepcopy(last or {}),
    }


def terminated_state(
    pod: Obj,
    container: Obj,
    started: float,
    finished: float,
    code: int,
    restarts: int = 0,
) -> Obj:
    return {
        "exitCode": code,
        "reason": "Completed" if code == 0 else "Error",
        "startedAt": podutil.iso(started),
        "finishedAt": podutil.iso(finished),
        "containerID": identity(pod, container, restarts)["containerID"],
    }


def terminated(
    pod: Obj,
    container: Obj,
    started: float,
    finished: float,
    code: int,
    *,
    restarts: int = 0,
    last: Obj | None = None,
) -> Obj:
    return {
        **identity(pod, container, restarts),
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {
            "terminated": terminated_state(
                pod, container, started, finished, code, restarts
            )
        },
        "lastState": copy.deepcopy(last or {}),
    }


def names(pod: Obj) -> list[str]:
    return [c["name"] for c in pod["spec"]["containers"]]


def gates_pass(pod: Obj, status: Obj) -> bool:
    gates = [g.get("conditionType") for g in pod["spec"].get("readinessGates") or []]
    present = {c["type"]: c.get("status") for c in status.get("conditions") or []}
    return all(present.get(gate) == "True" for gate in gates)


def pod_conditions(
    status: Obj,
    *,
    sandbox: bool,
    ready: bool,
    unready: list[str],
    completed: bool = False,
    incomplete: list[str] | None = None,
) -> list[Obj]:
    """The kubelet's conditions, keeping transition times, in a real pod's order;
    `incomplete`: the init containers that have not completed yet."""
    conditions = copy.deepcopy(status.get("conditions") or [])
    set_condition(
        conditions, "PodReadyToStartContainers", "True" if sandbox else "False"
    )
    if incomplete:
        waiting = f"containers with incomplete status: [{' '.join(incomplete)}]"
        set_condition(
            conditions, "Initialized", "False", "ContainersNotInitialized", waiting
        )
    else:
        set_condition(conditions, "Initialized", "True")
    if not any(c["type"] == "PodScheduled" for c in conditions):
        set_condition(conditions, "PodScheduled", "True")
    if ready:
        set_condition(conditions, "Ready", "True")
        set_condition(conditions, "ContainersReady", "True")
    else:
        reason = "PodCompleted" if completed else "ContainersNotReady"
        message = (
            None
            if completed
            else f"containers with unready status: [{' '.join(unready)}]"
        )
        set_condition(conditions, "Ready", "False", reason, message)
        set_condition(conditions, "ContainersReady", "False", reason, message)
    rank = {name: i for i, name in enumerate(CONDITION_ORDER)}
    return sorted(conditions, key=lambda c: rank.get(c["type"], len(rank)))


def field_path(pod: Obj, container: str) -> str:
    """`spec.containers{web}`: where the container is in the pod's spec."""
    spec = pod["spec"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        if any(c.get("name") == container for c in spec.get(key) or []):
            return f"spec.{key}{{{container}}}"
    return f"spec.containers{{{container}}}"


def observe_generation(pod: Obj, status: Obj) -> None:
    """The generation the status was written for, on the status and its conditions."""
    generation = pod["metadata"].get("generation")
    if generation is None:
        return
    status["observedGeneration"] = generation
    for condition in status.get("conditions") or []:
        condition["observedGeneration"] = generation
