"""SPDY/3.1 framing, the server's half, as much as kubectl's port-forward uses.

kubectl 1.31+ runs `port-forward` as a SPDY/3.1 session tunnelled through a WebSocket
(subprotocol `SPDY/3.1+portforward.k8s.io`); the WebSocket's binary messages carry the
SPDY byte stream, cut anywhere.  The client opens streams (SYN_STREAM, odd ids, headers
`streamtype`, `port`, `requestid`), the server accepts each with a SYN_REPLY, data
frames flow both ways, FIN half-closes a stream, RST_STREAM resets it, PINGs from the
client are echoed and GOAWAY ends the session.

Faithful: frame layouts of the SPDY/3 draft (control bit, version 3, 24-bit lengths),
name/value header blocks compressed with one zlib stream per direction primed with the
SPDY/3 dictionary and sync-flushed per frame, as moby/spdystream (client-go's SPDY
library) writes them.  Simplified: no flow control (WINDOW_UPDATE and SETTINGS are read
and ignored; the amounts of data a simulated port-forward moves are tiny), no server
push, no priorities.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9
DATA = 0  # not a control type: how `Frame.type` names a data frame
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR = 1
RST_CANCEL = 5

# The SPDY/3 header dictionary: the draft's list of length-prefixed header names and
# values, then its run of status codes, reason phrases, dates and media types.
_DICTIONARY_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow",
    "authorization", "cache-control", "connection", "content-base", "content-encoding",
    "content-language", "content-length", "content-location", "content-md5",
    "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
    "proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer",
    "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1",
    "url", "public", "set-cookie", "keep-alive", "origin",
)  # fmt: skip
_DICTIONARY_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
    "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
    "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
    "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
    "charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = (
    b"".join(len(w).to_bytes(4, "big") + w.encode() for w in _DICTIONARY_WORDS)
    + _DICTIONARY_TAIL.encode()
)


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3 (the session must end)."""


@dataclass
class Frame:
    """One decoded frame; `type` is a control frame type, or `DATA`."""

    type: int
    stream_id: int = 0
    flags: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes = b""
    value: int = 0  # PING id, RST_STREAM / GOAWAY status

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Codec:
    """Turns the bytes of one SPDY session into frames, and frames into bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zdict=DICTIONARY)

    # -- reading ------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data` (a partial frame waits for the next bytes)."""
        self._buffer.extend(data)
        frames = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, body = bytes(self._buffer[:8]), bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            frames.append(self._frame(head, body))
        return frames

    def _frame(self, head: bytes, body: bytes) -> Frame:
        first, flags = struct.unpack(">I", head[:4])[0], head[4]
        if not first & 0x80000000:
            return Frame(DATA, stream_id=first & 0x7FFFFFFF, flags=flags, data=body)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version} is not supported (only 3)")
        return self._control(kind, flags, body)

    def _control(self, kind: int, flags: int, body: bytes) -> Frame:
        frame = Frame(kind, flags=flags)
        if kind == SYN_STREAM:
            frame.stream_id = _u31(body, 0)
            frame.headers = self._headers(body[10:])
        elif kind in (SYN_REPLY, HEADERS):
            frame.stream_id = _u31(body, 0)
            frame.headers = self._headers(body[4:])
        elif kind in (RST_STREAM, WINDOW_UPDATE):
            frame.stream_id, frame.value = _u31(body, 0), _u32(body, 4)
        elif kind == PING:
            frame.value = _u32(body, 0)
        elif kind == GOAWAY:
            frame.stream_id, frame.value = _u31(body, 0), _u32(body, 4)
        return frame  # SETTINGS and unknown types carry nothing we use

    def _headers(self, compressed: bytes) -> dict[str, str]:
        try:
            block = self._inflate.decompress(compressed)
        except zlib.error as err:
            raise ProtocolError(f"header block does not decompress: {err}") from err
        count, offset, headers = _u32(block, 0), 4, {}
        for _ in range(count):
            name, offset = _string(block, offset)
            value, offset = _string(block, offset)
            headers[name.lower()] = value
        return headers

    # -- writing ------------------------------------------------------------------------

    def syn_reply(self, stream_id: int, fin: bool = False) -> bytes:
        block = self._deflate.compress(struct.pack(">I", 0))  # no headers
        block += self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return _control(
            SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + block
        )

    def data(self, stream_id: int, payload: bytes = b"", fin: bool = False) -> bytes:
        flags_length = ((FLAG_FIN if fin else 0) << 24) | len(payload)
        return struct.pack(">II", stream_id & 0x7FFFFFFF, flags_length) + payload

    def rst_stream(self, stream_id: int, status: int = RST_CANCEL) -> bytes:
        return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return _control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream_id: int) -> bytes:
        return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, 0))


def _control(kind: int, flags: int, body: bytes) -> bytes:
    first = 0x80000000 | (VERSION << 16) | kind
    return struct.pack(">II", first, (flags << 24) | len(body)) + body


def _u32(data: bytes, offset: int) -> int:
    if len(data) < offset + 4:
        raise ProtocolError("frame is shorter than its fields")
    return int(struct.unpack_from(">I", data, offset)[0])


def _u31(data: bytes, offset: int) -> int:
    return _u32(data, offset) & 0x7FFFFFFF


def _string(block: bytes, offset: int) -> tuple[str, int]:
    length = _u32(block, offset)
    start = offset + 4
    if len(block) < start + length:
        raise ProtocolError("header block is shorter than its names and values")
    return block[start : start + length].decode("utf-8", "replace"), start + length
