"""The Pod template of a translated service: one container and its volumes.

Compose `entrypoint` is Kubernetes `command` and compose `command` is Kubernetes `args`
(the names are swapped, a classic trap). Kubernetes expands `$(VAR)` in command, args
and env values, which compose never did, so a literal `$(` is escaped as `$$(`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.dependencies import wait_containers
from kubecourse.compose.filemounts import file_volumes
from kubecourse.compose.model import Mount
from kubecourse.compose.names import clean_name, derived_name
from kubecourse.compose.probes import liveness_probe, readiness_probe
from kubecourse.compose.resources import container_resources
from kubecourse.compose.syntax import SyntaxProblem, parse_duration

ClaimLookup = Callable[[str], tuple[str, bool]]
_K8S_EXPANSION = re.compile(r"\$(?=[($])")
DOCKER_SOCKET = ("docker.sock",)


def k8s_literal(text: str) -> str:
    """Escape `$(` and `$$` so Kubernetes passes the text through unchanged."""
    return _K8S_EXPANSION.sub("$$", text)


def pod_spec(
    t: Translation, plan: Plan, claims: dict[str, ClaimLookup]
) -> dict[str, Any]:
    """The pod spec of `plan` and its sidecars; `claims` maps a service to its claims."""
    used: set[str] = set()
    volumes: list[dict[str, Any]] = []
    containers = []
    for member in [plan, *plan.sidecars]:
        member_volumes, container = _pod_part(
            t, member, claims[member.service.name], used
        )
        volumes += member_volumes
        containers.append(container)
    spec: dict[str, Any] = {"containers": containers}
    waits = wait_containers(t, plan)
    if waits:
        spec["initContainers"] = waits
    if volumes:
        spec["volumes"] = volumes
    grace = plan.service.raw.get("stop_grace_period")
    if grace is not None:
        _grace_period(t, plan, grace, spec)
    return spec


def _pod_part(
    t: Translation, plan: Plan, claim: ClaimLookup, used: set[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    volumes, mounts = _volumes(t, plan, claim, used)
    file_vols, file_mounts = file_volumes(t, plan, used)
    container = _container(t, plan, plan.image, mounts + file_mounts)
    return volumes + file_vols, container


def _container(
    t: Translation, plan: Plan, image: str, mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    service = plan.service
    container: dict[str, Any] = {"name": plan.name, "image": image}
    _argv(t, plan, container)
    _env(t, plan, container)
    if plan.ports:
        container["ports"] = [
            _container_port(p.container, p.protocol) for p in plan.ports
        ]
    probe = readiness_probe(t, plan)
    if probe is not None:
        container["readinessProbe"] = probe
        liveness = liveness_probe(t, plan, probe)
        if liveness is not None:
            container["livenessProbe"] = liveness
    resources = container_resources(t, plan)
    if resources:
        container["resources"] = resources
    if mounts:
        container["volumeMounts"] = mounts
    if isinstance(service.raw.get("working_dir"), str):
        container["workingDir"] = service.raw["working_dir"]
        t.decide(
            service.name, "working_dir", "containers[0].workingDir", "same meaning"
        )
    _security(t, plan, container)
    return container


def _container_port(number: int, protocol: str) -> dict[str, Any]:
    return {
        "name": port_name(number, protocol),
        "containerPort": number,
        "protocol": protocol,
    }


def port_name(number: int, protocol: str) -> str:
    """`http` for TCP 80, `https` for TCP 443, else `tcp-8080` / `udp-53`."""
    if protocol == "TCP" and number == 80:
        return "http"
    if protocol == "TCP" and number == 443:
        return "https"
    return f"{protocol.lower()}-{number}"


def _argv(t: Translation, plan: Plan, container: dict[str, Any]) -> None:
    service = plan.service
    if service.entrypoint is not None:
        container["command"] = [k8s_literal(word) for word in service.entrypoint]
        t.decide(service.name, "entrypoint", "containers[0].command",
                 "compose `entrypoint` replaces the image ENTRYPOINT, which Kubernetes calls `command`")  # fmt: skip
    if service.command is not None:
        container["args"] = [k8s_literal(word) for word in service.command]
        t.decide(service.name, "command", "containers[0].args",
                 "compose `command` replaces the image CMD, which Kubernetes calls `args`"
                 + ("" if isinstance(service.raw.get("command"), list)
                    else "; the string was split into words as compose does"))  # fmt: skip


def _env(t: Translation, plan: Plan, container: dict[str, Any]) -> None:
    service = plan.service
    env = []
    for key, value in service.environment.items():
        if value is None:
            t.warn(service.name, f"environment.{key}", "(dropped)",
                   f"`{key}` has no value; compose would copy it from the shell running "
                   "compose, which would leak this machine's settings into the cluster, "
                   "so it is left out; give it a value")  # fmt: skip
            continue
        env.append({"name": key, "value": k8s_literal(value)})
    if env:
        container["env"] = env
        t.decide(service.name, "environment", "containers[0].env",
                 f"{len(env)} variable(s) set on the container, values as strings")  # fmt: skip
    if service.env_files:
        config_map = derived_name(plan.name, "env")
        container["envFrom"] = [{"configMapRef": {"name": config_map}}]
        t.decide(service.name, "env_file", f"ConfigMap/{config_map} + envFrom",
                 "the env file's variables are stored in a ConfigMap, and envFrom loads "
                 "them all into the container, like env_file did")  # fmt: skip


def _security(t: Translation, plan: Plan, container: dict[str, Any]) -> None:
    service = plan.service
    security: dict[str, Any] = {}
    user = service.raw.get("user")
    if user is not None:
        uid, _, gid = str(user).partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            security["runAsUser"] = int(uid)
            if gid:
                security["runAsGroup"] = int(gid)
            t.decide(
                service.name,
                "user",
                "securityContext.runAsUser",
                "numeric user id kept",
            )
        else:
            t.warn(service.name, "user", "(dropped)",
                   f"`{user}` is a user name; Kubernetes needs a numeric id "
                   "(runAsUser), so the image's default user is used")  # fmt: skip
    for key, field in (
        ("privileged", "privileged"),
        ("read_only", "readOnlyRootFilesystem"),
    ):
        if service.raw.get(key) is True:
            security[field] = True
            t.decide(service.name, key, f"securityContext.{field}", "same meaning")
    if security:
        container["securityContext"] = security


def _grace_period(t: Translation, plan: Plan, value: Any, spec: dict[str, Any]) -> None:
    try:
        seconds = int(parse_duration(value))
    except SyntaxProblem as exc:
        t.warn(plan.service.name, "stop_grace_period", "(dropped)", str(exc))
        return
    spec["terminationGracePeriodSeconds"] = seconds
    t.decide(plan.service.name, "stop_grace_period", "terminationGracePeriodSeconds",
             "time between SIGTERM and SIGKILL, as in compose")  # fmt: skip


def _volumes(
    t: Translation, plan: Plan, claim: ClaimLookup, used: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for mount in plan.service.mounts:
        name, source = _volume_source(t, plan, mount, claim)
        name = _unique(name, used)
        if source is not None:
            volumes.append({"name": name, **source})
        entry: dict[str, Any] = {"name": name, "mountPath": mount.target}
        if mount.read_only:
            entry["readOnly"] = True
        mounts.append(entry)
    return volumes, mounts


def _unique(name: str, used: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in used:
        candidate = derived_name(name, str(counter))
        counter += 1
    used.add(candidate)
    return candidate


def _volume_source(
    t: Translation, plan: Plan, mount: Mount, claim: ClaimLookup
) -> tuple[str, dict[str, Any] | None]:
    name = plan.service.name
    if mount.kind == "volume" and mount.source is not None:
        claim_name, in_template = claim(mount.source)
        if in_template:
            return claim_name, None
        return claim_name, {"persistentVolumeClaim": {"claimName": claim_name}}
    label = clean_name(mount.target) or "root"
    if mount.kind == "tmpfs":
        t.decide(name, mount.key, f"emptyDir (medium: Memory) at {mount.target}",
                 "a tmpfs is memory-backed scratch space; so is an emptyDir in memory")  # fmt: skip
        return derived_name("tmpfs", label)[:63], {"emptyDir": {"medium": "Memory"}}
    if mount.kind == "anonymous":
        t.warn(name, mount.key, f"emptyDir at {mount.target}",
               "an anonymous volume becomes an emptyDir: it survives container restarts "
               "but is lost when the pod is replaced")  # fmt: skip
        return derived_name("scratch", label)[:63], {"emptyDir": {}}
    _warn_bind(t, name, mount)
    return derived_name("host", label)[:63], {"emptyDir": {}}


def _warn_bind(t: Translation, service: str, mount: Mount) -> None:
    source = mount.source or ""
    if source.endswith(DOCKER_SOCKET):
        why = (f"`{source}` is the Docker socket: the container used it to talk to "
               "Docker; a Kubernetes node may not run Docker at all, and programs that "
               "watch containers should read the Kubernetes API instead, so an empty "
               "directory stands in for it")  # fmt: skip
    else:
        why = (f"the host path `{source}` does not exist inside the cluster, so an "
               "empty directory stands in for it; bake the files into the image or "
               "use a ConfigMap for configuration")  # fmt: skip
    if any(option in ("z", "Z") for option in mount.options):
        why += "; the SELinux option `z`/`Z` has no meaning here and was dropped"
    t.warn(service, mount.key, f"emptyDir at {mount.target}", why)
