"""The embedded cluster's object store: one resourceVersion counter, history, SQLite.

Like etcd behind a kube-apiserver: every write gets the next cluster-wide
resourceVersion, is appended to a bounded history that watches replay from, and is
committed to SQLite (WAL) before the write returns, so an acknowledged write survives
the process being killed.  History is kept in memory only: after a restart a watch from
a resourceVersion older than the restart gets 410 Gone and the client relists, which is
exactly what a real client does when etcd compacts.

The same history answers reads at an older revision (`items_at`), as etcd's MVCC does
for a paged list's later pages or a `resourceVersionMatch=Exact` list: the current
objects with every later change undone.  A revision older than the history is
compacted, as in etcd.

Objects handed out by `get`/`items` are the stored dicts themselves and must be treated
as read-only; the API layer copies before it changes anything.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Key = tuple[str, str, str]  # (resource key, namespace or "", name)

HISTORY_LIMIT = 20_000


class StoreDamaged(RuntimeError):
    """The SQLite file fails its integrity check: the cluster must not start on it."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(
            f"the embedded cluster's store {path} is damaged (SQLite: {problem}), so the "
            "cluster will not start on it. Move it aside to start with a fresh cluster "
            f"(its objects are lost): mv {path} {path}.damaged and remove {path.name}-wal "
            f"and {path.name}-shm beside it, then run kubecourse up again"
        )


def check_integrity(path: Path) -> None:
    """`PRAGMA quick_check` on an existing store file; StoreDamaged if it fails.  Without
    it a damaged file still served reads, and every write was a 500."""
    if not path.exists():
        return
    try:
        db = sqlite3.connect(str(path))
        try:
            rows = db.execute("PRAGMA quick_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as err:
        raise StoreDamaged(path, str(err)) from err
    if rows != [("ok",)]:
        raise StoreDamaged(path, "; ".join(str(r[0]) for r in rows[:3]))


@dataclass(frozen=True)
class Change:
    rv: int
    resource: str
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclass(eq=False)
class Subscription:
    resource: str
    namespace: str | None
    queue: asyncio.Queue[Change | None] = field(default_factory=asyncio.Queue)


class Store:
    def __init__(self, path: Path | None = None, history_limit: int = HISTORY_LIMIT) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        # resource -> namespace ("" when cluster-scoped) -> name -> object: a namespaced
        # list, watch start or quota count touches only its own namespace.
        self._index: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._history: deque[Change] = deque(maxlen=history_limit)
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Callable[[Change], None]] = []
        self.rv = 0
        self._oldest_rv = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._open(path)
        self._oldest_rv = self.rv

    # -- persistence -------------------------------------------------------------

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_integrity(path)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS objects (resource TEXT, namespace TEXT, name TEXT,"
            " body TEXT, PRIMARY KEY (resource, namespace, name))"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
        for resource, namespace, name, body in db.execute("SELECT * FROM objects"):
            self._put((resource, namespace, name), json.loads(body))
        row = db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        self.rv = int(row[0]) if row else 0
        self._db = db

    def _persist(self, key: Key, obj: dict[str, Any] | None) -> None:
        if self._db is None:
            return
        with self._db:
            if obj is None:
                self._db.execute(
                    "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", key
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?,?,?,?)",
                    (*key, json.dumps(obj, separators=(",", ":"))),
                )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(self.rv),))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def persistent(self) -> bool:
        return self._db is not None

    # -- reads ---------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get((resource, namespace, name))

    def items(self, resource: str, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        namespaces = self._index.get(resource, {})
        if namespace is not None:
            yield from namespaces.get(namespace, {}).values()
            return
        for objects in namespaces.values():
            yield from objects.values()

    def count(self, resource: str, namespace: str | None = None) -> int:
        namespaces = self._index.get(resource, {})
        if namespace is not None:
            return len(namespaces.get(namespace, {}))
        return sum(len(objects) for objects in namespaces.values())

    @property
    def oldest_rv(self) -> int:
        """The oldest resourceVersion a watch can resume from."""
        return self._history[0].rv - 1 if self._history else self._oldest_rv

    def items_at(
        self, resource: str, namespace: str | None, rv: int
    ) -> list[dict[str, Any]] | None:
        """The objects as they were at revision `rv` (in no particular order), or None
        when that revision is older than the history (compacted)."""
        if rv >= self.rv:
            return list(self.items(resource, namespace))
        if rv < self.oldest_rv:
            return None
        undone = self._undone_since(resource, namespace, rv)
        if not undone:
            return list(self.items(resource, namespace))
        kept = [
            obj
            for obj in self.items(resource, namespace)
            if _object_key(obj) not in undone
        ]
        return kept + [obj for obj in undone.values() if obj is not None]

    def _undone_since(
        self, resource: str, namespace: str | None, rv: int
    ) -> dict[tuple[str, str], dict[str, Any] | None]:
        """(namespace, name) -> the object at `rv` (None: it did not exist) for every
        object changed after `rv`: walking back, the oldest later change wins."""
        undone: dict[tuple[str, str], dict[str, Any] | None] = {}
        for change in reversed(self._history):
            if change.rv <= rv:
                break
            if change.resource != resource:
                continue
            key = _object_key(change.obj)
            if namespace is not None and key[0] != namespace:
                continue
            undone[key] = change.old
        return undone

    def compact(self, rv: int) -> None:
        """Forget the history up to revision `rv`, as etcd's compaction does: watches
        and reads at older revisions are then 410 Gone.  The history also compacts
        itself, by count (`history_limit`)."""
        while self._history and self._history[0].rv <= rv:
            self._history.popleft()
        self._oldest_rv = max(self._oldest_rv, min(rv, self.rv))

    def changes_since(self, rv: int) -> list[Change]:
        return [c for c in self._history if c.rv > rv]

    # -- writes ----------------------------------------------------------------------

    def next_rv(self) -> int:
        return self.rv + 1

    def write(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace; stamps the next resourceVersion and notifies watchers."""
        meta = obj["metadata"]
        key = (resource, meta.get("namespace") or "", meta["name"])
        old = self._objects.get(key)
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        _in_go_order(obj, _TYPE_ORDER)
        _in_go_order(meta, _META_ORDER)
        for name in _META_OMITEMPTY:  # Go's omitempty: an empty list or map is not written
            if meta.get(name) in ([], {}):
                del meta[name]
        self._persist(key, obj)
        self._put(key, obj)
        self._publish(Change(self.rv, resource, "MODIFIED" if old else "ADDED", obj, old))
        return obj

    def remove(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        key = (resource, namespace, name)
        old = self._objects.get(key)
        if old is None:
            return None
        self.rv += 1
        final = dict(old)
        final["metadata"] = {**old["metadata"], "resourceVersion": str(self.rv)}
        self._persist(key, None)
        del self._objects[key]
        objects = self._index[resource][namespace]
        del objects[name]
        if not objects:
            del self._index[resource][namespace]
        self._publish(Change(self.rv, resource, "DELETED", final, old))
        return final

    def _put(self, key: Key, obj: dict[str, Any]) -> None:
        self._objects[key] = obj
        self._index.setdefault(key[0], {}).setdefault(key[1], {})[key[2]] = obj

    # -- notification ----------------------------------------------------------------

    def subscribe(self, resource: str, namespace: str | None) -> Subscription:
        sub = Subscription(resource, namespace)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    @property
    def watchers(self) -> int:
        """How many watch streams are subscribed (each costs a queue put per write)."""
        return len(self._subscriptions)

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        """Synchronous listeners (controllers' informers) see every change in order."""
        self._listeners.append(listener)

    def _publish(self, change: Change) -> None:
        self._history.append(change)
        for listener in self._listeners:
            listener(change)
        ns = change.obj["metadata"].get("namespace") or ""
        for sub in self._subscriptions:
            if sub.resource == change.resource and sub.namespace in (None, ns):
                sub.queue.put_nowait(change)

    def close_subscriptions(self) -> None:
        for sub in list(self._subscriptions):
            sub.queue.put_nowait(None)


def _object_key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


# The order Go's encoder writes TypeMeta and ObjectMeta fields in (their struct order), so
# a stored object reads as kube-apiserver's do; the other fields keep the writer's order.
_TYPE_ORDER = ("kind", "apiVersion", "metadata")
_META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)


_META_OMITEMPTY = ("labels", "annotations", "ownerReferences", "finalizers", "managedFields")


def _in_go_order(fields: dict[str, Any], order: tuple[str, ...]) -> None:
    """Reorder `fields` in place: the keys of `order` first, in that order."""
    keys = list(fields)
    wanted = [k for k in order if k in fields]
    if keys[: len(wanted)] == wanted:
        return
    rest = [(k, v) for k, v in fields.items() if k not in order]
    head = [(k, fields[k]) for k in wanted]
    fields.clear()
    fields.update(head + rest)
