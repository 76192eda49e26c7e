"""Typed decoding: what kube-apiserver refuses while turning a body into its Go type.

Before any defaulting or validation runs, kube-apiserver decodes a request body into
the kind's Go struct.  A field of the wrong JSON type (`value: 8080` for an env var,
`replicas: "2"`, `cpu: lots`, Secret data that is not base64) fails there, so nothing
is stored and nothing downstream (kubectl describe, the Python client's models) ever
meets it.  This module walks a body against the served schema (`schemas.py`) once,
finding both the type errors and the unknown fields `fieldValidation` is about, and
words the type errors as each upstream path does:

- create, update, the status and scale subresources: the JSON decoder
  (`sigs.k8s.io/json`): `json: cannot unmarshal number into Go struct field
  EnvVar.spec.template.spec.containers.env.value of type string`, the first such error
  in document order unless a field with its own decoder (Quantity, IntOrString, Time)
  fails, which stops decoding at once; 400 `Deployment in version "v1" cannot be
  handled as a Deployment: ...`;
- JSON and merge patches: the patched document is decoded the same way; 422
  `patch: Invalid value: "<patched JSON>": json: ...`;
- strategic merge patches (and so `kubectl apply`): the patched map goes through the
  unstructured converter; 422 `patch: Invalid value: "map[...]": cannot convert int64
  to string` (`unrecognized type: int32`, `cannot restore slice from string`);
- server-side apply: the structured-merge-diff type check, every error at once;
  `failed to create typed patch object (ns/name; apps/v1, Kind=Deployment):
  .spec.replicas: expected numeric (int or float), got string` (500, as upstream),
  and with them the fields the schema does not declare (`.spec.replicaz: field not
  declared in schema`, whatever `fieldValidation` says) and list-map keys that repeat
  (`.spec.containers: duplicate entries for key [name="app"]`);
- fieldValidation=Strict on a create or update body: 400 `Pod in version "v1" cannot
  be handled as a Pod: strict decoding error: unknown field "spec.foo"`;
- custom resources (the Gateway API kinds, CRDs upstream): the structural schema; 422
  `spec.listeners[0].port: Invalid value: "string": spec.listeners[0].port in body
  must be of type integer: "string"`, one cause per field.

Go type names (gotypes.py) come from the definition names (`io.k8s.api.core.v1.EnvVar` is
`v1.EnvVar`) and, for the named string types the schemas do not record
(`v1.Protocol`, `types.UID`, ...), from the table `NAMED_TYPES`.

Simplified: the unstructured converter reports the first error in Go struct field
order, here the first in document order; numbers print with Python's shortest form
(`1e3` in a body is quoted back as `1000.0`); a bad Quantity, Time or base64 value
under server-side apply answers the decoder's 400 (upstream's wording there was not
confirmed); MicroTime values are checked to be strings only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubecourse.embedded import gowire, ssa, status
from kubecourse.embedded.gotypes import (
    ANY,
    ARRAY,
    BOOL,
    BYTES,
    FLOAT,
    HARD,
    INT,
    INTSTR,
    MAP,
    MICROTIME,
    QUANTITY,
    STRING,
    STRUCT,
    TIME,
    Node,
    kind_node,
)
from kubecourse.embedded.resources import ResourceType

Obj = dict[str, Any]
SchemaDict = dict[str, Any]

# ---------------------------------------------------------------- the walk


@dataclass
class Problem:
    """A value the Go type cannot hold."""

    node: Node
    value: Any
    struct: str  # the innermost Go struct around it
    json_path: (
        str  # `spec.template.spec.containers.env.value` (no indexes, no map keys)
    )
    path: str  # `spec.template.spec.containers[0].env[0].value`
    smd_path: tuple[str, ...]  # structured-merge-diff path elements
    detail: str = ""  # the custom decoder's own error, when it has one
    slot: tuple[Any, Any] | None = None  # (container, key) holding the value


@dataclass
class Decoded:
    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # What structured-merge-diff adds under server-side apply: the unknown fields and
    # repeated list-map keys, as its messages.
    smd_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Where:
    struct: str = ""
    json_path: str = ""
    path: str = ""
    smd: tuple[str, ...] = ()

    def field(self, struct: str, name: str) -> _Where:
        return _Where(
            struct,
            _join(self.json_path, name),
            _join(self.path, name),
            self.smd + ("f:" + name,),
        )

    def key(self, name: str) -> _Where:
        return _Where(
            self.struct,
            self.json_path,
            _join(self.path, name),
            self.smd + ("f:" + name,),
        )

    def index(self, i: int, element: str | None) -> _Where:
        return _Where(
            self.struct,
            self.json_path,
            f"{self.path}[{i}]",
            self.smd + (element or f"i:{i}",),
        )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def decode(obj: Obj, node: Node) -> Decoded:
    """Every type problem and unknown field of `obj`, in document order."""
    found = Decoded()
    _walk(obj, node, _Where(), found)
    return found


def _walk(
    value: Any,
    node: Node,
    where: _Where,
    found: Decoded,
    slot: tuple[Any, Any] | None = None,
) -> None:
    if value is None or node.kind == ANY:
        return
    problem = _scalar_problem(value, node)
    if problem is not None:
        found.problems.append(
            Problem(
                node,
                value,
                where.struct,
                where.json_path,
                where.path,
                where.smd,
                problem,
                slot,
            )
        )
        return
    if node.kind == STRUCT:
        _walk_struct(value, node, where, found)
    elif node.kind == MAP and node.item is not None:
        for key, child in value.items():
            _walk(child, node.item, where.key(str(key)), found, (value, key))
    elif node.kind == ARRAY and node.item is not None:
        _walk_array(value, node, where, found)


def _walk_struct(value: Obj, node: Node, where: _Where, found: Decoded) -> None:
    properties = node.properties()
    for key, child in value.items():
        child_node = properties.get(key)
        if child_node is None:
            found.unknown.append(_join(where.path, str(key)))
            unknown = ssa.path_string(where.smd + ("f:" + str(key),))
            found.smd_errors.append(f"{unknown}: field not declared in schema")
        else:
            _walk(
                child,
                child_node,
                where.field(node.struct, str(key)),
                found,
                (value, key),
            )


def _walk_array(value: list[Any], node: Node, where: _Where, found: Decoded) -> None:
    item = node.item
    assert item is not None
    seen: set[str] = set()
    for i, child in enumerate(value):
        if child is None and item.kind == STRUCT:
            value[i] = child = {}  # Go decodes `null` into the zero struct
        element = None
        if node.list_type != "atomic":
            element = ssa._element_or_none(child, node.list_type, node.list_keys)
        if element is not None and element in seen:
            found.smd_errors.append(
                f"{ssa.path_string(where.smd)}: duplicate entries for key "
                f"{ssa._element_string(element)}"
            )
        seen.add(element or "")
        _walk(child, item, where.index(i, element), found, (value, i))


_SHAPES: dict[str, tuple[type, ...]] = {
    STRUCT: (dict,),
    MAP: (dict,),
    ARRAY: (list,),
    STRING: (str,),
    BYTES: (str,),
    MICROTIME: (str,),
    BOOL: (bool,),
    FLOAT: (int, float),
}


def _scalar_problem(value: Any, node: Node) -> str | None:
    """A custom decoder's message, "" for a plain type mismatch, None when it fits."""
    if node.kind in _SHAPES:
        shapes = _SHAPES[node.kind]
        if not isinstance(value, shapes) or (
            isinstance(value, bool) and bool not in shapes
        ):
            return ""
        if node.kind == BYTES:
            return gowire.base64_error(str(value))
        return None
    if node.kind == INT:
        return None if _fits(value, node.bits) else ""
    if node.kind == QUANTITY:
        return _quantity_problem(value)
    if node.kind == INTSTR:
        return _int_or_string_problem(value)
    if node.kind == TIME:
        if not isinstance(value, str):
            return f"json: cannot unmarshal {_word(value)} into Go value of type string"
        return gowire.rfc3339_error(value)
    return None


def _fits(value: Any, bits: int) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return -(1 << (bits - 1)) <= value < (1 << (bits - 1))


def _quantity_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return gowire.QUANTITY_FORMAT
    text = value if isinstance(value, str) else gowire.number_text(value)
    return gowire.quantity_error(text)


def _int_or_string_problem(value: Any) -> str | None:
    if isinstance(value, str) or _fits(value, 32):
        return None
    return f"json: cannot unmarshal {_word(value, 'int')} into Go value of type int32"


def _word(value: Any, target: str = "") -> str:
    """How Go's decoder names the JSON value it could not store."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return f"number {gowire.number_text(value)}" if target == "int" else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# ---------------------------------------------------------------- messages


def json_message(problem: Problem) -> str:
    """What the JSON decoder says (`json: cannot unmarshal ...`)."""
    if problem.detail:
        return problem.detail
    target = "int" if problem.node.kind == INT else ""
    word = _word(problem.value, target)
    return (
        f"json: cannot unmarshal {word} into Go struct field "
        f"{problem.struct}.{problem.json_path} of type {problem.node.go}"
    )


def first_for_decoder(problems: list[Problem]) -> Problem | None:
    """The error `json.Unmarshal` returns: a custom decoder's error stops it; otherwise
    the first mismatch it skipped over."""
    for problem in problems:
        if problem.node.kind in HARD:
            return problem
    return problems[0] if problems else None


_GO_KINDS = {
    str: "string",
    bool: "bool",
    int: "int64",
    float: "float64",
    list: "slice",
    dict: "map",
}


def converter_message(problem: Problem) -> str:
    """What `runtime.DefaultUnstructuredConverter.FromUnstructured` says."""
    node, value = problem.node, problem.value
    source = _GO_KINDS.get(type(value), "interface")
    if node.kind in HARD:
        return problem.detail
    if node.kind == BYTES:
        if isinstance(value, str):
            return f"error decoding from json: {problem.detail}"
        return f"cannot restore slice from {source}"
    if node.kind == STRUCT:
        return f"cannot restore struct from: {source}"
    if node.kind == MAP:
        return f"cannot restore map from {source}"
    if node.kind == ARRAY:
        return f"cannot restore slice from {source}"
    return _converted_scalar(node, value, source)


def _converted_scalar(node: Node, value: Any, source: str) -> str:
    if node.kind == STRING and source == "int64":
        return f"cannot convert int64 to {node.go}"
    if node.kind == INT and source == "float64":
        return f"cannot convert float64 to {node.go}"
    go_kind = {STRING: "string", INT: f"int{node.bits}", FLOAT: "float64", BOOL: "bool"}
    return f"unrecognized type: {go_kind.get(node.kind, node.go)}"


def converter_accepts(problem: Problem) -> bool:
    """Mismatches the unstructured converter lets through (it converts numbers)."""
    node, value = problem.node, problem.value
    if node.kind == INT and isinstance(value, float) and not isinstance(value, bool):
        return value == int(value)
    return node.kind == INT and isinstance(value, int) and not isinstance(value, bool)


def _convert_number(problem: Problem) -> None:
    """What `reflect.Value.Convert` leaves in an int field: the number truncated to the
    field's width (2147483648 in an int32 is -2147483648), as the converter stores it."""
    if problem.slot is None:
        return
    container, key = problem.slot
    bits = problem.node.bits
    number = int(problem.value) & ((1 << bits) - 1)
    container[key] = number - (1 << bits) if number >= 1 << (bits - 1) else number


def smd_message(problem: Problem) -> str:
    """What structured-merge-diff's type check says (server-side apply)."""
    path = ssa.path_string(problem.smd_path)
    node, value = problem.node, problem.value
    if node.kind in (STRUCT, MAP):
        return f"{path}: expected map, got &{{{gowire.sprint_v(value)}}}"
    if node.kind == ARRAY:
        return f"{path}: expected list, got &{{{gowire.sprint_v(value)}}}"
    if node.kind in (INT, FLOAT):
        return f"{path}: expected numeric (int or float), got {gowire.type_name(value)}"
    if node.kind == BOOL:
        return f"{path}: expected boolean, got &{{{gowire.sprint_v(value)}}}"
    return f"{path}: expected string, got &value.valueUnstructured{{Value:{gowire.sharp_v(value)}}}"


def smd_rejects(problem: Problem) -> bool:
    """Mismatches structured-merge-diff sees: it knows only string, number, bool, map
    and list (Quantity and IntOrString take any scalar; ints take floats)."""
    node, value = problem.node, problem.value
    if node.kind in (QUANTITY, INTSTR):
        return isinstance(value, (dict, list))
    if node.kind == INT:
        return isinstance(value, (str, bool, dict, list))
    if node.kind in (BYTES, TIME):
        return not isinstance(value, str)
    return not problem.detail


_JSON_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
}
_SCHEMA_TYPES = {
    STRING: "string",
    BYTES: "string",
    TIME: "string",
    MICROTIME: "string",
    INT: "integer",
    FLOAT: "number",
    BOOL: "boolean",
    STRUCT: "object",
    MAP: "object",
    ARRAY: "array",
}


def structural_cause(problem: Problem) -> dict[str, str] | None:
    """The structural schema's cause for a custom resource, or None if it accepts."""
    expected = _SCHEMA_TYPES.get(problem.node.kind)
    actual = _JSON_TYPES.get(type(problem.value), "null")
    if expected is None or (expected == "number" and actual == "integer"):
        return None
    detail = (
        f"{problem.path} in body must be of type {expected}: {gowire.quote(actual)}"
    )
    return status.cause(
        problem.path, f"Invalid value: {gowire.quote(actual)}: {detail}"
    )


# ---------------------------------------------------------------- Status errors


def cannot_handle(rt: ResourceType, body: Obj, message: str) -> status.StatusError:
    kind = str(body.get("kind") or rt.kind)
    api_version = str(body.get("apiVersion") or rt.api_version)
    version = api_version.rpartition("/")[2]
    return status.bad_request(
        f'{kind} in version "{version}" cannot be handled as a {rt.kind}: {message}'
    )


def patch_invalid(shown: str, message: str) -> status.StatusError:
    """`errors.NewInvalid(schema.GroupKind{}, "", {patch: Invalid value: ...})`."""
    text = f"Invalid value: {gowire.quote(shown)}: {message}"
    causes = [status.cause("patch", text)]
    return status.StatusError(
        422, "Invalid", f' "" is invalid: patch: {text}', {"causes": causes}
    )


def typed_patch_failed(
    rt: ResourceType, obj: Obj, messages: list[str]
) -> status.StatusError:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    where = f"{meta['namespace']}/{name}" if meta.get("namespace") else name
    gvk = f"{rt.api_version if rt.group else '/' + rt.version}, Kind={rt.kind}"
    listed = (
        messages[0]
        if len(messages) == 1
        else "errors:\n" + "".join(f"  {m}\n" for m in messages)
    )
    return status.StatusError(
        500, "", f"failed to create typed patch object ({where}; {gvk}): {listed}"
    )


def go_json(value: Any) -> str:
    """`json.Marshal` of decoded JSON: compact, map keys sorted, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def structural_causes(problems: list[Problem]) -> Iterator[dict[str, str]]:
    for problem in problems:
        found = structural_cause(problem)
        if found is not None:
            yield found


# ---------------------------------------------------------------- the entry point

SCALE = ResourceType("autoscaling", "v1", "Scale", "scale", True)


def check(
    rt: ResourceType, obj: Obj, patch_type: str | None = None, patch: Any = None
) -> list[str]:
    """Refuse `obj` as upstream's decoder for this request refuses it (StatusError);
    otherwise the unknown fields, for `fieldValidation` to judge."""
    node = kind_node(rt.group, rt.version, rt.kind)
    if node is None:
        return []
    found = decode(obj, node)
    if found.problems:
        _refuse(rt, obj, found, patch_type, patch)
    if patch_type == "apply" and found.smd_errors:
        raise typed_patch_failed(rt, obj, found.smd_errors)
    return found.unknown


def _refuse(
    rt: ResourceType,
    obj: Obj,
    found: Decoded,
    patch_type: str | None,
    patch: Any,
) -> None:
    problems = found.problems
    if rt.custom:
        causes = list(structural_causes(problems))
        if causes:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise status.invalid(rt, name, causes)
        return
    if patch_type == "strategic":
        refused = [p for p in problems if not converter_accepts(p)]
        if refused:
            raise patch_invalid(gowire.sprint_v(patch), converter_message(refused[0]))
        for problem in problems:
            _convert_number(problem)
        return
    if patch_type == "apply":
        seen = [smd_message(p) for p in problems if smd_rejects(p)]
        if seen:
            raise typed_patch_failed(rt, obj, seen + found.smd_errors)
    first = first_for_decoder(problems)
    assert first is not None
    if patch_type in ("json", "merge"):
        raise patch_invalid(go_json(obj), json_message(first))
    raise cannot_handle(rt, obj, json_message(first))


def strict_error(
    rt: ResourceType, unknown: list[str], patch_type: str | None, obj: Obj, patch: Any
) -> status.StatusError:
    """fieldValidation=Strict: 400 `Pod in version "v1" cannot be handled as a Pod:
    strict decoding error: ...` for a create or update body (`transformDecodeError`);
    a patch's result is 422 `patch: Invalid value: ...`.  (Server-side apply refuses
    unknown fields whatever fieldValidation says: `check`.)"""
    listed = ", ".join(f"unknown field {gowire.quote(path)}" for path in unknown)
    message = f"strict decoding error: {listed}"
    if patch_type == "strategic":
        return patch_invalid(gowire.sprint_v(patch), message)
    if patch_type in ("json", "merge"):
        return patch_invalid(go_json(obj), message)
    return cannot_handle(rt, obj, message)
