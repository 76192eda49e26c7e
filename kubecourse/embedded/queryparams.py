"""Query parameters and path names as kube-apiserver converts and checks them.

- Integers (`limit`, `timeoutSeconds`, `gracePeriodSeconds`) go through the parameter
  codec's `strconv.ParseInt`: `timeoutSeconds=abc` is 400 BadRequest
  `strconv.ParseInt: parsing "abc": invalid syntax` (an empty value too, and
  `value out of range` past int64).
- A `resourceVersion` that is not a number fails in the storage's versioner
  (`strconv.ParseUint`), an error kube-apiserver does not turn into a Status: it answers
  500 with no reason and `resourceVersion: Invalid value: "abc": strconv.ParseUint:
  parsing "abc": invalid syntax` (kubernetes/kubernetes#101350, #139485, still so).
- A name in the path must be a valid path segment (`path.IsValidPathSegmentName`):
  `..` is 400 `Name parameter invalid: "..": may not be '..'`.
"""

from __future__ import annotations

import re

from kubecourse.embedded import status
from kubecourse.embedded.gowire import quote

_DIGITS = re.compile(r"[0-9]+")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _parse(value: str, signed: bool) -> int:
    """`strconv.ParseInt(value, 10, 64)` / `ParseUint`; ValueError in Go's words."""
    name = "ParseInt" if signed else "ParseUint"
    digits = value[1:] if signed and value[:1] in ("+", "-") else value
    if not _DIGITS.fullmatch(digits):
        raise ValueError(f"strconv.{name}: parsing {quote(value)}: invalid syntax")
    number = int(value)
    low, high = _INT64 if signed else (0, (1 << 64) - 1)
    if not low <= number <= high:
        raise ValueError(f"strconv.{name}: parsing {quote(value)}: value out of range")
    return number


def int_param(value: str | None) -> int | None:
    """An int64 query parameter; None when absent, 400 when it does not convert."""
    if value is None:
        return None
    try:
        return _parse(value, signed=True)
    except ValueError as err:
        raise status.bad_request(str(err)) from err


def resource_version(value: str | None) -> int | None:
    """The number in a resourceVersion parameter ("" and "0" mean none)."""
    if value in (None, "", "0"):
        return None
    assert value is not None
    try:
        return _parse(value, signed=False)
    except ValueError as err:
        message = f"resourceVersion: Invalid value: {quote(value)}: {err}"
        raise status.StatusError(500, "", message) from err


def check_name(name: str | None) -> None:
    """`path.IsValidPathSegmentName` for the object name of a request path."""
    if name is None:
        return
    problems = [f"may not be '{name}'"] if name in (".", "..") else []
    problems += [f"may not contain '{c}'" for c in "/%" if c in name]
    if problems:
        raise status.bad_request(
            f"Name parameter invalid: {quote(name)}: {';'.join(problems)}"
        )
