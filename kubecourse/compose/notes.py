"""Decisions and warnings for compose keys that produce no object of their own.

`depends_on`, `restart`, `container_name`, networks and the Traefik proxy all mean
something a compose user relies on; each gets a sentence saying what takes its place
in Kubernetes. Keys the translator does not handle at all become warnings.
"""

from __future__ import annotations

import re
from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.dependencies import wants_wait
from kubecourse.compose.names import service_name
from kubecourse.compose.options import LABEL_PREFIX
from kubecourse.compose.services import build_service

HANDLED = frozenset(
    """image build command entrypoint environment env_file labels ports expose volumes
    tmpfs healthcheck depends_on networks restart deploy profiles container_name
    working_dir user privileged read_only stop_grace_period mem_limit cpus scale
    secrets configs network_mode""".split()
)
_UNDERSTOOD = re.compile(
    r"^traefik\.(enable"
    r"|http\.routers\.[^.]+\.(rule|middlewares|service|priority|entrypoints|tls.*)"
    r"|http\.services\.[^.]+\.loadbalancer\.server\.port"
    r"|http\.middlewares\.[^.]+\.(stripprefix\.prefixes|addprefix\.prefix"
    r"|replacepathregex\.(regex|replacement)))$"
)
HANDLED_DEPLOY = frozenset({"replicas", "mode", "resources", "update_config"})
_DEPLOY_NOTES = {
    "placement": "the scheduler chooses nodes; use a nodeSelector only for real hardware "
    "needs (lesson 05), so placement constraints were not copied",
    "restart_policy": "pods of a workload are always restarted by Kubernetes; "
    "restart_policy has no equivalent",
}


def explain_service_keys(t: Translation, plan: Plan) -> None:
    """Everything about one deployed service that is not an object field."""
    _depends_on(t, plan)
    _restart(t, plan)
    _container_name(t, plan)
    _labels(t, plan)
    _deploy_leftovers(t, plan)
    _network_mode(t, plan)
    _leftovers(t, plan)


_NETWORK_MODES = {
    "host": "the container used the machine's own network; a pod has its own address "
    "(hostNetwork: true would copy this, but it clashes with other pods' ports and is "
    "refused by most clusters), so the pod gets its own network",
    "none": "the container had no network at all; a pod always has one (add a "
    "NetworkPolicy that allows nothing to come close)",
}


def _network_mode(t: Translation, plan: Plan) -> None:
    mode = plan.service.network_mode
    if mode is None or mode.startswith("service:"):
        return
    if mode == "bridge":
        t.decide(plan.service.name, "network_mode", "(pod network)",
                 "bridge is Docker's default network; every pod is on the pod network")  # fmt: skip
        return
    why = _NETWORK_MODES.get(
        mode.split(":")[0],
        f"`{mode}` joins another container's network; list the services in one "
        "compose service with network_mode: service:<name> to get one pod",
    )
    t.warn(plan.service.name, "network_mode", "(own pod network)", why)


WAIT_FLAG = "`--wait-for-dependencies` (or `wait_for_dependencies=True` in Python)"


def _depends_on(t: Translation, plan: Plan) -> None:
    if wants_wait(t, plan):
        return  # each dependency is explained with its init container
    for other, condition in plan.service.depends_on.items():
        why = "Kubernetes has no start order: all pods start together. " + _readiness(
            t, other
        )
        if condition == "service_completed_successfully":
            why += f"; {other} should run as a Job that finishes first"
        t.decide(plan.service.name, f"depends_on.{other}", "(no equivalent)", why)


def _readiness(t: Translation, other: str) -> str:
    """What, if anything, tells this service that `other` is ready: only what is true."""
    target = t.plans.get(other)
    name = t.names.get(other, other)
    if target is None or target.kind is None:
        return (f"{other} is not a workload of its own here (see its section), so "
                "nothing in Kubernetes tells this service when it is ready; this "
                "service must retry its connection")  # fmt: skip
    check = target.service.healthcheck
    has_probe = check is not None and not check.disabled and check.command is not None
    if not target.ports:
        what = "a readiness probe but no Service" if has_probe else "no healthcheck"
        return (f"{name} has {what}, and no port to wait for, so nothing holds this "
                f"service back: it must cope with {name} not being ready yet")  # fmt: skip
    if has_probe:
        return (f"{name}'s readiness probe (from its healthcheck) keeps it out of its "
                "Service until it is ready, and this service must retry its connection "
                f"until then; or pass {WAIT_FLAG} for init containers that wait")  # fmt: skip
    return (f"{name} has no healthcheck, so it gets no readiness probe: Kubernetes "
            "considers it ready as soon as its container runs, and this service may "
            f"start before {name} accepts connections. Give {name} a healthcheck (it "
            "becomes a readinessProbe) and make this service retry its connection, or "
            f"pass {WAIT_FLAG} for init containers that wait until {name}'s port "
            "accepts connections")  # fmt: skip


def _restart(t: Translation, plan: Plan) -> None:
    restart = plan.service.restart
    if restart is None or plan.kind in ("Job", None):
        return
    why = f"restart: {restart} -> a {plan.kind} always restarts its pods (restartPolicy: Always)"
    if restart.startswith("on-failure") or restart == "no":
        t.warn(
            plan.service.name,
            "restart",
            "restartPolicy: Always",
            why + "; compose would not have restarted a cleanly stopped container",
        )
    else:
        t.decide(plan.service.name, "restart", "restartPolicy: Always", why)


def _container_name(t: Translation, plan: Plan) -> None:
    if "container_name" in plan.service.raw:
        t.decide(plan.service.name, "container_name", "(not needed)",
                 "Kubernetes names pods itself (name plus a random suffix, new on every "
                 f"restart); other services reach it through the Service name {plan.name}")  # fmt: skip


def _labels(t: Translation, plan: Plan) -> None:
    labels = plan.service.labels
    unknown = [
        key
        for key in labels
        if key.startswith("traefik.") and not _UNDERSTOOD.match(key)
    ]
    if unknown:
        t.warn(plan.service.name, "labels", "(not translated)",
               f"Traefik labels {', '.join(unknown)} have no Ingress equivalent; "
               "configure them on the ingress controller if you need them")  # fmt: skip
    other = [key for key in labels
             if not key.startswith(("traefik.", LABEL_PREFIX))]  # fmt: skip
    if other:
        t.warn(plan.service.name, "labels", "(not copied)",
               f"container labels {', '.join(other)} are Docker metadata; add them as "
               "pod labels or annotations if a tool reads them")  # fmt: skip


def _deploy_leftovers(t: Translation, plan: Plan) -> None:
    for key in plan.service.deploy:
        if key in HANDLED_DEPLOY:
            continue
        why = _DEPLOY_NOTES.get(key, f"deploy.{key} has no translation yet")
        t.warn(plan.service.name, f"deploy.{key}", "(dropped)", why)


def _leftovers(t: Translation, plan: Plan) -> None:
    for key in plan.service.raw:
        if key in HANDLED or str(key).startswith("x-"):
            continue
        t.warn(plan.service.name, str(key), "(dropped)", _leftover_reason(str(key)))


def _leftover_reason(key: str) -> str:
    reasons = {
        "links": "links are obsolete in compose; Service names do the job",
        "extra_hosts": "extra_hosts would be hostAliases on the pod; not translated yet",
    }
    return reasons.get(key, f"`{key}` is not translated yet")


def explain_proxy(t: Translation, plan: Plan) -> None:
    """The Traefik container is replaced by the cluster's ingress controller."""
    service = plan.service
    for spec in service.ports:
        t.decide(service.name, spec.key, "(ingress controller)",
                 f"port {spec.published or spec.container} was where browsers reached "
                 "Traefik; the ingress controller now listens for the cluster")  # fmt: skip
    for mount in service.mounts:
        if (mount.source or "").endswith("docker.sock"):
            t.decide(service.name, mount.key, "(not needed)",
                     "Traefik read the containers' labels through the Docker socket; "
                     "the ingress controller reads Ingress objects from the Kubernetes "
                     "API instead")  # fmt: skip
    argv = [*(service.entrypoint or []), *(service.command or [])]
    if any(arg.startswith("--providers.docker") for arg in argv):
        t.decide(service.name, "command", "(not needed)",
                 "--providers.docker made Traefik discover routes from container labels; "
                 "those labels became the Ingress, which the controller watches")  # fmt: skip


def explain_networks(t: Translation, plans: list[Plan]) -> None:
    """The obsolete `version`, and network aliases (the networks: see `networks`)."""
    if "version" in t.project.top_level:
        t.decide("", "version", "(not needed)",
                 "the top-level version is obsolete in compose; Kubernetes objects carry "
                 "their own apiVersion")  # fmt: skip
    for plan in plans:
        _aliases(t, plan)


def _aliases(t: Translation, plan: Plan) -> None:
    networks = plan.service.raw.get("networks")
    if not isinstance(networks, dict) or plan.kind is None:
        return
    taken = set(t.names.values()) | {m["metadata"]["name"] for m in _services(t)}
    for network, options in networks.items():
        aliases = options.get("aliases") if isinstance(options, dict) else None
        for alias in aliases if isinstance(aliases, list) else []:
            _alias(t, plan, f"networks.{network}.aliases", str(alias), taken)


def _services(t: Translation) -> list[dict[str, Any]]:
    return [e.manifest for e in t.emitted if e.manifest["kind"] == "Service"]


def _alias(t: Translation, plan: Plan, key: str, alias: str, taken: set[str]) -> None:
    name = service_name(alias)
    if not plan.ports:
        t.warn(plan.service.name, key, "(dropped)",
               f"alias `{alias}` needs a Service, and this service has no ports")  # fmt: skip
        return
    if not name or name in taken:
        t.warn(plan.service.name, key, "(dropped)",
               f"alias `{alias}` would be the Service name `{name}`, which is taken")  # fmt: skip
        return
    taken.add(name)
    build_service(t, plan, name)
    note = (
        ""
        if name == alias
        else f" (`{alias}` is not a valid Service name, so `{name}`)"
    )
    t.decide(plan.service.name, key, f"Service/{name}",
             f"an extra DNS name on the network: a second Service selecting the same "
             f"pods answers to {name}{note}")  # fmt: skip
