"""What `Cluster.apply` reads, and how it tells a learner's objects from the course's.

`apply` is server-side apply with the field manager `kubecourse`, the way `kubectl apply
--server-side` works.  It never forces a learner's object: when an object of the same
name exists and another field manager (the learner's `kubectl expose`, `kubectl scale`,
`kubectl edit` ...) owns a field the course's version would change, the API server
answers 409 Conflict and nothing changes; `FieldConflictError` then names the object,
each field and its manager, and what to do.  An object the course applied before (its
managedFields hold an `Apply` entry of `kubecourse`) is the course's own: re-running a
lesson applies it with `force`, so it comes back to what the lesson says.

Fields that no one else owns, or that keep their value, merge as server-side apply
merges them (a label the learner added stays); only a change to someone else's field
is refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kubecourse.errors import ApiError, ClusterError, ConflictError, FieldConflictError

Obj = dict[str, Any]
FIELD_MANAGER = "kubecourse"

# A 409's cause message: `conflict with "kubectl-expose" using v1`, or
# `conflict with "kubectl" with subresource "scale" using apps/v1`.
_CAUSE = re.compile(r'conflict with "(?P<manager>[^"]+)"(?P<rest>.*)$')


def applied_by_course(live: Obj | None) -> bool:
    """Whether the course's field manager has applied this object before."""
    entries = ((live or {}).get("metadata") or {}).get("managedFields") or []
    return any(
        e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply"
        for e in entries
    )


def field_conflict(
    err: ConflictError, kind: str, name: str, namespace: str | None
) -> ApiError:
    """A blocked apply's 409, retold: the object, the fields, their managers, what to do.

    Any other 409 comes back as it was."""
    conflicts = [
        (found.group("manager"), str(cause.get("field") or ""))
        for cause in err.causes
        if cause.get("reason") == "FieldManagerConflict"
        and (found := _CAUSE.search(str(cause.get("message") or ""))) is not None
    ]
    if not conflicts:
        return err
    owners = {
        manager: [f for m, f in conflicts if m == manager] for manager, _ in conflicts
    }
    owned = "; ".join(
        f'{", ".join(fields)} (owned by "{m}")' for m, fields in owners.items()
    )
    where = f' in namespace "{namespace}"' if namespace else ""
    ns_flag = f" -n {namespace}" if namespace else ""
    message = (
        f'{kind} "{name}"{where} already exists and was not made by the course: applying '
        f"the course's version would change {owned}. The course does not take over your "
        f"objects, so nothing was changed. Delete yours (kubectl delete {kind.lower()} "
        f"{name}{ns_flag}) and apply again, or work in another namespace "
        '(kubecourse.connect(namespace="my-try")).'
    )
    return FieldConflictError({**err.status, "message": message}, conflicts)


def hint(err: ApiError) -> str:
    if "field is immutable" in err.message and "spec.selector" in err.message:
        return (" (an object of that name already exists with other labels: delete it, "
                "or work in another namespace with kubecourse.connect(namespace=...))")  # fmt: skip
    return ""


def describe(obj: Any) -> str:
    if not isinstance(obj, dict):
        return str(obj)[:40]
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


class ApplyError(ClusterError):
    """Some objects could not be applied; the others were.  `.applied` lists what was
    done (kubectl-style lines), `.failures` what was not and why."""

    def __init__(self, applied: list[str], failures: list[str]) -> None:
        self.applied = applied
        self.failures = failures
        listing = "\n".join(f"  - {f}" for f in failures)
        total = len(applied) + len(failures)
        super().__init__(
            f"{len(failures)} of {total} objects were not applied:\n{listing}"
        )


def load_objects(source: Any) -> list[Obj]:
    """Objects from YAML text, a path, a dict, a list, or anything with `.objects`."""
    if hasattr(source, "objects"):
        return list(source.objects)
    if isinstance(source, dict):
        return [source]
    if isinstance(source, (list, tuple)):
        return [o for item in source for o in load_objects(item)]
    if isinstance(source, Path) or _looks_like_a_path(source):
        return _load_path(Path(source))
    if isinstance(source, str):
        return _parse_yaml(source, "<text>")
    raise ClusterError(
        f"cannot apply a {type(source).__name__}; give YAML text, a file, a dict or a list"
    )


def _looks_like_a_path(source: Any) -> bool:
    return (
        isinstance(source, str)
        and "\n" not in source
        and source.endswith((".yaml", ".yml", ".json"))
    )


def _load_path(path: Path) -> list[Obj]:
    if path.is_dir():
        return [o for f in sorted(path.glob("*.y*ml")) for o in _load_path(f)]
    try:
        text = path.read_text()
    except OSError as err:
        raise ClusterError(f"cannot read {path}: {err.strerror}") from err
    return _parse_yaml(text, str(path))


def _parse_yaml(text: str, where: str) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        raise ClusterError(f"{where} is not valid YAML: {err}") from err
    objects: list[Obj] = []
    for doc in docs:
        if doc is None:
            continue
        if (
            isinstance(doc, dict)
            and str(doc.get("kind", "")).endswith("List")
            and "items" in doc
        ):
            objects.extend(doc["items"])
        elif isinstance(doc, dict):
            objects.append(doc)
        else:
            raise ClusterError(
                f"{where} holds a {type(doc).__name__}, not a Kubernetes object"
            )
    return objects
