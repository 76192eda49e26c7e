"""Merge several compose files in order, as `docker compose -f a -f b` does (a subset).

Rules, from the compose specification's merge section: mappings merge key by key;
scalars and most sequences are replaced by the later file; `ports`, `expose`, `dns`,
`env_file` and similar lists append without duplicates; `environment`, `labels`,
`depends_on` and `networks` merge as mappings whichever syntax each file used; service
`volumes` merge by mount target.
"""

from __future__ import annotations

import copy
from typing import Any

APPEND_UNIQUE = frozenset(
    {
        "ports", "expose", "dns", "dns_search", "dns_opt", "tmpfs", "env_file",
        "external_links", "cap_add", "cap_drop", "security_opt", "profiles",
        "volumes_from", "devices", "links", "group_add",
    }
)  # fmt: skip
AS_MAPPING = frozenset(
    {"environment", "labels", "depends_on", "networks", "annotations"}
)
_PER_NAME_SECTIONS = frozenset(
    {"services", "volumes", "networks", "secrets", "configs"}
)


def merge_documents(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge `documents` left to right into a new mapping; inputs are not changed."""
    merged: dict[str, Any] = {}
    for document in documents:
        for key, value in document.items():
            if key in _PER_NAME_SECTIONS and isinstance(value, dict):
                section = merged.setdefault(key, {})
                if isinstance(section, dict):
                    _merge_section(key, section, value)
                    continue
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_section(name: str, section: dict[str, Any], update: dict[str, Any]) -> None:
    for item, value in update.items():
        current = section.get(item)
        if name == "services" and isinstance(current, dict) and isinstance(value, dict):
            section[item] = merge_service(current, value)
        elif isinstance(current, dict) and isinstance(value, dict):
            section[item] = deep_merge(current, value)
        else:
            section[item] = copy.deepcopy(value)


def merge_service(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """One service overridden by a later file's definition of the same service."""
    result = copy.deepcopy(base)
    for key, value in update.items():
        if key not in result:
            result[key] = copy.deepcopy(value)
        else:
            result[key] = _merge_key(key, result[key], value)
    return result


def _merge_key(key: str, old: Any, new: Any) -> Any:
    if key in APPEND_UNIQUE and isinstance(new, list):
        return _append_unique(old if isinstance(old, list) else [old], new)
    if key in AS_MAPPING:
        old_map, new_map = as_mapping(old), as_mapping(new)
        if old_map is not None and new_map is not None:
            return {**old_map, **new_map}
    if key == "volumes" and isinstance(old, list) and isinstance(new, list):
        return _merge_mounts(old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        return deep_merge(old, new)
    return copy.deepcopy(new)


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge recursively; anything else in `update` replaces `base`."""
    result = copy.deepcopy(base)
    for key, value in update.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            result[key] = deep_merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def as_mapping(value: Any) -> dict[str, Any] | None:
    """`["A=1", "B"]` or `[db, cache]` as a mapping; None when it is neither form."""
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, list):
        return None
    mapping: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, str):
            return None
        name, sep, rest = item.partition("=")
        mapping[name] = rest if sep else None
    return mapping


def _append_unique(old: list[Any], new: list[Any]) -> list[Any]:
    result = copy.deepcopy(old)
    for item in new:
        if item not in result:
            result.append(copy.deepcopy(item))
    return result


def _merge_mounts(old: list[Any], new: list[Any]) -> list[Any]:
    by_target: dict[str, Any] = {}
    for item in [*old, *new]:
        by_target[_mount_target(item)] = copy.deepcopy(item)
    return list(by_target.values())


def _mount_target(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target", id(item)))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]
