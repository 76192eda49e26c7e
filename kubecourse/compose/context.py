"""Shared state of one translation: names, the decision log and the emitted objects.

Every module of the translator writes through `Translation`, so no object can be
emitted without its labels, annotations and an explanation, and nothing can be dropped
without a warning record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubecourse.compose.model import ComposeProject, Decision, PortSpec, Service

NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
SERVICE_ANNOTATION = "kubecourse.io/compose-service"
EXPLANATION_ANNOTATION = "kubecourse.io/explanation"
STRIP_PREFIX_ANNOTATION = "kubecourse.io/strip-prefix"
Manifest = dict[str, Any]


@dataclass
class Emitted:
    """A manifest and the compose services it came from (several for shared objects)."""

    manifest: Manifest
    services: tuple[str, ...]


@dataclass
class Plan:
    """How one compose service is translated: its name, role, kind and ports."""

    service: Service
    name: str
    role: str
    kind: str | None
    ports: list[PortSpec]
    replicas: int = 1
    image: str = ""
    host: str | None = None
    sidecars: list[Plan] = field(default_factory=list)


@dataclass
class Translation:
    """The decision log and object list of one translation run."""

    project: ComposeProject
    names: dict[str, str]
    decisions: list[Decision] = field(default_factory=list)
    warnings: list[Decision] = field(default_factory=list)
    emitted: list[Emitted] = field(default_factory=list)
    plans: dict[str, Plan] = field(default_factory=dict)
    pod_extra_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    options: dict[str, bool] = field(default_factory=dict)

    def decide(self, service: str, key: str, target: str, why: str) -> None:
        self.decisions.append(Decision(service, key, target, why))

    def warn(self, service: str, key: str, target: str, why: str) -> None:
        self.warnings.append(Decision(service, key, target, why))

    def emit(
        self, manifest: Manifest, services: tuple[str, ...], explanation: str
    ) -> Manifest:
        """Add the standard labels and annotations, then record the object."""
        metadata = manifest.setdefault("metadata", {})
        labels = metadata.setdefault("labels", {})
        labels[NAME_LABEL] = self.label_name(services, metadata["name"])
        labels[PART_OF_LABEL] = self.project.name
        annotations = metadata.setdefault("annotations", {})
        annotations[SERVICE_ANNOTATION] = ",".join(services)
        annotations[EXPLANATION_ANNOTATION] = explanation
        self.emitted.append(Emitted(manifest, services))
        return manifest

    def label_name(self, services: tuple[str, ...], fallback: str) -> str:
        if len(services) == 1 and services[0] in self.names:
            return self.names[services[0]]
        return str(fallback)

    def pod_labels(self, plan: Plan) -> dict[str, str]:
        extra = self.pod_extra_labels.get(plan.service.name, {})
        return {NAME_LABEL: plan.name, PART_OF_LABEL: self.project.name, **extra}
