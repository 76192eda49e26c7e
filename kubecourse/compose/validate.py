"""Check a merged compose mapping and build typed `Service` records from it.

Every problem is collected with its key path (`services.web.ports[1]`) and the file and
line it came from, so one `ComposeValidationError` can list them all. Keys the compose
specification defines but the translator does not handle are *not* problems here: the
translator reports them as warnings. Keys the specification does not define are.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubecourse.compose.envfile import read_env_file
from kubecourse.compose.errors import Problem
from kubecourse.compose.filerefs import parse_references
from kubecourse.compose.merge import as_mapping
from kubecourse.compose.model import Decision, Healthcheck, Location, Mount, Service
from kubecourse.compose.options import EXTENSION, read_options
from kubecourse.compose.syntax import (
    SyntaxProblem,
    parse_duration,
    parse_mount,
    parse_port,
)
from kubecourse.compose.yamlread import key_path

WORKLOAD_LABEL = "kubecourse.io/workload"
MAX_PORTS = 1000
RESTART_VALUES = ("no", "always", "on-failure", "unless-stopped")
TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "services", "networks", "volumes", "secrets", "configs",
     "include", "models"}
)  # fmt: skip
SERVICE_KEYS = frozenset(
    """annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command
    configs container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period
    cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on deploy develop
    device_cgroup_rules devices dns dns_opt dns_search domainname driver_opts entrypoint
    env_file environment expose extends external_links extra_hosts gpus group_add
    healthcheck hostname image init ipc isolation label_file labels links logging
    mac_address mem_limit mem_reservation mem_swappiness memswap_limit models
    network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports
    post_start pre_stop privileged profiles provider pull_policy read_only restart
    runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal
    storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes
    volumes_from working_dir""".split()
)
HEALTHCHECK_KEYS = frozenset(
    {
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "start_interval",
        "disable",
    }
)


@dataclass
class Reporter:
    """Collects problems and warnings, locating each key path in the source files."""

    locations: dict[str, Location]
    default_file: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Decision] = field(default_factory=list)

    def problem(self, path: str, message: str) -> None:
        file, line = self.locate(path)
        self.problems.append(Problem(file, line, path, message))

    def locate(self, path: str) -> tuple[str, int | None]:
        candidate = path
        while candidate:
            if candidate in self.locations:
                return self.locations[candidate]
            cut = max(candidate.rfind("."), candidate.rfind("["))
            candidate = candidate[:cut] if cut > 0 else ""
        return self.default_file, None


@dataclass
class Context:
    """What validating one service needs to know about the rest of the project."""

    reporter: Reporter
    base_dir: Path
    service_names: set[str]
    volume_names: set[str]
    network_names: set[str]
    image_prefix: str | None
    secret_names: set[str] = field(default_factory=set)
    config_names: set[str] = field(default_factory=set)


def check_top_level(data: dict[str, Any], reporter: Reporter) -> None:
    """Unknown top-level keys, and sections that must be mappings."""
    for key in data:
        if not isinstance(key, str):
            reporter.problem("", f"top-level key {key!r} is not a string")
        elif key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
            reporter.problem(key, f"unknown top-level key `{key}`")
    for section in ("services", "volumes", "networks", "secrets", "configs"):
        value = data.get(section)
        if value is not None and not isinstance(value, dict):
            reporter.problem(section, f"`{section}` must be a mapping of names")
    if "include" in data:
        reporter.problem("include", "`include` is not supported yet; merge with -f")
    if not isinstance(data.get("services"), dict) or not data["services"]:
        reporter.problem("services", "the project defines no services")


def build_service(name: str, raw: Any, ctx: Context) -> Service | None:
    """A typed `Service`, or None when `raw` is not even a mapping."""
    path = key_path("services", name)
    if not isinstance(raw, dict):
        ctx.reporter.problem(path, "a service must be a mapping of keys")
        return None
    builder = _ServiceBuilder(name, raw, path, ctx)
    return builder.build()


class _ServiceBuilder:
    """One method per compose key family; each reports its own problems."""

    def __init__(self, name: str, raw: dict[str, Any], path: str, ctx: Context) -> None:
        self.service = Service(name=name, raw=raw)
        self.raw = raw
        self.path = path
        self.ctx = ctx

    def problem(self, key: str, message: str) -> None:
        self.ctx.reporter.problem(
            key_path(self.path, key) if key else self.path, message
        )

    def build(self) -> Service:
        self._unknown_keys()
        self._image()
        self._commands()
        self._environment()
        self._env_files()
        self._labels()
        self._options()
        self._ports()
        self._mounts()
        self._healthcheck()
        self._depends_on()
        self._networks()
        self._restart_and_deploy()
        self._profiles()
        self._file_references()
        self._network_mode()
        return self.service

    def _file_references(self) -> None:
        if "secrets" in self.raw:
            self.service.secrets = parse_references(
                "secrets", self.raw["secrets"], self.ctx.secret_names, self.problem
            )
        if "configs" in self.raw:
            self.service.configs = parse_references(
                "configs", self.raw["configs"], self.ctx.config_names, self.problem
            )

    def _network_mode(self) -> None:
        mode = self.raw.get("network_mode")
        if mode is None:
            return
        if not isinstance(mode, str):
            self.problem("network_mode", "`network_mode` must be a string")
            return
        if mode.startswith("service:"):
            other = mode.split(":", 1)[1]
            if other not in self.ctx.service_names or other == self.service.name:
                self.problem("network_mode", f"`{mode}` names no other service")
                return
            if "ports" in self.raw:
                self.problem("ports", "a service that shares another's network "
                             f"(network_mode: {mode}) cannot publish ports; publish "
                             f"them on {other}")  # fmt: skip
        self.service.network_mode = mode

    def _unknown_keys(self) -> None:
        for key in self.raw:
            if not isinstance(key, str):
                self.problem("", f"key {key!r} is not a string")
            elif key not in SERVICE_KEYS and not key.startswith("x-"):
                self.problem(key, f"unknown service key `{key}`")

    def _image(self) -> None:
        image, build = self.raw.get("image"), self.raw.get("build")
        if image is not None and (not isinstance(image, str) or not image.strip()):
            self.problem("image", f"`image` must be a non-empty string, not {image!r}")
            image = None
        if build is not None and not isinstance(build, (str, dict)):
            self.problem("build", "`build` must be a path or a mapping")
        self.service.build = {"context": build} if isinstance(build, str) else build
        if image is None and build is None:
            self.problem(
                "", "the service has neither `image` nor `build`; add `image:`"
            )
        elif image is None and self.ctx.image_prefix is None:
            self.problem(
                "build",
                "the service is only built locally (`build` without `image`); a cluster "
                "pulls images, so add `image: <registry>/<name>:<tag>` or pass "
                "`--image-prefix <registry>` (or `image_prefix=` in Python)",
            )
        self.service.image = image.strip() if isinstance(image, str) else None

    def _commands(self) -> None:
        for key in ("command", "entrypoint"):
            value = self.raw.get(key)
            argv = self._argv(key, value) if value is not None else None
            setattr(self.service, key, argv)

    def _argv(self, key: str, value: Any) -> list[str] | None:
        if isinstance(value, list) and all(
            isinstance(i, (str, int, float)) for i in value
        ):
            return [str(item) for item in value]
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                self.problem(key, f"cannot split `{value}` into words: {exc}")
                return None
        self.problem(key, f"`{key}` must be a string or a list of strings")
        return None

    def _environment(self) -> None:
        value = self.raw.get("environment")
        if value is None:
            return
        mapping = as_mapping(value)
        if mapping is None:
            self.problem(
                "environment",
                "`environment` must be a mapping or a list of `KEY=VALUE`",
            )
            return
        for key, item in mapping.items():
            if isinstance(item, (dict, list)):
                self.problem(
                    f"environment.{key}", "an environment value must be a scalar"
                )
                continue
            self.service.environment[str(key)] = None if item is None else _text(item)

    def _env_files(self) -> None:
        value = self.raw.get("env_file")
        if value is None:
            return
        entries = value if isinstance(value, list) else [value]
        for index, entry in enumerate(entries):
            key = f"env_file[{index}]" if isinstance(value, list) else "env_file"
            self._env_file(entry, key)

    def _env_file(self, entry: Any, key: str) -> None:
        required = True
        if isinstance(entry, dict):
            required = bool(entry.get("required", True))
            entry = entry.get("path")
        if not isinstance(entry, str):
            self.problem(key, "an env_file entry must be a path")
            return
        path = (self.ctx.base_dir / entry).resolve()
        if not path.is_file():
            if required:
                self.problem(key, f"env file `{entry}` not found (looked for {path})")
            return
        self._read_env_file(path, key)

    def _read_env_file(self, path: Path, key: str) -> None:
        parsed = read_env_file(path)
        for number, message in parsed.problems:
            self.ctx.reporter.problems.append(Problem(str(path), number, "", message))
        self.service.env_files.append(path)
        self.service.env_from_files.update(parsed.values)
        for bare in parsed.bare:
            self.ctx.reporter.warnings.append(Decision(
                self.service.name, key, "(dropped)",
                f"`{bare}` in {path.name} has no value; compose would take it from the "
                "shell, which would leak this machine's environment into the cluster, so "
                "it is left out. Give it a value in the env file.",
            ))  # fmt: skip

    def _labels(self) -> None:
        value = self.raw.get("labels")
        if value is None:
            return
        mapping = as_mapping(value)
        if mapping is None:
            self.problem(
                "labels", "`labels` must be a mapping or a list of `key=value`"
            )
            return
        self.service.labels = {
            str(k): "" if v is None else _text(v) for k, v in mapping.items()
        }

    def _options(self) -> None:
        options, keys = read_options(
            self.service.labels, self.raw.get(EXTENSION), self.problem
        )
        self.service.options, self.service.option_keys = options, keys

    def _ports(self) -> None:
        for key in ("ports", "expose"):
            value = self.raw.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                self.problem(key, f"`{key}` must be a list")
                continue
            for index, item in enumerate(value):
                if not self._port(key, index, item):
                    break

    def _port(self, key: str, index: int, item: Any) -> bool:
        """Add one entry; False once the service has too many ports to go on."""
        item_key = f"{key}[{index}]"
        try:
            specs = parse_port(item, item_key, key)
        except SyntaxProblem as exc:
            self.problem(item_key, str(exc))
            return True
        if key == "expose" and any(spec.published for spec in specs):
            self.problem(
                item_key, "`expose` takes container ports only, not `HOST:CONTAINER`"
            )
        ports = getattr(self.service, key)
        if len(ports) + len(specs) > MAX_PORTS:
            self.problem(
                item_key, f"more than {MAX_PORTS} ports; a pod cannot use so many"
            )
            return False
        ports.extend(specs)
        return True

    def _mounts(self) -> None:
        value = self.raw.get("volumes")
        if value is not None and not isinstance(value, list):
            self.problem("volumes", "`volumes` must be a list")
            value = None
        for index, item in enumerate(value or []):
            self._mount(f"volumes[{index}]", item)
        tmpfs = self.raw.get("tmpfs")
        for index, item in enumerate(
            tmpfs if isinstance(tmpfs, list) else [tmpfs] if tmpfs else []
        ):
            target = str(item).split(":")[0]
            self.service.mounts.append(
                Mount("tmpfs", None, target, key=f"tmpfs[{index}]")
            )

    def _mount(self, key: str, item: Any) -> None:
        try:
            mount = parse_mount(item, key)
        except SyntaxProblem as exc:
            self.problem(key, str(exc))
            return
        if mount.kind == "volume" and mount.source not in self.ctx.volume_names:
            self.problem(
                key,
                f"volume `{mount.source}` is not declared under top-level `volumes:`",
            )
        self.service.mounts.append(mount)

    def _healthcheck(self) -> None:
        value = self.raw.get("healthcheck")
        if value is None:
            return
        if not isinstance(value, dict):
            self.problem("healthcheck", "`healthcheck` must be a mapping")
            return
        for key in value:
            if key not in HEALTHCHECK_KEYS:
                self.problem(f"healthcheck.{key}", f"unknown healthcheck key `{key}`")
        self.service.healthcheck = self._probe(value)

    def _probe(self, value: dict[str, Any]) -> Healthcheck:
        command, form = self._health_command(value.get("test"))
        timings = {key: self._duration(f"healthcheck.{key}", value.get(key))
                   for key in ("interval", "timeout", "start_period")}  # fmt: skip
        retries = value.get("retries")
        if retries is not None and (not isinstance(retries, int) or retries < 1):
            self.problem(
                "healthcheck.retries",
                f"`retries` must be a positive integer, not {retries!r}",
            )
            retries = None
        disabled = value.get("disable") is True or form == "NONE"
        return Healthcheck(command, form, disabled, retries=retries, **timings)

    def _health_command(self, test: Any) -> tuple[tuple[str, ...] | None, str]:
        if test is None:
            return None, "none"
        if isinstance(test, str):
            return ("sh", "-c", test), "string"
        if (
            not isinstance(test, list)
            or not test
            or not all(isinstance(t, str) for t in test)
        ):
            self.problem(
                "healthcheck.test", "`test` must be a string or a list of strings"
            )
            return None, "invalid"
        form, rest = test[0], tuple(test[1:])
        if form == "CMD-SHELL" and rest:
            return ("sh", "-c", " ".join(rest)), form
        if form == "CMD" and rest:
            return rest, form
        if form == "NONE":
            return None, form
        self.problem(
            "healthcheck.test",
            f"`test` must start with CMD, CMD-SHELL or NONE, not {form!r}",
        )
        return None, "invalid"

    def _duration(self, key: str, value: Any) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except SyntaxProblem as exc:
            self.problem(key, str(exc))
            return None

    def _depends_on(self) -> None:
        value = self.raw.get("depends_on")
        mapping = as_mapping(value) if value is not None else {}
        if mapping is None:
            self.problem(
                "depends_on", "`depends_on` must be a list of services or a mapping"
            )
            return
        for other, options in mapping.items():
            condition = options.get("condition") if isinstance(options, dict) else None
            if other not in self.ctx.service_names:
                self.problem(
                    f"depends_on.{other}",
                    f"depends on `{other}`, which is not a service",
                )
            self.service.depends_on[str(other)] = str(condition or "service_started")

    def _networks(self) -> None:
        value = self.raw.get("networks")
        mapping = as_mapping(value) if value is not None else {}
        if mapping is None:
            self.problem("networks", "`networks` must be a list or a mapping")
            return
        for network in mapping:
            if network not in self.ctx.network_names and network != "default":
                self.problem(
                    f"networks.{network}",
                    f"network `{network}` is not declared under top-level `networks:`",
                )
            self.service.networks.append(str(network))

    def _restart_and_deploy(self) -> None:
        restart = self.raw.get("restart")
        if restart is not None:
            text = str(restart)
            if text.split(":")[0] not in RESTART_VALUES:
                self.problem(
                    "restart", f"`{text}` is not one of {', '.join(RESTART_VALUES)}"
                )
            self.service.restart = text
        deploy = self.raw.get("deploy")
        if deploy is not None and not isinstance(deploy, dict):
            self.problem("deploy", "`deploy` must be a mapping")
            return
        self.service.deploy = deploy or {}
        replicas = self.service.deploy.get("replicas")
        if replicas is not None and (
            not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0
        ):
            self.problem(
                "deploy.replicas",
                f"`replicas` must be a whole number, not {replicas!r}",
            )
        mode = self.service.deploy.get("mode")
        if mode is not None and mode not in ("replicated", "global"):
            self.problem(
                "deploy.mode", f"`mode` must be replicated or global, not {mode!r}"
            )

    def _profiles(self) -> None:
        value = self.raw.get("profiles")
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            self.problem("profiles", "`profiles` must be a list of names")
            return
        self.service.profiles = list(value)


def _text(value: Any) -> str:
    """Compose writes booleans as `true`/`false` in environment values and labels."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
