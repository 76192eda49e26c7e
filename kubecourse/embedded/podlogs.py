"""The `log` subresource of pods: what `kubectl logs` reads, as kube-apiserver and the
kubelet serve it.

Faithful: the options are validated first (422 `PodLogOptions "x" is invalid` for a
negative `tailLines`, a `sinceSeconds` or `limitBytes` below 1, or both `sinceSeconds`
and `sinceTime`); then the container is chosen (400 "a container name must be specified
for pod x, choose one of: [a b] or one of the init containers: [c]" when there are
several, "container x is not valid for pod y" for an unknown one); an unscheduled pod
"does not have a host assigned"; and the kubelet's refusals follow its rules: a container
with no status "is not available", a waiting one "is waiting to start: ContainerCreating"
("image can't be pulled" for ErrImagePull, "trying and failing to pull image" for
ImagePullBackOff), a crash-looping one (waiting, with a terminated last state) the logs
of its last run,
`previous` with no earlier run "previous terminated container ... not found".  Options:
`tailLines`, `sinceSeconds`, `sinceTime`, `timestamps` (RFC 3339 with nine fractional
digits, as the kubelet writes them), `limitBytes`, and `follow`, which keeps the
response open and sends lines as the container writes them, until the container ends,
the pod goes away, or the client leaves.

`previous` reads the run before the current one, which the kubelet keeps for each
container that restarted (one, as upstream); ephemeral containers are read by name like
the others.

Simplified: a line's time is the one the simulation gives it (a container's start-up
lines carry its start time, a shell loop's lines the time of their iteration); stdout
and stderr are one stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kubecourse.embedded import status

Obj = dict[str, Any]
Entry = tuple[float, str]  # (seconds since the epoch, line without its newline)
# (namespace, pod, container, previous) -> the lines the kubelet has for it
LogSource = Callable[[str, str, str, bool], list[Entry]]


@dataclass(frozen=True)
class LogOptions:
    container: str | None = None
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None
    limit_bytes: int | None = None

    def since(self, now: float) -> float | None:
        """The earliest moment a line may have, or None for all lines."""
        if self.since_seconds is not None:
            return now - self.since_seconds
        return self.since_time


def parse_options(query: Mapping[str, str], pod: str) -> LogOptions:
    """The query of a log request as PodLogOptions, refused as kube-apiserver refuses."""
    options = LogOptions(
        container=query.get("container") or None,
        follow=_flag(query, "follow"),
        previous=_flag(query, "previous"),
        timestamps=_flag(query, "timestamps"),
        tail_lines=_integer(query, "tailLines"),
        since_seconds=_integer(query, "sinceSeconds"),
        since_time=_moment(query, "sinceTime"),
        limit_bytes=_integer(query, "limitBytes"),
    )

    causes = _invalid(options)
    if causes:
        raise _invalid_options(pod, causes)
    return options


def _invalid(options: LogOptions) -> list[Obj]:
    causes = []
    if options.tail_lines is not None and options.tail_lines < 0:
        causes.append(
            _cause(
                "tailLines", options.tail_lines, "must be greater than or equal to 0"
            )
        )
    if options.limit_bytes is not None and options.limit_bytes < 1:
        causes.append(
            _cause("limitBytes", options.limit_bytes, "must be greater than 0")
        )
    if options.since_seconds is not None and options.since_time is not None:
        message = (
            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        )
        causes.append(
            {"reason": "FieldValueForbidden", "message": message, "field": ""}
        )
    if options.since_seconds is not None and options.since_seconds < 1:
        causes.append(
            _cause("sinceSeconds", options.since_seconds, "must be greater than 0")
        )
    return causes


def _cause(field: str, value: int, rule: str) -> Obj:
    return status.cause(field, f"Invalid value: {value}: {rule}")


def _invalid_options(pod: str, causes: list[Obj]) -> status.StatusError:
    parts = [
        f"{c['field']}: {c['message']}" if c["field"] else c["message"] for c in causes
    ]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = {"name": pod, "kind": "PodLogOptions", "causes": causes}
    return status.StatusError(
        422, "Invalid", f'PodLogOptions "{pod}" is invalid: {summary}', details
    )


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value in (None, "", "false", "False", "0"):
        return False
    if value in ("true", "True", "1"):
        return True
    raise status.bad_request(f'invalid value for {name}: "{value}" is not a boolean')


def _integer(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as err:
        raise status.bad_request(
            f'invalid value for {name}: "{value}" is not an integer'
        ) from err


def _moment(query: Mapping[str, str], name: str) -> float | None:
    value = query.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as err:
        raise status.bad_request(
            f'invalid value for {name}: "{value}" is not an RFC 3339 time'
        ) from err


# -- which container, and whether it has logs ----------------------------------------------


def choose_container(pod: Obj, requested: str | None) -> str:
    """The container a log request reads (upstream `validateContainer`)."""
    name = pod["metadata"]["name"]
    containers = [c["name"] for c in pod["spec"].get("containers") or []]
    init = [c["name"] for c in pod["spec"].get("initContainers") or []]
    debuggers = [c["name"] for c in pod["spec"].get("ephemeralContainers") or []]
    if requested is None:
        if len(containers) == 1:
            return str(containers[0])
        choices = f"choose one of: [{' '.join(containers)}]"
        if init:
            choices += f" or one of the init containers: [{' '.join(init)}]"
        raise status.bad_request(
            f"a container name must be specified for pod {name}, {choices}"
        )
    if requested not in containers + init + debuggers:
        raise status.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def check_readable(pod: Obj, container: str, previous: bool) -> None:
    """Refuse as the API server and the kubelet do when the container has no logs yet."""
    name = pod["metadata"]["name"]
    if not pod["spec"].get("nodeName"):
        raise status.bad_request(f"pod {name} does not have a host assigned")
    entry = container_status(pod, container)
    if entry is None:
        raise status.bad_request(
            f'container "{container}" in pod "{name}" is not available'
        )
    state = entry.get("state") or {}
    ended_before = bool(
        ((entry.get("lastState") or {}).get("terminated") or {}).get("containerID")
    )
    if previous:
        if not ended_before:
            raise status.bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return
    if "running" in state or "terminated" in state or ended_before:
        return  # a crash-looping container shows its last run
    reason = (state.get("waiting") or {}).get("reason")
    if reason:
        why = _WAITING.get(reason, reason)
        raise status.bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: {why}'
        )
    raise status.bad_request(
        f'container "{container}" in pod "{name}" is waiting to start - no logs yet'
    )


def container_status(pod: Obj, container: str) -> Obj | None:
    pod_status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in pod_status.get(key) or []:
            if entry.get("name") == container:
                return dict(entry)
    return None


def has_ended(pod: Obj, container: str) -> bool:
    """Whether a followed container will write no more: it has terminated, or it
    waits to be restarted (its last run is what is read)."""
    entry = container_status(pod, container) or {}
    state = entry.get("state") or {}
    return "terminated" in state or "waiting" in state


# The kubelet's words for the common reasons a container has not started.
_WAITING = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


# -- rendering -----------------------------------------------------------------------------


def select(
    entries: list[Entry], options: LogOptions, now: float | None = None
) -> list[Entry]:
    """The lines a request returns before following: those since the cut-off, then the tail."""
    since = options.since(time.time() if now is None else now)
    chosen = [e for e in entries if since is None or e[0] >= since]
    if options.tail_lines is not None:
        chosen = chosen[-options.tail_lines :] if options.tail_lines > 0 else []
    return chosen


def render(entries: list[Entry], timestamps: bool) -> bytes:
    return "".join(line_text(entry, timestamps) for entry in entries).encode()


def line_text(entry: Entry, timestamps: bool) -> str:
    moment, line = entry
    return f"{stamp(moment)} {line}\n" if timestamps else line + "\n"


def stamp(moment: float) -> str:
    """`2026-12-04T18:08:29.123456789Z`: nine digits always, as the kubelet writes them."""
    whole = int(moment)
    nanos = int(round((moment - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    day = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{day}.{nanos:09d}Z"


def limit(data: bytes, remaining: int | None) -> bytes:
    return data if remaining is None else data[:remaining]
