"""The loaded compose project, typed, as the translator sees it.

The loader turns YAML into these records after merging, interpolation and validation,
so the translator never has to guess at compose's many spellings of the same thing
(list or mapping environment, short or long port syntax, string or list commands).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kubecourse.compose.filerefs import Definitions, Reference

Location = tuple[str, int]
MountKind = Literal["volume", "bind", "tmpfs", "anonymous"]


@dataclass(frozen=True)
class Decision:
    """One mapping from a compose key to a Kubernetes field, with the reason."""

    service: str
    compose_key: str
    target: str
    explanation: str

    def __str__(self) -> str:
        who = self.service or "(project)"
        return f"{who}: {self.compose_key} -> {self.target}: {self.explanation}"


@dataclass(frozen=True)
class PortSpec:
    """A container port a service listens on, and how compose published it."""

    container: int
    protocol: str = "TCP"
    published: str | None = None
    host_ip: str | None = None
    source: str = "ports"
    key: str = ""


@dataclass(frozen=True)
class Mount:
    """One entry of a service's `volumes` or `tmpfs`."""

    kind: MountKind
    source: str | None
    target: str
    read_only: bool = False
    options: tuple[str, ...] = ()
    key: str = ""


@dataclass(frozen=True)
class Healthcheck:
    """A compose healthcheck reduced to an argv and timings in seconds."""

    command: tuple[str, ...] | None
    form: str
    disabled: bool = False
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    retries: int | None = None


@dataclass
class Service:
    """A compose service after loading: every field in one canonical shape."""

    name: str
    raw: dict[str, Any]
    image: str | None = None
    build: dict[str, Any] | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    env_files: list[Path] = field(default_factory=list)
    env_from_files: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[PortSpec] = field(default_factory=list)
    expose: list[PortSpec] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    depends_on: dict[str, str] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    restart: str | None = None
    deploy: dict[str, Any] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)
    secrets: list[Reference] = field(default_factory=list)
    configs: list[Reference] = field(default_factory=list)
    network_mode: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    option_keys: dict[str, str] = field(default_factory=dict)


@dataclass
class ComposeProject:
    """A whole compose project: services in file order plus top-level objects."""

    name: str
    files: list[Path]
    services: dict[str, Service]
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_level: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    warnings: list[Decision] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    definitions: Definitions = field(default_factory=Definitions)
