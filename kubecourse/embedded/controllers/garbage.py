"""The garbage collector: dependents of deleted owners, and foreground and orphan deletion.

Faithful (kube-controller-manager's garbage collector, `attemptToDeleteItem`,
`processDeletingDependentsItem` and `orphanDependents`):
- an object is a dependent of every object its `ownerReferences` name (by uid).  Each
  reference is *solid* (the owner exists), *dangling* (no object of that kind, name and
  uid: a re-created object of the same name does not keep old dependents alive) or
  *waiting* (the owner is being deleted in the foreground).  With a solid owner left,
  the dangling and waiting references are removed and the object stays; otherwise it is
  deleted: in the foreground when an owner is waiting and it has dependents of its own,
  else with the policy its own finalizers ask for, else in the background;
- an owner deleted in the foreground (`deletionTimestamp` and the `foregroundDeletion`
  finalizer, set by the API server, deletion.py) has all its dependents deleted, and
  loses the finalizer (and so goes) once no dependent with `blockOwnerDeletion: true`
  is left.  A Deployment deleted so waits for its ReplicaSets, which wait for their pods;
- an owner with the `orphan` finalizer has its reference removed from every dependent,
  then the finalizer;
- an object already being deleted (and not waiting for dependents) is left alone;
- every object with owners, and every owner being deleted, is checked at start-up.

Dependents are found through an owner-uid index kept up to date from the store's
changes (the uid -> dependents map the upstream graph builder keeps), so a deletion
costs the owner's dependents, not a scan of every object in the cluster.

Simplified: owners of kinds the server does not serve are treated as absent, there is
no cycle detection between owners waiting on each other, and no virtual nodes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded import deletion
from kubecourse.embedded.controllers.base import Context, Controller, Key, Obj
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

SEPARATOR = "/"


def _key(resource: str, obj: Obj) -> Key:
    """Keys name the resource too: (resource, "namespace/name")."""
    meta = obj["metadata"]
    return (resource, f"{meta.get('namespace') or ''}{SEPARATOR}{meta['name']}")


def _owner_uids(obj: Obj | None) -> set[str]:
    if obj is None:
        return set()
    return {
        str(ref.get("uid"))
        for ref in obj["metadata"].get("ownerReferences") or []
        if ref.get("uid")
    }


class GarbageCollector(Controller):
    name = "garbagecollector"
    watches = tuple(rt.key for rt in REGISTRY.resources if rt.key != "events")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._dependents: dict[str, set[Key]] = {}  # owner uid -> dependents' keys

    # -- the owner-uid index -------------------------------------------------------------

    def _index(self, change: Change) -> None:
        key = _key(change.resource, change.obj)
        before = _owner_uids(change.old)
        after = set() if change.type == "DELETED" else _owner_uids(change.obj)
        for uid in before - after:
            keys = self._dependents.get(uid)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._dependents[uid]
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add(key)

    def dependents_of(self, uid: str | None) -> list[Key]:
        return sorted(self._dependents.get(str(uid), ())) if uid else []

    def on_change(self, change: Change) -> None:
        if change.resource in self.watches:
            self._index(change)  # before keys_for, which reads it
        super().on_change(change)

    def initial_keys(self) -> Iterable[Key]:
        for resource in self.watches:
            for obj in self.store.items(resource):
                self._index(Change(0, resource, "ADDED", obj))
        for resource in self.watches:
            for obj in list(self.store.items(resource)):
                yield from self.keys_for(Change(0, resource, "ADDED", obj))

    # -- what to look at after a change --------------------------------------------------

    def keys_for(self, change: Change) -> Iterable[Key]:
        obj, old = change.obj, change.old
        keys: list[Key] = []
        if change.type == "DELETED":
            keys += self.dependents_of(obj["metadata"].get("uid"))
        elif deletion.is_deleting_dependents(obj) or deletion.is_orphaning(obj):
            keys.append(_key(change.resource, obj))
            if old is None or not deletion.is_deleting_dependents(old):
                keys += self.dependents_of(obj["metadata"].get("uid"))
        refs_changed = old is None or _owner_uids(old) != _owner_uids(obj)
        if change.type != "DELETED" and _owner_uids(obj) and refs_changed:
            keys.append(_key(change.resource, obj))
        if change.type == "DELETED" or refs_changed:
            keys += self._waiting_owners(old, obj)
        return keys

    def _waiting_owners(self, old: Obj | None, obj: Obj) -> list[Key]:
        """Owners deleting in the foreground that this change may unblock."""
        namespace = obj["metadata"].get("namespace") or ""
        refs = list(obj["metadata"].get("ownerReferences") or [])
        if old is not None:
            refs += old["metadata"].get("ownerReferences") or []
        keys = []
        for ref in refs:
            owner = self._owner(ref, namespace)
            if owner is not None and deletion.is_deleting_dependents(owner):
                keys.append(_key(self._resource_of(ref), owner))
        return keys

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: Key) -> float | None:
        resource, path = key
        namespace, _, name = path.partition(SEPARATOR)
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            return None

        if deletion.is_orphaning(obj):
            self._orphan_dependents(resource, obj)
        elif deletion.is_deleting_dependents(obj):
            self._process_deleting_dependents(resource, obj)
        elif not obj["metadata"].get("deletionTimestamp"):
            self._attempt_to_delete(resource, obj)
        return None

    def _attempt_to_delete(self, resource: str, obj: Obj) -> None:
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return
        solid, dangling, waiting = self._classify(obj, refs)

        if solid:
            if dangling or waiting:
                self._set_references(resource, obj, solid)
            return
        if waiting and self.dependents_of(obj["metadata"].get("uid")):
            self._delete(resource, obj, "Foreground")
            return
        finalizers = obj["metadata"].get("finalizers") or []
        if deletion.ORPHAN in finalizers:
            self._delete(resource, obj, "Orphan")
        elif deletion.FOREGROUND in finalizers:
            self._delete(resource, obj, "Foreground")
        else:
            self._delete(resource, obj, "Background")

    def _classify(
        self, obj: Obj, refs: list[Obj]
    ) -> tuple[list[Obj], list[Obj], list[Obj]]:
        namespace = obj["metadata"].get("namespace") or ""
        solid: list[Obj] = []
        dangling: list[Obj] = []
        waiting: list[Obj] = []
        for ref in refs:
            owner = self._owner(ref, namespace)
            if owner is None:
                dangling.append(ref)
            elif deletion.is_deleting_dependents(owner):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    def _process_deleting_dependents(self, resource: str, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        blocking = [key for key in self.dependents_of(uid) if self._blocks(key, uid)]
        if not blocking:
            self._remove_finalizer(resource, owner, deletion.FOREGROUND)
            return
        for key in blocking:
            dependent = self._get(key)
            if dependent is not None and not deletion.is_deleting_dependents(dependent):
                self.enqueue(key)

    def _orphan_dependents(self, resource: str, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for key in self.dependents_of(uid):
            dependent = self._get(key)
            if dependent is None:
                continue
            refs = dependent["metadata"].get("ownerReferences") or []
            self._set_references(
                key[0], dependent, [r for r in refs if r.get("uid") != uid]
            )
        self._remove_finalizer(resource, owner, deletion.ORPHAN)

    # -- lookups -------------------------------------------------------------------------

    def _get(self, key: Key) -> Obj | None:
        resource, path = key
        namespace, _, name = path.partition(SEPARATOR)
        return self.store.get(resource, namespace, name)

    def _blocks(self, key: Key, uid: str) -> bool:
        dependent = self._get(key)
        refs = dependent["metadata"].get("ownerReferences") or [] if dependent else []
        return any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in refs)

    def _resource_of(self, ref: Obj) -> str:
        rt = REGISTRY.by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        return rt.key if rt is not None else ""

    def _owner(self, ref: Obj, namespace: str) -> Obj | None:
        """The object a reference names, if it exists with that uid."""
        rt = REGISTRY.by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if rt is None:
            return None
        owner = self.store.get(
            rt.key, namespace if rt.namespaced else "", str(ref.get("name"))
        )
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    # -- writes --------------------------------------------------------------------------

    def _write(self, resource: str, new: Obj) -> None:
        # Unconditional, like the collector's patches: the store was read in this same
        # step of the event loop, so nothing can have changed in between.
        new["metadata"].pop("resourceVersion", None)
        meta = new["metadata"]
        try:
            self.api.update(
                REGISTRY.get(resource), meta.get("namespace"), meta["name"], new
            )
        except StatusError as err:
            if err.code != 404:
                raise

    def _set_references(self, resource: str, obj: Obj, refs: list[Obj]) -> None:
        new = copy.deepcopy(obj)
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._write(resource, new)

    def _remove_finalizer(self, resource: str, obj: Obj, finalizer: str) -> None:
        new = copy.deepcopy(obj)
        remaining = [
            f for f in new["metadata"].get("finalizers") or [] if f != finalizer
        ]
        deletion.set_finalizers(new, remaining)
        self._write(resource, new)

    def _delete(self, resource: str, obj: Obj, policy: str) -> None:
        meta = obj["metadata"]
        try:
            self.api.delete(
                REGISTRY.get(resource),
                meta.get("namespace") or None,
                meta["name"],
                propagation_policy=policy,
                preconditions={"uid": meta["uid"]},
            )
        except StatusError as err:
            if err.code not in (404, 409):
                raise
