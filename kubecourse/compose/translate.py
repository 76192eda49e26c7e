"""Compose project -> Kubernetes manifests, with every decision explained.

`translate()` loads the files (see `loader`), plans each service (see `workloads`),
then emits ConfigMaps, claims, workloads, Services and the Ingress through one
`Translation`, which insists on an explanation for each object. Whatever compose key
is not translated becomes a warning naming the service and key: nothing is dropped
silently. Pure: no cluster, no network, no files written.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.errors import ComposeValidationError, Problem
from kubecourse.compose.filemounts import emit_file_objects
from kubecourse.compose.loader import PathArg, load
from kubecourse.compose.model import ComposeProject
from kubecourse.compose.names import assign_names, clean_name, derived_name
from kubecourse.compose.networks import build_network_policies, plan_network_labels
from kubecourse.compose.notes import (
    explain_networks,
    explain_proxy,
    explain_service_keys,
)
from kubecourse.compose.result import TranslationResult
from kubecourse.compose.routes import build_routes
from kubecourse.compose.services import build_service
from kubecourse.compose.storage import plan_claims
from kubecourse.compose.workloads import attach_sidecars, build_workload, plan_service
from kubecourse.errors import TranslationWarning


def translate(
    paths: PathArg | Sequence[PathArg],
    *,
    env_file: PathArg | Sequence[PathArg] | None = None,
    profiles: Iterable[str] = (),
    image_prefix: str | None = None,
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    warn: bool = False,
    gateway: bool = False,
    network_policies: bool = True,
    wait_for_dependencies: bool = False,
) -> TranslationResult:
    """Translate compose files into Kubernetes manifests plus their explanation.

    Raises `ComposeValidationError` listing every problem in the input. Lossy steps
    are collected in `result.warnings`; with `warn=True` each is also emitted as a
    `TranslationWarning`. `gateway=True` adds a Gateway and HTTPRoutes (Gateway API)
    next to the Ingress; `network_policies=False` leaves compose networks out;
    `wait_for_dependencies=True` gives services an init container that waits for
    the ports of what they `depends_on`.
    """
    project = load(
        paths, env_file=env_file, profiles=profiles, project_name=project_name,
        environ=environ, image_prefix=image_prefix,
    )  # fmt: skip
    return translate_project(
        project, image_prefix=image_prefix, warn=warn, gateway=gateway,
        network_policies=network_policies, wait_for_dependencies=wait_for_dependencies,
    )  # fmt: skip


def translate_project(
    project: ComposeProject,
    *,
    image_prefix: str | None = None,
    warn: bool = False,
    gateway: bool = False,
    network_policies: bool = True,
    wait_for_dependencies: bool = False,
) -> TranslationResult:
    """Translate an already loaded project (see `load`)."""
    t = Translation(project, _names(project))
    t.options = {"gateway": gateway, "wait_for_dependencies": wait_for_dependencies}
    t.decisions += project.decisions
    t.warnings += project.warnings
    _explain_letter_prefix(t)
    plans = _plan(t, image_prefix)
    isolated = plan_network_labels(t, plans, network_policies)
    _build(t, plans)
    routed = build_routes(t, plans)
    if isolated:
        build_network_policies(t, plans, routed)
    explain_networks(t, plans)
    result = TranslationResult.from_translation(t)
    if warn:
        for record in result.warnings:
            warnings.warn(str(record), TranslationWarning, stacklevel=2)
    return result


def _plan(t: Translation, image_prefix: str | None) -> list[Plan]:
    plans = [plan_service(t, service) for service in t.project.services.values()]
    attach_sidecars(t, plans)
    t.plans = {plan.service.name: plan for plan in plans}
    for plan in plans:
        if plan.kind is not None or plan.role == "sidecar":
            plan.image = _image(t, plan, image_prefix)
    return plans


def _build(t: Translation, plans: list[Plan]) -> None:
    claims = plan_claims(t, plans)
    emit_file_objects(t, plans)
    for plan in plans:
        if plan.kind is None:
            if plan.role == "proxy":
                explain_proxy(t, plan)
            else:
                explain_service_keys(t, plan)
            continue
        _env_config_map(t, plan)
        for sidecar in plan.sidecars:
            _env_config_map(t, sidecar)
        build_workload(t, plan, claims)
        build_service(t, plan)
        explain_service_keys(t, plan)


def _names(project: ComposeProject) -> dict[str, str]:
    names, messages = assign_names(list(project.services))
    if messages:
        file, line = project.locations.get("services", (str(project.files[0]), 0))
        raise ComposeValidationError(
            Problem(file, line or None, "services", message) for message in messages
        )
    return names


def _explain_letter_prefix(t: Translation) -> None:
    for original, name in t.names.items():
        if name != clean_name(original):
            t.decide(original, "(name)", f"name {name}",
                     f"a Service name must start with a letter (an RFC 1035 label) and "
                     f"`{clean_name(original)}` does not, so all objects of this service "
                     f"are named `{name}` (workload, Service, labels, file); other "
                     f"services reach it as `{name}`, not `{original}`, so update "
                     "addresses that name it")  # fmt: skip


def _image(t: Translation, plan: Plan, image_prefix: str | None) -> str:
    service = plan.service
    if service.image is not None:
        if service.build is not None:
            t.decide(service.name, "build", "(not translated)",
                     f"a cluster pulls images and cannot build them: build and push "
                     f"`{service.image}` first (docker compose build, then push)")  # fmt: skip
        return service.image
    image = f"{(image_prefix or '').rstrip('/')}/{plan.name}:latest"
    t.warn(service.name, "build", f"image: {image}",
           "the service had only `build`; the image name was made from `--image-prefix` "
           "(`image_prefix=` in Python). "
           f"Build and push it (docker build -t {image} ... && docker push {image})")  # fmt: skip
    return image


def _env_config_map(t: Translation, plan: Plan) -> None:
    service = plan.service
    if not service.env_files:
        return
    name = derived_name(plan.name, "env")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                "data": dict(service.env_from_files)}  # fmt: skip
    files = ", ".join(path.name for path in service.env_files)
    t.emit(manifest, (service.name,), f"the variables of env_file {files}")
