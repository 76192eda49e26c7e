"""Compose `secrets` and `configs`: top-level definitions and the services' references.

A compose secret is a file (or an environment variable) mounted read-only at
`/run/secrets/<name>`; a config is a file mounted at `/<name>` (or the given target).
Kubernetes has the same idea as objects: a Secret and a ConfigMap, mounted as volumes.
The content is read at translation time (a Secret must carry its data), so the
problems found here - a missing file, an unset variable, a file too big for a Secret -
are validation problems. `external` ones are referenced by name and not created.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MAX_OBJECT_BYTES = 1_000_000  # the API server refuses larger Secrets and ConfigMaps
Kind = Literal["secrets", "configs"]
Report = Callable[[str, str], None]
_KEY = re.compile(r"[^-._a-zA-Z0-9]")
_DEFINITION_KEYS = frozenset(
    {"file", "environment", "content", "external", "name", "labels", "driver",
     "driver_opts", "template_driver"}
)  # fmt: skip


@dataclass(frozen=True)
class Definition:
    """A top-level secret or config: its data (None when external) and its source."""

    name: str
    kind: Kind
    data: bytes | None
    source: str
    external_name: str | None = None


@dataclass(frozen=True)
class Reference:
    """One entry of a service's `secrets` or `configs`."""

    source: str
    target: str
    mode: int | None = None
    owner: tuple[str, ...] = ()
    key: str = ""


@dataclass
class Definitions:
    """Both top-level sections, once read."""

    secrets: dict[str, Definition] = field(default_factory=dict)
    configs: dict[str, Definition] = field(default_factory=dict)


def data_key(name: str) -> str:
    """A Secret/ConfigMap key (letters, digits, `-`, `_`, `.`) for a compose name."""
    return _KEY.sub("_", name) or "data"


def read_definitions(
    top: Mapping[str, Any], base_dir: Path, env: Mapping[str, str], report: Report
) -> Definitions:
    """Read every top-level secret and config; report problems by key path."""
    found = Definitions()
    for kind in ("secrets", "configs"):
        section = top.get(kind)
        if not isinstance(section, dict):
            continue
        for name, raw in section.items():
            definition = _definition(kind, str(name), raw, base_dir, env, report)
            if definition is not None:
                getattr(found, kind)[str(name)] = definition
    return found


def _definition(
    kind: Kind,
    name: str,
    raw: Any,
    base_dir: Path,
    env: Mapping[str, str],
    report: Report,
) -> Definition | None:
    path = f"{kind}.{name}"
    if not isinstance(raw, dict):
        report(path, f"a {kind[:-1]} must be a mapping with `file`, `environment` or "
                     "`external`")  # fmt: skip
        return None
    for key in raw:
        if key not in _DEFINITION_KEYS:
            report(f"{path}.{key}", f"unknown {kind[:-1]} key `{key}`")
    if raw.get("external") is True:
        external = raw.get("name")
        return Definition(name, kind, None, "external", str(external or name))
    data = _content(kind, raw, base_dir, env, lambda m: report(path, m))
    if data is None:
        return None
    if len(data) > MAX_OBJECT_BYTES:
        report(path, f"the content is {len(data)} bytes; a Kubernetes {_object(kind)} "
                     f"holds at most {MAX_OBJECT_BYTES}")  # fmt: skip
        return None
    return Definition(name, kind, data, _source(raw))


def _content(
    kind: Kind,
    raw: dict[str, Any],
    base_dir: Path,
    env: Mapping[str, str],
    fail: Callable[[str], None],
) -> bytes | None:
    if isinstance(raw.get("file"), str):
        return _file(base_dir / os.path.expanduser(raw["file"]), raw["file"], fail)
    if isinstance(raw.get("environment"), str):
        value = env.get(raw["environment"])
        if value is None:
            fail(f"variable {raw['environment']} is not set (it gives this {kind[:-1]} "
                 "its value)")  # fmt: skip
            return None
        return value.encode("utf-8")
    if kind == "configs" and isinstance(raw.get("content"), str):
        return str(raw["content"]).encode("utf-8")
    allowed = "`file`, `environment`" + (", `content`" if kind == "configs" else "")
    fail(f"needs one of {allowed} or `external: true`")
    return None


def _file(path: Path, written: str, fail: Callable[[str], None]) -> bytes | None:
    if not path.is_file():
        fail(f"file `{written}` not found (looked for {path.resolve()})")
        return None
    with path.open("rb") as handle:
        data = handle.read(MAX_OBJECT_BYTES + 1)
    return data


def _source(raw: dict[str, Any]) -> str:
    for key in ("file", "environment", "content"):
        if key in raw:
            return f"{key}: {raw[key]}" if key != "content" else "inline content"
    return "external"


def _object(kind: Kind) -> str:
    return "Secret" if kind == "secrets" else "ConfigMap"


def parse_references(
    kind: Kind, value: Any, defined: set[str], report: Report
) -> list[Reference]:
    """A service's `secrets:` / `configs:` list, short or long syntax."""
    if not isinstance(value, list):
        report(kind, f"`{kind}` must be a list")
        return []
    found = []
    for index, item in enumerate(value):
        key = f"{kind}[{index}]"
        reference = _reference(kind, item, key, functools.partial(report, key))
        if reference is None:
            continue
        if reference.source not in defined:
            report(key, f"{kind[:-1]} `{reference.source}` is not declared under "
                        f"top-level `{kind}:`")  # fmt: skip
            continue
        found.append(reference)
    return found


def _reference(
    kind: Kind, item: Any, key: str, fail: Callable[[str], None]
) -> Reference | None:
    if isinstance(item, str):
        return Reference(item, _target(kind, item, None), key=key)
    if not isinstance(item, dict) or not isinstance(item.get("source"), str):
        fail(f"a {kind[:-1]} reference is a name or a mapping with `source`")
        return None
    mode = _mode(item.get("mode"), fail)
    owner = tuple(f"{k}: {item[k]}" for k in ("uid", "gid") if k in item)
    target = item.get("target")
    return Reference(
        item["source"],
        _target(kind, item["source"], target if isinstance(target, str) else None),
        mode,
        owner,
        key,
    )


def _target(kind: Kind, source: str, target: str | None) -> str:
    if target is not None and target.startswith("/"):
        return target
    if kind == "secrets":
        return f"/run/secrets/{target or source}"
    return f"/{target or source}"


def _mode(value: Any, fail: Callable[[str], None]) -> int | None:
    if value is None:
        return None
    text = str(value)
    try:
        # the YAML 1.2 reader reads `0440` as 440; compose authors mean octal
        mode = int(text, 8) if re.fullmatch(r"[0-7]+", text) else int(text, 0)
    except ValueError:
        fail(f"`mode` {value!r} is not a file mode such as 0440")
        return None
    if not 0 <= mode <= 0o777:
        fail(f"`mode` {value!r} is outside 0000-0777")
        return None
    return mode
