"""Generate kubecourse/embedded/data/protobuf_fields.json from Kubernetes .proto text.

Usage:
    python tools/gen_protobuf_table.py PROTO_DIR [-o OUTPUT]

PROTO_DIR holds copies (whole files or excerpts) of the upstream `generated.proto`
files of k8s.io/api and k8s.io/apimachinery (Apache-2.0, The Kubernetes Authors).
They are not part of this repository and nothing is downloaded: save them first.
Every `*.proto` file in the folder is parsed; only its `package`, `message`, field and
`map<>` lines and the `// +optional` markers matter.

The table keeps only the messages reachable from ROOTS.  Three facts of the Go types
are not in the .proto text and are listed here by hand (from the upstream types.go):
INLINE (embedded structs, `json:",inline"`), POINTER_SCALARS (pointer-typed scalar
fields, whose explicit zero value is meaningful) and JSON_NAMES (fields whose JSON
name differs from the protobuf name).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
API = "k8s.io.api"

ROOTS: dict[str, str] = {
    "v1/Namespace": f"{API}.core.v1.Namespace",
    "v1/Service": f"{API}.core.v1.Service",
    "v1/ConfigMap": f"{API}.core.v1.ConfigMap",
    "v1/Secret": f"{API}.core.v1.Secret",
    "v1/ServiceAccount": f"{API}.core.v1.ServiceAccount",
    "apps/v1/Deployment": f"{API}.apps.v1.Deployment",
    "batch/v1/Job": f"{API}.batch.v1.Job",
    "batch/v1/CronJob": f"{API}.batch.v1.CronJob",
    "policy/v1/PodDisruptionBudget": f"{API}.policy.v1.PodDisruptionBudget",
    "v1/ResourceQuota": f"{API}.core.v1.ResourceQuota",
    "scheduling.k8s.io/v1/PriorityClass": f"{API}.scheduling.v1.PriorityClass",
    "networking.k8s.io/v1/Ingress": f"{API}.networking.v1.Ingress",
    "autoscaling/v1/HorizontalPodAutoscaler": (
        f"{API}.autoscaling.v1.HorizontalPodAutoscaler"
    ),
    "autoscaling/v2/HorizontalPodAutoscaler": (
        f"{API}.autoscaling.v2.HorizontalPodAutoscaler"
    ),
    "authentication.k8s.io/v1/TokenRequest": f"{API}.authentication.v1.TokenRequest",
    "authorization.k8s.io/v1/SelfSubjectAccessReview": (
        f"{API}.authorization.v1.SelfSubjectAccessReview"
    ),
    # `kubectl auth whoami` and `kubectl auth can-i --list` (their statuses are answers
    # only, so a table made without those messages' .proto text skips them).
    "authentication.k8s.io/v1/SelfSubjectReview": (
        f"{API}.authentication.v1.SelfSubjectReview"
    ),
    "authorization.k8s.io/v1/SelfSubjectRulesReview": (
        f"{API}.authorization.v1.SelfSubjectRulesReview"
    ),
}

# Messages with a JSON form of their own (decoded by special rules, not by fields).
SPECIAL: dict[str, str] = {
    f"{META}.Time": "time",
    f"{META}.MicroTime": "microtime",
    f"{META}.Duration": "duration",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
}

_LOR = "localObjectReference"
INLINE: set[str] = {
    f"{API}.core.v1.{m}.{_LOR}"
    for m in (
        "ConfigMapEnvSource",
        "ConfigMapKeySelector",
        "ConfigMapProjection",
        "ConfigMapVolumeSource",
        "SecretEnvSource",
        "SecretKeySelector",
        "SecretProjection",
    )
} | {
    f"{API}.core.v1.Volume.volumeSource",
    f"{API}.core.v1.Probe.handler",
    f"{API}.core.v1.EphemeralContainer.ephemeralContainerCommon",
    f"{API}.networking.v1.IngressRule.ingressRuleValue",
}

JSON_NAMES: dict[str, str] = {
    f"{API}.authentication.v1.BoundObjectReference.aPIVersion": "apiVersion",
    f"{API}.authentication.v1.BoundObjectReference.uID": "uid",
}

_POINTERS: dict[str, str] = {
    "apps.v1.DeploymentSpec": "replicas revisionHistoryLimit progressDeadlineSeconds"
    " podReplacementPolicy",
    "core.v1.ConfigMap": "immutable",
    "core.v1.Secret": "immutable",
    "core.v1.ConfigMapEnvSource": "optional",
    "core.v1.ConfigMapKeySelector": "optional",
    "core.v1.ConfigMapProjection": "optional",
    "core.v1.ConfigMapVolumeSource": "defaultMode optional",
    "core.v1.SecretEnvSource": "optional",
    "core.v1.SecretKeySelector": "optional",
    "core.v1.SecretProjection": "optional",
    "core.v1.SecretVolumeSource": "defaultMode optional",
    "core.v1.DownwardAPIVolumeFile": "mode",
    "core.v1.DownwardAPIVolumeSource": "defaultMode",
    "core.v1.KeyToPath": "mode",
    "core.v1.ProjectedVolumeSource": "defaultMode",
    "core.v1.ClientIPConfig": "timeoutSeconds",
    "core.v1.Container": "restartPolicy",
    "core.v1.ClusterTrustBundleProjection": "name signerName optional",
    "core.v1.CSIVolumeSource": "readOnly fsType",
    "core.v1.FileKeySelector": "optional",
    "core.v1.HostPathVolumeSource": "type",
    "core.v1.PodSecurityContext": "runAsUser runAsGroup runAsNonRoot fsGroup"
    " fsGroupChangePolicy supplementalGroupsPolicy seLinuxChangePolicy",
    "core.v1.SecurityContext": "privileged runAsUser runAsGroup runAsNonRoot"
    " readOnlyRootFilesystem allowPrivilegeEscalation procMount",
    "core.v1.SeccompProfile": "localhostProfile",
    "core.v1.AppArmorProfile": "localhostProfile",
    "core.v1.WindowsSecurityContextOptions": "gmsaCredentialSpecName"
    " gmsaCredentialSpec runAsUserName hostProcess",
    "core.v1.PodSpec": "terminationGracePeriodSeconds activeDeadlineSeconds"
    " automountServiceAccountToken shareProcessNamespace priority runtimeClassName"
    " enableServiceLinks preemptionPolicy setHostnameAsFQDN hostUsers"
    " hostnameOverride",
    "core.v1.Probe": "terminationGracePeriodSeconds",
    "core.v1.GRPCAction": "service",
    "core.v1.Lifecycle": "stopSignal",
    "core.v1.PersistentVolumeClaimSpec": "storageClassName volumeMode"
    " volumeAttributesClassName",
    "core.v1.PodResourceClaim": "resourceClaimName resourceClaimTemplateName",
    "core.v1.PodCertificateProjection": "maxExpirationSeconds",
    "core.v1.ServiceAccount": "automountServiceAccountToken",
    "core.v1.ServiceAccountTokenProjection": "expirationSeconds",
    "core.v1.ServicePort": "appProtocol",
    "core.v1.ServiceSpec": "ipFamilyPolicy allocateLoadBalancerNodePorts"
    " loadBalancerClass internalTrafficPolicy trafficDistribution",
    "core.v1.Toleration": "tolerationSeconds",
    "core.v1.TopologySpreadConstraint": "minDomains nodeAffinityPolicy"
    " nodeTaintsPolicy",
    "core.v1.TypedLocalObjectReference": "apiGroup",
    "core.v1.TypedObjectReference": "apiGroup namespace",
    "core.v1.VolumeMount": "mountPropagation recursiveReadOnly",
    "core.v1.LoadBalancerIngress": "ipMode",
    "core.v1.PortStatus": "error",
    "batch.v1.CronJobSpec": "timeZone startingDeadlineSeconds suspend"
    " successfulJobsHistoryLimit failedJobsHistoryLimit",
    "batch.v1.JobSpec": "parallelism completions activeDeadlineSeconds backoffLimit"
    " backoffLimitPerIndex maxFailedIndexes manualSelector ttlSecondsAfterFinished"
    " completionMode suspend podReplacementPolicy managedBy",
    "batch.v1.JobStatus": "terminating ready",
    "batch.v1.PodFailurePolicyOnExitCodesRequirement": "containerName",
    "batch.v1.SuccessPolicyRule": "succeededIndexes succeededCount",
    "policy.v1.PodDisruptionBudgetSpec": "unhealthyPodEvictionPolicy",
    "networking.v1.IngressSpec": "ingressClassName",
    "networking.v1.HTTPIngressPath": "pathType",
    "networking.v1.IngressPortStatus": "error",
    "autoscaling.v1.HorizontalPodAutoscalerSpec": "minReplicas"
    " targetCPUUtilizationPercentage",
    "autoscaling.v1.HorizontalPodAutoscalerStatus": "currentCPUUtilizationPercentage",
    "autoscaling.v2.HorizontalPodAutoscalerSpec": "minReplicas",
    "autoscaling.v2.HPAScalingRules": "stabilizationWindowSeconds selectPolicy",
    "autoscaling.v2.MetricTarget": "averageUtilization",
    "authentication.v1.TokenRequestSpec": "expirationSeconds",
    # Not a pointer, but JSON has no omitempty and the 1.37 .proto marks it optional.
    "scheduling.v1.PriorityClass": "value preemptionPolicy",
}
POINTER_SCALARS: set[str] = {
    f"{API}.{msg}.{name}" for msg, names in _POINTERS.items() for name in names.split()
}
POINTER_SCALARS |= {
    f"{META}.ObjectMeta.deletionGracePeriodSeconds",
    f"{META}.OwnerReference.controller",
    f"{META}.OwnerReference.blockOwnerDeletion",
}

SCALARS = {"string", "bytes", "bool", "int32", "int64"}
_FIELD = re.compile(r"^(optional|repeated)\s+(\S+)\s+(\w+)\s*=\s*(\d+)")
_MAP = re.compile(r"^map<\s*(\w+)\s*,\s*(\S+?)\s*>\s+(\w+)\s*=\s*(\d+)")

Raw = dict[str, dict[int, dict[str, Any]]]


def _qualify(type_name: str, package: str) -> str:
    if type_name in SCALARS:
        return type_name
    if type_name.startswith("."):
        return type_name[1:]
    if "." in type_name:
        return type_name
    return f"{package}.{type_name}"


def _parse_field(line: str, package: str, optional: bool) -> dict[str, Any] | None:
    found = _MAP.match(line)
    if found:
        key, value, name, number = found.groups()
        return {
            "name": name,
            "number": int(number),
            "kind": "map",
            "key": key,
            "value": _qualify(value, package),
            "optional": optional,
        }
    found = _FIELD.match(line)
    if found is None:
        return None
    label, type_name, name, number = found.groups()
    return {
        "name": name,
        "number": int(number),
        "kind": _qualify(type_name, package),
        "repeated": label == "repeated",
        "optional": optional,
    }


def parse_proto(text: str, messages: Raw) -> None:
    """Add every message of one .proto text to `messages` (full name → fields)."""
    package = ""
    current: dict[int, dict[str, Any]] | None = None
    optional = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("package "):
            package = line.split()[1].rstrip(";")
        elif line.startswith("message ") and line.endswith("{"):
            current = messages.setdefault(f"{package}.{line.split()[1]}", {})
        elif line == "}":
            current = None
        elif line == "// +optional":
            optional = True
        elif current is not None and not line.startswith("//") and line:
            field = _parse_field(line, package, optional)
            if field is not None:
                current[field["number"]] = field
            optional = False


def _refs(field: dict[str, Any]) -> list[str]:
    kind = field["value"] if field["kind"] == "map" else field["kind"]
    return [] if kind in SCALARS or kind in SPECIAL else [kind]


def reachable(messages: Raw) -> tuple[list[str], list[str]]:
    """Messages reachable from ROOTS that are defined, and those that are not."""
    seen: set[str] = set()
    missing: set[str] = set()
    todo = list(ROOTS.values())
    while todo:
        name = todo.pop()
        if name in seen or name in missing:
            continue
        if name not in messages:
            missing.add(name)
            continue
        seen.add(name)
        for field in messages[name].values():
            todo.extend(_refs(field))
    return sorted(seen), sorted(missing)


def _entry(message: str, field: dict[str, Any], known: set[str]) -> list[Any]:
    """[json name, type, flags, message or map value] for one field."""
    path = f"{message}.{field['name']}"
    flags = "".join(
        flag
        for flag, on in (
            ("r", field.get("repeated", False)),
            ("o", field["optional"]),
            ("p", path in POINTER_SCALARS),
            ("i", path in INLINE),
        )
        if on
    )
    kind = field["kind"]
    if kind == "map":
        value = field["value"]
        value = SPECIAL.get(value, value if value in SCALARS or value in known else "")
        return [JSON_NAMES.get(path, field["name"]), "map", flags, value]
    if kind in SCALARS:
        return [JSON_NAMES.get(path, field["name"]), kind, flags, None]
    if kind in SPECIAL:
        return [field["name"], SPECIAL[kind], flags, None]
    ref = kind if kind in known else ""
    return [JSON_NAMES.get(path, field["name"]), "message", flags, ref]


def build(messages: Raw) -> dict[str, Any]:
    known, missing = reachable(messages)
    table = {
        name: {
            str(num): _entry(name, field, set(known))
            for num, field in sorted(messages[name].items())
        }
        for name in known
    }
    _check_lists(table)
    return {
        "_source": (
            "Field numbers from the generated.proto files of k8s.io/api and "
            "k8s.io/apimachinery (kubernetes/kubernetes staging/src), "
            "Copyright The Kubernetes Authors, Apache License 2.0. "
            "Generated by tools/gen_protobuf_table.py."
        ),
        "_format": (
            "messages: full name -> field number -> [json name, type, flags, ref]; "
            "type: string|bytes|bool|int32|int64|message|map|time|microtime|"
            "duration|intorstring|quantity; flags: r=repeated, o=+optional, "
            "p=pointer scalar (keep explicit zero), i=inline (embedded struct); "
            "ref: message name, map value type, or '' when not decoded"
        ),
        "undecoded": missing,
        "roots": ROOTS,
        "messages": table,
    }


def _check_lists(table: dict[str, Any]) -> None:
    names = {f"{m}.{e[0]}" for m, fields in table.items() for e in fields.values()}
    names |= {f"{m}.{k}" for m in table for k in JSON_NAMES if k.startswith(m)}
    for path in sorted(POINTER_SCALARS | INLINE):
        message = path.rsplit(".", 1)[0]
        if message in table and path not in names:
            raise SystemExit(f"listed field not found in the .proto input: {path}")


def dump(table: dict[str, Any]) -> str:
    """JSON with one line per message, so that regenerating gives readable diffs."""
    lines = ["{"]
    for key in sorted(k for k in table if k != "messages"):
        lines.append(f"{json.dumps(key)}: {json.dumps(table[key], sort_keys=True)},")
    lines.append('"messages": {')
    items = sorted(table["messages"].items())
    for i, (name, fields) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(name)}: {json.dumps(fields)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proto_dir", type=Path)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).resolve().parents[1]
        / "kubecourse/embedded/data/protobuf_fields.json",
    )
    args = parser.parse_args()
    messages: Raw = {}
    for path in sorted(args.proto_dir.glob("*.proto")):
        parse_proto(path.read_text(), messages)
    table = build(messages)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dump(table))
    print(f"{len(table['messages'])} messages -> {args.output}")
    if table["undecoded"]:
        print("not decoded (no .proto input):", ", ".join(table["undecoded"]))


if __name__ == "__main__":
    main()
