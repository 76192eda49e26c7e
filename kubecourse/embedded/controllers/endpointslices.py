"""The EndpointSlice controller: `discovery.k8s.io/v1` slices for selecting Services.

Faithful: slices named by `generateName: <service>-`, labelled with the Service's labels,
`kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`, owned by the Service (controller ownerReference),
`addressType: IPv4`; one slice per distinct port list (at most 100 endpoints each), each
endpoint `{addresses: [ip], conditions: {ready, serving, terminating}, nodeName,
targetRef}`; terminating pods stay listed with `ready: false, terminating: true` and
`serving` from their Ready condition; `publishNotReadyAddresses` makes every endpoint
ready; a Service selecting nothing keeps one empty placeholder slice; slices are
rewritten only when their content changes (no resourceVersion churn) and carry
`endpoints.kubernetes.io/last-change-trigger-time`.

Simplified: endpoints are ordered by IP rather than kept in place across updates, and no
zone hints are computed (kind nodes have no zone labels anyway).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Controller, Key, Obj, owner_reference
from kubecourse.embedded.controllers.endpoints import (
    TRIGGER,
    owned_labels,
    pod_ports,
    selected_pods,
    services_selecting,
    target_ref,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change, Store

SLICES = "endpointslices.discovery.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MANAGER = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100


def slice_endpoint(svc: Obj, pod: Obj) -> Obj:
    terminating = podutil.is_terminating(pod)
    ready = podutil.is_ready(pod)
    if svc["spec"].get("publishNotReadyAddresses"):
        conditions = {"ready": True, "serving": True, "terminating": terminating}
    else:
        conditions = {
            "ready": ready and not terminating,
            "serving": ready,
            "terminating": terminating,
        }
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": conditions,
        "targetRef": target_ref(pod),
    }
    if pod["spec"].get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    return endpoint


def managed_slices(store: Store, key: Key, manager: str) -> list[Obj]:
    """The EndpointSlices of Service `key` (namespace, name) that `manager` manages."""
    found = []
    for piece in store.items(SLICES, key[0]):
        labels = piece["metadata"].get("labels") or {}
        if labels.get(SERVICE_NAME) == key[1] and labels.get(MANAGED_BY) == manager:
            found.append(piece)
    return found


def desired_slices(svc: Obj, pods: list[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) for each slice the Service should have."""
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in pods:
        ports = [_slice_port(p) for p in pod_ports(svc, pod)]
        if svc["spec"].get("ports") and not ports:
            continue
        key = repr(ports)
        groups.setdefault(key, (ports, []))[1].append(slice_endpoint(svc, pod))
    wanted: list[tuple[list[Obj], list[Obj]]] = []
    for ports, endpoints in groups.values():
        for start in range(0, len(endpoints), MAX_ENDPOINTS):
            wanted.append((ports, endpoints[start : start + MAX_ENDPOINTS]))
    return wanted or [([], [])]


def _slice_port(port: Obj) -> Obj:
    entry: Obj = {
        "name": port.get("name", ""),
        "port": port["port"],
        "protocol": port["protocol"],
    }
    if port.get("appProtocol"):
        entry["appProtocol"] = port["appProtocol"]
    return entry


class EndpointSliceController(Controller):
    name = "endpointslice"
    watches = ("services", "pods", SLICES)

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "pods":
            return services_selecting(self.store, change.obj, change.old)
        if change.resource == SLICES:
            labels = change.obj["metadata"].get("labels") or {}
            if labels.get(MANAGED_BY) != MANAGER or SERVICE_NAME not in labels:
                return []
            return [(change.obj["metadata"]["namespace"], labels[SERVICE_NAME])]
        return super().keys_for(change)

    async def reconcile(self, key: Key) -> float | None:
        svc = self.store.get("services", *key)
        existing = self._slices(key)
        if svc is None or not svc["spec"].get("selector"):
            for stale in existing:
                self._delete(stale)  # the Service's garbage collection would do it too
            return None

        wanted = desired_slices(svc, selected_pods(self.store, svc))
        labels = {**owned_labels(svc), SERVICE_NAME: key[1], MANAGED_BY: MANAGER}
        unmatched = list(existing)
        for ports, endpoints in wanted:
            current = _take_match(unmatched, ports)
            self._write(svc, current, labels, ports, endpoints)
        for stale in unmatched:
            self._delete(stale)
        return None

    def _slices(self, key: Key) -> list[Obj]:
        return managed_slices(self.store, key, MANAGER)

    def _write(
        self,
        svc: Obj,
        current: Obj | None,
        labels: dict[str, str],
        ports: list[Obj],
        endpoints: list[Obj],
    ) -> None:
        body = copy.deepcopy(current) if current else _new_slice(svc)
        content = (
            body.get("endpoints"),
            body.get("ports"),
            body["metadata"].get("labels"),
        )
        if current is not None and content == (endpoints, ports, labels):
            return
        body["metadata"]["labels"] = labels
        body["metadata"].setdefault("annotations", {})[TRIGGER] = podutil.iso()
        body["endpoints"] = endpoints
        body["ports"] = ports
        rt = self.ctx.rt(SLICES)
        try:
            if current is None:
                self.api.create(rt, svc["metadata"]["namespace"], body)
            else:
                self.api.update(
                    rt, svc["metadata"]["namespace"], current["metadata"]["name"], body
                )
        except StatusError as err:
            if err.code not in (403, 404, 409):
                raise

    def _delete(self, obj: Obj) -> None:
        try:
            self.api.delete(
                self.ctx.rt(SLICES),
                obj["metadata"]["namespace"],
                obj["metadata"]["name"],
            )
        except StatusError:
            pass


def _new_slice(svc: Obj) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{svc['metadata']['name']}-",
            "ownerReferences": [owner_reference(svc)],
        },
        "addressType": "IPv4",
    }


def _take_match(slices: list[Obj], ports: list[Obj]) -> Obj | None:
    """An existing slice for these ports (removed from the list), preferring one whose
    ports already match."""
    for candidate in slices:
        if (candidate.get("ports") or []) == ports:
            slices.remove(candidate)
            return candidate
    return slices.pop(0) if slices else None
