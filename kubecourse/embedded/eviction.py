"""The `eviction` subresource of pods (`POST .../pods/{name}/eviction`, policy/v1).

What kube-apiserver's eviction REST does, for `kubectl drain` and
`create_namespaced_pod_eviction`:

- the Eviction's `metadata.name` must be the pod's (400 otherwise); a missing pod is 404;
- a pod that is terminal, still Pending or already being deleted is deleted without
  consulting any budget; so is an unhealthy (not Ready) pod when its budget's
  `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or `IfHealthyBudget` (the default)
  and the budget currently has its desired healthy pods;
- more than one matching PodDisruptionBudget is 500 (upstream's message);
- a budget not yet observed by the disruption controller (`observedGeneration` behind)
  is 429 with `The disruption budget X is still being processed by the server.`;
- a budget with `disruptionsAllowed == 0` is 429 TooManyRequests, message
  `Cannot evict pod as it would violate the pod's disruption budget.`, cause
  `DisruptionBudget` `The disruption budget X needs N healthy pods and has M currently`;
- otherwise the budget's `disruptionsAllowed` is decremented, the pod recorded in
  `status.disruptedPods`, and the pod deleted gracefully with the Eviction's
  `deleteOptions`; the reply is 201 `Status` Success.

Simplified: the budget write and the pod delete are not one transaction with retries
(the embedded server is single-threaded, so nothing interleaves); `dryRun` deletes
nothing but still checks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from kubecourse.embedded import status
from kubecourse.embedded.api import Api, now_iso
from kubecourse.embedded.controllers.podutil import is_ready
from kubecourse.embedded.selectors import label_selector_from_spec

Obj = dict[str, Any]
BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget."


class EvictionTarget(Protocol):
    namespace: str | None
    name: str | None


def handler(api: Api) -> Callable[[EvictionTarget, Obj], Obj]:
    """The `ApiHttp(on_eviction=...)` hook: evict and return the 201 Status body."""

    def on_eviction(target: EvictionTarget, body: Obj) -> Obj:
        return evict(api, target.namespace or "default", target.name or "", body)

    return on_eviction


def evict(api: Api, namespace: str, name: str, eviction: Obj) -> Obj:
    given = (eviction.get("metadata") or {}).get("name")
    if given not in (None, "", name):
        raise status.bad_request("name in URL does not match name in Eviction object")
    pods = api.registry.get("pods")
    pod = api.get(pods, namespace, name)
    options = eviction.get("deleteOptions") or {}
    if not _needs_budget(pod):
        return _delete(api, pod, options)
    budgets = matching_budgets(api, pod)
    if len(budgets) > 1:
        raise status.StatusError(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction "
            "subresource does not support.",
        )
    if budgets and not _unhealthy_may_go(pod, budgets[0]):
        _take_disruption(api, budgets[0], name, bool(options.get("dryRun")))
    return _delete(api, pod, options)


def _needs_budget(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    deleting = bool(pod["metadata"].get("deletionTimestamp"))
    return phase not in ("Succeeded", "Failed", "Pending") and not deleting


def matching_budgets(api: Api, pod: Obj) -> list[Obj]:
    labels = pod["metadata"].get("labels") or {}
    found = []
    for pdb in api.store.items(
        "poddisruptionbudgets.policy", pod["metadata"]["namespace"]
    ):
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            continue
        try:
            if label_selector_from_spec(selector).matches(labels):
                found.append(pdb)
        except ValueError:
            continue
    return found


def _unhealthy_may_go(pod: Obj, pdb: Obj) -> bool:
    if is_ready(pod):
        return False
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
    if policy == "AlwaysAllow":
        return True
    pdb_status = pdb.get("status") or {}
    desired = int(pdb_status.get("desiredHealthy", 0))
    return int(pdb_status.get("currentHealthy", 0)) >= desired > 0


def _too_many(message: str, retry_after: int = 0) -> status.StatusError:
    details: Obj = {"causes": [{"reason": "DisruptionBudget", "message": message}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return status.StatusError(429, "TooManyRequests", BLOCKED, details)


def _take_disruption(api: Api, pdb: Obj, pod_name: str, dry_run: bool) -> None:
    meta, pdb_status = pdb["metadata"], pdb.get("status") or {}
    name = meta["name"]
    if int(pdb_status.get("observedGeneration", 0)) < int(meta.get("generation", 1)):
        raise _too_many(
            f"The disruption budget {name} is still being processed by the server.", 10
        )
    allowed = int(pdb_status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise status.forbidden(
            f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions '
            "allowed is negative"
        )
    if allowed == 0:
        raise _too_many(
            f"The disruption budget {name} needs {pdb_status.get('desiredHealthy', 0)} "
            f"healthy pods and has {pdb_status.get('currentHealthy', 0)} currently"
        )
    if not dry_run:
        _record_disruption(api, pdb, pod_name, allowed - 1)


def _record_disruption(api: Api, pdb: Obj, pod_name: str, allowed: int) -> None:
    new = copy.deepcopy(pdb)
    new_status = new.setdefault("status", {})
    new_status["disruptionsAllowed"] = allowed
    new_status.setdefault("disruptedPods", {})[pod_name] = now_iso()
    if allowed == 0:
        for condition in new_status.get("conditions") or []:
            if condition.get("type") == "DisruptionAllowed":
                condition.update(
                    status="False",
                    reason="InsufficientPods",
                    lastTransitionTime=now_iso(),
                )
    rt = api.registry.get("poddisruptionbudgets.policy")
    api.update(
        rt,
        pdb["metadata"]["namespace"],
        pdb["metadata"]["name"],
        new,
        subresource="status",
    )


def _delete(api: Api, pod: Obj, options: Obj) -> Obj:
    meta = pod["metadata"]
    api.delete(
        api.registry.get("pods"),
        meta["namespace"],
        meta["name"],
        grace_period_seconds=options.get("gracePeriodSeconds"),
        propagation_policy=options.get("propagationPolicy"),
        preconditions=options.get("preconditions"),
        dry_run=bool(options.get("dryRun")),
    )
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
