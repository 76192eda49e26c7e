"""Containers that end, are killed by a probe, and restart; their previous logs."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import containers, podutil, probes


def pod(
    name: str,
    image: str = "busybox:1.36",
    restart: str = "Always",
    annotations: dict[str, str] | None = None,
    **container: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "annotations": annotations or {}}
    spec = {
        "restartPolicy": restart,
        "containers": [{"name": "main", "image": image, **container}],
    }
    return {"metadata": meta, "spec": spec}


def status_of(kube: Any, ns: str, name: str) -> dict[str, Any]:
    found = kube.get("pods", ns, name) or {}
    statuses = (found.get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[0])


def reasons(kube: Any, ns: str, name: str) -> list[str]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    return [e["reason"] for e in sorted(found, key=lambda e: e["metadata"]["name"])]


def test_args_alone_replace_cmd_so_echo_hello_completes(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("once")
    kube.create("pods", ns, pod("once", restart="Never", args=["echo", "hello"]))

    found = eventually(
        lambda: (p := kube.get("pods", ns, "once")) and podutil.is_terminal(p) and p,
        what="the pod to finish",
    )

    assert found["status"]["phase"] == "Succeeded"
    terminated = found["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("Completed", 0)
    assert list(kube.cluster.ctx.logbook[(ns, "once", "main")]) == ["hello"]


def test_a_bare_busybox_under_always_crash_loops_with_growing_restarts(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("bare")
    kube.create("pods", ns, pod("bare"))

    eventually(
        lambda: status_of(kube, ns, "bare").get("restartCount", 0) >= 2, what="restarts"
    )
    eventually(
        lambda: "CrashLoopBackOff" in str(status_of(kube, ns, "bare").get("state")),
        what="CrashLoopBackOff",
    )

    entry = status_of(kube, ns, "bare")
    last = entry["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Completed", 0)
    assert entry["state"]["waiting"]["message"].startswith("back-off ")
    assert kube.get("pods", ns, "bare")["status"]["phase"] == "Running"
    assert "BackOff" in reasons(kube, ns, "bare")


def test_a_failing_liveness_probe_kills_and_restarts_the_container(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("liveness")
    probe = {
        "httpGet": {"path": "/", "port": 80},
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    annotations = {probes.LIVENESS_ANNOTATION: "fail"}
    kube.create(
        "pods",
        ns,
        pod("web", "nginx:1.27", annotations=annotations, livenessProbe=probe),
    )

    eventually(
        lambda: status_of(kube, ns, "web").get("restartCount", 0) >= 1, timeout=15
    )

    last = status_of(kube, ns, "web")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Error", 137)
    events = [
        e for e in kube.items("events", ns) if e["involvedObject"]["name"] == "web"
    ]
    unhealthy = next(e for e in events if e["reason"] == "Unhealthy")
    assert (
        unhealthy["message"]
        == "Liveness probe failed: HTTP probe failed with statuscode: 500"
    )
    assert unhealthy["count"] >= 2
    killing = next(e for e in events if e["reason"] == "Killing")
    assert (
        killing["message"] == "Container main failed liveness probe, will be restarted"
    )
    assert unhealthy["involvedObject"]["fieldPath"] == "spec.containers{main}"


def test_a_startup_probe_holds_started_and_ready_until_it_passes(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("startup")
    probe = {"exec": {"command": ["true"]}, "initialDelaySeconds": 1}
    kube.create("pods", ns, pod("slow", "nginx:1.27", startupProbe=probe))

    early = eventually(lambda: "running" in status_of(kube, ns, "slow").get("state", {})
                       and status_of(kube, ns, "slow"))  # fmt: skip
    assert (early["started"], early["ready"]) == (False, False)
    later = eventually(
        lambda: status_of(kube, ns, "slow").get("ready") and status_of(kube, ns, "slow")
    )
    assert later["started"] is True


def test_the_previous_run_of_a_restarted_container_keeps_its_log(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("previous")
    script = "echo run $(hostname); sleep 0.3; exit 2"
    kube.create(
        "pods", ns, pod("flaky", restart="OnFailure", command=["sh", "-c", script])
    )

    eventually(lambda: status_of(kube, ns, "flaky").get("restartCount", 0) >= 1)

    previous = kube.cluster.ctx.previous_logs[(ns, "flaky", "main")]
    assert list(previous) == ["run flaky"]
    assert status_of(kube, ns, "flaky")["lastState"]["terminated"]["exitCode"] == 2


def test_pod_status_and_conditions_carry_the_observed_generation(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("generation")
    kube.create("pods", ns, pod("web", "nginx:1.27"))
    found = eventually(
        lambda: (p := kube.get("pods", ns, "web")) and podutil.is_ready(p) and p
    )

    generation = found["metadata"]["generation"]
    assert found["status"]["observedGeneration"] == generation
    assert {c["observedGeneration"] for c in found["status"]["conditions"]} == {
        generation
    }


def test_crash_loop_back_off_doubles_up_to_its_cap() -> None:
    delays = [containers.restart_delay(n, 10, 300) for n in range(8)]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]


def test_a_liveness_probe_counts_its_failures_from_when_it_started_failing() -> None:
    killer = probes.Killer("Liveness", delay=5, period=10, threshold=3, detail="x")
    assert killer.kill_at(started=100, since=100) == 100 + 5 + 30
    assert killer.kill_at(started=100, since=200) == 200 + 30  # failing from later on


def test_the_deployment_copies_its_annotations_to_the_new_replica_set(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("annotated")
    labels = {"app": "cc"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }
    body = {"metadata": {"name": "cc"}, "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}}  # fmt: skip
    kube.create("deployments.apps", ns, body)
    eventually(lambda: kube.items("replicasets.apps", ns))

    cause = {
        "kubernetes.io/change-cause": "initial",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    kube.patch("deployments.apps", ns, "cc", {"metadata": {"annotations": cause}})

    def annotations() -> dict[str, str] | None:
        (rs,) = kube.items("replicasets.apps", ns)
        found = rs["metadata"].get("annotations") or {}
        return found if "kubernetes.io/change-cause" in found else None

    copied = eventually(annotations, what="the change-cause on the ReplicaSet")
    assert copied["kubernetes.io/change-cause"] == "initial"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in copied
    assert copied["deployment.kubernetes.io/revision"] == "1"


def test_a_new_image_on_a_running_pod_restarts_its_container(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("newimage")
    kube.create("pods", ns, pod("web", "nginx:1.27"))
    eventually(lambda: status_of(kube, ns, "web").get("ready"), what="ready")
    pods = kube.cluster.api.registry.get("pods")

    def set_image(image: str) -> None:
        fix = {"spec": {"containers": [{"name": "main", "image": image}]}}
        kube.cluster.call(
            lambda: kube.cluster.api.patch(pods, ns, "web", "strategic", fix)
        )

    set_image("nginx:1.28")
    moved = eventually(
        lambda: (
            (s := status_of(kube, ns, "web")).get("ready")
            and s["image"].endswith("nginx:1.28")
            and s
        )
    )
    assert moved["restartCount"] == 1
    assert "Killing" in reasons(kube, ns, "web")

    set_image("nginx:doesnotexist-9999")
    stuck = eventually(
        lambda: (
            (s := status_of(kube, ns, "web")).get("state", {}).get("waiting")
            and s["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")
            and s
        )
    )
    assert stuck["restartCount"] == 2 and "terminated" in stuck["lastState"]
