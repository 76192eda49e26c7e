"""Per-service choices a learner can make in the compose file itself.

Either as labels (`kubecourse.io/workload: singleton`; Docker ignores them) or as an
extension field, which compose ignores too:

    services:
      mailer:
        x-kubecourse:
          workload: singleton      # deployment | singleton | statefulset | job | daemonset
          liveness: true           # also a livenessProbe from the healthcheck
          wait-for-dependencies: true   # init containers wait for depends_on ports

When both give the same option they must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LABEL_PREFIX = "kubecourse.io/"
EXTENSION = "x-kubecourse"
WORKLOAD_KINDS = ("deployment", "singleton", "statefulset", "job", "daemonset")
BOOLEAN = ("true", "false")
CHOICES: dict[str, tuple[str, ...]] = {
    "workload": WORKLOAD_KINDS,
    "liveness": BOOLEAN,
    "wait-for-dependencies": BOOLEAN,
}
Report = Callable[[str, str], None]


def read_options(
    labels: dict[str, str], extension: Any, report: Report
) -> tuple[dict[str, str], dict[str, str]]:
    """(option -> value, option -> the compose key it came from)."""
    values: dict[str, str] = {}
    keys: dict[str, str] = {}
    for label, value in labels.items():
        if label.startswith(LABEL_PREFIX):
            _take(
                label[len(LABEL_PREFIX) :],
                value,
                f"labels.{label}",
                values,
                keys,
                report,
            )
    if extension is not None and not isinstance(extension, dict):
        report(EXTENSION, f"`{EXTENSION}` must be a mapping of options")
        return values, keys
    for option, value in (extension or {}).items():
        _take(str(option), _text(value), f"{EXTENSION}.{option}", values, keys, report)
    return values, keys


def _take(
    option: str,
    value: str,
    key: str,
    values: dict[str, str],
    keys: dict[str, str],
    report: Report,
) -> None:
    choices = CHOICES.get(option)
    if choices is None:
        report(
            key, f"unknown kubecourse option `{option}`; known: {', '.join(CHOICES)}"
        )
        return
    if value not in choices:
        report(key, f"`{value}` is not one of {', '.join(choices)}")
        return
    if option in values and values[option] != value:
        report(key, f"`{value}` contradicts {keys[option]}: `{values[option]}`")
        return
    values[option] = value
    keys[option] = key


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
