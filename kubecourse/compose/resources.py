"""CPU and memory from `deploy.resources` as readable Kubernetes quantities.

Docker's memory units are powers of 1024, so compose `512M` is exactly Kubernetes
`512Mi` (not `512M`, which would be 2.4% less). CPUs become millicores: `0.5` -> `500m`.
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.syntax import SyntaxProblem, parse_size

_BINARY_UNITS = (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def cpu_quantity(value: Any) -> str:
    """`0.5` -> `500m`, `1` -> `1`, `1.25` -> `1250m`."""
    millis = round(float(value) * 1000)
    if millis <= 0:
        raise SyntaxProblem(f"cpus `{value}` must be more than 0")
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_quantity(value: Any) -> str:
    """`512M` -> `512Mi`, `1.5g` -> `1536Mi`, `1000` -> `1000` (bytes)."""
    size = parse_size(value)
    if size <= 0:
        raise SyntaxProblem(f"memory `{value}` must be more than 0")
    for suffix, factor in _BINARY_UNITS:
        if size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def container_resources(t: Translation, plan: Plan) -> dict[str, Any]:
    """`requests`/`limits` for the container; every conversion is recorded."""
    service = plan.service
    resources = service.deploy.get("resources") or {}
    sections = {
        "limits": resources.get("limits"),
        "requests": resources.get("reservations"),
    }
    if service.raw.get("mem_limit") is not None:
        sections["limits"] = {
            "memory": service.raw["mem_limit"],
            **(sections["limits"] or {}),
        }
    if service.raw.get("cpus") is not None:
        sections["limits"] = {"cpus": service.raw["cpus"], **(sections["limits"] or {})}
    result: dict[str, Any] = {}
    for target, source in sections.items():
        converted = _convert(t, plan, target, source)
        if converted:
            result[target] = converted
    if "limits" in result and "requests" not in result:
        t.decide(service.name, "deploy.resources.limits", "resources.requests (implicit)",
                 "with only limits set, Kubernetes also requests that much, so the "
                 "scheduler reserves the full limit on a node for every replica")  # fmt: skip
    return result


def _convert(t: Translation, plan: Plan, target: str, source: Any) -> dict[str, str]:
    if not isinstance(source, dict):
        return {}
    name = plan.service.name
    compose_key = "limits" if target == "limits" else "reservations"
    out: dict[str, str] = {}
    for key, value in source.items():
        try:
            converted = _quantity(key, value)
        except (SyntaxProblem, ValueError) as exc:
            t.warn(name, f"deploy.resources.{compose_key}.{key}", "(dropped)", str(exc))
            continue
        if converted is None:
            t.warn(name, f"deploy.resources.{compose_key}.{key}", "(dropped)",
                   f"`{key}` has no Kubernetes container resource equivalent")  # fmt: skip
            continue
        field, quantity = converted
        out[field] = quantity
        t.decide(name, f"deploy.resources.{compose_key}.{key}", f"resources.{target}.{field}",
                 f"`{value}` becomes `{quantity}`" + _unit_note(field))  # fmt: skip
    return out


def _quantity(key: str, value: Any) -> tuple[str, str] | None:
    if key == "cpus":
        return "cpu", cpu_quantity(value)
    if key == "memory":
        return "memory", memory_quantity(value)
    return None


def _unit_note(field: str) -> str:
    if field == "memory":
        return " (compose sizes count in 1024s, which Kubernetes writes Ki/Mi/Gi)"
    return " (Kubernetes counts CPU in thousandths, `m`)"
