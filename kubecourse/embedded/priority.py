"""PriorityClasses (`scheduling.k8s.io/v1`) and the Priority admission plugin.

Faithful:
- the two system classes, `system-cluster-critical` (2000000000) and
  `system-node-critical` (2000001000), with upstream's descriptions, exist from the
  start (the API server re-creates a missing one at every start, as its post-start
  hook does) and cannot be deleted (`priorityclasses.scheduling.k8s.io
  "system-node-critical" is forbidden: this is a system priority class and cannot be
  deleted`);
- validation: a `system-` name must be one of those with its value (`metadata.name:
  Forbidden: priority class names with 'system-' prefix are reserved for system use
  only. error: ...`), a user class at most 1000000000, `preemptionPolicy`
  PreemptLowerPriority (the default) or Never; `value` and `preemptionPolicy` are
  immutable; one `globalDefault` at most (`PriorityClass x is already marked as
  default. Only one default can exist`, 403);
- a new Pod gets `spec.priority` (and `preemptionPolicy`) from its
  `priorityClassName`, or from the global default class (whose name it then gets), or
  0 / PreemptLowerPriority without one; an unknown class is `pods "web-" is forbidden:
  no PriorityClass with name nope was found`, and a `priority` that disagrees with the
  class is refused with upstream's message.  Admission runs before name generation
  upstream, so a generated name is shown as its `generateName` prefix.

Simplified: the system classes resolve even before they are stored (a pod admitted
while the cluster bootstraps); a deletecollection of priorityclasses stops at a
system class (upstream's collection delete skips the check and removes them too);
the scheduler does not preempt (its unschedulable
message says no victims were found, as upstream's does when none would help).
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded import status
from kubecourse.embedded.store import Store
from kubecourse.embedded.validation import forbidden, immutable, not_supported

Obj = dict[str, Any]
Causes = list[dict[str, str]]

STORE_KEY = "priorityclasses.scheduling.k8s.io"
HIGHEST_USER_DEFINABLE = 1_000_000_000
PREEMPTION_POLICIES = ("Never", "PreemptLowerPriority")
SYSTEM_CLASSES: dict[str, tuple[int, str]] = {
    "system-node-critical": (
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    "system-cluster-critical": (
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved "
        "to another node if necessary.",
    ),
}
_QUALIFIED = "priorityclasses.scheduling.k8s.io"


def system_class(name: str) -> Obj:
    value, description = SYSTEM_CLASSES[name]
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "description": description,
        "preemptionPolicy": "PreemptLowerPriority",
    }


def default_priority_class(obj: Obj) -> None:
    """`SetDefaults_PriorityClass`."""
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


# ---------------------------------------------------------------- validation


def class_causes(obj: Obj) -> Causes:
    """`ValidatePriorityClass`, after the metadata checks."""
    name = str(obj["metadata"].get("name") or "")
    value = obj.get("value", 0)
    causes: Causes = []
    if name.startswith("system-"):
        problem = _known_system_class_problem(
            name, value, bool(obj.get("globalDefault"))
        )
        if problem:
            detail = (
                "priority class names with 'system-' prefix are reserved for system use "
                f"only. error: {problem}"
            )
            causes.append(forbidden("metadata.name", detail))
    elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE:
        detail = f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE}"
        causes.append(forbidden("value", detail))
    policy = obj.get("preemptionPolicy")
    if policy not in PREEMPTION_POLICIES:
        causes.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
    return causes


def _known_system_class_problem(name: str, value: Any, global_default: bool) -> str:
    known = SYSTEM_CLASSES.get(name)
    if known is None:
        return f"{name} is not a known system priority class"
    if value != known[0]:
        return f"value of {name} PriorityClass must be {known[0]}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return ""


def class_update_causes(old: Obj, new: Obj) -> Causes:
    """`ValidatePriorityClassUpdate`: value and preemptionPolicy are immutable."""
    causes: Causes = []
    if old.get("value") != new.get("value"):
        causes.append(forbidden("value", "may not be changed in an update."))
    return causes + immutable(
        "preemptionPolicy", old.get("preemptionPolicy"), new.get("preemptionPolicy")
    )


# ---------------------------------------------------------------- admission


def _default_class(store: Store) -> Obj | None:
    """The global default; with several (a race upstream), the lowest value."""
    defaults = [c for c in store.items(STORE_KEY) if c.get("globalDefault")]
    return min(defaults, key=lambda c: int(c.get("value") or 0), default=None)


def check_single_default(store: Store, obj: Obj, creating: bool) -> None:
    """The Priority plugin's PriorityClass validation (create and update)."""
    if not obj.get("globalDefault"):
        return
    current = _default_class(store)
    if current is None:
        return
    if creating or current["metadata"]["name"] != obj["metadata"]["name"]:
        raise status.forbidden(
            f'{_QUALIFIED} "{obj["metadata"]["name"]}" is forbidden: PriorityClass '
            f"{current['metadata']['name']} is already marked as default. Only one default can exist",
            {
                "name": obj["metadata"]["name"],
                "group": "scheduling.k8s.io",
                "kind": "priorityclasses",
            },
        )


def check_delete(name: str) -> None:
    if name in SYSTEM_CLASSES:
        raise status.forbidden(
            f'{_QUALIFIED} "{name}" is forbidden: this is a system priority class and '
            "cannot be deleted",
            {"name": name, "group": "scheduling.k8s.io", "kind": "priorityclasses"},
        )


def _resolve(store: Store, name: str) -> Obj | None:
    found = store.get(STORE_KEY, "", name)
    if found is None and name in SYSTEM_CLASSES:
        return system_class(name)
    return found


def admit_pod(store: Store, pod: Obj, shown_name: str) -> None:
    """Set `spec.priority` and `spec.preemptionPolicy` of a Pod being created."""
    spec = pod.setdefault("spec", {})
    class_name = spec.get("priorityClassName") or ""
    if class_name:
        found = _resolve(store, class_name)
        if found is None:
            raise _forbidden(
                shown_name, f"no PriorityClass with name {class_name} was found"
            )
    else:
        found = _default_class(store)
        if found is not None:
            spec["priorityClassName"] = found["metadata"]["name"]
    value = int(found.get("value") or 0) if found else 0
    policy = (found or {}).get("preemptionPolicy") or "PreemptLowerPriority"

    given = spec.get("priority")
    if given is not None and given != value:
        raise _forbidden(
            shown_name,
            f"the integer value of priority ({given}) must not be provided in pod spec; "
            f"priority admission controller computed {value} from the given PriorityClass name",
        )
    if spec.get("preemptionPolicy") not in (None, policy):
        raise _forbidden(
            shown_name,
            f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must not be "
            f"provided in pod spec; priority admission controller computed {policy} from "
            "the given PriorityClass name",
        )
    spec["priority"] = value
    spec["preemptionPolicy"] = policy


def _forbidden(name: str, message: str) -> status.StatusError:
    return status.forbidden(
        f'pods "{name}" is forbidden: {message}', {"name": name, "kind": "pods"}
    )
