"""ControllerRevisions: the template history a DaemonSet keeps (`pkg/controller/history`).

Faithful, as the DaemonSet controller writes them: one `apps/v1` ControllerRevision
per distinct pod template, named `<ds>-<hash>` (the hash also labels the pods as
`controller-revision-hash`), with the template's labels plus that label, the
DaemonSet's annotations (so `kubernetes.io/change-cause` shows in `kubectl rollout
history`), a controller ownerReference, `data` holding the strategic merge patch
`{"spec": {"template": {..., "$patch": "replace"}}}` that `kubectl rollout undo`
applies, and `revision` numbering from 1; going back to an older template renumbers
its revision as the newest; revisions beyond `revisionHistoryLimit` (10) that no pod
uses are deleted, oldest first.

Simplified: hash collisions are not detected (`collisionCount` stays unset).
"""

from __future__ import annotations

import copy

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Context, Obj, owner_reference
from kubecourse.embedded.controllers.deployment import pod_template_hash
from kubecourse.embedded.status import StatusError

REVISIONS = "controllerrevisions.apps"
HASH_LABEL = "controller-revision-hash"


def template_hash(owner: Obj) -> str:
    collisions = (owner.get("status") or {}).get("collisionCount")
    return pod_template_hash(owner["spec"].get("template") or {}, collisions)


def revision_data(owner: Obj) -> Obj:
    template = copy.deepcopy(owner["spec"].get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revisions_of(ctx: Context, owner: Obj) -> list[Obj]:
    namespace = owner["metadata"]["namespace"]
    owned = podutil.owned_by(
        ctx.store.items(REVISIONS, namespace), owner["metadata"]["uid"]
    )
    return sorted(owned, key=lambda r: int(r.get("revision") or 0))


def ensure_current(ctx: Context, owner: Obj) -> str:
    """Create or renumber the revision of the owner's current template; its hash."""
    hash_ = template_hash(owner)
    existing = revisions_of(ctx, owner)
    newest = max((int(r.get("revision") or 0) for r in existing), default=0)
    data = revision_data(owner)
    current = next((r for r in existing if r.get("data") == data), None)
    if current is None:
        _create(ctx, owner, hash_, data, newest + 1)
    elif int(current.get("revision") or 0) < newest:
        renumbered = copy.deepcopy(current)
        renumbered["revision"] = newest + 1
        meta = current["metadata"]
        ctx.api.update(ctx.rt(REVISIONS), meta["namespace"], meta["name"], renumbered)
    return hash_


def _create(ctx: Context, owner: Obj, hash_: str, data: Obj, revision: int) -> None:
    template_meta = (owner["spec"].get("template") or {}).get("metadata") or {}
    metadata: Obj = {
        "name": f"{owner['metadata']['name']}-{hash_}",
        "labels": {**(template_meta.get("labels") or {}), HASH_LABEL: hash_},
        "ownerReferences": [owner_reference(owner)],
    }
    if owner["metadata"].get("annotations"):
        metadata["annotations"] = dict(owner["metadata"]["annotations"])
    body = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": metadata,
        "data": data,
        "revision": revision,
    }
    try:
        ctx.api.create(ctx.rt(REVISIONS), owner["metadata"]["namespace"], body)
    except StatusError as err:
        if err.code != 409:
            raise


def clean_up(ctx: Context, owner: Obj, pods: list[Obj], current_hash: str) -> None:
    """Delete the oldest unused revisions beyond `revisionHistoryLimit`."""
    limit = int(owner["spec"].get("revisionHistoryLimit", 10))
    in_use = {(p["metadata"].get("labels") or {}).get(HASH_LABEL) for p in pods} | {
        current_hash
    }
    unused = [
        r
        for r in revisions_of(ctx, owner)
        if (r["metadata"].get("labels") or {}).get(HASH_LABEL) not in in_use
    ]
    for revision in unused[: max(len(unused) - limit, 0)]:
        meta = revision["metadata"]
        try:
            ctx.api.delete(ctx.rt(REVISIONS), meta["namespace"], meta["name"])
        except StatusError as err:
            if err.code != 404:
                raise
