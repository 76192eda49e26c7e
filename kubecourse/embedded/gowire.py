"""The Go library behaviours kube-apiserver's decoding messages are made of.

kube-apiserver is written in Go, so what it says about a bad request body is what Go's
`encoding/json`, `encoding/base64`, `time` and `fmt` say, wrapped in its own sentence.
This module reproduces those pieces, each from the upstream algorithm:

- `json_syntax_error`: the scanner's messages (`invalid character 'x' looking for
  beginning of value`, `unexpected end of JSON input`), found the way `json.Unmarshal`
  finds them: the whole input is checked before anything is decoded;
- `base64_error`: `illegal base64 data at input byte N` with the offset
  `base64.StdEncoding` reports (padding required, `\\r` and `\\n` skipped);
- `quantity_error`: `resource.ParseQuantity`'s three errors, from its own scanner;
- `rfc3339_error`: `time.Parse(time.RFC3339, s)`'s `parsing time ...` messages;
- `quote`, `sprint_v`, `sharp_v`: `strconv.Quote`, `%+v` and `%#v` of decoded JSON
  (`map[a:1 b:[x y]]`, `map[string]interface {}{"a":1}`).

Simplified: floats print with Python's shortest repr in Go's `%g` layout, which
matches Go for the values JSON bodies carry; the time parser knows the RFC 3339 layout
only (the one metav1.Time uses).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

# ---------------------------------------------------------------- strconv.Quote

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _printable(ch: str) -> bool:
    """Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols, ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def _escape(ch: str, quote: str) -> str:
    if ch in (quote, "\\"):
        return "\\" + ch
    if _printable(ch):
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def quote(text: str) -> str:
    """`strconv.Quote` (what `%q` prints)."""
    return '"' + "".join(_escape(ch, '"') for ch in text) + '"'


def quote_char(byte: int) -> str:
    """How the JSON scanner names a byte: `'x'`, `'\\''`, `'"'`, `'\\n'`."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + _escape(chr(byte), "'") + "'"


# ---------------------------------------------------------------- encoding/json scanner


class _SyntaxError(Exception):
    pass


class _Scanner:
    """`checkValid`: the first syntax error of a JSON text, in the scanner's words."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0

    def fail(self, context: str) -> _SyntaxError:
        if self.i >= len(self.data):
            return _SyntaxError("unexpected end of JSON input")
        return _SyntaxError(
            f"invalid character {quote_char(self.data[self.i])} {context}"
        )

    def peek(self, context: str) -> int:
        self.skip_space()
        if self.i >= len(self.data):
            raise self.fail(context)
        return self.data[self.i]

    def skip_space(self) -> None:
        while self.i < len(self.data) and self.data[self.i] in b" \t\r\n":
            self.i += 1

    def document(self) -> None:
        self.value()
        self.skip_space()
        if self.i < len(self.data):
            raise self.fail("after top-level value")

    def value(self) -> None:
        c = self.peek("looking for beginning of value")
        if c == ord("{"):
            self.object()
        elif c == ord("["):
            self.array()
        elif c == ord('"'):
            self.string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self.number()
        elif c in b"tfn":
            self.literal({ord("t"): "true", ord("f"): "false", ord("n"): "null"}[c])
        else:
            raise self.fail("looking for beginning of value")

    def object(self) -> None:
        self.i += 1
        if self.peek("looking for beginning of object key string") == ord("}"):
            self.i += 1
            return
        while True:
            if self.peek("looking for beginning of object key string") != ord('"'):
                raise self.fail("looking for beginning of object key string")
            self.string()
            if self.peek("after object key") != ord(":"):
                raise self.fail("after object key")
            self.i += 1
            self.value()
            c = self.peek("after object key:value pair")
            self.i += 1
            if c == ord("}"):
                return
            if c != ord(","):
                self.i -= 1
                raise self.fail("after object key:value pair")

    def array(self) -> None:
        self.i += 1
        if self.peek("looking for beginning of value") == ord("]"):
            self.i += 1
            return
        while True:
            self.value()
            c = self.peek("after array element")
            self.i += 1
            if c == ord("]"):
                return
            if c != ord(","):
                self.i -= 1
                raise self.fail("after array element")

    def string(self) -> None:
        self.i += 1
        while True:
            c = self.next_byte("in string literal")
            if c == ord('"'):
                return
            if c == ord("\\"):
                self.escape()
            elif c < 0x20:
                self.i -= 1
                raise self.fail("in string literal")

    def escape(self) -> None:
        c = self.next_byte("in string escape code")
        if c == ord("u"):
            for _ in range(4):
                if (
                    chr(self.next_byte("in \\u hexadecimal character escape"))
                    not in "0123456789abcdefABCDEF"
                ):
                    self.i -= 1
                    raise self.fail("in \\u hexadecimal character escape")
        elif c not in b'"\\/bfnrt':
            self.i -= 1
            raise self.fail("in string escape code")

    def next_byte(self, context: str) -> int:
        if self.i >= len(self.data):
            raise self.fail(context)
        self.i += 1
        return self.data[self.i - 1]

    def digits(self) -> None:
        while (
            self.i < len(self.data)
            and chr(self.data[self.i]).isdigit()
            and self.data[self.i] < 0x80
        ):
            self.i += 1

    def expect_digit(self, context: str) -> None:
        if self.i >= len(self.data) or not (ord("0") <= self.data[self.i] <= ord("9")):
            raise self.fail(context)
        self.digits()

    def number(self) -> None:
        if self.data[self.i] == ord("-"):
            self.i += 1
            if self.i >= len(self.data) or not (
                ord("0") <= self.data[self.i] <= ord("9")
            ):
                raise self.fail("in numeric literal")
        if self.data[self.i] == ord("0"):
            self.i += 1
        else:
            self.digits()
        if self.i < len(self.data) and self.data[self.i] == ord("."):
            self.i += 1
            self.expect_digit("after decimal point in numeric literal")
        if self.i < len(self.data) and self.data[self.i] in b"eE":
            self.i += 1
            if self.i < len(self.data) and self.data[self.i] in b"+-":
                self.i += 1
            self.expect_digit("in exponent of numeric literal")

    def literal(self, word: str) -> None:
        self.i += 1
        for expected in word[1:]:
            if self.i >= len(self.data):
                raise self.fail("")
            if self.data[self.i] != ord(expected):
                raise self.fail(
                    f"in literal {word} (expecting {quote_char(ord(expected))})"
                )
            self.i += 1


def json_syntax_error(data: bytes) -> str | None:
    """The error `json.Unmarshal` gives for a malformed text, or None when it is valid."""
    try:
        _Scanner(data).document()
    except _SyntaxError as err:
        return str(err)
    except RecursionError:
        return nesting_error(data)
    return None


MAX_NESTING_DEPTH = 10000  # encoding/json's maxNestingDepth
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_error(data: bytes, limit: int = MAX_NESTING_DEPTH) -> str:
    """The scanner's error for a text nested deeper than `limit` (at the bracket that
    goes past it); for a text that does not, at its deepest bracket."""
    return exceeds_depth(data, limit) or exceeds_depth(data, _deepest(data) - 1) or ""


def exceeds_depth(data: bytes, limit: int) -> str | None:
    """`exceeded max depth` at the first bracket nested deeper than `limit`, or None."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return None  # cheap: too few brackets to nest that deep
    depth = 0
    for token in _TOKENS.finditer(data):
        c = token.group()[0]
        if c in b"[{":
            depth += 1
            if depth > limit:
                return f"invalid character {quote_char(c)} exceeded max depth"
        elif c in b"]}":
            depth -= 1
    return None


def _deepest(data: bytes) -> int:
    depth = deepest = 0
    for token in _TOKENS.finditer(data):
        c = token.group()[0]
        if c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


# ---------------------------------------------------------------- encoding/base64

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _decode_quantum(src: bytes, si: int) -> tuple[int, int | None, bool]:
    """One step of `Encoding.decodeQuantum`: (next index, error offset, finished)."""
    j = 0
    while j < 4:
        if si == len(src):
            if j == 0:
                return si, None, True
            return si, si - j, True  # padding is required (StdEncoding)
        ch = src[si]
        si += 1
        if ch in _ALPHABET:
            j += 1
            continue
        if ch in b"\r\n":
            continue
        if ch != ord("="):
            return si, si - 1, True
        return _padding(src, si, j)
    return si, None, False


def _padding(src: bytes, si: int, j: int) -> tuple[int, int | None, bool]:
    if j in (0, 1):
        return si, si - 1, True
    if j == 2:
        while si < len(src) and src[si] in b"\r\n":
            si += 1
        if si == len(src):
            return si, len(src), True
        if src[si] != ord("="):
            return si, si - 1, True
        si += 1
    while si < len(src) and src[si] in b"\r\n":
        si += 1
    return si, (si if si < len(src) else None), True


def base64_error(text: str) -> str | None:
    """`illegal base64 data at input byte N` as `base64.StdEncoding.DecodeString` says it."""
    src = text.encode()
    si = 0
    while si < len(src):
        si, offset, finished = _decode_quantum(src, si)
        if offset is not None:
            return f"illegal base64 data at input byte {offset}"
        if finished:
            break
    return None


# ---------------------------------------------------------------- resource.ParseQuantity

QUANTITY_FORMAT = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
QUANTITY_SUFFIX = "unable to parse quantity's suffix"
_QUANTITY_SUFFIXES = {
    "",
    "n",
    "u",
    "m",
    "k",
    "M",
    "G",
    "T",
    "P",
    "E",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
}


def _skip(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _quantity_suffix(text: str) -> str | None:
    """`parseQuantityString`: the suffix, or None where it gives ErrFormatWrong."""
    i = 1 if text[:1] in ("+", "-") else 0
    i = _skip(text, i, "0123456789")
    if i < len(text) and text[i] == ".":
        i = _skip(text, i + 1, "0123456789")
    start = i
    i = _skip(text, i, "eEinumkKMGTP")
    if i < len(text) and text[i] in "+-":
        i += 1
    i = _skip(text, i, "0123456789")
    return text[start:] if i == len(text) else None


def _suffix_known(suffix: str) -> bool:
    if suffix in _QUANTITY_SUFFIXES:
        return True
    if len(suffix) > 1 and suffix[0] in "eE":
        body = suffix[1:].lstrip("+-") if suffix[1:2] in ("+", "-") else suffix[1:]
        return body.isdigit() and len(suffix[1:]) - len(body) <= 1
    return False


def quantity_error(text: str) -> str | None:
    """Why `resource.ParseQuantity(strings.TrimSpace(text))` fails, or None."""
    text = text.strip()
    if not text:
        return QUANTITY_FORMAT
    if text == "0":
        return None
    suffix = _quantity_suffix(text)
    if suffix is None:
        return QUANTITY_FORMAT
    if not _suffix_known(suffix):
        return QUANTITY_SUFFIX
    return None


# ---------------------------------------------------------------- time.Parse(RFC3339)

RFC3339 = "2006-01-02T15:04:05Z07:00"
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _TimeError(Exception):
    pass


def _cannot(value: str, rest: str, element: str) -> _TimeError:
    return _TimeError(
        f"parsing time {quote(value)} as {quote(RFC3339)}: cannot parse {quote(rest)} as {quote(element)}"
    )


def _number(value: str, rest: str, element: str, fixed: bool) -> tuple[int, str]:
    """`getnum`: one or two digits (two when `fixed`)."""
    if not rest[:1].isdigit() or not rest[:1].isascii():
        raise _cannot(value, rest, element)
    if not rest[1:2].isdigit() or not rest[1:2].isascii():
        if fixed:
            raise _cannot(value, rest, element)
        return int(rest[0]), rest[1:]
    return int(rest[:2]), rest[2:]


def _literal(value: str, rest: str, text: str) -> str:
    if not rest.startswith(text):
        raise _cannot(value, rest, text)
    return rest[len(text) :]


def _in_range(
    value: str, rest: str, element: str, number: int, low: int, high: int, what: str
) -> None:
    if not low <= number <= high:
        raise _TimeError(f"parsing time {quote(value)}: {what} out of range")


def _zone(value: str, rest: str) -> str:
    if rest.startswith("Z"):
        return rest[1:]
    if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-":
        raise _cannot(value, rest, "Z07:00")
    for part in (rest[1:3], rest[4:6]):
        if not (part.isdigit() and part.isascii()):
            raise _cannot(value, rest, "Z07:00")
    if int(rest[1:3]) > 24:
        raise _TimeError(
            f"parsing time {quote(value)}: time zone offset hour out of range"
        )
    if int(rest[4:6]) > 60:
        raise _TimeError(
            f"parsing time {quote(value)}: time zone offset minute out of range"
        )
    return rest[6:]


def _fraction(rest: str) -> str:
    if len(rest) >= 2 and rest[0] in ".," and rest[1].isdigit():
        end = 1
        while end < len(rest) and rest[end].isdigit() and rest[end].isascii():
            end += 1
        return rest[end:]
    return rest


def _date(value: str) -> tuple[int, int, int, str]:
    if len(value) < 4 or not value[:4].isdigit() or not value[:4].isascii():
        raise _cannot(value, value, "2006")
    year, rest = int(value[:4]), _literal(value, value[4:], "-")
    month, rest = _number(value, rest, "01", True)
    _in_range(value, rest, "01", month, 1, 12, "month")
    day, rest = _number(value, _literal(value, rest, "-"), "02", True)
    return year, month, day, _literal(value, rest, "T")


def _clock(value: str, rest: str) -> str:
    hour, rest = _number(value, rest, "15", False)
    _in_range(value, rest, "15", hour, 0, 23, "hour")
    minute, rest = _number(value, _literal(value, rest, ":"), "04", True)
    _in_range(value, rest, "04", minute, 0, 59, "minute")
    second, rest = _number(value, _literal(value, rest, ":"), "05", True)
    _in_range(value, rest, "05", second, 0, 59, "second")
    return _fraction(rest)


def rfc3339_error(value: str) -> str | None:
    """Why `time.Parse(time.RFC3339, value)` fails (Go's message), or None."""
    try:
        year, month, day, rest = _date(value)
        rest = _zone(value, _clock(value, rest))
        if rest:
            raise _TimeError(f"parsing time {quote(value)}: extra text: {quote(rest)}")
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if day < 1 or day > _DAYS[month - 1] + (1 if month == 2 and leap else 0):
            raise _TimeError(f"parsing time {quote(value)}: day out of range")
    except _TimeError as err:
        return str(err)
    return None


# ---------------------------------------------------------------- fmt


def format_float(value: float) -> str:
    """`%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`): the shortest digits,
    in exponent form when the exponent is below -4 or at least 6."""
    if math.isinf(value) or math.isnan(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest(abs(value))
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    rest = digits[exponent + 1 :]
    return f"{sign}{whole}{'.' + rest if rest else ''}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-trip digits of a positive float and its decimal exponent."""
    mantissa, _, power = f"{value!r}".partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = len(whole) - 1 + int(power or 0)
    if whole == "0":
        exponent = -(len(fraction) - len(fraction.lstrip("0"))) - 1 + int(power or 0)
    return digits.rstrip("0") or "0", exponent


def number_text(value: Any) -> str:
    """A JSON number as Go's decoder quotes it in `cannot unmarshal number 1.5 ...`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def sprint_v(value: Any) -> str:
    """`fmt.Sprintf("%+v", v)` of decoded JSON (`map[a:1 b:[x y]]`)."""
    if isinstance(value, dict):
        inner = " ".join(f"{key}:{sprint_v(value[key])}" for key in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(sprint_v(item) for item in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    return str(value)


def sharp_v(value: Any) -> str:
    """`fmt.Sprintf("%#v", v)` of decoded JSON (`map[string]interface {}{"a":1}`)."""
    if isinstance(value, dict):
        inner = ", ".join(
            f"{quote(str(key))}:{sharp_v(value[key])}" for key in sorted(value)
        )
        return f"map[string]interface {{}}{{{inner}}}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(sharp_v(item) for item in value) + "}"
    if isinstance(value, str):
        return quote(value)
    return sprint_v(value)


def type_name(value: Any) -> str:
    """`%T` of decoded JSON."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if value is None:
        return "<nil>"
    return "string"
