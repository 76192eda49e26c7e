"""`Warning:` headers for deprecated APIs (checklist item 49).

kube-apiserver wraps every route of a deprecated kind (get, list, watch, create,
update, patch, delete, deletecollection, and the all-namespaces list) so that the
response carries `Warning: 299 - "<message>"`, whatever the outcome (a 404 for a
missing object gets it too).  The message is `deprecation.WarningMessage`'s:
`<group/version> <Kind> is deprecated in v<major>.<minor>+`, then
`, unavailable in v<major>.<minor>+` when a removal is planned, then
`; use <group/version> <Kind>` when there is a replacement.  kubectl prints each one
once on stderr as `Warning: <message>`; the official Python client ignores them.

Of the kinds the course serves at the version it reports (v1.37), core v1
Endpoints (since v1.33, KEP-4974, no removal planned) and core v1 ComponentStatus
(since v1.19, no replacement named) are deprecated.  Field-level
warnings upstream sends for some pod specs (deprecated node labels, annotations) are
not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubecourse.embedded.resources import ResourceType

SERVED_MINOR = (1, 37)  # the version /version reports


@dataclass(frozen=True)
class Deprecation:
    since: tuple[int, int]
    replacement: tuple[str, str, str] | None = None  # group, version, kind
    removed_in: tuple[int, int] | None = None


DEPRECATED: dict[tuple[str, str, str], Deprecation] = {
    ("", "v1", "Endpoints"): Deprecation(
        (1, 33), ("discovery.k8s.io", "v1", "EndpointSlice")
    ),
    # No replacement is named upstream (health lives at /livez and /readyz).
    ("", "v1", "ComponentStatus"): Deprecation((1, 19)),
}


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def warning_for(rt: ResourceType) -> str | None:
    """The deprecation warning every request on `rt` gets, or None."""
    found = DEPRECATED.get((rt.group, rt.version, rt.kind))
    if found is None or SERVED_MINOR < found.since:
        return None
    major, minor = found.since
    message = f"{rt.api_version} {rt.kind} is deprecated in v{major}.{minor}+"
    if found.removed_in is not None:
        message += f", unavailable in v{found.removed_in[0]}.{found.removed_in[1]}+"
    if found.replacement is not None:
        group, version, kind = found.replacement
        message += f"; use {_api_version(group, version)} {kind}"
    return message
