"""Go types behind the served schemas: what kube-apiserver's decoder decodes into.

`kind_node(group, version, kind)` compiles a kind's schema (`schemas.py`) into `Node`s
once, lazily: a struct's Go name (`io.k8s.api.core.v1.EnvVar` is `v1.EnvVar`), maps,
slices, the scalar widths (`int32`, `float64`), the types with their own JSON decoders
(Quantity, IntOrString, Time, MicroTime) and, for lists, the list type and keys
server-side apply uses.  The schemas do not record Go's named string types
(`v1.Protocol`, `types.UID`, ...); `NAMED_TYPES` and `NAMED_MAPS` list the ones the
course's kinds have, and any other plain string field is `string`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubecourse.embedded import schemas, ssa

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
