"""The three PATCH body formats a Kubernetes API server applies.

- JSON patch (RFC 6902): add, remove, replace, move, copy, test; `~0`/`~1` escapes and
  the `-` index.  As on a real server, a malformed patch document is 400 BadRequest and
  any operation that cannot be applied (including a failed `test`) is 422 Invalid with
  the generic message `the server rejected our request due to an error in our request`
  and the specific reason in `causes`.
- JSON merge patch (RFC 7386): objects merge, `null` deletes, everything else replaces.
- Strategic merge patch, driven by the upstream schemas (`schemas.py`): each field's
  `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` decide whether a list
  merges by key, merges as a set of primitives, or is replaced.  Directives: `$patch`
  (`replace`/`delete` on maps, `replace`/`delete` elements in lists), `$retainKeys`,
  `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`.  Element order
  follows the upstream algorithm (`$setElementOrder` > patch order > live order), nulls
  delete, and unmatched nulls are dropped.

Not faithful: the upstream server leaves directives inside brand-new subtrees for the
decoder to drop; here new maps and lists are merged into empty ones, so directives and
nulls inside them are applied rather than kept.  Error wording for malformed SMP
directives is close to, not always exactly, the Go text.  A field the schema does not
know merges like a plain map (lists are replaced) instead of failing.

Every function returns a new document; inputs are never mutated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from kubecourse.embedded import schemas

JSONPATCH_REJECTED = "the server rejected our request due to an error in our request"
MAX_JSON_PATCH_OPERATIONS = 10000  # kube-apiserver's maxJSONPatchOperations

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


class PatchError(Exception):
    """A patch the API server rejects: 400 BadRequest, 422 Invalid, or 413 for a JSON
    patch of more than 10000 operations."""

    def __init__(
        self, code: int, reason: str, message: str, detail: str | None = None
    ) -> None:
        super().__init__(message if detail is None else f"{message}: {detail}")
        self.code = code
        self.reason = reason
        self.message = message
        self.causes: list[dict[str, str]] = (
            []
            if detail is None
            else [{"reason": "UnexpectedServerResponse", "message": detail}]
        )


def _bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _cannot_apply(detail: str) -> PatchError:
    return PatchError(422, "Invalid", JSONPATCH_REJECTED, detail)


# ---------------------------------------------------------------- RFC 6902


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise _cannot_apply(f"invalid path: {path!r}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _cannot_apply(f'JSON pointer must be empty or start with a "/": {path}')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _list_index(container: list[Any], token: str, path: str, *, append: bool) -> int:
    if append and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _cannot_apply(f"invalid array index {token!r} in path {path}")
    index = int(token)
    limit = len(container) if append else len(container) - 1
    if index > limit:
        raise _cannot_apply(f"index out of bounds: {index} in path {path}")
    return index


def _parent(doc: Any, tokens: list[str], path: str, op: str) -> Any:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_list_index(current, token, path, append=False)]
        else:
            raise _cannot_apply(
                f'{op} operation does not apply: doc is missing path: "{path}"'
            )
    if not isinstance(current, (dict, list)):
        raise _cannot_apply(
            f'{op} operation does not apply: doc is missing path: "{path}"'
        )
    return current


def _get(doc: Any, path: str, op: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _cannot_apply(
                f'{op} operation does not apply: doc is missing path: "{path}"'
            )
        return parent[last]
    return parent[_list_index(parent, last, path, append=False)]


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path, "add")
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_list_index(parent, tokens[-1], path, append=True), value)
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise _cannot_apply(f"{op} operation does not apply: cannot remove the root")
    _get(doc, path, op)
    parent = _parent(doc, tokens, path, op)
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[_list_index(parent, tokens[-1], path, append=False)]
    return doc


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            _json_equal(left[key], right[key]) for key in left
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and bool(left == right)


def _operation_field(op: Mapping[str, Any], name: str) -> Any:
    if name not in op:
        raise _cannot_apply(f"{op.get('op')} operation is missing the {name!r} field")
    return op[name]


def _apply_operation(doc: Any, op: Mapping[str, Any]) -> Any:
    kind = op.get("op")
    path = _operation_field(op, "path")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(_operation_field(op, "value")))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path, "replace")
        value = copy.deepcopy(_operation_field(op, "value"))
        return (
            _add(_remove(doc, path, "replace"), path, value)
            if _pointer(path)
            else value
        )
    if kind in ("move", "copy"):
        return _move_or_copy(doc, str(kind), _operation_field(op, "from"), path)
    if kind == "test":
        if not _json_equal(_get(doc, path, "test"), _operation_field(op, "value")):
            raise _cannot_apply(f"testing value {path} failed: test failed")
        return doc
    raise _cannot_apply(f"Unexpected kind: {kind}")


def _move_or_copy(doc: Any, kind: str, source: Any, path: str) -> Any:
    value = copy.deepcopy(_get(doc, source, kind))
    if kind == "move":
        if path != source and path.startswith(f"{source}/"):
            raise _cannot_apply(
                f"move operation does not apply: {path} is a child of {source}"
            )
        doc = _remove(doc, source, "move")
    return _add(doc, path, value)


def apply_json_patch(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply an RFC 6902 patch; 400 for a malformed document, 422 if an op fails."""
    if not isinstance(ops, list) or not all(isinstance(op, Mapping) for op in ops):
        raise _bad_request(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        )
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch "
            f"is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    result: Any = copy.deepcopy(doc)
    for op in ops:
        result = _apply_operation(result, op)
    if not isinstance(result, dict):
        raise _cannot_apply("the patched document is not a JSON object")
    return result


# ---------------------------------------------------------------- RFC 7386


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def apply_merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7386 JSON merge patch."""
    result = _merge_patch(copy.deepcopy(doc), patch)
    if not isinstance(result, dict):
        raise _bad_request("the merge patch must be a JSON object")
    return result


# ---------------------------------------------------------------- strategic merge patch


def apply_strategic_merge_patch(
    doc: dict[str, Any], patch: dict[str, Any], *, group: str, version: str, kind: str
) -> dict[str, Any]:
    """Apply a strategic merge patch, with list semantics from the upstream schema."""
    if not isinstance(patch, Mapping):
        raise _bad_request(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    schema = schemas.kind_schema(group, version, kind)
    return _merge_map(copy.deepcopy(doc), copy.deepcopy(dict(patch)), schema)


def _strategies(schema: Mapping[str, Any] | None) -> set[str]:
    text = str((schema or {}).get("x-kubernetes-patch-strategy") or "")
    return {part.strip() for part in text.split(",") if part.strip()}


def _merge_key(schema: Mapping[str, Any] | None) -> str | None:
    key = (schema or {}).get("x-kubernetes-patch-merge-key")
    return str(key) if key else None


def _child(schema: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    if schema is None:
        return None
    found = schemas.property_schema(schema, key)
    return found if found is not None else schemas.map_value_schema(schema)


def _items(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return schemas.items_schema(schema) if schema is not None else None


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], schema: Mapping[str, Any] | None
) -> dict[str, Any]:
    directive = patch.pop(_DIRECTIVE, None)
    if directive == "replace":
        return _merge_map({}, patch, schema)
    if directive == "delete":
        return {}
    if directive is not None:
        raise _bad_request(
            f"unknown patch type: {directive} in map: {json.dumps(patch)}"
        )

    _retain_keys(original, patch)
    _set_element_orders(original, patch, schema)
    for key in [k for k in patch if k.startswith(_DELETE_PRIMITIVES)]:
        _delete_from_primitive_list(
            original, key.removeprefix(_DELETE_PRIMITIVES), patch.pop(key)
        )

    for key, value in patch.items():
        if value is None:
            original.pop(key, None)
        else:
            original[key] = _merge_value(original.get(key), value, _child(schema, key))
    return original


def _merge_value(original: Any, patch: Any, schema: Mapping[str, Any] | None) -> Any:
    if isinstance(patch, dict):
        if "replace" in _strategies(schema) or not isinstance(original, dict):
            return _merge_map({}, patch, schema)
        return _merge_map(original, patch, schema)
    if isinstance(patch, list):
        if "merge" in _strategies(schema):
            base = original if isinstance(original, list) else []
            return _merge_list(base, patch, schema)
        return patch
    return patch


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    keep = patch.pop(_RETAIN_KEYS)
    if not isinstance(keep, list):
        raise _bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _delete_from_primitive_list(
    original: dict[str, Any], field: str, values: Any
) -> None:
    if not isinstance(values, list):
        raise _bad_request("invalid patch format of primitive list")
    current = original.get(field)
    if isinstance(current, list):
        original[field] = [item for item in current if item not in values]


def _set_element_orders(
    original: dict[str, Any], patch: dict[str, Any], schema: Mapping[str, Any] | None
) -> None:
    for key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_request("invalid patch format of setElementOrder list")
        field = key.removeprefix(_SET_ORDER)
        field_schema = _child(schema, field)
        live = original.get(field) if isinstance(original.get(field), list) else []
        merged = _merge_or_replace(live or [], patch.pop(field, None), field_schema)
        ordered = _order_by(merged, order, live or [], _merge_key(field_schema))
        if ordered or field in original:
            original[field] = ordered


def _merge_or_replace(
    live: list[Any], patch: Any, schema: Mapping[str, Any] | None
) -> list[Any]:
    if patch is None:
        return live
    if not isinstance(patch, list):
        raise _bad_request(f"invalid list patch: {json.dumps(patch)}")
    if "merge" in _strategies(schema):
        return _merge_list(live, patch, schema)
    return patch


def _merge_list(
    original: list[Any], patch: list[Any], schema: Mapping[str, Any] | None
) -> list[Any]:
    if not original and not patch:
        return original
    if not any(isinstance(item, dict) for item in [*original, *patch]):
        merged = _dedupe([*original, *patch])
        return _order_by(merged, patch, original, None)
    key = _merge_key(schema)
    if key is None or not all(isinstance(item, dict) for item in [*original, *patch]):
        raise _bad_request(
            "cannot merge lists without merge key or of mixed element types"
        )

    live, plain = _special_elements(original, patch, key)
    merged = list(live)
    items = _items(schema)
    for element in plain:
        index = _find(merged, key, element.get(key))
        if index is None:
            merged.append(_merge_map({}, element, items))
        else:
            merged[index] = _merge_map(merged[index], element, items)
    return _order_by(merged, plain, live, key)


def _special_elements(
    original: list[Any], patch: list[Any], key: str
) -> tuple[list[Any], list[dict[str, Any]]]:
    plain: list[dict[str, Any]] = []
    replace = False
    for element in patch:
        directive = element.get(_DIRECTIVE)
        if directive is None:
            _require_key(element, key)
            plain.append(element)
        elif directive == "delete":
            _require_key(element, key)
            original = [item for item in original if item.get(key) != element[key]]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _bad_request("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_request(
                f"unknown patch type: {directive} in map: {json.dumps(element)}"
            )
    return ([], plain) if replace else (original, plain)


def _require_key(element: Mapping[str, Any], key: str) -> None:
    if key not in element:
        raise _bad_request(
            f"map: {json.dumps(element)} does not contain declared merge key: {key}"
        )


def _find(items: list[Any], key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return index
    return None


def _dedupe(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _position(order: list[Any], item: Any, key: str | None) -> int:
    for index, candidate in enumerate(order):
        if key is None and candidate == item:
            return index
        if key is not None and isinstance(candidate, dict) and isinstance(item, dict):
            if key in candidate and candidate.get(key) == item.get(key):
                return index
    return -1


def _order_by(
    merged: list[Any], patch_order: list[Any], live_order: list[Any], key: str | None
) -> list[Any]:
    """Upstream `normalizeElementOrder`: patch items in patch order, live-only items
    in live order, interleaved where the live list says they belong."""
    in_patch = [item for item in merged if _position(patch_order, item, key) >= 0]
    live_only = [item for item in merged if _position(patch_order, item, key) < 0]
    in_patch.sort(key=lambda item: _position(patch_order, item, key))
    live_only.sort(key=lambda item: _sort_key(_position(live_order, item, key)))
    return _interleave(live_only, in_patch, live_order, key)


def _sort_key(position: int) -> int:
    return position if position >= 0 else 1 << 30


def _interleave(
    left: list[Any], right: list[Any], live_order: list[Any], key: str | None
) -> list[Any]:
    result: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            result.append(left[i])
            i += 1
        elif i >= len(left):
            result.append(right[j])
            j += 1
        else:
            li = _position(live_order, left[i], key)
            ri = _position(live_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                result.append(left[i])
                i += 1
            else:
                result.append(right[j])
                j += 1
    return result
