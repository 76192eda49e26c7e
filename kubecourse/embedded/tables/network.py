"""Networking printers: Service, Endpoints, EndpointSlice, Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubecourse.embedded.selectors import (
    format_labels,
)
from kubecourse.embedded.tables.common import (
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _core,
    _get,
    _host_port,
    _int,
    _list,
    _load_balancer,
    _wide,
    _with_more,
    age,
    format_label_selector,
)

# ---------------------------------------------------------------- networking

_SERVICE_COLUMNS = (
    NAME,
    Column("Type", description=_core("Service", "spec", "type")),
    Column("Cluster-IP", description=_core("Service", "spec", "clusterIP")),
    Column("External-IP", description=_core("Service", "spec", "externalIPs")),
    Column("Port(s)", description=_core("Service", "spec", "ports")),
    AGE,
    _wide("Selector", _core("Service", "spec", "selector")),
)


def _service_external_ip(svc: Obj) -> str:
    kind = _get(svc, "spec", "type", default="")
    external = [str(ip) for ip in _list(svc, "spec", "externalIPs")]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        balancer = _load_balancer(_get(svc, "status", default={}))
        joined = [*([balancer] if balancer else []), *external]
        return ",".join(joined) or "<pending>"
    if kind == "ExternalName":
        return str(_get(svc, "spec", "externalName", default=""))
    return "<unknown>"


def _service_ports(svc: Obj) -> str:
    pieces = []
    for port in _list(svc, "spec", "ports"):
        protocol = port.get("protocol", "")
        if _int(port.get("nodePort")) > 0:
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(svc: Obj, now: datetime) -> list[Cell]:
    cluster_ips = _list(svc, "spec", "clusterIPs")
    cluster_ip = cluster_ips[0] if cluster_ips else _get(svc, "spec", "clusterIP")
    return [
        _get(svc, "metadata", "name", default=""),
        _get(svc, "spec", "type", default=""),
        str(cluster_ip or "<none>"),
        _service_external_ip(svc),
        _service_ports(svc),
        age(_get(svc, "metadata", "creationTimestamp"), now),
        format_labels(_get(svc, "spec", "selector")),
    ]


_ENDPOINTS_COLUMNS = (
    NAME,
    Column("Endpoints", description=_core("Endpoints", "subsets")),
    AGE,
)


def format_endpoints(endpoints: Obj) -> str:
    """`10.244.1.5:80,10.244.2.7:80 + 1 more...`, or `<none>` without subsets."""
    subsets = _list(endpoints, "subsets")
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [str(a.get("ip", "")) for a in _list(subset, "addresses")]
        ports = _list(subset, "ports")
        targets = (
            [(ip, None) for ip in addresses]
            if not ports
            else [(ip, p.get("port")) for p in ports for ip in addresses]
        )
        count += len(targets)
        for ip, port in targets:
            if len(shown) < 3:
                shown.append(ip if port is None else _host_port(ip, port))
    return _with_more(shown, count)


def _endpoints_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        format_endpoints(obj),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SLICE = ("discovery.k8s.io", "v1", "EndpointSlice")
_ENDPOINTSLICE_COLUMNS = (
    NAME,
    Column("AddressType", description=(*_SLICE, "addressType")),
    Column("Ports", description=(*_SLICE, "ports")),
    Column("Endpoints", description=(*_SLICE, "endpoints")),
    AGE,
)


def _endpointslice_cells(obj: Obj, now: datetime) -> list[Cell]:
    ports = [
        str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*")
        for p in _list(obj, "ports")
    ]
    addresses = [str(a) for e in _list(obj, "endpoints") for a in _list(e, "addresses")]
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "addressType", default=""),
        _with_more(ports[:3], len(ports), empty="<unset>"),
        _with_more(addresses[:3], len(addresses), empty="<unset>"),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_INGRESS_COLUMNS = (
    NAME,
    Column(
        "Class",
        description="The name of the IngressClass resource that should be used for "
        "additional configuration",
    ),
    Column(
        "Hosts",
        description="Hosts that incoming requests are matched against before the ingress rule",
    ),
    Column(
        "Address",
        description="Address is a list containing ingress points for the load-balancer",
    ),
    Column("Ports", description="Ports of TLS configurations that open"),
    AGE,
)


def _ingress_hosts(rules: list[Any]) -> str:
    hosts = [str(rule["host"]) for rule in rules[:3] if rule.get("host")]
    if not hosts:
        return "*"
    if len(rules) > 3:
        return f"{','.join(hosts)} + {len(rules) - 3} more..."
    return ",".join(hosts)


def _ingress_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "spec", "ingressClassName", default="") or "<none>",
        _ingress_hosts(_list(obj, "spec", "rules")),
        _load_balancer(_get(obj, "status", default={})),
        "80, 443" if _list(obj, "spec", "tls") else "80",
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_INGRESSCLASS_COLUMNS = (
    NAME,
    Column(
        "Controller",
        description="Controller that is responsible for handling this class",
    ),
    Column(
        "Parameters", description="A reference to a resource with additional parameters"
    ),
    AGE,
)


def _ingressclass_cells(obj: Obj, now: datetime) -> list[Cell]:
    parameters = _get(obj, "spec", "parameters")
    shown = "<none>"
    if isinstance(parameters, Mapping):
        shown = str(parameters.get("kind", ""))
        if parameters.get("apiGroup") is not None:
            shown += f".{parameters['apiGroup']}"
        shown += f"/{parameters.get('name', '')}"
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "spec", "controller", default=""),
        shown,
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_NETPOL = ("networking.k8s.io", "v1", "NetworkPolicy")
_NETWORKPOLICY_COLUMNS = (
    NAME,
    Column("Pod-Selector", description=(*_NETPOL, "spec", "podSelector")),
    AGE,
)


def _networkpolicy_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        format_label_selector(_get(obj, "spec", "podSelector", default={})),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Service"): (_SERVICE_COLUMNS, _service_cells),
    ("", "Endpoints"): (_ENDPOINTS_COLUMNS, _endpoints_cells),
    ("discovery.k8s.io", "EndpointSlice"): (
        _ENDPOINTSLICE_COLUMNS,
        _endpointslice_cells,
    ),
    ("networking.k8s.io", "Ingress"): (_INGRESS_COLUMNS, _ingress_cells),
    ("networking.k8s.io", "IngressClass"): (_INGRESSCLASS_COLUMNS, _ingressclass_cells),
    ("networking.k8s.io", "NetworkPolicy"): (
        _NETWORKPOLICY_COLUMNS,
        _networkpolicy_cells,
    ),
}
