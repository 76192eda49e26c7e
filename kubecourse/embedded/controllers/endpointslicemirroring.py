"""The EndpointSliceMirroring controller: hand-written Endpoints, as EndpointSlices.

A Service without a selector gets no addresses from the endpoints and endpointslice
controllers; its Endpoints are written by hand (an external database, say), and this
controller mirrors them into EndpointSlices, which is what `kubectl describe svc`,
kube-proxy and the simulated network read.

Faithful (`pkg/controller/endpointslicemirroring`): Endpoints are mirrored when a
Service of the same name exists without a selector, unless they are labelled
`endpointslice.kubernetes.io/skip-mirror: "true"` (the `kubernetes` Service's are), carry
a leader-election annotation, or are the endpoints controller's own (`endpoints.
kubernetes.io/managed-by: endpoint-controller`, left behind when a selector was
removed).  Each subset's ports and address family make one slice, `generateName:
<service>-`, labelled with the Endpoints' labels plus `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io`,
annotated with the Endpoints' annotations but the trigger time and
`last-applied-configuration`, and owned by the Endpoints object (a controller
ownerReference to `v1 Endpoints`, as upstream), so the garbage collector removes the
slices with it; each address becomes an endpoint `{addresses, conditions: {ready},
hostname, nodeName, targetRef}`, ready for `addresses` and not for `notReadyAddresses`;
ports keep their name (empty when unnamed), port, protocol and appProtocol; an address
that is not an IP is skipped.  Slices follow every change of the Endpoints and are
deleted when the Endpoints or the Service go, or the Service gains a selector.

Simplified: subsets with the same ports share a slice without upstream's limit of 1000
addresses per subset, and slices are rewritten whole rather than patched in place.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable

from kubecourse.embedded.controllers.base import Controller, Key, Obj
from kubecourse.embedded.controllers.endpoints import MANAGED_BY as ENDPOINTS_MANAGED_BY
from kubecourse.embedded.controllers.endpoints import MANAGER as ENDPOINTS_MANAGER
from kubecourse.embedded.controllers.endpoints import TRIGGER
from kubecourse.embedded.controllers.endpointslices import (
    MANAGED_BY,
    SERVICE_NAME,
    SLICES,
    managed_slices,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

MIRROR_MANAGER = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ELECTION = "control-plane.alpha.kubernetes.io/leader"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Slice = tuple[str, list[Obj], list[Obj]]  # address type, ports, endpoints


def should_mirror(endpoints: Obj) -> bool:
    meta = endpoints["metadata"]
    labels = meta.get("labels") or {}
    return (
        labels.get(SKIP_MIRROR) != "true"
        and LEADER_ELECTION not in (meta.get("annotations") or {})
        and labels.get(ENDPOINTS_MANAGED_BY) != ENDPOINTS_MANAGER
    )


def mirrored_slices(endpoints: Obj) -> list[Slice]:
    """(address type, ports, endpoints) of every slice the Endpoints make."""
    groups: dict[str, Slice] = {}
    for subset in endpoints.get("subsets") or []:
        ports = [_slice_port(p) for p in subset.get("ports") or []]
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field) or []:
                mirrored = _endpoint(address, ready)
                if mirrored is None:
                    continue
                family, endpoint = mirrored
                key = f"{family}{ports!r}"
                groups.setdefault(key, (family, ports, []))[2].append(endpoint)
    return list(groups.values())


def _endpoint(address: Obj, ready: bool) -> tuple[str, Obj] | None:
    try:
        ip = ipaddress.ip_address(str(address.get("ip")))
    except ValueError:
        return None
    endpoint: Obj = {"addresses": [str(ip)], "conditions": {"ready": ready}}
    if address.get("hostname"):
        endpoint["hostname"] = address["hostname"]
    if address.get("nodeName"):
        endpoint["nodeName"] = address["nodeName"]
    if address.get("targetRef"):
        endpoint["targetRef"] = copy.deepcopy(address["targetRef"])
    return ("IPv4" if ip.version == 4 else "IPv6"), endpoint


def _slice_port(port: Obj) -> Obj:
    entry: Obj = {
        "name": port.get("name") or "",
        "port": port.get("port"),
        "protocol": port.get("protocol") or "TCP",
    }
    if port.get("appProtocol"):
        entry["appProtocol"] = port["appProtocol"]
    return entry


def slice_meta(endpoints: Obj) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations a mirrored slice carries."""
    meta = endpoints["metadata"]
    labels = {
        **(meta.get("labels") or {}),
        SERVICE_NAME: meta["name"],
        MANAGED_BY: MIRROR_MANAGER,
    }
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in (TRIGGER, LAST_APPLIED)
    }
    return labels, annotations


class EndpointSliceMirroringController(Controller):
    name = "endpointslicemirroring"
    watches = ("endpoints", "services", SLICES)

    def keys_for(self, change: Change) -> Iterable[Key]:
        meta = change.obj["metadata"]
        if change.resource == SLICES:
            labels = meta.get("labels") or {}
            if labels.get(MANAGED_BY) != MIRROR_MANAGER or not labels.get(SERVICE_NAME):
                return []
            return [(meta["namespace"], labels[SERVICE_NAME])]
        if change.resource == "endpoints":
            olds = [change.old] if change.old is not None else []
            if not any(should_mirror(e) for e in [change.obj, *olds]):
                return []
        return [(meta.get("namespace") or "", meta["name"])]

    async def reconcile(self, key: Key) -> float | None:
        endpoints = self.store.get("endpoints", *key)
        svc = self.store.get("services", *key)
        existing = self._mirrored(key)
        if (
            endpoints is None
            or not should_mirror(endpoints)
            or svc is None
            or svc["spec"].get("selector")
        ):
            for stale in existing:
                self._delete(stale)
            return None

        labels, annotations = slice_meta(endpoints)
        for family, ports, addresses in mirrored_slices(endpoints):
            current = _take_match(existing, family, ports)
            self._write(
                endpoints, current, family, ports, addresses, labels, annotations
            )
        for stale in existing:
            self._delete(stale)
        return None

    def _mirrored(self, key: Key) -> list[Obj]:
        return managed_slices(self.store, key, MIRROR_MANAGER)

    def _write(
        self,
        endpoints: Obj,
        current: Obj | None,
        family: str,
        ports: list[Obj],
        addresses: list[Obj],
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> None:
        body = copy.deepcopy(current) if current else _new_slice(endpoints, family)
        wanted = (addresses, ports, labels, annotations)
        meta = body["metadata"]
        have = (
            body.get("endpoints"),
            body.get("ports"),
            meta.get("labels"),
            meta.get("annotations") or {},
        )
        if current is not None and have == wanted:
            return
        meta["labels"] = labels
        meta["annotations"] = annotations
        body["endpoints"] = addresses
        body["ports"] = ports
        namespace = endpoints["metadata"]["namespace"]
        rt = self.ctx.rt(SLICES)
        try:
            if current is None:
                self.api.create(rt, namespace, body)
            else:
                self.api.update(rt, namespace, meta["name"], body)
        except StatusError as err:
            if err.code != 403:  # the namespace is going away
                raise

    def _delete(self, obj: Obj) -> None:
        meta = obj["metadata"]
        try:
            self.api.delete(self.ctx.rt(SLICES), meta["namespace"], meta["name"])
        except StatusError as err:
            if err.code != 404:
                raise


def _new_slice(endpoints: Obj, family: str) -> Obj:
    meta = endpoints["metadata"]
    owner = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"generateName": f"{meta['name']}-", "ownerReferences": [owner]},
        "addressType": family,
    }


def _take_match(slices: list[Obj], family: str, ports: list[Obj]) -> Obj | None:
    """An existing slice of this address type (removed from the list), preferring one
    whose ports already match; the address type of a slice cannot change."""
    same_family = [s for s in slices if s.get("addressType") == family]
    for candidate in same_family:
        if (candidate.get("ports") or []) == ports:
            slices.remove(candidate)
            return candidate
    if same_family:
        slices.remove(same_family[0])
        return same_family[0]
    return None
