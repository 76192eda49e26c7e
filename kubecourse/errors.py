"""Every error kubecourse raises, in one tree.

    KubecourseError
    ├── ArgumentError             a helper was given a value it cannot use (also a ValueError)
    ├── ComposeError              a compose file could not be loaded or translated
    │   └── ComposeValidationError    one or more problems, each with file, line, key path
    ├── ClusterError              talking to a cluster went wrong
    │   ├── NotConnectedError         no cluster is reachable (and what to do about it)
    │   ├── UnsafeClusterError        refusing to act on a cluster the course was not pointed at
    │   ├── WaitTimeout               what was waited for did not happen (also a TimeoutError)
    │   ├── UnreachableError          requests could not reach a Service (why, and what to do)
    │   ├── ApplyError                some objects of an apply failed (client.apply)
    │   └── ApiError                  the API server answered with a Status failure
    │       ├── NotFoundError             404 (the message says what is missing, and where)
    │       ├── AlreadyExistsError        409 AlreadyExists
    │       ├── ConflictError             409 Conflict
    │       │   └── FieldConflictError        apply would change fields another manager owns
    │       └── InvalidError              422 Invalid (the causes name each field)
    └── CheckFailed               an exercise check found something missing

Warnings about lossy translation are `TranslationWarning` (a `UserWarning`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class KubecourseError(Exception):
    """Base of every kubecourse error."""


class ArgumentError(KubecourseError, ValueError):
    """A course helper was called with a value it cannot use; the message names the
    argument, the value, and what would do (a ValueError too, for plain Python code)."""


class ComposeError(KubecourseError):
    """A compose file could not be loaded or translated."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the compose input, and where it is."""

    file: str
    line: int | None
    key_path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key_path}" if self.key_path else ""
        return f"{where}{key}: {self.message}"


class ComposeValidationError(ComposeError):
    """Every problem found in the compose input, reported together.

    Collecting them all (rather than stopping at the first) lets a learner fix a file
    in one pass, where `docker compose config` would make them go round several times.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} in the compose input:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class ClusterError(KubecourseError):
    """Talking to a cluster went wrong."""


class NotConnectedError(ClusterError):
    """No cluster is reachable."""


class UnsafeClusterError(ClusterError):
    """The course refuses to act on a cluster it was not pointed at."""


class WaitTimeout(ClusterError, TimeoutError):
    """What a helper waited for did not happen in time (a TimeoutError too)."""


class UnreachableError(ClusterError):
    """Requests could not reach a Service; the message says why in a learner's words
    and what to do, and the API server's own error is chained."""


class ApiError(ClusterError):
    """The API server answered with a failure `Status`."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.code: int = int(status.get("code") or 0)
        self.reason: str = str(status.get("reason") or "")
        self.details: dict[str, Any] = dict(status.get("details") or {})
        message = str(status.get("message") or "request failed")
        super().__init__(f"({self.reason or self.code}) {message}")
        self.message = message

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list(self.details.get("causes") or [])


class NotFoundError(ApiError):
    pass


class AlreadyExistsError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class InvalidError(ApiError):
    pass


class FieldConflictError(ConflictError):
    """A server-side apply would change fields that another field manager owns (a
    learner's `kubectl expose`, `kubectl scale`, ...); nothing was changed.

    `conflicts` lists (manager, field) pairs from the 409's causes."""

    def __init__(self, status: dict[str, Any], conflicts: list[tuple[str, str]]) -> None:
        super().__init__(status)
        self.conflicts = conflicts


def api_error_from_status(status: dict[str, Any]) -> ApiError:
    """The most specific ApiError for a Status body."""
    reason = status.get("reason")
    code = status.get("code")
    if code == 404:
        return NotFoundError(status)
    if reason == "AlreadyExists":
        return AlreadyExistsError(status)
    if code == 409:
        return ConflictError(status)
    if code == 422:
        return InvalidError(status)
    return ApiError(status)


class CheckFailed(KubecourseError):
    """An exercise check found something missing; the message says what to do."""


class TranslationWarning(UserWarning):
    """Something in a compose file was dropped or approximated by the translator."""
