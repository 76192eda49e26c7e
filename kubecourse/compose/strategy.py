"""`deploy.update_config` as a Deployment's rolling-update strategy.

Swarm replaces `parallelism` tasks at a time, stopping the old ones first unless
`order: start-first`. A Deployment says the same with two numbers: `maxUnavailable`
(old pods that may be down) and `maxSurge` (extra new pods). So stop-first is
`maxSurge 0, maxUnavailable N`, and start-first is `maxSurge N, maxUnavailable 0`.
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.syntax import SyntaxProblem, parse_duration

_IGNORED = {
    "failure_action": "a Deployment stops a failing rollout (progressDeadlineSeconds) "
    "but never rolls back by itself; run `kubectl rollout undo` to go back",
    "monitor": "Kubernetes watches readiness instead of a fixed monitoring window",
    "max_failure_ratio": "a Deployment has no failure ratio; it stops when new pods "
    "do not become ready",
}


def rolling_update(t: Translation, plan: Plan) -> dict[str, Any]:
    """The `strategy` of a RollingUpdate Deployment, shaped by update_config."""
    config = plan.service.deploy.get("update_config")
    if not isinstance(config, dict):
        return {"type": "RollingUpdate"}
    name = plan.service.name
    count = _parallelism(config.get("parallelism", 1))
    if config.get("order") == "start-first":
        numbers = {"maxSurge": count, "maxUnavailable": 0}
        how = f"start {count} new pod(s) before stopping old ones"
    else:
        numbers = {"maxSurge": 0, "maxUnavailable": count}
        how = f"stop {count} old pod(s) before starting their replacements"
    t.decide(name, "deploy.update_config", f"strategy.rollingUpdate {numbers}",
             f"parallelism {config.get('parallelism', 1)} and order "
             f"{config.get('order', 'stop-first')}: {how}, as swarm did")  # fmt: skip
    for key, why in _IGNORED.items():
        if key in config:
            t.warn(name, f"deploy.update_config.{key}", "(dropped)", why)
    return {"type": "RollingUpdate", "rollingUpdate": numbers}


def _parallelism(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return "100%"  # swarm's 0 means "all at once"


def min_ready_seconds(t: Translation, plan: Plan) -> int | None:
    """update_config.delay: the pause between batches, approximated by minReadySeconds."""
    config = plan.service.deploy.get("update_config")
    if not isinstance(config, dict) or "delay" not in config:
        return None
    try:
        seconds = int(parse_duration(config["delay"]))
    except SyntaxProblem as exc:
        t.warn(plan.service.name, "deploy.update_config.delay", "(dropped)", str(exc))
        return None
    t.decide(plan.service.name, "deploy.update_config.delay", f"minReadySeconds: {seconds}",
             "swarm waited this long between batches; a Deployment waits this long "
             "after a new pod is ready before counting it available, which paces the "
             "rollout the same way")  # fmt: skip
    return seconds
