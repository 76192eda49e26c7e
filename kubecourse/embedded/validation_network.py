"""Spec rules of `pkg/apis/networking/validation` and the Endpoints part of
`core/validation`, with upstream's field paths, cause reasons and messages.

Faithful:
- Ingress: `defaultBackend` or `rules`; rule hosts (not an IP, a DNS subdomain or a
  wildcard one, `*.example.com`); `http.paths` required; `pathType` required
  (`pathType must be specified`) and one of Exact, ImplementationSpecific, Prefix;
  Exact and Prefix paths absolute and without `//`, `/./`, `/../`, `%2f` or a
  trailing `/..` or `/.`; a backend with a service or a resource, not both; the
  service name a DNS-1035 label and its port a name or a number
  (`backend: Required value: port name or number is required`); `ingressClassName`
  a DNS subdomain, and equal to the legacy annotation when both are set;
- IngressClass: `spec.controller` a domain-prefixed path of at most 250 characters;
- NetworkPolicy: port protocols, numbers (1-65535) and names, `endPort`; peers
  (exactly one kind when `ipBlock` is used) and `ipBlock.cidr` / `except`;
  `policyTypes` (Ingress, Egress, at most two);
- Endpoints: address IPs valid and not unspecified, loopback or link-local; port
  numbers, names (DNS labels, required when there are several) and protocols.

Simplified: an `ipBlock` CIDR with host bits set (`10.0.0.1/24`) is accepted, as the
legacy-field rule does, without upstream's warning; label selectors in NetworkPolicy
peers are checked by their shape only; ingress TLS hosts are not checked.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kubecourse.embedded.validation_meta import (
    forbidden,
    invalid,
    max_len_error,
    not_supported,
    port_name_errors,
    regex_error,
    required,
    subdomain_errors,
    too_long,
)

Causes = list[dict[str, str]]
Obj = dict[str, Any]

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
BAD_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
BAD_PATH_SUFFIXES = ("/..", "/.")
PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
PORT_RANGE = "must be between 1 and 65535, inclusive"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
LEGACY_CLASS = "kubernetes.io/ingress.class"

_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035 = re.compile(f"^{_DNS1035_FMT}$")
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(f"^{_DNS1123_LABEL_FMT}$")
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
    "or '-', and must start and end with an alphanumeric character"
)
_WILDCARD_FMT = (
    r"\*\." + r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_WILDCARD = re.compile(f"^{_WILDCARD_FMT}$")
_WILDCARD_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
    "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
    "and end with an alphanumeric character"
)
_HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+"
_HTTP_PATH = re.compile(f"^{_HTTP_PATH_FMT}$")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def dns1035_errors(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1035.match(value):
        errors.append(regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errors


def dns1123_label_errors(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1123_LABEL.match(value):
        examples = ("my-name", "123-abc")
        errors.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, *examples))
    return errors


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def port_number_causes(field: str, value: Any) -> Causes:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return []
    return [invalid(field, value, PORT_RANGE)]


# ---------------------------------------------------------------- Ingress


def ingress_causes(obj: Obj) -> Causes:
    """`ValidateIngressCreate` / `ValidateIngressSpec`."""
    spec = _dict(obj.get("spec"))
    rules = spec.get("rules")
    causes: Causes = []
    if not rules and spec.get("defaultBackend") is None:
        detail = "either `defaultBackend` or `rules` must be specified"
        causes.append(invalid("spec", rules, detail))
    if spec.get("defaultBackend") is not None:
        causes += _backend_causes(_dict(spec["defaultBackend"]), "spec.defaultBackend")
    for i, rule in enumerate(_list(rules)):
        causes += _rule_causes(_dict(rule), f"spec.rules[{i}]")
    class_name = spec.get("ingressClassName")
    if isinstance(class_name, str):
        causes += [
            invalid("spec.ingressClassName", class_name, message)
            for message in subdomain_errors(class_name)
        ]
    annotation = (obj["metadata"].get("annotations") or {}).get(LEGACY_CLASS)
    if annotation is not None and class_name is not None and annotation != class_name:
        detail = "must match `ingressClassName` when both are specified"
        causes.append(invalid(f"annotations.{LEGACY_CLASS}", annotation, detail))
    return causes


def _rule_causes(rule: Obj, here: str) -> Causes:
    host = rule.get("host")
    causes: Causes = []
    if isinstance(host, str) and host:
        if _is_ip(host):
            causes.append(
                invalid(f"{here}.host", host, "must be a DNS name, not an IP address")
            )
        if "*" in host:
            causes += [invalid(f"{here}.host", host, m) for m in _wildcard_errors(host)]
        else:
            causes += [invalid(f"{here}.host", host, m) for m in subdomain_errors(host)]
    http = rule.get("http")
    if isinstance(http, dict):
        paths = _list(http.get("paths"))
        if not paths:
            causes.append(required(f"{here}.http.paths"))
        for i, path in enumerate(paths):
            causes += _path_causes(_dict(path), f"{here}.http.paths[{i}]")
    return causes


def _wildcard_errors(host: str) -> list[str]:
    errors = [max_len_error(253)] if len(host) > 253 else []
    if not _WILDCARD.match(host):
        errors.append(regex_error(_WILDCARD_MSG, _WILDCARD_FMT, "*.example.com"))
    return errors


def _path_causes(path: Obj, here: str) -> Causes:
    """`validateHTTPIngressPath`."""
    path_type = path.get("pathType")
    if path_type is None:
        return [required(f"{here}.pathType", "pathType must be specified")]
    value = str(path.get("path") or "")
    causes: Causes = []
    if path_type in ("Exact", "Prefix"):
        causes += _absolute_path_causes(value, f"{here}.path")
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(invalid(f"{here}.path", value, "must be an absolute path"))
    else:
        causes.append(not_supported(f"{here}.pathType", path_type, PATH_TYPES))
    return causes + _backend_causes(_dict(path.get("backend")), f"{here}.backend")


def _absolute_path_causes(value: str, field: str) -> Causes:
    causes: Causes = []
    if not value.startswith("/"):
        causes.append(invalid(field, value, "must be an absolute path"))
    if value:
        causes += [
            invalid(field, value, f"must not contain '{sequence}'")
            for sequence in BAD_PATH_SEQUENCES
            if sequence in value
        ]
        causes += [
            invalid(field, value, f"cannot end with '{suffix}'")
            for suffix in BAD_PATH_SUFFIXES
            if value.endswith(suffix)
        ]
    return causes


def _backend_causes(backend: Obj, here: str) -> Causes:
    """`validateIngressBackend`."""
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(here, "", "cannot set both resource and service backends")]
    if resource is not None:
        causes: Causes = []
        for key in ("kind", "name"):
            if not _dict(resource).get(key):
                causes.append(required(f"{here}.resource.{key}"))
        return causes
    if service is None:
        return [invalid(here, "", "resource or service backend is required")]
    return _service_backend_causes(_dict(service), here)


def _service_backend_causes(service: Obj, here: str) -> Causes:
    name = service.get("name")
    causes: Causes = []
    if not name:
        causes.append(required(f"{here}.service.name"))
    else:
        field = f"{here}.service.name"
        causes += [invalid(field, name, m) for m in dns1035_errors(str(name))]
    port = _dict(service.get("port"))
    port_name, number = port.get("name"), port.get("number")
    if port_name and number:
        causes.append(invalid(here, "", "cannot set both port name & port number"))
    elif port_name:
        field = f"{here}.service.port.name"
        causes += [
            invalid(field, port_name, m) for m in port_name_errors(str(port_name))
        ]
    elif number:
        causes += port_number_causes(f"{here}.service.port.number", number)
    else:
        causes.append(required(here, "port name or number is required"))
    return causes


def ingress_class_causes(obj: Obj) -> Causes:
    """`validateIngressClassSpec`: the controller is a domain-prefixed path."""
    controller = str(_dict(obj.get("spec")).get("controller") or "")
    field = "spec.controller"
    causes = [too_long(field, 250)] if len(controller) > 250 else []
    if not controller:
        return causes + [required(field)]
    host, slash, path = controller.partition("/")
    if not slash or not host or not path:
        detail = 'must be a domain-prefixed path (such as "acme.io/foo")'
        return causes + [invalid(field, controller, detail)]
    causes += [invalid(field, host, message) for message in subdomain_errors(host)]
    if not _HTTP_PATH.match(path):
        causes.append(invalid(field, path, regex_error("Invalid path", _HTTP_PATH_FMT)))
    return causes


# ---------------------------------------------------------------- NetworkPolicy


def network_policy_causes(obj: Obj) -> Causes:
    """`ValidateNetworkPolicySpec`."""
    spec = _dict(obj.get("spec"))
    causes: Causes = []
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_list(spec.get(direction))):
            here = f"spec.{direction}[{i}]"
            for j, port in enumerate(_list(_dict(rule).get("ports"))):
                causes += _policy_port_causes(_dict(port), f"{here}.ports[{j}]")
            for j, peer in enumerate(_list(_dict(rule).get(peers))):
                causes += _peer_causes(_dict(peer), f"{here}.{peers}[{j}]")
    return causes + _policy_type_causes(_list(spec.get("policyTypes")))


def _policy_type_causes(types: list[Any]) -> Causes:
    if len(types) > len(POLICY_TYPES):
        return [
            invalid(
                "spec.policyTypes", types, "may not specify more than two policyTypes"
            )
        ]
    return [
        not_supported(f"spec.policyTypes[{i}]", kind, POLICY_TYPES)
        for i, kind in enumerate(types)
        if kind not in POLICY_TYPES
    ]


def _policy_port_causes(port: Obj, here: str) -> Causes:
    """`ValidateNetworkPolicyPort`."""
    protocol, number, end = port.get("protocol"), port.get("port"), port.get("endPort")
    causes: Causes = []
    if protocol is not None and protocol not in PROTOCOLS:
        causes.append(not_supported(f"{here}.protocol", protocol, PROTOCOLS))
    if isinstance(number, int):
        causes += port_number_causes(f"{here}.port", number)
        if isinstance(end, int):
            if end < number:
                detail = "must be greater than or equal to `port`"
                causes.append(invalid(f"{here}.endPort", number, detail))
            causes += port_number_causes(f"{here}.endPort", end)
    elif isinstance(number, str):
        if end is not None:
            detail = "may not be specified when `port` is non-numeric"
            causes.append(invalid(f"{here}.endPort", end, detail))
        causes += [invalid(f"{here}.port", number, m) for m in port_name_errors(number)]
    elif end is not None:
        detail = "may not be specified when `port` is not specified"
        causes.append(invalid(f"{here}.endPort", end, detail))
    return causes


def _peer_causes(peer: Obj, here: str) -> Causes:
    """`ValidateNetworkPolicyPeer`."""
    kinds = [
        k
        for k in ("podSelector", "namespaceSelector", "ipBlock")
        if peer.get(k) is not None
    ]
    causes: Causes = []
    if "ipBlock" in kinds:
        causes += _ip_block_causes(_dict(peer["ipBlock"]), f"{here}.ipBlock")
    if not kinds:
        causes.append(required(here, "must specify a peer"))
    elif len(kinds) > 1 and "ipBlock" in kinds:
        causes.append(forbidden(here, "may not specify both ipBlock and another peer"))
    return causes


def _network(text: Any) -> Any:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def _ip_block_causes(block: Obj, here: str) -> Causes:
    cidr = block.get("cidr")
    if not cidr:
        return [required(f"{here}.cidr")]
    network = _network(cidr)
    if network is None:
        return [invalid(f"{here}.cidr", cidr, CIDR_MSG)]
    causes: Causes = []
    for i, text in enumerate(_list(block.get("except"))):
        field = f"{here}.except[{i}]"
        excepted = _network(text)
        if excepted is None:
            causes.append(invalid(field, text, CIDR_MSG))
        elif (
            excepted.version != network.version
            or excepted.network_address not in network
            or network.prefixlen >= excepted.prefixlen
        ):
            causes.append(invalid(field, text, "must be a strict subset of `cidr`"))
    return causes


# ---------------------------------------------------------------- Endpoints


def endpoints_causes(obj: Obj) -> Causes:
    """`validateEndpointSubsets`: addresses and ports."""
    causes: Causes = []
    for i, subset in enumerate(_list(obj.get("subsets"))):
        here = f"subsets[{i}]"
        subset = _dict(subset)
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_list(subset.get(key))):
                causes += _address_causes(_dict(address), f"{here}.{key}[{j}]")
        ports = _list(subset.get("ports"))
        for j, port in enumerate(ports):
            causes += _endpoint_port_causes(
                _dict(port), f"{here}.ports[{j}]", len(ports) > 1
            )
    return causes


def _address_causes(address: Obj, here: str) -> Causes:
    ip = str(address.get("ip") or "")
    field = f"{here}.ip"
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return [
            invalid(field, ip, IP_MSG),
            invalid(field, ip, "must be a valid IP address"),
        ]
    causes: Causes = []
    hostname = address.get("hostname")
    if hostname:
        causes += [
            invalid(f"{here}.hostname", hostname, m)
            for m in dns1123_label_errors(str(hostname))
        ]
    if parsed.is_unspecified:
        causes.append(invalid(field, ip, f"may not be unspecified ({ip})"))
    if parsed.is_loopback:
        causes.append(
            invalid(
                field, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"
            )
        )
    if parsed.is_link_local and not parsed.is_multicast:
        detail = "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        causes.append(invalid(field, ip, detail))
    if parsed in ipaddress.ip_network("224.0.0.0/24") or (
        parsed.version == 6 and parsed in ipaddress.ip_network("ff02::/16")
    ):
        detail = (
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
        )
        causes.append(invalid(field, ip, detail))
    return causes


def _endpoint_port_causes(port: Obj, here: str, name_required: bool) -> Causes:
    name = port.get("name")
    causes: Causes = []
    if name_required and not name:
        causes.append(required(f"{here}.name"))
    elif name:
        causes += [
            invalid(f"{here}.name", name, m) for m in dns1123_label_errors(str(name))
        ]
    causes += port_number_causes(f"{here}.port", port.get("port"))
    protocol = port.get("protocol")
    if not protocol:
        causes.append(required(f"{here}.protocol"))
    elif protocol not in PROTOCOLS:
        causes.append(
            not_supported(f"{here}.protocol", protocol, ("SCTP", "TCP", "UDP"))
        )
    return causes
