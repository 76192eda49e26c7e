"""The Job and TTL-after-finished controllers, with the kubelet running the pods."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import jobutil, podutil

JOBS = "jobs.batch"


def job(name: str, script: str, restart: str = "Never", **spec: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
    }
    template = {"spec": {"restartPolicy": restart, "containers": [container]}}
    return {"metadata": {"name": name}, "spec": {"template": template, **spec}}


def condition_types(found: dict[str, Any]) -> list[str]:
    return [c["type"] for c in (found.get("status") or {}).get("conditions") or []]


def finished(kube: Any, ns: str, name: str) -> dict[str, Any] | None:
    found = kube.get(JOBS, ns, name)
    return found if found and jobutil.is_finished(found) else None


def job_pods(kube: Any, ns: str, name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in kube.items("pods", ns)
        if (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name")
        == name
    ]


def events(kube: Any, ns: str, name: str) -> list[tuple[str, str, str]]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    found.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["type"], e["reason"], e["message"]) for e in found]


def test_job_runs_its_pod_to_completion_and_reports_succeeded(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("complete")
    created = kube.create(JOBS, ns, job("hello", "echo hi; sleep 0.3"))

    done = eventually(lambda: finished(kube, ns, "hello"), what="a finished job")

    status = done["status"]
    assert condition_types(done) == ["SuccessCriteriaMet", "Complete"]
    assert {c["reason"] for c in status["conditions"]} == {"CompletionsReached"}
    assert {c["message"] for c in status["conditions"]} == {
        "Reached expected number of succeeded pods"
    }
    assert (
        status["succeeded"] == 1 and "failed" not in status and "active" not in status
    )
    assert status["completionTime"] == status["conditions"][1]["lastTransitionTime"]
    assert status["startTime"] and status["uncountedTerminatedPods"] == {}
    assert (status["ready"], status["terminating"]) == (0, 0)
    assert done["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "hello"
    (pod,) = job_pods(kube, ns, "hello")
    assert (
        pod["metadata"]["name"].startswith("hello-")
        and len(pod["metadata"]["name"]) == 11
    )
    assert pod["metadata"]["labels"]["controller-uid"] == created["metadata"]["uid"]
    assert pod["metadata"]["ownerReferences"][0]["controller"] is True
    assert "finalizers" not in pod["metadata"]  # counted, so released
    assert pod["status"]["phase"] == "Succeeded"
    assert kube.cluster.ctx.logbook[(ns, pod["metadata"]["name"], "main")] == ["hi"]
    assert events(kube, ns, "hello") == [
        ("Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}"),
        ("Normal", "Completed", "Job completed"),
    ]


def test_a_running_job_pod_carries_the_tracking_finalizer(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("tracking")
    kube.create(JOBS, ns, job("slow", "sleep 30"))

    running = eventually(
        lambda: [
            p
            for p in job_pods(kube, ns, "slow")
            if (p.get("status") or {}).get("phase") == "Running"
        ],
        what="a running job pod",
    )

    assert running[0]["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    status = eventually(
        lambda: (kube.get(JOBS, ns, "slow") or {}).get("status", {}).get("ready"),
        what="ready",
    )
    assert status == 1
    assert kube.get(JOBS, ns, "slow")["status"]["active"] == 1


def test_parallel_job_keeps_at_most_parallelism_pods_until_completions(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("parallel")
    most: list[int] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            most.append(
                sum(
                    1
                    for p in kube.cluster.store.items("pods", ns)
                    if podutil.is_active(p)
                )
            )

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.create(JOBS, ns, job("batch", "sleep 0.2", completions=4, parallelism=2))

    done = eventually(lambda: finished(kube, ns, "batch"), what="four completions")

    assert done["status"]["succeeded"] == 4
    assert len(job_pods(kube, ns, "batch")) == 4
    assert max(most) == 2


def test_indexed_job_names_pods_by_index_and_records_completed_indexes(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("indexed")
    spec = {"completions": 3, "parallelism": 3, "completionMode": "Indexed"}
    kube.create(JOBS, ns, job("shard", "echo shard $JOB_COMPLETION_INDEX", **spec))

    done = eventually(lambda: finished(kube, ns, "shard"), what="three indexes")

    assert (
        done["status"]["completedIndexes"] == "0-2" and done["status"]["succeeded"] == 3
    )
    pods = sorted(job_pods(kube, ns, "shard"), key=lambda p: p["metadata"]["name"])
    for index, pod in enumerate(pods):
        meta = pod["metadata"]
        assert meta["name"].startswith(f"shard-{index}-")
        assert meta["annotations"]["batch.kubernetes.io/job-completion-index"] == str(
            index
        )
        assert meta["labels"]["batch.kubernetes.io/job-completion-index"] == str(index)
        assert pod["spec"]["hostname"] == f"shard-{index}"
        env = pod["spec"]["containers"][0]["env"]
        assert env[-1]["name"] == "JOB_COMPLETION_INDEX"
        assert kube.cluster.ctx.logbook[(ns, meta["name"], "main")] == [
            f"shard {index}"
        ]


def test_failed_pods_are_replaced_until_the_backoff_limit_then_the_job_fails(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("backoff")
    kube.create(JOBS, ns, job("flaky", "echo no; exit 3", backoffLimit=2))

    done = eventually(lambda: finished(kube, ns, "flaky"), what="a failed job")

    assert condition_types(done) == ["FailureTarget", "Failed"]
    failed = done["status"]["conditions"][1]
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert done["status"]["failed"] == 3 and "completionTime" not in done["status"]
    pods = job_pods(kube, ns, "flaky")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
    assert events(kube, ns, "flaky")[-1] == (
        "Warning",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )


def test_pod_failure_back_off_doubles_from_the_last_failure_and_is_capped() -> None:
    record = jobutil.Backoff(failures=1, last_failure=100.0)
    assert record.remaining(103.0, 10.0, 600.0) == 7.0
    assert (
        jobutil.Backoff(failures=3, last_failure=100.0).remaining(100.0, 10.0, 600.0)
        == 40.0
    )
    assert (
        jobutil.Backoff(failures=12, last_failure=100.0).remaining(100.0, 10.0, 600.0)
        == 600.0
    )
    assert jobutil.Backoff().remaining(100.0, 10.0, 600.0) == 0.0


def test_on_failure_restarts_the_container_in_place_until_restarts_reach_the_limit(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("onfailure")
    kube.create(JOBS, ns, job("retry", "exit 1", restart="OnFailure", backoffLimit=3))
    restarted = eventually(
        lambda: [
            p
            for p in job_pods(kube, ns, "retry")
            if podutil.restart_count(p) >= 1
            and p["status"]["containerStatuses"][0]["lastState"]
        ],
        what="a restarted container",
    )

    (status,) = restarted[0]["status"]["containerStatuses"]
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert restarted[0]["status"]["phase"] == "Running"
    done = eventually(lambda: finished(kube, ns, "retry"), what="the restart limit")
    assert done["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    assert (
        len([e for e in events(kube, ns, "retry") if e[1] == "SuccessfulCreate"]) == 1
    )
    pod_name = restarted[0]["metadata"]["name"]
    assert ("Warning", "BackOff") in [(t, r) for t, r, _ in events(kube, ns, pod_name)]


def test_active_deadline_fails_the_job_and_deletes_its_pod(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("deadline")
    kube.create(JOBS, ns, job("late", "sleep 600", activeDeadlineSeconds=1))

    done = eventually(lambda: finished(kube, ns, "late"), what="the deadline")

    failed = done["status"]["conditions"][-1]
    assert (failed["reason"], failed["message"]) == (
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    assert done["status"]["failed"] == 1
    eventually(lambda: not job_pods(kube, ns, "late"), what="the pod deleted")
    reasons = [r for _, r, _ in events(kube, ns, "late")]
    assert reasons == ["SuccessfulCreate", "SuccessfulDelete", "DeadlineExceeded"]


def test_a_suspended_job_makes_no_pods_until_it_is_resumed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("suspend")
    kube.create(JOBS, ns, job("later", "echo go", suspend=True))
    suspended = eventually(
        lambda: "Suspended" in condition_types(kube.get(JOBS, ns, "later")),
        what="Suspended",
    )

    assert suspended and not job_pods(kube, ns, "later")
    assert "startTime" not in kube.get(JOBS, ns, "later")["status"]
    kube.patch(JOBS, ns, "later", {"spec": {"suspend": False}})
    done = eventually(lambda: finished(kube, ns, "later"), what="the resumed job")

    suspend = next(c for c in done["status"]["conditions"] if c["type"] == "Suspended")
    assert (suspend["status"], suspend["reason"], suspend["message"]) == (
        "False",
        "JobResumed",
        "Job resumed",
    )
    # manageJob creates the pods before the Resumed event, as upstream
    assert [r for _, r, _ in events(kube, ns, "later")][:3] == [
        "Suspended",
        "SuccessfulCreate",
        "Resumed",
    ]


def test_a_job_without_completions_is_done_when_one_pod_succeeds(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("workqueue")
    kube.create(JOBS, ns, job("queue", "sleep 0.2", parallelism=2))

    done = eventually(lambda: finished(kube, ns, "queue"), what="the work queue")

    assert done["status"]["succeeded"] == 2 and len(job_pods(kube, ns, "queue")) == 2
    assert condition_types(done)[-1] == "Complete"


def test_ttl_after_finished_deletes_the_job_and_its_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ttl")
    kube.create(JOBS, ns, job("once", "echo done", ttlSecondsAfterFinished=0))

    eventually(lambda: kube.get(JOBS, ns, "once") is None, what="the job deleted")
    eventually(lambda: not job_pods(kube, ns, "once"), what="its pod collected")


def test_deleting_a_running_job_releases_and_removes_its_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("jobdelete")
    kube.create(JOBS, ns, job("long", "sleep 600"))
    eventually(
        lambda: [p for p in job_pods(kube, ns, "long") if podutil.is_ready(p)],
        what="running",
    )

    rt = kube.cluster.api.registry.get(JOBS)
    kube.cluster.call(
        lambda: kube.cluster.api.delete(rt, ns, "long", propagation_policy="Background")
    )  # as kubectl deletes a Job

    eventually(
        lambda: not job_pods(kube, ns, "long"), what="the pod finalized and gone"
    )


def test_a_job_deleted_without_a_policy_orphans_its_pods_and_releases_them(
    kube: Any, eventually: Any
) -> None:
    """batch/v1's default is to orphan: the pods stay, and the Job controller takes its
    tracking finalizer off them so they can be deleted later."""
    ns = kube.namespace("joborphan")
    kube.create(JOBS, ns, job("left", "sleep 600"))
    eventually(
        lambda: [p for p in job_pods(kube, ns, "left") if podutil.is_ready(p)],
        what="running",
    )

    kube.delete(JOBS, ns, "left")

    def released() -> list[dict[str, Any]]:
        pods = job_pods(kube, ns, "left")
        return [
            p
            for p in pods
            if not p["metadata"].get("finalizers")
            and not p["metadata"].get("ownerReferences")
        ]

    (pod,) = eventually(released, what="the orphaned pod without its finalizer")
    assert not podutil.is_terminating(pod)
