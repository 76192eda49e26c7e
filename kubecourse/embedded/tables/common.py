"""What every printer shares: ages (`HumanDuration`), columns, small field helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from ipaddress import ip_address
from typing import Any

from kubecourse.embedded import schemas
from kubecourse.embedded.selectors import (
    SelectorError,
    label_selector_from_spec,
)

Obj = Mapping[str, Any]
Cell = str | int

# ---------------------------------------------------------------- ages


def human_duration(seconds: float) -> str:
    """`k8s.io/apimachinery/pkg/util/duration.HumanDuration`: `5s`, `3m2s`, `45m`, `5h`…"""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def age(value: Any, now: datetime) -> str:
    """`translateTimestampSince`: `<unknown>` without a timestamp."""
    moment = parse_time(value)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str | tuple[str, ...] = ""  # text, or (group, version, kind, *path)
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": _describe(self.description),
            "priority": self.priority,
        }


def _describe(source: str | tuple[str, ...]) -> str:
    if isinstance(source, str):
        return source
    group, version, kind, *path = source
    found = schemas.field_schema(group, version, kind, path)
    return str((found or {}).get("description", ""))


def _core(kind: str, *path: str) -> tuple[str, ...]:
    return ("", "v1", kind, *path)


NAME = Column("Name", format="name", description=_core("Pod", "metadata", "name"))
AGE = Column("Age", description=_core("Pod", "metadata", "creationTimestamp"))


def _wide(
    name: str, description: str | tuple[str, ...], type_: str = "string"
) -> Column:
    return Column(name, type_, description, priority=1)


_CONTAINERS = _wide("Containers", "Names of each container in the template.")
_IMAGES = _wide("Images", "Images referenced by each container in the template.")
_READY_PODS = Column("Ready", description="Number of the pod with ready state")


# ---------------------------------------------------------------- small helpers


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    current = obj
    for part in path:
        if not isinstance(current, Mapping):
            return default
        current = current.get(part)
    return default if current is None else current


def _list(obj: Any, *path: str) -> list[Any]:
    value = _get(obj, *path, default=[])
    return list(value) if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _template_containers(obj: Obj) -> list[Any]:
    return _list(obj, "spec", "template", "spec", "containers")


def _names(containers: list[Any]) -> str:
    return ",".join(str(c.get("name", "")) for c in containers)


def _images(containers: list[Any]) -> str:
    return ",".join(str(c.get("image", "")) for c in containers)


def format_label_selector(spec: Any) -> str:
    """`metav1.FormatLabelSelector`: `<none>` for nil or empty, `<error>` if invalid."""
    if spec is None:
        return "<none>"
    try:
        text = str(label_selector_from_spec(spec))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def _with_more(items: list[str], count: int, limit: int = 3, empty: str = "") -> str:
    text = ",".join(items)
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty


def _host_port(ip: str, port: Any) -> str:
    try:
        bracket = ip_address(ip).version == 6
    except ValueError:
        bracket = ":" in ip
    return f"[{ip}]:{port}" if bracket else f"{ip}:{port}"


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def _access_modes(modes: list[Any]) -> str:
    return ",".join(short for mode, short in _ACCESS_MODES if mode in modes)


def _load_balancer(status: Any) -> str:
    found = {
        str(entry.get("ip") or entry.get("hostname"))
        for entry in _list(status, "loadBalancer", "ingress")
        if entry.get("ip") or entry.get("hostname")
    }
    return ",".join(sorted(found))


CellFunction = Callable[[Obj, datetime], list[Cell]]
Printer = tuple[tuple[Column, ...], CellFunction]


def name_of(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name", default=""))


def created_age(obj: Obj, now: datetime) -> str:
    return age(_get(obj, "metadata", "creationTimestamp"), now)


# `rest.NewDefaultTableConvertor`'s columns, for kinds without a printer of their own.
CREATED_AT_COLUMNS = (
    NAME,
    Column("Created At", "date", ("", "v1", "Pod", "metadata", "creationTimestamp")),
)


def name_and_created_at(obj: Obj, now: datetime) -> list[Cell]:
    """The default convertor's cells: the name and the creation time in RFC 3339."""
    moment = parse_time(_get(obj, "metadata", "creationTimestamp"))
    stamp = (moment or datetime(1, 1, 1, tzinfo=timezone.utc)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return [name_of(obj), stamp]
