"""The simulated probes: when a container is started, ready, or killed by its kubelet.

No probe is sent.  A probe's result is decided by rule, from the Pod's annotations,
so a lesson can make one fail on purpose (the annotations can be changed on a running
Pod):

| annotation | probe | effect |
|---|---|---|
| `kubecourse.io/readiness: fail` | readinessProbe | the container never becomes ready (Warning Unhealthy `Readiness probe failed: ...`) |
| `kubecourse.io/liveness: fail` | livenessProbe | the container is killed after `initialDelaySeconds + failureThreshold × periodSeconds` (Warning Unhealthy `Liveness probe failed: ...` at each failed probe, then Normal Killing `Container web failed liveness probe, will be restarted`) and restarted under its restart policy |
| `kubecourse.io/startup: fail` | startupProbe | the same, `Startup probe failed` / `failed startup probe`; until it succeeds the container is not `started` and neither readiness nor liveness probes run |

Without an annotation every probe passes: a startupProbe after its
`initialDelaySeconds` (until then `started: false`), a readinessProbe after its own
`initialDelaySeconds` and not before the startupProbe passed.  A container without
probes is started and ready as soon as it runs, as upstream.  The failure text follows
the probe's handler: `HTTP probe failed with statuscode: 500` (503 for readiness), `dial
tcp <pod IP>:<port>: connect: connection refused`, or for exec and gRPC probes
`command terminated with exit code 1` / `timeout: failed to connect service
":<port>" within 1s`.

Faithful: the event reasons and messages, the threshold arithmetic, startup gating.
Simplified: no probe is sent; probe times are `initialDelaySeconds + n ×
periodSeconds` from the container's start (or from when the annotation appeared),
without the prober's jitter; `successThreshold` and `timeoutSeconds` play no part.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubecourse.embedded.controllers.base import Obj

READINESS_ANNOTATION = "kubecourse.io/readiness"
LIVENESS_ANNOTATION = "kubecourse.io/liveness"
STARTUP_ANNOTATION = "kubecourse.io/startup"
KILLED_EXIT_CODE = 137  # SIGKILL, what containerd reports for a killed process


@dataclass(frozen=True)
class Killer:
    """A liveness or startup probe that fails, and so kills the container."""

    kind: str  # "Liveness" or "Startup"
    delay: float  # seconds after start before the first failure is counted
    period: float
    threshold: int
    detail: str  # what follows "<kind> probe failed: "

    def failure_at(self, started: float, since: float, number: int) -> float:
        """When failure `number` (1, 2, ...) happens, for a run started at `started`
        whose probe has failed since `since` (probes begin after `delay`)."""
        return max(started + self.delay, since) + number * self.period

    def kill_at(self, started: float, since: float) -> float:
        return self.failure_at(started, since, self.threshold)


def fails(pod: Obj, annotation: str) -> bool:
    annotations = pod["metadata"].get("annotations") or {}
    return str(annotations.get(annotation, "")).lower() == "fail"


def started_after(pod: Obj, container: Obj) -> float | None:
    """Seconds after start until the startupProbe passes (0 without one), None never."""
    probe = container.get("startupProbe")
    if probe is None:
        return 0.0
    if fails(pod, STARTUP_ANNOTATION):
        return None
    return float(probe.get("initialDelaySeconds") or 0)


def ready_after(pod: Obj, container: Obj) -> float | None:
    """Seconds after start until the container is ready, None for never."""
    started = started_after(pod, container)
    probe = container.get("readinessProbe")
    if started is None or (probe is not None and fails(pod, READINESS_ANNOTATION)):
        return None
    own = float(probe.get("initialDelaySeconds") or 0) if probe is not None else 0.0
    return max(own, started)


def killer(pod: Obj, container: Obj) -> Killer | None:
    """The failing probe that will kill the container, if any."""
    startup = container.get("startupProbe")
    if startup is not None and fails(pod, STARTUP_ANNOTATION):
        return _killer("Startup", startup, 0.0, pod)
    liveness = container.get("livenessProbe")
    if liveness is None or not fails(pod, LIVENESS_ANNOTATION):
        return None
    started = started_after(pod, container) or 0.0
    return _killer("Liveness", liveness, started, pod)


def _killer(kind: str, probe: Obj, after: float, pod: Obj) -> Killer:
    return Killer(
        kind=kind,
        delay=max(float(probe.get("initialDelaySeconds") or 0), after),
        period=float(probe.get("periodSeconds") or 10),
        threshold=int(probe.get("failureThreshold") or 3),
        detail=failure_detail(pod, probe, status_code=500),
    )


def failure_detail(pod: Obj, probe: Obj, status_code: int = 503) -> str:
    """What the prober says of a failed probe, by its handler."""
    if "httpGet" in probe:
        return f"HTTP probe failed with statuscode: {status_code}"
    if "tcpSocket" in probe:
        ip = (pod.get("status") or {}).get("podIP", "")
        port = probe["tcpSocket"].get("port")
        return f"dial tcp {ip}:{port}: connect: connection refused"
    if "grpc" in probe:
        port = probe["grpc"].get("port")
        return f'timeout: failed to connect service ":{port}" within 1s'
    return "command terminated with exit code 1"


def readiness_failure(pod: Obj) -> str:
    """The Unhealthy text of the Pod's first readinessProbe."""
    for container in pod["spec"]["containers"]:
        probe = container.get("readinessProbe")
        if probe is not None:
            return failure_detail(pod, probe)
    return "command terminated with exit code 1"


def killing_message(killer: Killer, container: str) -> str:
    return (
        f"Container {container} failed {killer.kind.lower()} probe, will be restarted"
    )
