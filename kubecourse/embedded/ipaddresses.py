"""ServiceCIDRs and IPAddresses (`networking.k8s.io/v1`, GA in 1.33), kept in step
with the ClusterIP allocator in services.py.

Since 1.33 kube-apiserver allocates ClusterIPs from the ServiceCIDR objects and
records each allocated address as an IPAddress object, so `kubectl get ipaddresses`
lists one per ClusterIP.  Faithful:
- the ServiceCIDR `kubernetes` holds the service range (10.96.0.0/12 here, as the
  course's design says; kind uses a /16), with the protection finalizer
  `networking.k8s.io/service-cidr-finalizer` and the condition Ready=True "Kubernetes
  default Service CIDR is ready"; it is created at start when missing;
- every ClusterIP a Service is given is an IPAddress named by the address, labelled
  `ipaddress.kubernetes.io/ip-family: IPv4` and
  `ipaddress.kubernetes.io/managed-by: ipallocator.k8s.io`, whose `parentRef` is the
  Service (`services/default/kubernetes` in `kubectl get ip`); it goes when the
  Service goes or is turned ExternalName, and a Service turned back from ExternalName
  gets a new one (services.py allocates the address);
- an address that already has an IPAddress (another Service's, or one a user made)
  is never handed out, and asking for it is `Service "b" is invalid: spec.clusterIPs:
  Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: provided
  IP is already allocated`;
- the allocator's repair loop, run at start: IPAddresses for Services stored before
  they existed, and none for Services that are gone;
- validation: an IPAddress's name is a canonical IP, `spec.parentRef` with `resource`
  and `name` is required and immutable; a ServiceCIDR needs one or two valid CIDRs.

Simplified: addresses are only handed out from 10.96.0.0/12; ServiceCIDRs a user
adds are stored but not allocated from (no servicecidrs controller sets their
status), and deleting `kubernetes` leaves it Terminating while addresses are in use
(its Ready condition stays True, and Services are still given addresses); the repair
pass runs at start only (upstream every few minutes), so an IPAddress deleted by hand
while its Service exists comes back at the next start.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from kubecourse.embedded import status
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store
from kubecourse.embedded.validation import invalid_value, required

if TYPE_CHECKING:
    from kubecourse.embedded.api import Api

Obj = dict[str, Any]
Causes = list[dict[str, str]]

IP_ADDRESSES = "ipaddresses.networking.k8s.io"
SERVICE_CIDRS = "servicecidrs.networking.k8s.io"
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
DEFAULT_CIDR_NAME = "kubernetes"
CIDR_FINALIZER = "networking.k8s.io/service-cidr-finalizer"
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
MANAGED_BY = "ipallocator.k8s.io"


def default_service_cidr(now: str) -> Obj:
    return {
        "metadata": {"name": DEFAULT_CIDR_NAME, "finalizers": [CIDR_FINALIZER]},
        "spec": {"cidrs": [str(SERVICE_RANGE)]},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": now,
                    "reason": "",
                    "message": "Kubernetes default Service CIDR is ready",
                }
            ]
        },
    }


def _cluster_ips(service: Obj) -> list[str]:
    spec = service.get("spec") or {}
    ips = spec.get("clusterIPs") or (
        [spec["clusterIP"]] if spec.get("clusterIP") else []
    )
    return [ip for ip in ips if _in_range(ip)]


def _in_range(text: Any) -> bool:
    try:
        return ipaddress.ip_address(str(text)) in SERVICE_RANGE
    except ValueError:
        return False


def allocated(store: Store) -> set[str]:
    """Every address an IPAddress holds."""
    return {obj["metadata"]["name"] for obj in store.items(IP_ADDRESSES)}


def check_available(store: Store, service: Obj) -> None:
    """A Service being created may not ask for an address someone holds."""
    for ip in _cluster_ips(service):
        if store.get(IP_ADDRESSES, "", ip) is not None:
            wanted = (service.get("spec") or {}).get("clusterIPs") or [ip]
            shown = "[]string{" + ", ".join(f'"{w}"' for w in wanted) + "}"
            cause = {
                "reason": "FieldValueInvalid",
                "field": "spec.clusterIPs",
                "message": f"Invalid value: {shown}: failed to allocate IP {ip}: "
                "provided IP is already allocated",
            }
            raise status.invalid(
                REGISTRY.get("services"), service["metadata"]["name"], [cause]
            )


def ip_address_for(service: Obj, ip: str) -> Obj:
    meta = service["metadata"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "labels": {FAMILY_LABEL: "IPv4", MANAGED_BY_LABEL: MANAGED_BY},
        },
        "spec": {
            "parentRef": {
                "group": "",
                "resource": "services",
                "namespace": meta.get("namespace") or "default",
                "name": meta["name"],
            }
        },
    }


def record(api: Api, service: Obj) -> None:
    """An IPAddress for each ClusterIP of a Service just stored."""
    rt = REGISTRY.get(IP_ADDRESSES)
    for ip in _cluster_ips(service):
        if api.store.get(IP_ADDRESSES, "", ip) is None:
            api.create(rt, None, ip_address_for(service, ip))


def release(api: Api, service: Obj) -> None:
    """The IPAddresses of a Service that is gone."""
    for obj in list(api.store.items(IP_ADDRESSES)):
        if _belongs_to(obj, service):
            api.store.remove(IP_ADDRESSES, "", obj["metadata"]["name"])


def _belongs_to(ip_address: Obj, service: Obj) -> bool:
    ref = (ip_address.get("spec") or {}).get("parentRef") or {}
    meta = service["metadata"]
    return (
        ref.get("resource") == "services"
        and not ref.get("group")
        and ref.get("namespace") == meta.get("namespace")
        and ref.get("name") == meta["name"]
    )


def ensure(api: Api, now: str) -> None:
    """At start: the default ServiceCIDR, then the repair loop's pass."""
    if api.store.get(SERVICE_CIDRS, "", DEFAULT_CIDR_NAME) is None:
        api.create(REGISTRY.get(SERVICE_CIDRS), None, default_service_cidr(now))
    for obj in list(api.store.items(IP_ADDRESSES)):
        labels = obj["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and not _parent_holds(
            api.store, obj
        ):
            api.store.remove(IP_ADDRESSES, "", obj["metadata"]["name"])
    for service in list(api.store.items("services")):
        record(api, service)


def _parent_holds(store: Store, ip_address: Obj) -> bool:
    ref = (ip_address.get("spec") or {}).get("parentRef") or {}
    service = store.get("services", ref.get("namespace") or "", ref.get("name") or "")
    return service is not None and ip_address["metadata"]["name"] in _cluster_ips(
        service
    )


# ---------------------------------------------------------------- validation


def ip_address_causes(obj: Obj) -> Causes:
    name = str(obj["metadata"].get("name") or "")
    causes: Causes = []
    try:
        if str(ipaddress.ip_address(name)) != name:
            causes.append(
                invalid_value(
                    "metadata.name", name, "must be a canonical format IP address"
                )
            )
    except ValueError:
        causes.append(
            invalid_value(
                "metadata.name", name, f'ParseAddr("{name}"): unable to parse IP'
            )
        )
    ref = (obj.get("spec") or {}).get("parentRef")
    if not isinstance(ref, dict):
        return causes + [required("spec.parentRef")]
    for field in ("resource", "name"):
        if not ref.get(field):
            causes.append(required(f"spec.parentRef.{field}"))
    return causes


def ip_address_update_causes(old: Obj, new: Obj) -> Causes:
    before = (old.get("spec") or {}).get("parentRef")
    after = (new.get("spec") or {}).get("parentRef")
    if before != after:
        return [
            {
                "reason": "FieldValueInvalid",
                "field": "spec.parentRef",
                "message": 'Invalid value: "object": field is immutable',
            }
        ]
    return []


def service_cidr_causes(obj: Obj) -> Causes:
    cidrs = (obj.get("spec") or {}).get("cidrs")
    if not cidrs:
        return [required("spec.cidrs")]
    causes: Causes = []
    if len(cidrs) > 2:
        causes.append(
            {
                "reason": "FieldValueTooMany",
                "field": "spec.cidrs",
                "message": f"Too many: {len(cidrs)}: must have at most 2 items",
            }
        )
    for index, text in enumerate(cidrs):
        try:
            ipaddress.ip_network(str(text))
        except ValueError:
            causes.append(
                invalid_value(
                    f"spec.cidrs[{index}]",
                    text,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                )
            )
    return causes
