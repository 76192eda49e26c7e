"""Server-side Tables (`meta.k8s.io/v1`), the columns `kubectl get` prints.

Faithful to the upstream printers (`pkg/printers/internalversion/printers.go`): the column
names, types, formats, priorities (priority 1 = shown by `-o wide`; the server always sends
every column, kubectl hides the wide ones), the cell values and their JSON types, and the
pod STATUS / RESTARTS logic, node STATUS and ROLES, Service EXTERNAL-IP and PORT(S), the
`+ N more...` endpoint lists, and `HumanDuration` ages.  Column descriptions that
upstream takes from the API documentation come from the same upstream schemas.

Not faithful: the upstream fallback for a kind without a printer is `NAME, CREATED AT`;
here it is `NAME, AGE`, like kubectl's own client-side fallback.  Quantities (PV/PVC
capacity) are shown as stored rather than re-canonicalised.

The printers live by area (`pods`, `workloads`, `network`, `cluster`, `added`,
`beyond`), sharing
`common`; this module assembles them into the Table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from typing import Any

from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.tables import added, beyond, cluster, network, pods, workloads
from kubecourse.embedded.tables.cluster import node_roles, node_status
from kubecourse.embedded.tables.common import (
    AGE,
    NAME,
    Cell,
    CellFunction,
    Column,
    Obj,
    Printer,
    _get,
    age,
    format_label_selector,
    human_duration,
    parse_time,
)
from kubecourse.embedded.tables.network import format_endpoints
from kubecourse.embedded.tables.pods import _pod_conditions

__all__ = [
    "age",
    "build_table",
    "column_definitions",
    "format_endpoints",
    "format_label_selector",
    "human_duration",
    "node_roles",
    "node_status",
    "parse_time",
    "table_row",
]

# ---------------------------------------------------------------- the Table

_DEFAULT_COLUMNS = (NAME, AGE)


def _default_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    **pods.PRINTERS,
    **workloads.PRINTERS,
    **network.PRINTERS,
    **cluster.PRINTERS,
    **added.PRINTERS,
    **beyond.PRINTERS,
}


def _printer(rt: ResourceType) -> tuple[tuple[Column, ...], CellFunction]:
    return PRINTERS.get((rt.group, rt.kind), (_DEFAULT_COLUMNS, _default_cells))


@cache
def column_definitions(group: str, kind: str) -> tuple[dict[str, Any], ...]:
    columns, _ = PRINTERS.get((group, kind), (_DEFAULT_COLUMNS, _default_cells))
    return tuple(column.definition() for column in columns)


def _row_object(
    rt: ResourceType, obj: Obj, include_object: str
) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return {"kind": rt.kind, "apiVersion": rt.api_version, **obj}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def table_row(
    rt: ResourceType, obj: Obj, *, include_object: str = "Metadata", now: datetime
) -> dict[str, Any]:
    _, cells = _printer(rt)
    row: dict[str, Any] = {"cells": cells(obj, now)}
    if rt.group == "" and rt.kind == "Pod":
        conditions = _pod_conditions(obj)
        if conditions:
            row["conditions"] = conditions
    embedded = _row_object(rt, obj, include_object)
    if embedded is not None:
        row["object"] = embedded
    return row


def build_table(
    rt: ResourceType,
    objects: Sequence[Obj],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    now: datetime | None = None,
    include_headers: bool = True,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects` (all columns, wide ones at priority 1).

    `include_object` is the `includeObject` query parameter: `None`, `Metadata`
    (`PartialObjectMetadata`, the default) or `Object`.  Without headers (watch events
    after the first) `columnDefinitions` is null, as the API server sends it.
    """
    moment = now or datetime.now(timezone.utc)
    metadata = {"resourceVersion": resource_version} if resource_version else {}
    headers = [dict(c) for c in column_definitions(rt.group, rt.kind)]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": headers if include_headers else None,
        "rows": [
            table_row(rt, obj, include_object=include_object, now=moment)
            for obj in objects
        ],
    }
