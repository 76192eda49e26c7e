"""Validation errors for compose input, each problem located by file, line and key path.

`ComposeValidationError` lives here for now; it is meant to move into
`kubecourse.errors` (which already names it in its tree) without changing its shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubecourse.errors import ComposeError

__all__ = ["ComposeError", "ComposeValidationError", "Problem"]


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
    in one pass, as `docker compose config` would make them do several times.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} in the compose input:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
