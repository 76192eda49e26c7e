"""Arguments checked before they reach the API server, and 404s a learner can act on.

A course helper given a wrong value (a number where a name belongs, `-1` replicas) says
which argument was wrong and what it should be, rather than failing deep inside the
official client.  A missing object is the API server's 404 (`deployments.apps "web" not
found`), retold with what the learner needs next: the namespace it was looked for in,
whether that namespace exists at all, and the names that do exist there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubecourse.errors import ArgumentError, NotFoundError

SHOWN_NAMES = 12  # more than this many existing names are cut off with "…"


def name_arg(value: Any, argument: str, what: str = "an object") -> str:
    """A Kubernetes name: a string that is not empty."""
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(
            f"{argument} must be the name of {what} (a string), not {value!r}"
        )
    return value


def optional_name_arg(
    value: Any, argument: str, what: str = "a namespace"
) -> str | None:
    return None if value is None else name_arg(value, argument, what)


def count_arg(
    value: Any, argument: str, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """A whole number within bounds (`True` is not a count)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok and (maximum is None or value <= maximum):
        return int(value)
    bounds = (
        f"from {minimum} to {maximum}"
        if maximum is not None
        else f"of {minimum} or more"
    )
    raise ArgumentError(f"{argument} must be a whole number {bounds}, not {value!r}")


def seconds_arg(value: Any, argument: str = "timeout") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ArgumentError(
            f"{argument} must be a number of seconds (0 or more), not {value!r}"
        )
    return float(value)


def selector_arg(selector: Any) -> str | None:
    """A label selector as text: `"app=web"`, `{"app": "web"}` or None for everything."""
    if selector is None or isinstance(selector, str):
        return selector or None
    if isinstance(selector, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
    ):
        return ",".join(f"{k}={v}" for k, v in selector.items()) or None
    raise ArgumentError(
        "selector must be label text like 'app=web' or a dict of strings like "
        f"{{'app': 'web'}}, not {selector!r}"
    )


def callable_arg(value: Any, argument: str) -> Callable[..., Any]:
    if not callable(value):
        raise ArgumentError(f"{argument} must be a function, not {value!r}")
    return value  # type: ignore[no-any-return]


def not_found(
    err: NotFoundError,
    kind: str,
    name: str,
    namespace: str | None,
    *,
    namespace_exists: bool,
    existing: Iterable[str],
    argument: str | None = None,
) -> NotFoundError:
    """The 404 retold: what is missing, where it was looked for, what is there instead.

    The caller raises it `from err`, so the API server's own Status stays chained."""
    if namespace is not None and not namespace_exists:
        message = (
            f'namespace "{namespace}" does not exist, so there is no {kind} "{name}" in it; '
            "`kubectl get namespaces` lists the namespaces"
        )
    else:
        where = f' in namespace "{namespace}"' if namespace is not None else ""
        message = f'{kind} "{name}" does not exist{where}; {_what_is_there(kind, namespace, existing)}'
    if argument is not None:
        message = f"{argument}={name!r}: {message}"
    return NotFoundError({**err.status, "message": message})


def _what_is_there(kind: str, namespace: str | None, existing: Iterable[str]) -> str:
    names = sorted(existing)
    plural = kind if kind.endswith("s") else f"{kind}s"
    where = "there" if namespace is not None else "in the cluster"
    if not names:
        return f"there are no {plural} {where}"
    shown = ", ".join(names[:SHOWN_NAMES]) + (", …" if len(names) > SHOWN_NAMES else "")
    return f"the {plural} {where} are: {shown}"
