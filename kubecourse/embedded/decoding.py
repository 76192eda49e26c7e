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
  .spec.replicas: expected numeric (int or float), got string` (500, as upstream);
- custom resources (the Gateway API kinds, CRDs upstream): the structural schema; 422
  `spec.listeners[0].port: Invalid value: "string": spec.listeners[0].port in body
  must be of type integer: "string"`, one cause per field.

Go type names come from the definition names (`io.k8s.api.core.v1.EnvVar` is
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

from kubecourse.embedded import gowire, schemas, ssa, status
from kubecourse.embedded.resources import ResourceType

Obj = dict[str, Any]
SchemaDict = dict[str, Any]

STRUCT, MAP, ARRAY, ANY = "struct", "map", "array", "any"
STRING, INT, FLOAT, BOOL, BYTES = "string", "int", "float", "bool", "bytes"
QUANTITY, INTSTR, TIME, MICROTIME = "quantity", "intorstring", "time", "microtime"
# Fields whose Go type has its own UnmarshalJSON: an error there stops decoding.
HARD = (QUANTITY, INTSTR, TIME)

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_SPECIAL = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": (QUANTITY, "resource.Quantity"),
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": (INTSTR, "intstr.IntOrString"),
    _META + "Time": (TIME, "v1.Time"),
    _META + "MicroTime": (MICROTIME, "v1.MicroTime"),
    _META + "FieldsV1": (ANY, "v1.FieldsV1"),
    "io.k8s.apimachinery.pkg.runtime.RawExtension": (ANY, "runtime.RawExtension"),
}

# Named Go types behind plain `string` schemas, by (Go struct, JSON field).
NAMED_TYPES: dict[tuple[str, str], str] = {
    ("ObjectMeta", "uid"): "types.UID",
    ("OwnerReference", "uid"): "types.UID",
    ("Container", "imagePullPolicy"): "v1.PullPolicy",
    ("Container", "terminationMessagePolicy"): "v1.TerminationMessagePolicy",
    ("EphemeralContainer", "imagePullPolicy"): "v1.PullPolicy",
    ("ContainerPort", "protocol"): "v1.Protocol",
    ("ServicePort", "protocol"): "v1.Protocol",
    ("EndpointPort", "protocol"): "v1.Protocol",
    ("NetworkPolicyPort", "protocol"): "v1.Protocol",
    ("PodSpec", "restartPolicy"): "v1.RestartPolicy",
    ("PodSpec", "dnsPolicy"): "v1.DNSPolicy",
    ("PodSpec", "preemptionPolicy"): "v1.PreemptionPolicy",
    ("PodStatus", "phase"): "v1.PodPhase",
    ("PodStatus", "qosClass"): "v1.PodQOSClass",
    ("PodCondition", "type"): "v1.PodConditionType",
    ("PodCondition", "status"): "v1.ConditionStatus",
    ("NodeCondition", "status"): "v1.ConditionStatus",
    ("NodeCondition", "type"): "v1.NodeConditionType",
    ("DeploymentCondition", "status"): "v1.ConditionStatus",
    ("DeploymentCondition", "type"): "v1.DeploymentConditionType",
    ("ServiceSpec", "type"): "v1.ServiceType",
    ("ServiceSpec", "sessionAffinity"): "v1.ServiceAffinity",
    ("ServiceSpec", "externalTrafficPolicy"): "v1.ServiceExternalTrafficPolicy",
    ("ServiceSpec", "internalTrafficPolicy"): "v1.ServiceInternalTrafficPolicy",
    ("ServiceSpec", "ipFamilyPolicy"): "v1.IPFamilyPolicy",
    ("ServiceSpec", "ipFamilies"): "[]v1.IPFamily",
    ("DeploymentStrategy", "type"): "v1.DeploymentStrategyType",
    ("StatefulSetSpec", "podManagementPolicy"): "v1.PodManagementPolicyType",
    ("StatefulSetUpdateStrategy", "type"): "v1.StatefulSetUpdateStrategyType",
    ("DaemonSetUpdateStrategy", "type"): "v1.DaemonSetUpdateStrategyType",
    ("JobSpec", "completionMode"): "v1.CompletionMode",
    ("JobSpec", "podReplacementPolicy"): "v1.PodReplacementPolicy",
    ("CronJobSpec", "concurrencyPolicy"): "v1.ConcurrencyPolicy",
    ("Secret", "type"): "v1.SecretType",
    ("Toleration", "operator"): "v1.TolerationOperator",
    ("Toleration", "effect"): "v1.TaintEffect",
    ("Taint", "effect"): "v1.TaintEffect",
    ("LabelSelectorRequirement", "operator"): "v1.LabelSelectorOperator",
    ("NodeSelectorRequirement", "operator"): "v1.NodeSelectorOperator",
    ("PersistentVolumeClaimSpec", "accessModes"): "[]v1.PersistentVolumeAccessMode",
    ("PersistentVolumeClaimSpec", "volumeMode"): "v1.PersistentVolumeMode",
    ("PersistentVolumeSpec", "accessModes"): "[]v1.PersistentVolumeAccessMode",
    ("HTTPIngressPath", "pathType"): "v1.PathType",
    ("NetworkPolicySpec", "policyTypes"): "[]v1.PolicyType",
    ("HostPathVolumeSource", "type"): "v1.HostPathType",
    (
        "PodDisruptionBudgetSpec",
        "unhealthyPodEvictionPolicy",
    ): "v1.UnhealthyPodEvictionPolicyType",
    ("NamespaceStatus", "phase"): "v1.NamespacePhase",
}
NAMED_MAPS: dict[tuple[str, str], str] = {
    ("ResourceRequirements", "limits"): "v1.ResourceList",
    ("ResourceRequirements", "requests"): "v1.ResourceList",
    ("NodeStatus", "capacity"): "v1.ResourceList",
    ("NodeStatus", "allocatable"): "v1.ResourceList",
}


@dataclass(eq=False)
class Node:
    """One Go type, compiled from a schema on first use."""

    kind: str
    go: str
    struct: str = ""  # a struct's Go name, the `Struct` of UnmarshalTypeError
    bits: int = 64
    item: Node | None = None
    list_type: str = "atomic"
    list_keys: tuple[str, ...] = ()
    schema: SchemaDict | None = None  # a struct's (resolved) schema, compiled lazily
    _properties: dict[str, Node] | None = None

    def properties(self) -> dict[str, Node]:
        if self._properties is None:
            self._properties = {}
            declared = (self.schema or {}).get("properties") or {}
            for name, child in declared.items():
                self._properties[name] = _named(_compile(child), self.struct, name)
        return self._properties


_BY_DEFINITION: dict[str, Node] = {}


def _named(node: Node, struct: str, name: str) -> Node:
    go = NAMED_TYPES.get((struct, name)) or NAMED_MAPS.get((struct, name))
    if go is None or node.kind not in (STRING, ARRAY, MAP):
        return node
    return Node(
        node.kind,
        go,
        node.struct,
        node.bits,
        node.item,
        node.list_type,
        node.list_keys,
        node.schema,
    )


def _concrete(kind: Any) -> str:
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if len(kinds) == 1 else ""
    return str(kind or "")


def _compile(schema: SchemaDict) -> Node:
    ref = schema.get("$ref")
    if ref:
        name = schemas.ref_name(ref)
        node = _definition(name)
        return _with_list_type(node, schema) if node.kind == ARRAY else node
    return _compile_inline(schema, "")


def _definition(name: str) -> Node:
    if name in _BY_DEFINITION:
        return _BY_DEFINITION[name]
    if name in _SPECIAL:
        kind, go = _SPECIAL[name]
        node = Node(kind, go)
    else:
        node = _compile_inline(schemas.definitions().get(name) or {}, name)
    _BY_DEFINITION[name] = node
    return node


def _compile_inline(schema: SchemaDict, definition: str) -> Node:
    if schema.get("x-kubernetes-int-or-string"):
        return Node(INTSTR, "intstr.IntOrString")
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return Node(ANY, "interface {}")
    kind = _concrete(schema.get("type"))
    if kind == "object" or (not kind and "properties" in schema):
        return _object(schema, definition)
    if kind == "array":
        item = _compile(schema.get("items") or {})
        return _with_list_type(Node(ARRAY, "[]" + item.go, item=item), schema)
    return _scalar(kind, str(schema.get("format") or ""))


def _object(schema: SchemaDict, definition: str) -> Node:
    if schema.get("properties"):
        struct = definition.rpartition(".")[2]
        package = definition.rpartition(".")[0].rpartition(".")[2]
        go = f"{package}.{struct}" if definition else ""
        return Node(STRUCT, go, struct, schema=schema)
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        item = _compile(values)
        return Node(MAP, f"map[string]{item.go}", item=item)
    return Node(ANY, "map[string]interface {}")


def _scalar(kind: str, fmt: str) -> Node:
    if kind == "string":
        return Node(BYTES, "[]uint8") if fmt == "byte" else Node(STRING, "string")
    if kind == "integer":
        bits = 32 if fmt == "int32" else 64
        return Node(INT, f"int{bits}", bits=bits)
    if kind == "number":
        return Node(FLOAT, "float32" if fmt == "float" else "float64")
    if kind == "boolean":
        return Node(BOOL, "bool")
    return Node(ANY, "interface {}")


def _with_list_type(node: Node, schema: SchemaDict) -> Node:
    list_type, keys = ssa._list_type(schemas.merged(schema))
    if (list_type, keys) == (node.list_type, node.list_keys):
        return node
    return Node(node.kind, node.go, item=node.item, list_type=list_type, list_keys=keys)


def kind_node(group: str, version: str, kind: str) -> Node | None:
    name = schemas.definition_name(group, version, kind)
    return _definition(name) if name else None


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
    for i, child in enumerate(value):
        if child is None and item.kind == STRUCT:
            value[i] = child = {}  # Go decodes `null` into the zero struct
        element = None
        if node.list_type != "atomic":
            element = ssa._element_or_none(child, node.list_type, node.list_keys)
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
        _refuse(rt, obj, found.problems, patch_type, patch)
    return found.unknown


def _refuse(
    rt: ResourceType,
    obj: Obj,
    problems: list[Problem],
    patch_type: str | None,
    patch: Any,
) -> None:
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
        seen = [p for p in problems if smd_rejects(p)]
        if seen:
            raise typed_patch_failed(rt, obj, [smd_message(p) for p in seen])
    first = first_for_decoder(problems)
    assert first is not None
    if patch_type in ("json", "merge"):
        raise patch_invalid(go_json(obj), json_message(first))
    raise cannot_handle(rt, obj, json_message(first))


def strict_error(
    unknown: list[str], patch_type: str | None, obj: Obj, patch: Any
) -> status.StatusError:
    """fieldValidation=Strict: 400 for a body; a patch's result is 422 `patch: ...`."""
    listed = ", ".join(f"unknown field {gowire.quote(path)}" for path in unknown)
    message = f"strict decoding error: {listed}"
    if patch_type == "strategic":
        return patch_invalid(gowire.sprint_v(patch), message)
    if patch_type in ("json", "merge"):
        return patch_invalid(go_json(obj), message)
    return status.bad_request(message)
