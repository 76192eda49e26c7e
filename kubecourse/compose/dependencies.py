"""`depends_on` as an optional init container that waits for the dependency's port.

Kubernetes starts all pods at once; compose started dependencies first (and, with
`condition: service_healthy`, waited for their healthcheck). The faithful translation
is readiness plus retries in the application, which the report explains. When the
application does not retry, an init container can hold the pod back until each
dependency's Service accepts connections: turned on for all services with
`translate(..., wait_for_dependencies=True)` or for one with
`x-kubecourse: {wait-for-dependencies: true}`. A Service only routes to ready pods, so
waiting for the port also waits for the dependency's readinessProbe (its healthcheck).
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.names import derived_name

WAIT_IMAGE = "busybox:1.36"


def wants_wait(t: Translation, plan: Plan) -> bool:
    option = plan.service.options.get("wait-for-dependencies")
    if option is not None:
        return option == "true"
    return bool(t.options.get("wait_for_dependencies"))


def wait_containers(t: Translation, plan: Plan) -> list[dict[str, Any]]:
    """One init container per dependency that has a Service port to wait for."""
    if not plan.service.depends_on or not wants_wait(t, plan):
        return []
    containers = []
    for other, condition in plan.service.depends_on.items():
        container = _wait_for(t, plan, other, condition)
        if container is not None:
            containers.append(container)
    return containers


def _wait_for(
    t: Translation, plan: Plan, other: str, condition: str
) -> dict[str, Any] | None:
    target = t.plans.get(other)
    key = f"depends_on.{other}"
    if target is None or target.kind is None or not target.ports:
        t.warn(plan.service.name, key, "(no init container)",
               f"{other} has no Service port to wait for, so nothing holds this pod "
               "back; the application must retry")  # fmt: skip
        return None
    if condition == "service_completed_successfully" or target.kind == "Job":
        t.warn(plan.service.name, key, "(no init container)",
               f"{other} runs once to completion; a pod cannot watch a Job finish "
               "without API access, so run it first (kubectl wait --for=condition="
               f"complete job/{target.name})")  # fmt: skip
        return None
    host, port = target.name, target.ports[0].container
    script = (f"until nc -z -w 2 {host} {port}; do echo waiting for {host}:{port}; "
              "sleep 2; done")  # fmt: skip
    t.decide(plan.service.name, key, f"initContainers/{derived_name('wait', host)}",
             f"waits until {host}:{port} accepts connections before the app starts, "
             "as compose started it after " + other
             + (" was healthy (a Service only routes to ready pods)"
                if condition == "service_healthy" else ""))  # fmt: skip
    return {"name": derived_name("wait", host), "image": WAIT_IMAGE,
            "command": ["sh", "-c", script]}  # fmt: skip
