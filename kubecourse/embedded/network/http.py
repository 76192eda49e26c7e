"""HTTP/1.1 messages as bytes on a simulated TCP connection.

Every entry point (port-forward's byte stream, the API server's proxy, the shell's
`wget` and `curl`, the ingress controller forwarding a request) speaks real HTTP/1.1 to
the simulated servers, so one parser and one writer serve them all: a request or a
response is read from a buffer once it is complete (headers up to the blank line, then a
`Content-Length` or chunked body), and written back with its headers in the order the
server program writes them.

Simplified: no pipelining beyond answering complete requests in order, no trailers, no
`Expect: 100-continue`, no compression.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate

CRLF = b"\r\n"
MAX_HEAD = 64 * 1024
REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

Headers = list[tuple[str, str]]


class MalformedMessage(ValueError):
    """Bytes that are not an HTTP/1.x message (a server answers 400, a client fails)."""


@dataclass
class Request:
    method: str
    target: str  # the request-target as sent: `/path?query`
    version: str = "HTTP/1.1"
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        return header(self.headers, name)

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("Connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    def encode(self) -> bytes:
        head = f"{self.method} {self.target} {self.version}\r\n"
        return _encode(head, self.headers, self.body)


@dataclass
class Response:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    version: str = "HTTP/1.1"
    reason: str | None = None

    def header(self, name: str) -> str | None:
        return header(self.headers, name)

    @property
    def status_line(self) -> str:
        return f"{self.version} {self.status} {self.reason or REASONS.get(self.status, '')}".rstrip()

    def encode(self) -> bytes:
        return _encode(self.status_line + "\r\n", self.headers, self.body)


def header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def without(headers: Headers, *names: str) -> Headers:
    dropped = {n.lower() for n in names}
    return [(k, v) for k, v in headers if k.lower() not in dropped]


def canonical(name: str) -> str:
    """Go's canonical header key (`accept-encoding` -> `Accept-Encoding`)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def http_date(moment: float | None = None) -> str:
    return formatdate(time.time() if moment is None else moment, usegmt=True)


def _encode(head: str, headers: Headers, body: bytes) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + lines + "\r\n").encode("latin-1", "replace") + body


# -- reading --------------------------------------------------------------------------------


def read_request(buffer: bytearray) -> Request | None:
    """The first complete request in `buffer` (removed from it), or None to wait for more."""
    parsed = _read_message(buffer)
    if parsed is None:
        return None
    start, headers, body = parsed
    parts = start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise MalformedMessage(f"malformed request line {start!r}")
    return Request(parts[0], parts[1], parts[2], headers, body)


def read_response(data: bytes, head_only: bool = False) -> Response:
    """A whole response (the server has closed, or sent all of it)."""
    buffer = bytearray(data)
    parsed = _read_message(buffer, until_close=True, head_only=head_only)
    if parsed is None:
        raise MalformedMessage("the response ended before its headers did")
    start, headers, body = parsed
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or not code.isdigit():
        raise MalformedMessage(f"malformed status line {start!r}")
    return Response(int(code), headers, body, version, reason)


def complete_response(data: bytes, head_only: bool = False) -> bool:
    """Whether `data` already holds a whole response (headers and its framed body)."""
    try:
        return _read_message(bytearray(data), head_only=head_only) is not None
    except MalformedMessage:
        return True


def _read_message(
    buffer: bytearray, until_close: bool = False, head_only: bool = False
) -> tuple[str, Headers, bytes] | None:
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise MalformedMessage("the message head is too large")
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    headers = [_header_line(line) for line in lines[1:]]
    rest = bytes(buffer[end + 4 :])
    body_and_left = (b"", rest) if head_only else _body(headers, rest, until_close)
    if body_and_left is None:
        return None
    body, left = body_and_left
    del buffer[:]
    buffer.extend(left)
    return lines[0], headers, body


def _header_line(line: str) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    if not colon or not name or name != name.strip():
        raise MalformedMessage(f"malformed header line {line!r}")
    return name, value.strip()


def _body(
    headers: Headers, rest: bytes, until_close: bool
) -> tuple[bytes, bytes] | None:
    if (header(headers, "Transfer-Encoding") or "").lower() == "chunked":
        return _chunked(rest)
    length = header(headers, "Content-Length")
    if length is None:
        return (rest, b"") if until_close else (b"", rest)
    if not length.isdigit():
        raise MalformedMessage(f"bad Content-Length {length!r}")
    if len(rest) < int(length):
        return (rest, b"") if until_close else None
    return rest[: int(length)], rest[int(length) :]


def _chunked(rest: bytes) -> tuple[bytes, bytes] | None:
    body, offset = b"", 0
    while True:
        line_end = rest.find(CRLF, offset)
        if line_end < 0:
            return None
        size_text = rest[offset:line_end].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as err:
            raise MalformedMessage(f"bad chunk size {size_text!r}") from err
        start = line_end + 2
        if size == 0:
            trailer_end = rest.find(CRLF, start)
            return (body, rest[trailer_end + 2 :]) if trailer_end >= 0 else None
        if len(rest) < start + size + 2:
            return None
        body += rest[start : start + size]
        offset = start + size + 2
