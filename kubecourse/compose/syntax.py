"""Parsers for compose's small string languages: ports, volumes, durations, sizes.

Each parser returns a typed value or raises `SyntaxProblem` with a message that shows
the offending text and the accepted forms, so the validator can attach a key path.
"""

from __future__ import annotations

import re
from typing import Any

from kubecourse.compose.model import Mount, MountKind, PortSpec

MAX_RANGE = 1000

_PORT = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?"
    r"(?:(?P<published>\d*(?:-\d+)?):)?"
    r"(?P<target>\d+(?:-\d+)?)(?:/(?P<proto>[A-Za-z]+))?$"
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}


class SyntaxProblem(ValueError):
    """The value does not follow compose's syntax for this key."""


def parse_port(value: Any, key: str, source: str = "ports") -> list[PortSpec]:
    """Short (`"127.0.0.1:8080:80/tcp"`, `80`) or long (`{target: 80}`) port syntax."""
    if isinstance(value, bool):
        raise SyntaxProblem(f"{value!r} is not a port")
    if isinstance(value, int):
        return [PortSpec(_port_number(value), source=source, key=key)]
    if isinstance(value, dict):
        return [_long_port(value, key, source)]
    if not isinstance(value, str):
        raise SyntaxProblem(f'{value!r} is not a port; write `"8080:80"` or `80`')
    return _short_port(value.strip(), key, source)


def _short_port(text: str, key: str, source: str) -> list[PortSpec]:
    match = _PORT.match(text)
    if match is None:
        raise SyntaxProblem(
            f"`{text}` is not valid port syntax; expected `CONTAINER`, "
            "`HOST:CONTAINER` or `IP:HOST:CONTAINER`, optionally ending in `/udp`"
        )
    protocol = _protocol(match.group("proto") or "tcp")
    targets = _port_range(match.group("target"))
    published = match.group("published") or None
    host_ip = (match.group("ip") or "").strip("[]") or None
    hosts = _published_per_target(published, len(targets))
    return [
        PortSpec(port, protocol, host, host_ip, source, key)
        for port, host in zip(targets, hosts, strict=True)
    ]


def _published_per_target(published: str | None, count: int) -> list[str | None]:
    if published is None or "-" not in published:
        return [_published(published)] * count
    _published(published)
    hosts = _port_range(published)
    if len(hosts) == count:
        return [str(host) for host in hosts]
    return [published] * count


def _long_port(value: dict[str, Any], key: str, source: str) -> PortSpec:
    unknown = set(value) - {"target", "published", "host_ip", "protocol", "mode", "name",
                            "app_protocol"}  # fmt: skip
    if unknown:
        raise SyntaxProblem(
            f"unknown port key(s): {', '.join(sorted(map(str, unknown)))}"
        )
    if "target" not in value:
        raise SyntaxProblem("a long-syntax port needs `target` (the container port)")
    published = value.get("published")
    if isinstance(published, bool):
        raise SyntaxProblem(f"published {published!r} is not a port")
    return PortSpec(
        _port_number(value["target"]),
        _protocol(str(value.get("protocol") or "tcp")),
        _published(None if published is None else str(published).strip()),
        value.get("host_ip"),
        source,
        key,
    )


def _published(text: str | None) -> str | None:
    """A host port or range, checked like container ports; 0 lets Docker pick one."""
    if not text or text == "0":
        return text
    try:
        _port_range(text)
    except SyntaxProblem as exc:
        raise SyntaxProblem(f"host (published) {exc}") from None
    return text


def _port_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    start = _port_number(first)
    end = _port_number(last) if last else start
    if end < start or end - start >= MAX_RANGE:
        raise SyntaxProblem(
            f"port range `{text}` is reversed or longer than {MAX_RANGE}"
        )
    return list(range(start, end + 1))


def _port_number(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise SyntaxProblem(f"`{value}` is not a port number") from None
    if not 1 <= number <= 65535:
        raise SyntaxProblem(f"port {number} is outside 1-65535")
    return number


def _protocol(text: str) -> str:
    protocol = _PROTOCOLS.get(text.lower())
    if protocol is None:
        raise SyntaxProblem(f"unknown protocol `{text}`; use tcp, udp or sctp")
    return protocol


def parse_duration(value: Any) -> float:
    """Compose durations (`1m30s`, `500ms`, `10s`) as seconds; bare numbers are seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SyntaxProblem(f"`{text}` is not a duration; write e.g. `10s`, `1m30s`")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def parse_size(value: Any) -> int:
    """Compose byte sizes (`512m`, `1.5g`, `1048576`) in bytes; units are powers of 1024."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value).strip())
    if match is None:
        raise SyntaxProblem(f"`{value}` is not a size; write e.g. `512m` or `1g`")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_mount(value: Any, key: str) -> Mount:
    """Short (`src:dst:ro`) or long (`{type: volume, source, target}`) volume syntax."""
    if isinstance(value, dict):
        return _long_mount(value, key)
    if not isinstance(value, str) or not value:
        raise SyntaxProblem(
            f"{value!r} is not a volume; write `name:/path` or `./dir:/path`"
        )
    parts = _split_mount(value)
    if len(parts) == 1:
        return Mount("anonymous", None, _absolute(parts[0]), key=key)
    if len(parts) > 3:
        raise SyntaxProblem(
            f"`{value}` has too many `:`; expected `SOURCE:TARGET[:MODE]`"
        )
    options = tuple(parts[2].split(",")) if len(parts) == 3 else ()
    kind: MountKind = "bind" if is_host_path(parts[0]) else "volume"
    return Mount(kind, parts[0], _absolute(parts[1]), "ro" in options, options, key)


def _split_mount(text: str) -> list[str]:
    if re.match(r"^[A-Za-z]:[\\/]", text):
        drive, rest = text[:2], text[2:].split(":")
        return [drive + rest[0], *rest[1:]]
    return text.split(":")


def _long_mount(value: dict[str, Any], key: str) -> Mount:
    kind = str(value.get("type", "volume"))
    target = value.get("target")
    if not isinstance(target, str):
        raise SyntaxProblem(
            "a long-syntax volume needs `target` (the path in the container)"
        )
    if kind not in ("volume", "bind", "tmpfs"):
        raise SyntaxProblem(
            f"volume type `{kind}` is not supported; use volume, bind or tmpfs"
        )
    source = value.get("source")
    kinds: dict[str, MountKind] = {"volume": "volume", "bind": "bind", "tmpfs": "tmpfs"}
    mount_kind = "anonymous" if kind == "volume" and not source else kinds[kind]
    read_only = bool(value.get("read_only", False))
    return Mount(mount_kind, source, _absolute(target), read_only, (), key)


def _absolute(path: str) -> str:
    if not path.startswith("/") and not re.match(r"^[A-Za-z]:[\\/]", path):
        raise SyntaxProblem(f"mount target `{path}` must be an absolute path")
    return path


def is_host_path(source: str) -> bool:
    """Compose reads a source with a path character as a bind mount, else a volume name."""
    return source.startswith(("/", ".", "~")) or bool(
        re.match(r"^[A-Za-z]:[\\/]", source)
    )
