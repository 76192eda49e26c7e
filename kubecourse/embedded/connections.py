"""The HTTP connection layer under the API: header limits, unreadable requests, and
connections that go away.

Faithful to kube-apiserver on Go's net/http:

- A request's line and headers may take up to 1 MiB (`http.DefaultMaxHeaderBytes`,
  which kube-apiserver keeps), not aiohttp's 8190 bytes: a long label selector in the
  query string or a long header is served.
- Past that the answer is Go's plain `431 Request Header Fields Too Large`, and a request
  that is not HTTP is a plain `400 Bad Request`; the connection is closed.  Neither the
  answer nor the log ever repeats what the client sent (aiohttp's own answer echoes the
  first hundred bytes of the offending header, which can be the bearer token).
- `peer_gone()` tells a long-running answer (a watch) that its client has closed the
  connection, so the watcher is released at once instead of at its next event.

Simplified: aiohttp limits each line (1 MiB) rather than the header block as a whole,
so many long headers together may exceed Go's total; nothing the course sends comes close.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 1 << 20  # Go's http.DefaultMaxHeaderBytes
HEADER_TOO_LARGE = "431 Request Header Fields Too Large"
BAD_REQUEST = "400 Bad Request"


class _GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering unreadable requests as Go's net/http does."""

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, BadHttpMessage):
            return super().handle_error(request, status, exc, message)
        text = HEADER_TOO_LARGE if isinstance(exc, LineTooLong) else BAD_REQUEST
        # The exception's text quotes the request: log only its kind.
        log.info("refused an unreadable request (%s): %s", type(exc).__name__, text)
        response = web.Response(
            status=int(text[:3]), text=text, content_type="text/plain", charset="utf-8"
        )
        response.force_close()
        return response


class _GuardedServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """An AppRunner whose connections take Go's header limit and answer as Go's."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        super().__init__(
            app,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
            **kwargs,
        )

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds the Server from the app's private handler; keep all of its
        # state and only change which connection handler it makes.
        server.__class__ = _GuardedServer
        return server


def peer_gone(request: web.BaseRequest) -> bool:
    """The client closed its connection (or the server is dropping it)."""
    transport = request.transport
    return transport is None or transport.is_closing()
