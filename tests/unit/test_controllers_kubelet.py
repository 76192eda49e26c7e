"""The simulated kubelet: pod status as a real kubelet reports it, probes, logs, stop."""

from __future__ import annotations

import re
import time
from typing import Any

from kubecourse.embedded.controllers import images, podutil
from kubecourse.embedded.controllers.images import ContainerLog, parse_script


def pod(
    name: str,
    image: str = "nginx:1.27-alpine",
    annotations: dict[str, str] | None = None,
    **container: Any,
) -> dict[str, Any]:
    restart = container.pop("restartPolicy", "Always")
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    spec = {
        "restartPolicy": restart,
        "containers": [{"name": "main", "image": image, **container}],
    }
    return {"metadata": meta, "spec": spec}


def ready(kube: Any, ns: str, name: str) -> dict[str, Any] | None:
    found = kube.get("pods", ns, name)
    return found if found and podutil.is_ready(found) else None


def reasons(kube: Any, ns: str, name: str) -> list[str]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    found.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [e["reason"] for e in found]


def test_running_pod_reports_complete_container_status_and_conditions(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("status")
    kube.create("pods", ns, pod("web"))

    found = eventually(lambda: ready(kube, ns, "web"), what="a ready pod")

    (status,) = found["status"]["containerStatuses"]
    assert status["image"] == "docker.io/library/nginx:1.27-alpine"
    assert re.fullmatch(
        r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", status["imageID"]
    )
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", status["containerID"])
    assert (status["ready"], status["started"], status["restartCount"]) == (
        True,
        True,
        0,
    )
    assert "startedAt" in status["state"]["running"]
    types = [c["type"] for c in found["status"]["conditions"]]
    assert types == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert all(c["status"] == "True" for c in found["status"]["conditions"])
    assert found["status"]["startTime"] and found["status"]["qosClass"] == "BestEffort"


def test_kubelet_events_follow_pull_create_start_order_from_the_node(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("events")
    kube.create("pods", ns, pod("web", image="traefik/whoami"))
    found = eventually(lambda: ready(kube, ns, "web"), what="a ready pod")

    assert reasons(kube, ns, "web") == [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
    ]
    started = [e for e in kube.items("events", ns) if e["reason"] == "Started"][0]
    assert started["message"] == "Started container main"
    assert started["source"] == {
        "component": "kubelet",
        "host": found["spec"]["nodeName"],
    }


def test_pod_waits_in_container_creating_before_it_runs(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("creating")
    seen: list[dict[str, Any]] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            seen.append(change.obj)

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.create("pods", ns, pod("web"))
    eventually(lambda: ready(kube, ns, "web"), what="a ready pod")

    pending = [
        p
        for p in seen
        if p["status"].get("hostIP") and p["status"]["phase"] == "Pending"
    ]
    assert pending, "the pod was never reported Pending on its node"
    waiting = pending[0]["status"]["containerStatuses"][0]
    assert waiting["state"] == {"waiting": {"reason": "ContainerCreating"}}
    ready_condition = podutil.condition(pending[0], "Ready")
    assert ready_condition is not None
    assert (ready_condition["status"], ready_condition["reason"]) == (
        "False",
        "ContainersNotReady",
    )
    assert ready_condition["message"] == "containers with unready status: [main]"


def test_readiness_probe_passes_after_its_initial_delay(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("probe")
    probe = {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 1}
    kube.create("pods", ns, pod("web", readinessProbe=probe))
    running = eventually(
        lambda: (
            (p := kube.get("pods", ns, "web"))
            and p["status"].get("phase") == "Running"
            and p
        )
    )
    started = time.time()

    assert not podutil.is_ready(running)
    eventually(lambda: ready(kube, ns, "web"), what="ready after the delay")
    assert time.time() - started >= 0.5


def test_failing_readiness_annotation_keeps_the_pod_unready_until_removed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("failing")
    probe = {"tcpSocket": {"port": 80}}
    kube.create(
        "pods",
        ns,
        pod(
            "web", annotations={"kubecourse.io/readiness": "fail"}, readinessProbe=probe
        ),
    )

    eventually(
        lambda: "Unhealthy" in reasons(kube, ns, "web"), what="an Unhealthy event"
    )
    found = kube.get("pods", ns, "web")
    assert found["status"]["phase"] == "Running" and not podutil.is_ready(found)
    (event,) = [e for e in kube.items("events", ns) if e["reason"] == "Unhealthy"]
    assert event["type"] == "Warning"
    assert event["message"].startswith("Readiness probe failed: dial tcp 10.244.")

    kube.patch(
        "pods",
        ns,
        "web",
        {"metadata": {"annotations": {"kubecourse.io/readiness": None}}},
    )
    eventually(lambda: ready(kube, ns, "web"), what="ready once the annotation is gone")


def test_deleted_pod_stops_its_containers_then_disappears(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("stop")
    kube.create("pods", ns, pod("web"))
    eventually(lambda: ready(kube, ns, "web"), what="a ready pod")

    answer = kube.delete("pods", ns, "web")

    assert answer["metadata"]["deletionTimestamp"]  # graceful: Terminating first
    eventually(lambda: kube.get("pods", ns, "web") is None, what="the pod removed")
    killing = [e for e in kube.items("events", ns) if e["reason"] == "Killing"]
    assert [e["message"] for e in killing] == ["Stopping container main"]
    assert (ns, "web", "main") not in kube.cluster.ctx.logbook


def test_command_that_finishes_under_restart_policy_never_succeeds(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("job")
    kube.create(
        "pods",
        ns,
        pod(
            "once",
            image="busybox",
            command=["sh", "-c", "echo done; exit 0"],
            restartPolicy="Never",
        ),
    )
    kube.create(
        "pods",
        ns,
        pod(
            "broken",
            image="busybox",
            command=["sh", "-c", "echo oops; exit 3"],
            restartPolicy="Never",
        ),
    )

    done = eventually(
        lambda: (
            (p := kube.get("pods", ns, "once"))
            and p["status"]["phase"] == "Succeeded"
            and p
        )
    )
    failed = eventually(
        lambda: (
            (p := kube.get("pods", ns, "broken"))
            and p["status"]["phase"] == "Failed"
            and p
        )
    )

    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert (
        failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    )
    assert podutil.condition(done, "Ready")["reason"] == "PodCompleted"  # type: ignore[index]
    assert list(kube.cluster.ctx.logbook[(ns, "once", "main")]) == ["done"]


def test_logs_of_a_shell_loop_grow_with_time(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("logs")
    script = "echo starting; while true; do echo tick from $HOSTNAME; sleep 0.2; done"
    kube.create(
        "pods", ns, pod("worker", image="busybox:1.36", command=["sh", "-c", script])
    )
    eventually(lambda: ready(kube, ns, "worker"), what="a ready pod")

    lines = eventually(
        lambda: (lambda x: x if len(x) >= 4 else None)(
            list(kube.cluster.ctx.logbook[(ns, "worker", "main")])
        )
    )

    assert lines[0] == "starting"
    assert set(lines[1:]) == {"tick from worker"}


def test_images_log_their_start_up_lines(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("startup")
    kube.create("pods", ns, pod("echo", image="traefik/whoami"))
    kube.create("pods", ns, pod("db", image="postgres:16"))
    eventually(
        lambda: ready(kube, ns, "echo") and ready(kube, ns, "db"), what="ready pods"
    )

    echo = list(kube.cluster.ctx.logbook[(ns, "echo", "main")])
    db = list(kube.cluster.ctx.logbook[(ns, "db", "main")])
    assert echo[0].endswith("Starting up on port 80")
    assert db[-1].endswith("database system is ready to accept connections")


def test_ip_of_a_removed_pod_is_not_reused_at_once_on_the_same_node(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ips")
    pin = {"kubernetes.io/hostname": "kubecourse-worker3"}
    kube.create(
        "pods", ns, {**pod("a"), "spec": {**pod("a")["spec"], "nodeSelector": pin}}
    )
    first = eventually(lambda: ready(kube, ns, "a"))
    kube.delete("pods", ns, "a")
    eventually(lambda: kube.get("pods", ns, "a") is None)

    kube.create(
        "pods", ns, {**pod("b"), "spec": {**pod("b")["spec"], "nodeSelector": pin}}
    )
    second = eventually(lambda: ready(kube, ns, "b"))

    assert second["status"]["podIP"] != first["status"]["podIP"]
    assert second["status"]["podIP"].startswith("10.244.3.")


def test_image_names_are_normalised_like_containerd_shows_them() -> None:
    assert images.normalise("nginx") == "docker.io/library/nginx:latest"
    assert images.normalise("traefik/whoami:v1.10") == "docker.io/traefik/whoami:v1.10"
    assert images.normalise("ghcr.io/org/app:1") == "ghcr.io/org/app:1"
    assert images.normalise("localhost:5000/app") == "localhost:5000/app:latest"
    assert images.image_id("nginx:1.27") == images.image_id(
        "docker.io/library/nginx:1.27"
    )
    assert images.image_id("nginx:1.27").startswith("docker.io/library/nginx@sha256:")
    assert images.repository("docker.io/library/postgres:16") == "postgres"


def test_shell_scripts_are_read_for_echo_lines_loops_and_exit_codes() -> None:
    script = parse_script(
        "echo hello; while true; do echo 'a b'; sleep 2; echo c; sleep 1; done"
    )

    assert (script.once, script.loop, script.period, script.looping) == (
        ["hello"],
        ["a b", "c"],
        3.0,
        True,
    )
    assert parse_script("sleep 5; exit 4").exit_code == 4
    assert images.finishes({"command": ["sh", "-c", "echo hi; sleep 1"]}) == (1.0, 0)
    assert images.finishes({"command": ["python", "app.py"]}) is None
    assert images.finishes({"image": "nginx"}) is None


def test_container_log_emits_one_iteration_per_period_of_elapsed_time() -> None:
    script = parse_script("while true; do echo tick; sleep 10; done")
    log = ContainerLog([], script, started=1000.0, env={})

    log.refresh(now=1000.0)
    assert list.__len__(log) == 1
    log.refresh(now=1035.0)
    assert list.__len__(log) == 4
