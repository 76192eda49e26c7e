"""Cron schedules as Kubernetes reads them (`robfig/cron/v3` `ParseStandard`).

Faithful: five fields (minute, hour, day of month, month, day of week) of lists,
ranges, steps (`N/s` means `N-max/s`), `*` and `?`, names (`JAN`-`DEC`, `SUN`-`SAT`,
any case), the macros `@yearly` / `@annually`, `@monthly`, `@weekly`, `@daily` /
`@midnight`, `@hourly` and `@every <duration>`, the `TZ=` / `CRON_TZ=` prefix; the
parser's own error messages (`expected exactly 5 fields, found 1: [bad]`, `end of
range (70) above maximum (59): 0-70`, `failed to parse int from x: strconv.Atoi:
parsing "x": invalid syntax`, ...), which the API server returns as they are; the
day rule (when day of month or day of week is `*`, both must match, otherwise either);
`next()` strictly after a moment, in a time zone (IANA names through `zoneinfo`).

Simplified: the wall clock is walked as zoneinfo maps it, so a time skipped or repeated
by a daylight-saving change fires as zoneinfo places it (robfig has its own rules), and
`@every` is measured from the moment given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CronError(ValueError):
    """A schedule the parser refuses; the message is robfig's."""


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


MONTH_NAMES = {
    n: i + 1
    for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())
}
DAY_NAMES = {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}
MINUTES, HOURS = Bounds(0, 59), Bounds(0, 23)
DAYS, MONTHS, WEEKDAYS = (
    Bounds(1, 31),
    Bounds(1, 12, MONTH_NAMES),
    Bounds(0, 6, DAY_NAMES),
)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SEARCH_YEARS = 5  # robfig gives up after five years without a match


@dataclass(frozen=True)
class Field:
    values: frozenset[int]
    star: bool  # `*` or `?` without a step: the day rule treats it as "any"


@dataclass(frozen=True)
class Schedule:
    minute: Field
    hour: Field
    day: Field
    month: Field
    weekday: Field
    zone: timezone | ZoneInfo = timezone.utc
    every: float = 0.0  # seconds, for `@every`

    def next(
        self, after: datetime, zone: timezone | ZoneInfo | None = None
    ) -> datetime | None:
        """The first activation strictly after `after` (aware), in UTC; None if none
        within five years (an impossible date such as 30 February)."""
        if self.every:
            return after.astimezone(timezone.utc) + timedelta(seconds=self.every)
        tz = zone or self.zone
        local = after.astimezone(tz)
        start = local.replace(second=0, microsecond=0, tzinfo=None) + timedelta(
            minutes=1
        )
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * SEARCH_YEARS):
            if day.month in self.month.values and self._day_matches(day):
                found = self._first_in_day(day, start)
                if found is not None:
                    return found.replace(tzinfo=tz).astimezone(timezone.utc)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: datetime) -> bool:
        in_month = day.day in self.day.values
        in_week = (day.isoweekday() % 7) in self.weekday.values
        if self.day.star or self.weekday.star:
            return in_month and in_week
        return in_month or in_week

    def _first_in_day(self, day: datetime, start: datetime) -> datetime | None:
        for hour in sorted(self.hour.values):
            for minute in sorted(self.minute.values):
                moment = day.replace(hour=hour, minute=minute)
                if moment >= start:
                    return moment
        return None


def parse(spec: str) -> Schedule:
    """Parse a standard schedule or raise CronError with the upstream message."""
    if not spec:
        raise CronError("empty spec string")
    zone: timezone | ZoneInfo = timezone.utc
    if spec.startswith(("TZ=", "CRON_TZ=")):
        zone, spec = _zone_prefix(spec)
    if spec.startswith("@"):
        return _descriptor(spec, zone)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(
            f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
        )
    bounds = (MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS)
    minute, hour, day, month, weekday = (
        _field(text, b) for text, b in zip(fields, bounds, strict=True)
    )
    return Schedule(minute, hour, day, month, weekday, zone)


def error(spec: str) -> str | None:
    """The parser's message for a bad schedule, or None."""
    try:
        parse(spec)
    except CronError as err:
        return str(err)
    return None


def load_zone(name: str) -> ZoneInfo:
    """An IANA zone, or CronError with Go's `unknown time zone X`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise CronError(f"unknown time zone {name}") from err


def _zone_prefix(spec: str) -> tuple[ZoneInfo, str]:
    space = spec.find(" ")
    name = spec[spec.index("=") + 1 : space if space >= 0 else len(spec)]
    try:
        zone = load_zone(name)
    except CronError as err:
        raise CronError(f"provided bad location {name}: {err}") from err
    return zone, spec[space:].strip() if space >= 0 else ""


def _descriptor(spec: str, zone: timezone | ZoneInfo) -> Schedule:
    if spec in MACROS:
        return _with_zone(parse(MACROS[spec]), zone)
    if spec.startswith("@every "):
        seconds = go_duration(spec[len("@every ") :], spec)
        minute, hour, day, month, weekday = (
            _field("*", b) for b in (MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS)
        )
        return Schedule(
            minute, hour, day, month, weekday, zone, max(float(int(seconds)), 1.0)
        )
    raise CronError(f"unrecognized descriptor: {spec}")


def _with_zone(schedule: Schedule, zone: timezone | ZoneInfo) -> Schedule:
    return Schedule(
        schedule.minute,
        schedule.hour,
        schedule.day,
        schedule.month,
        schedule.weekday,
        zone,
    )


def _field(text: str, bounds: Bounds) -> Field:
    values: set[int] = set()
    star = False
    for expr in (part for part in text.split(",") if part):
        found, is_star = _range(expr, bounds)
        values |= found
        star = star or is_star
    return Field(frozenset(values), star)


def _range(expr: str, bounds: Bounds) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = low_and_high[0] in ("*", "?")
    if star:
        start, end = bounds.low, bounds.high
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) > 2:
            raise CronError(f"too many hyphens: {expr}")
        end = (
            _int_or_name(low_and_high[1], bounds.names)
            if len(low_and_high) == 2
            else start
        )

    step = 1
    if len(range_and_step) > 2:
        raise CronError(f"too many slashes: {expr}")
    if len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if len(low_and_high) == 1:
            end = bounds.high  # "N/step" means "N-max/step"
        star = star and step <= 1

    _check_range(expr, start, end, step, bounds)
    return set(range(start, end + 1, step)), star


def _check_range(expr: str, start: int, end: int, step: int, bounds: Bounds) -> None:
    if start < bounds.low:
        raise CronError(
            f"beginning of range ({start}) below minimum ({bounds.low}): {expr}"
        )
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(
            f"beginning of range ({start}) beyond end of range ({end}): {expr}"
        )
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _int(expr)


_GO_INT = re.compile(r"^[+-]?[0-9]+$")


def _int(expr: str) -> int:
    """Go's strconv.Atoi, with its error text."""
    if not _GO_INT.match(expr):
        raise CronError(
            f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax'
        )
    value = int(expr)
    if value < 0:
        raise CronError(f"negative number ({value}) not allowed: {expr}")
    return value


_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def go_duration(text: str, spec: str) -> float:
    """Go's time.ParseDuration (`1h30m`, `90s`), in seconds."""
    body = text[1:] if text[:1] in "+-" else text
    parts = _DURATION_PART.findall(body)
    if not body or "".join(number + unit for number, unit in parts) != body:
        raise CronError(
            f'failed to parse duration {spec}: time: invalid duration "{text}"'
        )
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return -seconds if text.startswith("-") else seconds
