"""Load a compose project like `docker compose config` would, then validate it.

Steps: read each file (bounded, with line numbers), interpolate it with the project
environment, merge the files in order, select services by profile, and build typed
`Service` records. Every problem found on the way is collected, and one
`ComposeValidationError` lists them all with file, line and key path.

Variables for interpolation come from, weakest first: `.env` beside the first file,
the `env_file=` files, then the process environment (compose's own order). Pass
`environ={}` to translate the same way on every machine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kubecourse.compose.envfile import read_env_file
from kubecourse.compose.errors import ComposeError, ComposeValidationError, Problem
from kubecourse.compose.extends import ExtendsResolver
from kubecourse.compose.filerefs import read_definitions
from kubecourse.compose.interpolate import Interpolator, interpolate_tree
from kubecourse.compose.merge import merge_documents
from kubecourse.compose.model import ComposeProject, Decision, Location
from kubecourse.compose.validate import (
    Context,
    Reporter,
    build_service,
    check_top_level,
)
from kubecourse.compose.yamlread import read_yaml

PathArg = str | os.PathLike[str]
MAX_SERVICES = 500


def load(
    paths: PathArg | Sequence[PathArg],
    *,
    env_file: PathArg | Sequence[PathArg] | None = None,
    profiles: Iterable[str] = (),
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    image_prefix: str | None = None,
) -> ComposeProject:
    """Load, merge, interpolate and validate compose files into a `ComposeProject`.

    `image_prefix` matters only for services that have `build` but no `image`: without
    it they are a problem (a cluster cannot build images), with it they are accepted.
    """
    files = _as_paths(paths)
    env, env_problems, env_notes = _environment(files[0].parent, env_file, environ)
    interpolator = Interpolator(env)
    documents, locations, problems = _read_all(files, interpolator)
    problems = env_problems + problems
    merged = merge_documents(documents)
    reporter = Reporter(locations, str(files[0]), problems)
    extends_notes = _resolve_extends(merged, reporter, interpolator, files[0])
    check_top_level(merged, reporter)
    project = _project(merged, files, project_name, reporter)
    project.decisions += env_notes + extends_notes
    project.definitions = read_definitions(
        merged, files[0].parent, env, reporter.problem
    )
    _select_profiles(project, merged, set(profiles), image_prefix, reporter)
    project.warnings += _unset_warnings(interpolator, locations) + reporter.warnings
    if reporter.problems:
        raise ComposeValidationError(reporter.problems)
    return project


def _as_paths(paths: PathArg | Sequence[PathArg]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ComposeError("no compose file given")
    return [Path(item) for item in items]


def _environment(
    base_dir: Path,
    env_file: PathArg | Sequence[PathArg] | None,
    environ: Mapping[str, str] | None,
) -> tuple[dict[str, str], list[Problem], list[Decision]]:
    env: dict[str, str] = {}
    problems: list[Problem] = []
    notes: list[Decision] = []
    for path, required in _variable_files(base_dir, env_file):
        if not path.is_file():
            if required:
                problems.append(Problem(str(path), None, "", "env file not found"))
            continue
        parsed = read_env_file(path)
        env.update(parsed.values)
        problems += [Problem(str(path), n, "", msg) for n, msg in parsed.problems]
        notes.append(Decision("", "env_file", "interpolation variables",
                              f"variables from {path} fill `${{...}}` in the compose files"))  # fmt: skip
    env.update(os.environ if environ is None else environ)
    return env, problems, notes


def _variable_files(
    base_dir: Path, env_file: PathArg | Sequence[PathArg] | None
) -> list[tuple[Path, bool]]:
    """`.env` beside the first file (optional), then the `env_file=` ones (required)."""
    if env_file is None:
        extra: list[PathArg] = []
    elif isinstance(env_file, (str, os.PathLike)):
        extra = [env_file]
    else:
        extra = list(env_file)
    return [(base_dir / ".env", False)] + [(Path(item), True) for item in extra]


def _read_all(
    files: list[Path], interpolator: Interpolator
) -> tuple[list[dict[str, Any]], dict[str, Location], list[Problem]]:
    documents: list[dict[str, Any]] = []
    locations: dict[str, Location] = {}
    problems: list[Problem] = []
    for path in files:
        try:
            document = read_yaml(path)
        except ComposeValidationError as exc:
            problems += exc.problems
            continue
        reporter = Reporter(document.locations, str(path), problems)
        data = interpolate_tree(document.data, interpolator, reporter.problem)
        documents.append(data)
        locations.update(document.locations)
    if problems and not documents:
        raise ComposeValidationError(problems)
    return documents, locations, problems


def _resolve_extends(
    merged: dict[str, Any], reporter: Reporter, interpolator: Interpolator, first: Path
) -> list[Decision]:
    services = merged.get("services")
    if not isinstance(services, dict):
        return []
    cache: dict[Path, dict[str, Any] | None] = {}

    def read_services(path: Path) -> dict[str, Any] | None:
        if path not in cache:
            cache[path] = _services_of(path, interpolator, reporter)
        return cache[path]

    def file_of(name: str) -> Path:
        file, _ = reporter.locate(f"services.{name}.extends")
        return Path(file).resolve() if file else first.resolve()

    resolver = ExtendsResolver(read_services, reporter.problem)
    resolver.resolve_all(services, file_of)
    return resolver.notes


def _services_of(
    path: Path, interpolator: Interpolator, reporter: Reporter
) -> dict[str, Any] | None:
    """The interpolated `services` of a file named by `extends.file`."""
    try:
        document = read_yaml(path)
    except ComposeValidationError as exc:
        reporter.problems.extend(exc.problems)
        return None
    file_reporter = Reporter(document.locations, str(path), reporter.problems)
    data = interpolate_tree(document.data, interpolator, file_reporter.problem)
    services = data.get("services")
    return services if isinstance(services, dict) else None


def _project(
    merged: dict[str, Any], files: list[Path], name: str | None, reporter: Reporter
) -> ComposeProject:
    chosen = name or merged.get("name") or files[0].resolve().parent.name
    clean = re.sub(r"[^a-z0-9-]+", "-", str(chosen).lower()).strip("-")[:63].strip("-")
    if not clean:
        reporter.problem("name", f"project name {chosen!r} has no usable characters")
        clean = "project"
    return ComposeProject(
        name=clean,
        files=files,
        services={},
        volumes=_section(merged, "volumes"),
        networks=_section(merged, "networks"),
        top_level=merged,
        locations=reporter.locations,
    )


def _section(merged: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    section = merged.get(key)
    if not isinstance(section, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {} for k, v in section.items()}


def _select_profiles(
    project: ComposeProject,
    merged: dict[str, Any],
    active: set[str],
    image_prefix: str | None,
    reporter: Reporter,
) -> None:
    raw_services = merged.get("services")
    if not isinstance(raw_services, dict):
        return
    if len(raw_services) > MAX_SERVICES:
        raise ComposeError(
            f"the project defines {len(raw_services)} services; more than "
            f"{MAX_SERVICES} is refused (a real project has a few dozen at most)"
        )
    context = Context(
        reporter, project.files[0].parent, set(map(str, raw_services)),
        set(project.volumes), set(project.networks), image_prefix,
        set(_section(merged, "secrets")), set(_section(merged, "configs")),
    )  # fmt: skip
    for name, raw in raw_services.items():
        profiles = raw.get("profiles") if isinstance(raw, dict) else None
        if isinstance(profiles, list) and profiles and not _enabled(profiles, active):
            project.skipped[str(name)] = [str(p) for p in profiles]
            continue
        service = build_service(str(name), raw, context)
        if service is not None:
            project.services[service.name] = service
    _note_skipped(project)
    _warn_unused_profiles(project, raw_services, active)


def _enabled(profiles: list[Any], active: set[str]) -> bool:
    return "*" in active or any(str(profile) in active for profile in profiles)


def _note_skipped(project: ComposeProject) -> None:
    for name, profiles in project.skipped.items():
        listed = ", ".join(profiles)
        project.decisions.append(Decision(
            name, "profiles", "(not translated)",
            f"skipped: it only runs with profile {listed}, which is not active; pass "
            f"`--profile {profiles[0]}` (or `profiles=[{profiles[0]!r}]` in Python) to "
            "translate it",
        ))  # fmt: skip


def _warn_unused_profiles(
    project: ComposeProject, raw_services: dict[Any, Any], active: set[str]
) -> None:
    """A profile no service lists enables nothing: most likely a typo, so say so."""
    used: set[str] = set()
    for raw in raw_services.values():
        profiles = raw.get("profiles") if isinstance(raw, dict) else None
        if isinstance(profiles, list):
            used.update(str(profile) for profile in profiles)
    known = ", ".join(sorted(used)) or "none"
    for name in sorted(active - used - {"*"}):
        project.warnings.append(Decision(
            "", f"--profile {name}", "(nothing enabled)",
            f"profile `{name}` was asked for (`--profile {name}`, or `profiles=` in "
            f"Python) but no service lists it, so it enables nothing; the profiles in "
            f"this project are: {known}",
        ))  # fmt: skip


def _unset_warnings(
    interpolator: Interpolator, locations: dict[str, Location]
) -> list[Decision]:
    return [
        Decision("", f"${{{name}}}", "empty string",
                 f"variable {name} is not set, so it was replaced by an empty string "
                 "(as compose does); set it in .env or pass `--env-file` (or `env_file=` in "
                 "Python)")
        for name in sorted(interpolator.unset)
    ]  # fmt: skip
