"""`extends`: a service that starts from another service's definition, as compose does.

`extends: base` (or `{service: base}`) copies `base` from the same file; `{file: other.yml,
service: base}` reads it from another file, whose relative paths (`build`, `env_file`,
`./` bind mounts) are rebased so they still point where that file meant. The extending
service is merged on top with the same rules as `-f` overrides. Chains are followed
(at most `MAX_CHAIN` deep) and cycles are problems, never infinite loops.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubecourse.compose.merge import merge_service
from kubecourse.compose.model import Decision

MAX_CHAIN = 32
ReadServices = Callable[[Path], dict[str, Any] | None]
Report = Callable[[str, str], None]
_Link = tuple[str, str]


class ExtendsProblem(ValueError):
    """An `extends` that cannot be followed; the message says which and why."""


@dataclass
class ExtendsResolver:
    """Resolves every service's `extends` in one merged `services` mapping, in place."""

    read_services: ReadServices
    report: Report
    notes: list[Decision] = field(default_factory=list)

    def resolve_all(
        self, services: dict[str, Any], file_of: Callable[[str], Path]
    ) -> None:
        for name in list(services):
            raw = services[name]
            if not isinstance(raw, dict) or "extends" not in raw:
                continue
            file = file_of(name)
            try:
                services[name] = self._resolve(services, str(name), file, ())
            except ExtendsProblem as exc:
                self.report(f"services.{name}.extends", str(exc))
                raw.pop("extends", None)

    def _resolve(
        self, services: dict[str, Any], name: str, file: Path, chain: tuple[_Link, ...]
    ) -> dict[str, Any]:
        raw = services.get(name)
        if not isinstance(raw, dict):
            raise ExtendsProblem(f"service `{name}` is not defined in {file.name}")
        if "extends" not in raw:
            return raw
        base_name, base_file = _target(raw["extends"], file)
        link = (str(base_file), base_name)
        if link in chain or len(chain) >= MAX_CHAIN:
            path = " -> ".join(n for _, n in (*chain, link))
            raise ExtendsProblem(
                f"`extends` goes round in a cycle (or too deep): {path}"
            )
        base = self._base(services, base_name, base_file, file, (*chain, link))
        child = {k: v for k, v in raw.items() if k != "extends"}
        self.notes.append(Decision(
            name, "extends", "(merged)",
            f"starts from service `{base_name}` of {base_file.name}, with this "
            "service's own keys merged on top (the same rules as an override file)",
        ))  # fmt: skip
        return merge_service(base, child)

    def _base(
        self,
        services: dict[str, Any],
        name: str,
        base_file: Path,
        file: Path,
        chain: tuple[_Link, ...],
    ) -> dict[str, Any]:
        if base_file == file:
            return copy.deepcopy(self._resolve(services, name, file, chain))
        other = self.read_services(base_file)
        if other is None:
            raise ExtendsProblem(f"cannot read services from {base_file}")
        resolved = self._resolve(other, name, base_file, chain)
        return rebase(copy.deepcopy(resolved), base_file.parent, file.parent)


def _target(spec: Any, file: Path) -> tuple[str, Path]:
    if isinstance(spec, str):
        return spec, file
    if not isinstance(spec, dict) or not isinstance(spec.get("service"), str):
        raise ExtendsProblem(
            "`extends` must be a service name or a mapping with `service` (and "
            "optionally `file`)"
        )
    other = spec.get("file")
    if other is None:
        return spec["service"], file
    if not isinstance(other, str):
        raise ExtendsProblem("`extends.file` must be a path")
    return spec["service"], (file.parent / other).resolve()


def rebase(service: dict[str, Any], origin: Path, target: Path) -> dict[str, Any]:
    """Rewrite `./` paths of a service read from `origin` so they work from `target`."""
    if origin.resolve() == target.resolve():
        return service
    move = _mover(origin)
    build = service.get("build")
    if isinstance(build, str):
        service["build"] = move(build)
    elif isinstance(build, dict) and isinstance(build.get("context"), str):
        build["context"] = move(build["context"])
    service["env_file"] = _rebase_env_files(service.get("env_file"), move)
    if service["env_file"] is None:
        del service["env_file"]
    if isinstance(service.get("volumes"), list):
        service["volumes"] = [_rebase_volume(v, move) for v in service["volumes"]]
    return service


def _mover(origin: Path) -> Callable[[str], str]:
    def move(path: str) -> str:
        if path.startswith("."):
            return str((origin / path).resolve())
        return path

    return move


def _rebase_env_files(value: Any, move: Callable[[str], str]) -> Any:
    entries = value if isinstance(value, list) else [value] if value else []
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(move(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("path"), str):
            out.append({**entry, "path": move(entry["path"])})
        else:
            out.append(entry)
    return out or None


def _rebase_volume(volume: Any, move: Callable[[str], str]) -> Any:
    if isinstance(volume, str) and volume.startswith("."):
        source, sep, rest = volume.partition(":")
        return move(source) + sep + rest
    if isinstance(volume, dict) and isinstance(volume.get("source"), str):
        return {**volume, "source": move(volume["source"])}
    return volume
