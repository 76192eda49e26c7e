"""Small facts about pods and workloads that several controllers share.

These mirror helpers of `k8s.io/kubernetes/pkg/api/v1/pod` and `pkg/controller`:
what counts as ready, available, active or terminating, how an int-or-percent field
resolves, and resource quantities as the scheduler reads them.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from kubecourse.embedded.controllers.base import Obj, controller_of, parse_time
from kubecourse.embedded.selectors import label_selector_from_spec
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Store

TERMINAL_PHASES = ("Succeeded", "Failed")


def condition(obj: Obj, type_: str) -> Obj | None:
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return dict(entry)
    return None


def is_ready(pod: Obj) -> bool:
    entry = condition(pod, "Ready")
    return entry is not None and entry.get("status") == "True"


def is_terminating(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def is_active(pod: Obj) -> bool:
    """Counted by a ReplicaSet: neither terminal nor being deleted."""
    return not is_terminal(pod) and not is_terminating(pod)


def is_available(pod: Obj, min_ready_seconds: int, now: float | None = None) -> bool:
    """Ready for at least minReadySeconds (upstream `IsPodAvailable`)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    if since is None:
        return False
    return (now if now is not None else time.time()) - since >= min_ready_seconds


def ready_since(pod: Obj) -> float | None:
    entry = condition(pod, "Ready")
    moment = parse_time((entry or {}).get("lastTransitionTime"))
    return moment.timestamp() if moment else None


def seconds_until_available(pod: Obj, min_ready_seconds: int) -> float | None:
    """How long until a ready pod becomes available, or None if it is not waiting."""
    since = ready_since(pod)
    if not is_ready(pod) or min_ready_seconds <= 0 or since is None:
        return None
    left = since + min_ready_seconds - time.time()
    return left if left > 0 else None


def restart_count(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def created_at(obj: Obj) -> float:
    moment = parse_time(obj["metadata"].get("creationTimestamp"))
    return moment.timestamp() if moment else 0.0


def iso(moment: float | None = None) -> str:
    value = datetime.fromtimestamp(
        time.time() if moment is None else moment, timezone.utc
    )
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def selector_matches(
    selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None
) -> bool:
    try:
        return bool(label_selector_from_spec(selector).matches(labels or {}))
    except ValueError:
        return False


def owned_by(objects: Iterable[Obj], uid: str) -> Iterator[Obj]:
    for obj in objects:
        ref = controller_of(obj)
        if ref is not None and ref.get("uid") == uid:
            yield obj


def pods_of(store: Store, owner: Obj) -> list[Obj]:
    namespace = owner["metadata"].get("namespace") or ""
    return list(owned_by(store.items("pods", namespace), owner["metadata"]["uid"]))


def owner_key(obj: Obj, kind: str) -> tuple[str, str] | None:
    """(namespace, name) of the controller owner when it is of `kind`."""
    ref = controller_of(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    return (obj["metadata"].get("namespace") or "", str(ref.get("name")))


# -- int-or-percent ------------------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString like maxSurge: `2` or `"25%"` of total, rounded as asked."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value if value is not None else 0)
    if text.endswith("%"):
        fraction = float(text[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(text)


# -- quantities ------------------------------------------------------------------------

_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(text: Any) -> float:
    """A resource quantity (`"100m"`, `"1.5"`, `"128Mi"`) as a plain number."""
    match = _QUANTITY.match(str(text).strip())
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def pod_requests(pod: Obj, missing: Mapping[str, float] | None = None) -> dict[str, float]:
    """Effective requests: sum over containers, at least the largest init container,
    plus overhead (upstream `PodRequests`).  `missing` gives each container a request
    it does not set, as the scheduler's scoring does (`NonMissingContainerRequests`)."""
    spec = pod.get("spec") or {}
    total: dict[str, float] = {}
    for container in spec.get("containers") or []:
        for name, value in _requests(container, missing).items():
            total[name] = total.get(name, 0.0) + value
    for container in spec.get("initContainers") or []:
        for name, value in _requests(container, missing).items():
            total[name] = max(total.get(name, 0.0), value)
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, 0.0) + quantity(value)
    return total


def _requests(container: Obj, missing: Mapping[str, float] | None = None) -> dict[str, float]:
    resources = container.get("resources") or {}
    requests = dict(resources.get("limits") or {})  # limits default requests
    requests.update(resources.get("requests") or {})
    found = {name: quantity(value) for name, value in requests.items()}
    return {**(missing or {}), **found}


def namespace_terminating(err: StatusError) -> bool:
    """Whether a create was refused because its namespace is being deleted (upstream
    `HasStatusCause(err, NamespaceTerminatingCause)`): no error a controller retries."""
    causes = (err.details or {}).get("causes") or []
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)
