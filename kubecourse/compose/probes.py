"""A compose `healthcheck` as a Kubernetes readinessProbe.

A compose healthcheck only marks a container unhealthy; it never restarts it (outside
swarm). That is what a readinessProbe does: an unready pod is taken out of its
Service's endpoints and left running. A livenessProbe would restart it, which compose
never did, so one is generated only when asked for (`x-kubecourse: {liveness: true}`
or the label `kubecourse.io/liveness: "true"`, see `options`).
"""

from __future__ import annotations

import math
from typing import Any

from kubecourse.compose.context import Plan, Translation

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3


def readiness_probe(t: Translation, plan: Plan) -> dict[str, Any] | None:
    """The probe for `plan`'s service, or None (recorded either way)."""
    check = plan.service.healthcheck
    name = plan.service.name
    if check is None:
        return None
    if check.disabled:
        t.decide(
            name,
            "healthcheck",
            "(no probe)",
            "the healthcheck is disabled, so no probe",
        )
        return None
    if check.command is None:
        t.warn(name, "healthcheck", "(no probe)",
               "the healthcheck has no `test`, so it used the image's HEALTHCHECK, which "
               "Kubernetes cannot read; add a `test` to get a readinessProbe")  # fmt: skip
        return None
    probe = {
        "exec": {"command": list(check.command)},
        "periodSeconds": _seconds(check.interval, DEFAULT_INTERVAL),
        "timeoutSeconds": _seconds(check.timeout, DEFAULT_TIMEOUT),
        "failureThreshold": check.retries or DEFAULT_RETRIES,
    }
    if check.start_period:
        probe["initialDelaySeconds"] = _seconds(check.start_period, 0)
    t.decide(name, "healthcheck", "containers[0].readinessProbe", _explain(check.form))
    _note_start_interval(t, plan)
    return probe


def _seconds(value: float | None, default: float) -> int:
    """Kubernetes counts probe timings in whole seconds, at least 1."""
    return max(1, math.ceil(default if value is None else value))


def _explain(form: str) -> str:
    base = ("an unhealthy container is taken out of its Service until the check passes "
            "again, which is what compose's healthcheck meant; interval, timeout and "
            "retries become periodSeconds, timeoutSeconds and failureThreshold, and "
            "start_period becomes initialDelaySeconds")  # fmt: skip
    if form in ("CMD-SHELL", "string"):
        return base + '; the shell form runs as `sh -c "..."` exactly as compose ran it'
    return base + "; the CMD form runs the program directly, without a shell"


def _note_start_interval(t: Translation, plan: Plan) -> None:
    raw = plan.service.raw.get("healthcheck")
    if isinstance(raw, dict) and "start_interval" in raw:
        t.warn(plan.service.name, "healthcheck.start_interval", "(dropped)",
               "Kubernetes probes have one period; start_interval has no equivalent")  # fmt: skip


def liveness_probe(
    t: Translation, plan: Plan, readiness: dict[str, Any]
) -> dict[str, Any] | None:
    """The same check as a livenessProbe, when the service asks for one."""
    name = plan.service.name
    if plan.service.options.get("liveness") != "true":
        t.decide(name, "healthcheck", "(no livenessProbe)",
                 "compose never restarted an unhealthy container (only swarm did), so "
                 "Kubernetes is not told to either; add `x-kubecourse: {liveness: true}` "
                 "to have it restarted")  # fmt: skip
        return None
    key = plan.service.option_keys["liveness"]
    t.decide(name, key, "containers[0].livenessProbe",
             "the same check also restarts the container after `retries` failures in a "
             "row, as swarm did with unhealthy tasks")  # fmt: skip
    return dict(readiness)
