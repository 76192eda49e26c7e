"""Compose networks as NetworkPolicies that allow exactly compose's reachability.

In compose, two containers can talk if and only if they share a network; a service
without `networks:` is on `default`. Kubernetes has one flat pod network where every
pod reaches every other, so isolation has to be written down:

- each pod carries the label `kubecourse.io/network-<net>: "true"` for every network
  of its compose service;
- `<project>-default-deny` selects every pod of the project and allows nothing, so a
  pod accepts only what some other policy allows;
- `network-<net>` selects the pods of that network and allows traffic from pods with
  the same label. Policies add up, so a pod on two networks is reachable from both;
- `<project>-from-ingress` lets the ingress controller (or gateway) reach the services
  Traefik routed to, on the networks the proxy was on. Controllers run in their own
  namespace, selected by name: see `CONTROLLER_NAMESPACES`.

A project on a single network has all-to-all reachability, so no policy is written
(one would only get in the way). Only ingress is restricted: compose did not limit
outgoing traffic except on `internal` networks, which is noted.
"""

from __future__ import annotations

import copy
from typing import Any

from kubecourse.compose.context import (
    NAME_LABEL,
    PART_OF_LABEL,
    Manifest,
    Plan,
    Translation,
)
from kubecourse.compose.images import is_traefik_proxy
from kubecourse.compose.model import Service
from kubecourse.compose.names import clean_name, derived_name

NETWORK_LABEL_PREFIX = "kubecourse.io/network-"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
CONTROLLER_NAMESPACES = (
    "ingress-nginx", "traefik", "kube-system", "envoy-gateway-system", "nginx-gateway",
)  # fmt: skip


def service_networks(service: Service) -> list[str]:
    """The compose networks a service is attached to (`default` when none is listed)."""
    if service.network_mode is not None:
        return []
    return list(service.networks) or ["default"]


def network_label(network: str) -> str:
    return NETWORK_LABEL_PREFIX + (clean_name(network)[:46].strip("-") or "net")


def plan_network_labels(t: Translation, plans: list[Plan], enabled: bool) -> bool:
    """Decide whether policies are needed; if so, label each pod with its networks."""
    in_use = {net for plan in plans for net in service_networks(plan.service)}
    _explain_networks(t, plans, in_use, enabled)
    if not enabled or len(in_use) < 2:
        return False
    for plan in plans:
        nets = service_networks(plan.service)
        t.pod_extra_labels[plan.service.name] = {network_label(n): "true" for n in nets}
    return True


def build_network_policies(
    t: Translation, plans: list[Plan], routed: set[str]
) -> list[Manifest]:
    """The default-deny policy, one policy per network, and the ingress allowance."""
    members = _members(plans)
    emitted = [_default_deny(t, plans)]
    for network, services in members.items():
        emitted.append(_network_policy(t, network, services))
    allowed = _from_ingress(t, plans, routed)
    if allowed is not None:
        emitted.append(allowed)
    return emitted


def _members(plans: list[Plan]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for plan in plans:
        if plan.kind is None:
            continue
        for network in service_networks(plan.service):
            members.setdefault(network, []).append(plan.service.name)
    return members


def _policy(name: str, selector: dict[str, Any], ingress: list[Any]) -> Manifest:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name},
            "spec": {"podSelector": selector, "policyTypes": ["Ingress"],
                     "ingress": ingress}}  # fmt: skip


def _default_deny(t: Translation, plans: list[Plan]) -> Manifest:
    selector = {"matchLabels": {PART_OF_LABEL: t.project.name}}
    manifest = _policy(derived_name(t.project.name, "default-deny"), selector, [])
    services = tuple(p.service.name for p in plans if p.kind is not None)
    why = ("selects every pod of the project and allows no incoming traffic: from here "
           "on a pod accepts only what a network policy allows, as a compose container "
           "accepted only its networks' members")  # fmt: skip
    return t.emit(manifest, services, why)


def _network_policy(t: Translation, network: str, services: list[str]) -> Manifest:
    label = network_label(network)
    same = {"matchLabels": {label: "true"}}
    manifest = _policy(derived_name("network", clean_name(network) or "net"), same,
                       [{"from": [{"podSelector": copy.deepcopy(same)}]}])  # fmt: skip
    names = ", ".join(t.names[s] for s in services)
    why = (f"compose network {network}: its members ({names}) may reach each other on "
           f"any port; pods are matched by the label {label}")  # fmt: skip
    for service in services:
        t.decide(service, f"networks.{network}", f"NetworkPolicy/{manifest['metadata']['name']}",
                 f"reachable from the other members of {network}, and only from them "
                 "(unless another of its networks allows more)")  # fmt: skip
    return t.emit(manifest, tuple(services), why)


def _from_ingress(
    t: Translation, plans: list[Plan], routed: set[str]
) -> Manifest | None:
    proxy_nets = _proxy_networks(plans)
    allowed = []
    for plan in plans:
        if plan.kind is None or plan.name not in routed:
            continue
        nets = set(service_networks(plan.service))
        if proxy_nets is not None and not nets & proxy_nets:
            t.warn(plan.service.name, "networks", "(not reachable from the ingress)",
                   "Traefik had a route to it but shared no network with it, so the "
                   "route could not work in compose either; add a common network")  # fmt: skip
            continue
        allowed.append(plan)
    if not allowed:
        return None
    return _emit_from_ingress(t, allowed)


def _emit_from_ingress(t: Translation, allowed: list[Plan]) -> Manifest:
    selector = {"matchExpressions": [{"key": NAME_LABEL, "operator": "In",
                                      "values": sorted(p.name for p in allowed)}]}  # fmt: skip
    source = {"namespaceSelector": {"matchExpressions": [
        {"key": NAMESPACE_LABEL, "operator": "In", "values": list(CONTROLLER_NAMESPACES)}]}}  # fmt: skip
    manifest = _policy(derived_name(t.project.name, "from-ingress"), selector,
                       [{"from": [source]}])  # fmt: skip
    why = ("the reverse proxy reached these services over its networks; the ingress "
           "controller (or gateway) takes its place and runs in its own namespace, "
           f"one of {', '.join(CONTROLLER_NAMESPACES)}: change the list to the "
           "namespace of your cluster's controller")  # fmt: skip
    return t.emit(manifest, tuple(p.service.name for p in allowed), why)


def _proxy_networks(plans: list[Plan]) -> set[str] | None:
    for plan in plans:
        if plan.kind is None and is_traefik_proxy(plan.service.image):
            return set(service_networks(plan.service))
    return None


def _explain_networks(
    t: Translation, plans: list[Plan], in_use: set[str], enabled: bool
) -> None:
    for network, options in t.project.networks.items():
        members = [
            p.service.name for p in plans if network in service_networks(p.service)
        ]
        if not enabled:
            why = "network policies were turned off; every pod can reach every other"
        elif len(in_use) < 2:
            why = ("the only network in use: all services reach each other, as on "
                   "Kubernetes' flat pod network, so no NetworkPolicy is needed")  # fmt: skip
        else:
            why = f"members: {', '.join(members) or 'none'}; see NetworkPolicy/network-{clean_name(network)}"
        t.decide(
            "",
            f"networks.{network}",
            "NetworkPolicy" if enabled and len(in_use) > 1 else "(flat pod network)",
            why,
        )
        _network_options(t, network, options)


def _network_options(t: Translation, network: str, options: dict[str, Any]) -> None:
    if options.get("driver") or options.get("driver_opts") or options.get("ipam"):
        t.warn("", f"networks.{network}", "(dropped)",
               "network drivers, options and IP ranges belong to Docker; the "
               "cluster's network plugin decides these")  # fmt: skip
    if options.get("internal"):
        t.warn("", f"networks.{network}.internal", "(not enforced)",
               "an internal network had no route out; these policies only restrict "
               "incoming traffic, so add an egress policy to block the way out")  # fmt: skip
    if options.get("external"):
        t.warn("", f"networks.{network}.external", "(not translated)",
               "an external network joined containers of other projects; in the "
               "cluster, allow those pods explicitly in the network's policy")  # fmt: skip
