"""The Endpoints controller: each selecting Service's pod addresses, grouped by ports.

Faithful: an Endpoints object named like the Service, for Services with a non-empty
selector only, carrying the Service's labels (plus `service.kubernetes.io/headless` for
a headless one) and `endpoints.kubernetes.io/managed-by: endpoint-controller`; pods with an IP that are neither terminal nor being deleted are
listed, ready ones in `addresses` and the others in `notReadyAddresses` (all in
`addresses` with `publishNotReadyAddresses`), each `{ip, nodeName, targetRef}`;
subsets group addresses with identical port lists, a named `targetPort` resolved per
pod through its container ports (a pod lacking the name drops that port); addresses
are sorted by IP; the object is written only when its content changes, stamped with
the `endpoints.kubernetes.io/last-change-trigger-time` annotation.  As upstream, only
a sync of a deleted Service's key deletes Endpoints (and, at the controller's start,
those it manages whose Service is gone); Endpoints of a Service without a selector or
of an ExternalName Service are left alone (they are written by hand, and mirrored into
EndpointSlices by `endpointslicemirroring`), so Endpoints created before their Service
stay, and removing a selector leaves the last addresses in place; a deleted Endpoints
object of a selecting Service is written again.

Simplified: the trigger time is the moment of the write, not the pod change's time.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Controller, Key, Obj
from kubecourse.embedded.selectors import service_selector
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change, Store

TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS = "service.kubernetes.io/headless"
MANAGED_BY = "endpoints.kubernetes.io/managed-by"
MANAGER = "endpoint-controller"


def selected_pods(store: Store, svc: Obj) -> list[Obj]:
    """Pods the Service selects that have an IP and are not terminal, by IP."""
    selector = service_selector(svc["spec"].get("selector"))
    pods = [
        p
        for p in store.items("pods", svc["metadata"]["namespace"])
        if selector.matches(p["metadata"].get("labels"))
        and (p.get("status") or {}).get("podIP")
        and not podutil.is_terminal(p)
    ]
    return sorted(pods, key=lambda p: ipaddress.ip_address(p["status"]["podIP"]))


def services_selecting(store: Store, pod: Obj, old: Obj | None) -> list[Key]:
    """Services in the pod's namespace whose selector matches its labels, now or before."""
    namespace = pod["metadata"].get("namespace") or ""
    label_sets = [pod["metadata"].get("labels")]
    if old is not None:
        label_sets.append(old["metadata"].get("labels"))
    keys = []
    for svc in store.items("services", namespace):
        selector = service_selector(svc["spec"].get("selector"))
        if any(selector.matches(labels) for labels in label_sets):
            keys.append((namespace, svc["metadata"]["name"]))
    return keys


def pod_ports(svc: Obj, pod: Obj) -> list[Obj]:
    """The Service's ports as this pod serves them (named targetPorts resolved)."""
    ports = []
    for port in svc["spec"].get("ports") or []:
        number = target_port(port.get("targetPort", port.get("port")), pod)
        if number is None:
            continue
        entry: Obj = {"port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            entry["name"] = port["name"]
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        ports.append(entry)
    return ports


def target_port(value: object, pod: Obj) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == text:
                return int(port["containerPort"])
    return None


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {
        "kind": "Pod",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
    }


def owned_labels(svc: Obj) -> dict[str, str]:
    labels = dict(svc["metadata"].get("labels") or {})
    if svc["spec"].get("clusterIP") == "None":
        labels[HEADLESS] = ""
    return labels


def build_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    publish = bool(svc["spec"].get("publishNotReadyAddresses"))
    groups: dict[str, Obj] = {}
    for pod in pods:
        if podutil.is_terminating(pod) and not publish:
            continue
        ports = pod_ports(svc, pod)
        if svc["spec"].get("ports") and not ports:
            continue
        key = repr(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        subset = groups.setdefault(key, {"ports": ports} if ports else {})
        address = {
            "ip": pod["status"]["podIP"],
            "nodeName": pod["spec"].get("nodeName"),
            "targetRef": target_ref(pod),
        }
        field = "addresses" if publish or podutil.is_ready(pod) else "notReadyAddresses"
        subset.setdefault(field, []).append(address)
    return list(groups.values())


class EndpointsController(Controller):
    name = "endpoints"
    watches = ("services", "pods", "endpoints")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "pods":
            return services_selecting(self.store, change.obj, change.old)
        if change.resource == "endpoints" and change.type != "DELETED":
            return []  # upstream reacts to a deleted Endpoints object only
        return super().keys_for(change)

    def initial_keys(self) -> Iterable[Key]:
        """Every Service, and leftover Endpoints of ours whose Service is gone
        (upstream `checkLeftoverEndpoints`)."""
        for svc in list(self.store.items("services")):
            yield (svc["metadata"]["namespace"], svc["metadata"]["name"])
        for endpoints in list(self.store.items("endpoints")):
            meta = endpoints["metadata"]
            if (meta.get("labels") or {}).get(MANAGED_BY) == MANAGER:
                yield (meta["namespace"], meta["name"])

    async def reconcile(self, key: Key) -> float | None:
        svc = self.store.get("services", *key)
        current = self.store.get("endpoints", *key)
        if svc is None:
            if current is not None:
                self._delete(key)  # the Service was deleted
            return None
        if svc["spec"].get("type") == "ExternalName" or not svc["spec"].get("selector"):
            return None  # addresses written out of band: not ours

        subsets = build_subsets(svc, selected_pods(self.store, svc))
        labels = {**owned_labels(svc), MANAGED_BY: MANAGER}
        if current is None:
            self._create(key, subsets, labels)
        elif (current.get("subsets") or []) != subsets or (
            current["metadata"].get("labels") or {}
        ) != labels:
            self._update(current, subsets, labels)
        return None

    def _create(self, key: Key, subsets: list[Obj], labels: dict[str, str]) -> None:
        meta: Obj = {"name": key[1], "annotations": {TRIGGER: podutil.iso()}}
        if labels:
            meta["labels"] = labels
        body: Obj = {"metadata": meta}
        if subsets:
            body["subsets"] = subsets
        try:
            self.api.create(self.ctx.rt("endpoints"), key[0], body)
        except StatusError as err:
            if err.code not in (403, 404, 409):  # namespace going away, or a race
                raise

    def _update(self, current: Obj, subsets: list[Obj], labels: dict[str, str]) -> None:
        new = copy.deepcopy(current)
        new["metadata"].pop("labels", None)
        if labels:
            new["metadata"]["labels"] = labels
        new["metadata"].setdefault("annotations", {})[TRIGGER] = podutil.iso()
        if subsets:
            new["subsets"] = subsets
        else:
            new.pop("subsets", None)
        meta = current["metadata"]
        self.api.update(self.ctx.rt("endpoints"), meta["namespace"], meta["name"], new)

    def _delete(self, key: Key) -> None:
        try:
            self.api.delete(self.ctx.rt("endpoints"), key[0], key[1])
        except StatusError:
            pass
