"""The resource quota controller: keeps each ResourceQuota's `status.hard` and
`status.used` current.

Faithful: `status.hard` is the spec's (canonical quantities), `status.used` has an
entry for every hard resource, counted by the quota evaluators (quota.py) over the
quota's namespace with its scopes applied; a quota is recomputed when it changes and
whenever an object it counts is created, changed or deleted (upstream's
replenishment), so `kubectl describe quota` shows `pods  1  2` right after the pod is
created or deleted.  The status write goes through the `status` subresource.

Simplified: there is no periodic full resync (every counted change already triggers
one), and usage is recomputed from scratch each time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded import quota
from kubecourse.embedded.controllers.base import Context, Controller, Key
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Change


class ResourceQuotaController(Controller):
    name = "resourcequota"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # Every namespaced kind can be counted (`count/<resource>`).
        namespaced = {rt.key for rt in REGISTRY.resources if rt.namespaced}
        self.watches = tuple(sorted(namespaced | {quota.QUOTAS}))

    def keys_for(self, change: Change) -> Iterable[Key]:
        meta = change.obj["metadata"]
        namespace = meta.get("namespace") or ""
        keys = {
            (namespace, q["metadata"]["name"])
            for q in self.store.items(quota.QUOTAS, namespace)
            if _counts(q, change.resource)
        }
        if change.resource == quota.QUOTAS and change.type != "DELETED":
            keys.add((namespace, meta["name"]))
        return sorted(keys)

    async def reconcile(self, key: Key) -> float | None:
        current = self.store.get(quota.QUOTAS, *key)
        if current is None or current["metadata"].get("deletionTimestamp"):
            return None
        wanted = quota.quota_status(self.store, current)
        if current.get("status") == wanted:
            return None
        updated = copy.deepcopy(current)
        updated["status"] = wanted
        self.api.update(
            self.ctx.rt(quota.QUOTAS), key[0], key[1], updated, subresource="status"
        )
        return None


def _counts(resource_quota: quota.Obj, resource: str) -> bool:
    hard = (resource_quota.get("spec") or {}).get("hard") or {}
    return any(quota.counted_resource(name) == resource for name in hard)
