"""Which ports a service listens on, and the Kubernetes Service that names them.

The Service port is the *container* port: inside compose, other services called
`http://api:80` whatever host port was published, and a Service on port 80 keeps that
URL working. Host ports only mattered from outside Docker; in Kubernetes the way in is
the Ingress, a NodePort Service or `kubectl port-forward`.
"""

from __future__ import annotations

import re
from typing import Any

from kubecourse.compose.context import NAME_LABEL, Manifest, Plan, Translation
from kubecourse.compose.images import well_known_ports
from kubecourse.compose.model import PortSpec, Service
from kubecourse.compose.podspec import port_name

_TRAEFIK_PORT = re.compile(
    r"^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$"
)


def effective_ports(service: Service) -> list[PortSpec]:
    """Explicit ports and expose, then Traefik's target port, else the image's ports."""
    ports: list[PortSpec] = []
    seen: set[tuple[int, str]] = set()

    def add(spec: PortSpec) -> None:
        if (spec.container, spec.protocol) not in seen:
            seen.add((spec.container, spec.protocol))
            ports.append(spec)

    for spec in [*service.ports, *service.expose]:
        add(spec)
    for key, value in service.labels.items():
        if _TRAEFIK_PORT.match(key) and value.isdigit() and 0 < int(value) < 65536:
            add(PortSpec(int(value), source="traefik", key=f"labels.{key}"))
    if not ports:
        for number in well_known_ports(service.image):
            add(PortSpec(number, source="image", key="image"))
    return ports


def build_service(
    t: Translation, plan: Plan, alias: str | None = None
) -> Manifest | None:
    """The Service for `plan`, or None (with the reason recorded) when it has no ports.

    With `alias`, a second Service of that name for the same pods (a network alias).
    """
    name = plan.service.name
    if alias is not None:
        return t.emit(
            _manifest(plan, alias), (name,), f"network alias {alias} of {plan.name}"
        )
    if not plan.ports:
        t.decide(name, "ports", "(no Service)",
                 "no ports, no expose and no well-known image port: nothing connects to "
                 "it, so it needs no Service (a background worker)")  # fmt: skip
        return None
    for port in plan.ports:
        _explain_port(t, plan, port)
    return t.emit(_manifest(plan, plan.name), (name,), _why_service(plan))


def _manifest(plan: Plan, name: str) -> Manifest:
    spec: dict[str, Any] = {
        "selector": {NAME_LABEL: plan.name},
        "ports": [_service_port(p) for p in plan.ports],
    }
    if plan.kind == "StatefulSet" and name == plan.name:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": spec}  # fmt: skip


def _service_port(spec: PortSpec) -> dict[str, Any]:
    name = port_name(spec.container, spec.protocol)
    return {"name": name, "port": spec.container, "targetPort": name,
            "protocol": spec.protocol}  # fmt: skip


def _why_service(plan: Plan) -> str:
    ports = ", ".join(str(p.container) for p in plan.ports)
    if plan.kind == "StatefulSet":
        return (f"a headless Service {plan.name} (ports {ports}) gives the database a "
                f"stable DNS name, {plan.name}, as compose's network did")  # fmt: skip
    return (f"a stable name and address, {plan.name}:{ports}, that load-balances over "
            "the ready pods, as the compose service name did")  # fmt: skip


def _explain_port(t: Translation, plan: Plan, spec: PortSpec) -> None:
    name = plan.service.name
    target = f"Service/{plan.name} port {spec.container}/{spec.protocol}"
    if spec.source == "image":
        t.decide(name, "image", target,
                 f"the compose file lists no port, but the image listens on "
                 f"{spec.container} (its EXPOSE); compose services reached it by name "
                 "anyway, and a Service needs the port written down")  # fmt: skip
        return
    if spec.source == "traefik":
        t.decide(name, spec.key, target,
                 "Traefik was told to send traffic to this container port, so the "
                 "Service offers it")  # fmt: skip
        return
    why = (f"other pods reach it as {plan.name}:{spec.container}, the container port, "
           "just as compose services did")  # fmt: skip
    if spec.published:
        why += (f"; host port {spec.published} was only for reaching it from outside "
                "Docker: in Kubernetes use the Ingress, a NodePort Service, or "
                f"`kubectl port-forward service/{plan.name} {spec.published}:{spec.container}`")  # fmt: skip
    if spec.host_ip:
        why += f"; the host address {spec.host_ip} has no meaning in the cluster"
    t.decide(name, spec.key, target, why)
