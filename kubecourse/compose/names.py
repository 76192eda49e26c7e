"""Kubernetes object names from compose names (RFC 1123 labels, at most 63 characters).

Compose accepts `order_api`, `Frontend` and `web.1`; Kubernetes accepts only lowercase
letters, digits and `-`. Cleaning can make two compose names equal (`web_app`,
`web.app`), and silently merging two services would be far worse than failing, so a
collision is a problem that names both services.

A Service name is stricter still (an RFC 1035 label: it must start with a letter), and
the translator gives one compose service one name for all its objects, so a name that
starts with a digit (`123`, `3d-render`) gets the prefix `svc-` (`svc-123`) for its
Deployment, Service, labels and file alike. The prefixed name takes part in collision
checks like any other (`123` and `svc-123` cannot both exist).
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
LETTER_PREFIX = "svc-"
_INVALID = re.compile(r"[^a-z0-9-]+")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def clean_name(name: str) -> str:
    """`Order_API.v2` -> `order-api-v2`; empty when nothing usable is left."""
    lowered = name.lower().replace("_", "-").replace(".", "-")
    cleaned = _INVALID.sub("-", lowered)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")
    return cleaned[:MAX_NAME].strip("-")


def service_name(name: str) -> str:
    """`clean_name`, then `svc-` in front when it starts with a digit (RFC 1035)."""
    cleaned = clean_name(name)
    if cleaned[:1].isdigit():
        return f"{LETTER_PREFIX}{cleaned}"[:MAX_NAME].rstrip("-")
    return cleaned


def is_dns_label(name: str) -> bool:
    return len(name) <= MAX_NAME and bool(_DNS_LABEL.match(name))


def derived_name(base: str, suffix: str) -> str:
    """`<base>-<suffix>`, shortened with a stable hash when it would pass 63 characters."""
    full = f"{base}-{suffix}"
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    keep = MAX_NAME - len(suffix) - len(digest) - 2
    return f"{base[:keep].rstrip('-')}-{digest}-{suffix}"


def assign_names(compose_names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Kubernetes names for compose names, and a message per collision or empty name."""
    names: dict[str, str] = {}
    owners: dict[str, str] = {}
    problems: list[str] = []
    for original in compose_names:
        cleaned = service_name(original)
        if not cleaned:
            problems.append(
                f"`{original}` has no letters or digits to build a name from"
            )
            continue
        if cleaned in owners:
            problems.append(
                f"services `{owners[cleaned]}` and `{original}` both become "
                f"`{cleaned}` in Kubernetes; rename one of them"
            )
            continue
        owners[cleaned] = original
        names[original] = cleaned
    return names, problems
