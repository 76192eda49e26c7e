"""Every error kubecourse raises, in one tree.

    KubecourseError
    ├── ComposeError              a compose file could not be loaded or translated
    │   └── ComposeValidationError    one or more problems, each with file, line, key path
    ├── ClusterError              talking to a cluster went wrong
    │   ├── NotConnectedError         no cluster is reachable (and what to do about it)
    │   ├── UnsafeClusterError        refusing to act on a cluster the course was not pointed at
    │   └── ApiError                  the API server answered with a Status failure
    │       ├── NotFoundError             404
    │       ├── AlreadyExistsError        409 AlreadyExists
    │       ├── ConflictError             409 Conflict
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
