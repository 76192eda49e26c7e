"""Kubernetes `Status` failures, raised inside the control plane and sent as they are.

A `StatusError` carries the exact body a kube-apiserver would send, so kubectl prints
`Error from server (NotFound): pods "x" not found` and the official client raises its
matching `ApiException` subclass.
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.resources import ResourceType


class StatusError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        list_meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.list_meta = list_meta or {}  # a Status is a ListMeta holder (`continue`)

    def body(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.list_meta),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del status["reason"]  # StatusReasonUnknown is "", omitted from the JSON
        if self.details is not None:
            status["details"] = self.details
        return status


def _details(rt: ResourceType, name: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    details.update(extra)
    return details


def not_found(rt: ResourceType, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def namespace_not_found(name: str) -> StatusError:
    return StatusError(
        404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"}
    )


def path_not_found() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt: ResourceType, name: str) -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name)
    )


def conflict(rt: ResourceType, name: str) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(rt, name),
    )


def precondition_conflict(rt: ResourceType, name: str, detail: str) -> StatusError:
    """`errors.NewConflict(schema.GroupResource{Group, Resource: Kind}, ...)`, which
    `rest.BeforeDelete` raises: the Kind stands where the resource usually does."""
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    details: dict[str, Any] = {"name": name, "kind": rt.kind}
    if rt.group:
        details["group"] = rt.group
    message = f'Operation cannot be fulfilled on {qualified} "{name}": {detail}'
    return StatusError(409, "Conflict", message, details)


def uid_precondition_failed(
    rt: ResourceType, name: str, given: str, stored: str, resource: str | None = None
) -> StatusError:
    """`storage.Preconditions.Check` failing on a PUT whose body names another UID: the
    storage's invalid-object error, which the registry turns into a 409 Conflict."""
    plural = resource or rt.plural
    qualified = f"{plural}.{rt.group}" if rt.group else plural
    details: dict[str, Any] = {"name": name, "kind": plural}
    if rt.group:
        details["group"] = rt.group
    message = (
        f'Operation cannot be fulfilled on {qualified} "{name}": Precondition failed: '
        f"UID in precondition: {given}, UID in object meta: {stored}"
    )
    return StatusError(409, "Conflict", message, details)


EXPIRED_LIST = "The resourceVersion for the provided list is too old."
EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token "
    "in this response to retrieve the remainder of the results. Continuing with the "
    "provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)
# The watch cache's `resourceVersionTooHighRetrySeconds`.
TOO_LARGE_RETRY_SECONDS = 1


def expired(message: str, list_meta: dict[str, Any] | None = None) -> StatusError:
    """`errors.NewResourceExpired`: 410 with reason Expired and no details."""
    return StatusError(410, "Expired", message, list_meta=list_meta)


def too_large_resource_version(wanted: int, current: int) -> StatusError:
    """`storage.NewTooLargeResourceVersionError`: a Timeout (504) whose cause says why,
    and when to try again (sent as `Retry-After` as well)."""
    details = {
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": TOO_LARGE_RETRY_SECONDS,
    }
    message = f"Timeout: Too large resource version: {wanted}, current: {current}"
    return StatusError(504, "Timeout", message, details)


def namespace_terminating(rt: ResourceType, name: str, namespace: str) -> StatusError:
    """The NamespaceLifecycle admission plugin's refusal."""
    message = (
        f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated"
    )
    terminating = {
        "reason": "NamespaceTerminating",
        "message": f"namespace {namespace} is being terminated",
        "field": "metadata.namespace",
    }
    return forbidden(message, _details(rt, name, causes=[terminating]))


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def invalid(rt: ResourceType, name: str, causes: list[dict[str, str]]) -> StatusError:
    qualified_kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    # A cause about the whole object has an empty field: upstream still prints `: `.
    parts = [f"{c['field']}: {c['message']}" if "field" in c else c["message"] for c in causes]
    causes = [{k: v for k, v in c.items() if v != "" or k != "field"} for c in causes]
    if len(parts) == 1:
        summary = parts[0]
    else:
        summary = "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name, "kind": rt.kind, "causes": causes}
    if rt.group:
        details["group"] = rt.group
    return StatusError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(message: str, details: dict[str, Any] | None = None) -> StatusError:
    return StatusError(403, "Forbidden", message, details)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> StatusError:
    return StatusError(405, "MethodNotAllowed", message, {})


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def too_many_requests(message: str, details: dict[str, Any] | None = None) -> StatusError:
    return StatusError(429, "TooManyRequests", message, details)
