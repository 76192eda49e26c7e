"""Containers' own commands on the exec shell, and init containers before the app."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import parse_time
from kubecourse.embedded.controllers.processes import runs_on_shell
from kubecourse.embedded.shell.programs import NO_SHELL
from tests.unit.test_controllers_kubelet import pod
from tests.unit.test_shell import sandbox


def phase(kube: Any, ns: str, name: str, wanted: str) -> dict[str, Any] | None:
    found = kube.get("pods", ns, name)
    return found if found and found["status"].get("phase") == wanted else None


def log(kube: Any, ns: str, name: str, container: str = "main") -> list[str]:
    return list(kube.cluster.ctx.logbook.get((ns, name, container), []))


def test_a_containers_script_runs_on_the_exec_shell_with_variables_loops_and_arithmetic(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("script")
    script = (
        "x=5; echo $x; echo $((1+2)); echo hi; hostname; "
        "for i in 1 2 3; do echo item $i; done; date >/dev/null && echo dated; exit 4"
    )
    kube.create(
        "pods", ns, pod("run", image="busybox:1.36", command=["sh", "-c", script],
                        restartPolicy="Never"),
    )  # fmt: skip

    done = eventually(lambda: phase(kube, ns, "run", "Failed"), what="phase Failed")

    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (4, "Error")
    assert log(kube, ns, "run") == [
        "5", "3", "hi", "run", "item 1", "item 2", "item 3", "dated",
    ]  # fmt: skip


def test_an_endless_loop_keeps_writing_lines_at_the_pace_of_its_sleeps(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("endless")
    script = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"
    kube.create(
        "pods", ns, pod("count", image="busybox:1.36", command=["sh", "-c", script])
    )

    lines = eventually(
        lambda: (lambda x: x if len(x) >= 5 else None)(log(kube, ns, "count")),
        what="five lines",
    )

    assert lines[:5] == [f"line {n}" for n in range(5)]
    assert kube.get("pods", ns, "count")["status"]["phase"] == "Running"


def test_a_command_that_waits_for_a_name_runs_until_the_service_exists(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("waitname")
    script = "until nslookup db >/dev/null 2>&1; do echo waiting; sleep 0.2; done; echo found"
    kube.create(
        "pods", ns, pod("waiter", image="busybox:1.36", command=["sh", "-c", script],
                        restartPolicy="Never"),
    )  # fmt: skip
    eventually(lambda: "waiting" in log(kube, ns, "waiter"), what="waiting")
    assert kube.get("pods", ns, "waiter")["status"]["phase"] == "Running"

    kube.create("services", ns, {"metadata": {"name": "db"},
                                 "spec": {"ports": [{"port": 5432}]}})  # fmt: skip

    eventually(lambda: phase(kube, ns, "waiter", "Succeeded"), what="Succeeded")
    assert log(kube, ns, "waiter")[-1] == "found"


def init_pod(name: str, inits: list[dict[str, Any]], restart: str = "Always") -> Any:
    body = pod(name, image="busybox:1.36", command=["sh", "-c", "sleep 3600"],
               restartPolicy=restart)  # fmt: skip
    body["spec"]["initContainers"] = inits
    return body


def test_an_init_container_holds_the_pod_pending_until_it_exits_zero(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("initwait")
    gate = {"name": "gate", "image": "busybox:1.36",
            "command": ["sh", "-c", "until nslookup gate; do sleep 0.2; done"]}  # fmt: skip
    kube.create("pods", ns, init_pod("held", [gate]))

    held = eventually(
        lambda: (
            (p := kube.get("pods", ns, "held"))
            and "running"
            in (p["status"].get("initContainerStatuses") or [{}])[0].get("state", {})
            and p
        ),
        what="the init container running",
    )
    assert held["status"]["phase"] == "Pending"
    assert podutil.condition(held, "Initialized")["status"] == "False"  # type: ignore[index]
    (app,) = held["status"]["containerStatuses"]
    assert app["state"]["waiting"]["reason"] == "PodInitializing"

    kube.create("services", ns, {"metadata": {"name": "gate"},
                                 "spec": {"ports": [{"port": 80}]}})  # fmt: skip

    running = eventually(lambda: phase(kube, ns, "held", "Running"), what="Running")
    assert podutil.condition(running, "Initialized")["status"] == "True"  # type: ignore[index]
    (entry,) = running["status"]["initContainerStatuses"]
    assert entry["state"]["terminated"]["reason"] == "Completed"


def test_a_sidecar_that_exits_is_restarted_while_the_app_runs(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("sidecar")
    side = {"name": "side", "image": "busybox:1.36", "restartPolicy": "Always",
            "command": ["sh", "-c", "echo up; sleep 0.3; exit 1"]}  # fmt: skip
    kube.create("pods", ns, init_pod("sided", [side]))

    restarted = eventually(
        lambda: (
            (p := phase(kube, ns, "sided", "Running"))
            and p["status"]["initContainerStatuses"][0]["restartCount"] >= 1
            and p
        ),
        timeout=30,
        what="the sidecar restarted",
    )

    assert restarted["status"]["containerStatuses"][0]["state"].get("running")


def test_only_scripts_of_simulated_programs_run_on_the_shell() -> None:
    box = sandbox()
    assert runs_on_shell(["sh", "-c", "for i in 1 2; do echo $i; sleep 1; done"], box)
    assert runs_on_shell(["sh", "-c", "until nc -z db 5432; do sleep 1; done"], box)
    assert runs_on_shell(["echo", "hello"], box)
    assert not runs_on_shell(["sh", "-c", "echo start; tail -f /dev/null"], box)
    assert not runs_on_shell(["sh", "-c", "env | grep X"], box)
    assert not runs_on_shell(["sh", "-c", "x=$(python -V); echo $x"], box)
    assert not runs_on_shell(["sh", "-c", "curl web"], box)  # busybox has no curl
    assert not runs_on_shell(["sh"], box)  # reads stdin: `images` decides
    assert not runs_on_shell(["sh", "-c", "echo hi"], sandbox(flavour=NO_SHELL))


def test_a_script_with_a_program_not_simulated_keeps_running_as_before(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("tail")
    script = "echo start; tail -f /dev/null"
    kube.create(
        "pods", ns, pod("idle", image="busybox:1.36", command=["sh", "-c", script])
    )

    eventually(lambda: phase(kube, ns, "idle", "Running"), what="Running")

    assert log(kube, ns, "idle") == ["start"]
    status = kube.get("pods", ns, "idle")["status"]["containerStatuses"][0]
    assert status["restartCount"] == 0 and "running" in status["state"]


def test_the_next_init_container_starts_once_the_sidecars_startup_probe_passed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("startup")
    probe = {"exec": {"command": ["true"]}, "initialDelaySeconds": 2}
    side = {"name": "side", "image": "busybox:1.36", "restartPolicy": "Always",
            "command": ["sh", "-c", "sleep 3600"], "startupProbe": probe}  # fmt: skip
    after = {"name": "after", "image": "busybox:1.36", "command": ["echo", "after"]}
    kube.create("pods", ns, init_pod("gated", [side, after]))

    running = eventually(
        lambda: phase(kube, ns, "gated", "Running"), timeout=20, what="Running"
    )

    side_status, after_status = running["status"]["initContainerStatuses"]
    side_started = parse_time(side_status["state"]["running"]["startedAt"])
    after_started = parse_time(after_status["state"]["terminated"]["startedAt"])
    assert side_started is not None and after_started is not None
    assert (after_started - side_started).total_seconds() >= 2
    assert log(kube, ns, "gated", "after") == ["after"]


def test_a_script_the_shell_cannot_run_says_so_first_in_its_log(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("piped")
    script = "echo hello | tr a-z A-Z; tail -f /dev/null"
    kube.create(
        "pods", ns, pod("piped", image="busybox:1.36", command=["sh", "-c", script])
    )

    eventually(lambda: phase(kube, ns, "piped", "Running"), what="Running")

    first, *rest = log(kube, ns, "piped")
    assert first.startswith("sh: pipes (|) are not simulated")
    assert first.endswith("(so the embedded cluster shows this script's echo lines as written)")
    assert rest == ["hello | tr a-z A-Z"]


def test_a_sidecar_is_stopped_when_the_app_containers_are_done(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("finished")
    proxy = {"name": "proxy", "image": "busybox:1.36", "restartPolicy": "Always",
             "command": ["sh", "-c", "while true; do echo alive; sleep 1; done"]}  # fmt: skip
    body = init_pod("job-like", [proxy], restart="Never")
    body["spec"]["containers"][0]["command"] = ["sh", "-c", "sleep 1; echo done"]
    kube.create("pods", ns, body)

    done = eventually(
        lambda: phase(kube, ns, "job-like", "Succeeded"), timeout=20, what="Succeeded"
    )

    (sidecar,) = done["status"]["initContainerStatuses"]
    assert sidecar["ready"] is False
    assert sidecar["state"]["terminated"]["reason"] == "Completed"
