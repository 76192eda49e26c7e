"""The garbage collector: objects whose owners are gone are deleted.

Faithful: an object is a dependent of every object its `ownerReferences` name (by uid);
when none of its owners exists any more it is deleted with background propagation (its
own dependents follow in turn, so deleting a Deployment removes its ReplicaSets, which
removes their pods, each pod terminating gracefully); when only some owners are gone the
references to those are removed and the object stays.  An owner is looked up by kind,
name and the dependent's namespace (or cluster scope) and must have the referenced uid,
so a re-created object of the same name does not keep old dependents alive.  Every
object with owners is checked at start-up.

Simplified: `Foreground` deletion is not implemented (the API treats it as background),
and owners of kinds the server does not serve are treated as absent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded.controllers.base import Controller, Key, Obj
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

SEPARATOR = "/"


def _key(resource: str, obj: Obj) -> Key:
    """Keys name the resource too: (resource, "namespace/name")."""
    meta = obj["metadata"]
    return (resource, f"{meta.get('namespace') or ''}{SEPARATOR}{meta['name']}")


class GarbageCollector(Controller):
    name = "garbagecollector"
    watches = tuple(rt.key for rt in REGISTRY.resources if rt.key != "events")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.type == "DELETED":
            return self._dependents_of(change.obj["metadata"].get("uid"))
        if change.obj["metadata"].get("ownerReferences"):
            return [_key(change.resource, change.obj)]
        return []

    def _dependents_of(self, uid: str | None) -> list[Key]:
        keys = []
        for resource in self.watches:
            for obj in self.store.items(resource):
                if any(
                    ref.get("uid") == uid
                    for ref in obj["metadata"].get("ownerReferences") or []
                ):
                    keys.append(_key(resource, obj))
        return keys

    async def reconcile(self, key: Key) -> float | None:
        resource, path = key
        namespace, _, name = path.partition(SEPARATOR)
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            return None
        refs = obj["metadata"].get("ownerReferences") or []
        alive = [ref for ref in refs if self._owner_exists(ref, namespace)]

        if not refs or len(alive) == len(refs):
            return None
        if alive:
            self._drop_references(resource, obj, alive)
        elif not obj["metadata"].get("deletionTimestamp"):
            self._delete(resource, namespace, name)
        return None

    def _owner_exists(self, ref: Obj, namespace: str) -> bool:
        rt = REGISTRY.by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if rt is None:
            return False
        owner = self.store.get(
            rt.key, namespace if rt.namespaced else "", str(ref.get("name"))
        )
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")

    def _drop_references(self, resource: str, obj: Obj, alive: list[Obj]) -> None:
        new = copy.deepcopy(obj)
        new["metadata"]["ownerReferences"] = alive
        meta = obj["metadata"]
        self.api.update(
            REGISTRY.get(resource), meta.get("namespace"), meta["name"], new
        )

    def _delete(self, resource: str, namespace: str, name: str) -> None:
        try:
            self.api.delete(
                REGISTRY.get(resource),
                namespace or None,
                name,
                propagation_policy="Background",
            )
        except StatusError:
            pass  # already gone
