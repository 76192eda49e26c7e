"""Cron schedules read as kube-apiserver and the CronJob controller read them (robfig/cron)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubecourse.embedded import cron, validation

# A Saturday, 10:07:30 UTC.
SATURDAY = datetime(2026, 12, 5, 10, 7, 30, tzinfo=timezone.utc)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("*/15 * * * *", at(2026, 12, 5, 10, 15)),
        ("5,35 * * * *", at(2026, 12, 5, 10, 35)),
        ("0 9-17 * * MON-FRI", at(2026, 12, 7, 9, 0)),
        ("0 0 1 JAN *", at(2027, 1, 1, 0, 0)),
        ("30 12 * * sun", at(2026, 12, 6, 12, 30)),
        ("10/20 * * * *", at(2026, 12, 5, 10, 10)),
        ("@hourly", at(2026, 12, 5, 11, 0)),
        ("@daily", at(2026, 12, 6, 0, 0)),
        ("@weekly", at(2026, 12, 6, 0, 0)),
        ("@monthly", at(2027, 1, 1, 0, 0)),
        ("@yearly", at(2027, 1, 1, 0, 0)),
    ],
)
def test_next_activation_follows_ranges_steps_lists_names_and_macros(
    schedule: str, expected: datetime
) -> None:
    assert cron.parse(schedule).next(SATURDAY) == expected


def test_a_day_matches_either_field_unless_one_is_a_star() -> None:
    either = cron.parse("0 12 13 * FRI")
    both = cron.parse("0 12 * * FRI")

    assert either.next(SATURDAY) == at(2026, 12, 11, 12, 0)  # Friday before the 13th
    assert both.next(at(2026, 12, 11, 12, 0)) == at(2026, 12, 18, 12, 0)


def test_next_is_strictly_after_and_reads_the_time_zone() -> None:
    every_minute = cron.parse("* * * * *")
    paris = cron.load_zone("Europe/Paris")

    assert every_minute.next(at(2026, 12, 5, 10, 7)) == at(2026, 12, 5, 10, 8)
    assert cron.parse("30 6 * * *").next(SATURDAY, paris) == at(2026, 12, 6, 5, 30)


def test_an_impossible_date_has_no_next_time() -> None:
    assert cron.parse("0 0 30 2 *").next(SATURDAY) is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("bad", "expected exactly 5 fields, found 1: [bad]"),
        ("0-70 * * * *", "end of range (70) above maximum (59): 0-70"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        (
            "x * * * *",
            'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax',
        ),
        ("@often", "unrecognized descriptor: @often"),
        ("", "empty spec string"),
    ],
)
def test_bad_schedules_give_the_parser_message(schedule: str, message: str) -> None:
    assert cron.error(schedule) == message


def test_validation_refuses_tz_in_the_schedule_and_unknown_zones() -> None:
    cronjob = {
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "CRON_TZ=UTC 0 * * * *",
            "timeZone": "Mars/Olympus",
            "concurrencyPolicy": "Allow",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox"}],
                        }
                    }
                }
            },
        },
    }

    causes = {c["field"]: c["message"] for c in validation.validate_cronjob(cronjob)}

    assert causes["spec.schedule"] == (
        'Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead"
    )
    assert causes["spec.timeZone"] == (
        'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'
    )
