"""SPDY/3.1 framing as kubectl's port-forward tunnel writes and reads it."""

from __future__ import annotations

import struct
import zlib

import pytest

from kubecourse.embedded.streams import spdy


class GoClient:
    """Frames as moby/spdystream (client-go) writes them, and a reader for replies."""

    def __init__(self) -> None:
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zdict=spdy.DICTIONARY)
        self.inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)

    def syn_stream(self, stream_id: int, headers: dict[str, str]) -> bytes:
        block = struct.pack(">I", len(headers))
        for name, value in headers.items():
            block += struct.pack(">I", len(name)) + name.encode()
            block += struct.pack(">I", len(value)) + value.encode()
        compressed = self.deflate.compress(block) + self.deflate.flush(
            zlib.Z_SYNC_FLUSH
        )
        body = struct.pack(">IIBB", stream_id, 0, 0, 0) + compressed
        return struct.pack(">II", 0x80030001, len(body)) + body

    def reply_headers(self, frame: bytes) -> int:
        """The header count of a SYN_REPLY (decompressed with the client's own stream)."""
        block = self.inflate.decompress(frame[12:])
        return int(struct.unpack(">I", block[:4])[0])


def test_the_dictionary_is_spdy3s_byte_for_byte() -> None:
    # The length and Adler-32 that zlib checks the dictionary against (kubectl's copy).
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 3821447106


def test_syn_streams_are_decoded_with_one_zlib_stream_across_frames() -> None:
    client, codec = GoClient(), spdy.Codec()
    first = client.syn_stream(
        1, {"streamtype": "error", "port": "80", "requestid": "0"}
    )
    second = client.syn_stream(
        3, {"streamtype": "data", "port": "80", "requestid": "0"}
    )
    frames = codec.feed(first + second)
    assert [(f.type, f.stream_id, f.headers["streamtype"]) for f in frames] == [
        (spdy.SYN_STREAM, 1, "error"),
        (spdy.SYN_STREAM, 3, "data"),
    ]
    assert frames[1].headers == {"streamtype": "data", "port": "80", "requestid": "0"}


def test_frames_cut_anywhere_by_websocket_messages_are_reassembled() -> None:
    client, codec = GoClient(), spdy.Codec()
    wire = client.syn_stream(1, {"streamtype": "data", "port": "8080"}) + codec.ping(7)
    frames = [
        frame
        for byte in range(len(wire))
        for frame in codec.feed(wire[byte : byte + 1])
    ]
    assert [f.type for f in frames] == [spdy.SYN_STREAM, spdy.PING]
    assert frames[1].value == 7


def test_replies_decompress_in_the_clients_zlib_stream() -> None:
    client, codec = GoClient(), spdy.Codec()
    replies = [codec.syn_reply(1), codec.syn_reply(3)]
    assert [client.reply_headers(r) for r in replies] == [0, 0]
    assert struct.unpack(">HH", replies[1][:4]) == (0x8003, spdy.SYN_REPLY)
    assert struct.unpack(">I", replies[1][8:12])[0] == 3


def test_data_frames_carry_fin_and_payload() -> None:
    codec = spdy.Codec()
    frame = codec.feed(codec.data(5, b"error text", fin=True))[0]
    assert (frame.type, frame.stream_id, frame.data, frame.fin) == (
        spdy.DATA,
        5,
        b"error text",
        True,
    )
    rst = codec.feed(codec.rst_stream(5))[0]
    assert (rst.type, rst.stream_id, rst.value) == (spdy.RST_STREAM, 5, spdy.RST_CANCEL)
    assert codec.feed(codec.goaway(3))[0].type == spdy.GOAWAY


def test_another_spdy_version_is_a_protocol_error() -> None:
    with pytest.raises(spdy.ProtocolError, match="version 2"):
        spdy.Codec().feed(struct.pack(">II", 0x80020006, 4) + b"\0\0\0\1")
