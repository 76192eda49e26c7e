"""`/apis/metrics.k8s.io/v1beta1`, answered as metrics-server answers behind its
aggregated APIService: `kubectl top` and the HPA controller read it.

Faithful: `nodes` (NodeMetrics, cluster-scoped) and `pods` (PodMetrics, namespaced, and
across namespaces), verbs get and list only; a list takes label selectors (matched
against the nodes' and pods' own labels) and field selectors; objects are built from
the last scrape (`metrics.ResourceMetrics`) for the nodes and Running pods it covers,
sorted by namespace and name.  Errors are metrics-server's: an unknown pod is
`pods "x" not found`, a pod without metrics yet `podmetrics.metrics.k8s.io "ns/x" not
found`,
any write 405 MethodNotAllowed, a watch 405 `watch is not supported on resources of kind
"pods.metrics.k8s.io"`.  `kubectl get podmetrics` gets metrics-server's Table: Name,
cpu, memory, Window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kubecourse.embedded import metrics, quantity, status
from kubecourse.embedded.api import Api
from kubecourse.embedded.metrics import ResourceMetrics
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.server import Target

Obj = dict[str, Any]
Handler = Callable[[web.Request, Target], Awaitable[web.StreamResponse]]

_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name of the resource",
    "priority": 0,
}
_COLUMNS = [
    _NAME_COLUMN,
    {
        "name": "cpu",
        "type": "string",
        "format": "quantity",
        "description": "",
        "priority": 0,
    },
    {
        "name": "memory",
        "type": "string",
        "format": "quantity",
        "description": "",
        "priority": 0,
    },
    {
        "name": "Window",
        "type": "string",
        "format": "duration",
        "description": "",
        "priority": 0,
    },
]


def handler(api: Api, scraped: ResourceMetrics) -> Handler:
    """The request handler the HTTP layer hands every metrics.k8s.io request to."""
    served = MetricsApi(api, scraped)

    async def serve(request: web.Request, target: Target) -> web.StreamResponse:
        return served.serve(request, target)

    return serve


class MetricsApi:
    def __init__(self, api: Api, scraped: ResourceMetrics) -> None:
        self.api = api
        self.scraped = scraped

    def serve(self, request: web.Request, t: Target) -> web.Response:
        if request.method != "GET" or t.subresource is not None:
            raise status.method_not_allowed()
        if request.query.get("watch") in ("true", "1", "True"):
            raise _watch_not_supported(t.rt)

        now = time.time()
        if t.name is None:
            items = self.list(
                t.rt,
                t.namespace,
                request.query.get("labelSelector"),
                request.query.get("fieldSelector"),
                now,
            )
            return _respond(request, t.rt, items, listing=True)
        return _respond(
            request, t.rt, [self.get(t.rt, t.namespace, t.name, now)], listing=False
        )

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: str | None,
        fields: str | None,
        now: float,
    ) -> list[Obj]:
        source = self.api.registry.get("pods" if rt.kind == "PodMetrics" else "nodes")
        objects = self.api.list(
            source, namespace, label_selector=labels, field_selector=fields
        ).items
        found = (self._metrics_of(rt, obj, now) for obj in objects)
        return [item for item in found if item is not None]

    def get(
        self, rt: ResourceType, namespace: str | None, name: str, now: float
    ) -> Obj:
        source = self.api.registry.get("pods" if rt.kind == "PodMetrics" else "nodes")
        obj = self.api.get(
            source, namespace, name
        )  # `pods "x" not found` when there is none
        item = self._metrics_of(rt, obj, now)
        if item is None:
            raise _no_metrics(rt, f"{namespace}/{name}" if rt.namespaced else name)
        return item

    def _metrics_of(self, rt: ResourceType, obj: Obj, now: float) -> Obj | None:
        meta = obj["metadata"]
        if rt.kind == "NodeMetrics":
            node = self.scraped.nodes.get(meta["name"])
            return metrics.node_metrics(node, obj, now) if node is not None else None
        pod = self.scraped.pod(meta.get("namespace") or "", meta["name"])
        if pod is None or (obj.get("status") or {}).get("phase") != "Running":
            return None
        return metrics.pod_metrics(pod, obj, now)


def _no_metrics(rt: ResourceType, name: str) -> status.StatusError:
    # metrics-server names its storage `podmetrics` / `nodemetrics` in these errors.
    resource = rt.kind.lower()
    return status.StatusError(
        404,
        "NotFound",
        f'{resource}.{rt.group} "{name}" not found',
        {"name": name, "group": rt.group, "kind": resource},
    )


def _watch_not_supported(rt: ResourceType) -> status.StatusError:
    return status.StatusError(
        405,
        "MethodNotAllowed",
        f'watch is not supported on resources of kind "{rt.qualified}"',
        {"group": rt.group, "kind": rt.plural},
    )


def _respond(
    request: web.Request, rt: ResourceType, items: list[Obj], *, listing: bool
) -> web.Response:
    if "as=Table" in request.headers.get("Accept", ""):
        body = table(items, request.query.get("includeObject", "Metadata"))
    elif listing:
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {},
            "items": items,
        }
    else:
        body = items[0]
    return web.Response(
        text=json.dumps(body, separators=(",", ":")), content_type="application/json"
    )


def table(items: list[Obj], include_object: str = "Metadata") -> Obj:
    """metrics-server's Table: the name, each resource summed over containers, the window."""
    rows = []
    for item in items:
        cpu, memory = _totals(item)
        row: Obj = {
            "cells": [
                item["metadata"]["name"],
                quantity.from_nano(cpu),
                quantity.from_bytes(memory),
                item["window"],
            ]
        }
        if include_object == "Object":
            row["object"] = item
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": dict(item["metadata"]),
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": [dict(c) for c in _COLUMNS] if items else [],
        "rows": rows,
    }


def _totals(item: Obj) -> tuple[int, int]:
    usages = [c["usage"] for c in item.get("containers") or []] or [
        item.get("usage") or {}
    ]
    cpu = sum(int(quantity.parse(u.get("cpu", "0")) * 10**9) for u in usages)
    memory = sum(int(quantity.parse(u.get("memory", "0"))) for u in usages)
    return cpu, memory
