"""The check registry and the result a learner sees."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubecourse.errors import CheckFailed

CheckFn = Callable[..., "CheckResult"]
CHECKS: dict[str, CheckFn] = {}


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str
    hints: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        mark = "✅" if self.passed else "❌"
        lines = [f"{mark} {self.name}: {self.message}"]
        lines += [f"   hint: {hint}" for hint in self.hints]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b42318"
        mark = "✅" if self.passed else "❌"
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
            f"{mark} <b>{html.escape(self.name)}</b>: {html.escape(self.message)}"
            f"{'<ul>' + hints + '</ul>' if hints else ''}</div>"
        )


def register(name: str) -> Callable[[CheckFn], CheckFn]:
    def decorator(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return decorator


def passed(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, message)


def failed(name: str, message: str, *hints: str) -> CheckResult:
    return CheckResult(name, False, message, list(hints))


def check(name: str, cluster: Any, *, quiet: bool = False, **kwargs: Any) -> CheckResult:
    """Run the check `name`; raise CheckFailed (with the hints) unless it passes."""
    if name not in CHECKS:
        known = ", ".join(sorted(CHECKS))
        raise KeyError(f"no check named {name!r}; the checks are: {known}")
    result = CHECKS[name](cluster, **kwargs)
    if not result.passed and not quiet:
        raise CheckFailed(str(result))
    return result
