"""The check registry and the result a learner sees."""

from __future__ import annotations

import html
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubecourse.client import Cluster
from kubecourse.errors import ArgumentError, CheckFailed

CheckFn = Callable[..., "CheckResult"]
CHECKS: dict[str, CheckFn] = {}


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str
    hints: list[str] = field(default_factory=list)
    transient: bool = False  # "not yet" rather than "not done": worth waiting for

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


def not_yet(name: str, message: str, *hints: str) -> CheckResult:
    """A failure that time may fix (Pods still starting); `check(wait=...)` retries it."""
    return CheckResult(name, False, message, list(hints), transient=True)


def check(name: str, cluster: Any, *, quiet: bool = False, wait: float = 0, **kwargs: Any) -> CheckResult:
    """Run the check `name`; raise CheckFailed (with the hints) unless it passes.

    With `wait`, keep re-checking for up to that many seconds while the failure is one
    that time can fix (Pods still starting); a missing object fails at once."""
    fn = _the_check(name, cluster, kwargs)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or wait < 0:
        raise ArgumentError(f"wait must be a number of seconds (0 or more), not {wait!r}")
    deadline = time.monotonic() + wait
    result = fn(cluster, **kwargs)
    while result.transient and time.monotonic() < deadline:
        time.sleep(0.5)
        result = fn(cluster, **kwargs)
    if not result.passed and not quiet:
        raise CheckFailed(str(result))
    return result


def _the_check(name: Any, cluster: Any, kwargs: dict[str, Any]) -> CheckFn:
    """The registered check, once its name, cluster and options are known to fit."""
    if not isinstance(name, str) or name not in CHECKS:
        known = ", ".join(sorted(CHECKS))
        raise ArgumentError(f"no check named {name!r}; the checks are: {known}")
    if not isinstance(cluster, Cluster):
        raise ArgumentError(f"check({name!r}, cluster): cluster must be what kubecourse.connect() "
                            f"returns, not {cluster!r}")  # fmt: skip
    fn = CHECKS[name]
    try:
        inspect.signature(fn).bind(cluster, **kwargs)
    except TypeError:
        options = [p for p in list(inspect.signature(fn).parameters)[1:]]
        takes = ", ".join(f"{o}=" for o in options) or "no options"
        raise ArgumentError(f"check {name!r} takes {takes}, not {', '.join(kwargs)}") from None
    return fn
