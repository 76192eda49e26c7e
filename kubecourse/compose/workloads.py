"""Which kind of workload each compose service becomes, and the workload object itself.

The choice, in order (the label `kubecourse.io/workload` overrides it):

- the Traefik proxy is not deployed: the cluster's ingress controller does its job;
- `restart: "no"` runs once: a Job;
- `deploy.mode: global` runs on every machine: a DaemonSet;
- a database image with a named volume keeps state: a StatefulSet;
- a service that listens (ports, expose, Traefik route, well-known server image) is a
  web server: a Deployment with RollingUpdate, free to scale out;
- anything else is a background worker that must never run twice: a Deployment with
  one replica and the Recreate strategy.
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import NAME_LABEL, Manifest, Plan, Translation
from kubecourse.compose.images import is_database, is_traefik_proxy, well_known_ports
from kubecourse.compose.model import Service
from kubecourse.compose.podspec import ClaimLookup, pod_spec
from kubecourse.compose.services import effective_ports
from kubecourse.compose.storage import DEFAULT_SIZE, claim_template
from kubecourse.compose.strategy import min_ready_seconds, rolling_update

ROLE_KIND = {
    "server": "Deployment",
    "singleton": "Deployment",
    "scaled": "Deployment",
    "statefulset": "StatefulSet",
    "job": "Job",
    "daemonset": "DaemonSet",
    "proxy": None,
    "sidecar": None,
}
_OVERRIDE_ROLE = {
    "deployment": "server",
    "singleton": "singleton",
    "statefulset": "statefulset",
    "job": "job",
    "daemonset": "daemonset",
}


def plan_service(t: Translation, service: Service) -> Plan:
    """Decide the role and kind of `service` and record why."""
    ports = effective_ports(service)
    role, why = _role(service, bool(ports))
    plan = Plan(service, t.names[service.name], role, ROLE_KIND[role], ports)
    target = f"{plan.kind}/{plan.name}" if plan.kind else "(not deployed)"
    if role == "sidecar":
        plan.host = str(service.network_mode).split(":", 1)[1]
        target = f"a container in {t.names.get(plan.host, plan.host)}'s pod"
    t.decide(service.name, _role_key(service, role), target, why)
    plan.replicas = _replicas(t, plan)
    return plan


def _role(service: Service, listens: bool) -> tuple[str, str]:
    override = service.options.get("workload")
    if override is not None:
        key = service.option_keys["workload"]
        return _OVERRIDE_ROLE[override], f"chosen by {key}: {override}"
    if (service.network_mode or "").startswith("service:"):
        return "sidecar", WHY_SIDECAR.format(host=service.network_mode)
    if is_traefik_proxy(service.image):
        return "proxy", WHY_PROXY
    if service.restart == "no":
        return "job", WHY_JOB
    if service.deploy.get("mode") == "global":
        return "daemonset", WHY_DAEMONSET
    if is_database(service.image) and any(m.kind == "volume" for m in service.mounts):
        return "statefulset", WHY_STATEFULSET
    if service.ports or service.expose or (listens and _is_server(service)):
        return "server", WHY_SERVER
    if _requested_replicas(service) > 1:
        return "scaled", WHY_SCALED
    return "singleton", WHY_SINGLETON


def _is_server(service: Service) -> bool:
    routed = any(key.startswith("traefik.http.routers.") for key in service.labels)
    return routed or bool(well_known_ports(service.image))


def _role_key(service: Service, role: str) -> str:
    if "workload" in service.option_keys:
        return service.option_keys["workload"]
    return {
        "job": "restart",
        "daemonset": "deploy.mode",
        "proxy": "image",
        "sidecar": "network_mode",
    }.get(role, "(service)")


def _requested_replicas(service: Service) -> int:
    replicas = service.deploy.get("replicas", service.raw.get("scale", 1))
    return (
        replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    )


def _replicas(t: Translation, plan: Plan) -> int:
    requested = _requested_replicas(plan.service)
    if plan.role in ("singleton", "statefulset") and requested > 1:
        t.warn(plan.service.name, "deploy.replicas", "replicas: 1",
               f"{requested} replicas were asked for, but a {plan.role} runs exactly one "
               "copy; remove the label or the replicas")  # fmt: skip
        return 1
    if "replicas" in plan.service.deploy and plan.kind in ("Deployment", "StatefulSet"):
        t.decide(plan.service.name, "deploy.replicas", f"spec.replicas: {requested}",
                 "the number of identical pods the ReplicaSet keeps running")  # fmt: skip
    return requested


WHY_PROXY = (
    "this is the Traefik reverse proxy; in Kubernetes the cluster's ingress controller "
    "does its job, configured by the Ingress built from the Traefik labels, so the "
    "proxy itself is not deployed"
)
WHY_SIDECAR = (
    "network_mode: {host} puts this container in the other service's network "
    "namespace: they share localhost and ports. A Pod is exactly that - containers "
    "sharing one network namespace - so it becomes a second container in that pod, "
    "with no workload or Service of its own, scaled and replaced together with it"
)
WHY_JOB = (
    'restart: "no" means it runs once and stops; a Job runs a pod to completion and '
    "does not restart it, where a Deployment would restart it forever"
)
WHY_DAEMONSET = (
    "deploy.mode: global runs one copy per machine; a DaemonSet runs one pod per node"
)
WHY_STATEFULSET = (
    "a database with a named volume keeps state: a StatefulSet gives its pod a stable "
    "name (-0) and its own PersistentVolumeClaim that follows it to any node"
)
WHY_SERVER = (
    "it listens on a port, so it is a server (a web API, a web app, a broker): a "
    "Deployment with RollingUpdate, which can run several replicas and replaces them "
    "a few at a time"
)
WHY_SCALED = (
    "it has no ports but asks for several replicas, so it is a Deployment with that "
    "many replicas; if other services call it, add `expose:` so it gets a Service"
)
WHY_SINGLETON = (
    "no ports: a background worker that must never run twice. A Deployment with "
    "replicas: 1 and strategy Recreate: RollingUpdate would start the new pod before "
    "stopping the old one, so two copies would run during every update; Recreate "
    "stops the old pod first, so there is never more than one"
)


def attach_sidecars(t: Translation, plans: list[Plan]) -> None:
    """Give each host plan its sidecars; a sidecar whose host is not deployed is warned."""
    by_name = {plan.service.name: plan for plan in plans}
    for plan in plans:
        if plan.role != "sidecar" or plan.host is None:
            continue
        host = by_name.get(plan.host)
        if host is None or host.kind is None:
            why = ("is not translated (profile not active?)" if host is None
                   else "is not deployed as a workload")  # fmt: skip
            t.warn(plan.service.name, "network_mode", "(not deployed)",
                   f"its network belongs to {plan.host}, which {why}, so this "
                   "container has no pod to join")  # fmt: skip
            continue
        host.sidecars.append(plan)


def build_workload(
    t: Translation, plan: Plan, claims: dict[str, ClaimLookup]
) -> Manifest:
    """The Deployment, StatefulSet, Job or DaemonSet for `plan` (and its sidecars)."""
    template = {
        "metadata": {"labels": t.pod_labels(plan)},
        "spec": pod_spec(t, plan, claims),
    }
    builder = {"Deployment": _deployment, "StatefulSet": _statefulset,
               "Job": _job, "DaemonSet": _daemonset}[str(plan.kind)]  # fmt: skip
    spec = builder(t, plan, template)
    manifest = {"apiVersion": "batch/v1" if plan.kind == "Job" else "apps/v1",
                "kind": plan.kind, "metadata": {"name": plan.name}, "spec": spec}  # fmt: skip
    return t.emit(manifest, (plan.service.name,), _summary(plan))


def _selector(plan: Plan) -> dict[str, Any]:
    return {"matchLabels": {NAME_LABEL: plan.name}}


def _deployment(t: Translation, plan: Plan, template: dict[str, Any]) -> dict[str, Any]:
    recreate = plan.role == "singleton"
    if not recreate and _uses_claims(template):
        recreate = True
        t.decide(plan.service.name, "volumes", "strategy: Recreate",
                 "its volume claim can be attached to one node at a time, and a rolling "
                 "update would start the new pod before the old one lets go of it")  # fmt: skip
    if recreate and "update_config" in plan.service.deploy:
        t.warn(plan.service.name, "deploy.update_config", "strategy: Recreate",
               "this service must never run twice, so it is replaced stop-then-start "
               "as a whole; update_config does not apply")  # fmt: skip
    strategy = {"type": "Recreate"} if recreate else rolling_update(t, plan)
    replicas = 1 if plan.role == "singleton" else plan.replicas
    spec = {"replicas": replicas, "selector": _selector(plan),
            "strategy": strategy, "template": template}  # fmt: skip
    delay = None if recreate else min_ready_seconds(t, plan)
    if delay:
        spec["minReadySeconds"] = delay
    return spec


def _uses_claims(template: dict[str, Any]) -> bool:
    volumes = template["spec"].get("volumes", [])
    return any("persistentVolumeClaim" in volume for volume in volumes)


def _statefulset(
    t: Translation, plan: Plan, template: dict[str, Any]
) -> dict[str, Any]:
    templates = plan_claim_templates(plan)
    spec = {"serviceName": plan.name, "replicas": plan.replicas,
            "selector": _selector(plan), "template": template}  # fmt: skip
    if templates:
        spec["volumeClaimTemplates"] = templates
    for claim in templates:
        volume = claim["metadata"]["name"]
        t.decide(plan.service.name, f"volumes ({volume})", f"volumeClaimTemplates/{volume}",
                 f"the StatefulSet asks for a {DEFAULT_SIZE} ReadWriteOnce claim per pod "
                 f"({volume}-{plan.name}-0 for the first), kept when the pod is replaced")  # fmt: skip
    return spec


def plan_claim_templates(plan: Plan) -> list[dict[str, Any]]:
    names = [m.source for m in plan.service.mounts if m.kind == "volume" and m.source]
    return [claim_template(name) for name in dict.fromkeys(names)]


def _job(t: Translation, plan: Plan, template: dict[str, Any]) -> dict[str, Any]:
    policy = (
        "OnFailure"
        if (plan.service.restart or "").startswith("on-failure")
        else "Never"
    )
    template["spec"]["restartPolicy"] = policy
    t.decide(plan.service.name, "restart", f"restartPolicy: {policy}, backoffLimit: 0",
             "the pod runs once; backoffLimit 0 means a failed run is not retried, as "
             'with restart: "no"')  # fmt: skip
    return {"backoffLimit": 0, "template": template}


def _daemonset(t: Translation, plan: Plan, template: dict[str, Any]) -> dict[str, Any]:
    return {"selector": _selector(plan), "updateStrategy": {"type": "RollingUpdate"},
            "template": template}  # fmt: skip


def _summary(plan: Plan) -> str:
    if plan.role == "singleton":
        return "background worker: exactly one pod, and Recreate so an update never runs two"
    if plan.role == "statefulset":
        return "database: a StatefulSet keeps one stable pod with its own volume claim"
    if plan.kind == "Job":
        return 'runs once to completion (restart: "no")'
    if plan.kind == "DaemonSet":
        return "one pod on every node (deploy.mode: global)"
    return f"server: {plan.replicas} replica(s), rolling updates, can scale out"
