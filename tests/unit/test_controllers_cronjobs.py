"""The CronJob controller, with the controllers' clock moved forward instead of waiting.

Every test advances `Context.clock`; the cluster is this module's own, so the other
modules' Jobs never see a shifted clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers import jobutil
from tests.conftest import CONTROLLER_TIMINGS, InCluster

CRONJOBS = "cronjobs.batch"
JOBS = "jobs.batch"


@pytest.fixture(scope="module")
def kube() -> Iterator[InCluster]:
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = errors.append  # type: ignore[method-assign]
    logger = logging.getLogger("kubecourse.embedded.controllers")
    logger.addHandler(handler)
    try:
        with EmbeddedCluster(ClusterOptions(timings=CONTROLLER_TIMINGS)) as cluster:
            yield InCluster(cluster)
    finally:
        logger.removeHandler(handler)
    assert not errors, [r.getMessage() for r in errors]


def cronjob(
    name: str, schedule: str = "*/1 * * * *", script: str = "echo tick", **spec: Any
) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
    }
    template = {"spec": {"restartPolicy": "Never", "containers": [container]}}
    job_template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"template": template},
    }
    return {
        "metadata": {"name": name},
        "spec": {"schedule": schedule, "jobTemplate": job_template, **spec},
    }


def now(kube: InCluster) -> float:
    return float(kube.cluster.call(kube.cluster.ctx.clock.now))


def advance_past_next_minute(kube: InCluster, extra: float = 1.0) -> float:
    """Move the clock to just after the next minute boundary; that minute, in seconds."""
    current = now(kube)
    boundary = (int(current) // 60 + 1) * 60
    kube.cluster.call(
        lambda: kube.cluster.ctx.clock.advance(boundary - current + extra)
    )
    return float(boundary)


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def settled(kube: InCluster, ns: str, name: str, minute: float) -> bool:
    """The CronJob has scheduled `minute` and that Job has finished."""
    status = kube.get(CRONJOBS, ns, name).get("status") or {}
    return status.get("lastScheduleTime") == stamp(minute) and not status.get("active")


def jobs(kube: InCluster, ns: str) -> list[dict[str, Any]]:
    return sorted(kube.items(JOBS, ns), key=lambda j: j["metadata"]["name"])


def reasons(kube: InCluster, ns: str, name: str) -> list[str]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    found.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [e["reason"] for e in found]


def test_a_job_is_created_for_the_scheduled_minute_and_tracked_until_it_completes(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("schedule")
    created = kube.create(CRONJOBS, ns, cronjob("tick"))
    minute = advance_past_next_minute(kube)

    (job,) = eventually(lambda: jobs(kube, ns), what="the scheduled job")

    assert job["metadata"]["name"] == f"tick-{int(minute) // 60}"
    scheduled = stamp(minute)
    assert (
        job["metadata"]["annotations"][
            "batch.kubernetes.io/cronjob-scheduled-timestamp"
        ]
        == scheduled
    )
    assert job["metadata"]["labels"]["app"] == "tick"
    assert job["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    eventually(
        lambda: kube.get(CRONJOBS, ns, "tick")["status"].get("lastSuccessfulTime"),
        what="success",
    )
    status = kube.get(CRONJOBS, ns, "tick")["status"]
    assert status["lastScheduleTime"] == scheduled and "active" not in status
    assert reasons(kube, ns, "tick")[:2] == ["SuccessfulCreate", "SawCompletedJob"]
    assert jobutil.is_finished(kube.get(JOBS, ns, job["metadata"]["name"]))


def test_forbid_skips_a_time_while_the_previous_job_runs(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("forbid")
    kube.create(
        CRONJOBS, ns, cronjob("busy", script="sleep 600", concurrencyPolicy="Forbid")
    )
    advance_past_next_minute(kube)
    eventually(
        lambda: kube.get(CRONJOBS, ns, "busy")["status"].get("active"),
        what="one active job",
    )

    advance_past_next_minute(kube)

    eventually(
        lambda: "JobAlreadyActive" in reasons(kube, ns, "busy"), what="the skipped time"
    )
    assert len(jobs(kube, ns)) == 1


def test_replace_deletes_the_running_job_and_starts_the_new_one(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("replace")
    kube.create(
        CRONJOBS, ns, cronjob("swap", script="sleep 600", concurrencyPolicy="Replace")
    )
    advance_past_next_minute(kube)
    (first,) = eventually(lambda: jobs(kube, ns), what="the first job")

    second_minute = advance_past_next_minute(kube)

    (second,) = eventually(
        lambda: (
            [
                j
                for j in jobs(kube, ns)
                if j["metadata"]["name"] != first["metadata"]["name"]
            ]
            if len(jobs(kube, ns)) == 1
            else None
        ),
        what="the replacement alone",
    )
    assert second["metadata"]["name"] == f"swap-{int(second_minute) // 60}"
    active = kube.get(CRONJOBS, ns, "swap")["status"]["active"]
    assert [ref["name"] for ref in active] == [second["metadata"]["name"]]
    assert "SuccessfulDelete" in reasons(kube, ns, "swap")


def test_history_limits_keep_only_the_newest_finished_jobs(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("history")
    kube.create(CRONJOBS, ns, cronjob("keep", successfulJobsHistoryLimit=1))
    for _ in range(3):
        minute = advance_past_next_minute(kube)
        eventually(
            lambda m=minute: settled(kube, ns, "keep", m),
            what="that minute's job finished",
        )

    remaining = eventually(
        lambda: jobs(kube, ns) if len(jobs(kube, ns)) == 1 else None,
        what="one job kept",
    )

    assert remaining[0]["metadata"]["name"] == f"keep-{int(minute) // 60}"
    seen = reasons(kube, ns, "keep")
    assert seen.count("SuccessfulDelete") == seen.count("SuccessfulCreate") - 1 >= 2


def test_a_suspended_cronjob_starts_nothing(kube: InCluster, eventually: Any) -> None:
    ns = kube.namespace("paused")
    kube.create(CRONJOBS, ns, cronjob("idle", suspend=True))

    advance_past_next_minute(kube)
    kube.create(
        CRONJOBS, ns, cronjob("probe")
    )  # a neighbour that does run shows time passed
    advance_past_next_minute(kube)

    eventually(
        lambda: [
            j for j in jobs(kube, ns) if j["metadata"]["name"].startswith("probe-")
        ],
        what="the neighbour's job",
    )
    assert not [j for j in jobs(kube, ns) if j["metadata"]["name"].startswith("idle-")]
    assert "lastScheduleTime" not in (
        kube.get(CRONJOBS, ns, "idle").get("status") or {}
    )


def test_a_time_missed_by_more_than_the_starting_deadline_is_skipped(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("deadline")
    advance_past_next_minute(
        kube, extra=30.0
    )  # mid-minute: nothing is due when it is made
    kube.create(CRONJOBS, ns, cronjob("strict", startingDeadlineSeconds=10))

    advance_past_next_minute(kube, extra=30.0)  # 30 s late: beyond the 10 s window
    on_time = advance_past_next_minute(kube, extra=1.0)

    names = eventually(
        lambda: [j["metadata"]["name"] for j in jobs(kube, ns)], what="the on-time job"
    )
    assert names == [f"strict-{int(on_time) // 60}"]


def test_too_many_missed_times_warn_and_start_only_the_latest(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("missed")
    kube.create(CRONJOBS, ns, cronjob("backlog"))
    current = now(kube)
    kube.cluster.call(lambda: kube.cluster.ctx.clock.advance(200 * 60))

    latest = f"backlog-{int(current + 200 * 60) // 60}"
    names = eventually(
        lambda: (
            [j["metadata"]["name"] for j in jobs(kube, ns)]
            if kube.get(JOBS, ns, latest)
            else None
        ),
        what="the latest job",
    )

    assert len(names) <= 2  # the latest, and the one due when it was made: not 200
    eventually(
        lambda: "TooManyMissedTimes" in reasons(kube, ns, "backlog"), what="the warning"
    )
    warning = next(
        e for e in kube.items("events", ns) if e["reason"] == "TooManyMissedTimes"
    )
    assert warning["type"] == "Warning"
    assert (
        warning["message"]
        == "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
    )


def test_a_time_zone_moves_the_schedule_and_the_scheduled_timestamp(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("zone")
    # Half past in Kolkata (UTC+05:30) is the top of the hour in UTC.
    kube.create(
        CRONJOBS, ns, cronjob("india", schedule="30 * * * *", timeZone="Asia/Kolkata")
    )
    current = now(kube)
    hour = (int(current) // 3600 + 1) * 3600
    kube.cluster.call(lambda: kube.cluster.ctx.clock.advance(hour - current + 1))

    job = eventually(
        lambda: kube.get(JOBS, ns, f"india-{hour // 60}"),
        what="the job at the UTC hour",
    )

    assert all(
        int(j["metadata"]["name"].rsplit("-", 1)[1]) % 60 == 0 for j in jobs(kube, ns)
    )
    local = job["metadata"]["annotations"][
        "batch.kubernetes.io/cronjob-scheduled-timestamp"
    ]
    assert local.endswith(":30:00+05:30")


def test_a_job_refused_by_a_quota_is_created_once_the_quota_allows(
    kube: InCluster, eventually: Any
) -> None:
    ns = kube.namespace("cron-quota")
    hard = {"count/jobs.batch": "0"}
    kube.create(
        "resourcequotas", ns, {"metadata": {"name": "q"}, "spec": {"hard": hard}}
    )
    kube.create(CRONJOBS, ns, cronjob("tick"))
    minute = advance_past_next_minute(kube)
    eventually(
        lambda: "FailedCreate" in reasons(kube, ns, "tick"), what="a FailedCreate event"
    )
    assert not jobs(kube, ns)

    kube.patch("resourcequotas", ns, "q", {"spec": {"hard": {"count/jobs.batch": "5"}}})

    (job,) = eventually(lambda: jobs(kube, ns), what="the job, retried")
    assert job["metadata"]["name"] == f"tick-{int(minute) // 60}"
