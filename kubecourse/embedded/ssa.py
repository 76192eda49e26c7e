"""Server-side apply: field ownership in `metadata.managedFields`, merging, conflicts.

Pure functions over plain dicts, driven by the upstream schemas (`schemas.py`).  A
field set is a frozenset of paths; a path is a tuple of FieldsV1 elements written as
upstream writes them: `f:<name>` for a field, `k:{"name":"app"}` for an item of an
associative list (list-type map), `v:<json>` for an item of a set list.

Faithful to the API server's field manager:
- the set an apply owns: every scalar, every atomic list or map as one leaf, every
  associative-list or set-list item (`.` in FieldsV1), empty maps and entries of maps
  that are not struct fields; `apiVersion`, `kind`, `metadata.name` and the other
  server-owned metadata are never owned; `status` is not owned on the main resource;
- list handling from `x-kubernetes-list-type` / `x-kubernetes-list-map-keys`, falling
  back to the patch strategy and merge key, else atomic; `x-kubernetes-map-type`;
- apply merges the intent into the live object (map lists by key, set lists as a
  union, atomic values replaced), removes what the manager applied before and no
  longer applies unless some manager still owns it (a struct field goes with its
  last owned descendant; a list item goes whole), and conflicts on fields whose value
  would change while another manager (Apply or Update) owns them; `force` moves them;
- non-apply writes give the writer every field it added or changed and take those
  fields, and removed ones, away from everyone else; managedFields sent in a request
  replace the stored ones (`[]` resets them), as upstream;
- FieldsV1 JSON shape and order, entry key order and entry sort order, and the
  409 Conflict message, `causes` and path notation (`.spec.containers[name="app"]`).

Simplified:
- Update entries mark a wholly added struct with `.` only when it is empty; upstream
  does it for pointer structs too (`f:rollingUpdate: {".": {}}`), which a schema
  cannot tell apart from value structs;
- only the served version exists, so no conversion between versions; ten-Update
  entry capping ("ancient-changes") and apply on subresources are not done;
- a `null` in an apply intent removes the field instead of being stored as null;
- item order when merging lists: live-only items keep their place before the next
  shared item, the intent's items keep the intent's order (upstream interleaves the
  same way but breaks ties differently in rare reorderings);
- the only defaulted list-map key is `protocol` (`TCP`), as in the core schemas.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubecourse.embedded import schemas

Obj = dict[str, Any]
Schema = dict[str, Any]
Path = tuple[str, ...]
FieldSet = frozenset[Path]

_LEAF, _MAP, _LIST = "leaf", "map", "list"
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}
_SERVER_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


class _Missing:
    """The absence of a value, as opposed to a null value."""


MISSING = _Missing()


class SSAError(ValueError):
    """An intent server-side apply cannot type: a map-list item without its keys."""


@dataclass(frozen=True)
class Conflict:
    """One conflicting field: `manager` as upstream prints it (`"kubectl" with
    subresource "scale" using apps/v1`), `field` as a path (`.spec.replicas`)."""

    manager: str
    field: str
    path: Path


@dataclass
class ApplyResult:
    """`obj` is the applied object with its managedFields, or None when conflicts
    block the apply (`force=False`); `conflicts` lists every conflict found (with
    `force=True` these are the fields whose ownership moved)."""

    obj: Obj | None
    conflicts: list[Conflict]


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    subresource: str | None
    fields: FieldSet

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, version, self.subresource or "")


@dataclass
class _Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    @property
    def changed(self) -> set[Path]:
        return self.added | self.modified


# ---------------------------------------------------------------- schema helpers


def _root_schema(group: str, version: str, kind: str) -> Schema | None:
    return schemas.kind_schema(group, version, kind)


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _child_schema(schema: Schema | None, key: str) -> Schema | None:
    if schema is None:
        return None
    found = schemas.property_schema(schema, key)
    return found if found is not None else schemas.map_value_schema(schema)


def _declared(schema: Schema | None, key: str) -> bool:
    if schema is None:
        return False
    return key in (schemas.resolve(schema).get("properties") or {})


def _items(schema: Schema | None) -> Schema | None:
    return None if schema is None else schemas.items_schema(schema)


def _list_type(schema: Schema | None) -> tuple[str, tuple[str, ...]]:
    """(`atomic` | `set` | `map`, map keys), with upstream's fallback to the patch
    strategy and merge key when `x-kubernetes-list-type` is absent."""
    if schema is None:
        return "atomic", ()
    declared = schema.get("x-kubernetes-list-type")
    if declared == "map":
        return "map", tuple(schema.get("x-kubernetes-list-map-keys") or ())
    if declared in ("set", "atomic"):
        return str(declared), ()
    strategies = str(schema.get("x-kubernetes-patch-strategy") or "").split(",")
    if "merge" in strategies:
        key = schema.get("x-kubernetes-patch-merge-key")
        return ("map", (str(key),)) if key else ("set", ())
    return "atomic", ()


def _kind(value: Any, schema: Schema | None) -> str:
    if isinstance(value, dict):
        atomic = schema is not None and schema.get("x-kubernetes-map-type") == "atomic"
        return _LEAF if atomic else _MAP
    if isinstance(value, list):
        return _LEAF if _list_type(schema)[0] == "atomic" else _LIST
    return _LEAF


def _map_of_values(schema: Schema | None) -> bool:
    """A map keyed by data (labels), not a struct of named fields."""
    return schema is None or not schemas.resolve(schema).get("properties")


# ---------------------------------------------------------------- path elements


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _element(item: Any, list_kind: str, keys: tuple[str, ...]) -> str:
    """The FieldsV1 element naming a list item: `k:{...}` or `v:<json>`."""
    if list_kind == "set":
        return "v:" + _compact(item)
    if not isinstance(item, dict):
        raise SSAError(
            f"associative list with keys {list(keys)} has a non-object element"
        )
    found = {key: item[key] for key in keys if key in item}
    for key in keys:
        if key not in found and key in _KEY_DEFAULTS:
            found[key] = _KEY_DEFAULTS[key]
    if not found:
        raise SSAError(
            f"associative list with keys has an element that omits all key fields "
            f"{json.dumps(list(keys))} (and doesn't have default values for any key fields)"
        )
    return "k:" + _compact(found)


def _element_or_none(item: Any, list_kind: str, keys: tuple[str, ...]) -> str | None:
    try:
        return _element(item, list_kind, keys)
    except SSAError:
        return None


def _canonical(key: str) -> str:
    prefix, body = key[:2], key[2:]
    if prefix in ("k:", "v:"):
        try:
            return prefix + _compact(json.loads(body))
        except ValueError as err:
            raise SSAError(f"invalid FieldsV1 element {key!r}") from err
    if prefix in ("f:", "i:"):
        return key
    raise SSAError(f"invalid FieldsV1 element {key!r}")


def _value_order(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (3, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (4 if isinstance(value, list) else 5, _compact(value))


def _element_order(element: str) -> tuple[int, Any]:
    """Upstream PathElement order: fields, then keys, then values, then indexes."""
    prefix, body = element[:2], element[2:]
    if prefix == "f:":
        return (0, body)
    if prefix == "k:":
        pairs = sorted(json.loads(body).items())
        return (1, (len(pairs), [(name, _value_order(v)) for name, v in pairs]))
    if prefix == "v:":
        return (2, _value_order(json.loads(body)))
    return (3, int(body) if body.isdigit() else 0)


def _iteration_order(path: Path) -> list[tuple[int, tuple[int, Any]]]:
    """The order upstream's Set.Iterate visits paths: at each level the leaves of
    that level first, then the children's subtrees, each in element order."""
    last = len(path) - 1
    return [(0 if i == last else 1, _element_order(el)) for i, el in enumerate(path)]


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value) if isinstance(value, (int, float)) else _compact(value)


def _element_string(element: str) -> str:
    prefix, body = element[:2], element[2:]
    if prefix == "f:":
        return "." + body
    if prefix == "k:":
        pairs = json.loads(body).items()
        return "[" + ",".join(f"{k}={_go_value(v)}" for k, v in pairs) + "]"
    if prefix == "v:":
        return f"[={_go_value(json.loads(body))}]"
    return f"[{body}]"


def path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="app"].image`, as upstream prints paths."""
    return "".join(_element_string(element) for element in path)


# ---------------------------------------------------------------- field sets


def _collect(value: Any, schema: Schema | None, path: Path, out: set[Path]) -> None:
    kind = _kind(value, schema)
    if kind == _LEAF:
        out.add(path)
    elif kind == _MAP:
        _collect_map(value, schema, path, out)
    else:
        _collect_list(value, schema, path, out)


def _collect_map(value: Obj, schema: Schema | None, path: Path, out: set[Path]) -> None:
    for key, child in value.items():
        child_path = (*path, "f:" + key)
        _collect(child, _child_schema(schema, key), child_path, out)
        if child is None or child == {} or not _declared(schema, key):
            out.add(child_path)


def _collect_list(
    value: list[Any], schema: Schema | None, path: Path, out: set[Path]
) -> None:
    list_kind, keys = _list_type(schema)
    items = _items(schema)
    for item in value:
        item_path = (*path, _element(item, list_kind, keys))
        _collect(item, items, item_path, out)
        out.add(item_path)


def _owned_only(paths: Iterable[Path], subresource: str | None) -> FieldSet:
    return frozenset(p for p in paths if p and not _never_owned(p, subresource))


def _never_owned(path: Path, subresource: str | None) -> bool:
    head = path[0]
    if subresource == "status":
        return head != "f:status"
    if head in ("f:apiVersion", "f:kind", "f:status"):
        return True
    if head == "f:metadata":
        return len(path) == 1 or path[1][2:] in _SERVER_METADATA
    return False


def _all_fields(obj: Obj, schema: Schema | None) -> set[Path]:
    out: set[Path] = set()
    _collect(obj, schema, (), out)
    out.discard(())
    return out


def fields_of(
    obj: Obj, group: str, version: str, kind: str, subresource: str | None = None
) -> FieldSet:
    """The fields an applied object sets, less those nobody can own (`apiVersion`,
    `kind`, server-owned metadata, and `status` unless `subresource` is "status").
    Raises SSAError for a map-list item that lacks all its keys."""
    return _owned_only(
        _all_fields(obj, _root_schema(group, version, kind)), subresource
    )


def to_fields_v1(fields: Iterable[Path]) -> Obj:
    """The FieldsV1 JSON of a field set: `{"f:spec": {"f:replicas": {}}}`; a path
    that is itself in the set and also has children carries `".": {}`."""
    members = set(fields)
    tree: Obj = {}
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _emit(tree, (), members)


def _emit(tree: Obj, path: Path, members: set[Path]) -> Obj:
    out: Obj = {}
    if tree and path and path in members:
        out["."] = {}
    for element in sorted(tree, key=_element_order):
        out[element] = _emit(tree[element], (*path, element), members)
    return out


def from_fields_v1(document: Mapping[str, Any]) -> FieldSet:
    """The field set a FieldsV1 JSON object describes (inverse of `to_fields_v1`)."""
    out: set[Path] = set()
    _parse(document, (), out)
    return frozenset(out)


def _parse(document: Mapping[str, Any], path: Path, out: set[Path]) -> None:
    if not document and path:
        out.add(path)
    for key, child in document.items():
        if key == ".":
            out.add(path)
        elif isinstance(child, Mapping):
            _parse(child, (*path, _canonical(key)), out)
        else:
            raise SSAError(f"invalid FieldsV1 value under {key!r}")


# ---------------------------------------------------------------- managedFields


def _parse_entries(raw: Any) -> list[_Entry]:
    entries = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not item.get("manager"):
            continue
        entries.append(
            _Entry(
                manager=str(item["manager"]),
                operation=str(item.get("operation") or "Update"),
                api_version=str(item.get("apiVersion") or ""),
                time=item.get("time"),
                subresource=item.get("subresource") or None,
                fields=from_fields_v1(item.get("fieldsV1") or {}),
            )
        )
    return entries


def _entry_dict(entry: _Entry) -> Obj:
    out: Obj = {
        "manager": entry.manager,
        "operation": entry.operation,
        "apiVersion": entry.api_version,
    }
    if entry.time:
        out["time"] = entry.time
    out["fieldsType"] = "FieldsV1"
    out["fieldsV1"] = to_fields_v1(entry.fields)
    if entry.subresource:
        out["subresource"] = entry.subresource
    return out


def _serialize(entries: list[_Entry]) -> list[Obj]:
    def order(e: _Entry) -> tuple[str, str, str, str, str]:
        return (
            e.operation,
            e.time or "",
            e.manager,
            e.api_version,
            e.subresource or "",
        )

    return [_entry_dict(e) for e in sorted(entries, key=order)]


def _live_entries(obj: Obj | None) -> list[_Entry]:
    return _parse_entries(((obj or {}).get("metadata") or {}).get("managedFields"))


def _request_entries(old: Obj | None, new: Obj) -> list[_Entry]:
    """Upstream's rule: managedFields in the request replace the stored ones when
    they are set; `[]` or `[{}]` resets them; absent or unreadable keeps the stored."""
    requested = (new.get("metadata") or {}).get("managedFields", MISSING)
    if requested == [] or requested == [{}]:
        return []
    parsed = _parse_entries(requested)
    return parsed if parsed else _live_entries(old)


def _display(entry: _Entry) -> str:
    text = json.dumps(entry.manager, ensure_ascii=False)
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    if entry.operation == "Update":
        text += f" using {entry.api_version}"
    return text


def same_ownership(old: Obj, new: Obj) -> bool:
    """Whether two versions of an object record the same owners and fields (times
    aside): a write that changes only ownership still has to be stored."""

    def owners(obj: Obj) -> list[tuple[tuple[str, str, str, str], FieldSet]]:
        return sorted((e.identity, e.fields) for e in _live_entries(obj))

    return owners(old) == owners(new)


# ---------------------------------------------------------------- comparison


def _same(left: Any, right: Any) -> bool:
    return _compact(left) == _compact(right)


def _without_ownership(obj: Obj | None) -> Obj | _Missing:
    if obj is None:
        return MISSING
    meta = {
        k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"
    }
    return {**obj, "metadata": meta}


def _compare(
    old: Any, new: Any, schema: Schema | None, path: Path, out: _Comparison
) -> None:
    kinds = {_kind(v, schema) for v in (old, new) if not isinstance(v, _Missing)}
    kind = kinds.pop() if len(kinds) == 1 else _LEAF
    if kind == _LEAF:
        _compare_leaf(old, new, path, out)
        return
    if kind == _MAP:
        _compare_maps(old, new, schema, path, out)
    else:
        _compare_lists(old, new, schema, path, out)
    if isinstance(old, _Missing) and _owned_whole(path, kind, schema, new):
        out.added.add(path)
    elif isinstance(new, _Missing):
        out.removed.add(path)


def _owned_whole(path: Path, kind: str, schema: Schema | None, value: Any) -> bool:
    """Whether a writer that adds this whole node owns the node itself (`.`): list
    items, lists, maps keyed by data, empty structs; not structs with fields."""
    if not path:
        return False
    if kind == _LIST or path[-1][:2] in ("k:", "v:"):
        return True
    return value == {} or _map_of_values(schema)


def _compare_leaf(old: Any, new: Any, path: Path, out: _Comparison) -> None:
    if isinstance(old, _Missing):
        out.added.add(path)
    elif isinstance(new, _Missing):
        out.removed.add(path)
    elif not _same(old, new):
        out.modified.add(path)


def _compare_maps(
    old: Any, new: Any, schema: Schema | None, path: Path, out: _Comparison
) -> None:
    left = old if isinstance(old, dict) else {}
    right = new if isinstance(new, dict) else {}
    for key in dict.fromkeys([*left, *right]):
        _compare(
            left.get(key, MISSING),
            right.get(key, MISSING),
            _child_schema(schema, key),
            (*path, "f:" + key),
            out,
        )


def _indexed(value: Any, schema: Schema | None) -> dict[str, Any]:
    list_kind, keys = _list_type(schema)
    out: dict[str, Any] = {}
    for item in value if isinstance(value, list) else []:
        element = _element_or_none(item, list_kind, keys)
        if element is not None:
            out.setdefault(element, item)
    return out


def _compare_lists(
    old: Any, new: Any, schema: Schema | None, path: Path, out: _Comparison
) -> None:
    left, right = _indexed(old, schema), _indexed(new, schema)
    items = _items(schema)
    for element in dict.fromkeys([*left, *right]):
        _compare(
            left.get(element, MISSING), right.get(element, MISSING), items,
            (*path, element), out,
        )  # fmt: skip


def _comparison(old: Obj | None, new: Obj, schema: Schema | None) -> _Comparison:
    out = _Comparison()
    _compare(_without_ownership(old), _without_ownership(new), schema, (), out)
    return out


def _owned_changes(cmp: _Comparison, subresource: str | None) -> _Comparison:
    return _Comparison(
        added=set(_owned_only(cmp.added, subresource)),
        modified=set(_owned_only(cmp.modified, subresource)),
        removed=set(_owned_only(cmp.removed, subresource)),
    )


# ---------------------------------------------------------------- updates


def record_update(
    old: Obj | None,
    new: Obj,
    *,
    manager: str,
    subresource: str | None,
    group: str,
    version: str,
    kind: str,
    now: str,
    operation: str = "Update",
) -> list[Obj]:
    """The managedFields after a non-apply write (create, update, patch) of `new`
    over `old` (None on create) by `manager`: it gains every field it added or
    changed, which every other manager loses, as they lose removed fields."""
    schema = _root_schema(group, version, kind)
    cmp = _owned_changes(_comparison(old, new, schema), subresource)
    api_version = _api_version(group, version)
    me = _Entry(manager, operation, api_version, now, subresource, frozenset())
    entries = []
    for entry in _request_entries(old, new):
        if entry.identity == me.identity:
            me.fields, me.time = entry.fields - cmp.removed, entry.time
            continue
        entry.fields = entry.fields - cmp.changed - cmp.removed
        if entry.fields:
            entries.append(entry)
    if cmp.changed:
        me.fields, me.time = me.fields | cmp.changed, now
    if me.fields:
        entries.append(me)
    return _serialize(entries)


# ---------------------------------------------------------------- apply: merging


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _merge(live: Any, intent: Any, schema: Schema | None) -> Any:
    kind = _kind(intent, schema)
    if kind == _LEAF or _kind(live, schema) != kind:
        return _without_nulls(intent)
    if kind == _MAP:
        return _merge_maps(live, intent, schema)
    return _merge_lists(live, intent, schema)


def _merge_maps(live: Obj, intent: Obj, schema: Schema | None) -> Obj:
    out = dict(live)
    for key, value in intent.items():
        if value is None:
            out.pop(key, None)
        elif key in live:
            out[key] = _merge(live[key], value, _child_schema(schema, key))
        else:
            out[key] = _without_nulls(value)
    return out


def _merge_lists(
    live: list[Any], intent: list[Any], schema: Schema | None
) -> list[Any]:
    list_kind, keys = _list_type(schema)
    items = _items(schema)
    wanted: dict[str, Any] = {}
    for item in intent:
        wanted.setdefault(_element(item, list_kind, keys), item)
    present = _indexed(live, schema)
    merged = {
        el: _merge(present[el], item, items) if el in present else _without_nulls(item)
        for el, item in wanted.items()
    }
    return _interleave(live, list(merged), merged, list_kind, keys)


def _interleave(
    live: list[Any],
    order: list[str],
    merged: dict[str, Any],
    list_kind: str,
    keys: tuple[str, ...],
) -> list[Any]:
    """Live-only items keep their place before the next shared item; the intent's
    items come in the intent's order."""
    out: list[Any] = []
    cursor = 0
    for item in live:
        element = _element_or_none(item, list_kind, keys)
        if element is None or element not in merged:
            out.append(item)
            continue
        stop = order.index(element)
        out.extend(merged[el] for el in order[cursor : stop + 1])
        cursor = max(cursor, stop + 1)
    out.extend(merged[el] for el in order[cursor:])
    return out


# ---------------------------------------------------------------- apply: pruning


def _with_named_parents(fields: Iterable[Path]) -> set[Path]:
    """The set plus every struct field on the way to its paths (upstream's
    EnsureNamedFieldsAreMembers): owning `spec.replicas` keeps `spec`."""
    out = set(fields)
    for path in list(out):
        for end in range(1, len(path)):
            if path[end - 1].startswith("f:"):
                out.add(path[:end])
    return out


def _prune(obj: Obj, schema: Schema | None, last: FieldSet, kept: set[Path]) -> None:
    """Remove, in place, what the manager applied before unless someone owns it."""
    doomed = sorted(_with_named_parents(last) - _with_named_parents(kept), key=len)
    gone: list[Path] = []
    for path in doomed:
        if _never_owned(path, None) or any(path[: len(g)] == g for g in gone):
            continue
        if _remove_path(obj, schema, path):
            gone.append(path)


def _remove_path(obj: Obj, schema: Schema | None, path: Path) -> bool:
    node: Any = obj
    for index, element in enumerate(path):
        last = index == len(path) - 1
        if element.startswith("f:"):
            name = element[2:]
            if not isinstance(node, dict) or name not in node:
                return False
            if last:
                del node[name]
                return True
            node, schema = node[name], _child_schema(schema, name)
        else:
            position = _find_item(node, schema, element)
            if position is None:
                return False
            if last:
                del node[position]
                return True
            node, schema = node[position], _items(schema)
    return False


def _find_item(node: Any, schema: Schema | None, element: str) -> int | None:
    if not isinstance(node, list):
        return None
    list_kind, keys = _list_type(schema)
    for position, item in enumerate(node):
        if _element_or_none(item, list_kind, keys) == element:
            return position
    return None


# ---------------------------------------------------------------- apply


def _intent_copy(intent: Obj) -> Obj:
    config = copy.deepcopy(intent)
    config.pop("status", None)
    meta = config.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return config


def _live_copy(live: Obj | None) -> Obj:
    base = copy.deepcopy(live) if live else {}
    meta = base.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return base


def _conflicts(others: list[_Entry], changed: set[Path]) -> list[Conflict]:
    found = []
    for entry in sorted(others, key=lambda e: _identifier(e)):
        for path in sorted(entry.fields & changed, key=_iteration_order):
            found.append(Conflict(_display(entry), path_string(path), path))
    return found


def _identifier(entry: _Entry) -> str:
    """Upstream's manager identifier (sorted on for the conflict message)."""
    ident: Obj = {"manager": entry.manager, "operation": entry.operation}
    if entry.operation != "Apply":
        ident["apiVersion"] = entry.api_version
    if entry.subresource:
        ident["subresource"] = entry.subresource
    return json.dumps(ident, separators=(",", ":"))


def apply(
    live: Obj | None,
    intent: Obj,
    *,
    manager: str,
    force: bool,
    group: str,
    version: str,
    kind: str,
    now: str,
) -> ApplyResult:
    """Server-side apply of `intent` by `manager` onto `live` (None: create).

    Raises SSAError when the intent cannot be typed (a map-list item without keys).
    """
    schema = _root_schema(group, version, kind)
    config = _intent_copy(intent)
    raw = _all_fields(config, schema)
    applied = _owned_only(raw, None)
    entries = _live_entries(live)
    me = _Entry(manager, "Apply", _api_version(group, version), now, None, applied)
    previous = next((e for e in entries if e.identity == me.identity), None)
    others = [e for e in entries if e.identity != me.identity]
    merged: Obj = _merge(_live_copy(live), config, schema)
    kept = raw.union(*(e.fields for e in others))
    _prune(merged, schema, previous.fields if previous else frozenset(), kept)
    cmp = _owned_changes(_comparison(live, merged, schema), None)
    conflicts = _conflicts(others, cmp.changed)
    if conflicts and not force:
        return ApplyResult(None, conflicts)
    if previous is not None and not cmp.changed and not cmp.removed:
        me.time = previous.time
    survivors = [e for e in others if _lose(e, cmp)]
    merged.setdefault("metadata", {})["managedFields"] = _serialize([*survivors, me])
    return ApplyResult(merged, conflicts)


def _lose(entry: _Entry, cmp: _Comparison) -> bool:
    """Take changed and removed fields from another manager; False once it owns none."""
    entry.fields = entry.fields - cmp.changed - cmp.removed
    return bool(entry.fields)


# ---------------------------------------------------------------- errors


def conflict_message(conflicts: list[Conflict]) -> str:
    """`Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`,
    or for several, grouped by manager in upstream's order:
    `Apply failed with 2 conflicts: conflicts with "m" using apps/v1:\\n- .a\\n- .b`."""
    if len(conflicts) == 1:
        only = conflicts[0]
        return (
            f"Apply failed with 1 conflict: conflict with {only.manager}: {only.field}"
        )
    lines: list[str] = []
    for manager in dict.fromkeys(c.manager for c in conflicts):
        lines.append(f"conflicts with {manager}:")
        lines += [f"- {c.field}" for c in conflicts if c.manager == manager]
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def conflict_causes(conflicts: list[Conflict]) -> list[Obj]:
    return [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {c.manager}",
            "field": c.field,
        }
        for c in conflicts
    ]


def conflict_error(conflicts: list[Conflict]) -> tuple[str, Obj]:
    """(message, details) of the 409 Conflict Status a blocked apply answers with."""
    return conflict_message(conflicts), {"causes": conflict_causes(conflicts)}
