"""Tidy rows for notebooks: pods, endpoints and nodes as a learner wants to read them.

`Rows` is a list that prints like `kubectl get` in a terminal and renders as an HTML
table in JupyterLab, so a cell ending in `cluster.pods()` shows a readable table while
code can still index and filter the rows.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PodRow:
    name: str
    ip: str | None
    node: str | None
    phase: str
    ready: bool
    status: str
    restarts: int
    age: str


@dataclass(frozen=True)
class EndpointRow:
    ip: str
    ports: str
    ready: bool
    pod: str | None
    node: str | None


@dataclass(frozen=True)
class NodeRow:
    name: str
    status: str
    roles: str
    internal_ip: str | None
    pod_cidr: str | None
    pods: int
    version: str


class Rows(list[T], Generic[T]):
    """A list of dataclass rows with a kubectl-like text form and an HTML table form."""

    def __init__(self, rows: list[T], title: str = "") -> None:
        super().__init__(rows)
        self.title = title

    def _columns(self) -> list[str]:
        return [f.name for f in fields(self[0])] if self else []  # type: ignore[arg-type]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in self]  # type: ignore[call-overload]

    def __str__(self) -> str:
        if not self:
            return f"No {self.title or 'rows'} found."
        columns = self._columns()
        table = [[c.upper() for c in columns]] + [[_text(v) for v in d.values()] for d in self.as_dicts()]
        widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
        return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table)

    def _repr_html_(self) -> str:
        if not self:
            return f"<p><em>No {html.escape(self.title or 'rows')} found.</em></p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self._columns())
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in d.values()) + "</tr>"
            for d in self.as_dicts()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def age(timestamp: Any, now: datetime | None = None) -> str:
    """`kubectl get`'s AGE column from a creationTimestamp (datetime or RFC 3339)."""
    if timestamp is None:
        return "<unknown>"
    if isinstance(timestamp, str):
        try:
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            return "<unknown>"
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - timestamp).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def pod_row(pod: dict[str, Any]) -> PodRow:
    status = pod.get("status") or {}
    meta = pod["metadata"]
    statuses = status.get("containerStatuses") or []
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    return PodRow(
        name=meta["name"],
        ip=status.get("podIP"),
        node=(pod.get("spec") or {}).get("nodeName"),
        phase=status.get("phase", "Pending"),
        ready=conditions.get("Ready") == "True",
        status=pod_status_text(pod),
        restarts=sum(int(s.get("restartCount", 0)) for s in statuses),
        age=age(meta.get("creationTimestamp")),
    )


def pod_status_text(pod: dict[str, Any]) -> str:
    """The STATUS kubectl prints: Terminating, a waiting reason, or the phase."""
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    if status.get("reason"):
        return str(status["reason"])
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        for key in ("waiting", "terminated"):
            reason = (state.get(key) or {}).get("reason")
            if reason:
                return str(reason)
    return str(status.get("phase", "Pending"))


def endpoint_rows(slices: Iterable[dict[str, Any]]) -> list[EndpointRow]:
    """One row per address of the EndpointSlices (as the API serves them)."""
    rows = []
    for es in slices:
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in es.get("ports") or []) or "<none>"
        for ep in es.get("endpoints") or []:
            conditions = ep.get("conditions") or {}
            target = ep.get("targetRef") or {}
            for ip in ep.get("addresses") or []:
                ready = conditions.get("ready") is not False
                rows.append(EndpointRow(ip, ports, ready, target.get("name"), ep.get("nodeName")))
    return rows


def node_row(node: dict[str, Any], pods: int) -> NodeRow:
    status = node.get("status") or {}
    ready = next((c["status"] for c in status.get("conditions") or [] if c["type"] == "Ready"), "Unknown")
    text = {"True": "Ready", "False": "NotReady"}.get(ready, "NotReady")
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    internal = next((a["address"] for a in status.get("addresses") or [] if a["type"] == "InternalIP"), None)
    return NodeRow(
        name=node["metadata"]["name"],
        status=text,
        roles=roles,
        internal_ip=internal,
        pod_cidr=(node.get("spec") or {}).get("podCIDR"),
        pods=pods,
        version=(status.get("nodeInfo") or {}).get("kubeletVersion", ""),
    )


def ip_key(ip: str) -> tuple[int, ...]:
    """Sort addresses numerically (10.244.1.9 before 10.244.1.10)."""
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (999,)
