"""The explanation of a translation, as Markdown (for notebooks) and as a Mermaid chart.

The report is grouped by compose service, each with a table of compose key -> Kubernetes
target -> why, then what was dropped or approximated. The chart is drawn from the
manifests themselves (Ingress paths -> Services -> workloads), so it cannot disagree
with what would be applied.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kubecourse.compose.context import Manifest
from kubecourse.compose.model import Decision

if TYPE_CHECKING:
    from kubecourse.compose.result import TranslationResult

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def report_markdown(result: TranslationResult) -> str:
    lines = [f"# Translation of `{result.project}`", "", _summary(result), ""]
    if result.renames:
        lines += ["## Renamed", "", "| compose | Kubernetes |", "|---|---|"]
        lines += [f"| `{old}` | `{new}` |" for old, new in result.renames.items()]
        lines.append("")
    for service in result.by_service:
        lines += _service_section(result, service)
    project_level = [d for d in result.decisions if d.service not in result.by_service]
    project_warnings = [
        w for w in result.warnings if w.service not in result.by_service
    ]
    if project_level or project_warnings:
        lines += _section("Project", project_level, project_warnings)
    return "\n".join(lines).rstrip() + "\n"


def _summary(result: TranslationResult) -> str:
    counts: dict[str, int] = {}
    for manifest in result.objects:
        counts[manifest["kind"]] = counts.get(manifest["kind"], 0) + 1
    made = ", ".join(_count(n, kind) for kind, n in counts.items()) or "no objects"
    return (f"{_count(len(result.by_service), 'compose service')} became {made}; "
            f"{_count(len(result.decisions), 'decision')}, "
            f"{_count(len(result.warnings), 'warning')}.")  # fmt: skip


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {_plural(noun)}"


def _plural(noun: str) -> str:
    """English plural of a kind or noun: Ingresses, NetworkPolicies, Gateways."""
    if noun.endswith(("s", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1].lower() not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def _service_section(result: TranslationResult, service: str) -> list[str]:
    decisions = [d for d in result.decisions if d.service == service]
    warnings = [w for w in result.warnings if w.service == service]
    return _section(f"Service `{service}`", decisions, warnings)


def _section(
    title: str, decisions: list[Decision], warnings: list[Decision]
) -> list[str]:
    lines = [f"## {title}", ""]
    if decisions:
        lines += ["| compose | Kubernetes | why |", "|---|---|---|"]
        lines += [f"| {_cell(d.compose_key)} | {_cell(d.target)} | {_cell(d.explanation)} |"
                  for d in decisions]  # fmt: skip
        lines.append("")
    if warnings:
        lines += ["**Dropped or approximated:**", ""]
        lines += [
            f"- `{w.compose_key}` → {w.target}: {w.explanation}" for w in warnings
        ]
        lines.append("")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def mermaid(result: TranslationResult) -> str:
    """A flowchart: Ingress -> Services -> workloads; workers in their own box."""
    lines = ["flowchart LR"]
    workloads = [m for m in result.objects if m["kind"] in WORKLOAD_KINDS]
    services = [m for m in result.objects if m["kind"] == "Service"]
    served = {_selector(s) for s in services}
    for manifest in workloads:
        if _name(manifest) in served:
            lines.append(f"  {_node(manifest)}")
    workers = [m for m in workloads if _name(m) not in served]
    if workers:
        lines.append('  subgraph workers["background work (no Service)"]')
        lines += [f"    {_node(m)}" for m in workers]
        lines.append("  end")
    for service in services:
        lines.append(
            f"  {_node(service)} --> {_id(_kind_of(workloads, _selector(service)), _selector(service))}"
        )
    for ingress in (m for m in result.objects if m["kind"] == "Ingress"):
        lines += _ingress_edges(ingress)
    return "\n".join(lines) + "\n"


def _ingress_edges(ingress: Manifest) -> list[str]:
    lines = [f"  {_node(ingress)}"]
    spec = ingress["spec"]
    for rule in spec.get("rules", []):
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            label = f"{rule.get('host', '')}{path['path']}"
            lines.append(
                f'  {_id("Ingress", str(_name(ingress)))} -- "{label}" --> {_id("Service", backend["name"])}'
            )
    return lines


def _node(manifest: Manifest) -> str:
    kind, name = str(manifest["kind"]), _name(manifest)
    node_id = _id(kind, name)
    if kind == "Ingress":
        return f'{node_id}[/"Ingress {name}"/]'
    if kind == "Service":
        ports = ", ".join(str(p["port"]) for p in manifest["spec"]["ports"])
        return f'{node_id}(["Service {name} :{ports}"])'
    detail = _workload_detail(manifest)
    return f'{node_id}["{kind} {name}<br/>{detail}"]'


def _workload_detail(manifest: Manifest) -> str:
    spec = manifest["spec"]
    if manifest["kind"] == "Job":
        return "runs once"
    if manifest["kind"] == "DaemonSet":
        return "one per node"
    strategy = spec.get("strategy", {}).get("type", "")
    replicas = spec.get("replicas", 1)
    return f"replicas {replicas}" + (f", {strategy}" if strategy else "")


def _kind_of(workloads: list[Manifest], name: str) -> str:
    for manifest in workloads:
        if _name(manifest) == name:
            return str(manifest["kind"])
    return "Deployment"


def _selector(service: Manifest) -> str:
    return str(service["spec"]["selector"]["app.kubernetes.io/name"])


def _name(manifest: Manifest) -> str:
    return str(manifest["metadata"]["name"])


def _id(kind: str, name: str) -> str:
    return f"{kind.lower()}_{re.sub(r'[^a-zA-Z0-9]', '_', name)}"
