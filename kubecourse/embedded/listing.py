"""Which state a LIST reads, and how it is paged: kube-apiserver's storage semantics
(etcd3 behind the watch cache) for `resourceVersion`, `resourceVersionMatch`, `limit`
and `continue`.

Faithful:
- without a resourceVersion (or with "0") a list reads the newest state;
- every later page of a paged list is read at the first page's revision (the continue
  token carries it), so the pages together are one consistent snapshot, as etcd's MVCC
  gives (the store undoes later changes from its history: `Store.items_at`);
- a continue token whose revision is older than the history (compacted) is a 410
  Expired with upstream's words, and the Status' metadata carries a fresh token that
  continues from the same key at the newest revision (resourceVersion -1 upstream),
  which `kubectl` and `ListPager` rely on;
- `resourceVersionMatch=Exact`, and a non-zero resourceVersion with a limit but no
  match (the legacy form), read exactly that revision: 410 "The resourceVersion for
  the provided list is too old." once it is compacted;
- `NotOlderThan`, and a non-zero resourceVersion without limit or match, read the
  newest state;
- a resourceVersion newer than the store's is a 504 Timeout "Too large resource
  version" (`storage.NewTooLargeResourceVersionError`); the HTTP layer first waits up
  to `FRESHNESS_WAIT` seconds for it, as the watch cache's `waitUntilFreshAndBlock`;
- objects come in etcd key order (`namespace/name`, byte-wise), and a page that has
  more sets `metadata.remainingItemCount` when the list has neither a label nor a field
  selector, as upstream (with a selector storage cannot count without filtering, so it
  leaves the count unset).

Simplified: the continue token is our own base64 JSON rather than upstream's encoding,
and history is bounded by a count of changes rather than etcd's five-minute compaction.
"""

from __future__ import annotations

import base64
import bisect
import json
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded import queryparams, status
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
# The watch cache's `blockTimeout`: how long a request for a future resourceVersion
# waits for the store to reach it.
FRESHNESS_WAIT = 3.0
NEWEST = -1  # a continue token's revision meaning "the newest", as upstream's -1


@dataclass
class ListPage:
    items: list[Obj]
    resource_version: str
    continue_token: str | None = None
    remaining_item_count: int | None = None

    def list_meta(self) -> Obj:
        meta: Obj = {"resourceVersion": self.resource_version}
        if self.continue_token:
            meta["continue"] = self.continue_token
        if self.remaining_item_count is not None:
            meta["remainingItemCount"] = self.remaining_item_count
        return meta


@dataclass(frozen=True)
class ReadPoint:
    revision: int | None  # None: the newest state
    start_after: str = ""


def read_point(
    store: Store,
    *,
    continue_token: str | None,
    resource_version: str | None,
    match: str | None,
    limit: int | None,
) -> ReadPoint:
    """The revision a list reads and the key it starts after."""
    if continue_token:
        return _continuation(store, continue_token, resource_version)
    wanted = queryparams.resource_version(resource_version)
    if wanted is None:
        return ReadPoint(None)
    check_not_too_large(store, wanted)
    exact = match == "Exact" or (not match and limit is not None and limit > 0)
    if not exact:
        return ReadPoint(None)
    if wanted < store.oldest_rv:
        raise status.expired(status.EXPIRED_LIST)
    return ReadPoint(wanted)


def _continuation(store: Store, token: str, resource_version: str | None) -> ReadPoint:
    if resource_version not in (None, "", "0"):
        raise status.bad_request(
            "specifying resource version is not allowed when using continue"
        )
    after, revision = decode_continue(token)
    if revision == NEWEST:
        return ReadPoint(None, after)
    if revision < store.oldest_rv:
        fresh = encode_continue(after, NEWEST)
        raise status.expired(status.EXPIRED_CONTINUE, {"continue": fresh})
    return ReadPoint(revision, after)


def check_not_too_large(store: Store, wanted: int) -> None:
    if wanted > store.rv:
        raise status.too_large_resource_version(wanted, store.rv)


def wanted_revision(resource_version: str | None) -> int | None:
    """The revision a request must not be served older than, if it names one."""
    if resource_version in (None, "", "0"):
        return None
    try:
        return int(str(resource_version))
    except ValueError:
        return None  # refused with its own message where it is read


def in_key_order(items: list[Obj]) -> tuple[list[str], list[Obj]]:
    """The items sorted by their keys, and those keys (each computed once: a list of
    10,000 Pods is sorted for every page)."""
    keys = [
        f"{o['metadata'].get('namespace') or ''}/{o['metadata']['name']}" for o in items
    ]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [keys[i] for i in order], [items[i] for i in order]


def page(
    items: list[Obj],
    point: ReadPoint,
    limit: int | None,
    revision: int,
    countable: bool,
    keys: list[str] | None = None,
) -> ListPage:
    """One page: at most `limit` items after the start key (found by bisection when
    the items' sorted `keys` are given), a token for the rest at the same revision,
    and how many are left when they can be counted."""
    if point.start_after and keys is not None:
        items = items[bisect.bisect_right(keys, point.start_after) :]
    elif point.start_after:
        items = [o for o in items if sort_key(o) > point.start_after]
    if limit is None or limit <= 0 or limit >= len(items):  # limit <= 0: no paging
        return ListPage(items, str(revision))
    shown = items[:limit]
    token = encode_continue(sort_key(shown[-1]), revision)
    remaining = len(items) - limit if countable else None
    return ListPage(shown, str(revision), token, remaining)


def sort_key(obj: Obj) -> str:
    """The object's etcd key below the resource's prefix, which orders a list."""
    meta = obj["metadata"]
    return f"{meta.get('namespace') or ''}/{meta['name']}"


def encode_continue(after: str, revision: int) -> str:
    raw = json.dumps({"after": after, "rv": revision}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[str, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["after"]), int(data["rv"])
    except (ValueError, KeyError, TypeError) as err:
        raise status.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion"
        ) from err
