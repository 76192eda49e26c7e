"""Resource quantities, exactly: parsing (`"250m"`, `"1.5"`, `"128Mi"`) and the canonical
form a Go `resource.Quantity` prints.

Faithful to `k8s.io/apimachinery/pkg/api/resource`: a decimal quantity is printed with
the largest power-of-1000 suffix that keeps its mantissa whole (`12000000n` is `12m`,
`1500m` stays `1500m`, `2000m` is `2`); a binary one (memory) with the largest
power-of-1024 suffix (`3145728` is `3Mi`), falling back to the decimal form when it is
not a whole number of bytes or is below 1024; `MilliValue()` rounds up.  The metrics
API prints CPU this way from nanocores (`12345678n`) and memory from bytes (`3052Ki`).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_BY_EXPONENT = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BY_POWER = {power: suffix for suffix, power in _BINARY_SUFFIXES.items()}
_PATTERN = re.compile(
    r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([eE][+-]?[0-9]+|[a-zA-Z]*)$"
)


def parse(text: object) -> Fraction:
    """A quantity as an exact number; ValueError names what does not parse."""
    match = _PATTERN.match(str(text).strip())
    if match is None:
        raise ValueError(
            f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text!r}"
        )
    number, suffix = match.groups()
    try:
        value = Fraction(Decimal(number))
    except InvalidOperation as err:
        raise ValueError(f"unable to parse quantity's suffix: {text!r}") from err
    if suffix[:1] in ("e", "E"):
        return value * _power_of_ten(int(suffix[1:]))
    if suffix in _BINARY_SUFFIXES:
        return value * Fraction(1024 ** _BINARY_SUFFIXES[suffix])
    if suffix in _DECIMAL_SUFFIXES:
        return value * _power_of_ten(_DECIMAL_SUFFIXES[suffix])
    raise ValueError(f"unable to parse quantity's suffix: {text!r}")


def _power_of_ten(exponent: int) -> Fraction:
    return Fraction(10**exponent) if exponent >= 0 else Fraction(1, 10**-exponent)


def milli_value(text: object) -> int:
    """`Quantity.MilliValue()`: thousandths, rounded up (`"100m"` -> 100, `"1"` -> 1000)."""
    return math.ceil(parse(text) * 1000)


def from_nano(nanos: int) -> str:
    """A decimal quantity given in billionths (CPU nanocores), canonically printed."""
    return _decimal(int(nanos), -9)


def from_milli(millis: int, binary: bool = False) -> str:
    """`resource.NewMilliQuantity(millis, DecimalSI or BinarySI).String()`."""
    if binary and millis % 1000 == 0:
        return from_bytes(millis // 1000)
    return _decimal(int(millis), -3)


def from_bytes(count: int) -> str:
    """A binary quantity of whole bytes (memory), canonically printed."""
    count = int(count)
    if -1024 < count < 1024:
        return _decimal(count, 0)
    mantissa, power = count, 0
    while mantissa % 1024 == 0 and power < 6:
        mantissa //= 1024
        power += 1
    return f"{mantissa}{_BY_POWER.get(power, '')}"


def _decimal(mantissa: int, exponent: int) -> str:
    if mantissa == 0:
        return "0"
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    while exponent > 18:
        mantissa *= 1000
        exponent -= 3
    return f"{mantissa}{_BY_EXPONENT[exponent]}"


def is_binary(text: object) -> bool:
    """Whether a quantity is written with a power-of-1024 suffix (`Mi`, `Gi`...)."""
    match = _PATTERN.match(str(text).strip())
    return match is not None and match.group(2) in _BINARY_SUFFIXES


def format_value(value: Fraction, binary: bool) -> str:
    """An exact amount printed as a Go Quantity of that format prints it (rounded up
    to a billionth, as Quantity keeps nine decimal places)."""
    if binary and value.denominator == 1:
        return from_bytes(int(value))
    return _decimal(math.ceil(value * 10**9), -9)


def canonical(text: object) -> str:
    """`resource.MustParse(text).String()`: `1000m` is `1`, `1024Mi` is `1Gi`,
    `0.5` is `500m`.  ValueError when `text` is not a quantity."""
    return format_value(parse(text), is_binary(text))
