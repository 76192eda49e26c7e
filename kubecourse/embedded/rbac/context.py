"""Who the request being served is, for the registry code that needs it (upstream's
`genericapirequest.UserFrom(ctx)`): the escalation checks of RBAC writes.

The HTTP layer sets it around each request (`serving`); the in-process controllers
call `Api` outside any request and so act as the API server's own loopback client,
which may do anything (`current()` is None).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from kubecourse.embedded.auth import UserInfo
from kubecourse.embedded.rbac.rules import Attributes


@dataclass(frozen=True)
class Request:
    user: UserInfo
    attrs: Attributes


_current: ContextVar[Request | None] = ContextVar("kubecourse_request", default=None)


def current() -> Request | None:
    return _current.get()


@contextmanager
def serving(user: UserInfo, attrs: Attributes) -> Iterator[None]:
    token = _current.set(Request(user, attrs))
    try:
        yield
    finally:
        _current.reset(token)
