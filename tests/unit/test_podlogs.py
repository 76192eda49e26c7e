"""The rules of the `log` subresource that need a pod in a particular state."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded import podlogs
from kubecourse.embedded.status import StatusError


def pod(**state: Any) -> dict[str, Any]:
    statuses = [{"name": "web", **state}] if state else []
    return {
        "metadata": {"name": "web-1"},
        "spec": {"nodeName": "kubecourse-worker", "containers": [{"name": "web"}]},
        "status": {"containerStatuses": statuses},
    }


def refusal(target: dict[str, Any], previous: bool = False) -> str:
    with pytest.raises(StatusError) as refused:
        podlogs.check_readable(target, "web", previous)
    assert refused.value.code == 400
    return refused.value.message


def test_a_creating_container_is_waiting_to_start_with_its_reason() -> None:
    creating = pod(state={"waiting": {"reason": "ContainerCreating"}})

    assert (
        refusal(creating)
        == 'container "web" in pod "web-1" is waiting to start: ContainerCreating'
    )


def test_a_container_without_status_is_not_available() -> None:
    assert refusal(pod()) == 'container "web" in pod "web-1" is not available'


def test_previous_logs_need_an_earlier_terminated_run() -> None:
    running = pod(state={"running": {"startedAt": "2026-12-04T18:00:00Z"}})

    assert (
        refusal(running, previous=True)
        == 'previous terminated container "web" in pod "web-1" not found'
    )
    podlogs.check_readable(running, "web", previous=False)


def test_running_and_terminated_containers_have_logs() -> None:
    podlogs.check_readable(pod(state={"running": {}}), "web", False)
    podlogs.check_readable(pod(state={"terminated": {"exitCode": 0}}), "web", False)


def test_stamps_always_have_nine_fractional_digits() -> None:
    assert podlogs.stamp(1_800_000_000.0) == "2027-01-15T08:00:00.000000000Z"
    assert podlogs.stamp(1_800_000_000.25) == "2027-01-15T08:00:00.250000000Z"


def test_both_since_options_at_once_are_forbidden() -> None:
    query = {"sinceSeconds": "5", "sinceTime": "2026-12-04T18:00:00Z"}

    with pytest.raises(StatusError) as refused:
        podlogs.parse_options(query, "web-1")

    assert refused.value.code == 422
    assert (
        "at most one of `sinceTime` or `sinceSeconds` may be specified"
        in refused.value.message
    )


def test_select_applies_since_before_tail() -> None:
    entries = [(float(t), f"line {t}") for t in range(10)]
    options = podlogs.LogOptions(since_seconds=5, tail_lines=2)

    assert podlogs.select(entries, options, now=10.0) == [
        (8.0, "line 8"),
        (9.0, "line 9"),
    ]
    assert podlogs.select(entries, podlogs.LogOptions(since_seconds=3), now=10.0)[
        0
    ] == (7.0, "line 7")


def test_a_container_whose_image_cannot_be_pulled_says_so_in_the_kubelets_words() -> (
    None
):
    pulling = pod(state={"waiting": {"reason": "ErrImagePull"}})
    backing_off = pod(state={"waiting": {"reason": "ImagePullBackOff"}})

    assert refusal(pulling).endswith("is waiting to start: image can't be pulled")
    assert refusal(backing_off).endswith(
        "is waiting to start: trying and failing to pull image"
    )


def test_a_crash_looping_container_shows_its_last_run_and_that_ended() -> None:
    last = {"terminated": {"exitCode": 1, "containerID": "containerd://abc"}}
    looping = pod(state={"waiting": {"reason": "CrashLoopBackOff"}}, lastState=last)

    podlogs.check_readable(looping, "web", previous=False)
    podlogs.check_readable(looping, "web", previous=True)
    assert podlogs.has_ended(looping, "web")
